"""Redis Cluster slots as the core computes them, against CLUSTER KEYSLOT of
a real server (its own CRC16 and hash tag rules), and the slot a pattern pins."""
import random

import pytest

from redis_wrapper_tools.servers import Redis, free_cluster_port

from .conftest import KIND, core
from .scripted_redis import ScriptedRedis, resp, status


@pytest.fixture(scope='module')
def node():
    server = Redis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
                   port=free_cluster_port()).start()
    yield server.client()
    server.stop()


PIECES = [b'a', b'{', b'}', b'user', b'42', b'\x00', b'\xff', b':', b'']


def test_slots_are_keyslots(node):
    rng = random.Random(14)
    keys = [b'', b'123456789', b'{}', b'{}a', b'a{}', b'{a}', b'x{a}y', b'{a}{b}', b'{{a}}', b'}{a}', b'{a']
    keys += [b''.join(rng.choice(PIECES) for _ in range(rng.randint(0, 8))) for _ in range(500)]
    assert core.cluster_slot(b'123456789') == 0x31C3 % 16384    # CRC16/XMODEM's check value
    for k in keys:
        assert core.cluster_slot(k) == node.execute_command('CLUSTER', 'KEYSLOT', k), k


@pytest.mark.parametrize('pattern,pinned', [
    (b'{user42}:*', b'user42'),
    (b'{user42}*', b'user42'),
    (b'x:{user42}:*', b'user42'),
    (b'{user42}', b'user42'),
    (b'*{user42}', None),           # a key may have a '{' before
    (b'{user4?}:*', None),
    (b'{us[e]r}:*', None),
    (b'{us\\*}:*', None),
    (b'{}:*', None),                # an empty tag is no tag: the whole key counts
    (b'user42:*', None),
    (b'{user42:*', None),
])
def test_a_pattern_pins_a_slot_by_its_hash_tag(pattern, pinned):
    assert core.cluster_pattern_slot(pattern) == (-1 if pinned is None else core.cluster_slot(b'{%s}' % pinned))


@pytest.mark.parametrize('reply', [
    [b'not', b'shards'],
    [[b'slots', b'x', b'nodes', []]],
    [[b'slots', [0, 99999], b'nodes', [[b'port', 1, b'ip', b'127.0.0.1', b'role', b'master',
                                        b'health', b'online']]]],
    b'a string',
])
def test_a_hostile_slot_map_is_a_clear_error(fake, reply):
    server = fake(lambda args: resp(reply) if args[:2] == [b'CLUSTER', b'SHARDS'] else None)
    with pytest.raises(core.CoreError) as e:
        core.scan(server.url, 'list', b'l', command_timeout_ms=5000, cluster=True)
    assert 'no node of the Redis Cluster' in e.value.message, e.value.message
    assert e.value.kind != KIND['INTERNAL']


@pytest.mark.parametrize('endpoint', [b'', None])
def test_a_node_without_an_endpoint_is_reached_at_the_host_asked(endpoint):
    """CLUSTER SHARDS gives '' (cluster-preferred-endpoint-type unknown-endpoint,
    a load balancer in front): the host the map was asked of, with the map's
    port; no endpoint field at all: the node's ip."""
    node = [b'port', 0, b'ip', b'127.0.0.1' if endpoint is None else b'127.0.0.2', b'role', b'master',
            b'health', b'online'] + ([b'endpoint', endpoint] if endpoint is not None else [])
    replies = {b'TYPE': resp(status(b'list')), b'LRANGE': resp([b'a'])}

    def script(args):
        if args[:2] == [b'CLUSTER', b'SHARDS']:
            return resp([[b'slots', [0, 16383], b'nodes', [node]]])
        return replies.get(args[0])
    server = ScriptedRedis(script)
    node[1] = server.port           # known before the server's process forks
    server.start()
    try:
        rows = core.scan(server.url, 'list', b'l', command_timeout_ms=5000, cluster=True)
    finally:
        server.stop()
    assert [r[0] for r in rows] == [b'a']
