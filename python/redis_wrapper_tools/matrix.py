"""The test suite in containers, one per target (./dev test-matrix, and
./dev test --backend containers --target NAME).

Each target is a podman image made from Debian's packages only: a debootstrap
base imported into podman, then containers/<release>.Containerfile.  Images are
tagged by the hash of what they are made from, so a rerun builds nothing.  A
run mounts the checkout read-only, copies it in (without build outputs) and
runs ./dev test there, with the tooling from Debian's packages."""
import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from . import build

# target -> (Debian release, suite, environment of the run)
TARGETS = {
    'debian12': ('debian12', 'bookworm', {}),
    'debian13': ('debian13', 'trixie', {}),
    'debian13-valkey': ('debian13', 'trixie', {'RW_REDIS_SERVER': 'valkey-server'}),
}
MIRROR = 'http://deb.debian.org/debian'


class NoEngine(Exception):
    pass


# podman by default; RW_CONTAINER_ENGINE=docker uses Docker's engine instead.
ENGINE = os.environ.get('RW_CONTAINER_ENGINE', 'podman')


def podman(*args, **kw):
    return subprocess.run([ENGINE] + list(args), env=host_engine_env(), **kw)


# --- Workarounds for this host, all in one place ------------------------------
# The matrix itself is plain podman; each item below is here only because of
# how this host (or rootful podman's defaults) is set up, and says why.

def host_engine_env():
    """The engine's environment: a containers.conf of our own."""
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


HOST_RUN_ARGS = [
    # The tests read the backends' /proc/PID/fd and reset their peak RSS
    # (/proc/PID/clear_refs), which a container's root may not do without it.
    '--cap-add', 'SYS_PTRACE',
    # The DNS tests give PostgreSQL its own resolv.conf in a mount namespace
    # (unshare), which needs it.
    '--cap-add', 'SYS_ADMIN',
    # pip fails inside the containers (this host's proxy CA is not trusted
    # there), so the Containerfiles install the tooling's dependencies from
    # Debian's packages and ./dev uses those instead of a venv.
    '-e', 'RW_SYSTEM_PYTHON=1',
]
# ------------------------------------------------------------------------------


def check_engine():
    if shutil.which(ENGINE) is None:
        raise NoEngine('%s is not installed (as root, ./dev installs podman, runc and debootstrap)' % ENGINE)
    r = podman('info', capture_output=True, text=True)
    if r.returncode != 0:
        raise NoEngine('%s does not work here: %s' % (ENGINE, (r.stderr.strip().splitlines() or ['?'])[-1]))


def image_exists(tag):
    return podman('image', 'inspect', tag, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def base_image(suite):
    tag = 'localhost/rw-base:%s' % suite
    if image_exists(tag):
        return tag
    print('making the %s base image (debootstrap)...' % suite, file=sys.stderr, flush=True)
    root = tempfile.mkdtemp(prefix='rw-%s-' % suite)
    try:
        subprocess.run(['debootstrap', '--variant=minbase', suite, root, MIRROR], check=True,
                       stdout=subprocess.DEVNULL)
        tar = subprocess.Popen(['tar', '-C', root, '-c', '.'], stdout=subprocess.PIPE)
        podman('import', '-', tag, stdin=tar.stdout, check=True, stdout=subprocess.DEVNULL)
        tar.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return tag


def target_image(target):
    release, suite, _ = TARGETS[target]
    containerfile = os.path.join(build.ROOT, 'containers', release + '.Containerfile')
    with open(containerfile, 'rb') as f:
        digest = hashlib.sha256(f.read() + suite.encode()).hexdigest()[:12]
    tag = 'localhost/rw-test:%s-%s' % (release, digest)
    if not image_exists(tag):
        base_image(suite)
        print('building %s...' % tag, file=sys.stderr, flush=True)
        podman('build', '-q', '-t', tag, '-f', containerfile, os.path.dirname(containerfile),
               check=True, stdout=subprocess.DEVNULL)
    return tag


def run_target(target, pytest_args=(), capture=False):
    """Run the suite in target's container; (exit code, output or None, seconds)."""
    image = target_image(target)
    env = TARGETS[target][2]
    script = ('echo "versions: $(pg_config --version | cut -d" " -f1,2), Python $(python3 -c '
              '"import platform; print(platform.python_version())"), hiredis '
              '$(dpkg-query -W -f "\\${Version}" libhiredis-dev | cut -d- -f1), '
              '$(${RW_REDIS_SERVER:-redis-server} --version | cut -d" " -f1,3)" '
              '&& mkdir /src && tar -C /checkout --exclude=./build --exclude=./.venv -c . | tar -C /src -x '
              '&& cd /src && ./dev test -p no:cacheprovider "$@"')
    args = ['run', '--rm', '-v', '%s:/checkout:ro' % build.ROOT] + HOST_RUN_ARGS
    for k, v in env.items():
        args += ['-e', '%s=%s' % (k, v)]
    args += [image, 'sh', '-c', script, 'sh'] + list(pytest_args)
    start = time.monotonic()
    r = podman(*args, capture_output=capture, text=True)
    return r.returncode, (r.stdout + r.stderr) if capture else None, time.monotonic() - start


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
        check_engine()
    except NoEngine as e:
        print('dev: %s' % e, file=sys.stderr)
        return 1
    code, _, seconds = run_target(target, pytest_args)
    print('%s: exit %d after %.0f s' % (target, code, seconds))
    return code


def run_matrix(pytest_args=()):
    try:
        check_engine()
    except NoEngine as e:
        print('dev: cannot run the matrix: %s' % e, file=sys.stderr)
        return 1
    rows, failed = [], False
    logdir = os.path.join(build.ROOT, 'build', 'matrix')
    os.makedirs(logdir, exist_ok=True)
    for target in TARGETS:
        code, output, seconds = run_target(target, ['-q'] + list(pytest_args), capture=True)
        with open(os.path.join(logdir, target + '.log'), 'w') as f:
            f.write(output)
        failed |= code != 0
        rows.append((target, 'ok' if code == 0 else 'FAILED', summary(output), seconds, versions(output)))
        print('%s: %s (%s, %.0f s)' % rows[-1][:4], file=sys.stderr, flush=True)
    print('\n%-16s %-7s %-26s %6s  %s' % ('target', 'result', 'tests', 'time', 'versions'))
    for target, status, result, seconds, found in rows:
        print('%-16s %-7s %-26s %5.0fs  %s' % (target, status, result, seconds, found))
    print('logs: %s' % logdir)
    return 1 if failed else 0
