"""Connections: URLs, credentials, the per-backend cache, timeouts and faults.

Destructive tests use a redis-server of their own, not the session's."""
import socket
import time

import psycopg
import pytest
from psycopg import sql

from conftest import eventually, open_fds, rows, server_with_table
from fake_servers import FakeServer
from redis_wrapper_tools.servers import Redis, free_port

SECRET = 's3cr3t-pw'


def our_clients(client, before):
    return [c for c in client.client_list() if c['id'] not in before]


def open_sockets(pid):
    """The backend's sockets: its client connection plus any Redis connections."""
    return open_fds(pid, 'socket')


def error_text(e):
    d = e.value.diag
    return ' '.join(filter(None, [str(e.value), d.message_detail, d.message_hint, d.context]))


# -- URLs and credentials ---------------------------------------------------

def test_unix_socket_with_db(db, own_redis):
    c = own_redis.client(db=2)
    c.rpush('l', 'via', 'socket')
    t = server_with_table(db, 'c_unix', 'unix://%s?db=2' % own_redis.socket)
    assert rows(db, 'select * from %s' % t) == [('via',), ('socket',)]


def test_ipv6_host(db):
    try:
        socket.socket(socket.AF_INET6).bind(('::1', 0))
    except OSError:
        pytest.skip('no IPv6 loopback here')
    server = Redis(extra_args=['--bind', '127.0.0.1', '::1']).start()
    try:
        server.client().rpush('l', 'six')
        t = server_with_table(db, 'c_ipv6', 'redis://[::1]:%d/0' % server.port)
        assert rows(db, 'select * from %s' % t) == [('six',)]
    finally:
        server.stop()


def test_percent_encoded_password_and_select(db):
    password = 'p@ss:w/rd%'
    server = Redis(password=password).start()
    try:
        server.client(db=3).rpush('l', 'ok')
        t = server_with_table(db, 'c_pw', 'redis://:p%%40ss%%3Aw%%2Frd%%25@127.0.0.1:%d/3' % server.port)
        assert rows(db, 'select * from %s' % t) == [('ok',)]
    finally:
        server.stop()


@pytest.fixture
def acl_redis(own_redis):
    c = own_redis.client()
    c.execute_command('ACL', 'SETUSER', 'alice', 'on', '>alice-' + SECRET, '~*', '+@all')
    c.execute_command('ACL', 'SETUSER', 'bob', 'on', '>bob-' + SECRET, '~*', '-@all', '+type', '+auth')
    c.execute_command('ACL', 'SETUSER', 'default', 'off')
    yield own_redis


def test_user_mapping_credentials(db, acl_redis):
    acl_redis.client(username='alice', password='alice-' + SECRET).rpush('l', 'hi')
    t = server_with_table(db, 'c_acl', 'redis://127.0.0.1:%d' % acl_redis.port)
    with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification):
        db.execute('select * from %s' % t)          # the default user is off
    db.execute("create user mapping for current_user server c_acl "
               "options (user 'alice', password %s)" % sql.Literal('alice-' + SECRET).as_string(db))
    assert rows(db, 'select * from %s' % t) == [('hi',)]


def test_wrong_password_is_clear_and_secret(db, acl_redis):
    t = server_with_table(db, 'c_acl2', 'redis://alice:wrong-%s@127.0.0.1:%d' % (SECRET, acl_redis.port))
    with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification) as e:
        db.execute('select * from %s' % t)
    assert 'user "alice"' in str(e.value) and SECRET not in error_text(e)


def test_noperm_is_clear(db, acl_redis):
    t = server_with_table(db, 'c_acl3', 'redis://bob:bob-%s@127.0.0.1:%d' % (SECRET, acl_redis.port))
    with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification) as e:
        db.execute('select * from %s' % t)
    assert 'NOPERM' in str(e.value) and SECRET not in error_text(e)


def test_explain_shows_no_secret(db, own_redis):
    t = server_with_table(db, 'c_explain', 'redis://:%s@127.0.0.1:%d' % (SECRET, own_redis.port))
    plan = '\n'.join(r[0] for r in rows(db, 'explain (verbose) select * from %s' % t))
    assert 'Redis Source: list "l"' in plan and SECRET not in plan


# -- the connection cache -----------------------------------------------------

def test_connection_is_reused_and_listed(db, own_redis):
    c = own_redis.client()
    before = {x['id'] for x in c.client_list()}
    t = server_with_table(db, 'c_cache', own_redis.url)
    for _ in range(3):
        rows(db, 'select * from %s' % t)
    assert len(our_clients(c, before)) == 1
    assert rows(db, 'select * from redis_wrapper_get_connections()') == \
        [('c_cache', 'postgres', '127.0.0.1:%d' % own_redis.port)]
    assert rows(db, 'select redis_wrapper_disconnect_all()') == [(True,)]
    assert eventually(lambda: our_clients(c, before), []) == []
    assert rows(db, 'select * from redis_wrapper_get_connections()') == []
    assert rows(db, 'select redis_wrapper_disconnect_all()') == [(False,)]


def test_disconnect_one_server(db, own_redis):
    t = server_with_table(db, 'c_one', own_redis.url)
    rows(db, 'select * from %s' % t)
    assert rows(db, "select redis_wrapper_disconnect('c_one')") == [(True,)]
    assert rows(db, "select redis_wrapper_disconnect('c_one')") == [(False,)]


def test_altered_server_drops_its_connection(db, own_redis):
    c = own_redis.client()
    before = {x['id'] for x in c.client_list()}
    t = server_with_table(db, 'c_alter', own_redis.url)
    rows(db, 'select * from %s' % t)
    first = our_clients(c, before)
    db.execute("alter server c_alter options (add command_timeout '5s')")
    rows(db, 'select * from %s' % t)
    now = our_clients(c, before)
    assert len(now) == 1 and now[0]['id'] != first[0]['id']


def test_dropped_server_closes_its_connection(db, own_redis):
    c = own_redis.client()
    before = {x['id'] for x in c.client_list()}
    t = server_with_table(db, 'c_drop', own_redis.url)
    rows(db, 'select * from %s' % t)
    assert len(our_clients(c, before)) == 1
    db.execute('drop server c_drop cascade')
    assert eventually(lambda: our_clients(c, before), []) == []


def test_redis_restarted_between_queries(db):
    server = Redis().start()
    t = server_with_table(db, 'c_restart', server.url)
    server.client().rpush('l', 'before')
    assert rows(db, 'select * from %s' % t) == [('before',)]
    server.stop()
    server = Redis(port=server.port).start()
    try:
        server.client().rpush('l', 'after')
        assert rows(db, 'select * from %s' % t) == [('after',)]
    finally:
        server.stop()


def test_client_kill_between_queries(db, own_redis):
    c = own_redis.client()
    c.rpush('l', 'x')
    before = {x['id'] for x in c.client_list()}
    t = server_with_table(db, 'c_kill', own_redis.url)
    assert rows(db, 'select * from %s' % t) == [('x',)]
    for client in our_clients(c, before):
        c.execute_command('CLIENT', 'KILL', 'ID', client['id'])
    assert rows(db, 'select * from %s' % t) == [('x',)]


# -- faults ------------------------------------------------------------------

def assert_clean_failure(db, t, error, pid, fds_before, *words):
    with pytest.raises(error) as e:
        db.execute('select * from %s' % t)
    for w in words:
        assert w in error_text(e)
    assert SECRET not in error_text(e)
    assert rows(db, 'select 1') == [(1,)]
    assert open_sockets(pid) <= fds_before
    return e


@pytest.fixture
def backend(db):
    pid = db.execute('select pg_backend_pid()').fetchone()[0]
    rows(db, 'select redis_wrapper_disconnect_all()')
    return pid, open_sockets(pid)


def test_redis_killed_mid_scan(db, backend):
    server = Redis(password=SECRET).start()
    pipe = server.client().pipeline(transaction=False)
    for i in range(0, 300_000, 10_000):
        pipe.rpush('l', *range(i, i + 10_000))
    pipe.execute()
    t = server_with_table(db, 'c_midscan', 'redis://:%s@127.0.0.1:%d' % (SECRET, server.port))
    pid, fds = backend
    db.execute('begin')
    db.execute('declare c cursor for select * from %s' % t)
    assert len(db.execute('fetch 10 from c').fetchall()) == 10
    server.proc.kill()
    server.proc.wait()
    with pytest.raises(psycopg.errors.ConnectionFailure) as e:
        db.execute('fetch all from c')
    assert '127.0.0.1:%d' % server.port in str(e.value) and 'c_midscan' in e.value.diag.context
    assert SECRET not in error_text(e)
    db.execute('rollback')
    server.stop()
    assert rows(db, 'select 1') == [(1,)]
    assert open_sockets(pid) <= fds


def test_connection_refused(db, backend):
    port = free_port()
    t = server_with_table(db, 'c_refused', 'redis://:%s@127.0.0.1:%d' % (SECRET, port))
    start = time.monotonic()
    e = assert_clean_failure(db, t, psycopg.errors.FdwUnableToEstablishConnection, *backend,
                             'Connection refused', '127.0.0.1:%d' % port, 'after 3 retries', 'c_refused')
    assert time.monotonic() - start >= 0.7      # 100 + 200 + 400 ms of backoff
    assert e.value.sqlstate == 'HV00N'


def test_connect_timeout_bounds_the_retries(db, backend):
    t = server_with_table(db, 'c_refused2', 'redis://127.0.0.1:%d' % free_port(), connect_timeout='250ms')
    start = time.monotonic()
    assert_clean_failure(db, t, psycopg.errors.FdwUnableToEstablishConnection, *backend, 'after 1 retries')
    assert time.monotonic() - start < 0.6


def test_dns_failure(db, backend):
    t = server_with_table(db, 'c_dns', 'redis://:%s@no-such-host.invalid:6379' % SECRET)
    assert_clean_failure(db, t, psycopg.errors.FdwUnableToEstablishConnection, *backend,
                         'could not resolve Redis host "no-such-host.invalid"')


def test_server_that_never_answers(db, backend):
    with FakeServer() as fake:
        t = server_with_table(db, 'c_silent', fake.url, command_timeout='300ms', cluster='false')
        start = time.monotonic()
        assert_clean_failure(db, t, psycopg.errors.ConnectionFailure, *backend,
                             'did not answer within 300 ms', 'c_silent')
        assert time.monotonic() - start < 1.5


def test_server_that_never_answers_the_handshake(db, backend):
    with FakeServer() as fake:
        t = server_with_table(db, 'c_silent2', 'redis://:%s@127.0.0.1:%d' % (SECRET, fake.port),
                        connect_timeout='300ms')
        assert_clean_failure(db, t, psycopg.errors.FdwUnableToEstablishConnection, *backend,
                             'handshake within 300 ms')


def test_statement_timeout_on_a_silent_server(db, backend):
    with FakeServer() as fake:
        t = server_with_table(db, 'c_silent3', fake.url)
        db.execute("set statement_timeout = '200ms'")
        try:
            assert_clean_failure(db, t, psycopg.errors.QueryCanceled, *backend)
        finally:
            db.execute('reset statement_timeout')


# Our first request is TYPE then LRANGE, pipelined: each script answers both.
@pytest.mark.parametrize('reply,error,words', [
    (b'@garbage\r\n', psycopg.errors.ProtocolViolation, ['malformed reply']),
    (b'+list\r\n*2\r\n$3\r\nabc\r\n$10\r\nshort', psycopg.errors.ConnectionFailure,
     ['closed the connection']),
    (b'+list\r\n', psycopg.errors.ConnectionFailure, ['closed the connection']),
    (b'+list\r\n:12\r\n', psycopg.errors.ProtocolViolation, ['unexpected reply']),
    (b'+list\r\n+OK\r\n', psycopg.errors.ProtocolViolation, ['unexpected reply']),
    (b'+list\r\n*1\r\n*1\r\n$1\r\nx\r\n', psycopg.errors.ProtocolViolation, ['unexpected reply']),
    (b'*1\r\n+list\r\n*0\r\n', psycopg.errors.ProtocolViolation, ['unexpected reply']),
])
def test_malformed_or_truncated_replies(db, backend, reply, error, words):
    with FakeServer(reply=reply, close_after_reply=True) as fake:
        t = server_with_table(db, 'c_bad', fake.url, cluster='false')     # a fake answers no INFO
        assert_clean_failure(db, t, error, *backend, *words)


def test_an_ordinary_role_end_to_end(db, own_redis):
    """A role that is no superuser: creates a table (the column check runs as it),
    reads it through its own user mapping (which must hold a password), and sees
    its cached connection."""
    own_redis.client().rpush('l', 'mine')
    own_redis.client().config_set('requirepass', SECRET)
    server_with_table(db, 'c_role', own_redis.url)
    db.execute('drop role if exists c_app')
    db.execute('create role c_app')
    db.execute('grant usage on foreign server c_role to c_app')
    db.execute('grant usage, create on schema redis to c_app')
    db.execute("create user mapping for c_app server c_role options (password '%s')" % SECRET)
    db.execute('set role c_app')
    try:
        db.execute("create foreign table redis.c_app_l (element text) server c_role "
                   "options (src_type 'list', src_key 'l')")
        with pytest.raises(psycopg.errors.FdwInvalidColumnName):
            db.execute("create foreign table redis.c_app_bad (elem text) server c_role "
                       "options (src_type 'list', src_key 'l')")
        assert rows(db, 'select * from redis.c_app_l') == [('mine',)]
        assert rows(db, "select server_name, user_name from redis_wrapper_get_connections() "
                        "where server_name = 'c_role'") == [('c_role', 'c_app')]
    finally:
        db.execute('reset role')
        db.execute('drop owned by c_app cascade')
        db.execute('drop role c_app')

