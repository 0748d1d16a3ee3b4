"""A list's index and a sorted set's score (column 1 of list and zset): the
rows of full scans and lookups, ranges pushed as LRANGE start stop and
ZRANGE min max BYSCORE (the exact commands, and the rows compared with a
filter in Python on a real Redis), counts of ranges, and the scan's
statistics (rw_scan_stats)."""
import math
import random

import pytest

from .conftest import core, scan
from .scripted_redis import resp, status
from redis_wrapper_tools.servers import Redis

BIG = 2 ** 63 - 1
ALL = (True, True)


def c(text):
    return text.encode().split(b' ')


def listed(elements, key=b'l'):
    """A fake serving TYPE and LRANGE of one list, as Redis does (negative indexes from the end)."""
    def script(args):
        if args == [b'TYPE', key]:
            return resp(status(b'list'))
        if args == [b'LLEN', key]:
            return resp(len(elements))
        if args[:2] == [b'LRANGE', key]:
            n = len(elements)
            start, stop = (int(a) + n if int(a) < 0 else int(a) for a in args[2:4])
            return resp(elements[max(start, 0):max(min(stop, n - 1) + 1, 0)])
    return script


def bound(text):
    """(value, exclusive) of a BYSCORE bound."""
    exclusive = text[:1] == b'('
    return float(text[1:] if exclusive else text), exclusive


def zsetted(members, key=b'z'):
    """A fake serving TYPE, ZRANGE (by rank or BYSCORE, LIMIT, WITHSCORES) and
    ZCOUNT of one sorted set: members are (member, score as Redis writes it)."""
    members = sorted(members, key=lambda m: (float(m[1]), m[0]))

    def within(args):
        lo, lo_ex = bound(args[2])
        hi, hi_ex = bound(args[3])
        return [m for m in members if (float(m[1]) > lo or (float(m[1]) == lo and not lo_ex)) and
                (float(m[1]) < hi or (float(m[1]) == hi and not hi_ex))]

    def script(args):
        if args == [b'TYPE', key]:
            return resp(status(b'zset'))
        if args[:2] == [b'ZCOUNT', key]:
            return resp(len(within(args)))
        if args[:2] == [b'ZRANGE', key]:
            if b'BYSCORE' in args:
                found = within(args)
                if b'LIMIT' in args:
                    at = args.index(b'LIMIT')
                    offset, count = int(args[at + 1]), int(args[at + 2])
                    found = found[offset:offset + count]
            else:
                start, stop = int(args[2]), int(args[3])
                found = members[start:] if stop == -1 else members[start:stop + 1]
            if b'WITHSCORES' in args:
                return resp([x for m in found for x in m])
            return resp([m for m, _ in found])
    return script


ELEMENTS = [b'e%d' % i for i in range(300)]
MEMBERS = [(b'm%03d' % i, b'%d' % (i // 3)) for i in range(300)] + [(b'low', b'-inf'), (b'high', b'inf'),
                                                                   (b'half', b'1.5')]
ORDERED = sorted(MEMBERS, key=lambda m: (float(m[1]), m[0]))


def indexed(first, last):
    return [(ELEMENTS[i], b'%d' % i, None) for i in range(first, min(last, len(ELEMENTS) - 1) + 1)]


# -- the registry -----------------------------------------------------------------------

def test_list_and_zset_have_an_opt_in_column_1():
    assert core.source_columns('list') == [('element', 'text'), ('index', 'int8')]
    assert core.source_columns('zset') == [('element', 'text'), ('score', 'float8')]
    assert core.source_columns('set') == [('element', 'text')]


# -- full scans -------------------------------------------------------------------------

@pytest.mark.parametrize('fetch, commands', [
    ('scan', ['LRANGE l 0 127', 'LRANGE l 128 639']), ('all', ['LRANGE l 0 -1'])])
def test_a_list_scan_numbers_its_elements(fake, fetch, commands):
    server = fake(listed(ELEMENTS))
    assert scan(server, 'list', b'l', fetch=fetch, want=ALL) == indexed(0, 299)
    assert server.commands == [c('TYPE l')] + [c(x) for x in commands]


@pytest.mark.parametrize('fetch, withscores, withoutscores', [
    ('scan', ['ZRANGE z 0 127 WITHSCORES', 'ZRANGE z 128 639 WITHSCORES'], ['ZRANGE z 0 127', 'ZRANGE z 128 639']),
    ('all', ['ZRANGE z 0 -1 WITHSCORES'], ['ZRANGE z 0 -1'])])
def test_a_zset_scan_asks_for_scores_only_when_wanted(fake, fetch, withscores, withoutscores):
    server = fake(zsetted(MEMBERS))
    assert scan(server, 'zset', b'z', fetch=fetch, want=ALL) == [(m, s, None) for m, s in ORDERED]
    assert scan(server, 'zset', b'z', fetch=fetch, want=(True, False)) == [(m, None, None) for m, _ in ORDERED]
    assert server.commands == [c('TYPE z')] + [c(x) for x in withscores] + [c('TYPE z')] + [
        c(x) for x in withoutscores]


def test_a_zmscore_lookup_gives_the_scores(fake):
    server = fake({(b'TYPE', b'z'): resp(status(b'zset')),
                   (b'ZMSCORE', b'z', b'a', b'b', b'c'): resp([b'2.5', None, b'-inf'])})
    assert scan(server, 'zset', b'z', quals=[(0, '=', [b'a', b'b', b'c'])], want=ALL) == [
        (b'c', b'-inf', None), (b'a', b'2.5', None)]


def test_a_zmscore_lookup_keeps_the_scores_in_range(fake):
    """element IN (...) AND score > 1 AND score <= 3: both served, the range as a filter of the lookup."""
    quals = [(0, '=', [b'a', b'b', b'c', b'd']), (1, '>', [b'1']), (1, '<=', [b'3'])]
    assert core.plan('zset', b'z', quals) == (7, 4, 'ZMSCORE "z" (4 values), keeping scores (1 3')
    server = fake({(b'TYPE', b'z'): resp(status(b'zset')),
                   (b'ZMSCORE', b'z', b'a', b'b', b'c', b'd'): resp([b'1', b'3', b'1.5', b'inf'])})
    assert scan(server, 'zset', b'z', quals=quals, want=ALL) == [(b'c', b'1.5', None), (b'b', b'3', None)]


def test_a_lookup_in_an_empty_score_range_asks_nothing(fake):
    server = fake({(b'TYPE', b'z'): resp(status(b'zset'))})
    assert scan(server, 'zset', b'z', quals=[(0, '=', [b'a']), (1, '>', [b'2']), (1, '<', [b'2'])]) == []
    assert server.commands == [c('TYPE z')]


# -- list index ranges --------------------------------------------------------------------

LIST_RANGES = [
    # quals on the index, what plan() says, the commands after TYPE, the rows' indexes
    ([('=', [b'5'])], 'LRANGE "l" 5 5', ['LRANGE l 5 5'], [5]),
    ([('=', [b'7', b'-1', b'2', b'7', b'400'])], 'LRANGE "l" 2 2, 7 7, 400 400',
     ['LRANGE l 2 2', 'LRANGE l 7 7', 'LRANGE l 400 400'], [2, 7]),
    ([('>=', [b'10']), ('<', [b'20'])], 'LRANGE "l" 10 19', ['LRANGE l 10 19'], range(10, 20)),
    ([('>', [b'9']), ('<=', [b'19'])], 'LRANGE "l" 10 19', ['LRANGE l 10 19'], range(10, 20)),
    ([('>=', [b'10']), ('<=', [b'10'])], 'LRANGE "l" 10 10', ['LRANGE l 10 10'], [10]),
    ([('<', [b'3'])], 'LRANGE "l" 0 2', ['LRANGE l 0 2'], range(3)),
    ([('>', [b'-5']), ('<', [b'2'])], 'LRANGE "l" 0 1', ['LRANGE l 0 1'], range(2)),
    ([('>', [b'100'])], 'LRANGE "l" 101 -1', ['LRANGE l 101 228', 'LRANGE l 229 740'], range(101, 300)),
    ([('>=', [b'0']), ('<', [b'1000'])], 'LRANGE "l" 0 999', ['LRANGE l 0 127', 'LRANGE l 128 639'], range(300)),
    ([('=', [b'3', b'4']), ('>', [b'3'])], 'LRANGE "l" 4 4', ['LRANGE l 4 4'], [4]),
    ([('>=', [b'%d' % BIG])], 'LRANGE "l" %d -1' % BIG, ['LRANGE l %d -1' % BIG], []),
    ([('<=', [b'%d' % BIG]), ('>=', [b'298'])], 'LRANGE "l" 298 -1', ['LRANGE l 298 425'], [298, 299]),
    # Nothing to ask: no command after TYPE.
    ([('>', [b'%d' % BIG])], 'nothing: the index range of "l" is empty', [], []),
    ([('<', [b'%d' % (-BIG - 1)])], 'nothing: the index range of "l" is empty', [], []),
    ([('<', [b'0'])], 'nothing: the index range of "l" is empty', [], []),
    ([('=', [b'-1'])], 'nothing: the index range of "l" is empty', [], []),
    ([('>', [b'5']), ('<', [b'6'])], 'nothing: the index range of "l" is empty', [], []),
    ([('>=', [b'5']), ('<', [])], 'nothing: the index range of "l" is empty', [], []),      # < NULL
    ([('=', [])], 'nothing: the index range of "l" is empty', [], []),
]


@pytest.mark.parametrize('quals, shown, commands, indexes', LIST_RANGES)
def test_a_list_index_range(fake, quals, shown, commands, indexes):
    quals = [(1, op, values) for op, values in quals]
    pushed, rows, description = core.plan('list', b'l', quals)
    assert (pushed, description) == ((1 << len(quals)) - 1, shown)
    server = fake(listed(ELEMENTS))
    assert scan(server, 'list', b'l', quals=quals, want=ALL) == [(ELEMENTS[i], b'%d' % i, None) for i in indexes]
    assert server.commands == [c('TYPE l')] + [c(x) for x in commands]


def test_a_list_range_estimate():
    assert core.plan('list', b'l', [(1, '>=', [b'10']), (1, '<=', [b'19'])])[1] == 10
    assert core.plan('list', b'l', [(1, '=', [b'1', b'2', b'-3'])])[1] == 2
    assert core.plan('list', b'l', [(1, '>', [b'5'])])[1] == -1
    assert core.plan('list', b'l', [(1, '>', None)])[1] == -1


def test_an_index_range_of_parameters_is_pushed():
    assert core.plan('list', b'l', [(1, '>', None), (1, '<', [b'5'])]) == (3, -1, 'LRANGE "l" <parameters>')


def test_only_the_element_column_of_a_list_stays_local():
    quals = [(0, '=', [b'a']), (1, '<', [b'5']), (1, 'prefix', [b'1'])]
    assert core.plan('list', b'l', quals)[0] == 2


@pytest.mark.parametrize('fetch', ['scan', 'all'])
def test_a_list_range_under_a_limit(fake, fetch):
    server = fake(listed(ELEMENTS))
    quals = [(1, '>=', [b'10'])]
    assert scan(server, 'list', b'l', quals=quals, limit=5, fetch=fetch, want=ALL) == indexed(10, 14)
    assert server.commands == [c('TYPE l'), c('LRANGE l 10 14')]


def test_a_list_range_read_whole_with_fetch_all(fake):
    server = fake(listed(ELEMENTS))
    assert scan(server, 'list', b'l', fetch='all', quals=[(1, '>', [b'100'])], want=ALL) == indexed(101, 299)
    assert server.commands == [c('TYPE l'), c('LRANGE l 101 -1')]


def test_the_index_alone_is_numbered_without_the_element(fake):
    server = fake(listed(ELEMENTS))
    assert scan(server, 'list', b'l', quals=[(1, '=', [b'3'])], want=(False, True)) == [(None, b'3', None)]


# -- zset score ranges ----------------------------------------------------------------------

ZSET_RANGES = [
    # quals on the score, what plan() says (after ZRANGE "z"), the commands after TYPE
    ([('>', [b'1']), ('<=', [b'5'])], '(1 5', ['(1 5 BYSCORE LIMIT 0 128']),
    ([('>=', [b'1']), ('<', [b'5'])], '1 (5', ['1 (5 BYSCORE LIMIT 0 128']),
    ([('>=', [b'1.5']), ('<=', [b'1.5'])], '1.5 1.5', ['1.5 1.5 BYSCORE']),
    ([('=', [b'1.5'])], '1.5 1.5', ['1.5 1.5 BYSCORE']),
    ([('=', [b'3', b'Infinity', b'1', b'3', b'NaN', b'-0'])], '-0 -0, 1 1, 3 3, ... (4 ranges)',
     ['-0 -0 BYSCORE', '1 1 BYSCORE', '3 3 BYSCORE', '+inf +inf BYSCORE']),
    ([('<', [b'2'])], '-inf (2', ['-inf (2 BYSCORE LIMIT 0 128']),
    ([('>', [b'90'])], '(90 +inf', ['(90 +inf BYSCORE LIMIT 0 128']),
    ([('>', [b'-Infinity']), ('<', [b'Infinity'])], '(-inf (+inf',
     ['(-inf (+inf BYSCORE LIMIT 0 128', '(-inf (+inf BYSCORE LIMIT 128 512']),
    ([('>=', [b'-Infinity']), ('<=', [b'Infinity'])], '-inf +inf',
     ['-inf +inf BYSCORE LIMIT 0 128', '-inf +inf BYSCORE LIMIT 128 512']),
    ([('=', [b'Infinity'])], '+inf +inf', ['+inf +inf BYSCORE']),
    ([('<=', [b'NaN']), ('>', [b'98'])], '(98 +inf', ['(98 +inf BYSCORE LIMIT 0 128']),   # all are <= NaN
    ([('>', [b'1e300']), ('<', [b'1.5e300'])], '(1e+300 (1.5e+300', ['(1e+300 (1.5e+300 BYSCORE LIMIT 0 128']),
    ([('>', [b'2']), ('>=', [b'3']), ('<', [b'9']), ('<=', [b'4'])], '3 4', ['3 4 BYSCORE LIMIT 0 128']),
    ([('>', [b'3']), ('>=', [b'3'])], '(3 +inf', ['(3 +inf BYSCORE LIMIT 0 128', '(3 +inf BYSCORE LIMIT 128 512']),
    ([('<', [b'3']), ('<=', [b'3'])], '-inf (3', ['-inf (3 BYSCORE LIMIT 0 128']),
]
ZSET_EMPTY = [
    [('>', [b'5']), ('<', [b'5'])], [('>', [b'5']), ('<=', [b'5'])], [('>', [b'6']), ('<', [b'5'])],
    [('>', [b'NaN'])], [('>=', [b'NaN'])], [('=', [b'NaN'])], [('>', [b'Infinity'])], [('<', [b'-Infinity'])],
    [('<', [])], [('=', [b'1']), ('>', [b'1'])],
]


def matches(score, quals):
    """PostgreSQL's float8 comparisons, NaN above every number."""
    def key(v):
        return (1, 0) if math.isnan(v) else (0, v)
    s = key(float(score))
    ops = {'=': lambda a, b: a == b, '<': lambda a, b: a < b, '<=': lambda a, b: a <= b,
           '>': lambda a, b: a > b, '>=': lambda a, b: a >= b}
    return all(any(ops[op](s, key(float(v))) for v in values) for op, values in quals)


@pytest.mark.parametrize('want', [(True, True), (True, False)], ids=['with scores', 'without'])
@pytest.mark.parametrize('quals, shown, commands', ZSET_RANGES)
def test_a_zset_score_range(fake, quals, shown, commands, want):
    withscores = ' WITHSCORES' if want[1] else ''
    zquals = [(1, op, values) for op, values in quals]
    assert core.plan('zset', b'z', zquals)[0] == (1 << len(quals)) - 1
    server = fake(zsetted(MEMBERS))
    assert scan(server, 'zset', b'z', quals=zquals, want=want) == [
        (m, s if want[1] else None, None) for m, s in ORDERED if matches(s, quals)]
    assert server.commands == [c('TYPE z')] + [c('ZRANGE z ' + x + withscores) for x in commands]
    # EXPLAIN's text at plan time knows the columns wanted only in PostgreSQL: plan() wants both.
    assert core.plan('zset', b'z', zquals)[2] == 'ZRANGE "z" %s BYSCORE WITHSCORES' % shown


@pytest.mark.parametrize('quals', ZSET_EMPTY)
def test_an_empty_score_range_asks_nothing(fake, quals):
    zquals = [(1, op, values) for op, values in quals]
    assert core.plan('zset', b'z', zquals) == ((1 << len(quals)) - 1, 0, 'nothing: the score range of "z" is empty')
    server = fake(zsetted(MEMBERS))
    assert scan(server, 'zset', b'z', quals=zquals) == []
    assert scan(server, 'zset', b'z', quals=zquals, count=True) == [(b'0', None, None)]
    assert server.commands == [c('TYPE z')] * 2


@pytest.mark.parametrize('fetch, limit, commands', [
    ('scan', 0, ['(1 +inf BYSCORE LIMIT 0 128', '(1 +inf BYSCORE LIMIT 128 512']),
    ('all', 0, ['(1 +inf BYSCORE']),
    ('scan', 5, ['(1 +inf BYSCORE LIMIT 0 5']),
    ('all', 5, ['(1 +inf BYSCORE LIMIT 0 5']),
    ('scan', 200, ['(1 +inf BYSCORE LIMIT 0 128', '(1 +inf BYSCORE LIMIT 128 72']),
])
def test_a_score_range_in_batches_or_whole(fake, fetch, limit, commands):
    server = fake(zsetted(MEMBERS))
    rows = scan(server, 'zset', b'z', fetch=fetch, limit=limit, quals=[(1, '>', [b'1'])], want=(True, False))
    expected = [(m, None, None) for m, s in ORDERED if float(s) > 1]
    assert rows[:limit or None] == expected[:limit or None]
    assert server.commands == [c('TYPE z')] + [c('ZRANGE z ' + x) for x in commands]


def test_points_under_a_limit_each_ask_for_the_limit(fake):
    """Sent together, each point may have to make all the rows."""
    server = fake(zsetted(MEMBERS))
    rows = scan(server, 'zset', b'z', limit=4, quals=[(1, '=', [b'0', b'1'])], want=(True, False))
    assert rows[:4] == [(b'm000', None, None), (b'm001', None, None), (b'm002', None, None), (b'm003', None, None)]
    assert server.commands == [c('TYPE z'), c('ZRANGE z 0 0 BYSCORE LIMIT 0 4'), c('ZRANGE z 1 1 BYSCORE LIMIT 0 4')]


def test_a_score_range_of_parameters_is_pushed():
    assert core.plan('zset', b'z', [(1, '>=', None)]) == (1, -1, 'ZRANGE "z" <parameters> BYSCORE WITHSCORES')


# -- counts of ranges -----------------------------------------------------------------------

def test_a_score_range_is_counted_by_zcount(fake):
    server = fake(zsetted(MEMBERS))
    quals = [(1, '>', [b'1']), (1, '<=', [b'5'])]
    assert core.plan('zset', b'z', quals, count=True) == (3, 1, 'ZCOUNT "z" (1 5')
    assert scan(server, 'zset', b'z', quals=quals, count=True) == [(b'13', None, None)]
    quals = [(1, '=', [b'1', b'1.5', b'7'])]
    assert scan(server, 'zset', b'z', quals=quals, count=True) == [(b'7', None, None)]
    assert server.commands == [c('TYPE z'), c('ZCOUNT z (1 5'), c('TYPE z'), c('ZCOUNT z 1 1'),
                               c('ZCOUNT z 1.5 1.5'), c('ZCOUNT z 7 7')]


@pytest.mark.parametrize('quals, n', [
    ([(1, '>=', [b'10']), (1, '<', [b'20'])], 10), ([(1, '>', [b'290'])], 9), ([(1, '>', [b'400'])], 0),
    ([(1, '=', [b'0', b'299', b'300', b'5'])], 3), ([(1, '>=', [b'%d' % BIG])], 0), ([(1, '<', [b'%d' % BIG])], 300),
])
def test_an_index_range_is_counted_from_llen(fake, quals, n):
    server = fake(listed(ELEMENTS))
    assert scan(server, 'list', b'l', quals=quals, count=True) == [(b'%d' % n, None, None)]
    assert server.commands == [c('TYPE l'), c('LLEN l')]


def test_an_index_range_count_plan():
    assert core.plan('list', b'l', [(1, '<', [b'5'])], count=True) == (1, 1, 'LLEN "l", counting the rows of LRANGE 0 4')


# -- against a real Redis: the rows of random ranges, compared with a filter in Python ------------

@pytest.fixture(scope='module')
def real():
    server = Redis().start()
    client = server.client()
    client.rpush('l', *ELEMENTS)
    client.zadd('z', {m: float(s) for m, s in MEMBERS})
    yield server, client
    server.stop()


def random_quals(rng, by_score):
    values = ([b'NaN', b'Infinity', b'-Infinity', b'-0', b'1.5', b'0.1'] + [b'%d' % i for i in range(-2, 105)]
              if by_score else [b'%d' % i for i in range(-3, 310)] + [b'%d' % BIG, b'%d' % (-BIG - 1)])
    quals = []
    for _ in range(rng.randint(1, 3)):
        op = rng.choice(['=', '<', '<=', '>', '>='])
        quals.append((op, rng.sample(values, rng.randint(0, 3)) if op == '=' else [rng.choice(values)]))
    return quals


@pytest.mark.parametrize('seed', range(4))
def test_random_ranges_match_a_local_filter(real, seed):
    server, client = real
    rng = random.Random(seed)
    for _ in range(60):
        by_score = rng.random() < 0.5
        quals = random_quals(rng, by_score)
        fetch = rng.choice(['scan', 'all'])
        limit = rng.choice([0, 0, 1, 7, 200])
        pushed = [(1, op, values) for op, values in quals]
        if by_score:
            everything = scan(server, 'zset', b'z', want=ALL)
            got = scan(server, 'zset', b'z', quals=pushed, fetch=fetch, limit=limit, want=ALL)
            expected = [r for r in everything if matches(r[1], quals)]
        else:
            everything = scan(server, 'list', b'l', want=ALL)
            got = scan(server, 'list', b'l', quals=pushed, fetch=fetch, limit=limit, want=ALL)
            expected = [r for r in everything
                        if all(any(cmp(int(r[1]), int(v)) for v in values)
                               for cmp, values in ((INT_OPS[op], values) for op, values in quals))]
        assert got[:limit or None] == expected[:limit or None], (quals, fetch, limit)
        count = scan(server, 'zset' if by_score else 'list', b'z' if by_score else b'l', quals=pushed, count=True)
        assert count == [(b'%d' % len(expected), None, None)], quals


INT_OPS = {'=': lambda a, b: a == b, '<': lambda a, b: a < b, '<=': lambda a, b: a <= b,
           '>': lambda a, b: a > b, '>=': lambda a, b: a >= b}


def test_real_redis_writes_scores_that_read_back(real):
    server, _ = real
    rows = scan(server, 'zset', b'z', quals=[(1, '<', [b'0']), (1, '>=', [b'-Infinity'])], want=ALL)
    assert rows == [(b'low', b'-inf', None)]
    assert scan(server, 'zset', b'z', quals=[(1, '=', [b'Infinity'])], want=ALL) == [(b'high', b'inf', None)]


# -- statistics ---------------------------------------------------------------------------------

def test_stats_of_a_single_key_scan(fake):
    server = fake(listed(ELEMENTS))
    stats = {}
    scan(server, 'list', b'l', stats=stats, want=ALL)
    replies = [listed(ELEMENTS)(cmd) for cmd in server.commands]
    assert stats['commands'] == len(server.commands) == 3
    assert stats['keys'] == 1
    assert stats['bytes_received'] == sum(len(r) for r in replies)
    assert 1 <= stats['round_trips'] <= 3


def test_stats_count_pipelined_commands_as_one_round_trip(fake):
    server = fake(listed(ELEMENTS))
    stats = {}
    scan(server, 'list', b'l', quals=[(1, '=', [b'%d' % i for i in range(50)])], stats=stats)
    assert stats['commands'] == 51
    assert stats['round_trips'] < 51


def test_stats_of_a_pattern_scan(real):
    server, client = real
    for i in range(5):
        client.sadd('s:%d' % i, i)
    stats = {}
    assert len(scan(server, 'multi_set', b's:*', stats=stats)) == 5
    assert stats['keys'] == 5
    assert stats['commands'] >= 6
    stats = {}
    assert scan(server, 'multi_set', b's:*', count=True, stats=stats) == [(b'5', None, None)]
    assert stats['keys'] == 5


def test_stats_count_the_handshake(real):
    """AUTH and SELECT are commands of the scan that dialled."""
    server, _ = real
    stats = {}
    core.scan(server.url + '/1', 'list', b'nothing', stats=stats, command_timeout_ms=5000)
    assert stats['commands'] == 3           # SELECT, TYPE, LRANGE


def test_a_member_without_its_score_is_a_protocol_error(fake):
    """WITHSCORES replies come in pairs: an odd count is refused, not read as rows."""
    from .conftest import failure
    server = fake({(b'TYPE', b'z'): resp(status(b'zset')),
                   (b'ZRANGE', b'z', b'0', b'127', b'WITHSCORES'): resp([b'a', b'1', b'b'])})
    failure(server, 'zset', b'z', 'PROTOCOL', 'ZRANGE "z"', 'an array of even length', want=ALL)
