"""Fixtures: one real PostgreSQL cluster and one real redis-server per test session,
started on free loopback ports by the harness in python/redis_wrapper_tools."""
import os
import re
import time

import psycopg
import pytest
from psycopg import sql

from redis_wrapper_tools import spec_data
from redis_wrapper_tools.servers import Postgres, Redis, RedisCluster, Sentinels

DB = 'rw'


@pytest.fixture(scope='session')
def pg_config():
    return os.environ.get('PG_CONFIG', 'pg_config')


@pytest.fixture(scope='session')
def redis_server():
    server = Redis().start()
    yield server
    server.stop()


@pytest.fixture(scope='session')
def redis_trio():
    """Three redis-servers, for tables spread over several servers."""
    servers = [Redis().start() for _ in range(3)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture(scope='session')
def redis_cluster():
    """A Redis Cluster of 3 primaries and 3 replicas (started on first use)."""
    cluster = RedisCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope='session')
def sentinels():
    """A primary, its replica and three sentinels that watch it (failover tests
    leave whichever is primary then as it is: ask sentinels.primary())."""
    s = Sentinels().start()
    yield s
    s.stop()


@pytest.fixture(scope='session')
def sentinels_with_password():
    """Like sentinels, with sentinels that require the password 'sentinel-pw'."""
    s = Sentinels(name='rwauth', sentinel_password='sentinel-pw').start()
    yield s
    s.stop()


@pytest.fixture(scope='session')
def pg(pg_config):
    server = Postgres(pg_config).start()
    yield server
    server.stop()


@pytest.fixture(scope='session')
def testdb(pg, redis_server):
    with pg.connect() as conn:
        conn.execute('create database %s' % DB)
    with pg.connect(DB) as conn:
        conn.execute(spec_data.SETUP_SQL.format(conn_url=redis_server.url))
    return DB


@pytest.fixture
def off(pg, testdb):
    """A second connection to the test database, with pushdown off: what every
    pushed query must agree with."""
    conn = pg.connect(testdb)
    conn.execute('set redis_wrapper.pushdown = off')
    yield conn
    conn.close()


@pytest.fixture
def roles(db):
    """Two ordinary roles, rw_a and rw_b, that may use the wrapper and schema
    redis; everything they own is dropped afterwards."""
    names = ('rw_a', 'rw_b')
    for name in names:
        if rows(db, 'select 1 from pg_roles where rolname = %s', name):
            db.execute('drop owned by %s cascade' % name)
            db.execute('drop role %s' % name)
        db.execute('create role %s' % name)
        db.execute('grant usage on foreign data wrapper redis_wrapper to %s' % name)
        db.execute('grant usage, create on schema redis to %s' % name)
    yield names
    db.execute('reset role')
    for name in names:
        db.execute('drop owned by %s cascade' % name)
        db.execute('drop role %s' % name)


@pytest.fixture
def own_redis():
    """A redis-server of the test's own, for tests that restart, reconfigure or break it."""
    server = Redis().start()
    yield server
    server.stop()


@pytest.fixture
def r(redis_server):
    """A Redis client on an empty server."""
    client = redis_server.client()
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def db(pg, testdb):
    """An autocommit connection to the test database (a fresh backend)."""
    conn = pg.connect(testdb)
    yield conn
    conn.close()


def table(db, name, src_type, src_key, columns=None, server='redis_server'):
    """(Re)create foreign table redis.<name> with the spec's columns for src_type."""
    if columns is None:
        columns = {'hash': 'key text, value text', 'stream': 'id text, items jsonb'}.get(
            src_type, 'key text, items jsonb' if src_type.startswith('multi_') else 'element text')
    db.execute('drop foreign table if exists redis.%s' % name)
    db.execute("create foreign table redis.%s (%s) server %s options (src_type '%s', src_key '%s')"
               % (name, columns, server, src_type, src_key.replace("'", "''")))
    return 'redis.' + name


def create_server(db, name, url, **options):
    """(Re)create server <name> with conn_url url and options."""
    opts = dict(options, conn_url=url)
    db.execute(sql.SQL('drop server if exists {} cascade').format(sql.Identifier(name)))
    db.execute(sql.SQL('create server {} foreign data wrapper redis_wrapper options ({})').format(
        sql.Identifier(name), sql.SQL(', ').join(
            sql.SQL('{} {}').format(sql.Identifier(k), sql.Literal(str(v))) for k, v in opts.items())))


def server_with_table(db, name, url, **options):
    """(Re)create server <name> with conn_url url and options, and a list table
    redis.<name>_l on key 'l'; returns the table's name."""
    create_server(db, name, url, **options)
    db.execute(sql.SQL("create foreign table redis.{} (element text) server {} "
                       "options (src_type 'list', src_key 'l')").format(
        sql.Identifier(name + '_l'), sql.Identifier(name)))
    return 'redis.%s_l' % name


def eventually(probe, want, timeout=10.0):
    """probe() once it gives want, or what it gives after timeout: Redis sees a
    closed socket on a later turn of its event loop than our next command may
    be served in, so CLIENT LIST can still show a client we closed."""
    deadline = time.monotonic() + timeout
    got = probe()
    while got != want and time.monotonic() < deadline:
        time.sleep(0.01)
        got = probe()
    return got


def rows(db, sql, *args):
    return db.execute(sql, args or None).fetchall()


def backend_memory(pid):
    """(VmRSS, VmHWM) of a backend in kB."""
    with open('/proc/%d/status' % pid) as f:
        status = f.read()
    return tuple(int(re.search(r'%s:\s+(\d+) kB' % k, status).group(1)) for k in ('VmRSS', 'VmHWM'))


def peak_growth_kb(db, sql):
    """Run sql and return how far the backend's peak RSS rose above its RSS before."""
    pid = db.execute('select pg_backend_pid()').fetchone()[0]
    with open('/proc/%d/clear_refs' % pid, 'w') as f:
        f.write('5')                        # resets VmHWM to the current RSS
    before, _ = backend_memory(pid)
    result = db.execute(sql).fetchall()
    _, peak = backend_memory(pid)
    return peak - before, result


def open_fds(pid, kind):
    """How many of a backend's file descriptors are of kind ('socket', 'pipe')."""
    fds = '/proc/%d/fd' % pid
    return sum(os.readlink(os.path.join(fds, f)).startswith(kind + ':') for f in os.listdir(fds))


def sqlstate_of(excinfo):
    return excinfo.value.sqlstate


__all__ = ['table', 'rows', 'peak_growth_kb', 'create_server', 'server_with_table', 'open_fds', 'psycopg']
