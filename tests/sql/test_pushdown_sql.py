"""WHERE and join clauses offered to Redis (issue 11), the PostgreSQL side.

Whatever the core serves, every clause shape must return exactly the rows of
an identical local table, and of the same scan with redis_wrapper.pushdown
off.  What the C side offers the core is checked through its DEBUG1 line;
what Redis is then asked, in test_pushdown_redis.py.
"""
import random

import pytest

from psycopg import sql as q

RNG = random.Random(11)
# Glob and LIKE characters, backslashes, non-ASCII and the empty string.
TOKENS = ['a', 'b', 'ab', 'A', 'é', '€', '*', '?', '[', ']', '\\', '%', '_', ' ', 'x']


def word():
    return ''.join(RNG.choice(TOKENS) for _ in range(RNG.randint(0, 3)))


WORDS = sorted(set(word() for _ in range(80)) | {''})
MISSING = ['zz', 'É', 'a' * 5, 'pd:m:zz', 'pd:m:']
PREFIX = 'pd:m:'

# name, src_type, src_key, columns, text columns
TABLES = [
    ('hash', 'hash', 'pd:h', 'key text, value text', ['key', 'value']),
    ('set', 'set', 'pd:s', 'element text', ['element']),
    ('list', 'list', 'pd:l', 'element text', ['element']),
    ('zset', 'zset', 'pd:z', 'element text', ['element']),
    ('multi', 'multi_list', PREFIX + '*', 'key text, items jsonb', ['key']),
]


@pytest.fixture(scope='module')
def data(pg, testdb, redis_server):
    client = redis_server.client()
    client.delete('pd:h', 'pd:s', 'pd:l', 'pd:z', *client.keys(PREFIX + '*'))
    client.hset('pd:h', mapping={w: RNG.choice(WORDS) for w in WORDS})
    client.sadd('pd:s', *RNG.sample(WORDS, 40))
    client.rpush('pd:l', *[RNG.choice(WORDS) for _ in range(60)])
    client.zadd('pd:z', {w: RNG.randint(0, 3) for w in RNG.sample(WORDS, 40)})
    for w in RNG.sample(WORDS, 30):
        client.rpush(PREFIX + w, *[RNG.choice(WORDS) for _ in range(RNG.randint(1, 2))])
    client.close()
    with pg.connect(testdb) as conn:
        conn.execute('create schema if not exists pd_local')
        for name, src_type, key, columns, _ in TABLES:
            conn.execute('drop foreign table if exists redis.pd_%s' % name)
            conn.execute("create foreign table redis.pd_%s (%s) server redis_server "
                         "options (src_type '%s', src_key '%s')" % (name, columns, src_type, key))
            conn.execute('drop table if exists pd_local.%s' % name)
            conn.execute('create table pd_local.%s as select * from redis.pd_%s' % (name, name))
        conn.execute('drop table if exists pd_local.probe')
        conn.execute('create table pd_local.probe (k text)')
        conn.execute('insert into pd_local.probe values (%s), (%s), (%s), (null), (%s), (%s)',
                     [WORDS[1], WORDS[2], WORDS[2], 'zz', PREFIX + WORDS[3]])
        conn.execute('analyze pd_local.probe')
    return TABLES


def result(conn, sql, args=None, prepare=None):
    return sorted(conn.execute(sql, args, prepare=prepare).fetchall(), key=repr)


def same_rows(db, off, name, where, args=None, prepare=None):
    """where on redis.pd_<name> gives the local copy's rows, with pushdown on and off."""
    local = result(db, 'select * from pd_local.%s where %s' % (name, where), args)
    foreign = 'select * from redis.pd_%s where %s' % (name, where)
    assert result(db, foreign, args, prepare) == local, where
    assert result(off, foreign, args, prepare) == local, where


def probes(name):
    base = RNG.sample(WORDS, 6) + MISSING
    return [PREFIX + w for w in base] + base if name == 'multi' else base


def like_escaped(s):
    return s.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')


def norm(offer):
    """An offer's clauses in a fixed order (the planner's is its own), without
    how many Redis serves (the core's business)."""
    head, rest = offer.split(': ', 1)
    clauses = [c for c in rest.split('; ') if not c.startswith('Redis serves ')]
    return '%s: %s' % (head, '; '.join(sorted(clauses)))


def offers(db, sql, args=None):
    """What planning sql offered Redis, per the DEBUG1 line of each foreign scan planned."""
    got = []

    def handler(diag):
        if diag.message_primary.startswith('redis_wrapper: '):
            got.append(norm(diag.message_primary.split(' offers ', 1)[1]))
    db.add_notice_handler(handler)
    db.execute('set client_min_messages = debug1')
    try:
        db.execute(sql, args).fetchall()
    finally:
        db.execute('reset client_min_messages')
        db.remove_notice_handler(handler)
    return got


def plan_of(db, sql, args=None):
    return '\n'.join(r[0] for r in db.execute('explain ' + sql, args).fetchall())


def needs_the_core(db, sql, what):
    """The core serves a clause of sql: EXPLAIN shows its Redis Command."""
    assert 'Redis Command' in plan_of(db, sql), 'the core does not serve %s' % what


@pytest.mark.parametrize('name', [t[0] for t in TABLES])
def test_every_clause_shape_returns_the_local_rows(db, off, data, name):
    columns = next(t[4] for t in TABLES if t[0] == name)
    for c in columns:
        ps = probes(name)
        for p in ps:
            same_rows(db, off, name, '%s = %%s' % c, [p])
            same_rows(db, off, name, '%%s = %s' % c, [p])
            same_rows(db, off, name, '%s collate "C" = %%s' % c, [p])
            same_rows(db, off, name, '%s like %%s' % c, [like_escaped(p) + '%'])
            same_rows(db, off, name, '%s < %%s' % c, [p])
            same_rows(db, off, name, '%s collate "C" >= %%s' % c, [p])
            same_rows(db, off, name, '%%s > %s collate "C"' % c, [p])
            same_rows(db, off, name, '%s = %%s and %s like %%s' % (c, c), [p, like_escaped(p[:1]) + '%'])
            same_rows(db, off, name, '%s = %%s or %s = %%s' % (c, c), [p, ps[0]])
        same_rows(db, off, name, '%s in (%%s, %%s, %%s, %%s, null)' % c, ps[:3] + ps[:1])
        same_rows(db, off, name, '%s = any(%%s)' % c, [ps[:4] + [None, ps[0]]])
        same_rows(db, off, name, "%s = any('{}'::text[])" % c)
        same_rows(db, off, name, '%s = any(%%s::text[])' % c, [None])
        same_rows(db, off, name, '%s = null' % c)
        for pattern in ['%', '', '\\%%', '\\\\%', '*%', '[%', '?%', 'a_%', '%a', 'a%%', 'é%',
                        'a', PREFIX + '%', PREFIX + '[%', PREFIX + '\\*%']:
            same_rows(db, off, name, '%s like %%s' % c, [pattern])
        same_rows(db, off, name, "%s like 'a!%%%%' escape '!'" % c)
        same_rows(db, off, name, '%s = %s' % (columns[0], columns[-1]))


def test_what_is_offered(db, data):
    t = 'redis.pd_hash'
    q = 'explain select * from %s where ' % t
    assert offers(db, q + "key = 'b'") == [
        norm("1 clauses: key IN ('b')")]
    assert offers(db, q + "'b' = key") == [
        norm("1 clauses: key IN ('b')")]
    # Distinct, in byte order, NULLs left out; an empty list matches nothing.
    assert offers(db, q + "key in ('b', 'é', 'a', 'b', null)") == [
        norm("1 clauses: key IN ('a', 'b', 'é')")]
    assert offers(db, q + "key = any('{}')") == [
        norm("1 clauses: key IN ()")]
    # LIKE: the unescaped literal prefix of a pattern with one final %.
    assert offers(db, q + "key like 'a\\%\\\\\\_\\b%'") == [
        norm("1 clauses: key prefix 'a%\\x5c_b'")]
    assert offers(db, q + "key like '%'") == [
        norm("1 clauses: key prefix ''")]
    assert offers(db, q + "key like 'a!%%' escape '!'") == [
        norm("1 clauses: key prefix 'a%'")]
    # Byte order comparisons only under the C collation (the test cluster's is C.UTF-8).
    assert offers(db, q + "'b' < key collate \"C\" and value <= 'c' collate \"C\"") == [
        norm("2 clauses: key > 'b'; value <= 'c'")]
    assert offers(db, q + "key collate \"C\" = 'a' and key like 'a%' and value = 'v'") == [
        norm("3 clauses: key IN ('a'); key prefix 'a'; value IN ('v')")]
    # A parameter's value is the executor's: a generic plan offers it as such.
    db.execute('set plan_cache_mode = force_generic_plan')
    db.execute('prepare p_offer(text, text[]) as select * from %s where key = $1 and value = any($2)' % t)
    assert offers(db, "explain execute p_offer('a', '{b}')") == [
        norm("2 clauses: key IN (parameter); value IN (parameter)")]
    for clause in ["key like 'a_%'", "key like 'a%%'", "key like 'a'", "key like '%a'",
                   "key like 'a\\'", "key ilike 'a%'", "key < 'b'", "key <> 'a'",
                   "key = value", "key = 'a' or key = 'b'", "upper(key) = 'A'",
                   "key = random()::text", "key <> all('{a}')", "value like key || '%'"]:
        assert offers(db, q + clause) == [], clause


def test_the_items_column_is_never_offered(db, data):
    assert offers(db, "explain select * from redis.pd_multi where items ? 'a' "
                      "and items::text = 'x'") == []


def test_at_most_64_clauses_are_offered(db, off, data):
    where = ' and '.join("key collate \"C\" >= 'a%02d'" % i for i in range(70))
    got = offers(db, 'explain select * from redis.pd_hash where ' + where)
    assert len(got) == 1 and got[0].startswith('64 clauses: ')
    same_rows(db, off, 'hash', where)


def test_pushdown_off_offers_nothing(db, data):
    db.execute('set redis_wrapper.pushdown = off')
    assert offers(db, "explain select * from redis.pd_hash where key = 'a'") == []
    db.execute('reset redis_wrapper.pushdown')
    assert offers(db, "explain select * from redis.pd_hash where key = 'a'") != []


def test_a_nondeterministic_collation_is_not_offered(db, off, data):
    if not db.execute("select 1 from pg_collation where collprovider = 'i' limit 1").fetchall():
        pytest.skip('PostgreSQL without ICU')
    db.execute("create collation if not exists pd_ci (provider = icu, locale = 'und-u-ks-level2', "
               "deterministic = false)")
    for where in ["key = 'A' collate pd_ci", "key collate pd_ci in ('A', 'B')",
                  "key = any('{A,É}'::text[] collate pd_ci)"]:
        assert offers(db, 'explain select * from redis.pd_hash where ' + where) == [], where
        same_rows(db, off, 'hash', where)
    sql = ('select p.k, t.key from pd_local.probe p join %s t on t.key = p.k collate pd_ci')
    assert result(db, sql % 'redis.pd_hash') == result(db, sql % 'pd_local.hash')


@pytest.mark.parametrize('name', ['hash', 'set', 'multi'])
def test_parameters_in_prepared_statements(db, off, data, name):
    c = next(t[4][0] for t in TABLES if t[0] == name)
    ps = probes(name) + [None]
    for mode in ['auto', 'force_generic_plan']:
        for conn in (db, off):
            conn.execute('set plan_cache_mode = %s' % mode)
        for p in ps + ps:       # more than 5 executions: a generic plan in auto mode
            same_rows(db, off, name, '%s = %%s' % c, [p], prepare=True)
            same_rows(db, off, name, '%s = any(%%s::text[])' % c, [[p, ps[0], p]], prepare=True)
    # Server-side PREPARE and EXECUTE: custom plans, then a generic one.
    db.execute('reset plan_cache_mode')
    db.execute('prepare p_%s(text, text[]) as select * from redis.pd_%s where %s = $1 or %s = any($2)'
               % (name, name, c, c))
    db.execute('prepare l_%s(text, text[]) as select * from pd_local.%s where %s = $1 or %s = any($2)'
               % (name, name, c, c))
    execute = 'execute {}_%s({}, {})' % name
    for p in ps:
        args = [q.Literal(p), q.Literal([ps[1], None])]
        assert (result(db, q.SQL(execute).format(q.SQL('p'), *args)) ==
                result(db, q.SQL(execute).format(q.SQL('l'), *args)))


JOINS = [
    'select p.k, t.* from pd_local.probe p join {t} t on t.key = p.k',
    'select p.k, t.* from pd_local.probe p join {t} t on p.k = t.key and t.value <> p.k',
    'select p.k, t.* from pd_local.probe p left join {t} t on t.key = p.k',
    'select p.k, t.* from pd_local.probe p, lateral (select * from {t} t where t.key = p.k '
    'or t.key = p.k || \'a\') t',
    'select p.k, t.* from pd_local.probe p join {t} t on t.key = any(array[p.k, upper(p.k)])',
    'select p.k, t.* from pd_local.probe p join {t} t on t.key collate "C" > p.k and t.key < \'b\'',
]


@pytest.mark.parametrize('forced', [False, True])
def test_nested_loop_joins_return_the_local_rows(db, off, data, forced):
    if forced:
        for conn in (db, off):
            conn.execute('set enable_hashjoin = off; set enable_mergejoin = off')
    for sql in JOINS:
        local = result(db, sql.format(t='pd_local.hash'))
        assert result(db, sql.format(t='redis.pd_hash')) == local, sql
        assert result(off, sql.format(t='redis.pd_hash')) == local, sql
    sql = 'select p.k, t.* from pd_local.probe p join {t} t on t.key = p.k'
    multi = sql.replace('pd_local.probe p', '(select %s || k as k from pd_local.probe) p' % "'pd:m:'")
    assert result(db, multi.format(t='redis.pd_multi')) == result(db, multi.format(t='pd_local.multi'))


def test_a_join_clause_is_offered_as_a_parameter(db, data):
    got = offers(db, 'explain select * from pd_local.probe p join redis.pd_hash t on t.key = p.k')
    assert norm("1 clauses: key IN (parameter)") in got
    got = offers(db, 'explain select * from pd_local.probe p join redis.pd_hash t '
                     "on t.key = p.k where t.value like 'a%'")
    assert norm("2 clauses: key IN (parameter); value prefix 'a'") in got


def test_explain_shows_the_source_and_no_command_when_nothing_is_served(db, data):
    plan = plan_of(db, "select * from redis.pd_hash where key like 'a_%'")
    assert 'Redis Source: hash "pd:h"' in plan and 'Redis Command' not in plan
    assert 'Filter: ' in plan


def test_explain_shows_the_command_of_a_served_clause(db, data):
    """needs the core: hash key = served by Redis."""
    sql = "select * from redis.pd_hash where key = 'b'"
    needs_the_core(db, sql, 'hash key =')
    plan = plan_of(db, sql)
    assert 'Redis Source: hash "pd:h"' in plan and 'Filter' not in plan


def test_a_small_outer_side_gets_a_parameterized_nested_loop(db, data):
    """needs the core: hash key = served by Redis; the planner picks the lookup per outer row."""
    needs_the_core(db, "select * from redis.pd_hash where key = 'b'", 'hash key =')
    sql = 'select p.k, t.* from pd_local.probe p join redis.pd_hash t on t.key = p.k'
    plan = plan_of(db, sql)
    assert 'Nested Loop' in plan and 'Redis Command' in plan, plan
    assert result(db, sql) == result(db, sql.replace('redis.pd_hash', 'pd_local.hash'))
