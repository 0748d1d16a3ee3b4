"""count(*) and LIMIT as the core serves them (RwScanSpec.count_only and
.limit): a whole key is counted by Redis (LLEN, SCARD, ...), a pattern table by
SCAN alone, a lookup by its rows; a limit caps the index and id batches asked
for, and stops cursor loops once enough rows are made."""
import pytest

from .conftest import scan
from .test_scans import c, range_batches, ranged, stream
from redis_wrapper_tools.servers import Redis


@pytest.fixture(scope='module')
def real_redis():
    server = Redis().start()
    client = server.client()
    client.rpush('l', *range(1000))
    client.sadd('s', *range(50))
    client.hset('h', mapping={str(i): i for i in range(30)})
    client.zadd('z', {str(i): i for i in range(20)})
    for i in range(70):
        client.xadd('st', {'a': i})
    for i in range(12):
        client.rpush('p:%d' % i, i)
    client.sadd('p:set', 'not a list')
    yield server, client
    server.stop()


def commands_run(client):
    stats = {k[len('cmdstat_'):]: v['calls'] for k, v in client.info('commandstats').items()}
    stats.pop('config|resetstat', None)
    return stats


@pytest.mark.parametrize('source, key, n, command', [
    ('list', b'l', 1000, 'llen'), ('set', b's', 50, 'scard'), ('hash', b'h', 30, 'hlen'),
    ('zset', b'z', 20, 'zcard'), ('stream', b'st', 70, 'xlen'), ('list', b'missing', 0, 'llen'),
])
def test_a_whole_key_is_counted_by_redis(real_redis, source, key, n, command):
    server, client = real_redis
    client.config_resetstat()
    assert scan(server, source, key, count=True) == [(b'%d' % n, None, None)]
    assert commands_run(client) == {'type': 1, command: 1}


def test_a_pattern_table_is_counted_by_scan_alone(real_redis):
    server, client = real_redis
    client.config_resetstat()
    assert scan(server, 'multi_list', b'p:*', count=True) == [(b'12', None, None)]
    assert set(commands_run(client)) == {'scan'}       # no key is read


def test_a_lookup_counts_its_rows(real_redis):
    server, client = real_redis
    client.config_resetstat()
    assert scan(server, 'hash', b'h', count=True, quals=[(0, '=', [b'1', b'2', b'99'])]) == [(b'2', None, None)]
    assert commands_run(client) == {'type': 1, 'hmget': 1}


def test_a_count_of_a_key_of_another_type_is_an_error(real_redis):
    server, _ = real_redis
    from .conftest import core
    with pytest.raises(core.CoreError) as e:
        scan(server, 'set', b'l', count=True)
    assert 'holds a list, not a set' in e.value.message


@pytest.mark.parametrize('source', ['list', 'zset'])
@pytest.mark.parametrize('limit, sizes', [(10, [10]), (128, [128]), (300, [128, 172]), (5000, [128, 512, 2048, 2312])])
def test_a_limit_caps_the_index_batches(fake, source, limit, sizes):
    elements = [b'%d' % i for i in range(6000)]
    server = fake(ranged(source, b'k', elements))
    assert [r[0] for r in scan(server, source, b'k', limit=limit)] == elements[:limit]
    command = {'list': 'LRANGE', 'zset': 'ZRANGE'}[source]
    assert server.commands == [[b'TYPE', b'k']] + [
        list(c('%s k %d %d' % (command, a, b))) for a, b in range_batches(sizes)]


def test_a_limit_caps_the_stream_batches(fake):
    entries = [(b'%d-0' % (i + 1), [b'f', b'%d' % i]) for i in range(500)]
    server = fake(stream(b'x', entries))
    assert len(scan(server, 'stream', b'x', limit=100)) == 100
    assert server.commands == [[b'TYPE', b'x'], list(c('XRANGE x - + COUNT 64')),
                               list(c('XRANGE x 64-1 + COUNT 36'))]


def test_a_limit_stops_a_cursor_loop_once_its_rows_are_made(real_redis):
    server, client = real_redis
    client.delete('big')
    client.sadd('big', *range(5000))
    client.config_resetstat()
    got = scan(server, 'set', b'big', fetch='scan', limit=10)
    assert len(got) >= 10 and len(set(got)) == len(got)
    assert commands_run(client)['sscan'] < 5         # not the 5000 members' worth of calls
