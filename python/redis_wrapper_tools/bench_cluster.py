"""`./dev bench --only cluster`: the 100k-hash pattern scan and point lookups
on a 3-primary Redis Cluster (3 replicas beside) beside one server, the same
data on each.  Medians; the cluster's primaries are read at once."""
import statistics
import sys
import time

from . import spec_data
from .servers import Postgres, Redis, RedisCluster

KEYS = 100_000
ROUNDS = 5
LOOKUP_ROUNDS = 200
QUERIES = [
    ('pattern scan, count(items)', 'select count(items) from redis.{t}', ROUNDS),
    ('pattern scan, count(*)', 'select count(*) from redis.{t}', ROUNDS),
    ("hash tag pattern {t7}:* (100 keys)", 'select count(items) from redis.{t}_tag', LOOKUP_ROUNDS),
    ("point lookup key = 'h:500'", "select items from redis.{t} where key = 'h:500'", LOOKUP_ROUNDS),
    ('lookup of 10 keys (key in ...)', 'select items from redis.{t} where key in (%s)'
     % ', '.join("'h:%d'" % i for i in range(0, 100_000, 10_000)), LOOKUP_ROUNDS),
]


def load(client):
    pipe = client.pipeline(transaction=False)
    for i in range(KEYS):
        pipe.hset('h:%d' % i, mapping={'id': i, 'name': 'user-%d' % i, 'plan': 'free'})
        if i % 5_000 == 4_999:
            pipe.execute()
    for i in range(100):
        pipe.hset('{t7}:%d' % i, mapping={'id': i})
    pipe.execute()


def median_ms(conn, sql, rounds):
    conn.execute(sql).fetchall()        # warm: connections, the slot map
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        conn.execute(sql).fetchall()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def run(pg_config_path='pg_config', out=sys.stdout):
    pg = Postgres(pg_config_path, settings={'shared_buffers': '256MB'}).start()
    single = Redis().start()
    cluster = RedisCluster().start()
    try:
        print('loading 100k hashes on each ...', file=sys.stderr, flush=True)
        load(single.client())
        load(cluster.client())
        conn = pg.connect()
        conn.execute(spec_data.SETUP_SQL.format(conn_url=single.url))
        conn.execute("create server rc foreign data wrapper redis_wrapper options (conn_url '%s')" % cluster.url)
        for name, server in (('one', 'redis_server'), ('cl', 'rc')):
            for suffix, pattern in (('', 'h:*'), ('_tag', '{t7}:*')):
                conn.execute("create foreign table redis.%s%s (key text, items jsonb) server %s "
                             "options (src_type 'multi_hash', src_key '%s')" % (name, suffix, server, pattern))
        print('| query | one server (ms) | 3-primary cluster (ms) | cluster / one |', file=out)
        print('| --- | ---: | ---: | ---: |', file=out)
        for what, sql, rounds in QUERIES:
            one = median_ms(conn, sql.format(t='one'), rounds)
            cl = median_ms(conn, sql.format(t='cl'), rounds)
            print('| %s | %.2f | %.2f | %.2f |' % (what, one, cl, cl / one), file=out, flush=True)
    finally:
        cluster.stop()
        single.stop()
        pg.stop()
