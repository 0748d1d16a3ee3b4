"""A Redis Cluster made of containers on one network."""
import time

import redis
from redis.cluster import ClusterNode

from .redis import PORT, RedisContainer


class RedisCluster:
    """`masters` nodes (3 at least) named <alias>-1, <alias>-2, ... on network,
    formed by `redis-cli --cluster create` and ready once every node says
    cluster_state:ok.  node_class: RedisContainer or ValkeyContainer.

    The slot map (CLUSTER SHARDS, CLUSTER SLOTS) gives each node's address on
    the network; with hostnames=True it gives their aliases instead
    (cluster-announce-hostname), as a cluster behind names or TLS does.
    args: more server arguments for every node."""

    def __init__(self, network, masters=3, image=None, node_class=RedisContainer, alias='redis-cluster',
                 hostnames=False, args=(), startup_timeout=60.0):
        self.network = network
        self.startup_timeout = startup_timeout
        self.nodes = []
        for i in range(masters):
            name = '%s-%d' % (alias, i + 1)
            server_args = ['--cluster-enabled', 'yes', '--cluster-node-timeout', '5000']
            if hostnames:
                server_args += ['--cluster-announce-hostname', name, '--cluster-preferred-endpoint-type', 'hostname']
            self.nodes.append(node_class(image, network=network, alias=name, args=server_args + list(args)))

    def start(self):
        try:
            for node in self.nodes:
                node.start()
            first = self.nodes[0]
            result = first.exec([first.cli, '--cluster', 'create', '--cluster-yes']
                                + ['%s:%d' % (node.address, PORT) for node in self.nodes])
            if result.exit_code != 0:
                raise RuntimeError('the cluster did not form:\n%s' % result.output.decode(errors='replace'))
            self._wait_until_ok()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ok(self):
        deadline = time.monotonic() + self.startup_timeout
        while not all(node.get_client().cluster('info').get('cluster_state') == 'ok' for node in self.nodes):
            if time.monotonic() > deadline:
                raise TimeoutError('the cluster was not ok after %.0f s' % self.startup_timeout)
            time.sleep(0.2)

    def stop(self):
        for node in self.nodes:
            node.stop()     # also those that never started: nothing to remove then

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def url(self):
        """Its seeds as a conn_url from containers on its network."""
        return 'redis://' + ','.join('%s:%d' % (node.alias, PORT) for node in self.nodes)

    def flushall(self):
        """Empties every node: a test's keys gone before the next test."""
        for node in self.nodes:
            with node.get_client() as direct:
                direct.flushall()

    def get_client(self, **kw):
        """A redis-py cluster client from the machine running the tests: the
        nodes announce their network addresses (or aliases), mapped here to
        published ports."""
        published = {}
        for node in self.nodes:
            published[node.address] = published[node.alias] = (node.get_container_host_ip(),
                                                                node.get_exposed_port(PORT))
        first = published[self.nodes[0].alias]
        return redis.RedisCluster(startup_nodes=[ClusterNode(*first)],
                                  address_remap=lambda address: published.get(address[0], address), **kw)
