"""Hostile replies: every RESP2 and RESP3 type in every place of every
command's reply is either taken as the data it legitimately is, or refused as
a protocol error (RW_ERR_PROTOCOL, 08P01) that names the command; wrong
counts, values over max_value_size, endless lines and lost connections fail
cleanly, and nothing hangs."""
import time
from contextlib import nullcontext

import pytest

from .conftest import GUARD_MS, KIND, core, failure, hiredis_major, scan
from .scripted_redis import CLOSE, Raw, ScriptedRedis, resp, status

MAX = 2 ** 64 - 1

# An item of each type, by its type byte; $-1 and *-1 are RESP2's nils, _ RESP3's.
ITEMS = {
    '+': b'+OK\r\n', '-': b'-ERR hostile\r\n', ':': b':1\r\n', '$': b'$2\r\nzz\r\n',
    '*': b'*1\r\n$2\r\nzz\r\n', ',': b',1.5\r\n', '#': b'#t\r\n', '%': b'%1\r\n+a\r\n+b\r\n',
    '~': b'~1\r\n+a\r\n', '>': b'>1\r\n+a\r\n', '_': b'_\r\n', '=': b'=7\r\ntxt:abc\r\n',
    '(': b'(12345678901234567890\r\n', '|': b'|1\r\n+a\r\n+b\r\n', '$-1': b'$-1\r\n', '*-1': b'*-1\r\n',
}
# What hiredis hands over as a nil: RESP3's only from hiredis 1.0 on (before, it refuses "_").
NILS = ['$-1', '*-1'] + (['_'] if hiredis_major() >= 1 else [])

A = (b'a', None, None)
HV = (b'f', b'v', None)
ENTRY = (b'1-0', [(b'f', b'v')], None)
ID_QUAL = ((0, '=', [b'1-0']),)
A_QUAL = ((0, '=', [b'a']),)


def c(text):
    return tuple(text.encode().split(b' '))


def nil_rows(rows):
    return {t: (ITEMS[t], rows) for t in NILS}


def key_row(items):
    """The row of a pattern table's key k:1 holding items (given k)."""
    return lambda k: [(k + b':1', items, k + b':1')]


# Each place: its name, the scan (source, fetch, quals), the reply whose place
# it is as its message names it, whether the place is a whole reply (where an
# error reply is Redis's error, not a malformed reply), the replies with the
# item put in the place (h), and the items taken there with the rows then.
PLACES = [
    ('list TYPE', 'list', 'scan', (), 'TYPE "{k}"', True,
     lambda h, k: {c('TYPE ' + k): h, c('LRANGE %s 0 127' % k): [b'a']},
     {'+': (b'+list\r\n', [A])}),
    ('list LRANGE', 'list', 'scan', (), 'LRANGE "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'list'), c('LRANGE %s 0 127' % k): h},
     {'*': (resp([b'a']), [A])}),
    ('list LRANGE element', 'list', 'scan', (), 'LRANGE "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'list'), c('LRANGE %s 0 127' % k): [h]},
     {'$': (resp(b'a'), [A])}),
    ('list all LRANGE', 'list', 'all', (), 'LRANGE "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'list'), c('LRANGE %s 0 -1' % k): h},
     {'*': (resp([b'a']), [A])}),
    ('list all LRANGE element', 'list', 'all', (), 'LRANGE "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'list'), c('LRANGE %s 0 -1' % k): [h]},
     {'$': (resp(b'a'), [A])}),
    ('set SMEMBERS', 'set', 'all', (), 'SMEMBERS "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'set'), c('SMEMBERS ' + k): h},
     {'*': (resp([b'a']), [A])}),
    ('set SMEMBERS element', 'set', 'all', (), 'SMEMBERS "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'set'), c('SMEMBERS ' + k): [h]},
     {'$': (resp(b'a'), [A])}),
    ('set SSCAN', 'set', 'scan', (), 'SSCAN "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'set'), c('SSCAN %s 0 COUNT 1000' % k): h},
     {'*': (resp([b'0', [b'a']]), [A])}),
    ('set SSCAN cursor', 'set', 'scan', (), 'SSCAN "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'set'), c('SSCAN %s 0 COUNT 1000' % k): [h, [b'a']]},
     {'$': (resp(b'0'), [A])}),
    ('set SSCAN page', 'set', 'scan', (), 'SSCAN "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'set'), c('SSCAN %s 0 COUNT 1000' % k): [b'0', h]},
     {'*': (resp([b'a']), [A])}),
    ('set SSCAN element', 'set', 'scan', (), 'SSCAN "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'set'), c('SSCAN %s 0 COUNT 1000' % k): [b'0', [h]]},
     {'$': (resp(b'a'), [A])}),
    ('hash HGETALL', 'hash', 'all', (), 'HGETALL "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'hash'), c('HGETALL ' + k): h},
     {'*': (resp([b'f', b'v']), [HV])}),
    ('hash HGETALL field', 'hash', 'all', (), 'HGETALL "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'hash'), c('HGETALL ' + k): [h, b'v']},
     {'$': (resp(b'f'), [HV])}),
    ('hash HGETALL value', 'hash', 'all', (), 'HGETALL "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'hash'), c('HGETALL ' + k): [b'f', h]},
     {'$': (resp(b'v'), [HV])}),
    ('hash HSCAN', 'hash', 'scan', (), 'HSCAN "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'hash'), c('HSCAN %s 0 COUNT 1000' % k): h},
     {'*': (resp([b'0', [b'f', b'v']]), [HV])}),
    ('hash HSCAN cursor', 'hash', 'scan', (), 'HSCAN "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'hash'), c('HSCAN %s 0 COUNT 1000' % k): [h, [b'f', b'v']]},
     {'$': (resp(b'0'), [HV])}),
    ('hash HSCAN page', 'hash', 'scan', (), 'HSCAN "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'hash'), c('HSCAN %s 0 COUNT 1000' % k): [b'0', h]},
     {'*': (resp([b'f', b'v']), [HV])}),
    ('hash HSCAN field', 'hash', 'scan', (), 'HSCAN "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'hash'), c('HSCAN %s 0 COUNT 1000' % k): [b'0', [h, b'v']]},
     {'$': (resp(b'f'), [HV])}),
    ('hash HSCAN value', 'hash', 'scan', (), 'HSCAN "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'hash'), c('HSCAN %s 0 COUNT 1000' % k): [b'0', [b'f', h]]},
     {'$': (resp(b'v'), [HV])}),
    ('zset ZRANGE', 'zset', 'scan', (), 'ZRANGE "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'zset'), c('ZRANGE %s 0 127' % k): h},
     {'*': (resp([b'a']), [A])}),
    ('zset ZRANGE element', 'zset', 'scan', (), 'ZRANGE "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'zset'), c('ZRANGE %s 0 127' % k): [h]},
     {'$': (resp(b'a'), [A])}),
    ('zset all ZRANGE element', 'zset', 'all', (), 'ZRANGE "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'zset'), c('ZRANGE %s 0 -1' % k): [h]},
     {'$': (resp(b'a'), [A])}),
    ('stream XRANGE', 'stream', 'scan', (), 'XRANGE "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'stream'), c('XRANGE %s - + COUNT 64' % k): h},
     {'*': (resp([[b'1-0', [b'f', b'v']]]), [ENTRY])}),
    ('stream XRANGE entry', 'stream', 'scan', (), 'XRANGE "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'stream'), c('XRANGE %s - + COUNT 64' % k): [h]},
     {'*': (resp([b'1-0', [b'f', b'v']]), [ENTRY])}),
    ('stream XRANGE id', 'stream', 'scan', (), 'XRANGE "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'stream'), c('XRANGE %s - + COUNT 64' % k): [[h, [b'f', b'v']]]},
     {'$': (resp(b'1-0'), [ENTRY])}),
    ('stream XRANGE fields', 'stream', 'scan', (), 'XRANGE "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'stream'), c('XRANGE %s - + COUNT 64' % k): [[b'1-0', h]]},
     {'*': (resp([b'f', b'v']), [ENTRY]), **nil_rows([(b'1-0', None, None)])}),
    ('stream XRANGE field', 'stream', 'scan', (), 'XRANGE "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'stream'), c('XRANGE %s - + COUNT 64' % k): [[b'1-0', [h, b'v']]]},
     {'$': (resp(b'f'), [ENTRY])}),
    ('stream XRANGE value', 'stream', 'scan', (), 'XRANGE "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'stream'), c('XRANGE %s - + COUNT 64' % k): [[b'1-0', [b'f', h]]]},
     {'$': (resp(b'v'), [ENTRY])}),
    ('stream all XRANGE', 'stream', 'all', (), 'XRANGE "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'stream'), c('XRANGE %s - +' % k): h},
     {'*': (resp([[b'1-0', [b'f', b'v']]]), [ENTRY])}),
    # Lookups of given members and ids.
    ('hash HMGET', 'hash', None, A_QUAL, 'HMGET "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'hash'), c('HMGET %s a' % k): h},
     {'*': (resp([b'v']), [(b'a', b'v', None)])}),
    ('hash HMGET value', 'hash', None, A_QUAL, 'HMGET "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'hash'), c('HMGET %s a' % k): [h]},
     {'$': (resp(b'v'), [(b'a', b'v', None)]), **nil_rows([])}),
    ('set SMISMEMBER', 'set', None, A_QUAL, 'SMISMEMBER "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'set'), c('SMISMEMBER %s a' % k): h},
     {'*': (resp([1]), [A])}),
    ('set SMISMEMBER flag', 'set', None, A_QUAL, 'SMISMEMBER "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'set'), c('SMISMEMBER %s a' % k): [h]},
     {':': (resp(1), [A])}),
    ('zset ZMSCORE', 'zset', None, A_QUAL, 'ZMSCORE "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'zset'), c('ZMSCORE %s a' % k): h},
     {'*': (resp([b'1.5']), [A])}),
    ('zset ZMSCORE score', 'zset', None, A_QUAL, 'ZMSCORE "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'zset'), c('ZMSCORE %s a' % k): [h]},
     {'$': (resp(b'1.5'), [A]), **nil_rows([])}),
    ('stream XRANGE id id', 'stream', None, ID_QUAL, 'XRANGE "{k}"', True,
     lambda h, k: {c('TYPE ' + k): status(b'stream'), c('XRANGE %s 1-0 1-0' % k): h},
     {'*': (resp([[b'1-0', [b'f', b'v']]]), [ENTRY])}),
    ('stream XRANGE id id entry', 'stream', None, ID_QUAL, 'XRANGE "{k}"', False,
     lambda h, k: {c('TYPE ' + k): status(b'stream'), c('XRANGE %s 1-0 1-0' % k): [h]},
     {'*': (resp([b'1-0', [b'f', b'v']]), [ENTRY])}),
    # Pattern tables: SCAN, then each key's read.
    ('multi SCAN', 'multi_list', None, (), 'SCAN "{k}"', True,
     lambda h, k: {c('SCAN 0 MATCH %s COUNT 1000 TYPE list' % k): h, c('LRANGE %s:1 0 -1' % k): [b'a']},
     {'*': (lambda k: resp([b'0', [k + b':1']]), key_row([b'a']))}),
    ('multi SCAN cursor', 'multi_list', None, (), 'SCAN "{k}"', False,
     lambda h, k: {c('SCAN 0 MATCH %s COUNT 1000 TYPE list' % k): [h, [k.encode() + b':1']],
                   c('LRANGE %s:1 0 -1' % k): [b'a']},
     {'$': (resp(b'0'), key_row([b'a']))}),
    ('multi SCAN keys', 'multi_list', None, (), 'SCAN "{k}"', False,
     lambda h, k: {c('SCAN 0 MATCH %s COUNT 1000 TYPE list' % k): [b'0', h], c('LRANGE %s:1 0 -1' % k): [b'a']},
     {'*': (lambda k: resp([k + b':1']), key_row([b'a']))}),
    ('multi SCAN key', 'multi_list', None, (), 'SCAN "{k}"', False,
     lambda h, k: {c('SCAN 0 MATCH %s COUNT 1000 TYPE list' % k): [b'0', [h]], c('LRANGE %s:1 0 -1' % k): [b'a']},
     {'$': (lambda k: resp(k + b':1'), key_row([b'a']))}),
]


def key_places(source, read, wraps):
    """The places in the reply to read (a command on {key}) of each key a
    pattern table's SCAN finds: wraps maps a place to (whether it is the whole
    reply, the reply around the item, the items taken there with the key's items)."""
    redis_type = source[len('multi_'):]
    named = '%s "{k}:1"' % read.split()[0]
    return [('%s %s%s' % (source, read.split()[0], place), source, None, (), named, top,
             lambda h, k, wrap=wrap: {c('SCAN 0 MATCH %s COUNT 1000 TYPE %s' % (k, redis_type)):
                                      [b'0', [k.encode() + b':1']],
                                      c(read.format(key=k + ':1')): wrap(h)},
             {t: (item, key_row(items)) for t, item in accepted.items()})
            for place, (top, wrap, accepted, items) in wraps.items()]


WHOLE_AND_ELEMENT = {'': (True, lambda h: h, {'*': resp([b'a'])}, [b'a']),
                     ' element': (False, lambda h: [h], {'$': resp(b'a')}, [b'a'])}
PLACES += key_places('multi_list', 'LRANGE {key} 0 -1', WHOLE_AND_ELEMENT)
PLACES += key_places('multi_set', 'SMEMBERS {key}', WHOLE_AND_ELEMENT)
PLACES += key_places('multi_zset', 'ZRANGE {key} 0 -1', WHOLE_AND_ELEMENT)
PLACES += key_places('multi_hash', 'HGETALL {key}', {
    '': (True, lambda h: h, {'*': resp([b'f', b'v'])}, [(b'f', b'v')]),
    ' field': (False, lambda h: [h, b'v'], {'$': resp(b'f')}, [(b'f', b'v')]),
    ' value': (False, lambda h: [b'f', h], {'$': resp(b'v')}, [(b'f', b'v')])})


def build_cases():
    """Every place with every item: its scan and its expected outcome, and the
    replies of all of them, for one server (each case has its own key)."""
    cases, script = [], {}
    for p, (name, source, fetch, quals, named, top, replies, accepted) in enumerate(PLACES):
        for t, item in ITEMS.items():
            k = 'k%d.%d' % (p, len(cases))
            item, rows = (v(k.encode()) if callable(v) else v for v in accepted.get(t, (item, None)))
            for cmd, reply in replies(Raw(item), k).items():
                script[cmd] = resp(reply)
            if rows is not None:
                expect = ('rows', rows)
            elif top and t == '-':
                expect = ('REDIS', 'Redis error: ERR hostile')
            else:
                expect = ('PROTOCOL', named.format(k=k))
            cases.append(pytest.param(source, fetch, quals, k.encode(), expect, id='%s: %s' % (name, t)))
    return cases, script


CASES, SCRIPT = build_cases()


@pytest.fixture(scope='module')
def hostile():
    server = ScriptedRedis(SCRIPT).start()
    yield server
    server.stop()


@pytest.mark.parametrize('source, fetch, quals, key, expect', CASES)
def test_every_type_in_every_place(hostile, source, fetch, quals, key, expect):
    if expect[0] == 'rows':
        assert scan(hostile, source, key, fetch=fetch, quals=quals) == expect[1]
    else:
        failure(hostile, source, key, expect[0], expect[1], fetch=fetch, quals=quals)


@pytest.mark.parametrize('command', ['AUTH', 'SELECT'])
@pytest.mark.parametrize('t', list(ITEMS))
def test_every_type_in_the_handshake(fake, command, t):
    """The connection's own commands (a URL with a password and a database): a status each, or an error."""
    item = ITEMS[t]
    replies = {c('AUTH secret'): resp(status(b'OK')), c('SELECT 3'): resp(status(b'OK')), **list_script(resp([b'a']))}
    replies[c('AUTH secret' if command == 'AUTH' else 'SELECT 3')] = item
    server = fake(replies)
    url = 'redis://:secret@127.0.0.1:%d/3' % server.port
    with pytest.raises(core.CoreError) if t != '+' else nullcontext() as e:
        assert core.scan(url, 'list', b'l', command_timeout_ms=GUARD_MS) == [(b'a', None, None)]
    if t == '+':
        assert server.commands == [[b'AUTH', b'secret'], [b'SELECT', b'3'], [b'TYPE', b'l'],
                                   [b'LRANGE', b'l', b'0', b'127']]
    elif t == '-':
        kind, words = {'AUTH': ('AUTH', 'refused authentication for the default user: ERR hostile'),
                       'SELECT': ('REDIS', 'refused to select database 3: ERR hostile')}[command]
        assert (e.value.kind, words in e.value.message) == (KIND[kind], True), e.value.message
    else:
        assert (e.value.kind, 'reply to %s from' % command in e.value.message) == (KIND['PROTOCOL'], True), \
            e.value.message
        assert 'secret' not in e.value.message


# -- counts the shape forbids ----------------------------------------------------

def list_script(reply, key=b'l'):
    return {(b'TYPE', key): resp(status(b'list')), (b'LRANGE', key, b'0', b'127'): reply}


@pytest.mark.parametrize('source, fetch, quals, replies, words', [
    # An odd number of strings where pairs are due.
    ('hash', 'all', (), {c('TYPE h'): status(b'hash'), c('HGETALL h'): [b'f', b'v', b'g']},
     ['HGETALL "h"', 'got an array of 3 where an array of even length was expected']),
    ('hash', 'scan', (), {c('TYPE h'): status(b'hash'), c('HSCAN h 0 COUNT 1000'): [b'0', [b'f']]},
     ['HSCAN "h"', 'array of 1 where an array of even length']),
    ('stream', 'all', (), {c('TYPE h'): status(b'stream'), c('XRANGE h - +'): [[b'1-0', [b'f']]]},
     ['XRANGE "h"', 'array of 1 where an array of even length or a nil']),
    ('multi_hash', None, (), {c('SCAN 0 MATCH h COUNT 1000 TYPE hash'): [b'0', [b'h']], c('HGETALL h'): [b'f']},
     ['HGETALL "h"', 'array of 1 where an array of even length']),
    # SCAN-style replies are a cursor and a page, nothing more or less.
    ('set', 'scan', (), {c('TYPE h'): status(b'set'), c('SSCAN h 0 COUNT 1000'): [b'0', [b'a'], [b'b']]},
     ['SSCAN "h"', 'array of 3 where an array of 2']),
    ('multi_set', None, (), {c('SCAN 0 MATCH h COUNT 1000 TYPE set'): [b'0']},
     ['SCAN "h"', 'array of 1 where an array of 2']),
    ('stream', 'all', (), {c('TYPE h'): status(b'stream'), c('XRANGE h - +'): [[b'1-0', [], []]]},
     ['XRANGE "h"', 'array of 3 where an array of 2']),
    # More elements than a batch asked for.
    ('list', 'scan', (), {c('TYPE h'): status(b'list'), c('LRANGE h 0 127'): [b'x'] * 129},
     ['LRANGE "h"', 'more elements than asked for (129, not 128)']),
    ('zset', 'scan', (), {c('TYPE h'): status(b'zset'), c('ZRANGE h 0 127'): [b'x'] * 129},
     ['ZRANGE "h"', 'more elements than asked for (129, not 128)']),
    ('stream', 'scan', (), {c('TYPE h'): status(b'stream'),
                            c('XRANGE h - + COUNT 64'): [[b'%d-0' % i, []] for i in range(65)]},
     ['XRANGE "h"', 'more elements than asked for (65, not 64)']),
    # A lookup answers each member given, once.
    ('hash', None, A_QUAL, {c('TYPE h'): status(b'hash'), c('HMGET h a'): [b'1', b'2']},
     ['HMGET "h"', '2 answers for 1 members']),
    ('hash', None, A_QUAL, {c('TYPE h'): status(b'hash'), c('HMGET h a'): []},
     ['HMGET "h"', '0 answers for 1 members']),
    ('set', None, A_QUAL, {c('TYPE h'): status(b'set'), c('SMISMEMBER h a'): [1, 0]},
     ['SMISMEMBER "h"', '2 answers for 1 members']),
    ('zset', None, A_QUAL, {c('TYPE h'): status(b'zset'), c('ZMSCORE h a'): [b'1', b'2']},
     ['ZMSCORE "h"', '2 answers for 1 members']),
    # Values a lookup cannot mean.
    ('set', None, A_QUAL, {c('TYPE h'): status(b'set'), c('SMISMEMBER h a'): [2]},
     ['SMISMEMBER "h"', 'got 2 where 0 or 1 was expected']),
    ('set', None, A_QUAL, {c('TYPE h'): status(b'set'), c('SMISMEMBER h a'): [-1]},
     ['SMISMEMBER "h"', 'got -1 where 0 or 1 was expected']),
    ('zset', None, A_QUAL, {c('TYPE h'): status(b'zset'), c('ZMSCORE h a'): [b'high']},
     ['ZMSCORE "h"', 'got "high" where a score was expected']),
])
def test_wrong_counts_and_values(fake, source, fetch, quals, replies, words):
    server = fake({k: resp(v) for k, v in replies.items()})
    failure(server, source, b'h', 'PROTOCOL', *words, fetch=fetch, quals=quals)


@pytest.mark.parametrize('last', [b'abc', b'1', b'1-', b'-1', b'1-2-3', b'', b'1-0x', b' 1-0',
                                  b'%d-0' % (MAX + 1), b'0-%d' % (MAX + 1), b'99999999999999999999999-0'])
def test_a_full_stream_batch_must_end_in_an_id(fake, last):
    """The next batch starts after the last id seen, which must be one."""
    entries = [[b'0-%d' % i, []] for i in range(63)] + [[last, []]]
    server = fake({c('TYPE x'): resp(status(b'stream')), c('XRANGE x - + COUNT 64'): resp(entries)})
    failure(server, 'stream', b'x', 'PROTOCOL', 'XRANGE "x"', 'where a stream id was expected')


def test_a_reply_no_command_asked_for(fake):
    server = fake(list_script(resp([b'a']) + b'+surprise\r\n'))
    failure(server, 'list', b'l', 'PROTOCOL', 'no command was waiting for it')


def test_the_wrong_type(fake):
    server = fake(list_script(resp([b'a'])) | {c('TYPE l'): resp(status(b'hash'))})
    err = failure(server, 'list', b'l', 'WRONG_TYPE', 'Redis key "l" holds a hash, not a list')
    assert 'src_type' in err.hint


# -- values over max_value_size ----------------------------------------------------

HUGE = b'$9999999999\r\n'


@pytest.mark.parametrize('source, fetch, replies, named', [
    ('list', 'scan', {c('TYPE k'): status(b'list'), c('LRANGE k 0 127'): Raw(b'*1\r\n' + HUGE)}, 'LRANGE "k"'),
    ('hash', 'scan', {c('TYPE k'): status(b'hash'), c('HSCAN k 0 COUNT 1000'): Raw(b'*2\r\n$1\r\n0\r\n*2\r\n'
                                                                                 b'$1\r\nf\r\n' + HUGE)},
     'HSCAN "k"'),
    ('stream', 'all', {c('TYPE k'): status(b'stream'), c('XRANGE k - +'): Raw(b'*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n'
                                                                          b'$1\r\nf\r\n' + HUGE)},
     'XRANGE "k"'),
    ('multi_list', None, {c('SCAN 0 MATCH k COUNT 1000 TYPE list'): Raw(b'*2\r\n$1\r\n0\r\n*1\r\n' + HUGE)},
     'SCAN "k"'),
    ('multi_list', None, {c('SCAN 0 MATCH k COUNT 1000 TYPE list'): [b'0', [b'k']],
                          c('LRANGE k 0 -1'): Raw(b'*1\r\n' + HUGE)}, 'LRANGE "k"'),
])
def test_a_huge_length_is_refused_before_its_bytes_arrive(fake, source, fetch, replies, named):
    """Only the length line comes, then silence: the scan must not wait for the rest."""
    server = fake({k: resp(v) for k, v in replies.items()})
    err = failure(server, source, b'k', 'TOO_LARGE', named, 'a string of 9999999999 bytes', 'max_value_size',
                  fetch=fetch)
    assert 'max_value_size' in err.hint


def test_leading_zeros_are_no_way_around_the_length_check(fake):
    """However the length is spelt, the 10 GB it announces are not awaited (nor buffered)."""
    server = fake(list_script([b'*1\r\n$' + b'0' * 30 + b'9999999999\r\n'] + [b'x' * 65536] * 16))
    with pytest.raises(core.CoreError) as e:
        scan(server, 'list', b'l')
    assert e.value.kind in (KIND['PROTOCOL'], KIND['TOO_LARGE']) and 'LRANGE "l"' in e.value.message, e.value.message


@pytest.mark.parametrize('chunks', [
    [b'*1\r\n$11\r\nhello world\r\n'],                      # whole in one read
    [b'*1\r\n$11\r\nhello', 'pause', b' world\r\n'],        # announced before the rest arrives
])
def test_a_string_over_max_value_size(fake, chunks):
    def reply():
        for chunk in chunks:
            if chunk == 'pause':
                time.sleep(0.05)
            else:
                yield chunk
    server = fake(lambda args: list_script(None)[tuple(args)] if args[0] == b'TYPE' else reply())
    failure(server, 'list', b'l', 'TOO_LARGE', 'LRANGE "l"', 'a string of 11 bytes', 'max_value_size (10 bytes)',
            max_value_size=10)
    assert scan(server, 'list', b'l', max_value_size=11) == [(b'hello world', None, None)]


@pytest.mark.parametrize('source, replies, size', [
    ('hash', {c('TYPE k'): status(b'hash'), c('HGETALL k'): [b'field', b'value']}, 10),
    # A pattern table's row holds its key too, a stream's its id.
    ('multi_list', {c('SCAN 0 MATCH k COUNT 1000 TYPE list'): [b'0', [b'k']], c('LRANGE k 0 -1'): [b'ab'] * 6}, 13),
    ('stream', {c('TYPE k'): status(b'stream'), c('XRANGE k - +'): [[b'1-0', [b'field', b'value']]]}, 13),
])
def test_a_row_over_max_value_size(fake, source, replies, size):
    """Each string fits, but not the row they make."""
    server = fake({k: resp(v) for k, v in replies.items()})
    failure(server, source, b'k', 'TOO_LARGE', 'a row of Redis key "k" is too large', fetch='all',
            max_value_size=size - 1)
    assert len(scan(server, source, b'k', fetch='all', max_value_size=size)) == 1


# -- malformed bytes, endless lines, lost connections --------------------------------

@pytest.mark.parametrize('reply, words', [
    # A string longer than announced: refused, if only for the stray bytes
    # after it (see test_a_string_ends_where_its_length_says).
    (b'*1\r\n$3\r\nabcd\r\n', []),
    (b'*1\r\n$-2\r\n', ['LRANGE "l"']),
    (b'*-2\r\n', ['LRANGE "l"']),
    (b'*1\r\n$x\r\n', ['LRANGE "l"']),
    (b'*x\r\n', ['LRANGE "l"']),
    (b'?\r\n', ['LRANGE "l"', 'got "?" as reply type byte']),
    (b'\r\n', ['LRANGE "l"']),
])
def test_malformed_bytes(fake, reply, words):
    server = fake(list_script(reply))
    failure(server, 'list', b'l', 'PROTOCOL', *words)


@pytest.mark.parametrize('reply', [b'*1\r\n$3\r\nabcde', b'*2\r\n$3\r\nabcXY$1\r\nb\r\n'])
def test_a_string_ends_where_its_length_says(fake, reply):
    """Bytes where a string's CRLF should be: the reply is malformed, not the string cut short."""
    server = fake(list_script(reply))
    failure(server, 'list', b'l', 'PROTOCOL', 'LRANGE "l"')


@pytest.mark.parametrize('start', [b'+', b'-', b':', b'$', b'*', b'*1\r\n$', b'*1\r\n+'])
def test_an_endless_line(fake, start):
    """A line that never ends is refused once it is longer than any sane one;
    the server would send 64 MiB of it."""
    filler = b'9' if start.endswith((b'$', b'*', b':')) else b'x'
    server = fake(list_script([start] + [filler * 65536] * 1024))
    failure(server, 'list', b'l', 'PROTOCOL', 'LRANGE "l"', 'a line longer than 64 kB')


@pytest.mark.parametrize('partial', [b'', b'*2\r\n$1\r\na\r\n', b'*1\r\n$5\r\nab', b'*1\r\n$5', b'*1\r'])
def test_a_connection_closed_mid_reply(fake, partial):
    server = fake(list_script([partial, CLOSE]))
    failure(server, 'list', b'l', 'IO', 'closed the connection')


def test_a_silent_server_times_out(fake):
    server = fake(list_script([]))
    failure(server, 'list', b'l', 'TIMEOUT', 'did not answer within 200 ms', command_timeout_ms=200)
