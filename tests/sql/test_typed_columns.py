"""Typed columns (issue 13, item 3): an element, value, field, member, key or id
column of any type with an input function, read with that function and written
with its output function; bytea columns as the raw bytes; text[] and bytea[]
items on multi_list, multi_set and multi_zset.  Conversion failures carry the
type's SQLSTATE, the Redis key (and field) and the value escaped; clauses on a
typed column are pushed only where Redis string equality is the type's.
"""
import datetime
import decimal
import uuid

import psycopg
import pytest

from conftest import rows, table


@pytest.fixture
def types(db):
    db.execute('drop type if exists redis.tc_mood cascade')
    db.execute("create type redis.tc_mood as enum ('sad', 'ok', 'happy')")
    db.execute('drop domain if exists redis.tc_pos cascade')
    db.execute('create domain redis.tc_pos as integer check (value > 0)')
    db.execute('drop domain if exists redis.tc_short cascade')
    db.execute('create domain redis.tc_short as bytea check (length(value) < 4)')


def plan_of(db, sql):
    return '\n'.join(r[0] for r in db.execute('explain ' + sql).fetchall())


# -- reads ----------------------------------------------------------------------------

@pytest.mark.parametrize('coltype,stored,want', [
    ('integer', [b'1', b'-2', b' 3'], [1, -2, 3]),
    ('smallint', [b'7'], [7]),
    ('bigint', [b'9223372036854775807'], [9223372036854775807]),
    ('numeric(5,2)', [b'1.5', b'-0.125'], [decimal.Decimal('1.50'), decimal.Decimal('-0.13')]),
    ('double precision', [b'1.5', b'inf'], [1.5, float('inf')]),
    ('boolean', [b't', b'false', b'yes'], [True, False, True]),
    ('date', [b'2024-02-29'], [datetime.date(2024, 2, 29)]),
    ('timestamptz', [b'2024-01-02 03:04:05+00'],
     [datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)]),
    ('uuid', [b'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'], [uuid.UUID('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')]),
    ('json', [b'{"a": [1, 2]}'], [{'a': [1, 2]}]),
    ('jsonb', [b'[1, "x"]', b'"s"'], [[1, 'x'], 's']),
    ('varchar(3)', [b'abc', b'\xc3\xa9'], ['abc', 'é']),
    ('redis.tc_mood', [b'ok', b'happy'], ['ok', 'happy']),
    ('redis.tc_pos', [b'5'], [5]),
])
def test_a_list_element_of_each_type(db, r, types, coltype, stored, want):
    r.rpush('tc:l', *stored)
    t = table(db, 'tc_list', 'list', 'tc:l', 'element %s, index bigint' % coltype)
    db.execute("set timezone = 'UTC'")
    assert rows(db, 'select element, index from %s' % t) == [(w, i) for i, w in enumerate(want)]


def test_set_hash_and_zset_columns_of_other_types(db, r, types):
    r.sadd('tc:s', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')
    r.hset('tc:h', mapping={'1': 'true', '2': 'false'})
    r.zadd('tc:z', {'2024-01-01': 2, '2023-06-30': 1})
    t = table(db, 'tc_set', 'set', 'tc:s', 'element uuid')
    assert rows(db, 'select element from %s' % t) == [(uuid.UUID('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),)]
    t = table(db, 'tc_hash', 'hash', 'tc:h', 'key integer, value boolean')
    assert sorted(rows(db, 'select * from %s' % t)) == [(1, True), (2, False)]
    t = table(db, 'tc_zset', 'zset', 'tc:z', 'element date, score double precision')
    assert rows(db, 'select * from %s' % t) == [(datetime.date(2023, 6, 30), 1.0),
                                                (datetime.date(2024, 1, 1), 2.0)]


def test_a_stream_id_and_a_pattern_key_of_other_types(db, r):
    r.xadd('tc:x', {'f': 'v'}, id='5-1')
    r.rpush('tc:p:1', 'a')
    t = table(db, 'tc_stream', 'stream', 'tc:x', 'id varchar, items jsonb')
    assert rows(db, 'select * from %s' % t) == [('5-1', {'f': 'v'})]
    t = table(db, 'tc_keys', 'multi_list', 'tc:p:*', 'key varchar(10), items text[]')
    assert rows(db, 'select * from %s' % t) == [('tc:p:1', ['a'])]


@pytest.mark.parametrize('src_type,fill,want', [
    ('multi_list', lambda r: r.rpush('tc:m:1', 'b', 'a', 'b'), ['b', 'a', 'b']),
    ('multi_set', lambda r: r.sadd('tc:m:1', 'a'), ['a']),
    ('multi_zset', lambda r: r.zadd('tc:m:1', {'z': 1, 'y': 2, 'é': 3}), ['z', 'y', 'é']),
])
def test_text_array_items(db, r, src_type, fill, want):
    fill(r)
    t = table(db, 'tc_items', src_type, 'tc:m:*', 'key text, items text[]')
    assert rows(db, 'select * from %s' % t) == [('tc:m:1', want)]
    t = table(db, 'tc_items', src_type, 'tc:m:*', 'key text, items bytea[]')
    assert rows(db, 'select * from %s' % t) == [('tc:m:1', [w.encode() for w in want])]


# -- conversion failures ----------------------------------------------------------------

@pytest.mark.parametrize('coltype,value,sqlstate', [
    ('integer', b'abc', '22P02'),
    ('integer', b'99999999999', '22003'),
    ('integer', b'1.5', '22P02'),
    ('numeric(3,1)', b'12345', '22003'),
    ('boolean', b'maybe', '22P02'),
    ('date', b'2024-13-45', '22008'),
    ('timestamptz', b'nope', '22007'),
    ('uuid', b'x\x01y', '22P02'),
    ('jsonb', b'{', '22P02'),
    ('varchar(2)', b'abc', '22001'),
    ('redis.tc_mood', b'angry', '22P02'),
    ('redis.tc_pos', b'-1', '23514'),
])
def test_a_value_that_does_not_convert_is_the_types_error(db, r, types, coltype, value, sqlstate):
    r.rpush('tc:bad\x02', value)
    t = table(db, 'tc_bad', 'list', 'tc:bad\x02', 'element %s' % coltype)
    with pytest.raises(psycopg.Error) as e:
        db.execute('select * from %s' % t).fetchall()
    assert e.value.sqlstate == sqlstate, str(e.value)
    context = e.value.diag.context
    assert 'Redis key "tc:bad\\x02"' in context, context
    shown = value.decode().replace('\x01', '\\x01')
    assert 'Redis string "%s"' % shown in context and 'column "element"' in context, context
    assert '\x01' not in context and '\x02' not in context


def test_a_hash_value_that_does_not_convert_names_its_field(db, r):
    r.hset('tc:hb', mapping={'f\x01': 'x' * 300, 'g': '3'})
    t = table(db, 'tc_hbad', 'hash', 'tc:hb', 'key text, value integer')
    for select in ('*', 'value'):
        with pytest.raises(psycopg.errors.InvalidTextRepresentation) as e:
            db.execute('select %s from %s' % (select, t)).fetchall()
        context = e.value.diag.context
        assert 'Redis key "tc:hb"' in context and 'key = "f\\x01"' in context, context
        assert 'Redis string "%s..."' % ('x' * 200) in context, context


@pytest.mark.parametrize('value', [b'1\x002', b'1\xff', b'\xc3'])
def test_bytes_a_typed_column_cannot_hold_are_an_error_not_a_cut_value(db, r, value):
    r.rpush('tc:nul', value)
    t = table(db, 'tc_nul', 'list', 'tc:nul', 'element integer')
    with pytest.raises(psycopg.errors.CharacterNotInRepertoire) as e:
        db.execute('select * from %s' % t).fetchall()
    assert 'Redis key "tc:nul"' in e.value.diag.context


# -- bytea ------------------------------------------------------------------------------

BINARY = [b'\x00', b'\xff\xfe', b'a\x00b\xff', b'', b'\\x41', 'é'.encode()]


def test_bytea_reads_the_raw_bytes(db, r):
    r.rpush('tc:bin', *BINARY)
    r.hset('tc:binh', b'\x00k\xff', b'\xff\x00v')
    t = table(db, 'tc_bin', 'list', 'tc:bin', 'element bytea')
    assert [bytes(v) for v, in rows(db, 'select element from %s' % t)] == BINARY
    t = table(db, 'tc_binh', 'hash', 'tc:binh', 'key bytea, value bytea')
    assert [tuple(map(bytes, row)) for row in rows(db, 'select * from %s' % t)] == [
        (b'\x00k\xff', b'\xff\x00v')]
    # a text column still refuses them
    t = table(db, 'tc_bin_text', 'list', 'tc:bin', 'element text')
    with pytest.raises(psycopg.errors.CharacterNotInRepertoire):
        db.execute('select * from %s' % t).fetchall()


def test_bytea_writes_the_raw_bytes(db, r):
    t = table(db, 'tc_binw', 'list', 'tc:binw', 'element bytea')
    with db.cursor() as cur:
        cur.executemany('insert into %s values (%%s)' % t, [(v,) for v in BINARY])
    assert r.lrange('tc:binw', 0, -1) == BINARY
    assert [bytes(v) for v, in rows(db, 'select element from %s' % t)] == BINARY
    t = table(db, 'tc_binhw', 'hash', 'tc:binhw', 'key bytea, value bytea')
    db.execute('insert into %s values (%%s, %%s)' % t, (b'\x00\xff', b'\xff\x00'))
    assert r.hgetall('tc:binhw') == {b'\x00\xff': b'\xff\x00'}
    db.execute('update %s set value = %%s where key = %%s' % t, (b'\x01\x00', b'\x00\xff'))
    assert r.hgetall('tc:binhw') == {b'\x00\xff': b'\x01\x00'}
    db.execute('delete from %s' % t)
    assert r.exists('tc:binhw') == 0


def test_a_bytea_domain_keeps_its_check(db, r, types):
    r.rpush('tc:dom', b'\x00\x01', b'\x00\x01\x02\x03')
    t = table(db, 'tc_dom', 'list', 'tc:dom', 'element redis.tc_short')
    with pytest.raises(psycopg.errors.CheckViolation) as e:
        db.execute('select * from %s' % t).fetchall()
    assert 'Redis key "tc:dom"' in e.value.diag.context
    assert [bytes(v) for v, in rows(db, 'select * from %s limit 1' % t)] == [b'\x00\x01']


def test_bytea_array_items_round_trip(db, r):
    t = table(db, 'tc_bitems', 'multi_list', 'tc:bi:*', 'key text, items bytea[]')
    db.execute('insert into %s values (%%s, %%s)' % t, ('tc:bi:1', [b'\x00', b'\xff', b'']))
    assert r.lrange('tc:bi:1', 0, -1) == [b'\x00', b'\xff', b'']
    assert [[bytes(b) for b in items] for items, in rows(db, 'select items from %s' % t)] == [
        [b'\x00', b'\xff', b'']]


# -- writes -----------------------------------------------------------------------------

def test_writes_use_the_output_function(db, r, types):
    db.execute("set timezone = 'UTC'")
    t = table(db, 'tc_wl', 'list', 'tc:wl', 'element integer, index bigint')
    db.execute('insert into %s (element) values (42), (-7)' % t)
    assert r.lrange('tc:wl', 0, -1) == [b'42', b'-7']
    db.execute('update %s set element = element * 2 where index = 1' % t)
    assert r.lrange('tc:wl', 0, -1) == [b'42', b'-14']
    t = table(db, 'tc_wh', 'hash', 'tc:wh', 'key redis.tc_mood, value numeric')
    assert rows(db, "insert into %s values ('ok', 1.50) returning *" % t) == [
        ('ok', decimal.Decimal('1.50'))]
    db.execute("update %s set value = value + 1 where key = 'ok'" % t)
    assert r.hgetall('tc:wh') == {b'ok': b'2.50'}
    t = table(db, 'tc_ws', 'set', 'tc:ws', 'element timestamptz')
    db.execute("insert into %s values ('2024-01-02 03:04:05+00')" % t)
    assert r.smembers('tc:ws') == {b'2024-01-02 03:04:05+00'}
    db.execute("delete from %s where element = '2024-01-02 03:04:05+00'" % t)
    assert r.exists('tc:ws') == 0
    t = table(db, 'tc_wz', 'zset', 'tc:wz', 'element uuid, score double precision')
    db.execute("insert into %s values ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 2)" % t)
    assert r.zrange('tc:wz', 0, -1, withscores=True) == [(b'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 2.0)]


@pytest.mark.parametrize('src_type,read', [
    ('multi_list', lambda r: r.lrange('tc:wm:1', 0, -1)),
    ('multi_set', lambda r: sorted(r.smembers('tc:wm:1'))),
    ('multi_zset', lambda r: r.zrange('tc:wm:1', 0, -1)),
])
def test_text_array_items_are_written(db, r, src_type, read):
    t = table(db, 'tc_wm', src_type, 'tc:wm:*', 'key text, items text[]')
    db.execute("insert into %s values ('tc:wm:1', array['b', 'é'])" % t)
    assert read(r) == [b'b', 'é'.encode()]
    assert [(k, sorted(v)) for k, v in rows(db, 'select * from %s' % t)] == [('tc:wm:1', ['b', 'é'])]
    db.execute("update %s set items = array['c'] where key = 'tc:wm:1'" % t)
    assert read(r) == [b'c']


def test_a_null_array_element_is_an_error_naming_the_key(db, r):
    t = table(db, 'tc_wnull', 'multi_set', 'tc:wn:*', 'key text, items text[]')
    with pytest.raises(psycopg.errors.NotNullViolation) as e:
        db.execute("insert into %s values ('tc:wn:\x01', array['a', null])" % t)
    assert 'Redis key "tc:wn:\\x01"' in str(e.value)
    r.sadd('tc:wn:2', 'a')
    with pytest.raises(psycopg.errors.NotNullViolation) as e:
        db.execute("update %s set items = array[null]::text[]" % t)
    assert 'Redis key "tc:wn:2"' in str(e.value)
    with pytest.raises(psycopg.errors.InvalidParameterValue) as e:
        db.execute("insert into %s values ('tc:wn:3', array[['a'], ['b']])" % t)
    assert 'Redis key "tc:wn:3"' in str(e.value) and 'one-dimensional' in str(e.value)
    assert r.keys('tc:wn:*') == [b'tc:wn:2']


# -- pushdown -----------------------------------------------------------------------------

def test_no_pushdown_on_an_integer_element(db, r):
    r.sadd('tc:ps', '01', '1', '2')
    t = table(db, 'tc_ps_int', 'set', 'tc:ps', 'element integer')
    plan = plan_of(db, 'select * from %s where element = 1' % t)
    assert 'Filter' in plan and 'Redis Command' not in plan, plan
    assert rows(db, 'select * from %s where element = 1' % t) == [(1,), (1,)]
    t = table(db, 'tc_ps_big', 'set', 'tc:ps', 'element bigint')
    plan = plan_of(db, 'select * from %s where element in (1, 2)' % t)
    assert 'Filter' in plan and 'Redis Command' not in plan, plan
    assert sorted(rows(db, 'select * from %s where element in (1, 2)' % t)) == [(1,), (1,), (2,)]


def test_pushdown_on_varchar_and_bytea(db, r):
    r.sadd('tc:pv', 'a', 'b\x00'.encode())
    t = table(db, 'tc_ps_vc', 'set', 'tc:pv', 'element varchar')
    for where in ("element = 'a'", "element in ('a', 'c')"):
        plan = plan_of(db, 'select * from %s where %s' % (t, where))
        assert 'SMISMEMBER' in plan and 'Filter' not in plan, plan
        assert rows(db, 'select * from %s where %s' % (t, where)) == [('a',)]
    t = table(db, 'tc_ps_m', 'multi_list', 'tc:pm:*', 'key varchar, items text[]')
    r.rpush('tc:pm:1', 'x')
    plan = plan_of(db, "select * from %s where key like 'tc:pm:%%'" % t)
    assert 'SCAN' in plan and 'Filter' not in plan, plan
    t = table(db, 'tc_ps_b', 'set', 'tc:pv', 'element bytea')
    plan = plan_of(db, "select * from %s where element = 'a'::bytea" % t)
    assert 'SMISMEMBER' in plan and 'Filter' not in plan, plan
    assert rows(db, "select * from %s where element = 'a'::bytea" % t) == [(b'a',)]
    # a NUL byte cannot be a pushed value: it stays a filter, and still matches
    plan = plan_of(db, "select * from %s where element = '\\x6200'::bytea" % t)
    assert 'Filter' in plan, plan
    assert rows(db, "select * from %s where element = '\\x6200'::bytea" % t) == [(b'b\x00',)]


# -- column checks --------------------------------------------------------------------------

@pytest.mark.parametrize('src_type,columns', [
    ('list', 'element integer[]'),
    ('list', 'element text[]'),
    ('set', 'element bytea[]'),
    ('hash', 'key text, value jsonb[]'),
    ('multi_list', 'key text, items integer[]'),
    ('multi_list', 'key text, items text'),
    ('multi_list', 'key text, items json'),
    ('multi_hash', 'key text, items text[]'),
    ('stream', 'id text, items bytea[]'),
    ('list', 'element text, index integer'),
    ('zset', 'element text, score numeric'),
])
def test_unsupported_types_are_refused(db, src_type, columns):
    with pytest.raises(psycopg.errors.FdwInvalidDataType) as e:
        table(db, 'tc_ddl', src_type, 'k', columns)
    assert e.value.diag.message_detail, str(e.value)


def test_altering_to_an_unsupported_type_is_refused(db):
    t = table(db, 'tc_alter', 'hash', 'h', 'key text, value text')
    db.execute('alter foreign table %s alter column value type integer' % t)
    with pytest.raises(psycopg.errors.FdwInvalidDataType):
        db.execute('alter foreign table %s alter column value type integer[]' % t)
    t = table(db, 'tc_alter_m', 'multi_zset', 'z:*', 'key text, items jsonb')
    db.execute('alter foreign table %s alter column items type text[]' % t)
    with pytest.raises(psycopg.errors.FdwInvalidDataType):
        db.execute('alter foreign table %s alter column items type varchar[]' % t)


@pytest.mark.parametrize('src_type,columns,fill,statement', [
    ('set', 'element integer', lambda r: r.sadd('tc:nc', '01', '5'), 'delete from {} where element = 1'),
    ('list', 'element integer, index bigint', lambda r: r.rpush('tc:nc', '01'),
     'update {} set element = 2'),
    ('hash', 'key text, value boolean', lambda r: r.hset('tc:nc', 'f', 'true'),
     'update {} set value = false'),
    ('zset', 'element numeric', lambda r: r.zadd('tc:nc', {'1.0e1': 1}), 'delete from {}'),
])
def test_a_row_to_change_must_read_back_as_its_redis_string(db, r, src_type, columns, fill,
                                                           statement):
    """UPDATE and DELETE name a row by its values as PostgreSQL writes them:
    one read from another spelling ('01' for 1) is an error saying so, not a
    serialization failure that no retry can pass."""
    fill(r)
    t = table(db, 'tc_nc', src_type, 'tc:nc', columns)
    assert len(rows(db, 'select * from %s' % t)) >= 1
    with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
        db.execute(statement.format(t))
    assert 'Redis key "tc:nc"' in e.value.diag.context
    assert 'text' in e.value.diag.message_hint
