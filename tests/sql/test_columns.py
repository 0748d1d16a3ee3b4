"""The opt-in number columns (issue 11): a list's `index bigint` (0-based, as
LRANGE) and a sorted set's `score double precision`.  Their values, the
clauses on them offered to Redis (every form equal to the same query with
pushdown off and to a local copy), the column checks, and EXPLAIN ANALYZE's
Redis statistics.
"""
import math
import random

import psycopg
import pytest

from conftest import rows, table
from fake_servers import FakeServer

RNG = random.Random(1111)
# More than one LRANGE batch (128), with repeats, empty and non-ASCII elements.
LIST = [RNG.choice(['a', 'b', '', 'é', 'x y', '€', '\\']) for _ in range(300)]
# Ties, both zeros, both infinities, the extremes of double precision, and
# float4's 0.1 beside float8's.
ZSET = {'m-inf': float('-inf'), 'm-big': -1e20, 'm-2.5': -2.5, 'm-0': -0.0, 'm0': 0.0,
        'm.1': 0.1, 'm.1f': 0.10000000149011612, 'm1': 1.0, 'n1': 1.0, 'm1.5': 1.5, 'é': 2.0,
        '': 3.0, 'm-tiny': 5e-324, 'mbig': 1e20, 'mmax': 1.7976931348623157e308,
        'minf': float('inf')}
for i in range(200):
    ZSET['r%03d' % i] = RNG.choice([RNG.randint(-5, 5), RNG.uniform(-3, 3)])

LIST_T = 'redis.col_list'
ZSET_T = 'redis.col_zset'


@pytest.fixture(scope='module')
def keys(redis_server):
    client = redis_server.client()
    client.delete('col:l', 'col:z')
    client.rpush('col:l', *LIST)
    client.zadd('col:z', ZSET)
    client.close()


@pytest.fixture(scope='module')
def data(pg, testdb, keys):
    with pg.connect(testdb) as conn:
        table(conn, 'col_list', 'list', 'col:l', 'element text, index bigint')
        table(conn, 'col_zset', 'zset', 'col:z', 'element text, score double precision')
        conn.execute('create schema if not exists col_local')
        conn.execute('drop table if exists col_local.list, col_local.zset, col_local.probe')
        conn.execute('create table col_local.list (element text, index bigint)')
        conn.execute('create table col_local.zset (element text, score double precision)')
        with conn.cursor() as cur:
            cur.executemany('insert into col_local.list values (%s, %s)',
                            [(e, i) for i, e in enumerate(LIST)])
            cur.executemany('insert into col_local.zset values (%s, %s)', list(ZSET.items()))
        conn.execute('create table col_local.probe (i bigint, f double precision)')
        conn.execute('insert into col_local.probe values (3, 1), (128, 1.5), (null, null), (999, 2)')
        conn.execute('analyze col_local.probe')


def result(conn, sql, args=None, prepare=None):
    return sorted(conn.execute(sql, args, prepare=prepare).fetchall(), key=repr)


def same_rows(db, off, where, args=None, prepare=None):
    """where on the list table (when it names index) or the sorted set gives the
    local copy's rows, with pushdown on and off."""
    name = 'list' if 'index' in where else 'zset'
    local = result(db, 'select * from col_local.%s where %s' % (name, where), args)
    foreign = 'select * from redis.col_%s where %s' % (name, where)
    assert result(db, foreign, args, prepare) == local, (where, args)
    assert result(off, foreign, args, prepare) == local, (where, args)


def plan_of(db, sql, args=None):
    return '\n'.join(r[0] for r in db.execute('explain ' + sql, args).fetchall())


def offers(db, sql):
    """What planning sql offered Redis (the DEBUG1 line), its clauses sorted."""
    got = []

    def handler(diag):
        if diag.message_primary.startswith('redis_wrapper: '):
            clauses = diag.message_primary.split(' offers ', 1)[1].split(': ', 1)[1]
            got.append('; '.join(sorted(c for c in clauses.split('; ')
                                        if not c.startswith('Redis serves '))))
    db.add_notice_handler(handler)
    db.execute('set client_min_messages = debug1')
    try:
        db.execute('explain ' + sql).fetchall()
    finally:
        db.execute('reset client_min_messages')
        db.remove_notice_handler(handler)
    return got


# -- values --------------------------------------------------------------------

def test_a_list_index_counts_from_zero_in_list_order(db, data):
    assert rows(db, 'select element, index from %s' % LIST_T) == [(e, i) for i, e in enumerate(LIST)]


def test_a_score_is_the_sorted_sets_in_score_order(db, redis_server, data):
    got = rows(db, 'select element, score from %s' % ZSET_T)
    client = redis_server.client()             # not r: that one empties Redis
    want = [(e.decode(), s) for e, s in client.zrange('col:z', 0, -1, withscores=True)]
    client.close()
    assert got == want
    # The ends of the range survive: the infinities, the extremes (Redis itself
    # writes a score of -0 as "0").
    scores = dict(got)
    assert scores['minf'] == float('inf') and scores['m-inf'] == float('-inf')
    assert scores['m-tiny'] == 5e-324 and scores['mmax'] == 1.7976931348623157e308
    assert scores['m.1f'] != scores['m.1']


@pytest.mark.parametrize('columns,select,want', [
    ('index bigint', 'index', [(i,) for i in range(len(LIST))]),
    ('index bigint, element text', '*', [(i, e) for i, e in enumerate(LIST)]),
    ('score double precision', 'count(*), min(score), max(score)',
     [(len(ZSET), float('-inf'), float('inf'))]),
])
def test_any_subset_of_the_columns_in_any_order(db, data, columns, select, want):
    src_type, key = ('list', 'col:l') if 'index' in columns else ('zset', 'col:z')
    t = table(db, 'col_subset', src_type, key, columns)
    assert rows(db, 'select %s from %s' % (select, t)) == want


def test_the_spec_one_column_shapes_stay_valid(db, data):
    t = table(db, 'col_plain_z', 'zset', 'col:z')
    assert len(rows(db, 'select element from %s' % t)) == len(ZSET)
    t = table(db, 'col_plain_l', 'list', 'col:l')
    assert rows(db, 'select element from %s' % t) == [(e,) for e in LIST]


# -- column checks ------------------------------------------------------------------

@pytest.mark.parametrize('src_type,columns,wanted', [
    ('list', 'element text, index integer', 'bigint'),
    ('list', 'index numeric', 'bigint'),
    ('list', 'index text', 'bigint'),
    ('zset', 'element text, score numeric', 'double precision'),
    ('zset', 'score real', 'double precision'),
    ('zset', 'score bigint', 'double precision'),
])
def test_a_number_column_of_another_type_is_refused(db, src_type, columns, wanted):
    with pytest.raises(psycopg.Error) as e:
        table(db, 'col_bad', src_type, 'k', columns)
    assert e.value.sqlstate == 'HV004', str(e.value)
    assert 'yields %s' % wanted in str(e.value)
    shape = {'list': 'element text, index bigint', 'zset': 'element text, score double precision'}
    assert '(%s)' % shape[src_type] in e.value.diag.message_hint


def test_altering_a_number_column_to_another_type_is_refused(db, data):
    t = table(db, 'col_alter', 'zset', 'col:z', 'element text, score double precision')
    with pytest.raises(psycopg.Error) as e:
        db.execute('alter foreign table %s alter column score type numeric' % t)
    assert e.value.sqlstate == 'HV004'
    with pytest.raises(psycopg.Error) as e:
        db.execute('alter foreign table %s add column index bigint' % t)
    assert e.value.sqlstate == 'HV007'


# -- clauses -----------------------------------------------------------------------

N = len(LIST)
INDEXES = [-2 ** 63, -1, 0, 1, 7, 127, 128, 200, N - 1, N, N + 5, 2 ** 62, 2 ** 63 - 1]
SCORES = [float('-inf'), -1e20, -2.5, -0.0, 0.0, 5e-324, 0.1, 0.10000000149011612, 1.0, 1.5, 2.0,
          1e20, 1.7976931348623157e308, float('inf'), float('nan')]
COMPARISONS = ['{c} = {v}', '{v} = {c}', '{c} < {v}', '{c} <= {v}', '{c} > {v}', '{c} >= {v}',
               '{v} < {c}', '{v} <= {c}', '{v} > {c}', '{v} >= {c}', '{c} <> {v}']


def test_every_comparison_on_index(db, off, data):
    for v in INDEXES:
        casts = ['%s::int8', '%s'] + (['%s::int4'] if abs(v) < 2 ** 31 else []) + \
            (['%s::int2'] if abs(v) < 2 ** 15 else [])
        for form in COMPARISONS:
            for cast in casts:
                same_rows(db, off, form.format(c='index', v=cast), [v])
        same_rows(db, off, "index = %s and element = 'a'", [v])


def fits_real(v):
    """Whether v::real is a value, not an overflow or underflow error."""
    return not math.isfinite(v) or v == 0 or 1e-37 < abs(v) < 1e38


def test_every_comparison_on_score(db, off, data):
    for v in SCORES:
        for form in COMPARISONS:
            for cast in ['%s', '%s::float8'] + (['%s::real'] if fits_real(v) else []):
                same_rows(db, off, form.format(c='score', v=cast), [v])
        same_rows(db, off, "score >= %s and element > 'm'", [v])
    for literal in ["'NaN'", "'Infinity'", "'-infinity'", "'-0'", '0.1', '1.5', '1e20', '2']:
        for form in COMPARISONS:
            same_rows(db, off, form.format(c='score', v=literal))


def test_between_and_ranges(db, off, data):
    for lo, hi in [(0, 9), (127, 129), (5, 5), (9, 5), (-10, 3), (N - 3, N + 3), (-2 ** 63, 2 ** 63 - 1)]:
        same_rows(db, off, 'index between %s and %s', [lo, hi])
        if abs(lo) < 2 ** 15 and abs(hi) < 2 ** 15:
            same_rows(db, off, 'index between %s::int4 and %s::int2', [lo, hi])
        same_rows(db, off, 'index not between %s and %s', [lo, hi])
        same_rows(db, off, 'index > %s and index < %s and index >= 2 and index <= 250', [lo, hi])
    for lo, hi in [(-1, 1), (1, 1), (0.1, 1.5), (2, 1), (float('-inf'), float('inf')), (-0.0, 0.0),
                   (float('nan'), float('nan')), (-3, float('nan')), (1e20, float('inf'))]:
        same_rows(db, off, 'score between %s and %s', [lo, hi])
        same_rows(db, off, 'score between %s::real and %s', [lo, hi])
        same_rows(db, off, 'score > %s and score <= %s', [lo, hi])
    same_rows(db, off, 'score between symmetric 2 and 1')
    for where in ['index between 100 and 200', 'score between 1 and 2', 'score > 1e20']:
        name = 'list' if 'index' in where else 'zset'
        sql = 'select count(*) from %s where ' + where
        assert rows(db, sql % ('redis.col_' + name)) == rows(db, sql % ('col_local.' + name))
    same_rows(db, off, "score between 1 and 2 and element like 'r%'")


def test_lists_of_values_and_nulls(db, off, data):
    for where, args in [
        ('index in (3, 1, 3, null, 299, 300, -1)', None),
        ('index = any(%s)', [[5, None, 5, 128, 2 ** 62]]),
        ('index = any(%s::int4[])', [[0, 7, 7]]),
        ('index = any(%s::int2[])', [[9, 1]]),
        ("index = any('{}'::int8[])", None),
        ('index = any(%s::int8[])', [None]),
        ('index = null', None),
        ('index < null', None),
        ('index between null and 5', None),
        ('index < 2 or index > 297', None),
        ('index < 2.5', None),
        ("score in (1, 2, -0, 0, 'NaN', 'infinity', null)", None),
        ('score = any(%s)', [[1.5, None, 1.5, float('-inf')]]),
        ('score = any(%s::real[])', [[0.1, 1.0, 3.0]]),
        ('score = null', None),
        ('score >= null', None),
        ('score < 0 or score > 2', None),
        ('score::numeric > 1.5', None),
    ]:
        same_rows(db, off, where, args)


def test_parameters(db, off, data):
    for mode in ['auto', 'force_generic_plan']:
        for conn in (db, off):
            conn.execute('set plan_cache_mode = %s' % mode)
        for _ in range(2):          # past the custom plans: a generic plan in auto mode
            for v in [3, 128, None, -1, N]:
                same_rows(db, off, 'index >= %s', [v], prepare=True)
                same_rows(db, off, 'index between %s and %s::int4', [v, 200], prepare=True)
                same_rows(db, off, 'index = any(%s::int8[])', [[v, 1]], prepare=True)
            for v in [1.0, -0.0, float('inf'), float('nan'), None, 0.1]:
                same_rows(db, off, 'score < %s', [v], prepare=True)
                same_rows(db, off, 'score between %s::real and 2', [v], prepare=True)
                same_rows(db, off, 'score = any(%s::float8[])', [[v, 1.5]], prepare=True)


@pytest.mark.parametrize('forced', [False, True])
def test_joins_on_the_number_columns(db, off, data, forced):
    if forced:
        for conn in (db, off):
            conn.execute('set enable_hashjoin = off; set enable_mergejoin = off')
    for sql in ['select p.i, t.* from col_local.probe p join {l} t on t.index = p.i',
                'select p.i, t.* from col_local.probe p join {l} t on t.index between p.i and p.i + 2',
                'select p.f, t.* from col_local.probe p join {z} t on t.score = p.f',
                'select p.f, t.* from col_local.probe p join {z} t on t.score > p.f and t.score < 3']:
        local = result(db, sql.format(l='col_local.list', z='col_local.zset'))
        foreign = sql.format(l=LIST_T, z=ZSET_T)
        assert result(db, foreign) == local, sql
        assert result(off, foreign) == local, sql


def test_what_is_offered(db, data):
    l = 'select * from %s where ' % LIST_T
    z = 'select * from %s where ' % ZSET_T
    # Integers as int8 text, distinct and in numeric order, NULLs left out.
    assert offers(db, l + 'index in (10, 9, 10, null)') == ["index IN ('9', '10')"]
    assert offers(db, l + 'index between 2::int2 and 5::int4') == ["index <= '5'; index >= '2'"]
    assert offers(db, l + '7 > index') == ["index < '7'"]
    assert offers(db, l + 'index = any(%s::int8[])' % "'{-9223372036854775808, -1, 2}'") == [
        "index IN ('-9223372036854775808', '-1', '2')"]
    # Floats as float8out writes them, exactly (float4's 0.1 is not float8's),
    # whatever extra_float_digits says; -0 is 0.
    db.execute('set extra_float_digits = -15')
    assert offers(db, z + 'score < 0.1::real') == ["score < '0.10000000149011612'"]
    assert offers(db, z + 'score >= 0.1') == ["score >= '0.1'"]
    assert offers(db, z + "score in ('-0', 0, 1e20, 'infinity', '-infinity', 'nan', 2)") == [
        "score IN ('-Infinity', '0', '2', '1e+20', 'Infinity', 'NaN')"]
    db.execute('reset extra_float_digits')
    # Not offered: numeric comparisons, other operators, expressions of the column.
    for clause in ['index < 2.5', 'index <> 3', 'index + 1 = 3', 'index::int4 = 3', 'score::real = 1',
                   'score::numeric = 1', 'score <> 1', 'index < any(%s)' % "'{1,2}'::int8[]",
                   'index = random()::int8']:
        assert offers(db, (l if 'index' in clause else z) + clause) == [], clause


def test_explain_shows_the_command_of_a_pushed_range(db, data):
    """needs the core: index and score ranges served by LRANGE and ZRANGE BYSCORE."""
    for sql in ['select * from %s where index = 3' % LIST_T,
                'select * from %s where index between 2 and 5' % LIST_T,
                'select * from %s where index > 250' % LIST_T,
                'select * from %s where score between 1 and 2' % ZSET_T,
                'select * from %s where score > 1.5' % ZSET_T]:
        plan = plan_of(db, sql)
        assert 'Redis Command' in plan and 'Filter' not in plan, plan


def test_a_pushed_range_keeps_the_sources_order(db, data):
    assert rows(db, 'select index from %s where index between 120 and 140' % LIST_T) == [
        (i,) for i in range(120, 141)]
    got = rows(db, 'select element, score from %s where score between -1 and 1' % ZSET_T)
    assert [s for _, s in got] == sorted(s for _, s in got) and len(got) == sum(
        -1 <= s <= 1 for s in ZSET.values())


# -- a score Redis would never send ---------------------------------------------------

@pytest.mark.parametrize('score', [b'abc', b'1.5x', b'', b'nan', b'0x10', b' 1', b'1\x01\xff'])
def test_a_malformed_score_is_an_error(db, score):
    reply = b'+zset\r\n*2\r\n$1\r\na\r\n$%d\r\n%s\r\n' % (len(score), score)
    with FakeServer(reply=reply) as fake:
        db.execute('drop server if exists col_fake cascade')
        db.execute("create server col_fake foreign data wrapper redis_wrapper options "
                   "(conn_url '%s', command_timeout '3s')" % fake.url)
        t = table(db, 'col_fake_z', 'zset', 'k\x01', 'element text, score double precision',
                  server='col_fake')
        with pytest.raises(psycopg.Error) as e:
            db.execute('select * from %s' % t).fetchall()
    # Either the core refuses the reply, or the C side the cell; never a wrong number.
    assert e.value.sqlstate in ('22P02', '08P01'), str(e.value)
    assert '\x01' not in str(e.value) + (e.value.diag.context or '')
    if e.value.sqlstate == '22P02':
        assert 'double precision' in str(e.value)
        assert 'Redis key "k\\x01"' in e.value.diag.context
    assert rows(db, 'select 1') == [(1,)]


# -- EXPLAIN ANALYZE -------------------------------------------------------------------

STATS = ['Redis Round Trips', 'Redis Commands', 'Redis Bytes Received', 'Redis Keys']


def statistics(db, sql):
    """EXPLAIN ANALYZE's Redis statistics of sql's foreign scan: {label: value}."""
    plan = [r[0] for r in db.execute('explain (analyze, costs off, timing off, summary off) '
                                     + sql).fetchall()]
    got = {}
    for line in plan:
        label, _, value = line.strip().partition(': ')
        if label in STATS:
            assert label not in got, plan
            got[label] = int(value)
    return got


def test_explain_analyze_shows_redis_statistics(db, keys):
    t = table(db, 'col_text_l', 'list', 'col:l')
    for sql in ['select * from %s' % t, 'select count(*) from %s' % t,
                'select * from %s limit 3' % t, "select * from %s where element = 'a'" % t]:
        assert sorted(statistics(db, sql)) == sorted(STATS), sql
    assert 'Redis Commands' not in plan_of(db, 'select * from %s' % t)
    plan = db.execute('explain (analyze, format json) select * from %s' % t).fetchone()[0]
    assert all(label in plan[0]['Plan'] for label in STATS)


def test_explain_analyze_counts_what_redis_did(db, data):
    """needs the core: rw_scan_stats counts."""
    t = table(db, 'col_text_l', 'list', 'col:l')
    got = statistics(db, 'select * from %s' % t)
    assert got['Redis Commands'] >= 3          # TYPE and LRANGE batches of 128
    assert got['Redis Round Trips'] >= 1 and got['Redis Keys'] == 1
    assert got['Redis Bytes Received'] > len(LIST) * 4
    got = statistics(db, 'select * from %s where index < 5' % LIST_T)
    assert got['Redis Commands'] >= 1 and got['Redis Keys'] == 1


def test_explain_analyze_adds_up_the_scans_of_a_parameterized_loop(db, data):
    """needs the core: a nested loop reopens the scan for each outer row; the
    statistics are of all of them."""
    db.execute('set enable_hashjoin = off; set enable_mergejoin = off; set enable_material = off')
    sql = 'select * from (select i from col_local.probe where i is not null {}) p ' \
          'join %s t on t.index = p.i' % LIST_T
    one = statistics(db, sql.format('and i = 3'))
    three = statistics(db, sql.format(''))
    assert 'Redis Command' in plan_of(db, sql.format(''))
    assert one['Redis Commands'] >= 1 and one['Redis Keys'] >= 1
    assert three['Redis Commands'] > one['Redis Commands']
    assert three['Redis Keys'] > one['Redis Keys']


@pytest.mark.parametrize('sql, ordered', [
    ('select element, score from %s order by score limit 4' % ZSET_T, True),
    ('select element, score from %s where score > 0 order by score limit 3 offset 1' % ZSET_T, True),
    ('select element, index from %s order by index limit 5' % LIST_T, True),
    ('select element, index from %s where index >= 10 order by index limit 2' % LIST_T, True),
    # A sorted set reads backwards (ZRANGE ... REV); a score is never NULL.
    ('select element, score from %s order by score desc limit 4' % ZSET_T, True),
    ('select element, score from %s where score < 3 order by score desc limit 3 offset 1' % ZSET_T, True),
    ('select element, score from %s where score in (1, 2, 5) order by score desc limit 2' % ZSET_T, True),
    ("select element, score from %s where element in ('m1', 'n1', 'é', 'r001') order by score desc limit 3" % ZSET_T,
     True),
    ('select element, score from %s order by score nulls first limit 4' % ZSET_T, True),
    ('select element, score from %s order by score desc nulls last limit 4' % ZSET_T, True),
    # Not the source's order: PostgreSQL sorts.
    ('select element, index from %s order by index desc limit 5' % LIST_T, False),
    ('select element, score from %s order by score, element limit 4' % ZSET_T, False),
    ('select element, score from %s order by element limit 4' % ZSET_T, False),
])
def test_the_sources_order_needs_no_sort(db, off, data, sql, ordered):
    """ORDER BY a sorted set's score or a list's index is the order the rows
    come in: no Sort, and the LIMIT reaches Redis."""
    plan = plan_of(db, sql)
    assert ('Sort' not in plan and 'Redis Limit' in plan) == ordered, plan
    got = db.execute(sql).fetchall()
    local = db.execute(sql.replace('redis.col_', 'col_local.')).fetchall()
    # Equal scores may come in either order: the ordering column must agree.
    column = 0 if 'order by element' in sql else 1
    assert [r[column] for r in got] == [r[column] for r in local] == \
        [r[column] for r in off.execute(sql).fetchall()]
    assert len(got) == len(local) > 0
