"""Redis's glob patterns as the core matches them, against a real redis-server:
for random simple patterns (*, ? and \\ escapes, no sets) and random keys
(glob syntax, empty, NUL, not UTF-8), the keys a pattern table's lookup
accepts, the keys its narrower SCAN for a LIKE prefix keeps, and the keys of
its full scan are all what KEYS pattern says."""
import random

import pytest

from redis_wrapper_tools.servers import Redis

from .conftest import scan

# No NUL in patterns: a table's key is text, and crosses into the core as a C string.
LITERALS = [b'a', b'b', b']', b'^', b'-', b' ', b'\xff', b'\xc3\xa9']
KEY_PIECES = LITERALS + [b'\x00', b'*', b'?', b'[', b'\\']
ESCAPED = [b'a', b'*', b'?', b'[', b']', b'\\']
WRITE = {'multi_list': lambda c, k: c.rpush(k, b'x'), 'multi_set': lambda c, k: c.sadd(k, b'x'),
         'multi_hash': lambda c, k: c.hset(k, b'f', b'x'), 'multi_zset': lambda c, k: c.zadd(k, {b'x': 1})}


@pytest.fixture(scope='module')
def real_redis():
    server = Redis().start()
    yield server
    server.stop()


def random_pattern(rnd):
    """Tokens, each a literal, *, ? or an escaped character; sometimes a trailing lone backslash."""
    tokens = []
    for _ in range(rnd.randrange(7)):
        kind = rnd.randrange(4)
        tokens.append(rnd.choice(LITERALS) if kind == 0 else b'*' if kind == 1 else b'?' if kind == 2
                      else b'\\' + rnd.choice(ESCAPED))
    if rnd.random() < 0.1:
        tokens.append(b'\\')
    return tokens


def instance(rnd, tokens):
    """A key the pattern matches (a trailing lone backslash matches itself)."""
    out = b''
    for t in tokens:
        if t == b'*':
            out += b''.join(rnd.choice(KEY_PIECES) for _ in range(rnd.randrange(3)))
        elif t == b'?':
            out += bytes([rnd.randrange(256)])
        else:
            out += t[-1:] if len(t) == 2 and t[0] == 0x5C else t
    return out


def random_key(rnd):
    return b''.join(rnd.choice(KEY_PIECES) for _ in range(rnd.randrange(6)))


@pytest.mark.parametrize('seed', range(8))
def test_the_core_matches_keys_as_redis_does(real_redis, seed):
    rnd = random.Random(seed)
    client = real_redis.client()
    for trial in range(25):
        client.flushall()
        source = rnd.choice(sorted(WRITE))
        tokens = random_pattern(rnd)
        pattern = b''.join(tokens)
        keys = {instance(rnd, tokens) for _ in range(8)} | {random_key(rnd) for _ in range(12)}
        typed = {k for k in keys if rnd.random() < 0.8}
        for k in keys:
            WRITE[source](client, k) if k in typed else client.set(k, b'other type')
        expected = set(client.keys(pattern)) & typed
        where = '%s %r: keys %r' % (source, pattern, sorted(keys))

        # Every key named: those the pattern has, of the table's type, give rows.
        rows = scan(real_redis, source, pattern, quals=((0, '=', sorted(keys)),))
        assert {r[2] for r in rows} == expected and len(rows) == len(expected), where
        # A full scan finds the same keys.
        assert {r[2] for r in scan(real_redis, source, pattern)} == expected, where
        # A LIKE prefix: SCAN MATCH the escaped prefix, then the pattern.
        prefix = rnd.choice(sorted(keys))[:rnd.randrange(4)]
        rows = scan(real_redis, source, pattern, quals=((0, 'prefix', [prefix]),))
        assert {r[2] for r in rows} == {k for k in expected if k.startswith(prefix)}, (where, prefix)
    client.close()
