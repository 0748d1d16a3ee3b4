"""src_type 'list' end to end: streaming, LIMIT, rescans (the spec's example is in
test_sources.py, the million-element scan in test_scans.py)."""
import psycopg
import pytest

from conftest import rows, table


def test_missing_key_is_an_empty_table(db, r):
    t = table(db, 'l_missing', 'list', 'no:such:key')
    assert rows(db, 'select * from %s' % t) == []


def test_key_of_another_type_names_its_type(db, r):
    r.hset('h', 'a', 'b')
    t = table(db, 'l_wrong', 'list', 'h')
    with pytest.raises(psycopg.errors.WrongObjectType) as e:
        db.execute('select * from %s' % t)
    assert 'holds a hash, not a list' in str(e.value)
    assert e.value.diag.context and 'l_wrong' in e.value.diag.context


def test_100k_elements_equal_lrange(db, r):
    values = ['v%d' % i for i in range(100_000)]
    values[500] = 'quote \' and "dq" and \\ and tab\t and é ünïcode ✓'
    values[70_000] = ''
    for i in range(0, len(values), 10_000):
        r.rpush('big', *values[i:i + 10_000])
    t = table(db, 'l_big', 'list', 'big')
    got = [row[0] for row in rows(db, 'select element from %s' % t)]
    assert got == [v.decode() for v in r.lrange('big', 0, -1)]
    assert len(got) == 100_000


def test_limit_stops_early_and_the_backend_goes_on(db, r):
    r.rpush('big', *range(50_000))
    t = table(db, 'l_limit', 'list', 'big')
    assert rows(db, 'select element from %s limit 3' % t) == [('0',), ('1',), ('2',)]
    assert rows(db, 'select count(element) from %s' % t) == [(50_000,)]   # a whole scan, not LLEN


def test_rescan_as_inner_side_of_a_nested_loop(db, r):
    r.rpush('inner', 'a', 'b', 'c', 'a')
    t = table(db, 'l_inner', 'list', 'inner')
    db.execute('set enable_hashjoin = off; set enable_mergejoin = off; set enable_material = off')
    plan = '\n'.join(row[0] for row in rows(
        db, "explain select * from (values ('a'), ('b'), ('z')) v(x) join %s l on l.element = v.x" % t))
    assert 'Nested Loop' in plan and 'Foreign Scan' in plan
    got = rows(db, "select x, count(*) from (values ('a'), ('b'), ('z')) v(x) "
                   "join %s l on l.element = v.x group by x order by x" % t)
    assert got == [('a', 2), ('b', 1)]


def test_rescan_after_a_partial_read(db, r):
    """A rescan while a batch is still in flight starts cleanly from the top."""
    r.rpush('inner', *range(100_000))
    t = table(db, 'l_partial', 'list', 'inner')
    db.execute('set enable_hashjoin = off; set enable_mergejoin = off; set enable_material = off')
    got = rows(db, "select v.x, (select element from %s l where l.element::int >= v.x limit 1) "
                   "from generate_series(1, 3000, 1000) v(x)" % t)
    assert got == [(1, '1'), (1001, '1001'), (2001, '2001')]

