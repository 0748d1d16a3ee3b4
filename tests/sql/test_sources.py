"""Every source type of the spec: its exact results, JSON, encodings and column shapes."""
import psycopg
import pytest

from conftest import rows, table
from redis_wrapper_tools import spec_data


@pytest.mark.parametrize('example', spec_data.EXAMPLES, ids=[e[0] for e in spec_data.EXAMPLES])
def test_spec_example(db, r, example):
    name, columns, src_type, src_key, expected = example
    spec_data.load_sample(r)
    db.execute('drop foreign table if exists redis.%s' % name)
    db.execute(spec_data.table_sql(name, columns, src_type, src_key))
    got = rows(db, 'select * from redis.%s' % name)
    if src_type == 'stream':
        expected = [(i.decode(), {k.decode(): v.decode() for k, v in f.items()})
                    for i, f in r.xrange('stream')]
        assert [e[1] for e in expected] == [{'foo': 'bar'}, {'aa': '42', 'bb': '43'}]
    if src_type in spec_data.UNORDERED:
        key = lambda row: repr(row)     # noqa: E731
        assert sorted(got, key=key) == sorted(expected, key=key)
    else:
        assert got == expected


def test_multi_skips_keys_of_other_types(db, r):
    r.rpush('k:list', 'a')
    r.hset('k:hash', 'f', 'v')
    r.sadd('k:set', 'm')
    r.set('k:string', 'x')
    assert rows(db, 'select * from %s' % table(db, 'm_list', 'multi_list', 'k:*')) == [('k:list', ['a'])]
    assert rows(db, 'select * from %s' % table(db, 'm_hash', 'multi_hash', 'k:*')) == [('k:hash', {'f': 'v'})]


def test_multi_pattern_with_no_match(db, r):
    assert rows(db, 'select * from %s' % table(db, 'm_none', 'multi_set', 'nothing:*')) == []


AWKWARD = ['quote " backslash \\ slash /', 'ctl \x01\x02\x1f\x7f', 'nl\n cr\r tab\t bs\b ff\f',
           'ünïcödé ✓ 😀', '', ' ', '{"json": [1]}', 'null', '\u2028\u2029']


def test_json_is_right_for_awkward_strings(db, r):
    r.rpush('j:list', *AWKWARD)
    r.hset('j:hash', mapping={s + '!': s for s in AWKWARD})
    r.xadd('j:stream', {s + '?': s for s in AWKWARD})
    assert rows(db, 'select items from %s' % table(db, 'j_list', 'multi_list', 'j:list')) == [(AWKWARD,)]
    assert rows(db, 'select items from %s' % table(db, 'j_hash', 'multi_hash', 'j:hash')) == \
        [({s + '!': s for s in AWKWARD},)]
    assert rows(db, 'select items from %s' % table(db, 'j_stream', 'stream', 'j:stream')) == \
        [({s + '?': s for s in AWKWARD},)]
    assert [row[0] for row in rows(db, 'select element from %s' % table(db, 'j_text', 'list', 'j:list'))] == AWKWARD


def test_json_objects_in_jsonb_order_with_the_last_duplicate_winning(db, r):
    fields = ['k%d' % i for i in range(100)] + ['', 'a', 'bb', 'b', 'a\u00e9', '\u00e9']
    r.hset('big:hash', mapping={f: 'v' + f for f in reversed(fields)})
    got = rows(db, "select items, items::text from %s" % table(db, 'j_obj', 'multi_hash', 'big:hash'))
    assert got[0][0] == {f: 'v' + f for f in fields}
    assert got[0][1] == rows(db, "select %s::jsonb::text", got[0][1])[0][0]   # canonical text form
    r.xadd('dup:stream', {'x': 1})
    r.execute_command('XADD', 'dup:stream2', '*', 'a', '1', 'b', '2', 'a', '3')
    assert rows(db, 'select items from %s' % table(db, 'j_dup', 'stream', 'dup:stream2')) == [({'a': '3', 'b': '2'},)]


@pytest.mark.parametrize('src_type', ['list', 'multi_list'])
def test_invalid_utf8_is_an_error_naming_the_key(db, r, src_type):
    r.rpush('bad:utf8', 'fine', b'\xff\xfe broken')
    t = table(db, 'u_' + src_type, src_type, 'bad:utf8' if src_type == 'list' else 'bad:*')
    with pytest.raises(psycopg.errors.CharacterNotInRepertoire) as e:
        db.execute('select * from %s' % t)
    assert 'bad:utf8' in e.value.diag.context


@pytest.mark.parametrize('src_type', ['list', 'multi_list'])
def test_nul_byte_is_an_error_naming_the_key(db, r, src_type):
    r.rpush('bad:nul', b'a\x00b')
    t = table(db, 'n_' + src_type, src_type, 'bad:nul' if src_type == 'list' else 'bad:*')
    with pytest.raises(psycopg.DataError) as e:      # 22021 for text, 22P05 inside jsonb
        db.execute('select * from %s' % t)
    assert e.value.sqlstate in ('22021', '22P05')
    assert 'bad:nul' in e.value.diag.context


def test_stream_reads_every_entry_in_id_order(db, r):
    pipe = r.pipeline(transaction=False)
    for i in range(20_000):
        pipe.xadd('s', {'n': i, 'sq': i * i})
    pipe.execute()
    got = rows(db, 'select id, items from %s' % table(db, 's_all', 'stream', 's'))
    expected = [(i.decode(), {k.decode(): v.decode() for k, v in f.items()}) for i, f in r.xrange('s')]
    assert got == expected and len(got) == 20_000


def test_empty_strings_everywhere(db, r):
    r.hset('h', '', '')
    r.rpush('l', '')
    assert rows(db, 'select * from %s' % table(db, 'e_hash', 'hash', 'h')) == [('', '')]
    assert rows(db, 'select * from %s' % table(db, 'e_list', 'list', 'l')) == [('',)]


def test_some_columns_only(db, r):
    r.hset('h', mapping={'a': '1', 'b': '2'})
    r.rpush('p:1', 'x')
    t = table(db, 'c_value', 'hash', 'h', columns='value text')
    assert sorted(rows(db, 'select value from %s' % t)) == [('1',), ('2',)]
    t = table(db, 'c_key', 'multi_list', 'p:*', columns='key text')
    assert rows(db, 'select * from %s' % t) == [('p:1',)]
    t = table(db, 'c_items', 'multi_list', 'p:*', columns='items jsonb, key text')
    assert rows(db, 'select * from %s' % t) == [(['x'], 'p:1')]
    t = table(db, 'c_none', 'hash', 'h', columns='')
    assert rows(db, 'select from %s' % t) == [(), ()]


@pytest.mark.parametrize('columns,error', [
    ('elem text', psycopg.errors.FdwInvalidColumnName),
    ('element integer[]', psycopg.errors.FdwInvalidDataType),
    ('element text[]', psycopg.errors.FdwInvalidDataType),
    ('element text, extra text', psycopg.errors.FdwInvalidColumnName),
])
def test_wrong_columns_are_rejected_at_create(db, columns, error):
    with pytest.raises(error) as e:
        table(db, 'bad_cols', 'list', 'k', columns=columns)
    assert 'bad_cols' in str(e.value) and 'element text' in e.value.diag.message_hint


def test_wrong_columns_are_rejected_at_alter(db):
    t = table(db, 'alter_cols', 'list', 'k')
    with pytest.raises(psycopg.errors.FdwInvalidColumnName):
        db.execute('alter foreign table %s add column score float8' % t)
    with pytest.raises(psycopg.errors.FdwInvalidColumnName):
        db.execute("alter foreign table %s options (set src_type 'multi_set')" % t)
    with pytest.raises(psycopg.errors.FdwInvalidDataType):
        db.execute('alter foreign table %s alter column element type jsonb[]' % t)


def test_wrong_columns_are_rejected_at_scan_before_any_traffic(db, r):
    db.execute('alter event trigger redis_wrapper_ddl_check disable')
    try:
        t = table(db, 'late_cols', 'stream', 's', columns='id text, items text')
    finally:
        db.execute('alter event trigger redis_wrapper_ddl_check enable')
    before = r.info('stats')['total_commands_processed']
    with pytest.raises(psycopg.errors.FdwInvalidDataType) as e:
        db.execute('select * from %s' % t)
    assert 'column "items" of foreign table "late_cols" has type text' in str(e.value)
    assert r.info('stats')['total_commands_processed'] == before + 1     # just our INFO


def test_other_fdws_tables_are_left_alone(db):
    db.execute('create extension if not exists postgres_fdw')
    db.execute("create server if not exists other_srv foreign data wrapper postgres_fdw")
    db.execute('drop foreign table if exists other_table')
    db.execute('create foreign table other_table (whatever int) server other_srv')
