"""IMPORT FOREIGN SCHEMA's sample of a keyspace (rw_sample_*): SCAN and TYPE
rounds that resume after interrupts, the grouping rules, and refusals."""
import pytest

from .conftest import GUARD_MS, KIND, core
from .scripted_redis import error, resp, status


def sample(url, pattern=b'*', n=10000, **kw):
    kw.setdefault('command_timeout_ms', GUARD_MS)
    return core.sample_keyspace(url, pattern, n, **kw)


def test_many_rounds_resume_after_interrupts(redis_server, r):
    for i in range(2500):                   # several SCAN batches of COUNT 1000
        r.hset('user:%d' % i, 'f', 'v')
    r.xadd('log', {'a': '1'})
    before = core.flaky_waits(True)
    try:
        got = sample(redis_server.url)
    finally:
        resumed = core.flaky_waits(False)
    assert resumed > before
    assert got == (2501, [(b'log', b'log', 'stream', 'stream', 1, False),
                          (b'user:*', b'user', 'hash', 'multi_hash', 2500, True)])


def test_each_varying_part_becomes_a_star_and_literal_parts_are_escaped(redis_server, r):
    for k in ('order:1:item:a', 'order:2:item:b', 'a*b:[1]', 'a*b:[2]', 'solo:1'):
        r.rpush(k, 'x')
    r.sadd('solo:2', 'm')                   # another type: its own group
    r.set(b'\xff:1', 'v')
    r.set(b'\xff:2', 'v')
    n, groups = sample(redis_server.url)
    assert n == 8
    strings = 'multi_string' if 'multi_string' in core.source_names() else None
    assert groups == [
        (b'a\\*b:*', b'a*b', 'list', 'multi_list', 2, True),
        (b'order:*:item:*', b'order:item', 'list', 'multi_list', 2, True),
        (b'solo:1', b'solo:1', 'list', 'list', 1, False),
        (b'solo:2', b'solo:2', 'set', 'set', 1, False),
        (b'\xff:*', b'\xff', 'string', strings, 2, True),
    ]


def test_the_sample_bounds_the_keys_taken(redis_server, r):
    for i in range(50):
        r.rpush('k%d' % i, 'x')
    n, groups = sample(redis_server.url, n=7)
    assert n == 7 and len(groups) == 7 and all(g[3] == 'list' for g in groups)


def test_keys_gone_before_their_type_are_left_out(fake):
    server = fake({(b'SCAN', b'0', b'MATCH', b'*', b'COUNT', b'1000'): resp([b'0', [b'gone', b'here']]),
                   (b'TYPE', b'gone'): status(b'none'),
                   (b'TYPE', b'here'): status(b'zset')})
    assert sample(server.url) == (2, [(b'here', b'here', 'zset', 'zset', 1, False)])


def test_a_refused_type_is_an_auth_error(fake):
    server = fake({(b'SCAN', b'0', b'MATCH', b'*', b'COUNT', b'1000'): resp([b'0', [b'k']]),
                   (b'TYPE', b'k'): error(b"NOPERM this user has no permissions to run the 'type' command")})
    with pytest.raises(core.CoreError) as e:
        sample(server.url)
    assert e.value.kind == KIND['AUTH'] and 'TYPE "k"' in e.value.message


def test_a_required_password_is_checked_before_connecting(fake):
    server = fake({})
    with pytest.raises(core.CoreError) as e:
        sample(server.url, password_required=True)
    assert e.value.kind == KIND['PRIVILEGE']
    assert server.commands == []


def test_with_fields_a_group_of_hashes_gets_its_fields_and_what_they_read_as(redis_server, r):
    guesses = {'text': 0, 'integer': 1, 'number': 2, 'boolean': 3, 'date': 4, 'timestamp': 5}
    r.hset('u:1', mapping={'n': '1', 'x': '1.5e3', 'b': 'TRUE', 'd': '2024-01-01', 't': '2024-01-01 10:00'})
    r.hset('u:2', mapping={'n': '-22', 'x': '7', 'b': 'f', 'd': '2024-02-29', 't': '2024-01-01T10:00:00.5+02:00',
                           'later': '2024-02-30'})     # no such day: text
    r.hset('solo', 'f', 'v')                # alone: read whole, no fields asked
    n, groups = sample(redis_server.url, with_fields=True)
    assert groups[0][:6] == (b'solo', b'solo', 'hash', 'hash', 1, False) and groups[0][6] == []
    assert groups[1][6] == [(b'n', guesses['integer']), (b'x', guesses['number']), (b'b', guesses['boolean']),
                            (b'd', guesses['date']), (b't', guesses['timestamp']), (b'later', guesses['text'])]
