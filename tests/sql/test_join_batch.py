"""Joins whose inner side looks up one value per outer row read their outer
rows a batch ahead (a Redis Prefetch node) and ask Redis for the whole batch
at once (issue 11's join target).  Every such join must return exactly the
rows of the same join with redis_wrapper.pushdown off, whatever the join type,
the values (NULLs, duplicates, missing ones, non-ASCII) or the parameters; and
Redis must be asked once per batch, not once per row."""
import math
import random

import psycopg
import pytest

from conftest import rows

RNG = random.Random(1111)
TOKENS = ['a', 'b', 'ab', 'A', 'é', '€', '日本', '*', '?', '[', ']', '\\', '%', '_', ' ', 'x', '0']
WORDS = sorted(set(''.join(RNG.choice(TOKENS) for _ in range(RNG.randint(0, 4))) for _ in range(600)))
MISSING = ['zz-missing', 'É', 'x' * 40]
PREFIX = 'jb:m:'
STRINGS = 'jb:str:'
OUTER_ROWS = 2500               # more than two batches of RW_BATCH_ROWS (1000)
BATCH_ROWS = 1000

# name, src_type, src_key, columns, the looked-up column
TABLES = [
    ('hash', 'hash', 'jb:h', 'key text, value text', 'key'),
    ('set', 'set', 'jb:s', 'element text', 'element'),
    ('zset', 'zset', 'jb:z', 'element text, score double precision', 'element'),
    ('multi', 'multi_list', PREFIX + '*', 'key text, items jsonb', 'key'),
    ('strings', 'multi_string', STRINGS + '*', 'key text, value text', 'key'),
]


@pytest.fixture(scope='module')
def data(pg, testdb, redis_server):
    client = redis_server.client()
    client.delete('jb:h', 'jb:s', 'jb:z', *client.keys(PREFIX + '*'), *client.keys(STRINGS + '*'))
    client.hset('jb:h', mapping={w: RNG.choice(WORDS) for w in RNG.sample(WORDS, len(WORDS) * 2 // 3)})
    client.sadd('jb:s', *RNG.sample(WORDS, len(WORDS) // 2))
    client.zadd('jb:z', {w: RNG.randint(0, 5) for w in RNG.sample(WORDS, len(WORDS) // 2)})
    for w in RNG.sample(WORDS, len(WORDS) // 3):
        client.rpush(PREFIX + w, *[RNG.choice(WORDS) for _ in range(RNG.randint(1, 2))])
    client.mset({STRINGS + w: RNG.choice(WORDS) for w in RNG.sample(WORDS, len(WORDS) // 3)})
    client.rpush(STRINGS + MISSING[0], 'not a string')     # another type: no row
    client.close()
    values = [None if RNG.random() < 0.1 else RNG.choice(WORDS + MISSING) for _ in range(OUTER_ROWS)]
    with pg.connect(testdb) as conn:
        for name, src_type, key, columns, _ in TABLES:
            conn.execute('drop foreign table if exists redis.jb_%s' % name)
            conn.execute("create foreign table redis.jb_%s (%s) server redis_server "
                         "options (src_type '%s', src_key '%s')" % (name, columns, src_type, key))
        conn.execute('create schema if not exists jb_local')
        conn.execute('drop table if exists jb_local.outer_t')
        conn.execute('create table jb_local.outer_t (i int, k text, mk text, sk text)')
        with conn.cursor().copy('copy jb_local.outer_t from stdin') as copy:
            for i, v in enumerate(values):
                copy.write_row((i, v, None if v is None else PREFIX + v, None if v is None else STRINGS + v))
        conn.execute('analyze jb_local.outer_t')
    return values


@pytest.fixture
def nl(db):
    """db, planning nested loops: the joins a lookup can serve."""
    db.execute('set enable_hashjoin = off')
    db.execute('set enable_mergejoin = off')
    return db


def outer_col(name):
    return {'multi': 'o.mk', 'strings': 'o.sk'}.get(name, 'o.k')


JOINS = [
    'select o.i, o.k, t.* from jb_local.outer_t o join redis.jb_{t} t on t.{c} = {o}',
    'select o.i, o.k, t.* from jb_local.outer_t o left join redis.jb_{t} t on t.{c} = {o}',
    'select o.i, o.k from jb_local.outer_t o where exists (select from redis.jb_{t} t where t.{c} = {o})',
    'select o.i, o.k from jb_local.outer_t o where not exists (select from redis.jb_{t} t where t.{c} = {o})',
    'select o.i, t.* from jb_local.outer_t o join redis.jb_{t} t on {o} = t.{c} and o.i % 3 <> 0',
]


def plan_of(db, sql, args=None, analyze=False):
    return '\n'.join(r[0] for r in db.execute(
        'explain (%s costs off) %s' % ('analyze, timing off, summary off,' if analyze else '', sql), args))


def result(db, sql, args=None, prepare=None):
    return sorted(db.execute(sql, args, prepare=prepare).fetchall(), key=repr)


def same_as_local(db, off, sql, args=None, prepare=None):
    """sql is a batched join, and its rows are those of the join with pushdown off."""
    assert 'Redis Prefetch' in plan_of(db, sql, args), sql
    got = result(db, sql, args, prepare)
    assert got == result(off, sql, args), sql
    return got


@pytest.mark.parametrize('join', JOINS, ids=['inner', 'left', 'semi', 'anti', 'join-condition'])
@pytest.mark.parametrize('name', [t[0] for t in TABLES])
def test_batched_joins_return_the_local_rows(nl, off, data, name, join):
    column = dict((t[0], t[4]) for t in TABLES)[name]
    same_as_local(nl, off, join.format(t=name, c=column, o=outer_col(name)))


def test_a_join_clause_with_its_own_condition_and_an_expression(nl, off, data):
    same_as_local(nl, off, 'select o.i, t.* from jb_local.outer_t o join redis.jb_hash t '
                           'on t.key = o.k || \'\' and t.value <> o.k')
    same_as_local(nl, off, 'select o.i, t.* from jb_local.outer_t o join redis.jb_hash t '
                           'on t.key = coalesce(o.k, \'a\')')


def test_explain_shows_the_prefetch_node_and_the_batched_scan(nl, data):
    plan = plan_of(nl, 'select o.i, t.value from jb_local.outer_t o join redis.jb_hash t on t.key = o.k')
    lines = [line.strip() for line in plan.splitlines()]
    assert lines[0] == 'Nested Loop', plan
    assert '->  Custom Scan (Redis Prefetch)' in lines, plan
    assert 'Redis Batch Rows: %d' % BATCH_ROWS in lines, plan
    assert '->  Seq Scan on outer_t o' in lines, plan
    assert 'Redis Batched: the values of up to %d outer rows per lookup' % BATCH_ROWS in lines, plan
    # the prefetch node is the outer side, the foreign scan the inner
    assert plan.index('Redis Prefetch') < plan.index('Foreign Scan on jb_hash t')
    verbose = '\n'.join(r[0] for r in nl.execute(
        'explain (verbose, costs off) select o.i, t.value from jb_local.outer_t o '
        'join redis.jb_hash t on t.key = upper(o.k)'))
    assert 'Output: o.i, o.k' in verbose, verbose


def calls(r):
    return {k[len('cmdstat_'):]: v['calls'] for k, v in r.info('commandstats').items()}


@pytest.mark.parametrize('name,command', [('hash', 'hmget'), ('set', 'smismember'), ('zset', 'zmscore')])
def test_one_lookup_command_per_batch_of_outer_rows(nl, data, redis_server, name, command):
    client = redis_server.client()
    if command == 'smismember' and int(client.info('server')['redis_version'].split('.')[0]) < 7:
        pytest.skip('SMISMEMBER is Redis 6.2 and later')
    column = dict((t[0], t[4]) for t in TABLES)[name]
    sql = 'select o.i, t.* from jb_local.outer_t o join redis.jb_%s t on t.%s = o.k' % (name, column)
    client.config_resetstat()
    got = rows(nl, sql)
    ran = calls(client)
    client.close()
    assert len(got) > 0
    assert ran.get(command) == math.ceil(OUTER_ROWS / BATCH_ROWS), ran


def test_explain_analyze_counts_the_batches(nl, data):
    nl.execute('select count(*) from redis.jb_hash')     # a handshake would count as a round trip
    plan = plan_of(nl, 'select o.i, t.value from jb_local.outer_t o join redis.jb_hash t on t.key = o.k',
                   analyze=True)
    batches = math.ceil(OUTER_ROWS / BATCH_ROWS)
    assert plan.count('Redis Batches: %d' % batches) == 2, plan      # the prefetch node's and the scan's
    assert 'Redis Values Looked Up Alone: 0' in plan, plan
    assert 'Redis Round Trips: %d' % batches in plan, plan


def test_an_outer_side_of_nulls_asks_nothing(nl, off, data, redis_server):
    client = redis_server.client()
    sql = ('select o.i, t.* from jb_local.outer_t o left join redis.jb_hash t on t.key = o.k '
           'where o.k is null')
    client.config_resetstat()
    got = same_as_local(nl, off, sql)
    ran = calls(client)
    client.close()
    assert got and all(row[1] is None for row in got)
    assert 'hmget' not in ran, ran


def test_duplicate_values_are_asked_once(nl, off, data, redis_server):
    """Every outer row names the same field: one value in one HMGET."""
    client = redis_server.client()
    field = client.hkeys('jb:h')[0].decode()
    sql = ('select o.i, t.* from jb_local.outer_t o join redis.jb_hash t on t.key = %s || left(o.k, 0) '
           'where o.i < 900')
    client.config_resetstat()
    got = same_as_local(nl, off, sql, (field,))
    stats = client.info('commandstats').get('cmdstat_hmget')
    client.close()
    assert len(got) == sum(1 for v in data[:900] if v is not None)
    assert stats['calls'] == 1, stats


@pytest.mark.parametrize('mode', ['force_generic_plan', 'force_custom_plan'])
def test_prepared_statements(nl, off, data, mode):
    nl.execute('set plan_cache_mode = %s' % mode)
    off.execute('set plan_cache_mode = %s' % mode)
    sqls = [
        ('select o.i, t.* from jb_local.outer_t o join redis.jb_hash t on t.key = o.k where o.i < %s',
         [[1500], [OUTER_ROWS], [10]]),
        ('select o.i, z.* from jb_local.outer_t o join redis.jb_zset z on z.element = o.k and z.score >= %s',
         [[2], [0], [6]]),
        ('select o.i, t.* from jb_local.outer_t o left join redis.jb_hash t on t.key = coalesce(o.k, %s)',
         [[WORDS[5]], [MISSING[0]]]),
    ]
    for sql, argsets in sqls:
        for args in argsets * 2:
            same_as_local(nl, off, sql, args, prepare=True)


def test_rescans_of_the_whole_join(nl, off, data):
    """A correlated subquery runs the join again for each of its outer rows."""
    same_as_local(nl, off, 'select g, (select count(*) || \':\' || string_agg(t.value, \',\' order by o.i) '
                           'from jb_local.outer_t o join redis.jb_hash t on t.key = o.k '
                           'where o.i % 4 = g) from generate_series(0, 3) g')
    same_as_local(nl, off, 'select g, x.* from generate_series(0, 2) g, lateral '
                           '(select o.i, t.value from jb_local.outer_t o join redis.jb_hash t '
                           'on t.key = o.k where o.i % 3 = g offset 0) x')


def test_two_batched_joins_in_one_query(nl, off, data):
    same_as_local(nl, off, 'select o.i, h.value, s.element from jb_local.outer_t o '
                           'join redis.jb_hash h on h.key = o.k join redis.jb_set s on s.element = h.value')


def test_a_cancelled_join_leaves_the_backend_usable(nl, off, data):
    """statement_timeout fires while the second batch of outer rows is read,
    the first one served; the same backend then joins correctly."""
    slow = ('select o.i, t.* from (select i, k, pg_sleep(case when i > 1500 then 0.01 else 0 end) '
            'from jb_local.outer_t) o join redis.jb_hash t on t.key = o.k')
    assert 'Redis Prefetch' in plan_of(nl, slow)
    nl.execute("set statement_timeout = '300ms'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        nl.execute(slow).fetchall()
    nl.execute('reset statement_timeout')
    for join in JOINS[:2]:
        same_as_local(nl, off, join.format(t='hash', c='key', o='o.k'))


def test_rows_past_work_mem_are_looked_up_alone(nl, off, data, redis_server):
    """The rows a batch keeps stay within work_mem: the values past it are
    asked for one by one, with the same rows."""
    client = redis_server.client()
    client.delete('jb:big')
    client.hset('jb:big', mapping={w: ('é%s' % w) * 300 for w in WORDS})
    client.close()
    nl.execute('drop foreign table if exists redis.jb_big')
    nl.execute("create foreign table redis.jb_big (key text, value text) server redis_server "
               "options (src_type 'hash', src_key 'jb:big')")
    nl.execute("set work_mem = '64kB'")
    off.execute("set work_mem = '64kB'")
    sql = 'select o.i, t.* from jb_local.outer_t o left join redis.jb_big t on t.key = o.k'
    same_as_local(nl, off, sql)
    plan = plan_of(nl, sql, analyze=True)
    alone = int(plan.split('Redis Values Looked Up Alone: ')[1].split()[0])
    assert 0 < alone < OUTER_ROWS, plan


def test_update_and_delete_joined_to_a_batched_lookup(nl, off, data):
    """The outer rows keep their row identity through the prefetch node."""
    for sql in ['update jb_local.outer_t o set mk = t.value from redis.jb_hash t where t.key = o.k '
                'returning o.i, o.mk, t.key',
                'delete from jb_local.outer_t o using redis.jb_set t where t.element = o.k returning o.*']:
        assert 'Redis Prefetch' in plan_of(nl, sql)
        got = {}
        for conn in (nl, off):
            with conn.transaction(force_rollback=True):
                got[conn] = result(conn, sql)
                got[conn, 'after'] = result(conn, 'select * from jb_local.outer_t')
        assert got[nl] == got[off] and got[nl, 'after'] == got[off, 'after'], sql
        assert got[nl]


def test_stream_ids_are_looked_up_in_batches(nl, off, data, redis_server):
    """An id as Redis writes it finds its entry; other text ('01-1') finds none."""
    client = redis_server.client()
    client.delete('jb:x')
    for ms in range(1, 40):
        client.xadd('jb:x', {'f': 'v%d' % ms, 'é': '€'}, id='%d-1' % ms)
    client.close()
    nl.execute('drop foreign table if exists redis.jb_stream')
    nl.execute("create foreign table redis.jb_stream (id text, items jsonb) server redis_server "
               "options (src_type 'stream', src_key 'jb:x')")
    nl.execute('create temp table ids as select i, (array[i || \'-1\', \'0\' || i || \'-1\', i || \'-2\', '
               'null, \'bad\'])[1 + i % 5] as id from generate_series(1, 1500) i')
    nl.execute('analyze ids')
    off.execute('create temp table ids as select i, (array[i || \'-1\', \'0\' || i || \'-1\', i || \'-2\', '
                'null, \'bad\'])[1 + i % 5] as id from generate_series(1, 1500) i')
    for join in ['join', 'left join']:
        got = same_as_local(nl, off, 'select o.i, s.* from ids o %s redis.jb_stream s on s.id = o.id' % join)
        assert any(row[1] is not None for row in got)


def test_lookups_that_are_not_one_row_per_value_are_not_batched(nl, off, data, redis_server):
    """A list's index, or a second join clause Redis serves (a score range of
    each outer row), is looked up row by row: the core does not call those
    keyed, or their values change with each outer row."""
    client = redis_server.client()
    client.delete('jb:l')
    client.rpush('jb:l', *WORDS[:50])
    client.close()
    nl.execute('drop foreign table if exists redis.jb_list')
    nl.execute("create foreign table redis.jb_list (element text, index bigint) server redis_server "
               "options (src_type 'list', src_key 'jb:l')")
    for sql in ['select o.i, l.* from jb_local.outer_t o join redis.jb_list l on l.index = o.i',
                'select o.i, z.* from jb_local.outer_t o join redis.jb_zset z '
                'on z.element = o.k and z.score >= o.i % 6']:
        plan = plan_of(nl, sql)
        assert 'Redis Prefetch' not in plan and 'parameter' in plan, plan
        assert result(nl, sql) == result(off, sql), sql
