"""Who may connect how, whose credentials a scan uses, and what bad input turns
into (issue 9): each test was seen failing on the code before its fix."""
import socket
import threading

import psycopg
import pytest
from psycopg import sql

from conftest import create_server, rows, server_with_table
from redis_wrapper_tools.servers import free_port

SECRET = 'sec-r3t-pw'


def list_table(db, name, server, key='l'):
    db.execute(sql.SQL("create foreign table redis.{} (element text) server {} "
                       "options (src_type 'list', src_key {})").format(
        sql.Identifier(name), sql.Identifier(server), sql.Literal(key)))


# -- whose credentials (item 2) ----------------------------------------------

@pytest.fixture
def acl_redis(own_redis):
    c = own_redis.client()
    c.execute_command('ACL', 'SETUSER', 'alice', 'on', '>alice-' + SECRET, '~*', '+@all')
    c.execute_command('ACL', 'SETUSER', 'bob', 'on', '>bob-' + SECRET, '~*', '-@all', '+auth')
    c.execute_command('ACL', 'SETUSER', 'default', 'off')
    c.close()
    return own_redis


def test_a_view_reads_with_its_owners_user_mapping(db, roles, acl_redis):
    acl_redis.client(username='alice', password='alice-' + SECRET).rpush('l', 'alice-data')
    db.execute('drop server if exists s_view cascade')
    create_server(db, 's_view', 'redis://127.0.0.1:%d' % acl_redis.port)
    db.execute('grant usage on foreign server s_view to rw_a, rw_b')
    db.execute("create user mapping for rw_a server s_view options (user 'alice', password %s)"
               % sql.Literal('alice-' + SECRET).as_string(db))
    db.execute("create user mapping for rw_b server s_view options (user 'bob', password %s)"
               % sql.Literal('bob-' + SECRET).as_string(db))
    db.execute('set role rw_a')
    list_table(db, 'v_items', 's_view')
    db.execute('create view redis.v_items_view as select * from redis.v_items')
    db.execute('grant select on redis.v_items_view, redis.v_items to rw_b')
    db.execute('set role rw_b')
    # bob may not even run LRANGE: rows here can only come through alice's mapping.
    assert rows(db, 'select * from redis.v_items_view') == [('alice-data',)]
    # The connection is rw_a's: rw_b sees that it exists, not where it goes.
    assert rows(db, "select user_name, address from redis_wrapper_get_connections() "
                    "where server_name = 's_view'") == [('rw_a', None)]
    with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification):
        db.execute('select * from redis.v_items')      # not through the view: bob's own mapping


# -- non-superusers must authenticate (item 3) -------------------------------

def test_a_non_superuser_must_send_a_password(db, roles, own_redis):
    own_redis.client().rpush('l', 'open')
    db.execute('set role rw_a')
    create_server(db, 's_nopw', own_redis.url)
    db.execute('create user mapping for rw_a server s_nopw')
    list_table(db, 'nopw', 's_nopw')
    with pytest.raises(psycopg.errors.ProhibitedSqlStatementAttempted) as e:
        db.execute('select * from redis.nopw')
    assert 'password is required' in str(e.value)
    # A closed port says the same: nothing is dialled, so nothing is learnt about ports.
    create_server(db, 's_closed', 'redis://127.0.0.1:%d' % free_port())
    list_table(db, 'closed', 's_closed')
    with pytest.raises(psycopg.errors.ProhibitedSqlStatementAttempted):
        db.execute('select * from redis.closed')
    # With a password in its user mapping it connects (the server ignores it here).
    db.execute("alter user mapping for rw_a server s_nopw options (add password 'anything')")
    own_redis.client().config_set('requirepass', 'anything')
    assert rows(db, 'select * from redis.nopw') == [('open',)]


def test_a_non_superusers_wrong_password_is_refused_at_once(db, roles, own_redis):
    """The password probe (a random password that must be refused) goes on a
    connection of its own: Redis 8 and Valkey 8 never answer a second failed
    AUTH on one connection, so a wrong real password behind the probe hung
    until connect_timeout (the matrix's debian13 targets)."""
    own_redis.client().rpush('l', 'x')
    own_redis.client().config_set('requirepass', 'right')
    db.execute('set role rw_a')
    create_server(db, 's_badpw', own_redis.url, connect_timeout='3s')
    db.execute("create user mapping for rw_a server s_badpw options (password 'not-it')")
    list_table(db, 'badpw', 's_badpw')
    with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification) as e:
        db.execute('select * from redis.badpw')
    assert 'not-it' not in str(e.value)
    db.execute("alter user mapping for rw_a server s_badpw options (set password 'right')")
    assert rows(db, 'select * from redis.badpw') == [('x',)]


def test_unix_sockets_are_for_superusers_unless_waived(db, roles, own_redis):
    own_redis.client().rpush('l', 'local')
    db.execute('set role rw_a')
    create_server(db, 's_unix', 'unix://%s' % own_redis.socket)
    db.execute("create user mapping for rw_a server s_unix options (password 'x')")
    list_table(db, 'unix_l', 's_unix')
    with pytest.raises(psycopg.errors.ProhibitedSqlStatementAttempted) as e:
        db.execute('select * from redis.unix_l')
    assert 'unix socket' in str(e.value)
    # Only a superuser may waive it.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("alter user mapping for rw_a server s_unix options (add password_required 'false')")
    db.execute('reset role')
    db.execute("alter user mapping for rw_a server s_unix options (drop password, add password_required 'false')")
    db.execute('set role rw_a')
    assert rows(db, 'select * from redis.unix_l') == [('local',)]


# -- files are superuser-only (item 4) ---------------------------------------

@pytest.mark.parametrize('option', ['tls_ca_file', 'tls_cert_file', 'tls_key_file'])
def test_file_options_are_superuser_only(db, roles, option):
    db.execute('set role rw_a')
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        create_server(db, 's_file', 'rediss://127.0.0.1:6379', **{option: '/etc/ssl/private/x.pem'})


def test_file_options_need_a_superuser_owner_at_connect_time(db, roles, own_redis):
    create_server(db, 's_owned', own_redis.url.replace('redis://', 'redis://:pw@'),
                  tls_ca_file='/etc/ssl/certs/ca-certificates.crt')
    db.execute('alter server s_owned owner to rw_a')
    list_table(db, 'owned_l', 's_owned')
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as e:
        db.execute('select * from redis.owned_l')
    assert 'owner is not a superuser' in str(e.value)


# -- a user name without a password (item 5) ---------------------------------

def test_a_user_without_password_is_refused(db, own_redis):
    db.execute('drop server if exists s_user cascade')
    with pytest.raises(psycopg.errors.FdwInvalidAttributeValue) as e:
        create_server(db, 's_user', 'redis://ro@127.0.0.1:%d' % own_redis.port)
    assert 'without a password' in str(e.value)
    create_server(db, 's_user', own_redis.url)
    with pytest.raises(psycopg.errors.FdwOptionNameNotFound):
        db.execute("create user mapping for current_user server s_user options (user 'ro')")


# -- values PostgreSQL cannot hold (item 7) ----------------------------------

def serve_huge_element(sock, size):
    """Answer TYPE and LRANGE with a list holding one element of size bytes."""
    conn, _ = sock.accept()
    try:
        conn.recv(65536)
        conn.sendall(b'+list\r\n*1\r\n$%d\r\n' % size)
        chunk = b'a' * (1 << 20)
        for _ in range(size >> 20):
            conn.sendall(chunk)
        conn.sendall(b'\r\n')
    except OSError:
        pass                            # the backend hung up: it need not read it all
    finally:
        conn.close()


@pytest.mark.slow
def test_a_value_over_one_gigabyte_is_an_error_not_truncated(db):
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    sock.listen(1)
    thread = threading.Thread(target=serve_huge_element, args=(sock, 1100 << 20), daemon=True)
    thread.start()
    try:
        t = server_with_table(db, 's_huge', 'redis://127.0.0.1:%d' % sock.getsockname()[1],
                              cluster='false')      # it answers one request: no INFO cluster
        with pytest.raises(psycopg.errors.ProgramLimitExceeded) as e:
            db.execute('select length(element) from %s' % t)
        assert '1153433600' in str(e.value) or 'max_value_size' in str(e.value)
    finally:
        thread.join(60)
        sock.close()


# -- option errors and internal errors (item 13) -----------------------------

def test_a_port_of_thousands_of_digits_is_an_option_error(db):
    db.execute('drop server if exists s_port cascade')
    with pytest.raises(psycopg.errors.FdwInvalidAttributeValue) as e:
        create_server(db, 's_port', 'redis://127.0.0.1:%s' % ('9' * 5000))
    assert 'port' in str(e.value)


def test_an_internal_error_keeps_its_traceback(db, own_redis):
    t = server_with_table(db, 's_fault', own_redis.url)
    db.execute("set redis_wrapper.fault = 'scan_next'")
    try:
        with pytest.raises(psycopg.errors.InternalError) as e:
            db.execute('select * from %s' % t)
    finally:
        db.execute('reset redis_wrapper.fault')
    assert 'Traceback' in e.value.diag.message_detail and 'next_batch' in e.value.diag.message_detail


# -- keys in messages (item 15) ----------------------------------------------

@pytest.mark.parametrize('encoding', ['UTF8', 'LATIN1'])
def test_keys_are_escaped_in_messages(db, r, redis_server, encoding):
    r.rpush(b'bad\xff\x01key', b'\xfe not utf-8')
    server_with_table(db, 's_esc', redis_server.url)
    db.execute("create foreign table redis.s_esc_m (key text, items jsonb) server s_esc "
               "options (src_type 'multi_list', src_key 'bad*')")
    db.execute("set client_encoding to '%s'" % encoding)
    with pytest.raises(psycopg.errors.CharacterNotInRepertoire) as e:
        db.execute('select * from redis.s_esc_m')
    assert 'Redis key "bad\\xff\\x01key"' in (e.value.diag.context or '')


def test_a_malformed_url_does_not_echo_what_may_be_a_password(db):
    """Everything before the first :// passes for a scheme in a malformed URL."""
    db.execute('drop server if exists s_badurl cascade')
    with pytest.raises(psycopg.errors.FdwInvalidAttributeValue) as e:
        create_server(db, 's_badurl', 'alice:hunter2://x@127.0.0.1')
    assert 'hunter2' not in str(e.value) and 'scheme' in str(e.value)
