"""Attacks on the extension as a hostile database role and as a hostile Redis
server (review r2): each was a hole when written, and fails on the code before
its fix."""
import psycopg
import pytest
from psycopg import sql

from conftest import create_server, rows
from fake_servers import FakeServer

SECRET = 'adv-s3cret'


def foreign_table(db, name, server, src_type='list', key='l', columns='element text'):
    db.execute(sql.SQL("create foreign table redis.{} ({}) server {} "
                       "options (src_type {}, src_key {})").format(
        sql.Identifier(name), sql.SQL(columns), sql.Identifier(server),
        sql.Literal(src_type), sql.Literal(key)))
    return 'redis.' + name


@pytest.fixture
def acl_redis(own_redis):
    """alice may read everything, bob may only authenticate; the default user is off."""
    c = own_redis.client()
    c.execute_command('ACL', 'SETUSER', 'alice', 'on', '>alice-' + SECRET, '~*', '+@all')
    c.execute_command('ACL', 'SETUSER', 'bob', 'on', '>bob-' + SECRET, '~*', '-@all', '+auth')
    c.rpush('l', 'alice-data', 'more')
    c.execute_command('ACL', 'SETUSER', 'default', 'off')
    c.close()
    return own_redis


def mappings(db, server):
    db.execute('grant usage on foreign server %s to rw_a, rw_b' % server)
    db.execute("create user mapping for rw_a server %s options (user 'alice', password %s)"
               % (server, sql.Literal('alice-' + SECRET).as_string(db)))
    db.execute("create user mapping for rw_b server %s options (user 'bob', password %s)"
               % (server, sql.Literal('bob-' + SECRET).as_string(db)))


# -- a hostile role ------------------------------------------------------------

@pytest.mark.parametrize('how', ['url', 'mapping'])
def test_a_nopass_redis_user_does_not_count_as_authenticating(db, roles, own_redis, how):
    # own_redis has no requirepass: its default user is on and nopass, as out of the box.
    own_redis.client().rpush('l', 'only-the-os-user-may-read-this')
    db.execute('set role rw_a')
    if how == 'url':
        create_server(db, 's_adv_nopass', 'redis://default:anything@127.0.0.1:%d' % own_redis.port)
        db.execute('create user mapping for rw_a server s_adv_nopass')
    else:
        create_server(db, 's_adv_nopass', own_redis.url)
        db.execute("create user mapping for rw_a server s_adv_nopass "
                   "options (user 'default', password 'anything')")
    t = foreign_table(db, 'adv_nopass', 's_adv_nopass')
    with pytest.raises(psycopg.errors.ProhibitedSqlStatementAttempted):
        rows(db, 'select * from %s' % t)


def test_a_pushed_count_reads_with_the_view_owners_mapping(db, roles, acl_redis):
    """count(*) is a scan of no relation (scanrelid 0): it must still be checked
    as the view's owner, in a flattened view, a view of a count and a
    SECURITY DEFINER function alike."""
    create_server(db, 's_adv_view', acl_redis.url)
    mappings(db, 's_adv_view')
    db.execute('set role rw_a')
    t = foreign_table(db, 'adv_items', 's_adv_view')
    db.execute('create view redis.adv_view as select * from %s' % t)
    db.execute('create view redis.adv_count as select count(*) from %s' % t)
    db.execute('create function redis.adv_count_fn() returns bigint language sql security definer '
               'as $$ select count(*) from %s $$' % t)
    db.execute('grant select on redis.adv_view, redis.adv_count, %s to rw_b' % t)
    db.execute('set role rw_b')
    plan = [r[0] for r in rows(db, 'explain verbose select count(*) from redis.adv_view')]
    assert '  Redis Command: LLEN "l"' in plan and not any('Aggregate' in p for p in plan)
    # bob may not run LLEN: a count can only come through alice's mapping.
    assert rows(db, 'select count(*) from redis.adv_view') == [(2,)]
    assert rows(db, 'select * from redis.adv_count') == [(2,)]
    assert rows(db, 'select redis.adv_count_fn()') == [(2,)]
    with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification):
        rows(db, 'select count(*) from %s' % t)


def inherited_child(db, parent_owner, child_owner, server):
    db.execute('create table redis.adv_parent (element text)')
    t = foreign_table(db, 'adv_child', server)
    db.execute('alter foreign table %s inherit redis.adv_parent' % t)
    db.execute('alter table redis.adv_parent owner to %s' % parent_owner)
    db.execute('alter foreign table %s owner to %s' % (t, child_owner))
    return t


def test_analyze_reads_a_foreign_child_with_its_own_owners_mapping(db, roles, acl_redis):
    create_server(db, 's_adv_inh', acl_redis.url)
    mappings(db, 's_adv_inh')
    inherited_child(db, 'rw_a', 'rw_b', 's_adv_inh')
    db.execute('set role rw_a')
    # The child is rw_b's, whose mapping (bob) may not read it.
    with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification):
        db.execute('analyze redis.adv_parent')


def test_analyze_of_a_superusers_parent_keeps_the_childs_owner_to_the_rules(db, roles, own_redis):
    own_redis.client().rpush('l', 'os-user-only')
    db.execute('set role rw_b')
    create_server(db, 's_adv_unix', 'unix://%s' % own_redis.socket)
    db.execute("create user mapping for rw_b server s_adv_unix options (password 'x')")
    db.execute('reset role')
    inherited_child(db, 'current_user', 'rw_b', 's_adv_unix')
    with pytest.raises(psycopg.errors.ProhibitedSqlStatementAttempted):
        db.execute('analyze redis.adv_parent')


# -- a hostile Redis -----------------------------------------------------------

def test_a_negative_length_is_a_protocol_error_not_a_count(db):
    with FakeServer(reply=b'+list\r\n:-5\r\n') as fake:
        create_server(db, 's_adv_cnt', fake.url)
        t = foreign_table(db, 'adv_cnt', 's_adv_cnt')
        with pytest.raises(psycopg.errors.ProtocolViolation):
            rows(db, 'select count(*) from %s' % t)


def test_hostile_lengths_are_protocol_errors(db):
    for reply in [b'+list\r\n:99999999999999999999\r\n', b'+list\r\n$1\r\n5\r\n']:
        with FakeServer(reply=reply) as fake:
            create_server(db, 's_adv_cnt', fake.url)
            t = foreign_table(db, 'adv_cnt', 's_adv_cnt')
            with pytest.raises(psycopg.errors.ProtocolViolation):
                rows(db, 'select count(*) from %s' % t)


def obeys(db, query, ok):
    """query's rows satisfy ok, or the hostile reply was a protocol error."""
    try:
        result = rows(db, query)
    except psycopg.errors.ProtocolViolation:
        return True
    return ok(result)


STREAM_ENTRY = b'*2\r\n$3\r\n%s\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n'


@pytest.mark.parametrize('reply', [b'+stream\r\n*1\r\n' + STREAM_ENTRY % b'2-2',
                                   b'+stream\r\n*2\r\n' + (STREAM_ENTRY % b'1-1') * 2])
def test_a_stream_lookup_keeps_only_the_id_asked_for(db, reply):
    with FakeServer(reply=reply) as fake:
        create_server(db, 's_adv_st', fake.url)
        t = foreign_table(db, 'adv_st', 's_adv_st', 'stream', 'k', 'id text, items jsonb')
        assert obeys(db, "select id from %s where id = '1-1'" % t, lambda r: r in ([], [('1-1',)]))
        assert obeys(db, "select count(*) from %s where id = '1-1'" % t, lambda r: r[0][0] in (0, 1))


def test_a_pushed_prefix_keeps_only_keys_with_that_prefix(db):
    reply = b'*2\r\n$1\r\n0\r\n*1\r\n$2\r\nzz\r\n*1\r\n$1\r\nv\r\n'
    with FakeServer(reply=reply) as fake:
        create_server(db, 's_adv_pfx', fake.url)
        t = foreign_table(db, 'adv_pfx', 's_adv_pfx', 'multi_list', '*', 'key text, items jsonb')
        assert obeys(db, "select key from %s where key like 'ab%%'" % t,
                     lambda r: all(k.startswith('ab') for k, in r))
