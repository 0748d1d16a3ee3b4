"""The container engine behind ./dev image, test-containers and test-matrix.

podman by default (RW_CONTAINER_ENGINE=docker uses Docker's).  Images are built
with the engine's CLI; containers are run by testcontainers through the
engine's Docker-compatible API: DOCKER_HOST when it is set, else Docker's
socket, else (podman) a `podman system service` of our own for the run."""
import contextlib
import os
import resource
import shutil
import subprocess
import time

from . import build

ENGINE = os.environ.get('RW_CONTAINER_ENGINE', 'podman')


class NoEngine(Exception):
    pass


def cli(*args, **kw):
    return subprocess.run([ENGINE] + list(args), env=engine_env(), **kw)


def check_cli():
    if shutil.which(ENGINE) is None:
        raise NoEngine('%s is not installed (as root, ./dev installs podman, runc and debootstrap)' % ENGINE)
    r = cli('info', capture_output=True, text=True)
    if r.returncode != 0:
        raise NoEngine('%s does not work here: %s' % (ENGINE, (r.stderr.strip().splitlines() or ['?'])[-1]))


# --- Workarounds for this host, all in one place ------------------------------
# Each item is here only because of how this host (or rootful podman's
# defaults) is set up, and says why.

def engine_env():
    """The engine's environment: for podman, a containers.conf of our own."""
    if ENGINE != 'podman':
        return dict(os.environ)
    conf = os.path.join(build.ROOT, 'build', 'containers.conf')
    os.makedirs(os.path.dirname(conf), exist_ok=True)

    def hard(kind, cap):
        value = resource.getrlimit(kind)[1]
        return cap if value == resource.RLIM_INFINITY else min(value, cap)
    # podman's default ulimits in a container are above this host's hard limits,
    # so a container would fail to start: stay within them.
    nofile, nproc = hard(resource.RLIMIT_NOFILE, 1 << 20), hard(resource.RLIMIT_NPROC, 32768)
    with open(conf, 'w') as f:
        f.write('[containers]\ndefault_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]\n' % (nofile, nofile, nproc, nproc))
        # crun fails on this host's cgroup layout; runc works (./dev installs it).
        f.write('[engine]\nruntime = "runc"\n')
    return dict(os.environ, CONTAINERS_CONF=conf)


def api_env(socket):
    """testcontainers' settings for our own podman service: no image registry
    may be reachable here, so no Ryuk (its image would be pulled; we remove our
    containers ourselves), and this host is itself a container (/.dockerenv),
    which would make testcontainers look for the containers at a gateway
    address instead of at the published ports on this host."""
    return {'DOCKER_HOST': 'unix://' + socket,
            'TESTCONTAINERS_RYUK_DISABLED': os.environ.get('TESTCONTAINERS_RYUK_DISABLED', 'true'),
            'TESTCONTAINERS_CONNECTION_MODE': os.environ.get('TESTCONTAINERS_CONNECTION_MODE', 'docker_host')}
# ------------------------------------------------------------------------------


@contextlib.contextmanager
def api():
    """The environment in which testcontainers reaches the engine, for the block:
    the caller's own where DOCKER_HOST is set or the engine is Docker, else a
    podman API service started here and stopped after the block."""
    if os.environ.get('DOCKER_HOST') or ENGINE != 'podman':
        yield dict(os.environ)
        return
    check_cli()
    directory = os.path.join(build.ROOT, 'build', 'engine')
    os.makedirs(directory, exist_ok=True)
    socket = os.path.join(directory, 'podman-%d.sock' % os.getpid())
    log = open(os.path.join(directory, 'service.log'), 'ab')
    service = subprocess.Popen([ENGINE, 'system', 'service', '--time=0', 'unix://' + socket],
                               env=engine_env(), stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(socket):
            if service.poll() is not None or time.monotonic() > deadline:
                raise NoEngine('podman system service did not start (see %s)' % log.name)
            time.sleep(0.1)
        yield dict(os.environ, **api_env(socket))
    finally:
        service.terminate()
        try:
            service.wait(10)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket)


@contextlib.contextmanager
def api_in_process():
    """api(), applied to this process's environment for the block (testcontainers
    reads it when first imported and when it connects)."""
    with api() as env:
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            yield env
        finally:
            os.environ.clear()
            os.environ.update(saved)
