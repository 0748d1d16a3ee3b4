"""String keys (string, multi_string), every key's expiry (ttl, expire_at)
and key listings (keys) through the core: against a real Redis the rows
they give; against scripted servers exactly the commands they send (nothing
for columns not read, MGET batches behind each SCAN reply, PTTL and
PEXPIRETIME pipelined after each key's contents, TIME + PTTL where
PEXPIRETIME is unknown) and what hostile replies to them mean."""
import time

import pytest

from .conftest import GUARD_MS, KIND, core, failure, fails, scan, write
from .scripted_redis import error, resp, status

ODD = b'\xff\x00 *?[]\\\r\n\xc3\xa9'


def c(text):
    return tuple(text.encode().split(b' '))


@pytest.fixture
def fake(fake):
    """Scripted servers whose scripts give replies as data (see resp())."""
    return lambda script: fake({k: resp(v) for k, v in script.items()})


def commands(server):
    return [tuple(cmd) for cmd in server.commands]


# want tuples: string (value, ttl, expire_at); multi_* (key, items/value, ttl, expire_at);
# keys (key, type, ttl, expire_at, length, memory).
VALUE = (True,)
VALUE_TTL = (True, True, True)
KEY_VALUE = (True, True)
ALL4 = (True, True, True, True)


def test_source_columns():
    assert core.source_columns('string') == [('value', 'text'), ('ttl', 'interval_ms'),
                                             ('expire_at', 'timestamp_ms')]
    assert core.source_columns('multi_string') == [('key', 'text'), ('value', 'text'), ('ttl', 'interval_ms'),
                                                   ('expire_at', 'timestamp_ms')]
    for source in ('multi_list', 'multi_set', 'multi_hash', 'multi_zset'):
        assert core.source_columns(source)[2:] == [('ttl', 'interval_ms'), ('expire_at', 'timestamp_ms')]
    assert core.source_columns('keys') == [('key', 'text'), ('type', 'text'), ('ttl', 'interval_ms'),
                                           ('expire_at', 'timestamp_ms'), ('length', 'int8'), ('memory', 'int8')]


# -- real Redis -----------------------------------------------------------------

def test_string_reads(redis_server, r):
    url = redis_server.url
    assert core.scan(url, 'string', b's', want=VALUE) == []             # missing: no row
    r.set('s', ODD)
    assert core.scan(url, 'string', b's', want=VALUE) == [(ODD, None)]
    assert core.scan(url, 'string', b's', want=VALUE_TTL) == [(ODD, None, None, None)]
    r.pexpire('s', 100000)
    value, ttl, at, key = core.scan(url, 'string', b's', want=VALUE_TTL)[0]
    assert 99000 < int(ttl) <= 100000
    assert abs(int(at) - (time.time() * 1000 + 100000)) < 5000
    assert core.scan(url, 'string', b's', count=True) == [(b'1', None, None)]
    assert core.scan(url, 'string', b'none', count=True) == [(b'0', None, None)]
    r.rpush('l', 'x')
    with pytest.raises(core.CoreError) as e:
        core.scan(url, 'string', b'l', want=VALUE)
    assert e.value.kind == KIND['WRONG_TYPE'] and 'holds a list, not a string' in e.value.message


def test_multi_string_reads(redis_server, r):
    url = redis_server.url
    for i in range(2500):
        r.set('s:%d' % i, 'v%d' % i)
    r.set('s:odd', ODD)
    r.rpush('s:list', 'x')                  # another type: not a row
    r.pexpire('s:7', 50000)
    rows = core.scan(url, 'multi_string', b's:*', want=KEY_VALUE)
    assert sorted(rows) == sorted([(b's:%d' % i, b'v%d' % i, b's:%d' % i) for i in range(2500)]
                                  + [(b's:odd', ODD, b's:odd')])
    rows = {k: (v, ttl, at) for k, v, ttl, at, _ in core.scan(url, 'multi_string', b's:*', want=ALL4)}
    assert len(rows) == 2501 and rows[b's:1'] == (b'v1', None, None)
    assert 45000 < int(rows[b's:7'][1]) <= 50000 and int(rows[b's:7'][2]) > time.time() * 1000
    # key = / IN and LIKE prefix, as for the other multi_*
    assert core.scan(url, 'multi_string', b's:*', want=KEY_VALUE,
                     quals=[(0, '=', [b's:1', b's:list', b'x:1', b'nope'])]) == [(b's:1', b'v1', b's:1')]
    assert sorted(core.scan(url, 'multi_string', b's:*', want=KEY_VALUE, quals=[(0, 'prefix', [b's:24'])])) == \
        sorted((b's:%d' % i, b'v%d' % i, b's:%d' % i) for i in [24] + list(range(240, 250)) + list(range(2400, 2500)))
    assert core.scan(url, 'multi_string', b's:*', count=True) == [(b'2501', None, None)]


@pytest.mark.parametrize('source, make', [
    ('multi_list', lambda r, k: r.rpush(k, 'a')),
    ('multi_set', lambda r, k: r.sadd(k, 'a')),
    ('multi_hash', lambda r, k: r.hset(k, 'f', 'a')),
    ('multi_zset', lambda r, k: r.zadd(k, {'a': 1})),
])
def test_pattern_expiry(redis_server, r, source, make):
    make(r, 'k:1')
    make(r, 'k:2')
    r.pexpire('k:2', 60000)
    rows = {k: (ttl, at) for k, items, ttl, at, _ in core.scan(redis_server.url, source, b'k:*', want=ALL4)}
    assert rows[b'k:1'] == (None, None)
    assert 55000 < int(rows[b'k:2'][0]) <= 60000
    # expire_at alone, ttl alone
    assert core.scan(redis_server.url, source, b'k:*', want=(True, False, False, True),
                     quals=[(0, '=', [b'k:1'])]) == [(b'k:1', None, None, None, b'k:1')]
    [(k, _, ttl, at, _)] = core.scan(redis_server.url, source, b'k:*', want=(True, False, True, False),
                                     quals=[(0, '=', [b'k:2'])])
    assert int(ttl) > 0 and at is None


def test_keys_listing(redis_server, r):
    url = redis_server.url
    r.rpush('k:l', 'a', 'b')
    r.sadd('k:s', 'a')
    r.hset('k:h', mapping={'a': '1', 'b': '2', 'c': '3'})
    r.zadd('k:z', {'a': 1})
    r.xadd('k:x', {'f': 'v'})
    r.set('k:str', 'hello')
    r.set('other', 'x')
    r.pexpire('k:h', 90000)
    rows = {row[0]: row[1:] for row in core.scan(url, 'keys', b'k:*', want=(True,) * 6)}
    assert {k: (t, n) for k, (t, ttl, at, n, mem, _) in rows.items()} == {
        b'k:l': (b'list', b'2'), b'k:s': (b'set', b'1'), b'k:h': (b'hash', b'3'), b'k:z': (b'zset', b'1'),
        b'k:x': (b'stream', b'1'), b'k:str': (b'string', b'5')}
    assert all(int(mem) > 0 for t, ttl, at, n, mem, _ in rows.values())
    assert 85000 < int(rows[b'k:h'][1]) <= 90000 and rows[b'k:l'][1:3] == (None, None)
    assert sorted(core.scan(url, 'keys', b'k:*', want=(True, True))) == sorted(
        (k, t, k) for k, (t, *_) in rows.items())
    assert core.scan(url, 'keys', b'k:*', want=(True, False, False, False, True),
                     quals=[(0, '=', [b'k:s', b'nope', b'other'])]) == [(b'k:s', None, None, None, b'1', b'k:s')]
    assert core.scan(url, 'keys', b'*', count=True) == [(b'7', None, None)]


# -- scripted servers: exactly what is asked ----------------------------------

def test_string_asks_nothing_for_columns_not_read(fake):
    server = fake({c('TYPE s'): status(b'string'), c('GET s'): b'v'})
    assert scan(server, 'string', b's', want=VALUE) == [(b'v', None)]
    assert commands(server) == [c('TYPE s'), c('GET s')]


def test_string_expiry_commands(fake):
    server = fake({c('TYPE s'): status(b'string'), c('TIME'): [b'1700000000', b'250000'], c('GET s'): b'v',
                   c('PTTL s'): 5000, c('PEXPIRETIME s'): 1700000005250})
    assert scan(server, 'string', b's', want=VALUE_TTL) == [(b'v', b'5000', b'1700000005250', None)]
    assert commands(server) == [c('TYPE s'), c('TIME'), c('GET s'), c('PTTL s'), c('PEXPIRETIME s')]


def test_expire_at_before_redis_7_is_time_plus_pttl(fake):
    server = fake({c('TYPE s'): status(b'string'), c('TIME'): [b'1700000000', b'250999'], c('GET s'): b'v',
                   c('PTTL s'): 5000, c('PEXPIRETIME s'): error(b"ERR unknown command 'PEXPIRETIME'")})
    assert scan(server, 'string', b's', want=(True, False, True)) == [(b'v', None, b'1700000005250', None)]


def test_multi_string_mget_per_scan_reply(fake):
    server = fake({c('SCAN 0 MATCH s:* COUNT 1000 TYPE string'): [b'5', [b's:1', b's:2']],
                   c('SCAN 5 MATCH s:* COUNT 1000 TYPE string'): [b'0', [b's:3']],
                   c('MGET s:1 s:2'): [b'a', None], c('MGET s:3'): [ODD]})
    assert scan(server, 'multi_string', b's:*', want=KEY_VALUE) == [(b's:1', b'a', b's:1'), (b's:3', ODD, b's:3')]
    assert commands(server) == [c('SCAN 0 MATCH s:* COUNT 1000 TYPE string'),
                                c('SCAN 5 MATCH s:* COUNT 1000 TYPE string'), c('MGET s:1 s:2'), c('MGET s:3')]


def test_multi_string_with_ttl_gets_each_key(fake):
    server = fake({c('TIME'): [b'10', b'0'],
                   c('SCAN 0 MATCH s:* COUNT 1000 TYPE string'): [b'0', [b's:1', b's:2', b's:3']],
                   c('GET s:1'): b'a', c('PTTL s:1'): -1, c('PEXPIRETIME s:1'): -1,
                   c('GET s:2'): None, c('PTTL s:2'): -2, c('PEXPIRETIME s:2'): -2,        # gone
                   c('GET s:3'): b'c', c('PTTL s:3'): -2, c('PEXPIRETIME s:3'): -2})       # gone after GET
    assert scan(server, 'multi_string', b's:*', want=ALL4) == [(b's:1', b'a', None, None, b's:1')]


def test_keys_listing_commands(fake):
    server = fake({c('SCAN 0 MATCH k:* COUNT 1000'): [b'0', [b'k:1', b'k:2', b'k:3']],
                   c('TYPE k:1'): status(b'hash'), c('TYPE k:2'): status(b'none'),
                   c('TYPE k:3'): status(b'ReJSON-RL'),
                   c('HLEN k:1'): 3, c('MEMORY USAGE k:1'): 80, c('MEMORY USAGE k:3'): 120})
    assert scan(server, 'keys', b'k:*', want=(True, True, False, False, True, True)) == [
        (b'k:1', b'hash', None, None, b'3', b'80', b'k:1'), (b'k:3', b'ReJSON-RL', None, None, None, b'120', b'k:3')]
    assert commands(server) == [c('SCAN 0 MATCH k:* COUNT 1000'), c('TYPE k:1'), c('TYPE k:2'), c('TYPE k:3'),
                                c('HLEN k:1'), c('MEMORY USAGE k:1'), c('MEMORY USAGE k:3')]
    # key and type alone: SCAN and TYPE only
    server = fake({c('SCAN 0 MATCH k:* COUNT 1000'): [b'0', [b'k:1']], c('TYPE k:1'): status(b'set')})
    assert scan(server, 'keys', b'k:*', want=(True, True)) == [(b'k:1', b'set', b'k:1')]
    assert commands(server) == [c('SCAN 0 MATCH k:* COUNT 1000'), c('TYPE k:1')]


def test_keys_listing_key_gone_or_changed(fake):
    server = fake({c('SCAN 0 MATCH k:* COUNT 1000'): [b'0', [b'k:1', b'k:2', b'k:3']],
                   c('TYPE k:1'): status(b'list'), c('TYPE k:2'): status(b'set'), c('TYPE k:3'): status(b'zset'),
                   c('LLEN k:1'): error(b'WRONGTYPE Operation against a key holding the wrong kind of value'),
                   c('PTTL k:1'): -1, c('SCARD k:2'): 0, c('PTTL k:2'): -2, c('ZCARD k:3'): 2, c('PTTL k:3'): 7})
    assert scan(server, 'keys', b'k:*', want=(True, True, True, False, True)) == [
        (b'k:3', b'zset', b'7', None, b'2', b'k:3')]


@pytest.mark.parametrize('script, kind, words', [
    ({c('PTTL s'): -3}, 'PROTOCOL', ['-3', 'PTTL "s"']),
    ({c('PTTL s'): b'5'}, 'PROTOCOL', ['PTTL "s"', 'a string']),
    ({c('PTTL s'): error(b'NOPERM no')}, 'AUTH', ['NOPERM']),
    ({c('PTTL s'): 5, c('PEXPIRETIME s'): error(b'ERR other')}, 'REDIS', ['ERR other']),
    ({c('PTTL s'): 5, c('PEXPIRETIME s'): 1, c('TIME'): [b'1x', b'0']}, 'PROTOCOL', ['TIME', '1x']),
    ({c('PTTL s'): 5, c('PEXPIRETIME s'): 1, c('TIME'): [b'1']}, 'PROTOCOL', ['TIME']),
])
def test_hostile_expiry_replies(fake, script, kind, words):
    base = {c('TYPE s'): status(b'string'), c('GET s'): b'v', c('TIME'): [b'1', b'0'], c('PTTL s'): 5,
            c('PEXPIRETIME s'): 7}
    server = fake({**base, **script})
    failure(server, 'string', b's', kind, *words, want=VALUE_TTL)


@pytest.mark.parametrize('reply, words', [
    ([b'a'], ['1 values for 2 keys', 'MGET']),
    ([b'a', b'b', b'c'], ['3 values for 2 keys']),
    ([b'a', [b'b']], ['MGET', 'an array']),
    (b'x', ['MGET', 'a string']),
])
def test_hostile_mget(fake, reply, words):
    server = fake({c('SCAN 0 MATCH s:* COUNT 1000 TYPE string'): [b'0', [b's:1', b's:2']], c('MGET s:1 s:2'): reply})
    failure(server, 'multi_string', b's:*', 'PROTOCOL', *words, want=KEY_VALUE)


def test_hostile_key_listing_replies(fake):
    base = {c('SCAN 0 MATCH k:* COUNT 1000'): [b'0', [b'k:1']], c('TYPE k:1'): status(b'list'), c('LLEN k:1'): 2,
            c('MEMORY USAGE k:1'): 10}
    for script, kind, words in [({c('LLEN k:1'): -1}, 'PROTOCOL', ['negative', '"k:1"']),
                                ({c('TYPE k:1'): b'list'}, 'PROTOCOL', ['TYPE "k:1"', 'a string']),
                                ({c('MEMORY USAGE k:1'): b'10'}, 'PROTOCOL', ['MEMORY USAGE "k:1"']),
                                ({c('MEMORY USAGE k:1'): error(b'NOPERM x')}, 'AUTH', ['NOPERM'])]:
        server = fake({**base, **script})
        failure(server, 'keys', b'k:*', kind, *words, want=(True, True, False, False, True, True))


# -- writes -----------------------------------------------------------------------



def ms(text):
    return str(text).encode()


def future(seconds):
    return ms(int(time.time() * 1000) + seconds * 1000)


def test_string_insert(url, r):
    assert write(url, 'string', b's', 'insert', [(ODD,)], returning=True) == [(1, (ODD, None, None))]
    assert r.get('s') == ODD and r.pttl('s') == -1
    with fails('UNIQUE', '"s"'):
        write(url, 'string', b's', 'insert', [(b'x',)])
    assert write(url, 'string', b's', 'insert', [(b'x',)], on_conflict_skip=True) == [(0, None)]
    assert r.get('s') == ODD
    r.delete('s')
    with fails('UNIQUE', '"s"'):
        write(url, 'string', b's', 'insert', [(b'x',), (b'y',)])           # twice in one statement
    assert not r.exists('s')
    with fails('NOT_NULL', 'value'):
        write(url, 'string', b's', 'insert', [(None,)])
    r.rpush('l', 'x')
    with fails('WRONG_TYPE', '"l"'):
        write(url, 'string', b'l', 'insert', [(b'x',)])


def test_string_insert_expiry(url, r):
    write(url, 'string', b'a', 'insert', [(b'v', ms(50000))])
    assert 45000 < r.pttl('a') <= 50000
    at = future(80)
    write(url, 'string', b'b', 'insert', [(b'v', None, at)])
    assert r.pexpiretime('b') == int(at)
    write(url, 'string', b'c', 'insert', [(b'v',)], default_ttl_ms=30000)
    assert 25000 < r.pttl('c') <= 30000
    write(url, 'string', b'd', 'insert', [(b'v', ms(90000))], default_ttl_ms=30000)   # the row's own wins
    assert r.pttl('d') > 80000
    with fails('BAD_VALUE', 'ttl', 'expire_at', '"e"'):
        write(url, 'string', b'e', 'insert', [(b'v', ms(1000), future(10))])
    with fails('BAD_VALUE', 'ttl', '"e"', 'positive'):
        write(url, 'string', b'e', 'insert', [(b'v', ms(0))])
    with fails('BAD_VALUE', 'expire_at', '"e"', 'past'):
        write(url, 'string', b'e', 'insert', [(b'v', None, ms(int(time.time() * 1000) - 1000))])
    with fails('BAD_VALUE', 'ttl', '"e"'):
        write(url, 'string', b'e', 'insert', [(b'v', b'12x')])
    assert not r.exists('e')


def test_string_update_and_delete(url, r):
    r.set('s', 'old', px=60000)
    write(url, 'string', b's', 'update', [((b'old',), (b'new',))], set_mask=1)
    assert r.get('s') == b'new' and r.pttl('s') > 50000                 # the expiry stays
    write(url, 'string', b's', 'update', [((b'new', ms(1)), (None, ms(100000)))], set_mask=2)
    assert r.pttl('s') > 90000
    write(url, 'string', b's', 'update', [((b'new',), (None, None))], set_mask=2)
    assert r.pttl('s') == -1
    at = future(70)
    write(url, 'string', b's', 'update', [((b'new',), (None, None, at))], set_mask=4)
    assert r.pexpiretime('s') == int(at)
    with fails('BAD_VALUE', 'ttl', 'expire_at'):
        write(url, 'string', b's', 'update', [((b'new',), (None, ms(5), at))], set_mask=6)
    with fails('CONFLICT', '"s"'):
        write(url, 'string', b's', 'update', [((b'stale',), (b'x',))], set_mask=1)
    with fails('CONFLICT', '"s"'):
        write(url, 'string', b's', 'delete', [(b'stale',)])
    assert write(url, 'string', b's', 'delete', [(b'new',)]) == [(1, None)]
    assert not r.exists('s')
    r.set('s', 'v')
    write(url, 'string', b's', 'truncate')
    assert not r.exists('s')


def test_multi_string_writes(url, r):
    write(url, 'multi_string', b's:*', 'insert', [(b's:1', b'a'), (b's:2', b'b', ms(40000))],
          default_ttl_ms=20000)
    assert r.mget('s:1', 's:2') == [b'a', b'b']
    assert 15000 < r.pttl('s:1') <= 20000 and 35000 < r.pttl('s:2') <= 40000
    with fails('UNIQUE', '"s:1"'):
        write(url, 'multi_string', b's:*', 'insert', [(b's:1', b'x')])
    with fails('OUTSIDE_PATTERN', '"t:1"'):
        write(url, 'multi_string', b's:*', 'insert', [(b't:1', b'x')])
    # rename keeps the value and the expiry; a new value keeps the expiry
    write(url, 'multi_string', b's:*', 'update', [((b's:1', b'a'), (b's:3',))], set_mask=1)
    assert r.get('s:3') == b'a' and not r.exists('s:1') and r.pttl('s:3') > 10000
    write(url, 'multi_string', b's:*', 'update', [((b's:3', b'a'), (None, b'z'))], set_mask=2)
    assert r.get('s:3') == b'z' and r.pttl('s:3') > 10000
    write(url, 'multi_string', b's:*', 'update', [((b's:3', b'z'), (b's:4', b'y'))], set_mask=3)
    assert r.get('s:4') == b'y' and not r.exists('s:3') and r.pttl('s:4') > 10000
    with fails('UNIQUE', '"s:2"'):
        write(url, 'multi_string', b's:*', 'update', [((b's:4', b'y'), (b's:2',))], set_mask=1)
    with fails('CONFLICT', '"s:4"'):
        write(url, 'multi_string', b's:*', 'update', [((b's:4', b'stale'), (None, b'q'))], set_mask=2)
    write(url, 'multi_string', b's:*', 'update', [((b's:4', b'y'), (None, None, None))], set_mask=4)
    assert r.pttl('s:4') == -1
    write(url, 'multi_string', b's:*', 'delete', [(b's:4', b'y')])
    assert not r.exists('s:4')
    r.set('s:9', 'x')
    r.rpush('s:list', 'x')
    write(url, 'multi_string', b's:*', 'truncate')
    assert r.keys('s:*') == [b's:list']


def test_multi_expiry_writes(url, r):
    write(url, 'multi_hash', b'h:*', 'insert', [(b'h:1', {b'f': b'v'}), (b'h:2', {b'f': b'v'}, ms(60000))],
          default_ttl_ms=5000)
    assert 0 < r.pttl('h:1') <= 5000 and 55000 < r.pttl('h:2') <= 60000
    at = future(90)
    write(url, 'multi_hash', b'h:*', 'update', [((b'h:1', {b'f': b'v'}), (None, None, None, at))], set_mask=8)
    assert r.pexpiretime('h:1') == int(at)
    write(url, 'multi_hash', b'h:*', 'update', [((b'h:2',), (None, None, None))], set_mask=4)
    assert r.pttl('h:2') == -1
    with fails('BAD_VALUE', 'past', '"h:2"'):
        write(url, 'multi_hash', b'h:*', 'update', [((b'h:2',), (None, None, None, b'1000'))], set_mask=8)
    with fails('CONFLICT', '"h:1"'):
        write(url, 'multi_hash', b'h:*', 'update', [((b'h:1', {b'f': b'x'}), (None, None, ms(5)))], set_mask=4)
    assert r.pexpiretime('h:1') == int(at)


def test_keys_is_read_only(url):
    for op, rows in [('insert', [(b'k', b'string')]), ('update', [((b'k', b'string'), (b'j',))]),
                     ('delete', [(b'k', b'string')]), ('truncate', [])]:
        with fails('UNSUPPORTED', 'read-only'):
            write(url, 'keys', b'*', op, rows, set_mask=1 if op == 'update' else 0)
    with fails('UNSUPPORTED', 'read-only'):
        core.describe_modify('keys', b'*', 'delete')


def test_describe_string_writes():
    assert core.describe_modify('string', b's', 'insert') == \
        'SET s, checked with EXISTS, applied at statement end in MULTI/EXEC'
    assert core.describe_modify('string', b's', 'update', set_mask=1) == \
        'SET KEEPTTL s, checked with GET, applied at statement end in MULTI/EXEC'
    assert core.describe_modify('multi_string', b's:*', 'update', set_mask=1).startswith('RENAME keys matching s:*')
    assert core.describe_modify('multi_hash', b'h:*', 'update', set_mask=4).startswith(
        'PEXPIRE/PEXPIREAT/PERSIST keys matching h:*')
