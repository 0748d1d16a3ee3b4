"""Writes (issue 12), statement by statement and source by source: every form of
INSERT, UPDATE, DELETE, TRUNCATE, COPY and RETURNING, checked against what
redis-py reads back, with the row counts PostgreSQL reports and the errors of
bad input.  Transactions, races and faults are in test_writes_txn.py, the
credential rules in test_writes_security.py."""
import psycopg
import pytest

from conftest import rows, table

LIST_I = 'element text, index bigint'
ZSET_S = 'element text, score double precision'


@pytest.fixture
def rd(r, redis_server):
    """A decoding Redis client on the (emptied) test server."""
    client = redis_server.client(decode_responses=True)
    yield client
    client.close()


def run(db, query, *args):
    """Run query; its row count."""
    return db.execute(query, args or None).rowcount


def options(db, t, **opts):
    db.execute('alter foreign table %s options (%s)'
               % (t, ', '.join("add %s '%s'" % kv for kv in opts.items())))


def snapshot(r):
    return {k: r.dump(k) for k in r.keys('*')}


# -- list --------------------------------------------------------------------

@pytest.mark.parametrize('columns', ['element text', LIST_I])
def test_list_insert_appends_in_order(db, rd, columns):
    rd.rpush('l', 'a')
    t = table(db, 'w_list', 'list', 'l', columns)
    assert run(db, "insert into %s (element) values ('b')" % t) == 1
    assert run(db, "insert into %s (element) values ('c'), ('b'), ('')" % t) == 3
    assert run(db, "insert into %s (element) select 'g' || g from generate_series(1, 250) g" % t) == 250
    assert rd.lrange('l', 0, -1) == ['a', 'b', 'c', 'b', ''] + ['g%d' % i for i in range(1, 251)]


def test_list_insert_creates_the_key(db, rd):
    t = table(db, 'w_list', 'list', 'new:list')
    assert run(db, "insert into %s values ('x')" % t) == 1
    assert rd.type('new:list') == 'list' and rd.lrange('new:list', 0, -1) == ['x']


def test_list_insert_returning_has_no_index(db, rd):
    rd.rpush('l', 'a')
    t = table(db, 'w_list', 'list', 'l', LIST_I)
    assert rows(db, "insert into %s (element) values ('b'), ('c') returning element, index" % t) == \
        [('b', None), ('c', None)]
    assert rows(db, "insert into %s (element, index) values ('d', null) returning *" % t) == [('d', None)]
    assert rd.lrange('l', 0, -1) == ['a', 'b', 'c', 'd']


def test_list_insert_with_an_index_is_refused(db, rd):
    rd.rpush('l', 'a')
    t = table(db, 'w_list', 'list', 'l', LIST_I)
    assert run(db, "insert into %s (element, index) values ('b', null)" % t) == 1
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        db.execute("insert into %s (element, index) values ('c', null), ('d', 2)" % t)
    assert rd.lrange('l', 0, -1) == ['a', 'b']


def test_list_insert_of_null_is_23502(db, rd):
    rd.rpush('l', 'a')
    t = table(db, 'w_list', 'list', 'l')
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("insert into %s values ('b'), (null), ('c')" % t)
    assert rd.lrange('l', 0, -1) == ['a']


def test_list_delete_by_element_removes_every_occurrence(db, rd):
    rd.rpush('l', 'a', 'b', 'a', 'c', 'a')
    t = table(db, 'w_list', 'list', 'l')
    # Each row read is one deleted, though one LREM removes them all.
    assert rows(db, "delete from %s where element = 'a' returning element" % t) == [('a',)] * 3
    assert rd.lrange('l', 0, -1) == ['b', 'c']
    assert run(db, "delete from %s where element in ('b', 'zz')" % t) == 1
    assert rd.lrange('l', 0, -1) == ['c']


def test_list_delete_by_element_with_index_counts_each_position(db, rd):
    rd.rpush('l', 'a', 'b', 'a', 'c', 'a')
    t = table(db, 'w_list', 'list', 'l', LIST_I)
    assert run(db, "delete from %s where element = 'a'" % t) == 3
    assert rd.lrange('l', 0, -1) == ['b', 'c']


def test_list_delete_by_index_removes_exactly_those_positions(db, rd):
    rd.rpush('l', 'x', 'y', 'x', 'x', 'z', 'x')
    t = table(db, 'w_list', 'list', 'l', LIST_I)
    assert run(db, 'delete from %s where index in (0, 3)' % t) == 2
    assert rd.lrange('l', 0, -1) == ['y', 'x', 'z', 'x']
    assert rows(db, "delete from %s where index >= 2 returning index, element" % t) == [(2, 'z'), (3, 'x')]
    assert rd.lrange('l', 0, -1) == ['y', 'x']


def test_list_delete_everything(db, rd):
    rd.rpush('l', 'a', 'b', 'c')
    t = table(db, 'w_list', 'list', 'l', LIST_I)
    assert run(db, 'delete from %s' % t) == 3
    assert rd.exists('l') == 0


def test_list_update_by_index(db, rd):
    rd.rpush('l', 'a', 'b', 'a', 'c')
    t = table(db, 'w_list', 'list', 'l', LIST_I)
    assert run(db, "update %s set element = 'B' where index = 1" % t) == 1
    assert rd.lrange('l', 0, -1) == ['a', 'B', 'a', 'c']
    assert rows(db, "update %s set element = element || '!' where element = 'a' returning index, element"
                % t) == [(0, 'a!'), (2, 'a!')]
    assert rd.lrange('l', 0, -1) == ['a!', 'B', 'a!', 'c']


def test_list_update_of_index_is_refused(db, rd):
    rd.rpush('l', 'a', 'b')
    t = table(db, 'w_list', 'list', 'l', LIST_I)
    assert run(db, "update %s set element = 'A' where index = 0" % t) == 1
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        db.execute('update %s set index = 5 where index = 0' % t)
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        db.execute("update %s set index = index, element = 'x' where index = 1" % t)
    assert rd.lrange('l', 0, -1) == ['A', 'b']


def test_list_update_without_index_column_is_refused_with_a_hint(db, rd):
    rd.rpush('l', 'a', 'b')
    t = table(db, 'w_list', 'list', 'l')
    assert run(db, "insert into %s values ('c')" % t) == 1
    with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
        db.execute("update %s set element = 'z' where element = 'a'" % t)
    assert 'index bigint' in (e.value.diag.message_hint or '')
    assert rd.lrange('l', 0, -1) == ['a', 'b', 'c']


def test_list_update_to_null_is_23502(db, rd):
    rd.rpush('l', 'a', 'b')
    t = table(db, 'w_list', 'list', 'l', LIST_I)
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute('update %s set element = null where index = 1' % t)
    assert rd.lrange('l', 0, -1) == ['a', 'b']


# -- set ---------------------------------------------------------------------

def test_set_insert(db, rd):
    rd.sadd('s', 'a')
    t = table(db, 'w_set', 'set', 's')
    assert run(db, "insert into %s values ('b')" % t) == 1
    assert run(db, "insert into %s values ('c'), (''), ('é ✓')" % t) == 3
    assert run(db, "insert into %s select 'g' || g from generate_series(1, 150) g" % t) == 150
    assert rd.smembers('s') == {'a', 'b', 'c', '', 'é ✓'} | {'g%d' % i for i in range(1, 151)}


def test_set_insert_of_an_existing_member_is_23505(db, rd):
    rd.sadd('s', 'a', 'b')
    t = table(db, 'w_set', 'set', 's')
    with pytest.raises(psycopg.errors.UniqueViolation) as e:
        db.execute("insert into %s values ('x'), ('y'), ('a'), ('z')" % t)
    assert 'a' in str(e.value)
    assert rd.smembers('s') == {'a', 'b'}


def test_set_insert_of_a_member_twice_in_one_statement_is_23505(db, rd):
    rd.sadd('s', 'a')
    t = table(db, 'w_set', 'set', 's')
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("insert into %s values ('n'), ('m'), ('n')" % t)
    assert rd.smembers('s') == {'a'}


def test_set_on_conflict_do_nothing_skips(db, rd):
    rd.sadd('s', 'a', 'b')
    t = table(db, 's_set', 'set', 's')
    cur = db.execute("insert into %s values ('a'), ('n'), ('n'), ('b'), ('m') "
                     "on conflict do nothing returning element" % t)
    assert cur.rowcount == 2 and cur.fetchall() == [('n',), ('m',)]
    assert rd.smembers('s') == {'a', 'b', 'n', 'm'}


def test_set_insert_of_null_is_23502(db, rd):
    t = table(db, 'w_set', 'set', 's')
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("insert into %s values ('a'), (null)" % t)
    assert rd.exists('s') == 0


def test_set_update_renames_a_member(db, rd):
    rd.sadd('s', 'a', 'b', 'c')
    t = table(db, 'w_set', 'set', 's')
    assert rows(db, "update %s set element = 'B' where element = 'b' returning element" % t) == [('B',)]
    assert rd.smembers('s') == {'a', 'B', 'c'}
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("update %s set element = 'c' where element = 'a'" % t)
    assert rd.smembers('s') == {'a', 'B', 'c'}
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("update %s set element = null where element = 'a'" % t)
    assert rd.smembers('s') == {'a', 'B', 'c'}


def test_set_update_renaming_two_members_to_one_is_23505(db, rd):
    rd.sadd('s', 'a', 'b', 'c')
    t = table(db, 'w_set', 'set', 's')
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("update %s set element = 'z' where element in ('a', 'b')" % t)
    assert rd.smembers('s') == {'a', 'b', 'c'}


def test_set_delete(db, rd):
    rd.sadd('s', 'a', 'b', 'c', 'd')
    t = table(db, 'w_set', 'set', 's')
    assert run(db, "delete from %s where element in ('a', 'c', 'zz')" % t) == 2
    assert rd.smembers('s') == {'b', 'd'}
    assert rows(db, "delete from %s where element = 'b' returning *" % t) == [('b',)]
    assert run(db, 'delete from %s' % t) == 1
    assert rd.exists('s') == 0
    assert run(db, 'delete from %s' % t) == 0


# -- hash --------------------------------------------------------------------

def test_hash_insert(db, rd):
    rd.hset('h', 'a', '1')
    t = table(db, 'w_hash', 'hash', 'h')
    assert run(db, "insert into %s values ('b', '2')" % t) == 1
    assert run(db, "insert into %s (value, key) values ('3', 'c'), ('', '')" % t) == 2
    assert run(db, "insert into %s select 'k' || g, 'v' || g from generate_series(1, 120) g" % t) == 120
    assert rd.hgetall('h') == dict({'a': '1', 'b': '2', 'c': '3', '': ''},
                                   **{'k%d' % i: 'v%d' % i for i in range(1, 121)})


def test_hash_insert_of_an_existing_field_is_23505(db, rd):
    rd.hset('h', mapping={'a': '1', 'b': '2'})
    t = table(db, 'w_hash', 'hash', 'h')
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("insert into %s values ('x', '9'), ('y', '9'), ('a', '9')" % t)
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("insert into %s values ('x', '9'), ('x', '8')" % t)
    assert rd.hgetall('h') == {'a': '1', 'b': '2'}
    cur = db.execute("insert into %s values ('a', '9'), ('x', '9'), ('x', '8') on conflict do nothing" % t)
    assert cur.rowcount == 1
    assert rd.hgetall('h') == {'a': '1', 'b': '2', 'x': '9'}


@pytest.mark.parametrize('values', ["(null, 'v')", "('f', null)"])
def test_hash_insert_of_null_is_23502(db, rd, values):
    t = table(db, 'w_hash', 'hash', 'h')
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("insert into %s values ('ok', 'v'), %s" % (t, values))
    assert rd.exists('h') == 0


def test_hash_insert_of_an_omitted_value_is_23502(db, rd):
    t = table(db, 'w_hash', 'hash', 'h')
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("insert into %s (key) values ('f')" % t)
    assert rd.exists('h') == 0


def test_hash_update_value(db, rd):
    rd.hset('h', mapping={'a': '1', 'b': '2', 'c': '3'})
    t = table(db, 'w_hash', 'hash', 'h')
    assert run(db, "update %s set value = value || 'x' where key = 'a'" % t) == 1
    assert run(db, "update %s set value = 'n' where key <> 'a'" % t) == 2
    assert rd.hgetall('h') == {'a': '1x', 'b': 'n', 'c': 'n'}
    assert rows(db, "update %s set value = upper(value) where key = 'a' returning key, value" % t) == \
        [('a', '1X')]
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("update %s set value = null where key = 'b'" % t)
    assert rd.hgetall('h') == {'a': '1X', 'b': 'n', 'c': 'n'}


def test_hash_update_renames_a_field(db, rd):
    rd.hset('h', mapping={'a': '1', 'b': '2'})
    t = table(db, 'w_hash', 'hash', 'h')
    assert run(db, "update %s set key = 'A' where key = 'a'" % t) == 1
    assert rd.hgetall('h') == {'A': '1', 'b': '2'}
    assert rows(db, "update %s set key = 'B', value = '22' where key = 'b' returning *" % t) == [('B', '22')]
    assert rd.hgetall('h') == {'A': '1', 'B': '22'}
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("update %s set key = 'B' where key = 'A'" % t)
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("update %s set key = null where key = 'A'" % t)
    assert rd.hgetall('h') == {'A': '1', 'B': '22'}


def test_hash_update_swapping_two_fields_does_not_lose_one(db, rd):
    """Renames within one statement: a -> b while b -> a.  Either both apply (the
    hash reads swapped) or the statement fails with 23505; never one field lost."""
    rd.hset('h', mapping={'a': '1', 'b': '2'})
    t = table(db, 'w_hash', 'hash', 'h')
    try:
        db.execute("update %s set key = case key when 'a' then 'b' else 'a' end" % t)
    except psycopg.errors.UniqueViolation:
        assert rd.hgetall('h') == {'a': '1', 'b': '2'}
    else:
        assert rd.hgetall('h') == {'a': '2', 'b': '1'}


def test_hash_delete(db, rd):
    rd.hset('h', mapping={'a': '1', 'b': '2', 'c': '3'})
    t = table(db, 'w_hash', 'hash', 'h')
    assert rows(db, "delete from %s where key = 'a' returning *" % t) == [('a', '1')]
    assert run(db, "delete from %s where value = '3'" % t) == 1
    assert rd.hgetall('h') == {'b': '2'}


def test_hash_written_through_a_table_declaring_only_key(db, rd):
    rd.hset('h', mapping={'a': '1', 'b': '2'})
    t = table(db, 'w_hash_k', 'hash', 'h', 'key text')
    assert run(db, "delete from %s where key = 'a'" % t) == 1
    assert rd.hgetall('h') == {'b': '2'}
    with pytest.raises(psycopg.errors.NotNullViolation):      # no value to HSET
        db.execute("insert into %s values ('c')" % t)
    # A rename must write the field's value, which this table does not read.
    with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
        db.execute("update %s set key = 'B'" % t)
    assert 'value' in e.value.diag.message_hint
    assert rd.hgetall('h') == {'b': '2'}


# -- zset --------------------------------------------------------------------

def test_zset_insert_with_score(db, rd):
    rd.zadd('z', {'a': 1})
    t = table(db, 'w_zset', 'zset', 'z', ZSET_S)
    assert run(db, "insert into %s values ('b', 2.5), ('c', -1), ('i', 'Infinity'), ('j', '-Infinity')"
               % t) == 4
    assert rows(db, "insert into %s (element) values ('d') returning element, score" % t) == [('d', 0.0)]
    assert rows(db, "insert into %s values ('e', null) returning score" % t) == [(0.0,)]
    assert rows(db, "insert into %s values ('f', 1e300) returning score" % t) == [(1e300,)]
    assert rd.zrange('z', 0, -1, withscores=True) == [
        ('j', float('-inf')), ('c', -1.0), ('d', 0.0), ('e', 0.0), ('a', 1.0), ('b', 2.5),
        ('f', 1e300), ('i', float('inf'))]


def test_zset_insert_of_nan_is_22023(db, rd):
    t = table(db, 'w_zset', 'zset', 'z', ZSET_S)
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        db.execute("insert into %s values ('a', 1), ('b', 'NaN')" % t)
    assert rd.exists('z') == 0


def test_zset_insert_without_score_column(db, rd):
    t = table(db, 'w_zset', 'zset', 'z')
    assert run(db, "insert into %s values ('b'), ('a')" % t) == 2
    assert rd.zrange('z', 0, -1, withscores=True) == [('a', 0.0), ('b', 0.0)]


def test_zset_insert_conflicts(db, rd):
    rd.zadd('z', {'a': 1})
    t = table(db, 'w_zset', 'zset', 'z', ZSET_S)
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("insert into %s values ('b', 1), ('a', 5)" % t)
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("insert into %s values ('b', 1), ('b', 2)" % t)
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("insert into %s values ('b', 1), (null, 2)" % t)
    assert rd.zrange('z', 0, -1, withscores=True) == [('a', 1.0)]
    assert run(db, "insert into %s values ('a', 5), ('b', 2) on conflict do nothing" % t) == 1
    assert rd.zrange('z', 0, -1, withscores=True) == [('a', 1.0), ('b', 2.0)]


def test_zset_update_score_and_element(db, rd):
    rd.zadd('z', {'a': 1, 'b': 2, 'c': 3})
    t = table(db, 'w_zset', 'zset', 'z', ZSET_S)
    assert run(db, "update %s set score = score * 10 where element in ('a', 'b')" % t) == 2
    assert rd.zrange('z', 0, -1, withscores=True) == [('c', 3.0), ('a', 10.0), ('b', 20.0)]
    assert rows(db, "update %s set element = 'C' where element = 'c' returning *" % t) == [('C', 3.0)]
    assert rows(db, "update %s set element = 'A', score = 'Infinity' where element = 'a' returning *"
                % t) == [('A', float('inf'))]
    assert rd.zrange('z', 0, -1, withscores=True) == [('C', 3.0), ('b', 20.0), ('A', float('inf'))]
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("update %s set element = 'b' where element = 'C'" % t)
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        db.execute("update %s set score = 'NaN' where element = 'C'" % t)
    assert rd.zrange('z', 0, -1, withscores=True) == [('C', 3.0), ('b', 20.0), ('A', float('inf'))]


def test_zset_update_score_to_null_is_0_or_23502(db, rd):
    """The design gives an omitted or NULL score 0 on INSERT; an UPDATE to NULL
    must not write anything but a number."""
    rd.zadd('z', {'a': 1})
    t = table(db, 'w_zset', 'zset', 'z', ZSET_S)
    try:
        db.execute("update %s set score = null where element = 'a'" % t)
    except psycopg.errors.NotNullViolation:
        assert rd.zscore('z', 'a') == 1.0
    else:
        assert rd.zscore('z', 'a') == 0.0


def test_zset_delete(db, rd):
    rd.zadd('z', {'a': 1, 'b': 2, 'c': 3})
    t = table(db, 'w_zset', 'zset', 'z', ZSET_S)
    assert rows(db, "delete from %s where score >= 2 returning element, score" % t) == [('b', 2.0), ('c', 3.0)]
    assert rd.zrange('z', 0, -1) == ['a']
    t2 = table(db, 'w_zset2', 'zset', 'z')
    assert run(db, "delete from %s where element = 'a'" % t2) == 1
    assert rd.exists('z') == 0


# -- stream ------------------------------------------------------------------

def test_stream_insert_returns_the_ids_redis_holds(db, rd):
    rd.xadd('x', {'old': '1'})
    t = table(db, 'w_stream', 'stream', 'x')
    got = rows(db, """insert into %s (items) values ('{"a": "1"}'), ('{"b": "2", "c": ""}'),
                      ('{"a": "3"}') returning id, items""" % t)
    held = rd.xrange('x')[1:]
    assert got == [(i, f) for i, f in held]
    assert [f for _, f in held] == [{'a': '1'}, {'b': '2', 'c': ''}, {'a': '3'}]
    assert rows(db, """insert into %s (id, items) values (null, '{"d": "4"}') returning id""" % t) == \
        [(rd.xrange('x')[-1][0],)]
    assert run(db, """insert into %s (items) select jsonb_build_object('n', g::text)
                      from generate_series(1, 200) g""" % t) == 200
    assert [f for _, f in rd.xrange('x')][-200:] == [{'n': str(g)} for g in range(1, 201)]


def test_stream_insert_into_a_new_key(db, rd):
    t = table(db, 'w_stream', 'stream', 'x')
    (sid,), = rows(db, """insert into %s (items) values ('{"a": "1"}') returning id""" % t)
    assert rd.xrange('x') == [(sid, {'a': '1'})]


def test_stream_insert_with_explicit_ids(db, rd):
    rd.xadd('x', {'a': '1'}, id='5-1')
    t = table(db, 'w_stream', 'stream', 'x')
    assert rows(db, """insert into %s values ('5-2', '{"b": "2"}'), ('7', '{"c": "3"}') returning id"""
                % t) == [('5-2',), ('7-0',)]            # as Redis holds it
    assert rd.xrange('x') == [('5-1', {'a': '1'}), ('5-2', {'b': '2'}), ('7-0', {'c': '3'})]


@pytest.mark.parametrize('bad_id', ['5-1', '4-9', '0-0', 'abc', '1-x', '-1', '5-1-1', ''])
def test_stream_insert_of_a_bad_id_is_22023(db, rd, bad_id):
    rd.xadd('x', {'a': '1'}, id='5-1')
    t = table(db, 'w_stream', 'stream', 'x')
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        db.execute("""insert into %s values ('9-0', '{"ok": "1"}'), (%%s, '{"b": "2"}')""" % t, (bad_id,))
    assert rd.xrange('x') == [('5-1', {'a': '1'})]


@pytest.mark.parametrize('items', ['[]', '["a", "b"]', '{}', '{"a": 1}', '{"a": {"b": "c"}}',
                                   '{"a": null}', '"a"', '1'])
def test_stream_insert_of_items_of_the_wrong_shape_is_22023(db, rd, items):
    t = table(db, 'w_stream', 'stream', 'x')
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        db.execute("""insert into %s (items) values ('{"ok": "1"}'), (%%s)""" % t, (items,))
    assert rd.exists('x') == 0


def test_stream_insert_of_null_items_is_23502(db, rd):
    t = table(db, 'w_stream', 'stream', 'x')
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("insert into %s (id) values ('1-1')" % t)
    assert rd.exists('x') == 0


def test_stream_update_is_refused(db, rd):
    sid = rd.xadd('x', {'a': '1'})
    t = table(db, 'w_stream', 'stream', 'x')
    (sid2,), = rows(db, """insert into %s (items) values ('{"b": "1"}') returning id""" % t)
    with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
        db.execute("""update %s set items = '{"a": "2"}'""" % t)
    assert 'append-only' in str(e.value)
    assert rd.xrange('x') == [(sid, {'a': '1'}), (sid2, {'b': '1'})]


def test_stream_delete(db, rd):
    ids = [rd.xadd('x', {'n': str(i)}) for i in range(5)]
    t = table(db, 'w_stream', 'stream', 'x')
    assert run(db, 'delete from %s where id = %%s' % t, ids[1]) == 1
    assert rows(db, "delete from %s where items->>'n' in ('3', '4') returning id" % t) == \
        [(ids[3],), (ids[4],)]
    assert [i for i, _ in rd.xrange('x')] == [ids[0], ids[2]]
    # XDEL keeps the last id: a new entry still gets a greater one.
    (sid,), = rows(db, """insert into %s (items) values ('{"n": "5"}') returning id""" % t)
    assert tuple(map(int, sid.split('-'))) > tuple(map(int, ids[4].split('-')))


# -- multi_* -----------------------------------------------------------------

MULTI = [('multi_list', '["b", "a", "b"]', lambda rd, k: rd.lrange(k, 0, -1), ['b', 'a', 'b']),
         ('multi_set', '["b", "a"]', lambda rd, k: rd.smembers(k), {'a', 'b'}),
         ('multi_hash', '{"f": "1", "g": ""}', lambda rd, k: rd.hgetall(k), {'f': '1', 'g': ''}),
         ('multi_zset', '["c", "a", "b"]', lambda rd, k: rd.zrange(k, 0, -1, withscores=True),
          [('c', 0.0), ('a', 1.0), ('b', 2.0)])]
MULTI_IDS = [m[0] for m in MULTI]
REDIS_TYPE = {'multi_list': 'list', 'multi_set': 'set', 'multi_hash': 'hash', 'multi_zset': 'zset'}


@pytest.mark.parametrize('src_type, items, read, expected', MULTI, ids=MULTI_IDS)
def test_multi_insert(db, rd, src_type, items, read, expected):
    t = table(db, 'w_' + src_type, src_type, 'm:*')
    assert run(db, "insert into %s values ('m:1', %%s), ('m:2', %%s)" % t, items, items) == 2
    for k in ('m:1', 'm:2'):
        assert rd.type(k) == REDIS_TYPE[src_type] and read(rd, k) == expected
    got = rows(db, "select items from %s where key = 'm:1'" % t)[0][0]     # reads back as written
    if src_type == 'multi_set':
        assert sorted(got) == sorted(expected)
    else:
        assert got == ([e for e, _ in expected] if src_type == 'multi_zset' else expected)
    assert rows(db, "insert into %s values ('m:3', %%s) returning key" % t, items) == [('m:3',)]


@pytest.mark.parametrize('src_type, items, read, expected', MULTI, ids=MULTI_IDS)
def test_multi_insert_of_an_existing_key_is_23505(db, rd, src_type, items, read, expected):
    rd.set('m:str', 'x')                                  # any type: the key exists
    t = table(db, 'w_' + src_type, src_type, 'm:*')
    run(db, "insert into %s values ('m:1', %%s)" % t, items)
    before = snapshot(rd)
    for dup in ("('m:9', %s), ('m:1', %s)", "('m:9', %s), ('m:9', %s)", "('m:9', %s), ('m:str', %s)"):
        with pytest.raises(psycopg.errors.UniqueViolation):
            db.execute('insert into %s values %s' % (t, dup), (items, items))
        assert snapshot(rd) == before
    assert run(db, "insert into %s values ('m:1', %%s), ('m:9', %%s), ('m:9', %%s) on conflict do nothing"
               % t, items, items, items) == 1
    assert read(rd, 'm:9') == expected


@pytest.mark.parametrize('src_type', MULTI_IDS)
def test_multi_insert_outside_the_pattern_writes_nothing(db, rd, src_type):
    rd.set('other', 'keep')
    items = '{"f": "v"}' if src_type == 'multi_hash' else '["v"]'
    t = table(db, 'w_' + src_type, src_type, 'm:*')
    for key in ('other', 'm', 'x:m:1', 'M:1'):
        with pytest.raises(psycopg.errors.CheckViolation) as e:
            db.execute("insert into %s values ('m:1', %%s), ('m:2', %%s), (%%s, %%s)" % t,
                       (items, items, key, items))
        assert key in str(e.value)
        assert rd.keys('*') == ['other'] and rd.get('other') == 'keep'


def test_multi_pattern_with_escapes(db, rd):
    t = table(db, 'w_ml', 'multi_list', r'k\*?\?*')
    assert run(db, """insert into %s values ('k*a?', '["1"]'), ('k*b?-x', '["2"]')""" % t) == 2
    for key in ('kxa?', 'k*ab', 'k*?', 'k*'):
        with pytest.raises(psycopg.errors.CheckViolation):
            db.execute("""insert into %s values (%%s, '["3"]')""" % t, (key,))
    assert sorted(rd.keys('*')) == ['k*a?', 'k*b?-x']


def test_multi_pattern_with_a_set_writes_by_the_glob_or_not_at_all(db, rd):
    """[sets] in a pattern: either matched as Redis's glob does, or every write
    refused (0A000) before anything is written."""
    t = table(db, 'w_ml', 'multi_list', 'k[ab]:*')
    try:
        assert run(db, """insert into %s values ('ka:1', '["1"]'), ('kb:2', '["2"]')""" % t) == 2
    except psycopg.errors.FeatureNotSupported:
        assert rd.keys('*') == []
        return
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("""insert into %s values ('kc:1', '["3"]')""" % t)
    assert sorted(rd.keys('*')) == ['ka:1', 'kb:2']


@pytest.mark.parametrize('src_type', MULTI_IDS)
def test_multi_insert_of_nulls_is_23502(db, rd, src_type):
    items = '{"f": "v"}' if src_type == 'multi_hash' else '["v"]'
    t = table(db, 'w_' + src_type, src_type, 'm:*')
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("insert into %s values ('m:1', %%s), (null, %%s)" % t, (items, items))
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("insert into %s values ('m:1', %%s), ('m:2', null)" % t, (items,))
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("insert into %s (key) values ('m:3')" % t)
    assert rd.keys('*') == []


ARRAY_BAD = ['{"a": "b"}', '[1]', '["a", 2]', '[["a"]]', '[{"a": "b"}]', '[null]', '[]', '"a"', '3', 'null']
OBJECT_BAD = ['["a"]', '{"a": 1}', '{"a": ["b"]}', '{"a": null}', '{}', '"a"', 'true', 'null']


@pytest.mark.parametrize('src_type, bad', [(s, b) for s in ('multi_list', 'multi_set', 'multi_zset')
                                           for b in ARRAY_BAD] +
                         [('multi_hash', b) for b in OBJECT_BAD])
def test_multi_items_of_the_wrong_shape_are_22023_naming_the_key(db, rd, src_type, bad):
    good = '{"f": "v"}' if src_type == 'multi_hash' else '["v"]'
    t = table(db, 'w_' + src_type, src_type, 'm:*')
    with pytest.raises(psycopg.errors.InvalidParameterValue) as e:
        db.execute("insert into %s values ('m:1', %%s), ('m:bad', %%s)" % t, (good, bad))
    assert 'm:bad' in str(e.value) + (e.value.diag.context or '') + (e.value.diag.message_detail or '')
    assert rd.keys('*') == []


def test_multi_set_with_repeated_members_is_22023(db, rd):
    t = table(db, 'w_ms', 'multi_set', 'm:*')
    with pytest.raises(psycopg.errors.InvalidParameterValue) as e:
        db.execute("""insert into %s values ('m:dup', '["a", "b", "a"]')""" % t)
    assert 'm:dup' in str(e.value) + (e.value.diag.context or '') + (e.value.diag.message_detail or '')
    assert rd.keys('*') == []


@pytest.mark.parametrize('src_type, items, read, expected', MULTI, ids=MULTI_IDS)
def test_multi_update_items_replaces_the_key(db, rd, src_type, items, read, expected):
    new = '{"z": "26"}' if src_type == 'multi_hash' else '["z", "y"]'
    t = table(db, 'w_' + src_type, src_type, 'm:*')
    run(db, "insert into %s values ('m:1', %%s), ('m:2', %%s)" % t, items, items)
    assert run(db, "update %s set items = %%s where key = 'm:1'" % t, new) == 1
    after = {'multi_list': ['z', 'y'], 'multi_set': {'z', 'y'}, 'multi_hash': {'z': '26'},
             'multi_zset': [('z', 0.0), ('y', 1.0)]}[src_type]
    assert read(rd, 'm:1') == after and read(rd, 'm:2') == expected
    assert rd.type('m:1') == REDIS_TYPE[src_type]
    bad = '["a"]' if src_type == 'multi_hash' else '{"a": "b"}'
    before = snapshot(rd)
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        db.execute("update %s set items = %%s where key = 'm:2'" % t, (bad,))
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("update %s set items = null where key = 'm:2'" % t)
    assert snapshot(rd) == before


@pytest.mark.parametrize('src_type, items, read, expected', MULTI, ids=MULTI_IDS)
def test_multi_update_key_renames(db, rd, src_type, items, read, expected):
    rd.set('m:str', 'x')
    t = table(db, 'w_' + src_type, src_type, 'm:*')
    run(db, "insert into %s values ('m:1', %%s), ('m:2', %%s)" % t, items, items)
    assert rows(db, "update %s set key = 'm:new' where key = 'm:1' returning key" % t) == [('m:new',)]
    assert rd.exists('m:1') == 0 and read(rd, 'm:new') == expected
    before = snapshot(rd)
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("update %s set key = 'elsewhere' where key = 'm:new'" % t)
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("update %s set key = 'm:2' where key = 'm:new'" % t)
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("update %s set key = 'm:str' where key = 'm:new'" % t)
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("update %s set key = null where key = 'm:new'" % t)
    assert snapshot(rd) == before


@pytest.mark.parametrize('src_type, items, read, expected', MULTI, ids=MULTI_IDS)
def test_multi_delete(db, rd, src_type, items, read, expected):
    rd.set('m:str', 'x')
    t = table(db, 'w_' + src_type, src_type, 'm:*')
    run(db, "insert into %s values ('m:1', %%s), ('m:2', %%s), ('m:3', %%s)" % t, items, items, items)
    assert run(db, "delete from %s where key in ('m:1', 'm:3', 'm:str', 'm:none')" % t) == 2
    assert sorted(rd.keys('*')) == ['m:2', 'm:str']
    assert rows(db, 'delete from %s returning key' % t) == [('m:2',)]
    assert rd.keys('*') == ['m:str']


# -- joins: UPDATE ... FROM, DELETE ... USING --------------------------------

@pytest.fixture
def local(db):
    db.execute('drop table if exists w_local')
    db.execute('create table w_local (k text, v text)')
    yield 'w_local'
    db.execute('drop table if exists w_local')


def test_update_from_a_local_table(db, rd, local):
    rd.hset('h', mapping={'a': '1', 'b': '2', 'c': '3'})
    db.execute("insert into w_local values ('a', 'A'), ('c', 'C'), ('zz', 'Z')")
    t = table(db, 'w_hash', 'hash', 'h')
    assert run(db, 'update %s h set value = l.v from w_local l where h.key = l.k' % t) == 2
    assert rd.hgetall('h') == {'a': 'A', 'b': '2', 'c': 'C'}


def test_update_from_a_join_that_matches_a_row_twice_updates_it_once(db, rd, local):
    rd.hset('h', mapping={'a': '1', 'b': '2'})
    db.execute("insert into w_local values ('a', 'X'), ('a', 'Y')")
    t = table(db, 'w_hash', 'hash', 'h')
    assert run(db, 'update %s h set value = l.v from w_local l where h.key = l.k' % t) == 1
    assert rd.hget('h', 'a') in ('X', 'Y') and rd.hget('h', 'b') == '2'


def test_delete_using_a_local_table(db, rd, local):
    rd.sadd('s', 'a', 'b', 'c')
    db.execute("insert into w_local values ('a', ''), ('c', ''), ('c', ''), ('zz', '')")
    t = table(db, 'w_set', 'set', 's')
    assert run(db, 'delete from %s s using w_local l where s.element = l.k' % t) == 2
    assert rd.smembers('s') == {'b'}


def test_delete_list_positions_using_a_local_table(db, rd, local):
    rd.rpush('l', 'x', 'y', 'x', 'z')
    db.execute("insert into w_local values ('2', ''), ('0', ''), ('2', '')")
    t = table(db, 'w_list', 'list', 'l', LIST_I)
    assert run(db, 'delete from %s s using w_local l where s.index = l.k::bigint' % t) == 2
    assert rd.lrange('l', 0, -1) == ['y', 'z']


def test_update_zset_from_a_subquery(db, rd, local):
    rd.zadd('z', {'a': 1, 'b': 2})
    db.execute("insert into w_local values ('a', '10'), ('b', '20')")
    t = table(db, 'w_zset', 'zset', 'z', ZSET_S)
    assert run(db, 'update %s z set score = l.v::float8 + z.score from w_local l where l.k = z.element' % t) == 2
    assert rd.zrange('z', 0, -1, withscores=True) == [('a', 11.0), ('b', 22.0)]


def test_insert_select_from_another_redis_table(db, rd):
    rd.hset('h', mapping={'a': '1', 'b': '2'})
    src = table(db, 'w_hash', 'hash', 'h')
    dst = table(db, 'w_zset', 'zset', 'z', ZSET_S)
    assert run(db, 'insert into %s select key, value::float8 from %s' % (dst, src)) == 2
    assert rd.zrange('z', 0, -1, withscores=True) == [('a', 1.0), ('b', 2.0)]


def test_copy_a_key_into_itself(db, rd):
    """INSERT ... SELECT from the same list: the scan reads the list as it was."""
    rd.rpush('l', 'a', 'b')
    t = table(db, 'w_list', 'list', 'l')
    assert run(db, 'insert into %s select element from %s' % (t, t)) == 2
    assert rd.lrange('l', 0, -1) == ['a', 'b', 'a', 'b']


# -- TRUNCATE ----------------------------------------------------------------

@pytest.mark.parametrize('src_type', ['list', 'set', 'hash', 'zset', 'stream'])
def test_truncate_deletes_the_key(db, rd, src_type):
    {'list': lambda: rd.rpush('k', 'a'), 'set': lambda: rd.sadd('k', 'a'),
     'hash': lambda: rd.hset('k', 'a', 'b'), 'zset': lambda: rd.zadd('k', {'a': 1}),
     'stream': lambda: rd.xadd('k', {'a': 'b'})}[src_type]()
    rd.set('other', 'keep')
    t = table(db, 'w_' + src_type, src_type, 'k')
    db.execute('truncate %s' % t)
    assert rd.keys('*') == ['other']
    db.execute('truncate %s' % t)                 # a missing key: nothing to do


def test_truncate_of_a_key_of_another_type_is_42809(db, rd):
    rd.hset('k', 'a', 'b')
    t = table(db, 'w_list', 'list', 'k')
    with pytest.raises(psycopg.errors.WrongObjectType):
        db.execute('truncate %s' % t)
    assert rd.hgetall('k') == {'a': 'b'}


def test_truncate_of_a_multi_table_deletes_its_keys_of_its_type(db, rd):
    rd.rpush('m:1', 'a')
    rd.rpush('m:2', 'b')
    rd.sadd('m:3', 'c')                            # matches, other type: kept
    rd.rpush('n:1', 'd')                           # outside the pattern: kept
    rd.rpush('m', 'e')
    t = table(db, 'w_ml', 'multi_list', 'm:*')
    db.execute('truncate %s' % t)
    assert sorted(rd.keys('*')) == ['m', 'm:3', 'n:1']


def test_truncate_of_two_tables(db, rd):
    rd.rpush('a', '1')
    rd.sadd('b', '2')
    rd.set('c', '3')
    t1, t2 = table(db, 'w_l', 'list', 'a'), table(db, 'w_s', 'set', 'b')
    db.execute('truncate %s, %s' % (t1, t2))
    assert rd.keys('*') == ['c']


# -- COPY FROM STDIN ---------------------------------------------------------

def test_copy_from_stdin(db, rd):
    rd.rpush('l', 'first')
    tl = table(db, 'w_list', 'list', 'l')
    th = table(db, 'w_hash', 'hash', 'h')
    tx = table(db, 'w_stream', 'stream', 'x')
    with db.cursor() as cur:
        with cur.copy('copy %s from stdin' % tl) as cp:
            for i in range(1000):
                cp.write_row(('e%d' % i,))
        assert cur.rowcount == 1000
        with cur.copy('copy %s (key, value) from stdin' % th) as cp:
            for i in range(300):
                cp.write_row(('f%d' % i, 'tab\there "q" \\ é'))
        with cur.copy('copy %s (items) from stdin' % tx) as cp:
            cp.write_row(('{"a": "1"}',))
            cp.write_row(('{"b": "2"}',))
    assert rd.lrange('l', 0, -1) == ['first'] + ['e%d' % i for i in range(1000)]
    assert rd.hgetall('h') == {'f%d' % i: 'tab\there "q" \\ é' for i in range(300)}
    assert [f for _, f in rd.xrange('x')] == [{'a': '1'}, {'b': '2'}]


def test_copy_with_a_duplicate_writes_nothing(db, rd):
    t = table(db, 'w_set', 'set', 's')
    with pytest.raises(psycopg.errors.UniqueViolation):
        with db.cursor() as cur, cur.copy('copy %s from stdin' % t) as cp:
            for i in range(500):
                cp.write_row(('m%d' % i,))
            cp.write_row(('m7',))
    assert rd.exists('s') == 0


# -- batch_size --------------------------------------------------------------

@pytest.mark.parametrize('batch_size', [1, 7, 100, 10000])
def test_batch_size_gives_the_same_results(db, rd, batch_size):
    tl = table(db, 'w_list', 'list', 'l')
    th = table(db, 'w_hash', 'hash', 'h')
    tz = table(db, 'w_zset', 'zset', 'z', ZSET_S)
    tx = table(db, 'w_stream', 'stream', 'x')
    for t in (tl, th, tz, tx):
        options(db, t, batch_size=batch_size)
    assert run(db, "insert into %s select 'v' || g from generate_series(1, 250) g" % tl) == 250
    assert run(db, "insert into %s select 'k' || g, g::text from generate_series(1, 250) g" % th) == 250
    assert run(db, "insert into %s select 'e' || g, g from generate_series(1, 250) g" % tz) == 250
    assert run(db, "insert into %s (items) select jsonb_build_object('g', g::text) "
                   "from generate_series(1, 250) g" % tx) == 250
    assert rd.lrange('l', 0, -1) == ['v%d' % g for g in range(1, 251)]
    assert rd.hgetall('h') == {'k%d' % g: str(g) for g in range(1, 251)}
    assert rd.zrange('z', 0, -1, withscores=True) == [('e%d' % g, float(g)) for g in range(1, 251)]
    assert [f for _, f in rd.xrange('x')] == [{'g': str(g)} for g in range(1, 251)]
    # A duplicate in a later batch still fails the whole statement.
    before = snapshot(rd)
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("insert into %s select 'n' || g, 'x' from generate_series(1, 20) g "
                   "union all select 'k250', 'x'" % th)
    assert snapshot(rd) == before


def test_batch_size_on_the_server(db, rd):
    db.execute("alter server redis_server options (add batch_size '3')")
    try:
        t = table(db, 'w_set', 'set', 's')
        assert run(db, "insert into %s select g::text from generate_series(1, 10) g" % t) == 10
        assert rd.smembers('s') == {str(g) for g in range(1, 11)}
    finally:
        db.execute("alter server redis_server options (drop batch_size)")


@pytest.mark.parametrize('option, value', [('batch_size', '0'), ('batch_size', '10001'),
                                           ('batch_size', 'x'), ('batch_size', '-1'),
                                           ('transactional', 'maybe')])
def test_bad_write_options_are_refused(db, option, value):
    t = table(db, 'w_list', 'list', 'l')
    with pytest.raises(psycopg.Error) as e:
        db.execute("alter foreign table %s options (add %s '%s')" % (t, option, value))
    assert e.value.sqlstate in ('HV024', '22023', '42601')   # 42601: PostgreSQL's own boolean check


# -- types and keys ------------------------------------------------------------

@pytest.mark.parametrize('src_type, stmt', [
    ('list', "insert into {} values ('a')"),
    ('set', "insert into {} values ('a')"),
    ('hash', "insert into {} values ('a', 'b')"),
    ('zset', "insert into {} values ('a')"),
    ('stream', """insert into {} (items) values ('{{"a": "b"}}')"""),
])
def test_a_key_of_another_type_is_42809_naming_it(db, rd, src_type, stmt):
    rd.set('wrong:key', 'string value')
    t = table(db, 'w_' + src_type, src_type, 'wrong:key')
    with pytest.raises(psycopg.errors.WrongObjectType) as e:
        db.execute(stmt.format(t))
    assert 'wrong:key' in str(e.value)
    assert rd.get('wrong:key') == 'string value'


def test_awkward_strings_round_trip(db, rd):
    awkward = ['quote " backslash \\', 'ctl \x01\x1f\x7f', 'nl\n cr\r', 'ünïcödé ✓ 😀', '', ' ']
    tl = table(db, 'w_list', 'list', 'l')
    th = table(db, 'w_hash', 'hash', 'h')
    tm = table(db, 'w_mh', 'multi_hash', 'm:*')
    for s in awkward:
        db.execute('insert into %s values (%%s)' % tl, (s,))
        db.execute('insert into %s values (%%s, %%s)' % th, (s + '!', s))
    db.execute('insert into %s values (%%s, %%s)' % tm,
               ('m:1', psycopg.types.json.Jsonb({s + '?': s for s in awkward})))
    assert rd.lrange('l', 0, -1) == awkward
    assert rd.hgetall('h') == {s + '!': s for s in awkward}
    assert rd.hgetall('m:1') == {s + '?': s for s in awkward}


def test_a_key_in_another_database(db, r, redis_server):
    db.execute('drop server if exists wt_db3 cascade')
    db.execute("create server wt_db3 foreign data wrapper redis_wrapper options (conn_url '%s/3')"
               % redis_server.url)
    try:
        t = table(db, 'w_db3_l', 'list', 'l', server='wt_db3')
        db.execute("insert into %s values ('in3')" % t)
        assert r.exists('l') == 0
        c3 = redis_server.client(db=3)
        assert c3.lrange('l', 0, -1) == [b'in3']
        c3.flushdb()
        c3.close()
    finally:
        db.execute('drop server wt_db3 cascade')


# -- EXPLAIN -----------------------------------------------------------------

def plan(db, query):
    return '\n'.join(row[0] for row in rows(db, 'explain ' + query))


def write_line(text):
    lines = [line for line in text.splitlines() if 'Redis Write' in line]
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize('src_type, columns, stmt, command', [
    ('list', None, "insert into {} values ('a')", 'RPUSH'),
    ('list', LIST_I, "update {} set element = 'b' where index = 0", 'LSET'),
    ('list', None, "delete from {} where element = 'a'", 'LREM'),
    ('set', None, "insert into {} values ('a')", 'SADD'),
    ('set', None, "delete from {} where element = 'a'", 'SREM'),
    ('hash', None, "insert into {} values ('a', 'b')", 'HSET'),
    ('hash', None, "update {} set value = 'b' where key = 'a'", 'HSET'),
    ('hash', None, "delete from {}", 'HDEL'),
    ('zset', ZSET_S, "update {} set score = 1", 'ZADD'),
    ('zset', None, "delete from {}", 'ZREM'),
    ('stream', None, """insert into {} (items) values ('{{"a": "b"}}')""", 'XADD'),
    ('stream', None, "delete from {}", 'XDEL'),
    ('multi_hash', None, """insert into {} values ('m:1', '{{"a": "b"}}')""", 'HSET'),
    ('multi_list', None, "delete from {}", 'DEL'),
])
def test_explain_shows_the_write(db, rd, src_type, columns, stmt, command):
    t = table(db, 'w_' + src_type, src_type, 'm:*' if src_type.startswith('multi_') else 'k', columns)
    line = write_line(plan(db, stmt.format(t)))
    assert command in line and 'statement end' in line
    assert rd.keys('*') == []                      # EXPLAIN writes nothing


def test_explain_of_a_transactional_table_says_at_commit(db, rd):
    t = table(db, 'w_set', 'set', 's')
    options(db, t, transactional='true')
    assert 'commit' in write_line(plan(db, "insert into %s values ('a')" % t))


def test_explain_analyze_writes_and_shows_it(db, rd):
    t = table(db, 'w_set', 'set', 's')
    text = plan(db, "(analyze, costs off, timing off, summary off) insert into %s values ('a'), ('b')" % t)
    assert 'SADD' in write_line(text)
    assert rd.smembers('s') == {'a', 'b'}


# -- triggers, prepared statements, volume -----------------------------------

def test_an_after_trigger_sees_the_row_as_redis_holds_it(db, rd, local):
    t = table(db, 'w_stream', 'stream', 'x')
    db.execute("""create or replace function w_log() returns trigger language plpgsql as $$
                  begin insert into w_local values (new.id, new.items::text); return new; end $$""")
    db.execute('create trigger w_log after insert on %s for each row execute function w_log()' % t)
    try:
        assert run(db, """insert into %s (items) values ('{"a": "1"}'), ('{"b": "2"}')""" % t) == 2
        assert rows(db, 'select k, v::jsonb from w_local') == [(i, f) for i, f in rd.xrange('x')]
    finally:
        db.execute('drop trigger w_log on %s' % t)
        db.execute('drop function w_log()')


def test_prepared_writes_with_parameters(db, rd):
    th = table(db, 'w_hash', 'hash', 'h')
    tl = table(db, 'w_list', 'list', 'l', LIST_I)
    for i in range(8):                   # past psycopg's prepare threshold and PostgreSQL's 5 custom plans
        db.execute('insert into %s values (%%s, %%s)' % th, ('f%d' % i, 'v%d' % i), prepare=True)
        db.execute('insert into %s (element) values (%%s)' % tl, ('e%d' % i,), prepare=True)
    for i in range(8):
        db.execute('update %s set value = value || %%s where key = %%s' % th, ('!', 'f%d' % i), prepare=True)
        db.execute('delete from %s where index = %%s' % tl, (0,), prepare=True)
    assert rd.hgetall('h') == {'f%d' % i: 'v%d!' % i for i in range(8)}
    assert rd.exists('l') == 0


def test_insert_select_of_a_set_into_itself_on_conflict_do_nothing(db, rd):
    rd.sadd('s', 'a', 'b')
    t = table(db, 'w_set', 'set', 's')
    assert run(db, 'insert into %s select element from %s on conflict do nothing' % (t, t)) == 0
    assert run(db, "insert into %s select element || '2' from %s on conflict do nothing" % (t, t)) == 2
    assert rd.smembers('s') == {'a', 'b', 'a2', 'b2'}


@pytest.mark.slow
def test_200k_rows_in_one_statement(db, rd):
    tl = table(db, 'w_list', 'list', 'l')
    th = table(db, 'w_hash', 'hash', 'h')
    assert run(db, "insert into %s select 'v' || g from generate_series(1, 200000) g" % tl) == 200000
    assert run(db, "insert into %s select 'k' || g, 'v' || g from generate_series(1, 200000) g" % th) == 200000
    assert rd.llen('l') == 200000 and rd.lindex('l', 123456) == 'v123457'
    assert rd.hlen('h') == 200000 and rd.hget('h', 'k77777') == 'v77777'
    assert run(db, "update %s set value = 'x' where key like 'k1%%'" % th) == 111111
    assert run(db, "delete from %s where key like 'k2%%'" % th) == 11112
    assert rd.hlen('h') == 200000 - 11112 and rd.hget('h', 'k199') == 'x'


def test_column_defaults_fill_omitted_columns(db, rd):
    tz = table(db, 'w_zset', 'zset', 'z', ZSET_S)
    db.execute('alter foreign table %s alter column score set default 5' % tz)
    assert rows(db, "insert into %s (element) values ('d') returning *" % tz) == [('d', 5.0)]
    assert rows(db, "insert into %s values ('e', default) returning score" % tz) == [(5.0,)]
    th = table(db, 'w_hash', 'hash', 'h')
    db.execute("alter foreign table %s alter column key set default 'dk', alter column value set default 'dv'"
               % th)
    assert run(db, 'insert into %s default values' % th) == 1
    assert rd.zrange('z', 0, -1, withscores=True) == [('d', 5.0), ('e', 5.0)]
    assert rd.hgetall('h') == {'dk': 'dv'}


def test_returning_items_as_redis_holds_them(db, rd):
    tx = table(db, 'w_stream', 'stream', 'x')
    (sid, items), = rows(db, """insert into %s (items) values ('{"a": "1", "b": ""}') returning *""" % tx)
    assert items == {'a': '1', 'b': ''} and rd.xrange('x') == [(sid, items)]
    assert rows(db, 'delete from %s returning *' % tx) == [(sid, {'a': '1', 'b': ''})]
    tm = table(db, 'w_mh', 'multi_hash', 'm:*')
    assert rows(db, """insert into %s values ('m:1', '{"a": "1"}') returning *""" % tm) == [('m:1', {'a': '1'})]
    assert rows(db, """update %s set items = '{"c": "d"}' returning items""" % tm) == [({'c': 'd'},)]
    assert rows(db, 'delete from %s returning items' % tm) == [({'c': 'd'},)]
    tl = table(db, 'w_ml', 'multi_list', 'n:*')
    assert rows(db, """insert into %s values ('n:1', '["b", "a"]') returning *""" % tl) == [('n:1', ['b', 'a'])]
    assert rows(db, 'delete from %s returning items' % tl) == [(['b', 'a'],)]


@pytest.mark.parametrize('src_type, columns, key, load, stmt', [
    ('set', None, 's', lambda rd: rd.sadd('s', 'a', 'b'), 'update {} set element = element'),
    ('hash', None, 'h', lambda rd: rd.hset('h', mapping={'a': '1', 'b': '2'}), 'update {} set key = key'),
    ('zset', ZSET_S, 'z', lambda rd: rd.zadd('z', {'a': 1, 'b': 2}), 'update {} set element = element'),
    ('multi_list', None, 'm:*', lambda rd: (rd.rpush('m:1', 'x'), rd.rpush('m:2', 'y')), 'update {} set key = key'),
    ('multi_hash', None, 'm:*', lambda rd: (rd.hset('m:1', 'x', 'y'), rd.hset('m:2', 'y', 'z')),
     'update {} set key = key, items = items'),
])
def test_an_update_to_the_same_identity_is_no_conflict(db, rd, src_type, columns, key, load, stmt):
    """PostgreSQL updates a row to its own key without a unique violation."""
    load(rd)
    before = snapshot(rd)
    t = table(db, 'w_' + src_type, src_type, key, columns)
    assert run(db, stmt.format(t)) == 2
    assert snapshot(rd) == before


def test_multi_zset_items_repeated_are_22023(db, rd):
    """A sorted set holds a member once: ["a", "b", "a"] cannot read back as written."""
    t = table(db, 'w_mz', 'multi_zset', 'm:*')
    with pytest.raises(psycopg.errors.InvalidParameterValue) as e:
        db.execute("""insert into %s values ('m:dup', '["a", "b", "a"]')""" % t)
    assert 'm:dup' in str(e.value) + (e.value.diag.context or '') + (e.value.diag.message_detail or '')
    assert rd.keys('*') == []


def test_truncate_of_a_multi_table_with_thousands_of_keys(db, rd):
    with rd.pipeline(transaction=False) as p:
        for i in range(5000):
            p.sadd('m:%d' % i, 'x')
        p.set('m:string', 'kept')
        p.execute()
    t = table(db, 'w_ms', 'multi_set', 'm:*')
    db.execute('truncate %s' % t)
    assert rd.keys('*') == ['m:string']


def test_update_from_the_same_redis_table(db, rd):
    rd.hset('h', mapping={'a': '1', 'b': '2'})
    t = table(db, 'w_hash', 'hash', 'h')
    assert run(db, "update %s h set value = h2.value from %s h2 where h.key = 'a' and h2.key = 'b'" % (t, t)) == 1
    assert rd.hgetall('h') == {'a': '2', 'b': '2'}
    assert run(db, "delete from %s h using %s h2 where h.value = h2.value and h.key < h2.key" % (t, t)) == 1
    assert rd.hgetall('h') == {'b': '2'}


def test_the_last_of_5000_rows_failing_writes_nothing(db, rd):
    rd.hset('h', 'k4999', 'old')
    t = table(db, 'w_hash', 'hash', 'h')
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("insert into %s select 'k' || g, 'v' from generate_series(0, 4999) g" % t)
    assert rd.hgetall('h') == {'k4999': 'old'}


def test_on_conflict_do_nothing_on_a_list_and_a_stream_inserts_everything(db, rd):
    rd.rpush('l', 'a')
    tl = table(db, 'w_list', 'list', 'l')
    tx = table(db, 'w_stream', 'stream', 'x')
    assert run(db, "insert into %s values ('a'), ('a') on conflict do nothing" % tl) == 2
    assert run(db, """insert into %s (items) values ('{"a": "1"}'), ('{"a": "1"}') on conflict do nothing"""
               % tx) == 2
    assert rd.lrange('l', 0, -1) == ['a', 'a', 'a'] and rd.xlen('x') == 2
