"""The images, all made from Debian's packages: a debootstrap base per release
imported into the engine, then the Containerfiles of containers/.

- the matrix's test images (containers/<release>.Containerfile), tagged by the
  hash of what they are made from, so a rerun builds nothing;
- the PostgreSQL + redis_wrapper images (`./dev image`), built from the checkout;
- Redis and Valkey for the cross-container tests (containers/servers.Containerfile)."""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

from . import build
from .engine import cli

MIRROR = 'http://deb.debian.org/debian'
CONTAINERS = os.path.join(build.ROOT, 'containers')

# release -> (Debian suite, PostgreSQL major, Redis-compatible servers it ships)
RELEASES = {
    'debian12': ('bookworm', 15, ('redis-server',)),
    'debian13': ('trixie', 17, ('redis-server', 'valkey-server')),
}


def image_exists(tag):
    return cli('image', 'inspect', tag, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


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
        cli('import', '-', tag, stdin=tar.stdout, check=True, stdout=subprocess.DEVNULL)
        tar.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return tag


def _build(tag, containerfile, context, build_args, quiet):
    args = ['build', '-t', tag, '-f', containerfile]
    for name, value in build_args.items():
        args += ['--build-arg', '%s=%s' % (name, value)]
    if quiet:
        args.append('-q')
    cli(*args + [context], check=True, stdout=subprocess.DEVNULL if quiet else None)
    return tag


def test_image(release):
    """The matrix's image of release: the suite's build and test dependencies."""
    suite = RELEASES[release][0]
    containerfile = os.path.join(CONTAINERS, release + '.Containerfile')
    with open(containerfile, 'rb') as f:
        digest = hashlib.sha256(f.read() + suite.encode()).hexdigest()[:12]
    tag = 'localhost/rw-test:%s-%s' % (release, digest)
    if not image_exists(tag):
        base_image(suite)
        print('building %s...' % tag, file=sys.stderr, flush=True)
        _build(tag, containerfile, CONTAINERS, {}, quiet=True)
    return tag


def postgres_tag(release):
    return 'redis-wrapper-postgres:%d' % RELEASES[release][1]


def postgres_image(release, quiet=False):
    """PostgreSQL + redis_wrapper from the checkout (the engine's cache skips
    the steps whose inputs did not change)."""
    suite, major, _ = RELEASES[release]
    base = base_image(suite)
    print('building %s (%s)...' % (postgres_tag(release), release), file=sys.stderr, flush=True)
    return _build(postgres_tag(release), os.path.join(CONTAINERS, 'postgres.Containerfile'), build.ROOT,
                  {'BASE': base, 'PG_MAJOR': major}, quiet)


def servers_image(release):
    """Redis (and Valkey, where the release ships it) as Debian packages them."""
    suite, _, servers = RELEASES[release]
    tag = 'localhost/rw-servers:%s' % suite
    if not image_exists(tag):
        base = base_image(suite)
        print('building %s...' % tag, file=sys.stderr, flush=True)
        _build(tag, os.path.join(CONTAINERS, 'servers.Containerfile'), CONTAINERS,
               {'BASE': base, 'SERVERS': ' '.join(servers)}, quiet=True)
    return tag
