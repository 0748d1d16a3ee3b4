"""Writes, the PostgreSQL side: the options batch_size and transactional, EXPLAIN of a
write, the row identity junk columns, batches and COPY, Datums as Redis values, the
transaction callbacks (PREPARE, savepoints) and a failed statement leaving nothing.
What each source type does with a write is tested in the per-source write tests."""
import math
import threading

import psycopg
import pytest
from psycopg import sql

from conftest import create_server, rows, table
from redis_wrapper_tools.servers import Redis


def write_table(db, name, src_type, src_key, columns=None, **options):
    """table() with extra table options."""
    t = table(db, name, src_type, src_key, columns)
    if options:
        db.execute(sql.SQL('alter foreign table {} options ({})').format(
            sql.SQL(t), sql.SQL(', ').join(
                sql.SQL('add {} {}').format(sql.Identifier(k), sql.Literal(str(v)))
                for k, v in options.items())))
    return t


def plan_text(db, statement):
    return '\n'.join(row[0] for row in rows(db, 'explain ' + statement))


# -- options -------------------------------------------------------------------

def test_write_options_on_server_and_table(db, redis_server):
    create_server(db, 'w_srv', redis_server.url, batch_size='500', transactional='true')
    db.execute("create foreign table redis.w_srv_t (element text) server w_srv "
               "options (src_type 'list', src_key 'k', batch_size '1', transactional 'false')")


@pytest.mark.parametrize('value', ['0', '10001', '-1', 'abc', '1.5', ''])
def test_batch_size_is_1_to_10000(db, value):
    with pytest.raises(psycopg.errors.FdwInvalidAttributeValue) as e:
        write_table(db, 'w_bs', 'list', 'k', batch_size=value)
    assert 'invalid value for option "batch_size"' in str(e.value)
    assert '10000' in e.value.diag.message_hint


def test_transactional_is_a_boolean(db):
    with pytest.raises(psycopg.errors.SyntaxError) as e:
        write_table(db, 'w_tr', 'list', 'k', transactional='sometimes')
    assert 'transactional' in str(e.value)


def test_write_options_are_not_user_mapping_options(db, redis_server):
    create_server(db, 'w_um', redis_server.url)
    with pytest.raises(psycopg.errors.FdwInvalidOptionName):
        db.execute("create user mapping for current_user server w_um options (batch_size '5')")


def test_the_tables_transactional_wins_over_the_servers(db, r, redis_server):
    create_server(db, 'w_tx', redis_server.url, transactional='true')
    db.execute("create foreign table redis.w_tx_t (element text) server w_tx "
               "options (src_type 'list', src_key 'l', transactional 'false')")
    db.execute("create foreign table redis.w_tx_u (element text) server w_tx "
               "options (src_type 'list', src_key 'm')")
    with db.transaction():
        db.execute("insert into redis.w_tx_t values ('now')")
        db.execute("insert into redis.w_tx_u values ('later')")
        assert r.lrange('l', 0, -1) == [b'now']        # statement mode: applied already
        assert r.lrange('m', 0, -1) == []              # the server's transactional
    assert r.lrange('m', 0, -1) == [b'later']


# -- EXPLAIN -------------------------------------------------------------------

def test_explain_shows_the_write_and_when_it_applies(db, r):
    t = table(db, 'w_ex', 'list', 'list1')
    plan = plan_text(db, "insert into %s values ('a')" % t)
    line = [s for s in plan.splitlines() if 'Redis Write:' in s]
    assert len(line) == 1 and 'RPUSH' in line[0] and 'statement end' in line[0]
    t = write_table(db, 'w_ex_tx', 'list', 'list1', transactional='true')
    assert 'commit' in plan_text(db, "delete from %s" % t)
    assert r.keys() == []                                # EXPLAIN writes nothing


def test_explain_verbose_and_analyze_never_show_a_password(db):
    server = Redis(password='s3cr3tpw').start()
    try:
        create_server(db, 'w_pw', server.url.replace('redis://', 'redis://:s3cr3tpw@'))
        db.execute("create foreign table redis.w_pw_t (key text, value text) server w_pw "
                   "options (src_type 'hash', src_key 'h')")
        for prefix in ('explain (verbose) ', 'explain (analyze, verbose, format json) '):
            plan = str(rows(db, prefix + "insert into redis.w_pw_t values ('f', 'v')"))
            assert 'Redis Write' in plan and 's3cr3tpw' not in plan
        assert server.client().hgetall('h') == {b'f': b'v'}    # ANALYZE did write
    finally:
        db.execute('drop server w_pw cascade')
        server.stop()


def test_update_reads_every_declared_column_as_row_identity(db, r):
    r.hset('h', mapping={'a': '1', 'b': '2'})
    t = table(db, 'w_junk', 'hash', 'h')
    plan = plan_text(db, "(verbose) update %s set value = 'x' where key = 'a'" % t)
    scan_output = [s for s in plan.splitlines() if 'Output:' in s][-1]
    assert 'key' in scan_output and 'value' in scan_output


def test_columns_in_any_order_map_to_their_logical_columns(db, r):
    r.zadd('z', {'a': 1, 'b': 2})
    t = table(db, 'w_order', 'zset', 'z', 'score double precision, element text')
    assert rows(db, "update %s set score = 5 where element = 'b' returning element, score" % t) \
        == [('b', 5.0)]
    assert rows(db, "delete from %s where score = 1 returning *" % t) == [(1.0, 'a')]
    assert r.zrange('z', 0, -1, withscores=True) == [(b'b', 5.0)]


# -- values --------------------------------------------------------------------

def test_scores_are_written_as_redis_reads_them(db, r):
    t = table(db, 'w_score', 'zset', 'z', 'element text, score double precision')
    values = {'tenth': 0.1, 'big': 1e20, 'neg': -2.5, 'pinf': math.inf,
              'ninf': -math.inf, 'int': 3.0}
    with db.cursor() as cur:
        cur.executemany('insert into %s values (%%s, %%s)' % t, list(values.items()))
    got = dict(r.zrange('z', 0, -1, withscores=True))
    assert {k.decode(): v for k, v in got.items()} == values


def test_nan_is_refused_naming_the_column(db, r):
    t = table(db, 'w_nan', 'zset', 'z', 'element text, score double precision')
    with pytest.raises(psycopg.errors.InvalidParameterValue) as e:
        db.execute("insert into %s values ('a', 'NaN')" % t)
    assert '"score"' in str(e.value)
    assert r.keys() == []


def test_bigint_and_text_values(db, r):
    r.rpush('l', 'a', 'b', 'c')
    t = table(db, 'w_idx', 'list', 'l', 'element text, index bigint')
    assert db.execute("update %s set element = 'é✓' where index = 2" % t).rowcount == 1
    assert r.lrange('l', 0, -1) == [b'a', b'b', 'é✓'.encode()]


@pytest.mark.parametrize('items', ['["a", 1]', '["a", ["b"]]', '"a"', '{"a": null}', '{"a": {"b": "c"}}',
                                   'null', '3'])
def test_items_of_another_shape_are_refused_naming_the_column(db, r, items):
    t = table(db, 'w_items', 'multi_list', 'ml:*')
    with pytest.raises(psycopg.errors.InvalidParameterValue) as e:
        db.execute("insert into %s values ('ml:1', %%s)" % t, (items,))
    assert '"items"' in str(e.value)
    assert r.keys() == []


def test_items_arrays_and_objects_of_strings(db, r):
    t = table(db, 'w_ml', 'multi_list', 'ml:*')
    db.execute("""insert into %s values ('ml:1', '["b", "a", "", "é"]')""" % t)
    assert r.lrange('ml:1', 0, -1) == [b'b', b'a', b'', 'é'.encode()]
    t = table(db, 'w_mh', 'multi_hash', 'mh:*')
    db.execute("""insert into %s values ('mh:1', '{"f": "v", "g": ""}')""" % t)
    assert r.hgetall('mh:1') == {b'f': b'v', b'g': b''}


# -- batches and COPY --------------------------------------------------------------

@pytest.mark.parametrize('batch_size', [1, 3, 10000])
def test_batched_insert_counts_only_rows_written(db, r, batch_size):
    r.sadd('s', 'm2', 'm5')
    t = write_table(db, 'w_batch', 'set', 's', batch_size=batch_size)
    cur = db.execute("insert into %s select 'm' || i from generate_series(1, 10) i "
                     "on conflict do nothing" % t)
    assert cur.rowcount == 8
    assert r.smembers('s') == {('m%d' % i).encode() for i in range(1, 11)}


def test_batched_insert_keeps_the_order_of_the_rows(db, r):
    t = write_table(db, 'w_order_b', 'list', 'l', batch_size=7)
    assert db.execute("insert into %s select i::text from generate_series(1, 100) i" % t).rowcount == 100
    assert r.lrange('l', 0, -1) == [str(i).encode() for i in range(1, 101)]


def test_copy_from_into_a_list(db, r):
    t = write_table(db, 'w_copy', 'list', 'l', batch_size=50)
    with db.cursor() as cur:
        with cur.copy('copy %s from stdin' % t) as copy:
            for i in range(1000):
                copy.write_row(('e%d' % i,))
        assert cur.rowcount == 1000
    assert r.lrange('l', 0, -1) == [('e%d' % i).encode() for i in range(1000)]


def test_rows_routed_into_foreign_partitions(db, r):
    h1 = table(db, 'w_part_a', 'hash', 'ha')
    h2 = table(db, 'w_part_b', 'hash', 'hb')
    db.execute('drop table if exists redis.w_parted')
    db.execute('create table redis.w_parted (key text, value text) partition by list (key)')
    db.execute("alter table redis.w_parted attach partition %s for values in ('a')" % h1)
    db.execute('alter table redis.w_parted attach partition %s default' % h2)
    assert db.execute("insert into redis.w_parted values ('a', '1'), ('b', '2'), ('c', '3')").rowcount == 3
    with db.cursor() as cur:
        with cur.copy('copy redis.w_parted from stdin') as copy:
            copy.write_row(('d', '4'))
    assert r.hgetall('ha') == {b'a': b'1'}
    assert r.hgetall('hb') == {b'b': b'2', b'c': b'3', b'd': b'4'}


def test_truncate_several_tables(db, r):
    r.rpush('l', 'a')
    r.sadd('s', 'b')
    r.set('other', 'x')
    tl = table(db, 'w_tl', 'list', 'l')
    ts = table(db, 'w_ts', 'set', 's')
    db.execute('truncate %s, %s' % (tl, ts))
    assert r.keys() == [b'other']


# -- statements and transactions -------------------------------------------------

def test_a_failed_statement_writes_nothing(db, r):
    t = write_table(db, 'w_fail', 'list', 'l', batch_size=2)
    with pytest.raises(psycopg.errors.DivisionByZero):
        db.execute("insert into %s select (10 / (5 - i))::text from generate_series(1, 9) i" % t)
    assert r.keys() == []
    db.execute("insert into %s values ('after')" % t)     # the backend goes on
    assert r.lrange('l', 0, -1) == [b'after']


def test_transactional_rollback_and_savepoints(db, r):
    t = write_table(db, 'w_sp', 'list', 'l', transactional='true')
    db.execute('begin')
    db.execute("insert into %s values ('a')" % t)
    db.execute('savepoint s1')
    db.execute("insert into %s values ('b')" % t)
    db.execute('rollback to savepoint s1')
    db.execute('savepoint s2')
    db.execute("insert into %s values ('c')" % t)
    db.execute('release savepoint s2')
    assert r.keys() == []
    db.execute('commit')
    assert r.lrange('l', 0, -1) == [b'a', b'c']
    db.execute('begin')
    db.execute("insert into %s values ('d')" % t)
    db.execute('rollback')
    assert r.lrange('l', 0, -1) == [b'a', b'c']


def test_prepare_transaction_with_pending_writes_is_refused(db, r):
    t = write_table(db, 'w_prep', 'list', 'l', transactional='true')
    db.execute('begin')
    db.execute("insert into %s values ('a')" % t)
    with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
        db.execute("prepare transaction 'w_prep'")
    assert 'cannot PREPARE a transaction that has pending Redis writes' in str(e.value)
    db.execute('rollback')                                  # if the block is still open
    assert r.keys() == []
    # Statement mode leaves nothing pending: PREPARE is PostgreSQL's business then.
    t = table(db, 'w_prep_s', 'list', 'l')
    db.execute('begin')
    db.execute("insert into %s values ('b')" % t)
    try:
        db.execute("prepare transaction 'w_prep_s'")
    except psycopg.errors.ObjectNotInPrerequisiteState:
        pass                                                # max_prepared_transactions = 0
    else:
        db.execute("rollback prepared 'w_prep_s'")
    assert r.lrange('l', 0, -1) == [b'b']


# -- triggers, inheritance, partitions, roles ----------------------------------------

def test_after_row_triggers_see_the_row_as_redis_holds_it(db, r):
    t = table(db, 'w_trig', 'zset', 'z', 'element text, score double precision')
    db.execute('drop table if exists redis.w_trig_log')
    db.execute('create table redis.w_trig_log (element text, score double precision)')
    db.execute("""create or replace function redis.w_trig_fn() returns trigger language plpgsql as
                  $$ begin insert into redis.w_trig_log values (new.element, new.score); return new; end $$""")
    db.execute('create trigger w_trig after insert on %s for each row execute function redis.w_trig_fn()' % t)
    db.execute("insert into %s (element) values ('a')" % t)
    assert rows(db, 'select * from redis.w_trig_log') == [('a', 0.0)]     # the default score


def test_a_before_update_trigger_may_not_change_an_unassigned_column(db, r):
    r.hset('h', 'f', 'v')
    t = table(db, 'w_before', 'hash', 'h')
    db.execute("""create or replace function redis.w_before_fn() returns trigger language plpgsql as
                  $$ begin new.key := new.key || '!'; return new; end $$""")
    db.execute('create trigger w_before before update on %s for each row execute function redis.w_before_fn()' % t)
    with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
        db.execute("update %s set value = 'w'" % t)
    assert '"key"' in str(e.value)
    assert r.hgetall('h') == {b'f': b'v'}
    db.execute("update %s set key = 'g'" % t)                # assigned: the trigger's value is written
    assert r.hgetall('h') == {b'g!': b'v'}


def test_update_through_an_inheritance_parent_of_several_source_types(db, r):
    r.rpush('l', 'a', 'b')
    r.zadd('z', {'a': 1})
    db.execute('drop table if exists redis.w_parent cascade')
    db.execute('create table redis.w_parent (element text)')
    db.execute("create foreign table redis.w_child_l (element text, index bigint) inherits (redis.w_parent) "
               "server redis_server options (src_type 'list', src_key 'l')")
    db.execute("create foreign table redis.w_child_z (element text, score double precision) "
               "inherits (redis.w_parent) server redis_server options (src_type 'zset', src_key 'z')")
    assert db.execute("update redis.w_parent set element = 'x' where element = 'a'").rowcount == 2
    assert r.lrange('l', 0, -1) == [b'x', b'b']
    assert r.zrange('z', 0, -1, withscores=True) == [(b'x', 1.0)]


def test_an_update_moves_rows_into_a_foreign_partition_it_updates(db, r):
    """Foreign partitions keep their rows (PostgreSQL moves none out of them), but
    rows of a local partition may move into one the UPDATE also updates."""
    r.hset('hf', 'b', '2')
    hf = table(db, 'w_mv_f', 'hash', 'hf')
    db.execute('drop table if exists redis.w_mv')
    db.execute('create table redis.w_mv (key text, value text) partition by list (value)')
    db.execute("create table redis.w_mv_local partition of redis.w_mv for values in ('1')")
    db.execute("alter table redis.w_mv attach partition %s for values in ('2', '3')" % hf)
    db.execute("insert into redis.w_mv_local values ('a', '1')")
    assert db.execute("update redis.w_mv set value = (value::int + 1)::text").rowcount == 2
    assert r.hgetall('hf') == {b'a': b'2', b'b': b'3'}
    assert rows(db, 'select * from redis.w_mv_local') == []


def test_writes_through_a_view_use_its_owners_user_mapping(db, roles, r, redis_server):
    db.execute('set role rw_a')
    create_server(db, 'w_view', redis_server.url)
    db.execute("create user mapping for rw_a server w_view options (password 'ignored')")
    db.execute("create foreign table redis.w_view_l (element text) server w_view "
               "options (src_type 'list', src_key 'l')")
    db.execute('create view redis.w_view_v as select * from redis.w_view_l')
    db.execute('grant insert, select on redis.w_view_v to rw_b')
    r.config_set('requirepass', 'ignored')
    try:
        db.execute('set role rw_b')
        db.execute("insert into redis.w_view_v values ('through the view')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("insert into redis.w_view_l values ('directly')")
    finally:
        db.execute('reset role')
        r.config_set('requirepass', '')
    assert r.lrange('l', 0, -1) == [b'through the view']


def test_a_non_superuser_write_must_send_a_password(db, roles, r, redis_server):
    db.execute('set role rw_a')
    create_server(db, 'w_nopw', redis_server.url)
    db.execute('create user mapping for rw_a server w_nopw')
    db.execute("create foreign table redis.w_nopw_l (element text) server w_nopw "
               "options (src_type 'list', src_key 'l')")
    with pytest.raises(psycopg.errors.ProhibitedSqlStatementAttempted) as e:
        db.execute("insert into redis.w_nopw_l values ('x')")
    assert 'password is required' in str(e.value)
    db.execute('reset role')
    assert r.keys() == []


def test_explain_verbose_shows_the_batch_size(db, r):
    t = write_table(db, 'w_bsx', 'list', 'l', batch_size=25)
    plan = plan_text(db, "(verbose) insert into %s select 'x'" % t)
    assert 'Redis Batch Size: 25' in plan
    assert 'Redis Batch Size' not in plan_text(db, "(verbose) insert into %s select 'x' returning *" % t)


# -- interrupts ------------------------------------------------------------------

PAUSE_MS = 2000


@pytest.fixture
def paused(r):
    """Redis answers no client for PAUSE_MS."""
    r.execute_command('CLIENT', 'PAUSE', PAUSE_MS, 'ALL')
    yield
    r.execute_command('CLIENT', 'UNPAUSE')


@pytest.mark.slow
def test_statement_timeout_interrupts_a_blocked_write(db, r, paused):
    t = table(db, 'w_int', 'list', 'l')
    db.execute("set statement_timeout = '300ms'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        db.execute("insert into %s values ('a')" % t)
    db.execute('reset statement_timeout')
    r.execute_command('CLIENT', 'UNPAUSE')
    assert r.keys() == []
    db.execute("insert into %s values ('b')" % t)          # the backend goes on
    assert r.lrange('l', 0, -1) == [b'b']


@pytest.mark.slow
def test_cancel_interrupts_a_blocked_commit(pg, testdb, db, r):
    """COMMIT runs after statement_timeout is off: a cancel reaches it."""
    t = write_table(db, 'w_int_tx', 'list', 'l', transactional='true')
    pid = db.execute('select pg_backend_pid()').fetchone()[0]
    db.execute('begin')
    db.execute("insert into %s values ('a')" % t)
    r.execute_command('CLIENT', 'PAUSE', PAUSE_MS, 'ALL')
    other = pg.connect(testdb)
    cancel = threading.Timer(0.3, lambda: other.execute('select pg_cancel_backend(%s)', (pid,)))
    cancel.start()
    try:
        with pytest.raises(psycopg.errors.QueryCanceled):
            db.execute('commit')
    finally:
        cancel.join()
        other.close()
        r.execute_command('CLIENT', 'UNPAUSE')
    assert r.keys() == []
    db.execute("insert into %s values ('b')" % t)          # nothing left pending: b alone
    assert r.lrange('l', 0, -1) == [b'b']
