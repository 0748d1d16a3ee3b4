"""Build the PostgreSQL module with meson and install it into the PostgreSQL
named by its pg_config."""
import os
import subprocess
import sys

# The checkout: ./dev exports it (an installed copy of the tooling cannot know it).
ROOT = os.environ.get('RW_ROOT') or os.getcwd()


def build_dir(pg_config_path):
    version = subprocess.run([pg_config_path, '--version'], check=True, text=True,
                             capture_output=True).stdout.split()[1].split('.')[0]
    return os.path.join(ROOT, 'build', 'pg%s' % version)


def build_and_install(pg_config_path='pg_config', install=True):
    bindir = os.path.dirname(sys.executable)    # meson, ninja and cython live in the venv
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get('PATH', ''))
    out = build_dir(pg_config_path)
    if not os.path.exists(os.path.join(out, 'build.ninja')):
        subprocess.run([os.path.join(bindir, 'meson'), 'setup', out, ROOT,
                        '-Dpg_config=' + pg_config_path], check=True, env=env)
    subprocess.run([os.path.join(bindir, 'meson'), 'compile', '-C', out], check=True, env=env)
    if install:
        subprocess.run([os.path.join(bindir, 'meson'), 'install', '-C', out, '--quiet'],
                       check=True, env=env)
    return out
