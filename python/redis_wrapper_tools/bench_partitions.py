"""`./dev bench --only partitions` (issue 14): a table partitioned over three
redis-servers, read with async foreign scans (async_capable) beside the same
table read one partition after another.

Each server holds its partition's keys among four times as many that the
partition's pattern skips, so most of a scan is Redis walking its keyspace
(SCAN MATCH): the work the three servers can do at once.  Medians of the
rounds, the two alternating."""
import statistics

from .servers import Redis

SERVERS = 3
ROWS = 100_000              # per partition
SKIPPED = 4                 # other keys per partition key, on the same server


def load(client, server):
    pipe = client.pipeline(transaction=False)
    for start in range(0, ROWS, 10_000):
        pipe.mset({'p%d:%d' % (server, i): 'value-%d' % i for i in range(start, start + 10_000)})
        pipe.mset({'other:%d' % i: 'x' for i in range(start * SKIPPED, (start + 10_000) * SKIPPED)})
        pipe.execute()


def create(conn, servers):
    """redis.bench_parts, range-partitioned by key: partition i holds p<i>:*, on server i."""
    conn.execute('create table redis.bench_parts (key text, value text) partition by range (key)')
    for i, server in enumerate(servers):
        conn.execute("create server bench_p%d foreign data wrapper redis_wrapper "
                     "options (conn_url '%s', async_capable 'false')" % (i, server.url))
        conn.execute("create foreign table redis.bench_parts_%d partition of redis.bench_parts "
                     "for values from ('p%d:') to ('p%d;') server bench_p%d "
                     "options (src_type 'multi_string', src_key 'p%d:*')" % (i, i, i, i, i))


def set_async(conn, on):
    for i in range(SERVERS):
        conn.execute("alter server bench_p%d options (set async_capable '%s')" % (i, str(on).lower()))


def run(conn, rounds, timed, out):
    servers = [Redis().start() for _ in range(SERVERS)]
    try:
        for i, server in enumerate(servers):
            load(server.client(), i)
        create(conn, servers)
        sql = 'select count(value) from redis.bench_parts'
        samples = {True: [], False: []}
        for _ in range(rounds):
            for on in (True, False):
                set_async(conn, on)
                plan = '\n'.join(r[0] for r in conn.execute('explain ' + sql))
                if ('Async Foreign Scan' in plan) != on:
                    raise RuntimeError('async_capable %s, but the plan is:\n%s' % (on, plan))
                got = []
                samples[on].append(timed(lambda: got.append(conn.execute(sql).fetchone()[0])))
                if got != [SERVERS * ROWS]:
                    raise RuntimeError('partitions: %s rows, expected %d' % (got, SERVERS * ROWS))
        report(samples, out)
    finally:
        for server in servers:
            server.stop()


def report(samples, out):
    async_ms, seq_ms = statistics.median(samples[True]), statistics.median(samples[False])
    print('partitions: count(value) of a table partitioned over %d redis-servers, %d keys each '
          '(among %d others); median of %d rounds' % (SERVERS, ROWS, ROWS * SKIPPED, len(samples[True])),
          file=out)
    head = '%-32s %10s' % ('case', 'time')
    print(head, file=out)
    print('-' * len(head), file=out)
    print('%-32s %8.1fms' % ('async (async_capable true)', async_ms), file=out)
    print('%-32s %8.1fms' % ('one after another (false)', seq_ms), file=out)
    print('%-32s %9.2fx' % ('sequential / async', seq_ms / async_ms), file=out)
