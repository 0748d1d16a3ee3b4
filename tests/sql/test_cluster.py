"""Redis Cluster: every source type reads the same rows from a cluster (keys
spread over its slots and nodes, hash tags kept together) as from one
server; writes are routed per key and atomic per slot; slots that move and
primaries that fail over mid-query give the right rows or a clear error."""
import os
import signal

import psycopg
import pytest

from conftest import create_server, rows, table
from test_import import import_schema, imported
from redis_wrapper_tools.servers import RedisCluster

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


def test_one_seed_is_enough(db, cluster):
    """The URL names one node (not the one serving every key): INFO cluster
    says it is a cluster, and the map gives the others."""
    load(cluster.client())
    create_server(db, 'rc1', 'redis://127.0.0.1:%d' % cluster.nodes[0].port)
    tables(db, 'rc1', 'one_')
    assert len(rows(db, 'select * from redis.one_c_mh')) == 60
    assert rows(db, "select name from redis.one_c_mh where key = 'h:33'") == [('n33',)]
    assert sorted(rows(db, 'select * from redis.one_c_set')) == [('x',), ('y',), ('z',)]


def first_primary(cluster):
    """The primary serving slot 0: a pattern scan's first node."""
    owners = RedisCluster.slot_owners(cluster.primaries()[0])
    return cluster.node(next(port for (first, last), port in owners.items() if first == 0))


def test_every_primary_is_scanned_at_once(db, cluster):
    """A pattern's SCANs go to every primary at once: with the first node
    stopped (SIGSTOP), a cursor returns the other nodes' rows, and the
    stopped node's once it goes on (read one after another, the scan would
    wait for it, and fail at command_timeout)."""
    load(cluster.client())
    create_server(db, 'rc', cluster.url, command_timeout='5s')
    tables(db, 'rc', 'k_')
    assert len(rows(db, 'select key from redis.k_c_mh')) == 60     # the map known, connections pooled
    stopped = first_primary(cluster)
    its_keys = {k.decode() for k in stopped.client().scan_iter('h:*')}
    assert its_keys
    # Long enough that no replica takes over while the node is stopped.
    for n in cluster.nodes:
        n.client().config_set('cluster-node-timeout', 600000)
    os.kill(stopped.proc.pid, signal.SIGSTOP)
    try:
        db.execute('begin')
        db.execute('declare c cursor for select key from redis.k_c_mh')
        got = db.execute('fetch 5 from c').fetchall()
        assert len(got) == 5 and not {k for k, in got} & its_keys
    finally:
        os.kill(stopped.proc.pid, signal.SIGCONT)
        for n in cluster.nodes:
            n.client().config_set('cluster-node-timeout', RedisCluster.NODE_TIMEOUT_MS)
    got += db.execute('fetch all from c').fetchall()
    db.execute('commit')
    assert sorted(got) == sorted(('h:%d' % i,) for i in range(60))


def test_pattern_tables_under_an_async_append(both, cluster):
    """Two pattern tables of the cluster under an async Append (UNION ALL):
    each scan reads its nodes at once and, when none has answered, gives the
    Append one node's socket to wait for; the rows are all there, also with
    a LIMIT and through a rescan."""
    both.execute("alter server rc options (add async_capable 'true')")
    query = 'select key from redis.k_c_mh union all select key from redis.k_c_mstr'
    assert 'Async Foreign Scan' in '\n'.join(r[0] for r in both.execute('explain (costs off) ' + query))
    want = sorted([('h:%d' % i,) for i in range(60)] + [('str:%d' % i,) for i in range(60)])
    assert sorted(rows(both, query)) == want
    assert len(rows(both, query + ' limit 7')) == 7
    assert rows(both, 'select count(*) from (values (1), (2)) v(n), lateral (%s) k' % query) == [(240,)]


def test_import_samples_every_primary(db, cluster):
    """IMPORT FOREIGN SCHEMA through one node's URL finds the keys of every
    primary (SCAN lists one node's), and reads each hash's fields on its node."""
    load(cluster.client())
    create_server(db, 'rc1', 'redis://127.0.0.1:%d' % cluster.primaries()[0].port)
    db.execute('drop schema if exists imp_c cascade')
    db.execute('create schema imp_c')
    try:
        import_schema(db, '*', 'imp_c', server='rc1', shape='rows')
        got = {t[0]: t[1:4] for t in imported(db, 'imp_c')}
    finally:
        db.execute('drop schema imp_c cascade')
    assert {'list', 'set', 'hash', 'zset', 'stream', 'string'} <= set(got), got   # one key each, on one node
    assert got['h'] == ('multi_hash', 'h:*', 'key text, name text, age bigint')


def scans_per_node(cluster):
    """How many SCANs each primary ran since the last reset."""
    counts = {}
    for n in cluster.primaries():
        stats = n.client().info('commandstats')
        counts[n.port] = stats.get('cmdstat_scan', {}).get('calls', 0)
    return counts


def test_a_hash_tag_pattern_reads_one_node(both, cluster):
    for n in cluster.primaries():
        n.client().config_resetstat()
    assert len(rows(both, 'select * from redis.k_c_tag')) == 20
    assert sorted(scans_per_node(cluster).values()) == [0, 0, 1]
    for n in cluster.primaries():
        n.client().config_resetstat()
    assert len(rows(both, 'select * from redis.k_c_mh')) == 60
    assert all(scans_per_node(cluster).values())       # every primary


def test_writes_go_to_each_keys_node(db, cluster):
    create_server(db, 'rc', cluster.url)
    tables(db, 'rc', 'k_')
    client = cluster.client()
    db.execute("insert into redis.k_c_mh (key, name, age) select 'h:' || i, 'n' || i, i from generate_series(1, 50) i")
    assert client.hgetall('h:37') == {b'name': b'n37', b'age': b'37'}
    db.execute("update redis.k_c_mh set age = age + 100 where age between 10 and 19")
    assert client.hget('h:15', 'age') == b'115' and client.hget('h:25', 'age') == b'25'
    db.execute("delete from redis.k_c_mh where age > 40 and age < 100")
    assert client.exists('h:45') == 0 and client.exists('h:5') == 1
    db.execute("insert into redis.k_c_mstr values ('str:a', '1'), ('str:b', '2'), ('str:c', '3')")
    assert client.get('str:b') == b'2'
    db.execute("insert into redis.k_c_list values ('p'), ('q')")
    db.execute("insert into redis.k_c_zset values ('m', 5)")
    assert client.lrange('list', 0, -1) == [b'p', b'q'] and client.zscore('zset', 'm') == 5
    db.execute('truncate redis.k_c_mh')
    assert not client.keys('h:*') and client.get('str:a') == b'1'
    assert rows(db, 'select count(*) from redis.k_c_mh') == [(0,)]


def test_a_transaction_writes_each_slot_atomically(db, cluster):
    create_server(db, 'rc', cluster.url, transactional='true')
    tables(db, 'rc', 'k_')
    db.execute('begin')
    db.execute("insert into redis.k_c_mstr values ('str:1', 'a'), ('str:2', 'b'), ('str:{x}3', 'c')")
    db.execute("insert into redis.k_c_mh (key, name) values ('h:1', 'x')")
    assert cluster.client().get('str:1') is None        # not before COMMIT
    db.execute('commit')
    client = cluster.client()
    assert [client.get(k) for k in ('str:1', 'str:2', 'str:{x}3')] == [b'a', b'b', b'c']
    assert client.hget('h:1', 'name') == b'x'


def test_a_move_across_slots_is_refused(db, cluster):
    """RENAME of a key into another slot cannot be atomic: refused, nothing written."""
    create_server(db, 'rc', cluster.url)
    tables(db, 'rc', 'k_')
    client = cluster.client()
    client.set('str:a', '1')
    client.set('str:x', 'other')
    assert client.cluster_keyslot('str:a') != client.cluster_keyslot('str:zz')
    with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
        db.execute("update redis.k_c_mstr set key = 'str:zz' where key = 'str:a'")
    assert 'different slots' in str(e.value) and 'hash tag' in e.value.diag.message_hint
    assert client.get('str:a') == b'1' and client.get('str:zz') is None
    # Within one slot (a hash tag), the same move is atomic and allowed.
    client.set('str:{t}a', '2')
    db.execute("update redis.k_c_mstr set key = 'str:{t}b' where key = 'str:{t}a'")
    assert client.get('str:{t}a') is None and client.get('str:{t}b') == b'2'


def test_a_duplicate_in_one_slot_leaves_every_slot_unwritten(db, cluster):
    """Every slot's checks run before any slot is written."""
    create_server(db, 'rc', cluster.url)
    tables(db, 'rc', 'k_')
    client = cluster.client()
    keys = ['str:%d' % i for i in range(20)]
    assert len({client.cluster_keyslot(k) for k in keys}) > 10
    client.set(keys[-1], 'there')
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute('insert into redis.k_c_mstr values %s' % ', '.join("('%s', 'new')" % k for k in keys))
    assert [client.get(k) for k in keys[:-1]] == [None] * 19


def test_reads_from_replicas(db, cluster):
    client = cluster.client()
    load(client)
    for n in cluster.primaries():
        n.client().execute_command('WAIT', 1, 5000)
    create_server(db, 'rr', cluster.url, read_from='replica')
    tables(db, 'rr', 'rep_')
    for n in cluster.nodes:
        n.client().config_resetstat()
    assert len(rows(db, 'select * from redis.rep_c_mh')) == 60
    assert rows(db, "select name from redis.rep_c_mh where key = 'h:8'") == [('n8',)]
    assert sorted(rows(db, 'select * from redis.rep_c_set')) == [('x',), ('y',), ('z',)]
    primaries = {n.port for n in cluster.primaries()}
    served = {n.port for n in cluster.nodes
              if n.client().info('commandstats').get('cmdstat_scan', {}).get('calls', 0)}
    assert served and not served & primaries


@pytest.mark.parametrize('options,error,words', [
    ({'cluster': 'maybe'}, psycopg.errors.SyntaxError, 'cluster requires a Boolean value'),
    ({'read_from': 'anywhere'}, psycopg.errors.FdwInvalidAttributeValue, 'read_from'),
])
def test_bad_options(db, options, error, words):
    with pytest.raises(error) as e:
        create_server(db, 'rc_bad', 'redis://127.0.0.1:1', **options)
    assert words in str(e.value)


def test_seeds_with_cluster_false(db, cluster):
    create_server(db, 'rc_false', cluster.url, cluster='false')
    table(db, 'rc_false_t', 'list', 'l', server='rc_false')
    with pytest.raises(psycopg.errors.FdwInvalidAttributeValue) as e:
        rows(db, 'select * from redis.rc_false_t')
    assert 'several hosts' in str(e.value)


def move_slot(cluster, slot, target, keys_first=None):
    """Move slot to target as `redis-cli --cluster reshard` does: IMPORTING
    and MIGRATING, MIGRATE of its keys, then every node told its new owner.
    keys_first: migrate only those keys and return (the slot stays migrating)."""
    source = next(n for n in cluster.primaries()
                  if any(r[0] <= slot <= r[1] for r in n.client().execute_command('CLUSTER', 'SLOTS')
                         if r[2][1] == n.port))
    source_id = source.client().execute_command('CLUSTER', 'MYID')
    target_id = target.client().execute_command('CLUSTER', 'MYID')
    target.client().execute_command('CLUSTER', 'SETSLOT', slot, 'IMPORTING', source_id)
    source.client().execute_command('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target_id)
    while True:
        keys = keys_first if keys_first is not None else \
            source.client().execute_command('CLUSTER', 'GETKEYSINSLOT', slot, 100)
        if keys:
            source.client().execute_command('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', *keys)
        if keys_first is not None:
            return source
        if not keys:
            break
    for n in cluster.primaries():
        n.client().execute_command('CLUSTER', 'SETSLOT', slot, 'NODE', target_id)
    cluster.wait_ok()
    return source


def other_primary(cluster, key):
    owner = cluster.owner(key)
    return next(n for n in cluster.primaries() if n.port != owner.port)


def test_a_slot_moved_between_queries(db, cluster):
    """The cached map is stale: MOVED reads the map again, transparently."""
    client = cluster.client()
    load(client)
    create_server(db, 'rc', cluster.url)
    tables(db, 'rc', 'k_')
    assert rows(db, "select name from redis.k_c_mh where key = 'h:3'") == [('n3',)]
    assert len(rows(db, 'select * from redis.k_c_list')) == 4
    for key in ('h:3', 'list'):
        move_slot(cluster, client.cluster_keyslot(key), other_primary(cluster, key))
    assert rows(db, "select name from redis.k_c_mh where key = 'h:3'") == [('n3',)]
    assert rows(db, 'select * from redis.k_c_list') == [('a',), ('b',), ('c',), ('d',)]
    assert len(rows(db, 'select * from redis.k_c_mh')) == 60


def test_ask_is_followed(db, cluster):
    """A slot half moved: a key already on the importing node is read there with ASKING."""
    client = cluster.client()
    load(client)
    create_server(db, 'rc', cluster.url)
    tables(db, 'rc', 'k_')
    slot = client.cluster_keyslot('list')
    target = other_primary(cluster, 'list')
    move_slot(cluster, slot, target, keys_first=['list'])
    try:
        assert rows(db, 'select * from redis.k_c_list') == [('a',), ('b',), ('c',), ('d',)]
    finally:
        move_slot(cluster, slot, target)
    assert rows(db, 'select * from redis.k_c_list') == [('a',), ('b',), ('c',), ('d',)]


def test_a_slot_moved_during_a_long_pattern_scan(db, cluster):
    """Rows already returned: the scan cannot start again, so it ends with a
    clear error (40001) or, if the move came after its node was read, the
    right rows; the next scan has them all."""
    client = cluster.client()
    pipe = client.pipeline()
    for i in range(3000):
        pipe.hset('h:%d' % i, 'name', 'n%d' % i)
    pipe.execute()
    create_server(db, 'rc', cluster.url)
    tables(db, 'rc', 'k_')
    db.execute('begin')
    db.execute('declare c cursor for select key from redis.k_c_mh')
    got = db.execute('fetch 100 from c').fetchall()
    key = 'h:2999'
    move_slot(cluster, client.cluster_keyslot(key), other_primary(cluster, key))
    try:
        got += db.execute('fetch all from c').fetchall()
        db.execute('commit')
        assert sorted(got) == sorted(('h:%d' % i,) for i in range(3000))
    except psycopg.errors.SerializationFailure as e:
        assert 'moved slots' in str(e)
        db.execute('rollback')
    assert len(set(rows(db, 'select key from redis.k_c_mh'))) == 3000


def test_a_slot_moved_before_a_transactions_writes(db, cluster):
    """MOVED at COMMIT's WATCH: the slot is written on its new node."""
    create_server(db, 'rc', cluster.url, transactional='true')
    tables(db, 'rc', 'k_')
    client = cluster.client()
    client.set('str:0', 'old')
    assert rows(db, "select value from redis.k_c_mstr where key = 'str:0'") == [('old',)]
    db.execute('begin')
    db.execute("insert into redis.k_c_mstr select 'str:' || i, 'v' || i from generate_series(1, 30) i")
    db.execute("update redis.k_c_mstr set value = 'new' where key = 'str:0'")
    for key in ('str:1', 'str:0'):
        move_slot(cluster, client.cluster_keyslot(key), other_primary(cluster, key))
    db.execute('commit')
    assert client.get('str:0') == b'new'
    assert [client.get('str:%d' % i) for i in range(1, 31)] == [b'v%d' % i for i in range(1, 31)]


@pytest.fixture
def own_cluster():
    """A cluster of the test's own, for tests that kill its nodes."""
    cluster = RedisCluster().start()
    yield cluster
    cluster.stop()


def fail_over(cluster, key):
    """Kill the primary serving key and wait until its replica took over."""
    victim = cluster.owner(key)
    victim.proc.kill()
    victim.proc.wait()
    cluster.wait_failover(victim)
    return victim


def test_a_primary_fails_over_between_queries(db, own_cluster):
    client = own_cluster.client()
    load(client)
    create_server(db, 'rf', own_cluster.url)
    tables(db, 'rf', 'f_')
    assert len(rows(db, 'select * from redis.f_c_mh')) == 60
    assert rows(db, "select name from redis.f_c_mh where key = 'h:9'") == [('n9',)]
    for n in own_cluster.primaries():
        n.client().execute_command('WAIT', 1, 5000)
    fail_over(own_cluster, 'h:9')
    # The map names the dead primary: the first connection fails, the map is read again.
    assert rows(db, "select name from redis.f_c_mh where key = 'h:9'") == [('n9',)]
    assert len(rows(db, 'select * from redis.f_c_mh')) == 60
    db.execute("insert into redis.f_c_mh (key, name) values ('h:9', 'again') on conflict do nothing")
    db.execute("update redis.f_c_mh set name = 'nine' where key = 'h:9'")
    assert own_cluster.client().hget('h:9', 'name') == b'nine'


def test_a_lost_node_under_an_async_append(db, own_cluster):
    """The map still names a primary that failed over: under an async Append
    the scan's retries sleep (backoff) in place, never handing the Append a
    socket of -1 to wait for, and read the new map."""
    load(own_cluster.client())
    create_server(db, 'rf', own_cluster.url, async_capable='true')
    tables(db, 'rf', 'f_')
    query = 'select key from redis.f_c_mh union all select key from redis.f_c_mstr'
    want = sorted([('h:%d' % i,) for i in range(60)] + [('str:%d' % i,) for i in range(60)])
    assert sorted(rows(db, query)) == want
    for n in own_cluster.primaries():
        n.client().execute_command('WAIT', 1, 5000)
    fail_over(own_cluster, 'h:9')
    assert sorted(rows(db, query)) == want


def test_a_primary_killed_mid_query(db, own_cluster):
    """Rows returned already: a clear error (a lost connection, 08006) or the
    right rows; the next query works once the replica took over."""
    client = own_cluster.client()
    pipe = client.pipeline()
    for i in range(3000):
        pipe.hset('h:%d' % i, 'name', 'n%d' % i)
    pipe.execute()
    for n in own_cluster.primaries():
        n.client().execute_command('WAIT', 1, 5000)
    create_server(db, 'rf', own_cluster.url)
    tables(db, 'rf', 'f_')
    db.execute('begin')
    db.execute('declare c cursor for select key from redis.f_c_mh')
    got = db.execute('fetch 100 from c').fetchall()
    for n in own_cluster.primaries():       # whichever is read now, and whichever is read next
        if n.port != own_cluster.owner('h:0').port:
            killed = n
            n.proc.kill()
            n.proc.wait()
            break
    try:
        got += db.execute('fetch all from c').fetchall()
        db.execute('commit')
        assert sorted(set(got)) == sorted(('h:%d' % i,) for i in range(3000))
    except (psycopg.errors.ConnectionFailure, psycopg.errors.SerializationFailure,
            psycopg.errors.FdwUnableToEstablishConnection) as e:
        assert 'Redis' in str(e)
        db.execute('rollback')
    own_cluster.wait_failover(killed)
    assert len(set(rows(db, 'select key from redis.f_c_mh'))) == 3000


def test_a_slot_being_moved_ends_a_pattern_scan(db, cluster):
    """A slot migrating while a pattern is scanned, even before any key moved
    (keys that move meanwhile could be missed): 40001, until it is moved."""
    client = cluster.client()
    load(client)
    create_server(db, 'rc', cluster.url, command_timeout='1s')
    tables(db, 'rc', 'k_')
    slot = client.cluster_keyslot('h:1')
    target = other_primary(cluster, 'h:1')
    move_slot(cluster, slot, target, keys_first=[])
    try:
        with pytest.raises(psycopg.errors.SerializationFailure) as e:
            rows(db, 'select * from redis.k_c_mh')
        assert 'slots' in str(e.value) and e.value.diag.message_hint == 'Retry the query.'
        assert rows(db, "select name from redis.k_c_mh where key = 'h:1'") == [('n1',)]
    finally:
        move_slot(cluster, slot, target)
    try:
        got = rows(db, 'select * from redis.k_c_mh')
    except psycopg.errors.SerializationFailure:
        # The backend's map is from before the move: the nodes being read at
        # once, another node's rows may have gone out before the moved slot's
        # keys show it.  The next scan reads the new map.
        got = rows(db, 'select * from redis.k_c_mh')
    assert len(got) == 60
