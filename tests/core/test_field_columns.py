"""Field columns in the core (issue 13, items 4 and 5): rows of a multi_hash or
a stream table get one cell per field column after the key cell
(RW_FIELD_COLUMN + j), NULL where the row lacks the field; a multi_hash
reads them with HMGET (beside HGETALL only when items are read)."""
import time

from .conftest import core, scan
from .scripted_redis import resp, status


def test_hash_fields_as_cells(redis_server, r):
    url = redis_server.url
    r.hset('u:1', mapping={'name': 'ann', 'age': '3'})
    r.hset('u:2', mapping={'other': 'x'})
    r.set('u:s', 'a string')
    got = sorted(core.scan(url, 'multi_hash', b'u:*', want=(True, False), fields=[b'name', b'age']))
    assert got == [(b'u:1', None, b'u:1', b'ann', b'3'), (b'u:2', None, b'u:2', None, None)]
    got = core.scan(url, 'multi_hash', b'u:*', want=(True, True), fields=[b'age'],
                    quals=[(0, '=', [b'u:1', b'u:9', b'u:s'])])
    assert got == [(b'u:1', [(b'name', b'ann'), (b'age', b'3')], b'u:1', b'3')]


def test_stream_fields_as_cells(redis_server, r):
    url = redis_server.url
    r.xadd('ev', {'kind': 'a', 'n': '1'}, id='1-0')
    r.xadd('ev', {'n': '2', 'kind': 'b', 'extra': 'z'}, id='2-0')
    assert core.scan(url, 'stream', b'ev', want=(True, False), fields=[b'n', b'nope']) == [
        (b'1-0', None, None, b'1', None), (b'2-0', None, None, b'2', None)]
    assert core.scan(url, 'stream', b'ev', want=(True, True), fields=[b'kind'])[1] == (
        b'2-0', [(b'n', b'2'), (b'kind', b'b'), (b'extra', b'z')], None, b'b')


def test_stream_fields_beside_items_when_a_batch_ends_mid_entry(fake):
    """A batch handed out while an entry is still arriving moves the arena:
    the field values noted in the entry's items are found where they went
    (the second entry longer than the first, so that its bytes overwrite
    where the values were)."""
    entries = resp([[b'1-0', [b'n', b'1', b'pad', b'p' * 4000]],
                    [b'2-0', [b'n', b'2', b'tail', b'second', b'pad', b'q' * 20000]]])
    cut = entries.index(b'q' * 100)

    def script(args):
        if args[0] == b'TYPE':
            return resp(status(b'stream'))
        return pieces()

    def pieces():
        yield entries[:cut]
        time.sleep(0.2)                 # the first part is read alone
        yield entries[cut:]
    server = fake(script)
    got = scan(server, 'stream', b'ev', fetch='all', want=(True, True), fields=[b'n', b'tail'])
    assert [(r[0], r[3], r[4]) for r in got] == [(b'1-0', b'1', None), (b'2-0', b'2', b'second')]
