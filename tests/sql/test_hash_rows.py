"""Hashes as rows (issue 13, item 4): a multi_hash table's columns other than
key, items, ttl and expire_at are fields of each hash (the column option
field names another spelling), read with HMGET of only the fields a query
reads, typed as typed columns are, NULL where a hash lacks the field; writes
set them with HSET and delete them (NULL) with HDEL, checked like other writes.
"""
import datetime

import psycopg
import pytest

from conftest import create_server, rows, table
from redis_wrapper_tools import spec_data

USERS = 'key text, name text, email text, age integer'


def commandstats(r):
    return {k[len('cmdstat_'):]: v['calls'] for k, v in r.info('commandstats').items()}


def plan_of(db, sql):
    return '\n'.join(x[0] for x in db.execute('explain ' + sql).fetchall())


@pytest.fixture
def users(r):
    r.hset('u:1', mapping={'name': 'ann', 'email': 'ann@x', 'age': '31', 'extra': 'e'})
    r.hset('u:2', mapping={'name': 'bob'})
    r.set('u:str', 'not a hash')


def test_fields_read_with_hmget_of_only_those_read(db, r, users):
    t = table(db, 'hr_users', 'multi_hash', 'u:*', USERS)
    r.config_resetstat()
    assert sorted(rows(db, 'select key, name, age from %s' % t)) == [('u:1', 'ann', 31), ('u:2', 'bob', None)]
    stats = commandstats(r)
    assert stats.get('hmget') == 2 and 'hgetall' not in stats
    with r.monitor() as m:
        db.execute('select name from %s where key = %%s' % t, ('u:1',)).fetchall()
        seen = []
        for _ in range(10):
            c = m.next_command()['command']
            seen.append(c)
            if c.startswith('HMGET'):
                break
    assert any(c == 'HMGET u:1 name' for c in seen), seen


def test_missing_fields_and_a_key_named_that_does_not_exist_or_is_no_hash(db, r, users):
    t = table(db, 'hr_users', 'multi_hash', 'u:*', USERS)
    assert rows(db, 'select key, email from %s where key in (%%s, %%s, %%s, %%s) order by key' % t,
                'u:1', 'u:2', 'u:9', 'u:str') == [('u:1', 'ann@x'), ('u:2', None)]
    assert rows(db, 'select count(*) from %s where email is null' % t) == [(1,)]


def test_items_beside_fields_and_the_field_option(db, r, users):
    t = table(db, 'hr_users', 'multi_hash', 'u:*',
              "key text, items jsonb, mail text options (field 'email'), \"key\"\"s\" text options (field 'key')")
    r.hset('u:3', mapping={'key': 'k3', 'name': 'cy'})
    got = {k: (i, m, ks) for k, i, m, ks in rows(db, 'select * from %s' % t)}
    assert got['u:1'] == ({'name': 'ann', 'email': 'ann@x', 'age': '31', 'extra': 'e'}, 'ann@x', None)
    assert got['u:3'] == ({'key': 'k3', 'name': 'cy'}, None, 'k3')


def test_typed_fields(db, r):
    r.hset('u:1', mapping={'id': '7', 'signup': '2024-02-29', 'vip': 't', 'score': '1.5'})
    t = table(db, 'hr_typed', 'multi_hash', 'u:*',
              'key text, id integer, signup date, vip boolean, score numeric, bin bytea')
    assert rows(db, 'select id, signup, vip, score, bin from %s' % t) == [
        (7, datetime.date(2024, 2, 29), True, 1.5, None)]


def test_a_field_that_does_not_convert_names_the_key_and_field(db, r):
    r.hset('u:1', mapping={'age': 'old\x01'})
    t = table(db, 'hr_users', 'multi_hash', 'u:*', USERS)
    with pytest.raises(psycopg.errors.InvalidTextRepresentation) as e:
        db.execute('select age from %s' % t).fetchall()
    context = e.value.diag.context
    assert 'Redis key "u:1"' in context and 'column "age" of type integer' in context
    assert '"old\\x01"' in context


def test_pushdown_of_key_equality_in_and_prefix(db, r, users):
    t = table(db, 'hr_users', 'multi_hash', 'u:*', USERS + ', items jsonb')
    assert 'HMGET of the keys named (1 values) matching "u:*"' in plan_of(
        db, "select name from %s where key = 'u:2'" % t)
    assert 'SCAN MATCH "u:1*"' in plan_of(db, "select name from %s where key like 'u:1%%'" % t)
    assert rows(db, "select name from %s where key like 'u:1%%'" % t) == [('ann',)]
    # items read too: the whole hash, and the fields beside it
    assert 'HGETALL + HMGET' in plan_of(db, "select items, name from %s where key = 'u:2'" % t)


def test_field_columns_of_types_that_cannot_hold_a_string_are_refused(db):
    with pytest.raises(psycopg.errors.FdwInvalidDataType) as e:
        table(db, 'hr_bad', 'multi_hash', 'u:*', 'key text, tags text[]')
    assert 'tags' in str(e.value)
    with pytest.raises(psycopg.errors.FdwInvalidColumnName):
        table(db, 'hr_bad', 'multi_set', 's:*', 'key text, name text')
    with pytest.raises(psycopg.errors.FdwInvalidColumnName):
        table(db, 'hr_bad', 'multi_set', 's:*', "key text options (field 'k')")
    with pytest.raises(psycopg.errors.FdwInvalidColumnName) as e:
        table(db, 'hr_bad', 'multi_hash', 'u:*', "key text, a text options (field 'x'), b text options (field 'x')")
    assert 'field "x"' in str(e.value)


def test_a_column_no_hash_has_is_null(db, r, users):
    t = table(db, 'hr_users', 'multi_hash', 'u:*', 'key text, nosuch text')
    assert sorted(rows(db, 'select * from %s' % t)) == [('u:1', None), ('u:2', None)]


# -- writes ----------------------------------------------------------------------------

def test_insert_sets_the_non_null_fields(db, r):
    t = table(db, 'hr_users', 'multi_hash', 'u:*', USERS + ', ttl interval')
    db.execute("insert into %s (key, name, age) values ('u:5', 'eve', 40)" % t)
    db.execute("insert into %s (key, name, email, ttl) values ('u:6', 'fay', 'f@x', '1 hour')" % t)
    assert r.hgetall('u:5') == {b'name': b'eve', b'age': b'40'}
    assert r.hgetall('u:6') == {b'name': b'fay', b'email': b'f@x'}
    assert 3500 < r.ttl('u:6') <= 3600 and r.ttl('u:5') == -1
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("insert into %s (key, name) values ('u:5', 'again')" % t)
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("insert into %s (key) values ('u:7')" % t)
    assert not r.exists('u:7')
    got = rows(db, "insert into %s (key, name, age) values ('u:8', 'gus', 9) returning key, name, email, age" % t)
    assert got == [('u:8', 'gus', None, 9)]


def test_update_sets_and_deletes_fields_and_delete_removes_the_key(db, r, users):
    t = table(db, 'hr_users', 'multi_hash', 'u:*', USERS + ', ttl interval')
    assert 'HSET/HDEL' in plan_of(db, "update %s set name = 'x', email = null" % t)
    assert db.execute("update %s set name = 'anna', email = null where key = 'u:1'" % t).rowcount == 1
    assert r.hgetall('u:1') == {b'name': b'anna', b'age': b'31', b'extra': b'e'}
    assert rows(db, "update %s set age = age + 1 where key = 'u:1' returning name, email, age" % t) == [
        ('anna', None, 32)]
    assert r.hget('u:1', 'age') == b'32'
    db.execute("update %s set ttl = '1 hour' where key = 'u:2'" % t)
    assert r.ttl('u:2') > 3500
    assert db.execute("delete from %s where name = 'bob'" % t).rowcount == 1
    assert not r.exists('u:2') and r.exists('u:1')


def test_an_update_of_a_hash_changed_since_it_was_read_is_40001(db, r, redis_server, users):
    """The row's fields are read by the scan; another connection (a second
    server: its writes apply at once) changes one before the UPDATE's apply."""
    t = table(db, 'hr_users', 'multi_hash', 'u:*', USERS)
    create_server(db, 'hr_other', redis_server.url, connect_timeout='7')
    o = table(db, 'hr_other', 'multi_hash', 'u:*', USERS, server='hr_other')
    db.execute('drop function if exists redis.hr_meddle(text)')
    db.execute("create function redis.hr_meddle(k text) returns text language plpgsql as $$ "
               "begin update %s set email = 'changed' where key = k; return 'new'; end $$" % o)
    with pytest.raises(psycopg.errors.SerializationFailure) as e:
        db.execute("update %s set name = redis.hr_meddle(key) where key = 'u:1'" % t)
    assert 'u:1' in str(e.value)
    assert r.hget('u:1', 'name') == b'ann' and r.hget('u:1', 'email') == b'changed'


def test_the_demos_users_example(db, r):
    """./dev demo's users:* example (after the spec's) runs and shows typed rows."""
    for command in spec_data.USERS_COMMANDS:
        r.execute_command(*command)
    db.execute('drop foreign table if exists redis.users')
    db.execute(spec_data.table_sql(*spec_data.USERS_TABLE))
    first = rows(db, spec_data.USERS_QUERIES[0])
    assert [x[:5] for x in first] == [
        ('users:1', 1, 'Ann', 'ann@example.com', datetime.date(2024, 1, 15)),
        ('users:2', 2, 'Bob', None, datetime.date(2024, 3, 2)),
        ('users:3', 3, 'Cy', 'cy@example.com', datetime.date(2024, 6, 30))]
    assert [x[5] is not None for x in first] == [False, False, True]
    for q in spec_data.USERS_QUERIES[1:-1]:
        db.execute(q)
    assert rows(db, spec_data.USERS_QUERIES[-1]) == [
        (1, 'Ann', 'ann@example.com', False), (2, 'Bob', 'bob@example.com', False),
        (3, 'Cy', 'cy@example.com', True), (4, 'Dee', None, True)]
