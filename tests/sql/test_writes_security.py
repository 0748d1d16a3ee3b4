"""Writes (issue 12) obey the credential rules of reads (tests/sql/test_security.py):
a non-superuser must send a password and may not use a unix socket, a view's
writes use its owner's user mapping, also when applied at COMMIT; a Redis user
refused a write (NOPERM) gets 28000 and nothing is written."""
import psycopg
import pytest
from psycopg import sql

from conftest import create_server, rows

SECRET = 'w-sec-r3t-pw'


def set_table(db, name, server, key='s', transactional=False):
    db.execute(sql.SQL("create foreign table redis.{} (element text) server {} "
                       "options (src_type 'set', src_key {}{})").format(
        sql.Identifier(name), sql.Identifier(server), sql.Literal(key),
        sql.SQL(", transactional 'true'" if transactional else '')))
    return 'redis.' + name


def rollback(db):
    if db.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        db.execute('rollback')          # what a failed test left open


@pytest.fixture(autouse=True)
def cleanup(db):
    """Torn down last: the servers a test made as superuser."""
    yield
    rollback(db)
    db.execute('reset role')
    db.execute('drop server if exists wt_view, wt_acl cascade')


@pytest.fixture
def roles(cleanup, roles, db):
    """conftest's roles, torn down after a rollback."""
    yield roles
    rollback(db)


WRITES = ["insert into {} values ('new')", "update {} set element = 'new' where element = 'a'",
          "delete from {} where element = 'a'", "truncate {}"]


@pytest.mark.parametrize('stmt', WRITES, ids=['insert', 'update', 'delete', 'truncate'])
def test_a_non_superuser_writing_must_send_a_password(db, roles, own_redis, stmt):
    c = own_redis.client()
    c.sadd('s', 'a')
    db.execute('set role rw_a')
    create_server(db, 'wt_nopw', own_redis.url)
    db.execute('create user mapping for rw_a server wt_nopw')
    t = set_table(db, 'w_nopw_s', 'wt_nopw')
    with pytest.raises(psycopg.errors.ProhibitedSqlStatementAttempted) as e:
        db.execute(stmt.format(t))
    assert 'password is required' in str(e.value)
    assert c.smembers('s') == {b'a'}
    # With a password it writes.
    db.execute("alter user mapping for rw_a server wt_nopw options (add password 'pw')")
    c.config_set('requirepass', 'pw')
    db.execute(stmt.format(t))
    c = own_redis.client(password='pw')
    assert c.smembers('s') != {b'a'}


def test_a_non_superusers_transactional_write_must_send_a_password(db, roles, own_redis):
    c = own_redis.client()
    c.sadd('s', 'a')
    db.execute('set role rw_a')
    create_server(db, 'wt_nopw', own_redis.url)
    db.execute('create user mapping for rw_a server wt_nopw')
    t = set_table(db, 'w_nopw_s', 'wt_nopw', transactional=True)
    with pytest.raises(psycopg.errors.ProhibitedSqlStatementAttempted):
        db.execute('begin')
        db.execute("insert into %s values ('new')" % t)     # may be refused now or at COMMIT
        db.execute('commit')
    db.execute('rollback')
    assert c.smembers('s') == {b'a'}


def test_a_non_superuser_may_not_write_through_a_unix_socket(db, roles, own_redis):
    c = own_redis.client()
    db.execute('set role rw_a')
    create_server(db, 'wt_unix', 'unix://%s' % own_redis.socket)
    db.execute("create user mapping for rw_a server wt_unix options (password 'x')")
    t = set_table(db, 'w_unix_s', 'wt_unix')
    with pytest.raises(psycopg.errors.ProhibitedSqlStatementAttempted) as e:
        db.execute("insert into %s values ('new')" % t)
    assert 'unix socket' in str(e.value)
    assert c.exists('s') == 0


@pytest.fixture
def acl_redis(own_redis):
    c = own_redis.client()
    c.execute_command('ACL', 'SETUSER', 'alice', 'on', '>alice-' + SECRET, '~*', '+@all')
    c.execute_command('ACL', 'SETUSER', 'bob', 'on', '>bob-' + SECRET, '~*', '-@all', '+auth')
    c.execute_command('ACL', 'SETUSER', 'reader', 'on', '>reader-' + SECRET, '~*', '-@all', '+auth',
                      '+@read', '+@connection')
    c.execute_command('ACL', 'SETUSER', 'nowrite', 'on', '>nowrite-' + SECRET, '~*', '-@all', '+auth',
                      '+@read', '+@connection', '+@transaction')
    c.execute_command('ACL', 'SETUSER', 'narrow', 'on', '>narrow-' + SECRET, '~mine:*', '+@all')
    c.execute_command('ACL', 'SETUSER', 'default', 'off')
    c.close()
    own_redis.admin = own_redis.client(username='alice', password='alice-' + SECRET)
    yield own_redis
    own_redis.admin.close()


def mapping(db, role, server, user):
    db.execute(sql.SQL('create user mapping for {} server {} options (user {}, password {})').format(
        sql.SQL(role), sql.Identifier(server), sql.Literal(user), sql.Literal(user + '-' + SECRET)))


@pytest.mark.parametrize('transactional', [False, True], ids=['statement', 'transactional'])
def test_a_view_writes_with_its_owners_user_mapping(db, roles, acl_redis, transactional):
    acl_redis.admin.sadd('s', 'a', 'b')
    create_server(db, 'wt_view', 'redis://127.0.0.1:%d' % acl_redis.port)
    db.execute('grant usage on foreign server wt_view to rw_a, rw_b')
    mapping(db, 'rw_a', 'wt_view', 'alice')
    mapping(db, 'rw_b', 'wt_view', 'bob')
    db.execute('set role rw_a')
    t = set_table(db, 'w_view_s', 'wt_view', transactional=transactional)
    db.execute('create view redis.w_view_v as select * from %s' % t)
    db.execute('grant select, insert, update, delete on redis.w_view_v, %s to rw_b' % t)
    db.execute('set role rw_b')
    # bob may not even AUTH-and-read: every write here goes through alice's mapping.
    db.execute('begin')
    db.execute("insert into redis.w_view_v values ('new')")
    db.execute("update redis.w_view_v set element = 'A' where element = 'a'")
    db.execute("delete from redis.w_view_v where element = 'b'")
    db.execute('commit')
    assert acl_redis.admin.smembers('s') == {b'A', b'new'}
    # Not through the view: bob's own mapping, refused by Redis.
    with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification):
        db.execute('begin')
        db.execute("insert into %s values ('direct')" % t)
        db.execute('commit')
    db.execute('rollback')
    assert acl_redis.admin.smembers('s') == {b'A', b'new'}


@pytest.mark.parametrize('user', ['reader', 'nowrite', 'narrow'])
def test_a_redis_user_refused_the_write_is_28000_and_nothing_is_written(db, acl_redis, user):
    acl_redis.admin.sadd('s', 'a')
    create_server(db, 'wt_acl', 'redis://127.0.0.1:%d' % acl_redis.port)
    mapping(db, 'current_user', 'wt_acl', user)
    t = set_table(db, 'w_acl_s', 'wt_acl')
    if user != 'narrow':
        assert sorted(rows(db, 'select * from %s' % t)) == [('a',)]        # reads are allowed
    for stmt in ("insert into {} values ('n1'), ('n2')", "delete from {}", "truncate {}"):
        with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification):
            db.execute(stmt.format(t))
        assert acl_redis.admin.smembers('s') == {b'a'}


def test_a_narrow_user_writes_its_own_keys(db, acl_redis):
    create_server(db, 'wt_acl', 'redis://127.0.0.1:%d' % acl_redis.port)
    mapping(db, 'current_user', 'wt_acl', 'narrow')
    t = set_table(db, 'w_acl_s', 'wt_acl', 'mine:s')
    db.execute("insert into %s values ('n1'), ('n2')" % t)
    assert acl_redis.admin.smembers('mine:s') == {b'n1', b'n2'}
