"""Work above the scan handed to Redis (issue 11): count(*) and the LIMIT hint.

count(*) becomes one ForeignScan (no Aggregate) only for a single table of
ours, a bare count(*), and no clause left to PostgreSQL; a LIMIT with nothing
that filters or reorders above the scan tells the scan how many rows it needs.
Every shape returns what the same query returns with redis_wrapper.pushdown
off.

NEEDS THE CORE'S count_only: the tests marked so below read the result of a
pushed count, which exists only once the core answers RwScanSpec.count_only
with its one row (until then the scan raises "the count of foreign table ...
is not one row"): test_pushed_count_star_counts_every_row,
test_pushed_count_of_a_missing_key_is_zero,
test_count_with_every_clause_served_is_pushed.
"""
import pytest

from conftest import rows, table

N = 300
# name, src_type, src_key, columns, source order kept by a full scan
SOURCES = [
    ('u_hash', 'hash', 'u:h', 'key text, value text', False),
    ('u_set', 'set', 'u:s', 'element text', False),
    ('u_list', 'list', 'u:l', 'element text', True),
    ('u_zset', 'zset', 'u:z', 'element text', True),
    ('u_stream', 'stream', 'u:x', 'id text, items jsonb', True),
    ('u_mlist', 'multi_list', 'u:ml:*', 'key text, items jsonb', False),
    ('u_mhash', 'multi_hash', 'u:mh:*', 'key text, items jsonb', False),
]


@pytest.fixture
def data(db, r):
    r.hset('u:h', mapping={'f%03d' % i: 'v%d' % (i % 7) for i in range(N)})
    r.sadd('u:s', *['m%03d' % i for i in range(N)])
    r.rpush('u:l', *['e%d' % (i % 50) for i in range(N)])      # duplicates
    r.zadd('u:z', {'z%03d' % i: i % 10 for i in range(N)})
    pipe = r.pipeline(transaction=False)
    for i in range(N):
        pipe.xadd('u:x', {'n': str(i)}, id='%d-1' % (i + 1))
        pipe.rpush('u:ml:%03d' % i, 'a', str(i))
        if i % 3 == 0:
            pipe.hset('u:mh:%03d' % i, 'f', str(i))
    pipe.execute()
    r.set('u:ml:string', 'not a list')
    for name, src_type, key, columns, _ in SOURCES:
        table(db, name, src_type, key, columns)
    return {'u_hash': N, 'u_set': N, 'u_list': N, 'u_zset': N, 'u_stream': N,
            'u_mlist': N, 'u_mhash': N // 3}


def plan_of(db, sql):
    return '\n'.join(r[0] for r in db.execute('explain (verbose) ' + sql).fetchall())


def count_is_pushed(plan):
    return 'Aggregate' not in plan and 'Foreign Scan' in plan and 'Redis Command' in plan


def same(db, off, sql):
    assert rows(db, sql) == rows(off, sql), sql


@pytest.mark.parametrize('source', SOURCES, ids=[s[0] for s in SOURCES])
def test_count_star_is_one_foreign_scan(db, off, data, source):
    name = source[0]
    sql = 'select count(*) from redis.%s' % name
    assert count_is_pushed(plan_of(db, sql)), plan_of(db, sql)
    assert 'Aggregate' in plan_of(off, sql)
    # One row: a LIMIT above it is no hint to the count.
    plan = plan_of(db, sql + ' limit 3')
    assert count_is_pushed(plan) and 'Redis Limit' not in plan, plan


@pytest.mark.parametrize('source', SOURCES, ids=[s[0] for s in SOURCES])
def test_pushed_count_star_counts_every_row(db, off, data, source):
    """NEEDS THE CORE'S count_only."""
    name = source[0]
    for sql in ['select count(*) from redis.%s',
                'select count(*) * 2 + 1, count(*) from redis.%s',
                'select 1 from redis.%s order by count(*)',
                'select count(*) from redis.%s limit 3']:
        assert rows(db, sql % name) == rows(off, sql % name), sql
    assert rows(db, 'select count(*) from redis.%s' % name) == [(data[name],)]


def test_pushed_count_of_a_missing_key_is_zero(db, off, data):
    """NEEDS THE CORE'S count_only."""
    t = table(db, 'u_missing', 'hash', 'u:nothing')
    assert count_is_pushed(plan_of(db, 'select count(*) from %s' % t))
    assert rows(db, 'select count(*) from %s' % t) == [(0,)]


def test_count_with_every_clause_served_is_pushed(db, off, data):
    """NEEDS THE CORE'S count_only for the results."""
    for sql in ["select count(*) from redis.u_hash where key in ('f001', 'f002', 'nope', 'f001')",
                "select count(*) from redis.u_set where element = 'm007'",
                "select count(*) from redis.u_mlist where key = any('{u:ml:001,u:ml:002,x}')"]:
        assert count_is_pushed(plan_of(db, sql)), plan_of(db, sql)
        same(db, off, sql)
    # A parameter's value, of a generic plan or of each outer row (a rescan).
    for conn in (db, off):
        conn.execute('set plan_cache_mode = force_generic_plan')
        conn.execute('prepare c(text[]) as select count(*) from redis.u_hash where key = any($1)')
    assert count_is_pushed(plan_of(db, "execute c('{f001,f002}')"))
    for keys in ["'{f001,f002,f001}'", "'{}'", "'{nope}'", 'null']:
        same(db, off, 'execute c(%s)' % keys)
    sql = ("select k, (select count(*) from redis.u_hash where key = k) "
           "from (values ('f001'), ('nope'), ('f001'), (null), ('f299')) v(k)")
    assert 'SubPlan' in plan_of(db, sql) and count_is_pushed(plan_of(db, sql).split('SubPlan')[-1])
    assert rows(db, sql) == rows(off, sql) == [('f001', 1), ('nope', 0), ('f001', 1), (None, 0), ('f299', 1)]


# Each of these needs PostgreSQL above the scan: the count must not be pushed.
NOT_PUSHED = [
    "select count(*) from redis.u_hash where value = 'v1'",                # a local filter
    "select count(*) from redis.u_hash where key like 'f0_%'",
    "select count(*) from redis.u_hash where key in ('f001', 'f002') and value = 'v1'",
    "select count(*) from redis.u_list where random() >= 0",
    'select count(value) from redis.u_hash',
    'select count(items) from redis.u_stream',
    'select count(distinct value) from redis.u_hash',
    "select count(*) filter (where value = 'v1') from redis.u_hash",
    'select count(*), max(key) from redis.u_hash',
    'select sum(length(element)) from redis.u_list',
    'select value, count(*) from redis.u_hash group by value',
    'select count(*) from redis.u_hash group by grouping sets ((value), ())',
    'select count(*) from redis.u_hash having count(*) > 1',
    'select count(*) from redis.u_hash a join redis.u_set b on a.key = b.element',
    'select count(*) from redis.u_hash, (values (1), (2)) v(x)',
    'select count(*) from (select * from redis.u_list union all select * from redis.u_list) u',
]


@pytest.mark.parametrize('sql', NOT_PUSHED)
def test_count_is_not_pushed_when_postgres_must_see_the_rows(db, off, data, sql):
    assert 'Aggregate' in plan_of(db, sql), plan_of(db, sql)
    # The plan's aggregate reads the scan's rows: right without the core's count.
    same(db, off, sql)


def test_pushdown_off_pushes_neither_count_nor_limit(db, off, data):
    assert 'Aggregate' in plan_of(off, 'select count(*) from redis.u_list')
    assert 'Redis Limit' not in plan_of(off, 'select * from redis.u_list limit 3')
    assert 'Redis Limit: 3' in plan_of(db, 'select * from redis.u_list limit 3')


def test_count_star_explain_verbose_shows_one_bigint_column(db, data):
    plan = plan_of(db, 'select count(*) from redis.u_set')
    assert 'Output: (count(*))' in plan and 'Redis Source: set "u:s"' in plan, plan


LIMITS = [(0, None), (1, None), (5, None), (5, 3), (N - 2, 1), (N, None), (N + 10, 0), (3, N - 1),
          (2, N + 5), (None, 4), (None, None)]


def limit_clause(limit, offset):
    return '%s%s' % ('' if limit is None else ' limit %d' % limit,
                     '' if offset is None else ' offset %d' % offset)


@pytest.mark.parametrize('source', SOURCES, ids=[s[0] for s in SOURCES])
def test_limit_and_offset_return_the_right_rows(db, off, data, source):
    name, _, _, _, ordered = source
    everything = rows(off, 'select * from redis.%s' % name)
    for limit, offset in LIMITS:
        sql = 'select * from redis.%s%s' % (name, limit_clause(limit, offset))
        got = rows(db, sql)
        start = offset or 0
        want = len(everything[start:] if limit is None else everything[start:start + limit])
        assert len(got) == want, sql
        if ordered:
            assert got == rows(off, sql), sql
        else:
            # No order to keep: distinct rows of the table (theirs are distinct).
            got = [repr(row) for row in got]
            assert len(set(got)) == len(got) and set(got) <= set(map(repr, everything)), sql


def test_limit_with_served_clauses(db, off, data):
    for sql in ["select * from redis.u_hash where key in ('f001', 'f002', 'f003') limit 2",
                "select * from redis.u_mlist where key like 'u:ml:01%' limit 4"]:
        assert 'Redis Limit' in plan_of(db, sql), plan_of(db, sql)
        got = [repr(row) for row in rows(db, sql)]
        full = [repr(row) for row in rows(off, sql.rsplit(' limit ', 1)[0])]
        assert len(got) == min(len(full), int(sql.rsplit(' ', 1)[1])) and set(got) <= set(full)


def test_limit_and_offset_parameters(db, off, data):
    db.execute('prepare lim(int, int) as select * from redis.u_list limit $1 offset $2')
    off.execute('prepare lim(int, int) as select * from redis.u_list limit $1 offset $2')
    for mode in ['force_custom_plan', 'force_generic_plan']:
        for conn in (db, off):
            conn.execute('set plan_cache_mode = %s' % mode)
        for limit, offset in [(3, 0), (10, 5), (1, 0), (50, 2), (2, 0)]:
            sql = 'execute lim(%d, %d)' % (limit, offset)
            assert rows(db, sql) == rows(off, sql), (mode, sql)
    db.execute('set plan_cache_mode = force_generic_plan')
    assert 'Redis Limit' not in plan_of(db, 'execute lim(3, 0)')
    db.execute('set plan_cache_mode = force_custom_plan')
    assert 'Redis Limit: 8' in plan_of(db, 'execute lim(3, 5)')


# Rows filtered, reordered, grouped or multiplied above the scan: no hint.
NO_HINT = [
    "select * from redis.u_hash where value = 'v1' limit 3",
    "select * from redis.u_hash where key like 'f0_%' limit 3",
    'select * from redis.u_list order by element limit 3',
    'select element from redis.u_list group by element limit 3',
    'select distinct element from redis.u_list limit 3',
    'select distinct on (element) element from redis.u_list limit 3',
    'select element, row_number() over () from redis.u_list limit 3',
    'select element, generate_series(1, 2) from redis.u_list limit 3',
    'select * from redis.u_list a join redis.u_set b on a.element = b.element limit 3',
    'select * from redis.u_list, (values (1), (2)) v(x) limit 3',
    'select * from redis.u_list limit all',
    'select * from redis.u_list limit null',
    'select * from redis.u_list limit (select 3)',
    'select * from redis.u_list order by element fetch first 3 rows with ties',
    'select * from (select * from redis.u_list union all select * from redis.u_list) u limit 3',
    'select * from redis.u_list where element in (select element from redis.u_list limit 2)',
]


@pytest.mark.parametrize('sql', NO_HINT)
def test_no_limit_hint_when_rows_could_be_filtered_or_reordered_above(db, off, data, sql):
    plan = plan_of(db, sql)
    if 'in (select' in sql:
        # The subquery's own LIMIT does concern its own scan, alone there.
        assert plan.count('Redis Limit: 2') == 1 and 'Redis Limit: 3' not in plan, plan
    else:
        assert 'Redis Limit' not in plan, plan
    got, want = rows(db, sql), rows(off, sql)
    assert len(got) == len(want), sql
    if 'limit 3' not in sql:
        assert sorted(got) == sorted(want), sql


def test_limit_hint_is_limit_plus_offset(db, data):
    assert 'Redis Limit: 13' in plan_of(db, 'select * from redis.u_list limit 10 offset 3')
    assert 'Redis Limit: 5' in plan_of(db, 'select * from redis.u_list limit 2 + 3')
    assert 'Redis Limit: 4' in plan_of(db, 'select element from redis.u_list fetch first 4 rows only')
    assert 'Redis Limit' not in plan_of(db, 'select * from redis.u_list offset 3')
    assert 'Redis Limit' not in plan_of(db, 'select * from redis.u_list limit 0')
    # A hint too large to matter is no hint.
    assert 'Redis Limit' not in plan_of(db, 'select * from redis.u_list limit 9000000000')
    assert len(rows(db, 'select * from redis.u_list limit 9000000000')) == N
