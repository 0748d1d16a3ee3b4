"""ttl interval and expire_at timestamptz on string and multi_* tables, and
the table option default_ttl: read only when asked for, written with
PEXPIRE/PEXPIREAT/PERSIST, and refused when in the past, both given,
infinite or not an interval."""
import datetime

import psycopg
import pytest
from psycopg import sql

from conftest import rows, table


def with_options(db, t, **options):
    db.execute(sql.SQL('alter foreign table {} options ({})').format(
        sql.SQL(t), sql.SQL(', ').join(sql.SQL('add {} {}').format(sql.Identifier(k), sql.Literal(v))
                                       for k, v in options.items())))
    return t


def test_read_ttl_and_expire_at(db, r):
    t = table(db, 'ttl_h', 'multi_hash', 'h:*', 'key text, items jsonb, ttl interval, expire_at timestamptz')
    r.hset('h:1', 'f', 'v')
    r.hset('h:2', 'f', 'v')
    r.pexpire('h:2', 3600 * 1000)
    got = dict((k, (ttl, at)) for k, ttl, at in rows(db, 'select key, ttl, expire_at from %s' % t))
    assert got['h:1'] == (None, None)
    ttl, at = got['h:2']
    assert datetime.timedelta(minutes=59) < ttl <= datetime.timedelta(hours=1)
    now = rows(db, 'select now()')[0][0]
    assert abs((at - now) - datetime.timedelta(hours=1)) < datetime.timedelta(minutes=1)
    assert rows(db, "select key from %s where ttl is not null" % t) == [('h:2',)]


def test_write_ttl(db, r):
    t = table(db, 'ttl_s', 'multi_string', 's:*', 'key text, value text, ttl interval, expire_at timestamptz')
    db.execute("insert into %s (key, value, ttl) values ('s:1', 'a', '10 minutes')" % t)
    assert 590000 < r.pttl('s:1') <= 600000
    db.execute("update %s set ttl = null where key = 's:1'" % t)
    assert r.pttl('s:1') == -1
    db.execute("update %s set expire_at = now() + interval '1 day' where key = 's:1'" % t)
    assert 86000000 < r.pttl('s:1') <= 86400000
    with pytest.raises(psycopg.errors.InvalidParameterValue) as e:
        db.execute("update %s set expire_at = now() - interval '1 second' where key = 's:1'" % t)
    assert 'in the past' in str(e.value)
    with pytest.raises(psycopg.errors.InvalidParameterValue) as e:
        db.execute("insert into %s values ('s:2', 'b', '1 hour', now() + interval '1 hour')" % t)
    assert 'both a ttl and an expire_at' in str(e.value)
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        db.execute("insert into %s (key, value, ttl) values ('s:2', 'b', '-1 hour')" % t)
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        db.execute("insert into %s (key, value, expire_at) values ('s:2', 'b', 'infinity')" % t)
    assert not r.exists('s:2')


def test_default_ttl(db, r):
    t = with_options(db, table(db, 'ttl_d', 'multi_set', 'd:*', 'key text, items jsonb, ttl interval'),
                     default_ttl='1 hour')
    db.execute("""insert into %s values ('d:1', '["a"]', null), ('d:2', '["b"]', '5 minutes')""" % t)
    assert 3590000 < r.pttl('d:1') <= 3600000 and 290000 < r.pttl('d:2') <= 300000
    s = with_options(db, table(db, 'ttl_ds', 'string', 'str', 'value text'), default_ttl='2 days')
    db.execute("insert into %s values ('x')" % s)
    assert r.pttl('str') > 2 * 86400000 - 60000


@pytest.mark.parametrize('value, error', [
    ('soon', psycopg.errors.InvalidDatetimeFormat),
    ('0', psycopg.errors.FdwInvalidAttributeValue),
    ('-1 hour', psycopg.errors.FdwInvalidAttributeValue),
    ('0.1 ms', psycopg.errors.FdwInvalidAttributeValue),
])
def test_default_ttl_is_a_positive_interval(db, value, error):
    with pytest.raises(error):
        with_options(db, table(db, 'ttl_bad', 'multi_set', 'b:*'), default_ttl=value)


def test_default_ttl_only_where_rows_are_keys(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName):
        with_options(db, table(db, 'ttl_list', 'list', 'l'), default_ttl='1 hour')


def test_ttl_columns_cost_nothing_unless_read(db, r):
    t = table(db, 'ttl_c', 'multi_string', 'c:*', 'key text, value text, ttl interval')
    r.set('c:1', 'a')
    rows(db, 'select key from %s' % t)      # a new connection's handshake would count too
    plan = '\n'.join(x[0] for x in rows(db, 'explain (analyze, costs off, timing off, summary off) '
                                            'select key, value from %s' % t))
    assert 'Redis Commands: 2' in plan      # SCAN and one MGET: no PTTL
