"""A Redis Cluster of containers on the network, as the redis_cluster fixture
makes it, read and written by PostgreSQL in its own container through the
cluster's seeds: what a project's CI does against a cluster."""
import contextlib

import psycopg
import pytest
import redis

from redis_wrapper_tools.testing import RedisCluster


def node_keys(cluster, pattern='*'):
    """The keys each node holds itself (SCAN is local to a node)."""
    keys = []
    for node in cluster.nodes:
        with node.get_client() as direct:
            keys.append({k.decode() for k in direct.scan_iter(pattern, count=1000)})
    return keys


def scans(cluster):
    """How many SCANs each node ran since the last CONFIG RESETSTAT."""
    counts = []
    for node in cluster.nodes:
        with node.get_client() as direct:
            counts.append(direct.info('commandstats').get('cmdstat_scan', {}).get('calls', 0))
    return counts


def test_the_cluster_spreads_keys_over_its_nodes(redis_cluster):
    redis_cluster.flushall()
    client = redis_cluster.get_client()
    try:
        for i in range(100):
            client.set('k:%d' % i, i)
        assert client.cluster_info()['cluster_state'] == 'ok'
    finally:
        client.close()
    sizes = [len(keys) for keys in node_keys(redis_cluster)]
    assert sum(sizes) == 100 and all(sizes)


def endpoints(cluster):
    """The nodes' endpoints in the slot map (CLUSTER SHARDS), as clients get them."""
    with cluster.nodes[0].get_client() as direct:
        shards = direct.execute_command('CLUSTER', 'SHARDS')
    return {node[b'endpoint'].decode() for shard in shards for node in shard[b'nodes']}


def test_the_slot_map_gives_addresses_postgres_reaches(redis_cluster):
    """The nodes' network addresses: PostgreSQL's container is on that network."""
    assert endpoints(redis_cluster) == {node.address for node in redis_cluster.nodes}


def test_single_key_tables_go_to_each_keys_node(redis_wrapper_cluster_db, redis_cluster):
    """One list on each node: every table reads its key from the node serving its slot."""
    db = redis_wrapper_cluster_db
    with redis_cluster.get_client() as client:
        for i in range(30):
            client.rpush('l:%d' % i, 'a%d' % i, 'b%d' % i)
        client.hset('profile', mapping={'name': 'ann', 'city': 'Oslo'})
    per_node = [sorted(keys)[0] for keys in node_keys(redis_cluster, 'l:*')]
    assert len(per_node) == 3
    for key in per_node:
        db.execute("create foreign table redis.\"%s\" (element text) server redis_server "
                   "options (src_type 'list', src_key '%s')" % (key, key))
        i = key.split(':')[1]
        assert db.execute('select * from redis."%s"' % key).fetchall() == [('a' + i,), ('b' + i,)]
    db.execute("create foreign table redis.profile (key text, value text) server redis_server "
               "options (src_type 'hash', src_key 'profile')")
    assert db.execute("select value from redis.profile where key = 'city'").fetchall() == [('Oslo',)]


def test_a_pattern_table_scans_every_primary(redis_wrapper_cluster_db, redis_cluster):
    db = redis_wrapper_cluster_db
    with redis_cluster.get_client() as client:
        for i in range(200):
            client.hset('h:%d' % i, mapping={'name': 'n%d' % i, 'age': i})
    assert all(node_keys(redis_cluster, 'h:*'))         # keys on every node
    db.execute("create foreign table redis.people (key text, name text, age int) server redis_server "
               "options (src_type 'multi_hash', src_key 'h:*')")
    for node in redis_cluster.nodes:
        with node.get_client() as direct:
            direct.config_resetstat()
    assert db.execute('select count(*), sum(age) from redis.people').fetchall() == [(200, sum(range(200)))]
    assert all(scans(redis_cluster))
    assert db.execute("select name, age from redis.people where key in ('h:7', 'h:150', 'h:nope') "
                      "order by age").fetchall() == [('n7', 7), ('n150', 150)]


def test_writes_land_on_each_keys_node(redis_wrapper_cluster_db, redis_cluster):
    db = redis_wrapper_cluster_db
    db.execute("create foreign table redis.people (key text, name text, age int) server redis_server "
               "options (src_type 'multi_hash', src_key 'h:*')")
    db.execute("create foreign table redis.profile (key text, value text) server redis_server "
               "options (src_type 'hash', src_key 'profile')")
    db.execute("insert into redis.people select 'h:' || i, 'n' || i, i from generate_series(1, 60) i")
    db.execute("insert into redis.profile values ('name', 'ann'), ('city', 'Oslo')")
    held = node_keys(redis_cluster, 'h:*')
    assert all(held) and set().union(*held) == {'h:%d' % i for i in range(1, 61)}
    with redis_cluster.get_client() as client:
        # Redis refuses a key its node does not serve (MOVED): found here, it is where its slot is.
        assert client.hgetall('h:42') == {b'name': b'n42', b'age': b'42'}
        assert client.hgetall('profile') == {b'name': b'ann', b'city': b'Oslo'}
    db.execute('update redis.people set age = age + 100 where age <= 10')
    assert db.execute('select count(*) from redis.people where age > 100').fetchall() == [(10,)]


def test_a_rename_across_slots_is_refused(redis_wrapper_cluster_db, redis_cluster):
    """A RENAME into another slot cannot be atomic: 0A000 and nothing written;
    within one hash tag it is allowed."""
    db = redis_wrapper_cluster_db
    db.execute("create foreign table redis.strings (key text, value text) server redis_server "
               "options (src_type 'multi_string', src_key 'str:*')")
    client = redis_cluster.get_client()
    try:
        client.set('str:a', '1')
        client.set('str:{t}a', '2')
        assert client.cluster_keyslot('str:a') != client.cluster_keyslot('str:zz')
        with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
            db.execute("update redis.strings set key = 'str:zz' where key = 'str:a'")
        assert e.value.sqlstate == '0A000' and 'hash tag' in e.value.diag.message_hint
        assert client.get('str:a') == b'1' and client.get('str:zz') is None
        db.execute("update redis.strings set key = 'str:{t}b' where key = 'str:{t}a'")
        assert client.get('str:{t}a') is None and client.get('str:{t}b') == b'2'
    finally:
        client.close()


@pytest.fixture(scope='module')
def named_cluster(redis_wrapper_network):
    """A cluster whose slot map gives the nodes' names, resolved in
    PostgreSQL's container through the /etc/hosts the network writes."""
    with RedisCluster(redis_wrapper_network, alias='named-cluster', hostnames=True) as cluster:
        yield cluster


def test_a_cluster_announcing_hostnames(redis_wrapper_pg, named_cluster):
    assert endpoints(named_cluster) == {node.alias for node in named_cluster.nodes}
    with named_cluster.get_client() as client:
        for i in range(50):
            client.set('s:%d' % i, i)
    assert all(node_keys(named_cluster))
    # One seed: the map gives the other nodes by name.
    with redis_wrapper_pg.database('redis://%s:6379' % named_cluster.nodes[1].alias) as db:
        db.execute("create foreign table redis.s (key text, value int) server redis_server "
                   "options (src_type 'multi_string', src_key 's:*')")
        assert db.execute('select count(*), sum(value) from redis.s').fetchall() == [(50, sum(range(50)))]
        db.execute("insert into redis.s values ('s:new', 7)")
    with named_cluster.get_client() as client:
        assert client.get('s:new') == b'7'


def test_nodes_told_to_announce_hostnames_they_lack(redis_wrapper_pg, redis_wrapper_network):
    """cluster-preferred-endpoint-type hostname without names: the map gives
    '?' (Redis: an unknown node, not the one asked), and each node's ip."""
    with RedisCluster(redis_wrapper_network, alias='unnamed-cluster',
                      args=['--cluster-preferred-endpoint-type', 'hostname']) as cluster:
        assert endpoints(cluster) == {'?'}
        # (redis-py's cluster client cannot use that map: each node is given the keys it serves.)
        for node in cluster.nodes:
            with node.get_client() as direct:
                for i in range(50):
                    with contextlib.suppress(redis.exceptions.ResponseError):     # MOVED
                        direct.set('s:%d' % i, i)
        assert all(node_keys(cluster))
        with redis_wrapper_pg.database(cluster.url()) as db:
            db.execute("create foreign table redis.s (key text, value int) server redis_server "
                       "options (src_type 'multi_string', src_key 's:*')")
            assert db.execute('select count(*), sum(value) from redis.s').fetchall() == [(50, sum(range(50)))]
            assert db.execute("select value from redis.s where key in ('s:1', 's:2', 's:3') "
                              "order by value").fetchall() == [(1,), (2,), (3,)]
