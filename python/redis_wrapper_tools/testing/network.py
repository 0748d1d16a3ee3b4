"""A container network whose members reach each other by name."""
from testcontainers.core.container import ExecConfig
from testcontainers.core.network import Network


class ContainerNetwork(Network):
    """A testcontainers Network that also writes its members' names into each
    member's /etc/hosts: Docker's networks resolve them by DNS, but podman's
    CNI networks (without the dnsname plugin) do not, and TLS needs the name.

    Containers of this package join with `network=` and `alias=`; they call
    joined() once started and left() when stopped."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self._members = {}      # container -> (its own /etc/hosts, its line here)

    def joined(self, container, alias):
        wrapped = container.get_wrapped_container()
        wrapped.reload()
        address = wrapped.attrs['NetworkSettings']['Networks'][self.name]['IPAddress']
        own = _exec(container, ['cat', '/etc/hosts'])
        self._members[container] = (own, '%s %s\n' % (address, alias))
        self._write_hosts()
        return address

    def left(self, container):
        if self._members.pop(container, None) is not None:
            try:
                self._write_hosts()
            except Exception:   # a member that died already: nothing left to tell it
                pass

    def _write_hosts(self):
        lines = ''.join(line for _, line in self._members.values())
        for container, (own, _) in self._members.items():
            # Rewritten in place: /etc/hosts is a mount, it cannot be replaced.
            _exec(container, ['sh', '-c', 'printf "%s" "$1" > /etc/hosts', 'sh', own + lines])


def _exec(container, command):
    result = container.exec(ExecConfig(command=command, user='root'))
    if result.exit_code != 0:
        raise RuntimeError('%s failed in %s: %s' % (command[0], container.image, result.output.decode(errors='replace')))
    return result.output.decode()
