"""Pushdown: which clauses plan() lets Redis serve, and what a scan given
them sends and returns (lookups of hash fields, set and zset members, stream
ids and a pattern table's keys; a LIKE prefix as a narrower SCAN)."""
import os
import subprocess
import sys

import pytest

from .conftest import core, failure, scan
from .scripted_redis import error, resp, status

MAX = 2 ** 64 - 1
SINGLE = ['set', 'hash', 'zset', 'stream']
MULTI = ['multi_list', 'multi_set', 'multi_hash', 'multi_zset']
LOOKUP = {'set': 'SMISMEMBER', 'hash': 'HMGET', 'zset': 'ZMSCORE'}
READ = {'multi_list': 'LRANGE {} 0 -1', 'multi_set': 'SMEMBERS {}', 'multi_hash': 'HGETALL {}',
        'multi_zset': 'ZRANGE {} 0 -1'}


def c(*words):
    return tuple(w if isinstance(w, bytes) else w.encode() for w in words)


def read_of(source, key):
    """The command that reads a pattern table's key whole."""
    return tuple(key if w == '{}' else w.encode() for w in READ[source].split(' '))


# -- plan() ------------------------------------------------------------------------

@pytest.mark.parametrize('source', ['list'] + SINGLE + MULTI)
@pytest.mark.parametrize('quals', [((1, '=', [b'a']),), ((0, '<', [b'a']),), ((0, '<=', [b'a']),),
                                   ((0, '>', [b'a']),), ((0, '>=', [b'a']),), ((1, 'prefix', [b'a']),)],
                         ids=['column 1', '<', '<=', '>', '>=', 'prefix of column 1'])
def test_clauses_never_pushed(source, quals):
    """Comparisons, and clauses on column 1, stay with PostgreSQL (but for a
    list's index and a sorted set's score: test_columns.py)."""
    if source in ('list', 'zset') and quals[0][:2] == (1, '='):
        pytest.skip('served since the index and score columns came')
    assert core.plan(source, b'k', quals) == (0, -1, '%s "k"' % source)


@pytest.mark.parametrize('source', ['list'] + SINGLE)
def test_a_prefix_is_pushed_only_for_pattern_tables(source):
    assert core.plan(source, b'k', ((0, 'prefix', [b'a']),)) == (0, -1, '%s "k"' % source)


def test_a_list_pushes_nothing():
    assert core.plan('list', b'l', ((0, '=', [b'a']),)) == (0, -1, 'list "l"')


@pytest.mark.parametrize('source, description', [
    ('set', 'SMISMEMBER "k" (%s)'), ('hash', 'HMGET "k" (%s)'), ('zset', 'ZMSCORE "k" (%s)'),
    ('stream', 'XRANGE "k" id id for each id (%s)'),
    ('multi_list', 'LRANGE of the keys named (%s) matching "k"'),
    ('multi_set', 'SMEMBERS of the keys named (%s) matching "k"'),
    ('multi_hash', 'HGETALL of the keys named (%s) matching "k"'),
    ('multi_zset', 'ZRANGE of the keys named (%s) matching "k"'),
])
def test_equality_is_pushed(source, description):
    """Values are counted once each; a parameter's are estimated as one."""
    value = b'1-0' if source == 'stream' else b'k'
    assert core.plan(source, b'k', ((0, '=', [value, value]),)) == (1, 1, description % '1 values')
    assert core.plan(source, b'k', ((0, '=', None),)) == (1, 1, description % 'values of a parameter')
    assert core.plan(source, b'k', ((0, '=', []),)) == (1, 0, description % '0 values')


def test_the_first_clause_served_is_pushed():
    quals = ((1, '=', [b'a']), (0, '<', [b'a']), (0, '=', [b'b', b'c']), (0, '=', [b'd']))
    assert core.plan('hash', b'h', quals) == (1 << 2, 2, 'HMGET "h" (2 values)')


@pytest.mark.parametrize('value, canonical', [
    (b'1-0', True), (b'0-0', True), (b'%d-%d' % (MAX, MAX), True), (b'1526919030474-55', True),
    (b'01-0', False), (b'1-00', False), (b'1', False), (b'1-', False), (b'-1', False), (b'', False),
    (b'x-1', False), (b'1-0x', False), (b' 1-0', False), (b'+1-0', False), (b'1-2-3', False),
    (b'%d-0' % (MAX + 1), False), (b'0-%d' % (MAX + 1), False), (b'1\xd9\xa0-0', False), (b'\xd9\xa1-0', False),
])
def test_only_canonical_stream_ids_can_match(value, canonical):
    """Redis writes an id as ms-seq in plain decimal: no other text equals one."""
    assert core.plan('stream', b'x', ((0, '=', [value]),))[:2] == (1, int(canonical))


@pytest.mark.parametrize('pattern, values, matching', [
    (b'user:*', [b'user:1', b'user:', b'usr:1', b'user:1'], 2),
    (b'a?c', [b'abc', b'ac', b'a\xc3\xa9c', b'a*c'], 2),            # ? is one byte, not one character
    (b'k\\*', [b'k*', b'kx', b'k\\*'], 1),
    (b'*', [b'', b'x', b'[a]'], 3),
])
def test_pattern_keys_outside_the_pattern_are_not_counted(pattern, values, matching):
    assert core.plan('multi_set', pattern, ((0, '=', values),))[:2] == (1, matching)


@pytest.mark.parametrize('pattern', [b'k[ab]*', b'[', b'k*[^x]', b'k\\\\[a]'])
@pytest.mark.parametrize('op', ['=', 'prefix'])
def test_patterns_with_sets_push_nothing(pattern, op):
    """Redis's sets ([a-z], [^x]) are not matched by the core: nothing is pushed."""
    assert core.plan('multi_list', pattern, ((0, op, [b'ka']),))[0] == 0


def test_an_escaped_bracket_is_no_set():
    assert core.plan('multi_list', b'k\\[*', ((0, '=', [b'k[a', b'ka']),)) == (
        1, 1, 'LRANGE of the keys named (1 values) matching "k\\[*"')


@pytest.mark.parametrize('prefix, shown', [(b'user:1', 'user:1'), (b'a*?[]\\b', 'a\\*\\?\\[\\]\\\\b'),
                                           (None, '<parameter>')])
def test_a_prefix_plan(prefix, shown):
    quals = ((0, 'prefix', None if prefix is None else [prefix]),)
    assert core.plan('multi_hash', b'user:*', quals) == (
        1, -1, 'SCAN MATCH "%s*" TYPE hash, then HGETALL of each key matching "user:*"' % shown)


# -- lookups of one key's members ---------------------------------------------------

def test_hmget_sends_only_the_lookup(fake):
    script = {c('TYPE', 'h'): resp(status(b'hash')), c('HMGET', 'h', 'a', 'b'): resp([b'1', None])}
    server = fake(script)
    assert scan(server, 'hash', b'h', quals=((0, '=', [b'a', b'b', b'a']),)) == [(b'a', b'1', None)]
    assert server.commands == [[b'TYPE', b'h'], [b'HMGET', b'h', b'a', b'b']]


def test_smismember_flags(fake):
    server = fake({c('TYPE', 's'): resp(status(b'set')), c('SMISMEMBER', 's', 'a', 'b', 'c'): resp([1, 0, 1])})
    assert scan(server, 'set', b's', quals=((0, '=', [b'a', b'b', b'c']),)) == [(b'a', None, None),
                                                                              (b'c', None, None)]
    assert server.commands == [[b'TYPE', b's'], [b'SMISMEMBER', b's', b'a', b'b', b'c']]


def test_zmscore_rows_in_score_then_member_order(fake):
    """As a full scan returns them: by score, then members of one score in byte order."""
    members = [b'c', b'a', b'gone', b'd', b'b', b'e', b'f']
    scores = [b'2', b'1', None, b'1', b'-inf', b'inf', b'1.5e0']
    server = fake({c('TYPE', 'z'): resp(status(b'zset')), c('ZMSCORE', 'z', *members): resp(scores)})
    assert [r[0] for r in scan(server, 'zset', b'z', quals=((0, '=', members),))] == [
        b'b', b'a', b'd', b'f', b'c', b'e']


def test_zmscore_rows_reversed_for_a_descending_order(fake):
    """reverse: highest score first, members of one score in reverse byte order (ZRANGE ... REV's)."""
    members = [b'c', b'a', b'd', b'b']
    server = fake({c('TYPE', 'z'): resp(status(b'zset')),
                   c('ZMSCORE', 'z', *members): resp([b'2', b'1', b'1', b'-inf'])})
    assert [r[0] for r in scan(server, 'zset', b'z', quals=((0, '=', members),), reverse=True)] == [
        b'c', b'd', b'a', b'b']


@pytest.mark.parametrize('quals, command', [
    ((), ['ZRANGE', 'z', '0', '127', 'REV', 'WITHSCORES']),
    (((1, '<', [b'3']),), ['ZRANGE', 'z', '(3', '-inf', 'BYSCORE', 'REV', 'LIMIT', '0', '128', 'WITHSCORES']),
    (((1, '=', [b'1', b'2']),), ['ZRANGE', 'z', '2', '2', 'BYSCORE', 'REV', 'WITHSCORES']),
])
def test_a_descending_zset_scan_reads_from_the_highest_score(fake, quals, command):
    """ZRANGE ... REV, with BYSCORE's bounds high first and spans from the highest down."""
    def script(args):
        if args == [b'TYPE', b'z']:
            return resp(status(b'zset'))
        return resp([])
    server = fake(script)
    assert scan(server, 'zset', b'z', quals=quals, want=(True, True), reverse=True) == []
    assert server.commands[1] == [a.encode() for a in command]


@pytest.mark.parametrize('source, answer', [('hash', lambda v: v), ('set', lambda v: 1),
                                            ('zset', lambda v: v)])
def test_lookups_of_many_values_go_in_batches_of_1024(fake, source, answer):
    values = [b'%05d' % i for i in range(2500)]
    command = LOOKUP[source].encode()

    def script(args):
        if args == [b'TYPE', b'k']:
            return resp(status(source.encode()))
        if args[:2] == [command, b'k']:
            return resp([answer(v) if int(v) % 3 else None if source != 'set' else 0 for v in args[2:]])
    server = fake(script)
    rows = scan(server, source, b'k', quals=((0, '=', values),))
    assert [r[0] for r in rows] == [v for v in values if int(v) % 3]
    assert [len(cmd) - 2 for cmd in server.commands[1:]] == [1024, 1024, 452]
    assert [v for cmd in server.commands[1:] for v in cmd[2:]] == values


def test_a_lookup_of_no_values_sends_no_lookup(fake):
    """Every value was NULL, or could not match: the scan reads nothing."""
    server = fake({c('TYPE', 'h'): resp(status(b'hash'))})
    assert scan(server, 'hash', b'h', quals=((0, '=', []),)) == []
    assert server.commands == [[b'TYPE', b'h']]


def test_a_lookup_checks_the_type(fake):
    server = fake({c('TYPE', 'h'): resp(status(b'list')), c('HMGET', 'h', 'a'): resp([None])})
    failure(server, 'hash', b'h', 'WRONG_TYPE', 'holds a list, not a hash', quals=((0, '=', [b'a']),))


# -- stream ids ------------------------------------------------------------------------

STREAM_IDS = [b'10-0', b'2-5', b'not an id', b'2-10', b'02-5', b'%d-%d' % (MAX, MAX), b'9-0']


def stream_lookup(fake):
    found = {b'2-5': [b'f', b'a'], b'10-0': [b'f', b'b'], b'%d-%d' % (MAX, MAX): [b'f', b'c']}
    script = {c('TYPE', 'x'): resp(status(b'stream'))}
    for i in [b'2-5', b'2-10', b'9-0', b'10-0', b'%d-%d' % (MAX, MAX)]:     # numeric order
        script[c('XRANGE', 'x', i, i)] = resp([[i, found[i]]] if i in found else [])
    return fake(script), script


def stream_rows():
    return [(b'2-5', [(b'f', b'a')], None), (b'10-0', [(b'f', b'b')], None),
            (b'%d-%d' % (MAX, MAX), [(b'f', b'c')], None)]


@pytest.mark.parametrize('fetch', [None, 'all', 'scan'])
def test_stream_ids_are_read_in_id_order(fake, fetch):
    """One XRANGE id id for each canonical id, in numeric order, and no follow-up batch."""
    server, script = stream_lookup(fake)
    assert scan(server, 'stream', b'x', fetch=fetch, quals=((0, '=', STREAM_IDS),)) == stream_rows()
    assert server.commands == [list(k) for k in script]


# -- a pattern table's keys ------------------------------------------------------------

@pytest.mark.parametrize('source', MULTI)
def test_keys_named_are_read_if_the_pattern_has_them(fake, source):
    """Only keys the pattern matches are read (no SCAN); a key that is gone
    gives no row, one of another type (WRONGTYPE) neither."""
    pairs = source == 'multi_hash'
    replies = {b'user:1': [b'f', b'v'] if pairs else [b'a'], b'user:2': error(b'WRONGTYPE Operation against a key'),
               b'user:3': []}
    script = {read_of(source, k): resp(v) for k, v in replies.items()}
    server = fake(script)
    quals = ((0, '=', [b'user:1', b'other', b'user:2', b'user:3', b'user']),)
    assert scan(server, source, b'user:*', quals=quals) == [
        (b'user:1', [(b'f', b'v')] if pairs else [b'a'], b'user:1')]
    assert server.commands == [list(k) for k in script]


@pytest.mark.parametrize('reply, kind', [(b'ERR something else', 'REDIS'), (b'NOPERM no access', 'AUTH')])
def test_other_errors_of_a_key_read_are_raised(fake, reply, kind):
    """Only WRONGTYPE means "not a row of this table"; other errors would hide rows."""
    server = fake({c('SMEMBERS', 'k:1'): resp(error(reply))})
    failure(server, 'multi_set', b'k:*', kind, reply.decode(), quals=((0, '=', [b'k:1']),))


@pytest.mark.parametrize('source', MULTI)
def test_a_prefix_becomes_a_narrower_scan(fake, source):
    """LIKE 'prefix%': SCAN MATCH the escaped prefix, then the table's pattern filters the keys found."""
    redis_type = source[len('multi_'):]
    prefix = b'h:a*?[]\\'
    found = [prefix + b':x', prefix + b'b', prefix + b'::x', b'elsewhere:x']
    script = {c('SCAN', '0', 'MATCH', b'h:a\\*\\?\\[\\]\\\\*', 'COUNT', '1000', 'TYPE', redis_type):
              resp([b'0', found])}
    for k in (found[0], found[2]):
        script[read_of(source, k)] = resp([b'f', b'v'] if source == 'multi_hash' else [b'v'])
    server = fake(script)
    rows = scan(server, source, b'h:*:x', quals=((0, 'prefix', [prefix]),))
    assert [r[2] for r in rows] == [found[0], found[2]]
    assert server.commands == [list(k) for k in script]


# -- what the core refuses -----------------------------------------------------------

@pytest.mark.parametrize('quals', [((1, '=', [b'a']),), ((0, '=', None),), ((0, '=', [b'a']), (0, '=', [b'b']))])
def test_a_scan_given_clauses_it_does_not_serve(fake, quals):
    """A clause the scan would not serve would be checked by nobody: refused before any command."""
    server = fake({})
    failure(server, 'hash', b'h', 'INTERNAL', 'clauses it does not serve', quals=quals)
    assert server.commands == []


@pytest.mark.parametrize('call', ['plan', 'scan'])
def test_a_prefix_of_no_value(fake, call):
    """make_plan means it to match nothing; run in a child, as it crashes."""
    code = ('import redis_wrapper_core as c\n'
            'q = ((0, "prefix", []),)\n'
            'print(c.plan("multi_list", b"k*", q)[0] if "%s" == "plan" else '
            'c.scan("%s", "multi_list", b"k*", quals=q, command_timeout_ms=1000))' % (call, fake({}).url))
    child = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert (child.returncode, child.stdout.strip()) == (0, '1' if call == 'plan' else '[]'), child.stderr
