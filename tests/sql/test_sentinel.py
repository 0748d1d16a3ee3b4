"""Sentinel: redis+sentinel:// URLs find the primary through the sentinels,
verify it (ROLE), and find it again after a failover."""
import psycopg
import pytest
from psycopg import sql

from conftest import create_server, rows
from core.scripted_redis import ScriptedRedis, error, resp, status
from fake_servers import FakeServer
from redis_wrapper_tools.servers import free_port


def sentinel_table(db, name, url, key='l', **options):
    """Server <name> with conn_url url and options, and its list table redis.<name>_l on key."""
    create_server(db, name, url, **options)
    db.execute(sql.SQL("create foreign table redis.{} (element text) server {} "
                       "options (src_type 'list', src_key {})").format(
        sql.Identifier(name + '_l'), sql.Identifier(name), sql.Literal(key)))
    return 'redis.%s_l' % name


def mapping(db, server, **options):
    db.execute(sql.SQL('create user mapping for current_user server {} options ({})').format(
        sql.Identifier(server), sql.SQL(', ').join(
            sql.SQL('{} {}').format(sql.Identifier(k), sql.Literal(v)) for k, v in options.items())))


def connection_where(db, server):
    return rows(db, 'select address from redis_wrapper_get_connections() where server_name = %s', server)


@pytest.fixture
def primary(sentinels):
    """A client on the primary of the sentinels' set, with key l emptied."""
    client = sentinels.primary().client()
    client.delete('l', 'big')
    return client


def test_reads_and_writes_go_to_the_primary(db, sentinels, primary):
    primary.rpush('l', 'a', 'b')
    t = sentinel_table(db, 's_rw', sentinels.url())
    assert rows(db, 'select element from %s' % t) == [('a',), ('b',)]
    db.execute("insert into %s values ('c')" % t)
    assert primary.lrange('l', 0, -1) == [b'a', b'b', b'c']
    assert connection_where(db, 's_rw') == [('127.0.0.1:%d' % sentinels.primary_port(),)]


def test_db_in_the_url_is_selected_on_the_primary(db, sentinels):
    client = sentinels.primary().client(db=3)
    client.delete('l')
    client.rpush('l', 'in-db-3')
    t = sentinel_table(db, 's_db', sentinels.url() + '/3')
    assert rows(db, 'select element from %s' % t) == [('in-db-3',)]


def test_a_primary_name_no_sentinel_knows(db, sentinels):
    t = sentinel_table(db, 's_unknown', sentinels.url().rsplit('/', 1)[0] + '/nosuchprimary',
                       connect_timeout='2s')
    with pytest.raises(psycopg.errors.FdwUnableToEstablishConnection) as e:
        db.execute('select * from %s' % t)
    assert 'nosuchprimary' in str(e.value)
    assert 'does not know' in str(e.value)


def test_all_sentinels_down_is_a_connection_error(db):
    ports = [free_port(), free_port()]
    t = sentinel_table(db, 's_down', 'redis+sentinel://127.0.0.1:%d,127.0.0.1:%d/rwmain' % tuple(ports),
                       connect_timeout='2s')
    with pytest.raises(psycopg.errors.FdwUnableToEstablishConnection) as e:
        db.execute('select * from %s' % t)
    text = str(e.value)
    assert 'could not find the primary "rwmain" through the sentinels' in text
    assert all('127.0.0.1:%d' % p in text for p in ports)


def test_a_silent_sentinel_costs_connect_timeout_not_the_statement(db):
    """A sentinel that accepts and never answers: the search ends at
    connect_timeout (the statement's own timeout is far longer)."""
    with FakeServer(reply=None) as fake:
        t = sentinel_table(db, 's_silent', 'redis+sentinel://127.0.0.1:%d/rwmain' % fake.port,
                           connect_timeout='1s')
        db.execute("set statement_timeout = '60s'")
        with pytest.raises(psycopg.errors.FdwUnableToEstablishConnection) as e:
            db.execute('select * from %s' % t)
    assert '127.0.0.1:%d' % fake.port in str(e.value)


def addr_reply(port):
    port = str(port).encode()
    return b'*2\r\n$9\r\n127.0.0.1\r\n$%d\r\n%s\r\n' % (len(port), port)


def test_a_sentinel_naming_a_replica_is_not_believed(db, sentinels, primary):
    with FakeServer(reply=addr_reply(sentinels.replica().port)) as fake:
        t = sentinel_table(db, 's_liar', 'redis+sentinel://127.0.0.1:%d/%s' % (fake.port, sentinels.name),
                           connect_timeout='2s')
        with pytest.raises(psycopg.errors.FdwUnableToEstablishConnection) as e:
            db.execute('select * from %s' % t)
    assert 'is not a primary' in str(e.value)
    assert '127.0.0.1:%d' % sentinels.replica().port in str(e.value)


def test_the_next_sentinel_is_asked_after_one_named_a_replica(db, sentinels, primary):
    primary.rpush('l', 'from-the-primary')
    with FakeServer(reply=addr_reply(sentinels.replica().port)) as fake:
        t = sentinel_table(db, 's_liar_first', 'redis+sentinel://127.0.0.1:%d,%s/%s'
                           % (fake.port, sentinels.hosts, sentinels.name))
        assert rows(db, 'select element from %s' % t) == [('from-the-primary',)]


@pytest.mark.parametrize('reply', [
    b'*2\r\n$9\r\n127.0.0.1\r\n$5\r\n99999\r\n',            # no such port
    b'*2\r\n$9\r\n127.0.0.1\r\n$3\r\nabc\r\n',              # not a port
    b'*1\r\n$9\r\n127.0.0.1\r\n',                           # no port
    b'$9\r\n127.0.0.1\r\n',                                 # not an array
    b'-ERR no such command\r\n',
])
def test_a_hostile_sentinel_reply_is_a_clear_error(db, reply):
    with FakeServer(reply=reply) as fake:
        t = sentinel_table(db, 's_hostile', 'redis+sentinel://127.0.0.1:%d/rwmain' % fake.port,
                           connect_timeout='2s')
        with pytest.raises(psycopg.errors.FdwUnableToEstablishConnection) as e:
            db.execute('select * from %s' % t)
    assert 'through the sentinels' in str(e.value)


# -- authentication ---------------------------------------------------------

def test_sentinel_password_from_the_user_mapping(db, sentinels_with_password):
    s = sentinels_with_password
    s.primary().client().delete('l')
    s.primary().client().rpush('l', 'authed')
    t = sentinel_table(db, 's_auth', s.url())
    mapping(db, 's_auth', sentinel_password='sentinel-pw')
    assert rows(db, 'select element from %s' % t) == [('authed',)]


@pytest.mark.parametrize('options', [{'sentinel_password': 'wr0ngsecret'}, {}])
def test_wrong_or_missing_sentinel_password(db, sentinels_with_password, options):
    t = sentinel_table(db, 's_badauth', sentinels_with_password.url(), connect_timeout='2s')
    if options:
        mapping(db, 's_badauth', **options)
    with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification) as e:
        db.execute('select * from %s' % t)
    text = ' '.join(filter(None, [str(e.value), e.value.diag.message_detail, e.value.diag.message_hint]))
    assert 'sentinel' in text
    assert 'wr0ngsecret' not in text
    assert 'sentinel_password' in e.value.diag.message_hint


def test_sentinel_user_needs_a_sentinel_password(db, sentinels):
    create_server(db, 's_user', sentinels.url())
    with pytest.raises(psycopg.errors.FdwOptionNameNotFound) as e:
        mapping(db, 's_user', sentinel_user='watcher')
    assert 'sentinel_password' in str(e.value)


def test_sentinel_password_is_a_user_mapping_option(db, sentinels):
    """A secret: in user mappings, like password; sentinel_user may sit on the server."""
    with pytest.raises(psycopg.errors.FdwInvalidOptionName) as e:
        create_server(db, 's_srvpw', sentinels.url(), sentinel_password='x')
    assert 'sentinel_user' in e.value.diag.message_hint
    assert 'sentinel_password' not in e.value.diag.message_hint


def test_a_statement_timeout_interrupts_a_silent_sentinel(db):
    with FakeServer(reply=None) as fake:
        t = sentinel_table(db, 's_cancel', 'redis+sentinel://127.0.0.1:%d/rwmain' % fake.port,
                           connect_timeout='0')
        db.execute("set statement_timeout = '500ms'")
        with pytest.raises(psycopg.errors.QueryCanceled):
            db.execute('select * from %s' % t)


def test_non_superusers_need_a_sentinel_password(db, sentinels, roles):
    t = sentinel_table(db, 's_nonsuper', sentinels.url())
    db.execute('grant usage on foreign server s_nonsuper to rw_a')
    db.execute('grant select on %s to rw_a' % t)
    db.execute("create user mapping for rw_a server s_nonsuper options (password 'data-pw')")
    db.execute('set role rw_a')
    with pytest.raises(psycopg.errors.ProhibitedSqlStatementAttempted) as e:
        db.execute('select * from %s' % t)
    assert 'sentinel password is required' in str(e.value)


# -- failovers ----------------------------------------------------------------

def test_failover_between_queries(db, sentinels, primary):
    primary.rpush('l', 'before')
    t = sentinel_table(db, 's_fo', sentinels.url())
    assert rows(db, 'select element from %s' % t) == [('before',)]
    new = sentinels.failover()
    # The pooled connection went to the old primary, a replica now.
    assert rows(db, 'select element from %s' % t) == [('before',)]
    db.execute("insert into %s values ('after')" % t)
    assert new.client().lrange('l', 0, -1) == [b'before', b'after']
    assert connection_where(db, 's_fo') == [('127.0.0.1:%d' % new.port,)]


def test_failover_before_the_first_row_is_transparent(db, sentinels, primary):
    primary.rpush('l', 'x', 'y')
    t = sentinel_table(db, 's_fo_open', sentinels.url())
    rows(db, 'select element from %s' % t)
    db.execute('begin')
    db.execute('declare c cursor for select element from %s' % t)
    sentinels.failover()
    assert rows(db, 'fetch all from c') == [('x',), ('y',)]
    db.execute('commit')


def test_failover_in_the_middle_of_a_scan(db, sentinels, primary):
    """Rows already went out: a clear error, and the next query works."""
    primary.rpush('big', *['v%d' % i for i in range(5000)])
    t = sentinel_table(db, 's_fo_mid', sentinels.url(), key='big')
    db.execute('alter foreign table %s options (add fetch \'scan\')' % t)
    db.execute('begin')
    db.execute('declare c cursor for select element from %s' % t)
    assert len(rows(db, 'fetch 10 from c')) == 10
    sentinels.failover()
    with pytest.raises(psycopg.errors.ConnectionFailure) as e:
        rows(db, 'fetch all from c')
    assert 'after rows were returned' in str(e.value)
    db.execute('rollback')
    assert rows(db, 'select count(*) from %s' % t) == [(5000,)]


def test_a_readonly_reply_sends_the_next_statement_to_the_sentinels(db):
    """A primary that turned replica under an open connection answers writes
    with READONLY: a clear error, and the next statement asks the sentinels
    again rather than dialling the same server."""
    def script(args):
        verb = args[0].upper()
        if verb == b'SENTINEL':
            return resp([b'127.0.0.1', str(fake.port).encode()])
        if verb == b'ROLE':
            return resp([b'master', 0, []])
        if verb in (b'WATCH', b'MULTI'):
            return resp(status(b'OK'))
        if verb == b'EXEC':
            return resp(error(b'EXECABORT Transaction discarded because of previous errors.'))
        if verb == b'TYPE':
            return resp(status(b'list'))
        if verb == b'LRANGE':
            return resp([])
        return resp(error(b"READONLY You can't write against a read only replica."))
    fake = ScriptedRedis(script)
    fake.start()
    try:
        t = sentinel_table(db, 's_readonly', 'redis+sentinel://127.0.0.1:%d/rwmain' % fake.port)
        with pytest.raises(psycopg.errors.FdwError) as e:
            db.execute("insert into %s values ('x')" % t)
        assert 'READONLY' in str(e.value)
        assert 'replica' in e.value.diag.message_hint
        rows(db, 'select * from %s' % t)
        asked = [c[0].upper() for c in fake.commands if c[0].upper() in (b'SENTINEL', b'ROLE')]
        assert asked == [b'SENTINEL', b'ROLE', b'SENTINEL', b'ROLE']
    finally:
        fake.stop()
