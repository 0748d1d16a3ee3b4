"""Redis Cluster: every source type reads the same rows from a cluster (keys
spread over its slots and nodes, hash tags kept together) as from one
server; writes are routed per key and atomic per slot; slots that move and
primaries that fail over mid-query give the right rows or a clear error."""
import psycopg
import pytest

from conftest import create_server, rows, table

# Keys spread over slots (and so over the three primaries), hash-tagged keys in one slot.
DATA = [
    ('RPUSH', 'list', 'a', 'b', 'c', 'd'),
    ('SADD', 'set', 'x', 'y', 'z'),
    ('HSET', 'hash', 'f1', 'v1', 'f2', 'v2'),
    ('ZADD', 'zset', '1', 'one', '2', 'two', '3', 'three'),
    ('XADD', 'stream', '1-1', 'a', '1'),
    ('XADD', 'stream', '2-1', 'b', '2'),
    ('SET', 'string', 'hello'),
] + [('RPUSH', 'l:%d' % i, 'e%d' % i, 'f%d' % i) for i in range(40)] \
  + [('SADD', 's:%d' % i, 'm%d' % i) for i in range(40)] \
  + [('HSET', 'h:%d' % i, 'name', 'n%d' % i, 'age', str(i)) for i in range(60)] \
  + [('ZADD', 'z:%d' % i, str(i), 'm%d' % i) for i in range(40)] \
  + [('SET', 'str:%d' % i, 'v%d' % i) for i in range(60)] \
  + [('HSET', '{user42}:%d' % i, 'name', 'u%d' % i) for i in range(20)] \
  + [('HSET', '{user7}:%d' % i, 'name', 'w%d' % i) for i in range(5)]

TABLES = [
    ('c_list', 'element text', 'list', 'list'),
    ('c_set', 'element text', 'set', 'set'),
    ('c_hash', 'key text, value text', 'hash', 'hash'),
    ('c_zset', 'element text, score float8', 'zset', 'zset'),
    ('c_stream', 'id text, items jsonb', 'stream', 'stream'),
    ('c_string', 'value text', 'string', 'string'),
    ('c_ml', 'key text, items jsonb', 'multi_list', 'l:*'),
    ('c_ms', 'key text, items jsonb', 'multi_set', 's:*'),
    ('c_mh', 'key text, name text, age int', 'multi_hash', 'h:*'),
    ('c_mz', 'key text, items jsonb', 'multi_zset', 'z:*'),
    ('c_mstr', 'key text, value text', 'multi_string', 'str:*'),
    ('c_tag', 'key text, name text', 'multi_hash', '{user42}:*'),
    ('c_keys', 'key text, type text, length bigint', 'keys', '*'),
]

QUERIES = [
    'select * from redis.c_list',
    'select * from redis.c_list where element = \'c\'',
    'select * from redis.c_set',
    'select * from redis.c_hash',
    'select value from redis.c_hash where key = \'f2\'',
    'select * from redis.c_zset',
    'select * from redis.c_zset where score >= 2',
    'select * from redis.c_stream',
    'select * from redis.c_string',
    'select * from redis.c_ml',
    'select * from redis.c_ms',
    'select * from redis.c_mh',
    'select * from redis.c_mh where key = \'h:7\'',
    'select * from redis.c_mh where key in (\'h:1\', \'h:2\', \'h:3\', \'h:50\', \'h:nope\')',
    'select * from redis.c_mh where key like \'h:1%\'',
    'select count(*) from redis.c_mh',
    'select * from redis.c_mz',
    'select * from redis.c_mstr',
    'select * from redis.c_mstr where key = any(array[\'str:3\', \'str:33\'])',
    'select count(*) from redis.c_mstr',
    'select * from redis.c_tag',
    'select * from redis.c_keys',
    'select count(*) from redis.c_keys',
]


def load(client, data=DATA):
    for command in data:
        client.execute_command(*command)


def tables(db, server, prefix=''):
    for name, columns, src_type, key in TABLES:
        table(db, prefix + name, src_type, key, columns, server=server)


@pytest.fixture
def cluster(redis_cluster):
    """The session's cluster, emptied, with a server on it (every node a seed)."""
    redis_cluster.flushall()
    yield redis_cluster


@pytest.fixture
def both(db, r, cluster):
    """The same data on one server (tables c_*) and on the cluster (tables k_c_*)."""
    load(r)
    load(cluster.client())
    create_server(db, 'rc', cluster.url)
    tables(db, 'redis_server')
    tables(db, 'rc', 'k_')
    return db


@pytest.mark.parametrize('query', QUERIES)
def test_the_same_rows_as_one_server(both, query):
    single = sorted(rows(both, query), key=repr)
    assert single, query
    assert sorted(rows(both, query.replace('redis.c_', 'redis.k_c_')), key=repr) == single
