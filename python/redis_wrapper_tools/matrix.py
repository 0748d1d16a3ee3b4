"""The test suite in containers, one per target (./dev test-matrix, and
./dev test --backend containers --target NAME).

Each target's image is made from Debian's packages only (images.test_image).
testcontainers starts its container (through the engine's Docker-compatible
API, see engine.py), which mounts the checkout read-only, copies it in
(without build outputs) and runs ./dev test there with the tooling from
Debian's packages; its log is streamed as it comes, its exit awaited, and
the container removed."""
import os
import re
import sys
import time

from . import build, engine, images

# target -> (Debian release, environment of the run)
TARGETS = {
    'debian12': ('debian12', {}),
    'debian13': ('debian13', {}),
    'debian13-valkey': ('debian13', {'RW_REDIS_SERVER': 'valkey-server'}),
}

# --- Workarounds for this host, all in one place (see also engine.py) ---------
HOST_RUN_KWARGS = {
    # The tests read the backends' /proc/PID/fd and reset their peak RSS
    # (/proc/PID/clear_refs), which a container's root may not do without
    # SYS_PTRACE; the DNS tests give PostgreSQL its own resolv.conf in a mount
    # namespace (unshare), which needs SYS_ADMIN.
    'cap_add': ['SYS_PTRACE', 'SYS_ADMIN'],
}
HOST_RUN_ENV = {
    # pip fails inside the containers (this host's proxy CA is not trusted
    # there), so the Containerfiles install the tooling's dependencies from
    # Debian's packages and ./dev uses those instead of a venv.
    'RW_SYSTEM_PYTHON': '1',
}
# ------------------------------------------------------------------------------

SCRIPT = ('echo "versions: $(pg_config --version | cut -d" " -f1,2), Python $(python3 -c '
          '"import platform; print(platform.python_version())"), hiredis '
          '$(dpkg-query -W -f "\\${Version}" libhiredis-dev | cut -d- -f1), '
          '$(${RW_REDIS_SERVER:-redis-server} --version | cut -d" " -f1,3)" '
          '&& mkdir /src && tar -C /checkout --exclude=./build --exclude=./.venv -c . | tar -C /src -x '
          '&& cd /src && ./dev test -p no:cacheprovider "$@"')


def run_target(target, pytest_args=(), out=None):
    """Run the suite in target's container, its log streamed to out (default
    stdout); (exit code, output, seconds)."""
    from testcontainers.core.container import DockerContainer

    release, env = TARGETS[target]
    image = images.test_image(release)
    container = DockerContainer(image, command=['sh', '-c', SCRIPT, 'sh'] + list(pytest_args),
                                env=dict(HOST_RUN_ENV, **env), volumes=[(build.ROOT, '/checkout', 'ro')],
                                **HOST_RUN_KWARGS)
    out = out or sys.stdout
    output = []
    start = time.monotonic()
    container.start()
    try:
        for chunk in container.get_wrapped_container().logs(stream=True, follow=True):
            text = chunk.decode(errors='replace')
            output.append(text)
            out.write(text)
            out.flush()
        code = container.wait()
    finally:
        container.stop()
    return code, ''.join(output), time.monotonic() - start


def versions(output):
    for line in output.splitlines():
        if line.startswith('versions: '):
            return line[len('versions: '):]
    return '?'


def summary(output):
    """pytest's closing counts, e.g. '131 passed, 2 skipped'."""
    for line in reversed(output.splitlines()):
        m = re.search(r'(\d+ (passed|failed|errors?)\b.*?) in [\d.]+s', line)
        if m:
            return m.group(1)
    return 'no result (see the log)'


def run_one(target, pytest_args):
    try:
        with engine.api_in_process():
            code, _, seconds = run_target(target, pytest_args)
    except engine.NoEngine as e:
        print('dev: %s' % e, file=sys.stderr)
        return 1
    print('%s: exit %d after %.0f s' % (target, code, seconds))
    return code


def run_matrix(pytest_args=()):
    rows, failed = [], False
    logdir = os.path.join(build.ROOT, 'build', 'matrix')
    os.makedirs(logdir, exist_ok=True)
    try:
        with engine.api_in_process():
            for target in TARGETS:
                with open(os.path.join(logdir, target + '.log'), 'w') as log:
                    code, output, seconds = run_target(target, ['-q'] + list(pytest_args), out=log)
                failed |= code != 0
                rows.append((target, 'ok' if code == 0 else 'FAILED', summary(output), seconds, versions(output)))
                print('%s: %s (%s, %.0f s)' % rows[-1][:4], file=sys.stderr, flush=True)
    except engine.NoEngine as e:
        print('dev: cannot run the matrix: %s' % e, file=sys.stderr)
        return 1
    print('\n%-16s %-7s %-26s %6s  %s' % ('target', 'result', 'tests', 'time', 'versions'))
    for target, status, result, seconds, found in rows:
        print('%-16s %-7s %-26s %5.0fs  %s' % (target, status, result, seconds, found))
    print('logs: %s' % logdir)
    return 1 if failed else 0
