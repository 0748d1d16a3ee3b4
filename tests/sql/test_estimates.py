"""ANALYZE of Redis foreign tables and the estimates built on it (issue 11).

ANALYZE reads the whole source through the scanning core, as the table's
owner, and keeps a random sample; the planner then uses the row count and
the columns' statistics, so a join to a big key looks its rows up instead of
scanning it.
"""
import psycopg
import pytest

from conftest import rows, table


def reltuples(db, t):
    return rows(db, "select reltuples from pg_class where oid = %s::regclass", t)[0][0]


def plan_of(db, sql):
    return '\n'.join(r[0] for r in db.execute('explain ' + sql).fetchall())


def estimated_rows(db, sql):
    return db.execute('explain (format json) ' + sql).fetchone()[0][0]['Plan']['Plan Rows']


def test_analyze_counts_every_row_of_each_source_type(db, r):
    r.rpush('a:l', *['e%d' % (i % 10) for i in range(1234)])
    r.sadd('a:s', *range(567))
    r.hset('a:h', mapping={'f%d' % i: i for i in range(890)})
    r.zadd('a:z', {'m%d' % i: i for i in range(321)})
    for i in range(45):
        r.xadd('a:x', {'n': i})
        r.hset('a:mh:%d' % i, 'f', i)
    r.set('a:mh:string', 'not a hash')
    for name, src_type, key, n in [('a_l', 'list', 'a:l', 1234), ('a_s', 'set', 'a:s', 567),
                                   ('a_h', 'hash', 'a:h', 890), ('a_z', 'zset', 'a:z', 321),
                                   ('a_x', 'stream', 'a:x', 45), ('a_mh', 'multi_hash', 'a:mh:*', 45),
                                   ('a_none', 'hash', 'a:missing', 0)]:
        t = table(db, name, src_type, key)
        assert reltuples(db, t) == -1
        db.execute('analyze %s' % t)
        assert reltuples(db, t) == n, name
    # The columns' statistics: the list has ten distinct elements, no NULLs.
    assert rows(db, "select null_frac, n_distinct from pg_stats where schemaname = 'redis' "
                    "and tablename = 'a_l' and attname = 'element'") == [(0, 10)]
    assert rows(db, "select count(*) from pg_stats where schemaname = 'redis' "
                    "and tablename = 'a_mh'") == [(2,)]


def test_analyze_samples_the_whole_source(db, r):
    """More rows than the sample holds: it is drawn from all of them, not the first ones."""
    n = 6000
    r.rpush('a:big', *['e%05d' % i for i in range(n)])
    t = table(db, 'a_big', 'list', 'a:big')
    db.execute('set default_statistics_target = 10')       # a sample of 3000 rows
    db.execute('analyze %s' % t)
    assert reltuples(db, t) == n
    bounds = rows(db, "select histogram_bounds::text::text[] from pg_stats "
                      "where schemaname = 'redis' and tablename = 'a_big'")[0][0]
    assert bounds[0] < 'e00500' and bounds[-1] > 'e05500', bounds


def test_analyze_uses_the_owners_user_mapping(db, own_redis):
    secret = 'owner-secret'
    own_redis.client().hset('h', mapping={'a': '1', 'b': '2', 'c': '3'})
    own_redis.client().config_set('requirepass', secret)
    db.execute('drop server if exists a_auth cascade')
    db.execute("create server a_auth foreign data wrapper redis_wrapper options (conn_url '%s')"
               % own_redis.url)
    db.execute('drop role if exists a_owner')
    db.execute('create role a_owner')
    db.execute("create user mapping for a_owner server a_auth options (password '%s')" % secret)
    try:
        db.execute("create foreign table redis.a_owned (key text, value text) server a_auth "
                   "options (src_type 'hash', src_key 'h')")
        db.execute('alter foreign table redis.a_owned owner to a_owner')
        # The superuser running ANALYZE has no mapping: the owner's is used.
        db.execute('analyze redis.a_owned')
        assert reltuples(db, 'redis.a_owned') == 3
        with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification):
            db.execute('select * from redis.a_owned')
    finally:
        db.execute('drop server a_auth cascade')
        db.execute('drop owned by a_owner cascade')
        db.execute('drop role a_owner')


def test_analyze_errors_are_reported(db, r):
    r.set('a:str', 'x')
    t = table(db, 'a_wrong', 'hash', 'a:str')
    with pytest.raises(psycopg.errors.WrongObjectType) as e:
        db.execute('analyze %s' % t)
    assert 'a:str' in str(e.value)


def test_estimates_use_the_analyzed_size_and_statistics(db, r):
    n = 2000
    r.hset('a:sel', mapping={'f%d' % i: 'common' if i % 10 else 'rare%d' % i for i in range(n)})
    t = table(db, 'a_sel', 'hash', 'a:sel')
    assert estimated_rows(db, 'select * from %s' % t) == 1000       # not analyzed: a default
    db.execute('analyze %s' % t)
    assert estimated_rows(db, 'select * from %s' % t) == n
    assert 1500 <= estimated_rows(db, "select * from %s where value = 'common'" % t) <= n
    assert estimated_rows(db, "select * from %s where value = 'rare10'" % t) <= 5
    # A field lookup is as many rows as fields named.
    assert estimated_rows(db, "select * from %s where key in ('f1', 'f2', 'f3')" % t) == 3
    assert estimated_rows(db, "select * from %s where key in ('f1', 'f2', 'f3') and value = 'rare10'"
                          % t) == 1


def test_a_join_to_an_analyzed_big_hash_looks_up_each_outer_row(db, r):
    """The join of the issue, scaled down: 20k fields, a 100-row local side.  Sized
    by the default estimate the hash looks small and is scanned for a hash join;
    analyzed, a lookup per outer row (HMGET) wins."""
    n = 20_000
    pipe = r.pipeline(transaction=False)
    for i in range(0, n, 5000):
        pipe.hset('a:join', mapping={'f%d' % j: 'v%d' % j for j in range(i, i + 5000)})
    pipe.execute()
    t = table(db, 'a_join', 'hash', 'a:join')
    db.execute('drop table if exists a_local')
    db.execute("create table a_local as select 'f' || (i * 97) as k from generate_series(1, 100) i")
    db.execute("insert into a_local values ('missing'), (null)")
    db.execute('analyze a_local')
    sql = 'select l.k, h.value from a_local l join %s h on h.key = l.k' % t
    db.execute('analyze %s' % t)
    plan = plan_of(db, sql)
    assert 'Nested Loop' in plan and 'Redis Command: HMGET' in plan and 'Hash' not in plan, plan
    got = sorted(rows(db, sql))
    assert got == sorted(('f%d' % (i * 97), 'v%d' % (i * 97)) for i in range(1, 101))


# -- use_remote_estimate: the size at plan time ---------------------------------------

def size_commands(r, command):
    return r.info('commandstats').get('cmdstat_%s' % command, {}).get('calls', 0)


def test_use_remote_estimate_counts_a_single_key_table_at_plan_time(db, r):
    """Never analyzed, the table is sized by Redis's own count (LLEN), asked once
    while a cached count is fresh; a table option wins over the server's."""
    r.delete('a:rl')
    r.rpush('a:rl', *range(4321))
    t = table(db, 'a_rl', 'list', 'a:rl')
    assert estimated_rows(db, 'select * from %s' % t) == 1000        # off by default: no I/O
    db.execute("alter foreign table %s options (add use_remote_estimate 'true')" % t)
    before = size_commands(r, 'llen')
    assert estimated_rows(db, 'select * from %s' % t) == 4321
    assert estimated_rows(db, 'select element from %s' % t) == 4321
    assert size_commands(r, 'llen') == before + 1                    # cached
    db.execute("alter foreign table %s options (set use_remote_estimate 'false')" % t)
    assert estimated_rows(db, 'select * from %s' % t) == 1000
    assert size_commands(r, 'llen') == before + 1


def test_use_remote_estimate_on_the_server_and_per_source(db, r, redis_server):
    r.delete('a:rh', 'a:rz')
    r.hset('a:rh', mapping={'f%d' % i: i for i in range(77)})
    r.zadd('a:rz', {'m%d' % i: i for i in range(55)})
    db.execute('drop server if exists a_remote cascade')
    db.execute("create server a_remote foreign data wrapper redis_wrapper "
               "options (conn_url '%s', use_remote_estimate 'true')" % redis_server.url)
    try:
        h = table(db, 'a_rh', 'hash', 'a:rh', server='a_remote')
        z = table(db, 'a_rz', 'zset', 'a:rz', server='a_remote')
        none = table(db, 'a_rnone', 'set', 'a:rmissing', server='a_remote')
        pattern = table(db, 'a_rmh', 'multi_hash', 'a:rh*', server='a_remote')
        assert estimated_rows(db, 'select * from %s' % h) == 77
        assert estimated_rows(db, 'select * from %s' % z) == 55
        assert estimated_rows(db, 'select * from %s' % none) == 1   # empty, clamped to one row
        # A pattern is not counted at plan time (that is a SCAN of the keyspace).
        assert estimated_rows(db, 'select * from %s' % pattern) == 1000
        # The count sizes the pushed clauses' share as before.
        assert estimated_rows(db, "select * from %s where key in ('f1', 'f2')" % h) == 2
    finally:
        db.execute('drop server a_remote cascade')


def test_use_remote_estimate_connects_as_the_checked_role_only_with_select(db, r, roles, redis_server):
    """Planning counts with the user mapping of the role the scan is checked as,
    and not at all for a role that may not read the table (its EXPLAIN fails)."""
    a, b = roles
    r.delete('a:rp')
    r.rpush('a:rp', *range(250))
    db.execute('drop server if exists a_rp cascade')
    db.execute("create server a_rp foreign data wrapper redis_wrapper "
               "options (conn_url '%s', use_remote_estimate 'true')" % redis_server.url)
    try:
        db.execute('create user mapping for %s server a_rp options (password_required \'false\')' % a)
        db.execute("create foreign table redis.a_rp (element text) server a_rp "
                   "options (src_type 'list', src_key 'a:rp')")
        db.execute('alter foreign table redis.a_rp owner to %s' % a)
        db.execute('create view redis.a_rp_view as select * from redis.a_rp')
        db.execute('alter view redis.a_rp_view owner to %s' % a)
        db.execute('grant select on redis.a_rp_view to %s' % b)
        before = size_commands(r, 'llen')
        db.execute('set role %s' % b)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute('explain select * from redis.a_rp')
        assert size_commands(r, 'llen') == before
        # Through the view: a's mapping, as the scan would use it.
        assert estimated_rows(db, 'select * from redis.a_rp_view') == 250
        assert size_commands(r, 'llen') == before + 1
    finally:
        db.execute('reset role')
        db.execute('drop server a_rp cascade')


def test_use_remote_estimate_is_a_boolean(db):
    with pytest.raises(psycopg.errors.SyntaxError):
        db.execute("create server a_bad foreign data wrapper redis_wrapper "
                   "options (conn_url 'redis://127.0.0.1:1', use_remote_estimate 'maybe')")
