"""The build: one module that exports only PostgreSQL's entry points, the core's init and
our PyImport_AppendInittab, and the tooling package that pyproject.toml makes."""
import glob
import os
import subprocess
import sys
import zipfile

import pytest

from redis_wrapper_tools import build
from redis_wrapper_tools.servers import pg_config as query_pg_config


def test_module_exports_only_entry_points(pg_config):
    # PyImport_AppendInittab: ours, for plpython3u in a preloaded server (src/preload.c).
    lib = os.path.join(query_pg_config('pkglibdir', pg_config), 'redis_wrapper.so')
    out = subprocess.run(['nm', '-D', '--defined-only', lib], check=True, text=True,
                         capture_output=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert exported == {
        'Pg_magic_func', '_PG_init', 'PyInit_redis_wrapper_core', 'PyImport_AppendInittab',
        'redis_fdw_handler', 'pg_finfo_redis_fdw_handler',
        'redis_fdw_validator', 'pg_finfo_redis_fdw_validator',
        'redis_wrapper_check_table', 'pg_finfo_redis_wrapper_check_table',
        'redis_wrapper_get_connections', 'pg_finfo_redis_wrapper_get_connections',
        'redis_wrapper_disconnect', 'pg_finfo_redis_wrapper_disconnect',
        'redis_wrapper_disconnect_all', 'pg_finfo_redis_wrapper_disconnect_all',
    }


def test_module_links_system_libpython_and_hiredis(pg_config):
    lib = os.path.join(query_pg_config('pkglibdir', pg_config), 'redis_wrapper.so')
    out = subprocess.run(['ldd', lib], check=True, text=True, capture_output=True).stdout
    assert 'libhiredis' in out
    libpython = [line for line in out.splitlines() if 'libpython3' in line]
    assert libpython and '/root' not in libpython[0] and 'not found' not in libpython[0]


def test_extension_and_spec_fdw_statement(db):
    assert db.execute("select extversion from pg_extension where extname = 'redis_wrapper'").fetchone() == ('0.1.0',)
    handler, validator = db.execute(
        "select fdwhandler::regproc::text, fdwvalidator::regproc::text from pg_foreign_data_wrapper "
        "where fdwname = 'redis_wrapper'").fetchone()
    assert (handler, validator) == ('redis_fdw_handler', 'redis_fdw_validator')


@pytest.mark.slow
def test_pyproject_makes_the_tooling_package_with_every_module(tmp_path):
    """./dev runs the tooling from the checkout, so only this checks the package."""
    pytest.importorskip('mesonpy')      # the venv has it; Debian's Python in the containers not
    bindir = os.path.dirname(sys.executable)
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation',
                    '-w', str(tmp_path), build.ROOT], check=True, capture_output=True,
                   env=dict(os.environ, PATH=bindir + os.pathsep + os.environ.get('PATH', '')))
    wheel, = glob.glob(str(tmp_path / 'redis_wrapper_tools-*.whl'))
    files = zipfile.ZipFile(wheel)
    packaged = {n for n in files.namelist() if n.startswith('redis_wrapper_tools/')}
    source = os.path.join(build.ROOT, 'python', 'redis_wrapper_tools')
    assert packaged == {'redis_wrapper_tools/' + os.path.relpath(f, source)
                        for f in glob.glob(source + '/**/*.py', recursive=True)}
    # Installing the tooling registers the pytest plugin with the fixtures.
    entry_points, = [n for n in files.namelist() if n.endswith('.dist-info/entry_points.txt')]
    assert files.read(entry_points).decode().split() == [
        '[pytest11]', 'redis_wrapper', '=', 'redis_wrapper_tools.testing.plugin']
