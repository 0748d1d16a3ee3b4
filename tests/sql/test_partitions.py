"""A partitioned table whose partitions are foreign tables on three Redis
servers: read with async foreign scans (async_capable), so every partition's
request is under way at once; the same rows as a local partitioned table,
partition pruning by key, and errors, interrupts and rescans mid-Append.

Concurrency is shown without timing: one server is stopped (SIGSTOP, so it
answers nothing but its kernel still takes the requests), and an async
Append still returns the other partitions' rows, where a sequential one
waits for the stopped server first."""
import contextlib
import os
import signal
import threading
import time

import psycopg
import pytest

from conftest import create_server, rows
from redis_wrapper_tools.servers import Redis
from test_tls import certs, tls_redis  # noqa: F401 (a fixture)

NKEYS = 300
LOCAL = 'public.parts_local'
# Every statement here is bounded, so a wait that is not asynchronous after
# all fails instead of hanging on a stopped server.
BOUND = "set statement_timeout = '60s'"


def make_parts(db, urls, name='parts', pattern='k:*', async_capable=True, **server_options):
    """redis.<name> (key text, value text), partitioned by hash of key over one
    multi_string table of pattern per URL, each on a server of its own.  Not
    a cluster: these tests time the scans' waits for replies, and detecting a
    cluster would add a handshake (whose wait is connect_timeout's)."""
    server_options.setdefault('cluster', 'false')
    db.execute('drop table if exists redis.%s cascade' % name)
    db.execute('create table redis.%s (key text, value text) partition by hash (key)' % name)
    for i, url in enumerate(urls):
        create_server(db, '%s_s%d' % (name, i), url, async_capable=str(async_capable).lower(),
                      **server_options)
        db.execute("create foreign table redis.%s_%d partition of redis.%s "
                   "for values with (modulus %d, remainder %d) server %s_s%d "
                   "options (src_type 'multi_string', src_key '%s')"
                   % (name, i, name, len(urls), i, name, i, pattern))
    return 'redis.' + name


def set_async(db, name, on, n=3):
    for i in range(n):
        db.execute("alter server %s_s%d options (set async_capable '%s')" % (name, i, str(on).lower()))


@pytest.fixture(scope='module')
def parts(pg, testdb, redis_trio):
    """redis.parts over the three servers, filled through partition routing,
    and the same rows in a local partitioned table."""
    for server in redis_trio:
        server.client().flushall()
    with pg.connect(testdb) as db:
        t = make_parts(db, [s.url for s in redis_trio])
        db.execute("insert into %s select 'k:' || lpad(i::text, 3, '0'), 'v' || i "
                   "from generate_series(0, %d) i" % (t, NKEYS - 1))
        db.execute('drop table if exists %s' % LOCAL)
        db.execute('create table %s (key text, value text) partition by hash (key)' % LOCAL)
        for i in range(3):
            db.execute('create table %s_%d partition of %s for values with (modulus 3, remainder %d)'
                       % (LOCAL, i, LOCAL, i))
        db.execute('insert into %s select key, value from %s' % (LOCAL, t))
    yield t
    with pg.connect(testdb) as db:
        db.execute('drop table if exists %s cascade' % t)
        db.execute('drop table if exists %s' % LOCAL)
        for i in range(3):
            db.execute('drop server if exists parts_s%d cascade' % i)


@pytest.fixture(autouse=True)
def bounded(db):
    db.execute(BOUND)


def plan(db, query):
    return '\n'.join(r[0] for r in db.execute('explain (costs off) ' + query))


@contextlib.contextmanager
def stopped(server):
    """server answers nothing (SIGSTOP) until the block ends."""
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)


def wait_for_append(pg, testdb, pid):
    """Until backend pid waits in an async Append's wait set."""
    deadline = time.monotonic() + 60
    with pg.connect(testdb) as other:
        while rows(other, 'select wait_event from pg_stat_activity where pid = %s', pid) != [('AppendReady',)]:
            assert time.monotonic() < deadline, 'backend %d never waited in an async Append' % pid
            time.sleep(0.01)


def in_thread(pg, testdb, query):
    """Run query in a backend of its own, on a thread: (its pid, the outcome list, the thread)."""
    conn = pg.connect(testdb)
    conn.execute(BOUND)
    pid = conn.execute('select pg_backend_pid()').fetchone()[0]
    outcome = []

    def run():
        try:
            outcome.append(conn.execute(query).fetchall())
        except psycopg.Error as e:
            outcome.append(e)
        finally:
            conn.close()

    thread = threading.Thread(target=run)
    thread.start()
    return pid, outcome, thread


@pytest.mark.parametrize('on', [True, False])
def test_the_same_rows_as_a_local_partitioned_table(db, parts, on):
    set_async(db, 'parts', on)
    try:
        assert ('Async Foreign Scan' in plan(db, 'select * from %s' % parts)) == on
        # each row from the partition it belongs to: the one with its number
        q = 'select key, value, right(tableoid::regclass::text, 2) from %s order by key'
        got, want = rows(db, q % parts), rows(db, q % LOCAL)
        assert len(got) == NKEYS and got == want
        assert rows(db, 'select count(*), min(value), max(key) from %s' % parts) == \
            rows(db, 'select count(*), min(value), max(key) from %s' % LOCAL)
        # local quals are applied by each async scan itself
        assert rows(db, "select key from %s where value like 'v1%%' order by key" % parts) == \
            rows(db, "select key from %s where value like 'v1%%' order by key" % LOCAL)
    finally:
        set_async(db, 'parts', True)


def test_explain_shows_async_foreign_scans(db, parts):
    p = plan(db, 'select * from %s' % parts)
    assert p.count('Async Foreign Scan on parts_') == 3, p


def test_async_capable_is_off_by_default_and_validated(db, redis_server):
    create_server(db, 'parts_default', redis_server.url)
    db.execute('create foreign table redis.parts_default_t (key text, value text) server parts_default '
               "options (src_type 'multi_string', src_key 'k:*')")
    db.execute('create table redis.parts_default_p (key text, value text) partition by list (key)')
    db.execute("alter table redis.parts_default_p attach partition redis.parts_default_t default")
    db.execute("create foreign table redis.parts_default_a partition of redis.parts_default_p "
               "for values in ('a') server parts_default options (src_type 'multi_string', src_key 'a')")
    try:
        assert 'Async' not in plan(db, 'select * from redis.parts_default_p')
        # the table's option wins over its server's
        db.execute("alter foreign table redis.parts_default_t options (add async_capable 'true')")
        assert plan(db, 'select * from redis.parts_default_p').count('Async Foreign Scan') == 1
        with pytest.raises(psycopg.errors.SyntaxError, match='async_capable requires a Boolean'):
            db.execute("alter server parts_default options (add async_capable 'maybe')")
    finally:
        db.execute('drop table redis.parts_default_p')
        db.execute('drop server parts_default cascade')


def test_partition_pruning_by_key(db, parts):
    key = 'k:042'
    p = plan(db, "select * from %s where key = '%s'" % (parts, key))
    assert p.count('Foreign Scan on') == 1, p
    (part,), = rows(db, "select tableoid::regclass::text from %s where key = %%s" % LOCAL, key)
    assert 'parts_' + part[-1] in p
    assert rows(db, "select key, value from %s where key = %%s" % parts, key) == [(key, 'v42')]
    two = plan(db, "select * from %s where key in ('k:001', 'k:002', 'k:003')" % parts)
    assert rows(db, "select key from %s where key in ('k:001', 'k:002', 'k:003') order by 1"
                % parts) == [('k:001',), ('k:002',), ('k:003',)]
    assert two.count('Foreign Scan on') <= 3


def test_pruning_of_a_prepared_statement_at_execution(db, parts):
    db.execute('set plan_cache_mode = force_generic_plan')
    db.execute('prepare q(text) as select key, value from %s where key = $1' % parts)
    try:
        p = '\n'.join(r[0] for r in db.execute("explain (costs off) execute q('k:007')"))
        assert 'Subplans Removed: 2' in p, p
        for i in (7, 150, 299):
            assert rows(db, "execute q('k:%03d')" % i) == [('k:%03d' % i, 'v%d' % i)]
        assert rows(db, "execute q('nope')") == []
    finally:
        db.execute('deallocate q')
        db.execute('reset plan_cache_mode')


def test_limit_over_an_async_append(db, redis_trio, parts):
    assert 'Async Foreign Scan' in plan(db, 'select * from %s limit 5' % parts)
    got = rows(db, 'select key, value from %s limit 5' % parts)
    assert len(got) == 5 and len(set(got)) == 5
    assert set(got) <= set(rows(db, 'select key, value from %s' % LOCAL))
    # scans left mid-reply are not pooled: the next query reads from the start
    assert rows(db, 'select count(*) from %s' % parts) == [(NKEYS,)]


def test_a_stopped_server_does_not_hold_up_the_others(db, redis_trio, parts):
    """The stopped server got its request but answers nothing: the async Append
    returns the other partitions' rows; a sequential one waits for it first."""
    assert rows(db, 'select count(*) from %s' % parts) == [(NKEYS,)]    # connections pooled
    with stopped(redis_trio[0]):
        got = rows(db, 'select tableoid::regclass::text from %s limit 10' % parts)
        assert len(got) == 10 and 'redis.parts_0' not in {g[0] for g in got}
        set_async(db, 'parts', False)
        try:
            db.execute("set statement_timeout = '500ms'")
            with pytest.raises(psycopg.errors.QueryCanceled):
                db.execute('select tableoid::regclass::text from %s limit 10' % parts)
        finally:
            db.execute(BOUND)
            set_async(db, 'parts', True)
    assert rows(db, 'select count(*) from %s' % parts) == [(NKEYS,)]


@pytest.mark.parametrize('how', ['statement_timeout', 'cancel'])
def test_interrupts_reach_an_async_append_waiting(pg, testdb, db, redis_trio, parts, how):
    assert rows(db, 'select count(*) from %s' % parts) == [(NKEYS,)]
    with stopped(redis_trio[1]):
        if how == 'statement_timeout':
            db.execute("set statement_timeout = '300ms'")
            with pytest.raises(psycopg.errors.QueryCanceled):
                db.execute('select count(*) from %s' % parts)
            db.execute(BOUND)
        else:
            pid, outcome, thread = in_thread(pg, testdb, 'select count(*) from %s' % parts)
            wait_for_append(pg, testdb, pid)
            db.execute('select pg_cancel_backend(%s)', (pid,))
            thread.join(30)
            assert isinstance(outcome[0], psycopg.errors.QueryCanceled), outcome
    assert rows(db, 'select count(*) from %s' % parts) == [(NKEYS,)]


def test_a_server_lost_mid_append_is_a_clear_error(pg, testdb, db, own_redis, redis_trio):
    """The partition on own_redis dies while the Append waits for it, after
    the other partitions' rows were read."""
    t = make_parts(db, [own_redis.url, redis_trio[1].url, redis_trio[2].url], name='lost',
                   pattern='lost:*')
    db.execute("insert into %s select 'lost:' || i, 'v' from generate_series(1, 60) i" % t)
    try:
        os.kill(own_redis.proc.pid, signal.SIGSTOP)
        pid, outcome, thread = in_thread(pg, testdb, 'select count(*) from %s' % t)
        wait_for_append(pg, testdb, pid)
        own_redis.proc.kill()
        own_redis.proc.wait()
        thread.join(30)
        error = outcome[0]
        assert isinstance(error, psycopg.errors.ConnectionFailure), error
        assert 'Redis at 127.0.0.1:%d' % own_redis.port in str(error)
        assert 'lost_0' in str(error) or 'lost_s0' in str(error)
        # the backend goes on: the lost server's partition is a clear error, the others read
        with pytest.raises(psycopg.Error) as e:
            db.execute('select count(*) from %s' % t)
        assert e.value.sqlstate == 'HV00N'      # fdw_unable_to_establish_connection
        alive = rows(db, 'select key from redis.lost_1 union all select key from redis.lost_2')
        assert 0 < len(alive) < 60
        assert rows(db, 'select value from %s where key = %%s' % t, alive[0][0]) == [('v',)]
    finally:
        db.execute('delete from redis.lost_1')
        db.execute('delete from redis.lost_2')
        db.execute('drop table %s cascade' % t)
        for i in range(3):
            db.execute('drop server lost_s%d cascade' % i)


def test_wrong_type_in_one_partition_is_a_clear_error(db, redis_trio, parts):
    """A partition whose key holds another type fails the statement, naming
    it, and the backend stays usable."""
    r = redis_trio[2].client()
    r.rpush('wrong:l', 'x')
    db.execute("create foreign table redis.parts_wrong (key text, value text) server parts_s2 "
               "options (src_type 'hash', src_key 'wrong:l', async_capable 'true')")
    db.execute('create table redis.parts_mixed (key text, value text) partition by list (key)')
    try:
        db.execute("alter table redis.parts_mixed attach partition redis.parts_wrong for values in ('w')")
        db.execute("create foreign table redis.parts_mixed_ok partition of redis.parts_mixed default "
                   "server parts_s0 options (src_type 'multi_string', src_key 'k:*', async_capable 'true')")
        assert plan(db, 'select * from redis.parts_mixed').count('Async Foreign Scan') == 2
        with pytest.raises(psycopg.Error) as e:
            db.execute('select count(*) from redis.parts_mixed')
        assert 'parts_wrong' in str(e.value) and 'wrong:l' in str(e.value)
        assert rows(db, 'select count(*) from %s' % parts) == [(NKEYS,)]
    finally:
        db.execute('drop table redis.parts_mixed')
        r.delete('wrong:l')


def test_rescans_of_an_async_append_in_a_nested_loop(db, parts):
    """The inner side of a nested loop: each outer row rescans the Append
    (parameterized by key: pruned at run time; or whole)."""
    db.execute('set enable_hashjoin = off')
    db.execute('set enable_mergejoin = off')
    db.execute('set enable_material = off')
    try:
        outer = "(values ('k:001', 'v1'), ('k:150', 'v150'), ('k:299', 'x'), ('none', 'v7')) o(k, v)"
        for cond in ('p.key = o.k', 'p.value = o.v'):
            q = 'select o.k, p.key, p.value from %s join %%s p on %s order by 1, 2' % (outer, cond)
            p = plan(db, q % parts)
            assert 'Nested Loop' in p and 'Async Foreign Scan' in p, p
            assert rows(db, q % parts) == rows(db, q % LOCAL)
    finally:
        db.execute('reset enable_hashjoin')
        db.execute('reset enable_mergejoin')
        db.execute('reset enable_material')


def test_two_partitions_on_one_server(db, redis_trio):
    """Partitions on the same server each read on a connection of their own."""
    t = make_parts(db, [redis_trio[0].url] * 3, name='same', pattern='same:*')
    try:
        db.execute("insert into %s select 'same:' || i, 'v' || i from generate_series(1, 90) i" % t)
        assert 'Async Foreign Scan' in plan(db, 'select * from %s' % t)
        # every key is on the one server: each partition's pattern reads them all
        assert rows(db, 'select count(*) from %s' % t) == [(270,)]
        assert rows(db, 'select count(*) from (select * from %s limit 100) s' % t) == [(100,)]
    finally:
        db.execute('delete from redis.same_0')
        db.execute('drop table %s cascade' % t)
        for i in range(3):
            db.execute('drop server same_s%d cascade' % i)


def test_command_timeout_holds_while_an_async_append_waits(db, redis_trio, parts):
    """The Append's wait is PostgreSQL's, but a stopped server's partition
    still fails after its server's command_timeout, as a sequential scan would."""
    assert rows(db, 'select count(*) from %s' % parts) == [(NKEYS,)]
    db.execute("alter server parts_s2 options (add command_timeout '200ms')")
    try:
        with stopped(redis_trio[2]):
            with pytest.raises(psycopg.errors.ConnectionFailure,
                               match=r'did not answer within 200 ms \(command_timeout\)'):
                db.execute('select count(*) from %s' % parts)
    finally:
        db.execute(BOUND)
        db.execute("alter server parts_s2 options (drop command_timeout)")
    assert rows(db, 'select count(*) from %s' % parts) == [(NKEYS,)]


@pytest.fixture(scope='module')
def handshakes(certs):
    """A TLS server and one that wants a password: their handshakes' replies
    are waited for by the Append too, on a backend's first query."""
    tls = tls_redis(certs, 'no')
    secret = Redis(password='s3cret').start()
    yield tls, secret
    tls.stop()
    secret.stop()


def test_tls_and_auth_handshakes_under_an_async_append(pg, testdb, db, certs, handshakes, redis_trio):
    tls, secret = handshakes
    t = make_parts(db, [redis_trio[0].url, 'rediss://localhost:%d' % tls.tls_port,
                        'redis://:s3cret@127.0.0.1:%d' % secret.port], name='hs', pattern='hs:*')
    db.execute("alter server hs_s1 options (add tls_ca_file '%s')" % certs['ca.crt'])
    try:
        db.execute("insert into %s select 'hs:' || i, 'v' || i from generate_series(1, 30) i" % t)
        assert tls.client().dbsize() > 0 and secret.client().dbsize() > 0
        with pg.connect(testdb) as fresh:       # no pooled connection: every handshake is async
            assert 'Async Foreign Scan' in plan(fresh, 'select * from %s' % t)
            assert rows(fresh, 'select count(*), count(distinct key) from %s' % t) == [(30, 30)]
    finally:
        db.execute('delete from %s' % t)
        db.execute('drop table %s cascade' % t)
        for i in range(3):
            db.execute('drop server hs_s%d cascade' % i)


def test_a_cursor_left_mid_append(db, parts):
    """Scans left waiting for replies when a cursor closes are let go of:
    their connections are not pooled mid-reply, and the next read is whole."""
    db.execute('begin')
    db.execute('declare c cursor for select key from %s' % parts)
    got = db.execute('fetch 7 from c').fetchall()
    assert len(got) == 7
    db.execute('close c')
    db.execute('commit')
    assert rows(db, 'select count(*), count(distinct key) from %s' % parts) == [(NKEYS, NKEYS)]
