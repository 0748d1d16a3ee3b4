"""string and multi_string tables end to end: reads, pushdown, count(*),
writes with their checks, and bad input (wrong columns and types, binary
values in text, keys of another type)."""
import psycopg
import pytest

from conftest import rows, table


def plan_text(db, statement):
    return '\n'.join(row[0] for row in rows(db, 'explain ' + statement))


def test_string_table(db, r):
    t = table(db, 's_one', 'string', 's', 'value text')
    assert rows(db, 'select * from %s' % t) == []
    assert rows(db, 'select count(*) from %s' % t) == [(0,)]
    r.set('s', 'héllo')
    assert rows(db, 'select * from %s' % t) == [('héllo',)]
    assert rows(db, 'select count(*) from %s' % t) == [(1,)]
    assert 'EXISTS "s"' in plan_text(db, 'select count(*) from %s' % t)


def test_string_writes(db, r):
    t = table(db, 's_w', 'string', 's', 'value text')
    db.execute("insert into %s values ('a')" % t)
    assert r.get('s') == b'a'
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("insert into %s values ('b')" % t)
    assert db.execute("insert into %s values ('b') on conflict do nothing" % t).rowcount == 0
    assert rows(db, "update %s set value = value || 'x' returning value" % t) == [('ax',)]
    assert r.get('s') == b'ax'
    assert db.execute('delete from %s' % t).rowcount == 1 and not r.exists('s')
    r.set('s', 'v')
    db.execute('truncate %s' % t)
    assert not r.exists('s')
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute('insert into %s values (null)' % t)


def test_multi_string_table(db, r):
    t = table(db, 'ms', 'multi_string', 'u:*', 'key text, value text')
    r.mset({'u:1': 'a', 'u:2': 'b', 'u:10': 'c', 'v:1': 'x'})
    r.rpush('u:list', 'x')
    assert sorted(rows(db, 'select * from %s' % t)) == [('u:1', 'a'), ('u:10', 'c'), ('u:2', 'b')]
    assert rows(db, "select value from %s where key in ('u:2', 'v:1', 'u:list')" % t) == [('b',)]
    assert sorted(rows(db, "select key from %s where key like 'u:1%%'" % t)) == [('u:1',), ('u:10',)]
    plan = plan_text(db, "select * from %s where key = 'u:1'" % t)
    assert 'MGET of the keys named (1 values)' in plan
    assert rows(db, 'select count(*) from %s' % t) == [(3,)]
    db.execute("insert into %s values ('u:3', 'd')" % t)
    db.execute("update %s set key = 'u:4' where key = 'u:3'" % t)
    assert r.get('u:4') == b'd' and not r.exists('u:3')
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("insert into %s values ('w:1', 'x')" % t)
    db.execute("delete from %s where value = 'a'" % t)
    assert not r.exists('u:1')


def test_string_bad_input(db, r):
    with pytest.raises(psycopg.errors.FdwInvalidColumnName) as e:
        table(db, 's_bad', 'string', 's', 'value text, key text')
    assert 'ttl interval' in e.value.diag.message_hint
    with pytest.raises(psycopg.errors.FdwInvalidDataType):
        table(db, 's_bad', 'string', 's', 'value text, ttl bigint')
    t = table(db, 's_bin', 'string', 's', 'value text')
    r.set('s', b'a\x00b')
    with pytest.raises(psycopg.errors.CharacterNotInRepertoire):
        rows(db, 'select * from %s' % t)
    r.delete('s')
    r.rpush('s', 'x')
    with pytest.raises(psycopg.errors.WrongObjectType) as e:
        rows(db, 'select * from %s' % t)
    assert 'holds a list, not a string' in str(e.value)
    with pytest.raises(psycopg.errors.WrongObjectType):
        db.execute("insert into %s values ('x')" % t)
