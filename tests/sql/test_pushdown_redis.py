"""What Redis is asked when a clause is pushed (issue 11): the lookup commands
run (INFO commandstats), the full reads do not, and the rows are those of the
same query with pushdown off, in the source's own order where it has one."""
import pytest

from conftest import rows, table


def calls(r):
    """Commands run since the last reset: {'hmget': 1, ...}."""
    return {k[len('cmdstat_'):]: v['calls'] for k, v in r.info('commandstats').items()}


def asked(db, r, sql, *args):
    """The rows of sql, and the commands Redis ran for them (TYPE left out)."""
    r.config_resetstat()
    got = rows(db, sql, *args)
    ran = calls(r)
    ran.pop('type', None)
    ran.pop('config|resetstat', None)
    ran.pop('config', None)
    ran.pop('info', None)           # a backend's first query asks whether Redis is a cluster
    return got, ran


def same_without_pushdown(db, sql, *args):
    db.execute('set redis_wrapper.pushdown = off')
    try:
        return rows(db, sql, *args)
    finally:
        db.execute('reset redis_wrapper.pushdown')


@pytest.fixture
def h(db, r):
    r.hset('h', mapping={'f%d' % i: 'v%d' % i for i in range(50)})
    return table(db, 'pr_h', 'hash', 'h')


def test_hash_fields_are_read_with_hmget(db, r, h):
    sql = "select key, value from %s where key in ('f3', 'f7', 'nope', 'f3')" % h
    got, ran = asked(db, r, sql)
    assert sorted(got) == [('f3', 'v3'), ('f7', 'v7')] == sorted(same_without_pushdown(db, sql))
    assert ran == {'hmget': 1}


def test_a_parameter_is_pushed_at_execution(db, r, h):
    sql = 'select value from %s where key = %%s' % h
    for _ in range(7):                  # past the custom plans: a generic plan with $1
        got, ran = asked(db, r, sql, 'f9')
        assert got == [('v9',)] and ran == {'hmget': 1}


def test_a_join_looks_up_its_outer_rows_in_one_batch(db, r, h):
    db.execute('create temp table probe (k text)')
    db.execute("insert into probe values ('f1'), ('f2'), ('zz')")
    db.execute('analyze probe')
    sql = 'select p.k, t.value from probe p join %s t on t.key = p.k' % h
    got, ran = asked(db, r, sql)
    assert sorted(got) == [('f1', 'v1'), ('f2', 'v2')] == sorted(same_without_pushdown(db, sql))
    assert ran == {'hmget': 1}          # the three outer rows' fields at once (test_join_batch.py)


def test_set_members_with_smismember(db, r):
    r.sadd('s', 'a', 'b', 'c')
    t = table(db, 'pr_s', 'set', 's')
    got, ran = asked(db, r, "select * from %s where element = any(array['b', 'x', null])" % t)
    assert got == [('b',)] and ran == {'smismember': 1}


def test_zset_members_in_score_order(db, r):
    r.zadd('z', {'m3': 3, 'm1': 1, 'm2': 2, 'a2': 2, 'm0': 0})
    t = table(db, 'pr_z', 'zset', 'z')
    sql = "select * from %s where element in ('m3', 'm2', 'a2', 'm0', 'none')" % t
    got, ran = asked(db, r, sql)
    assert got == [('m0',), ('a2',), ('m2',), ('m3',)] == same_without_pushdown(db, sql)
    assert ran == {'zmscore': 1}


def test_stream_ids_in_id_order(db, r):
    for i in (9, 10, 11):
        r.xadd('st', {'n': str(i)}, id='%d-0' % i)
    t = table(db, 'pr_st', 'stream', 'st')
    sql = "select id, items from %s where id in ('10-0', '9-0', '09-0', '9', 'junk')" % t
    got, ran = asked(db, r, sql)
    assert got == [('9-0', {'n': '9'}), ('10-0', {'n': '10'})] == same_without_pushdown(db, sql)
    assert ran == {'xrange': 2}


def test_pattern_keys_are_read_directly(db, r):
    r.hset('ph:1', 'a', '1')
    r.hset('ph:2', 'b', '2')
    r.rpush('ph:3', 'not a hash')
    r.hset('other:1', 'c', '3')
    t = table(db, 'pr_ph', 'multi_hash', 'ph:*')
    sql = "select key, items from %s where key in ('ph:1', 'ph:3', 'ph:9', 'other:1')" % t
    got, ran = asked(db, r, sql)
    assert got == [('ph:1', {'a': '1'})] == same_without_pushdown(db, sql)
    assert ran == {'hgetall': 3}         # other:1 is outside the pattern: never asked


def test_a_like_prefix_narrows_the_scan(db, r):
    for k in ('lp:a1', 'lp:a2', 'lp:b1', 'lp:a*'):
        r.rpush(k, k)
    t = table(db, 'pr_lp', 'multi_list', 'lp:*')
    sql = "select key from %s where key like 'lp:a%%' order by key" % t
    got, ran = asked(db, r, sql)
    assert got == [('lp:a*',), ('lp:a1',), ('lp:a2',)] == same_without_pushdown(db, sql)
    assert ran['scan'] >= 1 and ran['lrange'] == 3     # lp:b1 is never fetched
