"""Scans at scale and in awkward executor situations."""
import time

import pytest

from conftest import peak_growth_kb, rows, table

MILLION = 1_000_000


def fill(r, command, key, count, per=10_000, score=False):
    pipe = r.pipeline(transaction=False)
    for start in range(0, count, per):
        chunk = range(start, start + min(per, count - start))
        if command == 'zadd':
            pipe.zadd(key, {'m%d' % i: i for i in chunk})
        elif command == 'hset':
            pipe.hset(key, mapping={'f%d' % i: i for i in chunk})
        else:
            getattr(pipe, command)(key, *('m%d' % i for i in chunk))
    pipe.execute()


@pytest.mark.slow
@pytest.mark.parametrize('src_type,command,column', [
    ('list', 'rpush', 'element'), ('set', 'sadd', 'element'), ('hash', 'hset', 'key'),
    ('zset', 'zadd', 'element')])
def test_one_million_elements_in_bounded_memory(db, r, src_type, command, column):
    fill(r, command, 'big', MILLION)
    t = table(db, 'big_' + src_type, src_type, 'big')
    rows(db, 'select count(*) from %s' % table(db, 'warm', 'list', 'missing'))
    growth, result = peak_growth_kb(
        db, "select count(%s), max(substr(%s, 2)::int) from %s" % (column, column, t))
    assert result == [(MILLION, MILLION - 1)]
    assert growth < 16 * 1024, growth
    assert rows(db, 'select count(distinct %s) from %s' % (column, t)) == [(MILLION,)]


@pytest.mark.parametrize('src_type,command', [('set', 'sadd'), ('hash', 'hset')])
def test_fetch_by_scan_reads_every_member_once(db, r, src_type, command):
    fill(r, command, 'big', 200_000)
    t = table(db, 'scan_' + src_type, src_type, 'big')
    db.execute("alter foreign table %s options (add fetch 'scan')" % t)
    column = 'element' if src_type == 'set' else 'key'
    before = r.info('commandstats')
    assert rows(db, 'select count(*), count(distinct %s) from %s' % (column, t)) == [(200_000, 200_000)]
    stat = 'cmdstat_' + ('sscan' if src_type == 'set' else 'hscan')
    calls = r.info('commandstats')[stat]['calls'] - before.get(stat, {}).get('calls', 0)
    assert calls > 100      # many short calls, not one long reply


@pytest.mark.parametrize('src_type', ['list', 'zset', 'stream'])
def test_fetch_all_reads_a_key_with_one_command(db, r, src_type):
    if src_type == 'list':
        fill(r, 'rpush', 'k', 100_000)
        expected = [(m.decode(),) for m in r.lrange('k', 0, -1)]
    elif src_type == 'zset':
        fill(r, 'zadd', 'k', 100_000)
        expected = [(m.decode(),) for m in r.zrange('k', 0, -1)]
    else:
        for i in range(0, 20_000, 2_000):
            pipe = r.pipeline(transaction=False)
            for j in range(i, i + 2_000):
                pipe.xadd('k', {'n': j})
            pipe.execute()
        expected = [(i.decode(),) for i, _ in r.xrange('k')]
    t = table(db, 'all_' + src_type, src_type, 'k')
    db.execute("alter foreign table %s options (add fetch 'all')" % t)
    command = {'list': 'lrange', 'zset': 'zrange', 'stream': 'xrange'}[src_type]
    before = r.info('commandstats').get('cmdstat_' + command, {}).get('calls', 0)
    column = 'id' if src_type == 'stream' else 'element'
    assert rows(db, 'select %s from %s' % (column, t)) == expected
    assert r.info('commandstats')['cmdstat_' + command]['calls'] - before == 1


def test_zset_in_score_order(db, r):
    r.zadd('z', {'m%d' % i: (i * 7919) % 100_003 for i in range(100_000)})
    got = [row[0] for row in rows(db, 'select element from %s' % table(db, 'z_order', 'zset', 'z'))]
    assert got == [m.decode() for m in r.zrange('z', 0, -1)]


@pytest.mark.slow
def test_stream_of_200k_entries_in_bounded_memory(db, r):
    pipe = r.pipeline(transaction=False)
    for i in range(200_000):
        pipe.xadd('s', {'a': i, 'b': 'x' * 20})
        if i % 20_000 == 19_999:
            pipe.execute()
    t = table(db, 's_big', 'stream', 's')
    rows(db, 'select count(*) from %s' % table(db, 'warm', 'list', 'missing'))
    growth, result = peak_growth_kb(db, "select count(*), sum((items->>'a')::bigint) from %s" % t)
    assert result == [(200_000, sum(range(200_000)))]
    assert growth < 16 * 1024, growth


@pytest.mark.slow
def test_pattern_over_100k_keys(db, r):
    pipe = r.pipeline(transaction=False)
    for i in range(100_000):
        pipe.hset('user:%d' % i, mapping={'id': i, 'name': 'n%d' % i})
        if i % 10_000 == 9_999:
            pipe.execute()
    r.set('user:string', 'not a hash')
    t = table(db, 'users', 'multi_hash', 'user:*')
    rows(db, 'select count(*) from %s' % table(db, 'warm', 'list', 'missing'))
    start = time.monotonic()
    result = rows(db, "select count(*), count(distinct key), sum((items->>'id')::bigint) from %s" % t)
    elapsed = time.monotonic() - start
    assert result == [(100_000, 100_000, sum(range(100_000)))]
    print('100k-key multi_hash scan: %.3f s' % elapsed)


@pytest.mark.slow
def test_pattern_over_a_million_element_key(db, r):
    fill(r, 'rpush', 'big:list', MILLION)
    r.rpush('big:small', 'x')
    t = table(db, 'big_multi', 'multi_list', 'big:*')
    assert sorted(rows(db, "select key, jsonb_array_length(items), items->>-1 from %s" % t)) == \
        [('big:list', MILLION, 'm999999'), ('big:small', 1, 'x')]


def test_huge_single_value(db, r):
    big = b'x' * (50 << 20)
    r.rpush('huge', big, 'small')
    t = table(db, 'huge', 'list', 'huge')
    assert rows(db, 'select length(element) from %s' % t) == [(50 << 20,), (5,)]


def test_self_join_scans_the_table_twice(db, r):
    r.rpush('l', *range(1000))
    t = table(db, 'self', 'list', 'l')
    assert rows(db, 'select count(*) from %s a join %s b on a.element = b.element' % (t, t)) == [(1000,)]


def test_cursor_fetched_partly_then_closed(db, r):
    r.rpush('l', *range(100_000))
    t = table(db, 'cur', 'list', 'l')
    db.execute('begin')
    db.execute('declare c cursor for select element from %s' % t)
    assert db.execute('fetch 3 from c').fetchall() == [('0',), ('1',), ('2',)]
    db.execute('close c')
    assert rows(db, 'select count(element) from %s' % t) == [(100_000,)]   # a whole scan, not LLEN
    db.execute('commit')
