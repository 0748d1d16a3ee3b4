"""Field columns in the core (issue 13, items 4 and 5): rows of a multi_hash or
a stream table get one cell per field column after the key cell
(RW_FIELD_COLUMN + j), NULL where the row lacks the field; a multi_hash
reads them with HMGET (beside HGETALL only when items are read)."""
from .conftest import core


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
