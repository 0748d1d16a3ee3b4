"""shared_preload_libraries = 'redis_wrapper': the interpreter and the core start
once, in the postmaster, and every backend inherits them through fork (issue 16).

These tests run a PostgreSQL of their own, started with the library preloaded,
beside the session's ordinary one (the lazy mode)."""
import os
import signal
import subprocess
import time

import psycopg
import pytest

from conftest import open_fds, rows
from redis_wrapper_tools import spec_data
from redis_wrapper_tools.servers import Postgres

DB = 'rw'
PLPY_ADD = ("create function py_add(a int, b int) returns int "
            "language plpython3u as $$ return a + b $$")
# A plpython3u block that fails unless our core is already imported into the
# interpreter it runs in.
CORE_IS_THERE = ("do $$ import sys; assert 'redis_wrapper_core' in sys.modules, "
                 "'no core' $$ language plpython3u")


def setup_db(server, url):
    with server.connect() as conn:
        conn.execute('create database %s' % DB)
    with server.connect(DB) as conn:
        conn.execute(spec_data.SETUP_SQL.format(conn_url=url))
        conn.execute('create extension plpython3u')
        conn.execute(PLPY_ADD)
        conn.execute("create foreign table redis.pl (element text) server redis_server "
                     "options (src_type 'list', src_key 'pl')")


@pytest.fixture(scope='module')
def preloaded(pg_config, redis_server):
    server = Postgres(pg_config, settings={'shared_preload_libraries': 'redis_wrapper'}).start()
    try:
        setup_db(server, redis_server.url)
        yield server
    finally:
        server.stop()


@pytest.fixture
def data(r):
    r.rpush('pl', 'a', 'b', 'c')


def fresh(server):
    return server.connect(DB)


def pid_of(conn):
    return conn.execute('select pg_backend_pid()').fetchone()[0]


def postmaster_pid(server):
    with open(os.path.join(server.dir, 'data', 'postmaster.pid')) as f:
        return int(f.readline())


def status(pid, field):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return line.split()[1]
    raise KeyError(field)


def mapped(pid, name):
    with open('/proc/%d/maps' % pid) as f:
        return name in f.read()


def test_scans_work_in_fresh_backends(preloaded, data):
    for _ in range(5):
        with fresh(preloaded) as conn:
            assert rows(conn, 'select * from redis.pl') == [('a',), ('b',), ('c',)]


def test_a_fresh_backend_inherits_the_started_core(preloaded):
    """Before anything of ours ran in the backend, the interpreter plpython3u
    finds is ours, with the core imported: it came from the postmaster."""
    with fresh(preloaded) as conn:
        conn.execute(CORE_IS_THERE)


def test_the_postmaster_starts_no_thread_and_opens_no_socket(pg, preloaded):
    """Nothing of Python's or the core's runs or connects in the postmaster:
    it has one thread and as many sockets as the ordinary (lazy) one."""
    ours, lazy = postmaster_pid(preloaded), postmaster_pid(pg)
    assert mapped(ours, 'libpython')
    assert status(ours, 'Threads') == '1'
    assert open_fds(ours, 'socket') == open_fds(lazy, 'socket')


def test_plpython_first_then_redis(preloaded, data):
    with fresh(preloaded) as conn:
        assert rows(conn, 'select py_add(1, 2)') == [(3,)]
        assert rows(conn, 'select * from redis.pl') == [('a',), ('b',), ('c',)]
        assert rows(conn, 'select py_add(3, 4)') == [(7,)]


def test_redis_first_then_plpython(preloaded, data):
    with fresh(preloaded) as conn:
        assert rows(conn, 'select * from redis.pl') == [('a',), ('b',), ('c',)]
        assert rows(conn, 'select py_add(2, 3)') == [(5,)]
        conn.execute("do $$ plpy.execute('select 1') $$ language plpython3u")
        assert rows(conn, 'select * from redis.pl') == [('a',), ('b',), ('c',)]


def test_plpython_inline_block_first(preloaded, data):
    """A DO block is plpython3u's other way in (its inline handler)."""
    with fresh(preloaded) as conn:
        conn.execute("do $$ plpy.notice('hi') $$ language plpython3u")
        assert rows(conn, 'select * from redis.pl') == [('a',), ('b',), ('c',)]


def test_a_failing_backend_does_not_poison_others(preloaded, data):
    with fresh(preloaded) as failing, fresh(preloaded) as other:
        failing.execute("set redis_wrapper.fault = 'scan_next'")
        with pytest.raises(psycopg.errors.InternalError_):
            failing.execute('select * from redis.pl')
        assert rows(other, 'select * from redis.pl') == [('a',), ('b',), ('c',)]
        failing.execute('reset redis_wrapper.fault')
        assert rows(failing, 'select * from redis.pl') == [('a',), ('b',), ('c',)]
    with fresh(preloaded) as conn:
        assert rows(conn, 'select * from redis.pl') == [('a',), ('b',), ('c',)]


def wait_accepting(server, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with fresh(server) as conn:
                conn.execute('select 1')
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_crashed_backend_does_not_poison_the_next(preloaded, data):
    """A backend killed mid-session makes the postmaster reset every backend
    (crash recovery); the interpreter the postmaster holds is untouched, and
    the backends after it scan as before."""
    with fresh(preloaded) as conn:
        # The harness's synchronous_commit=off leaves recent commits in WAL
        # buffers, which crash recovery drops: write them out first.
        conn.execute('checkpoint')
        assert rows(conn, 'select * from redis.pl') == [('a',), ('b',), ('c',)]
        os.kill(pid_of(conn), signal.SIGKILL)
        with pytest.raises(psycopg.OperationalError):
            conn.execute('select 1')
    wait_accepting(preloaded)
    with fresh(preloaded) as conn:
        assert rows(conn, 'select * from redis.pl') == [('a',), ('b',), ('c',)]
        assert rows(conn, 'select py_add(1, 1)') == [(2,)]


def pg_ctl(server, *args):
    kw = {}
    if server.os_user:
        kw = server._run_as()
    subprocess.run([os.path.join(server.bindir, 'pg_ctl'), '-D', os.path.join(server.dir, 'data'),
                    '-w', '-t', '60'] + list(args), check=True, capture_output=True, **kw)


def test_postmaster_restart(pg_config, redis_server, data):
    """pg_ctl restart: the new postmaster starts the interpreter anew."""
    server = Postgres(pg_config, settings={'shared_preload_libraries': 'redis_wrapper'}).start()
    restarted = False
    try:
        setup_db(server, redis_server.url)
        pg_ctl(server, '-l', os.path.join(server.dir, 'restarted.log'), 'restart', '-m', 'fast')
        restarted = True
        with fresh(server) as conn:
            conn.execute(CORE_IS_THERE)
            assert rows(conn, 'select * from redis.pl') == [('a',), ('b',), ('c',)]
    finally:
        if restarted:
            pg_ctl(server, 'stop', '-m', 'fast')
        server.stop()


def test_select_1_backends_do_not_load_python_when_not_preloaded(pg, testdb):
    with pg.connect(testdb) as conn:
        conn.execute('select 1')
        pid = pid_of(conn)
        assert not mapped(pid, 'libpython')
        assert not mapped(pid, 'redis_wrapper')
