"""./dev image and ./dev test-containers: the PostgreSQL + redis_wrapper images,
and the tests that run PostgreSQL and Redis in separate containers through
testcontainers (tests/containers, then the example project in
examples/ci-project against the same image), on each image target."""
import os
import subprocess
import sys
import time

from . import build, engine, images, matrix

EXAMPLE = os.path.join(build.ROOT, 'examples', 'ci-project')


def build_images(releases):
    try:
        engine.check_cli()
    except engine.NoEngine as e:
        print('dev: cannot build the image: %s' % e, file=sys.stderr)
        return 1
    for release in releases:
        tag = images.postgres_image(release)
        print('%s: %s' % (release, tag))
    return 0


def example_venv():
    """A venv of the example project, as a user's CI makes it: the tooling
    installed from the checkout (a wheel built by meson-python, whose pytest
    plugin comes in through its entry point) and the project's own test tools."""
    venv = os.path.join(build.ROOT, 'build', 'example-venv')
    python = os.path.join(venv, 'bin', 'python')
    pip = [python, '-m', 'pip', 'install', '-q', '--disable-pip-version-check']
    if not os.path.exists(python):
        subprocess.run(['/usr/bin/python3', '-m', 'venv', venv], check=True)
        subprocess.run(pip + ['-r', os.path.join(EXAMPLE, 'requirements.txt'), build.ROOT], check=True)
    else:   # the checkout's tooling as it is now
        subprocess.run(pip + ['--force-reinstall', '--no-deps', build.ROOT], check=True)
    return python


def image_env(release):
    """What the fixtures start for release: its PostgreSQL image, Redis as that
    release ships it, and Valkey from Debian 13 (Debian 12 has none)."""
    return {'REDIS_WRAPPER_PG_IMAGE': images.postgres_tag(release),
            'REDIS_WRAPPER_REDIS_IMAGE': images.servers_image(release),
            'REDIS_WRAPPER_VALKEY_IMAGE': images.servers_image('debian13'),
            # Where no engine works, the fixtures fail instead of skipping.
            'REDIS_WRAPPER_REQUIRE_ENGINE': '1'}


def run(releases, pytest_args=()):
    try:
        engine.check_cli()
    except engine.NoEngine as e:
        print('dev: cannot run the cross-container tests: %s' % e, file=sys.stderr)
        return 1
    rows, failed = [], False
    logdir = os.path.join(build.ROOT, 'build', 'containers')
    os.makedirs(logdir, exist_ok=True)
    python = example_venv()
    for release in releases:
        images.postgres_image(release, quiet=True)
        env_images = image_env(release)
        with engine.api() as env:
            env.update(env_images)
            for name, command, cwd in (
                    ('tests', [sys.executable, '-m', 'pytest', '-p', 'redis_wrapper_tools.testing.plugin',
                               os.path.join(build.ROOT, 'tests', 'containers')], build.ROOT),
                    ('example', [python, '-m', 'pytest'], EXAMPLE)):
                start = time.monotonic()
                log = os.path.join(logdir, '%s-%s.log' % (release, name))
                with open(log, 'w') as f:
                    proc = subprocess.Popen(command + ['-p', 'no:cacheprovider'] + list(pytest_args), cwd=cwd,
                                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                    output = []
                    for line in proc.stdout:
                        sys.stdout.write(line)
                        f.write(line)
                        output.append(line)
                    code = proc.wait()
                failed |= code != 0
                rows.append(('%s %s' % (release, name), 'ok' if code == 0 else 'FAILED',
                             matrix.summary(''.join(output)), time.monotonic() - start))
    print('\n%-20s %-7s %-30s %6s' % ('target', 'result', 'tests', 'time'))
    for row in rows:
        print('%-20s %-7s %-30s %5.0fs' % row)
    print('logs: %s' % logdir)
    return 1 if failed else 0
