"""keys tables: a keyspace listed from SQL, with the key's type and, only
when read, its ttl, expiry, length and memory; key pushdown; read-only."""
import psycopg
import pytest

from conftest import rows, table

COLUMNS = 'key text, type text, ttl interval, expire_at timestamptz, length bigint, memory bigint'


def test_keys_listing(db, r):
    t = table(db, 'keys_all', 'keys', 'k:*', COLUMNS)
    r.rpush('k:l', 'a', 'b')
    r.hset('k:h', 'f', 'v')
    r.set('k:s', 'abc', px=600000)
    r.set('other', 'x')
    got = {k: (ty, n) for k, ty, n in rows(db, 'select key, type, length from %s' % t)}
    assert got == {'k:l': ('list', 2), 'k:h': ('hash', 1), 'k:s': ('string', 3)}
    assert rows(db, "select key from %s where ttl is not null" % t) == [('k:s',)]
    assert all(m > 0 for m, in rows(db, 'select memory from %s' % t))
    assert rows(db, "select type from %s where key = 'k:h'" % t) == [('hash',)]
    assert rows(db, 'select count(*) from %s' % t) == [(3,)]
    assert rows(db, "select type, count(*) from %s group by type order by type" % t) == [
        ('hash', 1), ('list', 1), ('string', 1)]


def test_keys_is_read_only(db, r):
    t = table(db, 'keys_ro', 'keys', 'k:*', 'key text, type text')
    r.set('k:1', 'x')
    for statement in ["insert into %s values ('k:2', 'string')", "delete from %s", "update %s set key = 'k:3'",
                      "truncate %s"]:
        with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
            db.execute(statement % t)
        assert 'read-only' in str(e.value) and e.value.diag.message_hint
    assert r.get('k:1') == b'x'


def test_keys_bad_columns(db):
    with pytest.raises(psycopg.errors.FdwInvalidColumnName):
        table(db, 'keys_bad', 'keys', '*', 'key text, size bigint')
    with pytest.raises(psycopg.errors.FdwInvalidDataType):
        table(db, 'keys_bad', 'keys', '*', 'key text, length integer')
