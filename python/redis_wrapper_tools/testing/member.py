"""What every container of this package shares: an optional ContainerNetwork
membership under an alias, and a readiness wait that gives up with the
container's log as soon as the container has exited."""
import contextlib
import time

import docker.errors
from testcontainers.core.container import DockerContainer

from .network import ContainerNetwork


class Member(DockerContainer):
    """A DockerContainer on `network` (if any) as `alias`; `address` is its
    address there once started."""

    startup_timeout = 120.0

    def __init__(self, image, network=None, alias=None, **kw):
        super().__init__(image, **kw)
        self.alias = alias
        self.address = None
        self._rw_network = network
        if network is not None:
            self.with_network(network)
            if alias:
                self.with_network_aliases(alias)

    def ready(self):
        """True once the service answers (subclasses)."""
        raise NotImplementedError

    def start(self):
        super().start()
        try:
            self._wait_until_ready()
            if isinstance(self._rw_network, ContainerNetwork):
                self.address = self._rw_network.joined(self, self.alias)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self):
        wrapped = self.get_wrapped_container()
        deadline = time.monotonic() + self.startup_timeout
        while True:
            wrapped.reload()
            if wrapped.status in ('exited', 'dead'):
                raise RuntimeError('%s exited before it was ready; its log:\n%s'
                                   % (self.image, self.log_tail()))
            try:
                if self.ready():
                    return
            except Exception:       # not answering yet
                pass
            if time.monotonic() > deadline:
                raise TimeoutError('%s was not ready after %.0f s; its log:\n%s'
                                   % (self.image, self.startup_timeout, self.log_tail()))
            time.sleep(0.2)

    def log_tail(self, lines=40):
        return b'\n'.join(self.get_wrapped_container().logs().splitlines()[-lines:]).decode(errors='replace')

    def stop(self, force=True, delete_volume=True):
        if isinstance(self._rw_network, ContainerNetwork):
            self._rw_network.left(self)
        with contextlib.suppress(docker.errors.NotFound):     # removed already
            super().stop(force, delete_volume)
