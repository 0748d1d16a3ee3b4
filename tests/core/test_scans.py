"""Whole scans of each source type and fetch mode against scripted replies:
the rows they give, and exactly the commands they send (index batches, stream
id batches, SCAN-style cursor loops)."""
import socket
import threading

import pytest

from .conftest import core, scan
from .scripted_redis import resp, status

MAX = 2 ** 64 - 1
ODD = b'\xff\x00 *?[]\\\r\n\xc3\xa9'      # bytes a value may hold: not UTF-8, NUL, glob and RESP syntax


def c(text):
    """A command as the server receives it, from words separated by spaces."""
    return tuple(text.encode().split(b' '))


def typed(key, name):
    return {c('TYPE ' + key): resp(status(name.encode()))}


def commands_of(script):
    return [list(k) for k in script]


# source, fetch, key, the replies after TYPE (in the order the commands go out), rows.
FULL = [
    ('list', 'scan', 'l', {c('LRANGE l 0 127'): [b'a', b'', ODD]},
     [(b'a', None, None), (b'', None, None), (ODD, None, None)]),
    ('list', 'all', 'l', {c('LRANGE l 0 -1'): [b'a', ODD]}, [(b'a', None, None), (ODD, None, None)]),
    ('set', 'all', 's', {c('SMEMBERS s'): [b'a', ODD]}, [(b'a', None, None), (ODD, None, None)]),
    ('set', 'scan', 's', {c('SSCAN s 0 COUNT 1000'): [b'0', [b'a', ODD]]},
     [(b'a', None, None), (ODD, None, None)]),
    ('hash', 'all', 'h', {c('HGETALL h'): [b'f', b'v', b'', b'', ODD, ODD]},
     [(b'f', b'v', None), (b'', b'', None), (ODD, ODD, None)]),
    ('hash', 'scan', 'h', {c('HSCAN h 0 COUNT 1000'): [b'0', [b'f', b'v', ODD, b'']]},
     [(b'f', b'v', None), (ODD, b'', None)]),
    ('zset', 'scan', 'z', {c('ZRANGE z 0 127'): [b'm', ODD]}, [(b'm', None, None), (ODD, None, None)]),
    ('zset', 'all', 'z', {c('ZRANGE z 0 -1'): [b'm']}, [(b'm', None, None)]),
    # Entries with fields, with a nil for fields (NULL items) and with none.
    ('stream', 'scan', 'x', {c('XRANGE x - + COUNT 64'): [[b'1-0', [b'f', b'v', ODD, b'']], [b'1-1', None],
                                                           [b'2-0', []]]},
     [(b'1-0', [(b'f', b'v'), (ODD, b'')], None), (b'1-1', None, None), (b'2-0', [], None)]),
    ('stream', 'all', 'x', {c('XRANGE x - +'): [[b'1-0', [b'f', b'v']]]}, [(b'1-0', [(b'f', b'v')], None)]),
    # Pattern tables: a key that vanished after SCAN (an empty reply) gives no row.
    ('multi_list', None, 'l:*', {c('SCAN 0 MATCH l:* COUNT 1000 TYPE list'): [b'0', [b'l:1', b'l:2', ODD]],
                                 c('LRANGE l:1 0 -1'): [b'a', b''], c('LRANGE l:2 0 -1'): [],
                                 (b'LRANGE', ODD, b'0', b'-1'): [ODD]},
     [(b'l:1', [b'a', b''], b'l:1'), (ODD, [ODD], ODD)]),
    ('multi_set', None, 's:*', {c('SCAN 0 MATCH s:* COUNT 1000 TYPE set'): [b'0', [b's:1']],
                                c('SMEMBERS s:1'): [b'a']},
     [(b's:1', [b'a'], b's:1')]),
    ('multi_hash', None, 'h:*', {c('SCAN 0 MATCH h:* COUNT 1000 TYPE hash'): [b'0', [b'h:1', b'h:2']],
                                 c('HGETALL h:1'): [b'f', b'v', ODD, b''], c('HGETALL h:2'): [b'', ODD]},
     [(b'h:1', [(b'f', b'v'), (ODD, b'')], b'h:1'), (b'h:2', [(b'', ODD)], b'h:2')]),
    ('multi_zset', None, 'z:*', {c('SCAN 0 MATCH z:* COUNT 1000 TYPE zset'): [b'0', [b'z:1']],
                                 c('ZRANGE z:1 0 -1'): [b'b', b'a']},
     [(b'z:1', [b'b', b'a'], b'z:1')]),
]


def full_script(source, key, replies):
    script = {} if source.startswith('multi_') else typed(key, source)
    script.update((k, resp(v)) for k, v in replies.items())
    return script


@pytest.mark.parametrize('source, fetch, key, replies, rows', FULL,
                         ids=['%s-%s' % (f[0], f[1]) for f in FULL])
def test_full_scan(fake, source, fetch, key, replies, rows):
    script = full_script(source, key, replies)
    server = fake(script)
    assert scan(server, source, key.encode(), fetch=fetch) == rows
    assert server.commands == commands_of(script)
    assert scan(server, source, key.encode(), fetch=fetch, count_only=True) == len(rows)


@pytest.mark.parametrize('source, fetch, key, replies, rows', FULL,
                         ids=['%s-%s' % (f[0], f[1]) for f in FULL])
def test_empty_key(fake, source, fetch, key, replies, rows):
    """A key that does not exist: TYPE says none and its read is empty."""
    first = next(iter(replies))
    script = {c('TYPE ' + key): resp(status(b'none'))} if not source.startswith('multi_') else {}
    script[first] = resp([b'0', []] if first[0].endswith(b'SCAN') else [])
    server = fake(script)
    assert scan(server, source, key.encode(), fetch=fetch) == []
    assert server.commands == commands_of(script)


@pytest.mark.parametrize('want, row', [((True, False), (b'f', None, None)), ((False, True), (None, b'v', None)),
                                       ((False, False), (None, None, None))])
def test_only_the_columns_wanted_are_built(fake, want, row):
    server = fake(full_script('hash', 'h', {c('HGETALL h'): [b'f', b'v']}))
    assert scan(server, 'hash', b'h', want=want) == [row]


def test_a_pattern_row_keeps_its_key_without_the_key_column(fake):
    server = fake(full_script('multi_set', 's:*', {c('SCAN 0 MATCH s:* COUNT 1000 TYPE set'): [b'0', [b's:1']],
                                                   c('SMEMBERS s:1'): [b'a']}))
    assert scan(server, 'multi_set', b's:*', want=(False, True)) == [(None, [b'a'], b's:1')]


# -- index batches: LRANGE and ZRANGE ------------------------------------------

def ranged(source, key, elements):
    """A script serving TYPE and LRANGE/ZRANGE start stop of a list or zset key."""
    command = {'list': b'LRANGE', 'zset': b'ZRANGE'}[source]

    def script(args):
        if args == [b'TYPE', key]:
            return resp(status(source.encode() if elements else b'none'))
        if args[:2] == [command, key]:
            start, stop = int(args[2]), int(args[3])
            return resp(elements[start:] if stop == -1 else elements[start:stop + 1])
    return script


def range_batches(sizes):
    """The (start, stop) of consecutive index batches of those sizes."""
    start, out = 0, []
    for n in sizes:
        out.append((start, start + n - 1))
        start += n
    return out


@pytest.mark.parametrize('source', ['list', 'zset'])
@pytest.mark.parametrize('n, sizes', [
    (0, [128]),
    (127, [128]),
    (128, [128, 512]),                          # a full batch asks for more, even if none follow
    (640, [128, 512, 2048]),
    (643, [128, 512, 2048]),
    # Batches grow fourfold up to 16384 elements, then stay there.
    (128 + 512 + 2048 + 8192 + 16384 * 2 + 5, [128, 512, 2048, 8192, 16384, 16384, 16384]),
])
def test_index_batches(fake, source, n, sizes):
    elements = [b'%d' % i for i in range(n)]
    server = fake(ranged(source, b'k', elements))
    assert [r[0] for r in scan(server, source, b'k')] == elements
    command = {'list': 'LRANGE', 'zset': 'ZRANGE'}[source]
    assert server.commands == [[b'TYPE', b'k']] + [
        list(c('%s k %d %d' % (command, a, b))) for a, b in range_batches(sizes)]


# -- stream id batches: XRANGE ... COUNT ---------------------------------------

def id_of(entry_id):
    ms, seq = entry_id.split(b'-')
    return int(ms), int(seq)


def stream(key, entries):
    """A script serving TYPE and XRANGE key start + [COUNT n] of a stream of
    (id, fields) entries, in id order."""
    def script(args):
        if args == [b'TYPE', key]:
            return resp(status(b'stream'))
        if args[:2] == [b'XRANGE', key] and args[3] == b'+':
            found = [[i, f] for i, f in entries if args[2] == b'-' or id_of(i) >= id_of(args[2])]
            return resp(found[:int(args[5])] if len(args) == 6 else found)
    return script


@pytest.mark.parametrize('n, batches', [
    (0, [('-', 64)]),
    (64, [('-', 64), ('64-1', 256)]),
    (64 + 256 + 3, [('-', 64), ('64-1', 256), ('320-1', 1024)]),
    # Batches grow fourfold up to 4096 entries, then stay there.
    (64 + 256 + 1024 + 4096 * 2 + 1, [('-', 64), ('64-1', 256), ('320-1', 1024), ('1344-1', 4096),
                                      ('5440-1', 4096), ('9536-1', 4096)]),
])
def test_stream_batches(fake, n, batches):
    entries = [(b'%d-0' % (i + 1), [b'f', b'%d' % i]) for i in range(n)]
    server = fake(stream(b'x', entries))
    assert scan(server, 'stream', b'x') == [(i, [(b'f', v)], None) for i, (_, v) in entries]
    assert server.commands == [[b'TYPE', b'x']] + [list(c('XRANGE x %s + COUNT %d' % b)) for b in batches]


@pytest.mark.parametrize('last, following', [
    (b'1-0', b'1-1'),
    (b'5-%d' % MAX, b'6-0'),
    (b'%d-%d' % (MAX, MAX - 1), b'%d-%d' % (MAX, MAX)),
    (b'%d-%d' % (MAX, MAX), None),              # the largest id: nothing can follow it
])
def test_stream_id_after_a_full_batch(fake, last, following):
    entries = [(b'0-%d' % i, []) for i in range(63)] + [(last, [b'f', b'v'])]
    script = typed('x', 'stream')
    script[c('XRANGE x - + COUNT 64')] = resp([[i, f] for i, f in entries])
    if following is not None:
        script[(b'XRANGE', b'x', following, b'+', b'COUNT', b'256')] = resp([])
    server = fake(script)
    assert scan(server, 'stream', b'x')[-1] == (last, [(b'f', b'v')], None)
    assert server.commands == commands_of(script)


# -- cursor loops: SSCAN, HSCAN and SCAN -----------------------------------------

@pytest.mark.parametrize('source, command, pages, rows', [
    ('set', 'SSCAN', [[b'a', b'b'], [], [b'c']], [(b'a', None, None), (b'b', None, None), (b'c', None, None)]),
    ('hash', 'HSCAN', [[b'f', b'1'], [], [b'g', b'2', b'h', b'3']],
     [(b'f', b'1', None), (b'g', b'2', None), (b'h', b'3', None)]),
])
def test_member_cursor_loop(fake, source, command, pages, rows):
    """Each page's cursor is taken up until it is 0 again, pages without elements included."""
    cursors = [b'0', b'7', b'18446744073709551615', b'0']
    script = typed('k', source)
    for i, page in enumerate(pages):
        script[(command.encode(), b'k', cursors[i], b'COUNT', b'1000')] = resp([cursors[i + 1], page])
    server = fake(script)
    assert scan(server, source, b'k', fetch='scan') == rows
    assert server.commands == commands_of(script)


def test_pattern_cursor_loop(fake):
    """The next SCAN goes out as soon as its cursor is read, ahead of the fetches of the keys found."""
    scans = {c('SCAN 0 MATCH k* COUNT 1000 TYPE list'): [b'17', [b'k1', b'k2']],
             c('SCAN 17 MATCH k* COUNT 1000 TYPE list'): [b'4', []],
             c('SCAN 4 MATCH k* COUNT 1000 TYPE list'): [b'0', [b'k3']]}
    fetches = {c('LRANGE %s 0 -1' % k): [k.encode()] for k in ('k1', 'k2', 'k3')}
    server = fake({k: resp(v) for k, v in {**scans, **fetches}.items()})
    assert scan(server, 'multi_list', b'k*') == [(k, [k], k) for k in (b'k1', b'k2', b'k3')]
    assert server.commands == [list(k) for k in (c('SCAN 0 MATCH k* COUNT 1000 TYPE list'),
                                                 c('SCAN 17 MATCH k* COUNT 1000 TYPE list'),
                                                 c('LRANGE k1 0 -1'), c('LRANGE k2 0 -1'),
                                                 c('SCAN 4 MATCH k* COUNT 1000 TYPE list'),
                                                 c('LRANGE k3 0 -1'))]


def test_source_names():
    assert core.source_names() == ['list', 'set', 'hash', 'zset', 'stream',
                                   'multi_list', 'multi_set', 'multi_hash', 'multi_zset',
                                   'string', 'multi_string', 'keys']


def test_a_scan_lets_other_threads_run():
    """A fake Redis in a thread of the scanning process (why ScriptedRedis is a process)."""
    listener = socket.create_server(('127.0.0.1', 0))
    listener.settimeout(5)

    def serve():
        conn, _ = listener.accept()
        with conn:
            try:
                conn.settimeout(5)
                conn.recv(65536)            # TYPE and LRANGE: their replies need not wait for them
                conn.sendall(resp(status(b'list')) + resp([b'a']))
            except OSError:
                pass                        # the scan gave up

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        assert core.scan('redis://127.0.0.1:%d' % listener.getsockname()[1], 'list', b'l',
                         command_timeout_ms=300) == [(b'a', None, None)]
    finally:
        thread.join()
        listener.close()
