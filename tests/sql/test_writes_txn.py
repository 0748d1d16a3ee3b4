"""Writes (issue 12): all or nothing.  A failing statement, ROLLBACK and ROLLBACK
TO SAVEPOINT leave Redis byte-identical (DUMP of every key); the transactional
mode holds writes until COMMIT; a read-modify-write that lost a race is 40001,
never a lost update; a connection lost around EXEC is a clear error and never
half a statement."""
import socket
import threading
import time

import psycopg
import pytest

from conftest import create_server, rows, table
from redis_wrapper_tools.servers import Redis

LIST_I = 'element text, index bigint'
ZSET_S = 'element text, score double precision'


def snapshot(r):
    return {k: r.dump(k) for k in r.keys('*')}


def run(db, query, *args):
    return db.execute(query, args or None).rowcount


def transactional(db, t, value='true'):
    db.execute("alter foreign table %s options (add transactional '%s')" % (t, value))
    return t


@pytest.fixture
def db2(pg, testdb):
    """A second backend."""
    conn = pg.connect(testdb)
    yield conn
    conn.close()


def load(r):
    """One key of every type, and keys for every multi_* type."""
    r.rpush('l', 'a', 'b', 'a', 'c')
    r.sadd('s', 'a', 'b', 'c')
    r.hset('h', mapping={'a': '1', 'b': '2', 'c': '3'})
    r.zadd('z', {'a': 1, 'b': 2, 'c': 3})
    r.xadd('x', {'a': '1'}, id='1-1')
    r.xadd('x', {'b': '2'}, id='1-2')
    r.rpush('ml:1', 'x', 'y')
    r.sadd('ms:1', 'x')
    r.hset('mh:1', 'x', 'y')
    r.zadd('mz:1', {'x': 0})
    r.set('plain', 'string')


def tables(db):
    return {'l': table(db, 't_list', 'list', 'l', LIST_I),
            's': table(db, 't_set', 'set', 's'),
            'h': table(db, 't_hash', 'hash', 'h'),
            'z': table(db, 't_zset', 'zset', 'z', ZSET_S),
            'x': table(db, 't_stream', 'stream', 'x'),
            'ml': table(db, 't_ml', 'multi_list', 'ml:*'),
            'ms': table(db, 't_ms', 'multi_set', 'ms:*'),
            'mh': table(db, 't_mh', 'multi_hash', 'mh:*'),
            'mz': table(db, 't_mz', 'multi_zset', 'mz:*')}


def every_write(db, t):
    """One of each kind of write on every table (all valid against load())."""
    db.execute("insert into %s (element) values ('new')" % t['l'])
    db.execute("update %s set element = 'B' where index = 1" % t['l'])
    db.execute("delete from %s where index = 0" % t['l'])
    db.execute("insert into %s values ('new')" % t['s'])
    db.execute("update %s set element = 'A' where element = 'a'" % t['s'])
    db.execute("delete from %s where element = 'b'" % t['s'])
    db.execute("insert into %s values ('new', 'n')" % t['h'])
    db.execute("update %s set value = value || '!' where key = 'a'" % t['h'])
    db.execute("update %s set key = 'B' where key = 'b'" % t['h'])
    db.execute("delete from %s where key = 'c'" % t['h'])
    db.execute("insert into %s values ('new', 9)" % t['z'])
    db.execute("update %s set score = score + 1 where element = 'a'" % t['z'])
    db.execute("delete from %s where element = 'c'" % t['z'])
    db.execute("""insert into %s (items) values ('{"new": "1"}')""" % t['x'])
    db.execute("delete from %s where id = '1-1'" % t['x'])
    db.execute("""insert into %s values ('ml:2', '["n"]')""" % t['ml'])
    db.execute("""update %s set items = '["z"]' where key = 'ml:1'""" % t['ml'])
    db.execute("""insert into %s values ('ms:2', '["n"]')""" % t['ms'])
    db.execute("update %s set key = 'ms:9' where key = 'ms:1'" % t['ms'])
    db.execute("""insert into %s values ('mh:2', '{"n": "m"}')""" % t['mh'])
    db.execute("delete from %s where key = 'mh:1'" % t['mh'])
    db.execute("""update %s set items = '["q", "p"]' where key = 'mz:1'""" % t['mz'])


def check_every_write_applied(r):
    assert r.lrange('l', 0, -1) == [b'B', b'a', b'c', b'new']
    assert r.smembers('s') == {b'A', b'c', b'new'}
    assert r.hgetall('h') == {b'a': b'1!', b'B': b'2', b'new': b'n'}
    assert r.zrange('z', 0, -1, withscores=True) == [(b'a', 2.0), (b'b', 2.0), (b'new', 9.0)]
    assert [f for _, f in r.xrange('x')] == [{b'b': b'2'}, {b'new': b'1'}]
    assert r.lrange('ml:1', 0, -1) == [b'z'] and r.lrange('ml:2', 0, -1) == [b'n']
    assert r.exists('ms:1') == 0 and r.smembers('ms:9') == {b'x'} and r.smembers('ms:2') == {b'n'}
    assert r.exists('mh:1') == 0 and r.hgetall('mh:2') == {b'n': b'm'}
    assert r.zrange('mz:1', 0, -1) == [b'q', b'p']
    assert r.get('plain') == b'string'


def test_every_write_applies_in_statement_mode(db, r):
    """The baseline for the tests below: the same writes, applied at once."""
    load(r)
    every_write(db, tables(db))
    check_every_write_applied(r)


# -- a statement is all or nothing -------------------------------------------

@pytest.mark.parametrize('stmt, error', [
    ("insert into {l} (element) values ('1'), ('2'), (null), ('4')", psycopg.errors.NotNullViolation),
    ("insert into {s} values ('1'), ('2'), ('a'), ('4')", psycopg.errors.UniqueViolation),
    ("insert into {h} values ('1', '1'), ('2', '2'), ('a', '3'), ('4', '4')", psycopg.errors.UniqueViolation),
    ("insert into {z} values ('1', 1), ('2', 2), ('a', 3), ('4', 4)", psycopg.errors.UniqueViolation),
    ("""insert into {x} (items) values ('{{"a": "1"}}'), ('{{"a": "2"}}'), ('{{"a": 3}}')""",
     psycopg.errors.InvalidParameterValue),
    ("""insert into {x} values ('2-1', '{{"a": "1"}}'), ('2-2', '{{"a": "2"}}'), ('1-5', '{{"a": "3"}}')""",
     psycopg.errors.InvalidParameterValue),
    ("""insert into {ml} values ('ml:7', '["1"]'), ('ml:8', '["2"]'), ('ml:1', '["3"]')""",
     psycopg.errors.UniqueViolation),
    ("""insert into {mh} values ('mh:7', '{{"a": "1"}}'), ('mh:8', '{{"a": "2"}}'), ('nope', '{{"a": "3"}}')""",
     psycopg.errors.CheckViolation),
    ("update {s} set element = case element when 'c' then 'b' else element || 'x' end where element <> 'b'",
     psycopg.errors.UniqueViolation),
    ("update {h} set key = case key when 'c' then 'b' else key || 'x' end where key <> 'b'",
     psycopg.errors.UniqueViolation),
    ("update {z} set element = case element when 'c' then 'b' else element || 'x' end where element <> 'b'",
     psycopg.errors.UniqueViolation),
    ("update {ms} set key = 'elsewhere'", psycopg.errors.CheckViolation),
    ("update {l} set element = case when index = 3 then null else 'x' end", psycopg.errors.NotNullViolation),
])
def test_a_statement_failing_midway_leaves_redis_byte_identical(db, r, stmt, error):
    load(r)
    t = tables(db)
    before = snapshot(r)
    with pytest.raises(error):
        db.execute(stmt.format(**t))
    assert snapshot(r) == before


def test_two_tables_written_by_one_statement_are_all_or_nothing(db, r):
    load(r)
    t = tables(db)
    before = snapshot(r)
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("with a as (insert into {s} values ('n1'), ('n2') returning element) "
                   "insert into {h} select element, 'v' from a union all select 'a', 'dup'".format(**t))
    assert snapshot(r) == before
    db.execute("with a as (insert into {s} values ('n1'), ('n2') returning element) "
               "insert into {h} select element, 'v' from a".format(**t))
    assert r.smembers('s') == {b'a', b'b', b'c', b'n1', b'n2'}
    assert r.hget('h', 'n1') == b'v' and r.hget('h', 'n2') == b'v'


def test_a_statement_failing_after_its_writes_writes_nothing(db, r):
    """An error raised by PostgreSQL after the rows were queued (a division by
    zero in the outer query) drops the statement's writes."""
    load(r)
    t = tables(db)
    before = snapshot(r)
    with pytest.raises(psycopg.errors.DivisionByZero):
        db.execute("with a as (insert into {s} values ('n1') returning element) "
                   "select 1 / (count(*) - 1) from a".format(**t))
    assert snapshot(r) == before


def test_an_after_statement_trigger_failing_writes_nothing(db, r):
    load(r)
    t = tables(db)
    before = snapshot(r)
    db.execute("create or replace function w_refuse() returns trigger language plpgsql as "
               "$$ begin raise exception 'refused'; end $$")
    db.execute('create trigger w_refuse after insert on %s for each statement execute function w_refuse()'
               % t['s'])
    try:
        with pytest.raises(psycopg.errors.RaiseException):
            db.execute("insert into %s values ('n')" % t['s'])
        assert snapshot(r) == before
    finally:
        db.execute('drop trigger w_refuse on %s' % t['s'])
        db.execute('drop function w_refuse()')


def test_statement_mode_applies_at_statement_end_even_in_a_transaction(db, r):
    load(r)
    t = tables(db)
    db.execute('begin')
    db.execute("insert into %s values ('n')" % t['s'])
    assert r.sismember('s', 'n')                   # applied now: not undone by ROLLBACK
    db.execute('rollback')
    assert r.sismember('s', 'n')


def test_statement_mode_guards_its_writes_with_watch_and_exec(db, r):
    load(r)
    t = tables(db)

    def calls():
        stats = r.info('commandstats')
        return tuple(stats.get('cmdstat_' + c, {}).get('calls', 0) for c in ('watch', 'multi', 'exec'))
    watch, multi, exec_ = calls()
    assert run(db, "update %s set value = value || 'x' where key = 'a'" % t['h']) == 1
    watch2, multi2, exec2 = calls()
    assert watch2 > watch and multi2 == multi + 1 and exec2 == exec_ + 1
    assert r.hget('h', 'a') == b'1x'


# -- the transactional mode --------------------------------------------------

@pytest.fixture
def tx(db, r):
    """load(r), and every table transactional."""
    load(r)
    t = tables(db)
    for name in t.values():
        transactional(db, name)
    return t


def test_transactional_rollback_leaves_redis_byte_identical(db, r, tx):
    before = snapshot(r)
    db.execute('begin')
    every_write(db, tx)
    assert snapshot(r) == before                   # nothing sent before COMMIT
    db.execute('rollback')
    assert snapshot(r) == before


def test_transactional_commit_applies(db, r, tx):
    before = snapshot(r)
    db.execute('begin')
    every_write(db, tx)
    assert snapshot(r) == before
    db.execute('commit')
    check_every_write_applied(r)


def test_transactional_commit_is_one_multi_exec_per_connection(db, r, tx):
    exec_calls = r.info('commandstats').get('cmdstat_exec', {}).get('calls', 0)
    db.execute('begin')
    every_write(db, tx)
    db.execute('commit')
    assert r.info('commandstats')['cmdstat_exec']['calls'] == exec_calls + 1
    check_every_write_applied(r)


def test_transactional_autocommit_statement_applies(db, r, tx):
    assert run(db, "insert into %s values ('n')" % tx['s']) == 1
    assert r.sismember('s', 'n')


def test_reads_in_the_transaction_do_not_see_pending_writes(db, r, tx):
    db.execute('begin')
    db.execute("insert into %s values ('n')" % tx['s'])
    db.execute("update %s set value = 'changed' where key = 'a'" % tx['h'])
    db.execute("delete from %s where element = 'a'" % tx['z'])
    assert sorted(rows(db, 'select element from %s' % tx['s'])) == [('a',), ('b',), ('c',)]
    assert rows(db, "select value from %s where key = 'a'" % tx['h']) == [('1',)]
    assert rows(db, "select count(*) from %s" % tx['z']) == [(3,)]
    db.execute('commit')
    assert r.smembers('s') == {b'a', b'b', b'c', b'n'}
    assert r.hget('h', 'a') == b'changed' and r.zscore('z', 'a') is None


def test_rollback_to_savepoint_drops_that_subtransaction(db, r, tx):
    before = snapshot(r)
    db.execute('begin')
    db.execute("insert into %s (element) values ('one')" % tx['l'])
    db.execute('savepoint s1')
    db.execute("insert into %s (element) values ('two')" % tx['l'])
    db.execute("insert into %s values ('two')" % tx['s'])
    db.execute('savepoint s2')
    db.execute("insert into %s (element) values ('three')" % tx['l'])
    db.execute('rollback to savepoint s1')
    assert snapshot(r) == before
    db.execute("insert into %s (element) values ('four')" % tx['l'])
    db.execute('commit')
    assert r.lrange('l', 0, -1) == [b'a', b'b', b'a', b'c', b'one', b'four']
    assert r.smembers('s') == {b'a', b'b', b'c'}


def test_rollback_to_savepoint_then_rollback_is_byte_identical(db, r, tx):
    before = snapshot(r)
    db.execute('begin')
    db.execute('savepoint s1')
    every_write(db, tx)
    db.execute('rollback to savepoint s1')
    every_write(db, tx)
    db.execute('rollback')
    assert snapshot(r) == before


def test_released_savepoints_keep_their_writes(db, r, tx):
    db.execute('begin')
    db.execute('savepoint s1')
    db.execute("insert into %s (element) values ('one')" % tx['l'])
    db.execute('savepoint s2')
    db.execute("insert into %s (element) values ('two')" % tx['l'])
    db.execute('release savepoint s2')
    db.execute('savepoint s3')
    db.execute("insert into %s (element) values ('three')" % tx['l'])
    db.execute('rollback to savepoint s3')
    db.execute('release savepoint s1')
    db.execute('savepoint s4')
    db.execute("insert into %s (element) values ('four')" % tx['l'])
    db.execute('release savepoint s4')
    db.execute('commit')
    assert r.lrange('l', 0, -1)[4:] == [b'one', b'two', b'four']


def test_a_failed_statement_in_a_savepoint_is_rolled_back_with_it(db, r, tx):
    db.execute('begin')
    db.execute("insert into %s values ('keep')" % tx['s'])
    db.execute('savepoint s1')
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("insert into %s values ('lost'), (null)" % tx['s'])
    db.execute('rollback to savepoint s1')
    db.execute("insert into %s values ('keep2')" % tx['s'])
    db.execute('commit')
    assert r.smembers('s') == {b'a', b'b', b'c', b'keep', b'keep2'}


def test_plpgsql_exception_blocks_are_subtransactions(db, r, tx):
    db.execute("""do $$ begin
        insert into %s values ('outer');
        begin
            insert into %s values ('inner');
            raise exception 'undo';
        exception when others then null;
        end;
        insert into %s values ('after');
    end $$""" % (tx['s'], tx['s'], tx['s']))
    assert r.smembers('s') == {b'a', b'b', b'c', b'outer', b'after'}


def test_an_existing_member_fails_the_transaction_and_writes_nothing(db, r, tx):
    """A transactional table's existence checks may run at the statement or at
    COMMIT: either way the transaction fails with 23505 and nothing is written."""
    before = snapshot(r)
    db.execute('begin')
    db.execute("insert into %s values ('fine')" % tx['s'])
    db.execute("insert into %s values ('fine', 'v')" % tx['h'])
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("insert into %s values ('a')" % tx['s'])
        db.execute('commit')
    db.execute('rollback')
    assert snapshot(r) == before


def test_a_member_added_by_someone_else_before_commit_is_23505(db, r, tx):
    before = snapshot(r)
    db.execute('begin')
    db.execute("insert into %s values ('n'), ('m')" % tx['s'])
    db.execute("insert into %s (element) values ('more')" % tx['l'])
    r.sadd('s', 'm')
    before[b's'] = r.dump('s')
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute('commit')
    assert snapshot(r) == before


def test_a_member_added_earlier_in_the_transaction_is_a_duplicate(db, r, tx):
    db.execute('begin')
    db.execute("insert into %s values ('n')" % tx['s'])
    assert run(db, "insert into %s values ('n'), ('m') on conflict do nothing" % tx['s']) == 1
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("insert into %s values ('n')" % tx['s'])
    db.execute('rollback')
    assert r.smembers('s') == {b'a', b'b', b'c'}


def test_a_member_added_in_a_rolled_back_savepoint_is_no_duplicate(db, r, tx):
    db.execute('begin')
    db.execute('savepoint s1')
    db.execute("insert into %s values ('n')" % tx['s'])
    db.execute("""insert into %s values ('ml:5', '["x"]')""" % tx['ml'])
    db.execute('rollback to savepoint s1')
    assert run(db, "insert into %s values ('n')" % tx['s']) == 1
    assert run(db, """insert into %s values ('ml:5', '["y"]')""" % tx['ml']) == 1
    db.execute('commit')
    assert r.sismember('s', 'n') and r.lrange('ml:5', 0, -1) == [b'y']


def test_stream_ids_returned_across_statements_are_the_ids_committed(db, r, tx):
    db.execute('begin')
    (a,), = rows(db, """insert into %s (items) values ('{"n": "1"}') returning id""" % tx['x'])
    db.execute('savepoint s1')
    (b,), = rows(db, """insert into %s (items) values ('{"n": "2"}') returning id""" % tx['x'])
    db.execute('rollback to savepoint s1')
    got = rows(db, """insert into %s (items) values ('{"n": "3"}'), ('{"n": "4"}') returning id""" % tx['x'])
    db.execute('commit')
    ids = [a] + [i for i, in got]
    assert [(i.decode(), f) for i, f in r.xrange('x')][2:] == \
        [(i, {b'n': n}) for i, n in zip(ids, (b'1', b'3', b'4'))]


def test_truncate_and_insert_in_one_transaction_apply_in_order(db, r, tx):
    db.execute('begin')
    db.execute('truncate %s' % tx['l'])
    db.execute("insert into %s (element) values ('after')" % tx['l'])
    db.execute("insert into %s values ('gone')" % tx['s'])
    db.execute('truncate %s' % tx['s'])
    db.execute('commit')
    assert r.lrange('l', 0, -1) == [b'after'] and r.exists('s') == 0


def test_one_statement_deleting_and_inserting_one_key(db, r):
    load(r)
    t = tables(db)
    db.execute("with d as (delete from {s} where element = 'a' returning element) "
               "insert into {s} select element || '2' from d".format(**t))
    assert r.smembers('s') == {b'a2', b'b', b'c'}


def test_list_positions_deleted_and_updated_in_one_statement(db, r):
    """Positions are those the statement read: deleting index 0 does not shift
    the index an UPDATE of the same statement sets."""
    load(r)                                        # l: a b a c
    t = tables(db)
    db.execute("with d as (delete from {l} where index = 0 returning 1) "
               "update {l} set element = 'X' where index = 1".format(**t))
    assert r.lrange('l', 0, -1) == [b'X', b'a', b'c']


def test_list_positions_in_two_statements_of_a_transaction(db, r, tx):
    """The second statement reads the list as it is in Redis (the first one's
    delete still pending): index 1 is 'b'.  What COMMIT writes must be that
    row's change, or the statement or the commit must fail; never another element's."""
    db.execute('begin')
    db.execute('delete from %s where index = 0' % tx['l'])
    try:
        db.execute("update %s set element = 'X' where index = 1" % tx['l'])
        db.execute('commit')
    except psycopg.errors.SerializationFailure:
        db.execute('rollback')
        assert r.lrange('l', 0, -1) == [b'a', b'b', b'a', b'c']
    else:
        assert r.lrange('l', 0, -1) == [b'X', b'a', b'c']


def test_a_list_position_deleted_twice_in_a_transaction(db, r, tx):
    """Both statements read (0, 'a'): that row is deleted once, or the second statement or the commit fails."""
    db.execute('begin')
    assert run(db, 'delete from %s where index = 0' % tx['l']) == 1
    try:
        db.execute('delete from %s where index = 0' % tx['l'])
        db.execute('commit')
    except psycopg.errors.SerializationFailure:
        db.execute('rollback')
        assert r.lrange('l', 0, -1) == [b'a', b'b', b'a', b'c']
    else:
        assert r.lrange('l', 0, -1) == [b'b', b'a', b'c']


@pytest.mark.parametrize('first, second, ok', [
    ("delete from {h} where key = 'a'", "update {h} set value = 'z' where key = 'a'",
     lambda r: r.hgetall('h') == {b'b': b'2', b'c': b'3'}),
    ("update {h} set key = 'A' where key = 'a'", "update {h} set value = 'z' where key = 'a'",
     lambda r: r.hgetall('h') == {b'A': b'1', b'b': b'2', b'c': b'3'}),
    ("delete from {s} where element = 'a'", "update {s} set element = 'Z' where element = 'a'",
     lambda r: r.smembers('s') == {b'b', b'c'}),
    ("delete from {ml} where key = 'ml:1'", """update {ml} set items = '["n"]' where key = 'ml:1'""",
     lambda r: r.exists('ml:1') == 0),
])
def test_a_row_a_transaction_removed_is_not_written_again(db, r, tx, first, second, ok):
    """The second statement reads Redis as it is (the first one's write still
    pending) and changes a row the transaction already removed: COMMIT must not
    bring it back (PostgreSQL would update no row), or the statement or COMMIT must fail."""
    before = snapshot(r)
    db.execute('begin')
    db.execute(first.format(**tx))
    try:
        db.execute(second.format(**tx))
        db.execute('commit')
    except psycopg.errors.SerializationFailure:
        db.execute('rollback')
        assert snapshot(r) == before
    else:
        assert ok(r), (r.hgetall('h'), r.smembers('s'), r.lrange('ml:1', 0, -1))


def test_copy_into_a_transactional_table_is_held_until_commit(db, r, tx):
    before = snapshot(r)
    db.execute('begin')
    with db.cursor() as cur, cur.copy('copy %s from stdin' % tx['s']) as cp:
        for i in range(300):
            cp.write_row(('c%d' % i,))
    assert snapshot(r) == before
    db.execute('rollback')
    assert snapshot(r) == before
    with db.cursor() as cur, cur.copy('copy %s from stdin' % tx['s']) as cp:
        for i in range(300):
            cp.write_row(('c%d' % i,))
    assert r.scard('s') == 303


@pytest.mark.parametrize('conflict_on', ['first', 'second'])
def test_a_conflict_on_one_server_found_by_the_checks_writes_nothing_on_the_other(db, r, own_redis,
                                                                                   conflict_on):
    """COMMIT with pending writes on two servers: a change its checks can see
    (before any EXEC) fails the commit before either server is written.  (Only a
    change landing between one server's EXEC and the other's is beyond reach.)"""
    other = own_redis.client()
    create_server(db, 'wt_two', own_redis.url, transactional='true')
    servers = {'first': (r, table(db, 'two_a', 'hash', 'h')),
               'second': (other, table(db, 'two_b', 'hash', 'h', server='wt_two'))}
    transactional(db, servers['first'][1])
    for client, _ in servers.values():
        client.hset('h', 'a', '1')
    db.execute('begin')
    for _, t in servers.values():
        db.execute("update %s set value = 'mine' where key = 'a'" % t)
    servers[conflict_on][0].hset('h', 'a', 'theirs')
    with pytest.raises(psycopg.errors.SerializationFailure):
        db.execute('commit')
    assert {k: c.hget('h', 'a') for k, (c, _) in servers.items()} == \
        {k: b'theirs' if k == conflict_on else b'1' for k in servers}
    db.execute('drop server wt_two cascade')


def test_the_table_option_overrides_the_server_option(db, r):
    load(r)
    db.execute('drop server if exists wt_tx cascade')
    create_server(db, 'wt_tx', 'redis://127.0.0.1:%d' % r.connection_pool.connection_kwargs['port'],
                  transactional='true')
    t_tx = table(db, 't_tx', 'set', 's', server='wt_tx')
    t_stmt = transactional(db, table(db, 't_stmt', 'hash', 'h', server='wt_tx'), 'false')
    db.execute('begin')
    db.execute("insert into %s values ('held')" % t_tx)
    db.execute("insert into %s values ('now', 'v')" % t_stmt)
    assert not r.sismember('s', 'held') and r.hget('h', 'now') == b'v'
    db.execute('commit')
    assert r.sismember('s', 'held')
    db.execute('drop server wt_tx cascade')


def test_truncate_is_held_until_commit(db, r, tx):
    before = snapshot(r)
    db.execute('begin')
    db.execute('truncate %s, %s' % (tx['l'], tx['ml']))
    assert snapshot(r) == before
    db.execute('rollback')
    assert snapshot(r) == before
    db.execute('begin')
    db.execute('truncate %s, %s' % (tx['l'], tx['ml']))
    db.execute('commit')
    assert r.exists('l', 'ml:1') == 0 and r.exists('s') == 1


def test_prepare_transaction_with_pending_writes_is_refused(db, r, tx):
    before = snapshot(r)
    db.execute('begin')
    db.execute("insert into %s values ('n')" % tx['s'])
    with pytest.raises(psycopg.Error) as e:
        db.execute("prepare transaction 'w_gid'")
    assert e.value.sqlstate == '0A000' and 'prepare' in str(e.value).lower()
    db.execute('rollback')
    assert snapshot(r) == before
    assert rows(db, "select count(*) from pg_prepared_xacts where gid = 'w_gid'") == [(0,)]


def test_prepare_transaction_after_reads_only_is_not_ours_to_refuse(db, r, tx):
    db.execute('begin')
    rows(db, 'select * from %s' % tx['s'])
    try:
        db.execute("prepare transaction 'w_gid2'")
    except psycopg.Error as e:          # max_prepared_transactions = 0: PostgreSQL's own error
        assert e.sqlstate != '0A000', e
        db.execute('rollback')
    else:
        db.execute("rollback prepared 'w_gid2'")


# -- races -------------------------------------------------------------------

def test_a_lost_update_is_40001(db, db2, r, tx):
    db.execute('begin')
    db.execute("update %s set value = value || 'A' where key = 'a'" % tx['h'])
    db2.execute('begin')
    db2.execute("update %s set value = value || 'B' where key = 'a'" % tx['h'])
    db2.execute('commit')
    assert r.hget('h', 'a') == b'1B'
    with pytest.raises(psycopg.errors.SerializationFailure):
        db.execute('commit')
    assert r.hget('h', 'a') == b'1B'
    # Retried, it applies on top of B's.
    db.execute("update %s set value = value || 'A' where key = 'a'" % tx['h'])
    assert r.hget('h', 'a') == b'1BA'


def test_a_race_fails_the_whole_commit(db, db2, r, tx):
    """The conflicting write is one of several: none of them is applied."""
    db.execute('begin')
    db.execute("insert into %s values ('n')" % tx['s'])
    db.execute("update %s set score = score + 1 where element = 'b'" % tx['z'])
    db.execute("update %s set value = 'mine' where key = 'a'" % tx['h'])
    db2.execute("update %s set value = 'theirs' where key = 'a'" % tx['h'])
    before = snapshot(r)
    with pytest.raises(psycopg.errors.SerializationFailure):
        db.execute('commit')
    assert snapshot(r) == before


@pytest.mark.parametrize('mine, theirs', [
    ("delete from {s} where element = 'a'", lambda r: r.srem('s', 'a')),
    ("update {s} set element = 'A' where element = 'a'", lambda r: r.srem('s', 'a')),
    ("delete from {h} where key = 'a'", lambda r: r.hset('h', 'a', 'other')),
    ("update {z} set score = 5 where element = 'a'", lambda r: r.zincrby('z', 1, 'a')),
    ("update {l} set element = 'X' where index = 1", lambda r: r.lpush('l', 'front')),
    ("delete from {l} where index = 1", lambda r: r.lset('l', 1, 'other')),
    ("""update {ml} set items = '["n"]' where key = 'ml:1'""", lambda r: r.rpush('ml:1', 'z')),
    ("update {ms} set key = 'ms:2' where key = 'ms:1'", lambda r: r.sadd('ms:1', 'y')),
    ("delete from {mh} where key = 'mh:1'", lambda r: r.hset('mh:1', 'x', 'changed')),
    ("delete from {x} where id = '1-1'", lambda r: r.xdel('x', '1-1')),
])
def test_a_row_changed_before_commit_is_40001(db, r, tx, mine, theirs):
    db.execute('begin')
    db.execute(mine.format(**tx))
    theirs(r)
    before = snapshot(r)
    with pytest.raises(psycopg.errors.SerializationFailure):
        db.execute('commit')
    assert snapshot(r) == before


def test_a_stream_id_returned_in_a_transaction_is_protected(db, r, tx):
    db.execute('begin')
    (mine,), = rows(db, """insert into %s (items) values ('{"m": "1"}') returning id""" % tx['x'])
    r.xadd('x', {'t': '1'})             # moves the stream's last id past ours
    before = snapshot(r)
    with pytest.raises(psycopg.errors.SerializationFailure):
        db.execute('commit')
    assert snapshot(r) == before
    db.execute('begin')
    (mine,), = rows(db, """insert into %s (items) values ('{"m": "2"}') returning id""" % tx['x'])
    db.execute('commit')
    assert r.xrange('x')[-1] == (mine.encode(), {b'm': b'2'})


# -- a TCP proxy that injects races and faults at a chosen command -----------

class Proxy:
    """Forwards to Redis; once armed, at the first `command` a client sends it
    either runs a callable and then forwards it (a concurrent change timed
    exactly), or 'drop's the connection before sending it, or sends it and
    'cut's the connection before its answer comes back."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.trigger = self.action = None
        self.fired = threading.Event()
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, command, action):
        with self.lock:
            self.trigger = b'$%d\r\n%s\r\n' % (len(command), command.encode())
            self.action = action

    def close(self):
        for s in [self.sock] + self.socks:
            try:
                s.close()
            except OSError:
                pass

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            up = socket.create_connection(('127.0.0.1', self.upstream))
            self.socks += [client, up]
            mute = threading.Event()
            threading.Thread(target=self._up, args=(client, up, mute), daemon=True).start()
            threading.Thread(target=self._down, args=(up, client, mute), daemon=True).start()

    def _take(self, data):
        with self.lock:
            i = data.upper().find(self.trigger) if self.trigger else -1
            if i < 0:
                return None, None
            action, self.trigger = self.action, None
        return data.rfind(b'*', 0, i), action

    def _up(self, client, up, mute):
        while True:
            try:
                data = client.recv(1 << 16)
            except OSError:
                data = b''
            if not data:
                up.close()
                return
            start, action = self._take(data)
            if action is None:
                up.sendall(data)
                continue
            up.sendall(data[:start])
            if action not in ('drop', 'cut'):
                if start > 0:
                    # The commands before it (a WATCH pipelined with it) must be
                    # processed before the change: give Redis a moment.
                    time.sleep(0.2)
                action()
            # Before the client can have its answer (the test looks at once).
            self.fired.set()
            if action == 'drop':
                mute.set()
                client.close()
                up.close()
            elif action == 'cut':
                mute.set()
                up.sendall(data[start:])
                client.close()
            else:
                up.sendall(data[start:])
            if action in ('drop', 'cut'):
                return

    def _down(self, up, client, mute):
        while True:
            try:
                data = up.recv(1 << 16)
            except OSError:
                return
            if not data:
                client.close()
                return
            if not mute.is_set():
                try:
                    client.sendall(data)
                except OSError:
                    return


@pytest.fixture
def proxy(db, r, redis_server):
    p = Proxy(redis_server.port)
    create_server(db, 'wt_proxy', 'redis://127.0.0.1:%d' % p.port)
    yield p
    if db.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        db.execute('rollback')          # a test that failed inside its transaction
    db.execute('drop server if exists wt_proxy cascade')
    p.close()


def proxied(db, r, transactional_too=False):
    load(r)
    t = {'h': table(db, 'p_hash', 'hash', 'h', server='wt_proxy'),
         's': table(db, 'p_set', 'set', 's', server='wt_proxy')}
    if transactional_too:
        for name in t.values():
            transactional(db, name)
    return t


@pytest.mark.parametrize('command', ['WATCH', 'MULTI', 'EXEC'])
def test_statement_mode_race_timed_at_each_step_is_40001(db, r, proxy, command):
    """A concurrent HSET of the field being updated, made just before the
    statement's WATCH (the checks see it), or just before its MULTI or EXEC
    (the WATCH sees it): 40001, and the other client's value stays."""
    t = proxied(db, r)
    proxy.arm(command, lambda: r.hset('h', 'a', 'theirs'))
    with pytest.raises(psycopg.errors.SerializationFailure):
        db.execute("update %s set value = value || 'x' where key in ('a', 'b')" % t['h'])
    assert proxy.fired.is_set()
    assert r.hgetall('h') == {b'a': b'theirs', b'b': b'2', b'c': b'3'}


@pytest.mark.parametrize('stmt, theirs, error, after', [
    ("insert into {s} values ('n'), ('m')", lambda r: r.sadd('s', 'm'), psycopg.errors.UniqueViolation,
     lambda r: r.smembers('s') == {b'a', b'b', b'c', b'm'}),
    ("""insert into {x} (items) values ('{{"mine": "1"}}')""", lambda r: r.xadd('x', {'theirs': '1'}),
     psycopg.errors.SerializationFailure, lambda r: [f for _, f in r.xrange('x')][-1] == {b'theirs': b'1'}),
    ("update {h} set value = 'x' where key = 'a'", lambda r: (r.delete('h'), r.set('h', 'now a string')),
     (psycopg.errors.SerializationFailure, psycopg.errors.WrongObjectType),
     lambda r: r.get('h') == b'now a string'),
    ("delete from {s} where element = 'a'", lambda r: r.srem('s', 'a'), psycopg.errors.SerializationFailure,
     lambda r: r.smembers('s') == {b'b', b'c'}),
], ids=['insert-member-added', 'stream-id-taken', 'type-changed', 'member-gone'])
def test_statement_mode_change_just_before_watch(db, r, proxy, stmt, theirs, error, after):
    load(r)
    t = {'s': table(db, 'p_set', 'set', 's', server='wt_proxy'),
         'h': table(db, 'p_hash', 'hash', 'h', server='wt_proxy'),
         'x': table(db, 'p_stream', 'stream', 'x', server='wt_proxy')}
    proxy.arm('WATCH', lambda: theirs(r))
    with pytest.raises(error):
        db.execute(stmt.format(**t))
    assert proxy.fired.is_set() and after(r)


def test_statement_mode_unrelated_change_is_no_conflict(db, r, proxy):
    t = proxied(db, r)
    proxy.arm('MULTI', lambda: r.set('unrelated', '1'))
    assert run(db, "update %s set value = 'x' where key = 'a'" % t['h']) == 1
    assert proxy.fired.is_set() and r.hget('h', 'a') == b'x'


@pytest.mark.parametrize('transactional_too', [False, True], ids=['statement', 'transactional'])
def test_connection_lost_before_exec_applies_nothing(db, r, proxy, transactional_too):
    t = proxied(db, r, transactional_too)
    before = snapshot(r)
    proxy.arm('EXEC', 'drop')
    with pytest.raises(psycopg.OperationalError) as e:
        db.execute('begin')
        db.execute("insert into %s values ('n1'), ('n2')" % t['s'])
        db.execute("update %s set value = 'x' where key = 'a'" % t['h'])
        db.execute('commit')
    assert e.value.sqlstate.startswith('08'), e.value
    assert proxy.fired.is_set()
    db.execute('rollback')
    assert snapshot(r) == before
    # The next statement dials again.
    db.execute("insert into %s values ('n3')" % t['s'])
    assert r.sismember('s', 'n3')


@pytest.mark.parametrize('transactional_too', [False, True], ids=['statement', 'transactional'])
def test_connection_lost_during_exec_is_08007(db, r, proxy, transactional_too):
    t = proxied(db, r, transactional_too)
    proxy.arm('EXEC', 'cut')
    db.execute('drop table if exists w_local')
    db.execute('create table w_local (x int)')
    with pytest.raises(psycopg.errors.TransactionResolutionUnknown):
        db.execute('begin')
        db.execute('insert into w_local values (1)')
        db.execute("insert into %s values ('n1'), ('n2')" % t['s'])
        db.execute("update %s set value = 'x' where key = 'a'" % t['h'])
        db.execute('commit')
    db.execute('rollback')
    # EXEC reached Redis: every write of it applied, not a part.
    assert r.sismember('s', 'n1') and r.sismember('s', 'n2')
    if transactional_too:
        assert r.hget('h', 'a') == b'x'
        assert rows(db, 'select count(*) from w_local') == [(0,)]   # the commit failed
    db.execute('drop table w_local')


def test_connection_lost_at_watch_is_all_or_nothing(db, r, proxy):
    """Lost before anything was written: an error and nothing applied, or a
    retry on a new connection that applies everything."""
    t = proxied(db, r)
    before = snapshot(r)
    proxy.arm('WATCH', 'drop')
    try:
        db.execute("insert into %s values ('n1'), ('n2')" % t['s'])
    except psycopg.OperationalError as e:
        assert e.sqlstate.startswith('08') and e.sqlstate != '08007', e
        assert snapshot(r) == before
    else:
        assert r.sismember('s', 'n1') and r.sismember('s', 'n2')
    assert proxy.fired.is_set()


# -- Redis killed before COMMIT ----------------------------------------------

def test_redis_killed_before_commit(db, own_redis):
    own_redis.client().sadd('s', 'a')
    create_server(db, 'wt_dies', own_redis.url)
    t = transactional(db, table(db, 'd_set', 'set', 's', server='wt_dies'))
    db.execute('drop table if exists w_local')
    db.execute('create table w_local (x int)')
    db.execute('begin')
    db.execute('insert into w_local values (1)')
    db.execute("insert into %s values ('n')" % t)
    own_redis.stop()
    with pytest.raises(psycopg.Error) as e:
        db.execute('commit')
    assert e.value.sqlstate[:2] in ('08', 'HV'), e.value
    db.execute('rollback')
    assert rows(db, 'select count(*) from w_local') == [(0,)]
    again = Redis(port=own_redis.port).start()
    try:
        c = again.client()
        c.sadd('s', 'b')
        db.execute("insert into %s values ('after')" % t)
        assert c.smembers('s') == {b'b', b'after'}
        c.close()
    finally:
        again.stop()
        db.execute('drop table w_local')
        db.execute('drop server wt_dies cascade')


def test_redis_killed_between_statements(db, own_redis):
    c = own_redis.client()
    c.sadd('s', 'a')
    create_server(db, 'wt_dies', own_redis.url)
    t = table(db, 'd_set', 'set', 's', server='wt_dies')
    db.execute("insert into %s values ('b')" % t)
    own_redis.stop()
    with pytest.raises(psycopg.Error) as e:
        db.execute("insert into %s values ('c')" % t)
    assert e.value.sqlstate[:2] in ('08', 'HV'), e.value
    db.execute('drop server wt_dies cascade')

