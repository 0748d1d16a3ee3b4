"""A resolver that never answers: connect_timeout bounds the lookup, cancel and
statement_timeout interrupt it, and the abandoned lookup frees what it holds.

PostgreSQL runs with its own resolv.conf (a private mount namespace, so root
only) naming a silent nameserver on this machine."""
import os
import socket
import tempfile
import time

import psycopg
import pytest

from conftest import open_fds, rows, server_with_table
from redis_wrapper_tools import spec_data
from redis_wrapper_tools.servers import Postgres

# A PostgreSQL of its own, and the resolver's timeout to wait out.
pytestmark = pytest.mark.slow

SILENT_NS = '127.0.0.77'
RESOLVER_TIMEOUT_S = 2      # how long glibc waits for the silent nameserver


@pytest.fixture(scope='module')
def hung_dns_pg(pg_config, redis_server):
    if os.geteuid() != 0:
        pytest.skip('a private resolv.conf needs root')
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        silent.bind((SILENT_NS, 53))
    except OSError as e:
        pytest.skip('cannot bind a nameserver on %s:53: %s' % (SILENT_NS, e))
    conf = tempfile.NamedTemporaryFile('w', prefix='rw-resolv-', suffix='.conf', delete=False)
    conf.write('nameserver %s\noptions timeout:%d attempts:1\n' % (SILENT_NS, RESOLVER_TIMEOUT_S))
    conf.close()
    os.chmod(conf.name, 0o644)
    try:
        server = Postgres(pg_config, resolv_conf=conf.name).start()
    except Exception as e:      # e.g. no CAP_SYS_ADMIN for unshare inside a container
        silent.close()
        os.unlink(conf.name)
        pytest.skip('cannot start PostgreSQL with its own resolv.conf: %s' % str(e).splitlines()[0])
    with server.connect() as conn:
        conn.execute(spec_data.SETUP_SQL.format(conn_url=redis_server.url))
    yield server
    server.stop()
    silent.close()
    os.unlink(conf.name)


def test_connect_timeout_bounds_a_hung_lookup(hung_dns_pg):
    with hung_dns_pg.connect() as db:
        t = server_with_table(db, 'd_slow', 'redis://no-such-host.example:6379', connect_timeout='300ms')
        pid = db.execute('select pg_backend_pid()').fetchone()[0]
        rows(db, 'select 1')
        before = open_fds(pid, 'pipe')
        start = time.monotonic()
        with pytest.raises(psycopg.errors.FdwUnableToEstablishConnection) as e:
            db.execute('select * from %s' % t)
        assert time.monotonic() - start < 0.3 + 0.5
        assert 'could not resolve Redis host "no-such-host.example": no answer within 300 ms' in str(e.value)
        # The abandoned lookup ends when the resolver gives up, and frees its pipe then.
        time.sleep(RESOLVER_TIMEOUT_S + 1)
        assert open_fds(pid, 'pipe') == before
        assert rows(db, 'select 1') == [(1,)]


def test_statement_timeout_interrupts_a_hung_lookup(hung_dns_pg):
    with hung_dns_pg.connect() as db:
        t = server_with_table(db, 'd_slow2', 'redis://no-such-host.example:6379', connect_timeout='0')
        db.execute("set statement_timeout = '200ms'")
        start = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            db.execute('select * from %s' % t)
        assert time.monotonic() - start < 0.2 + 0.3
        db.execute('reset statement_timeout')


def test_names_still_resolve_from_the_hosts_file(hung_dns_pg, redis_server):
    redis_server.client().rpush('l', 'named')
    with hung_dns_pg.connect() as db:
        t = server_with_table(db, 'd_local', 'redis://localhost:%d' % redis_server.port)
        assert rows(db, 'select * from %s' % t) == [('named',)]
