"""Writes through the core (rw_modify_*, rw_xact_*), against a real Redis read
back with redis-py: each source type's INSERT, UPDATE, DELETE and TRUNCATE,
the checks that turn a changed or clashing key into 40001 / 23505 before
anything is applied, statement and transaction pending state, resumption
after interrupts, and, against scripted servers, what EXEC's hostile answers
and lost connections mean."""
import pytest

from .conftest import GUARD_MS, KIND, core, fails, write
from .scripted_redis import CLOSE, Raw, error, resp, status




# -- INSERT ------------------------------------------------------------------

def test_list_insert_appends_merged(url, r):
    r.rpush('l', 'x')
    out = write(url, 'list', b'l', 'insert', [(b'e%d' % i, None) for i in range(2500)], batch=700,
                returning=True)
    assert r.lrange('l', 0, -1) == [b'x'] + [b'e%d' % i for i in range(2500)]
    assert out[0] == (1, (b'e0', None, None))


def test_list_insert_refusals(url, r):
    with fails('NOT_NULL', 'element', '"l"'):
        write(url, 'list', b'l', 'insert', [(b'a', None), (None, None)])
    with fails('UNSUPPORTED', 'index'):
        write(url, 'list', b'l', 'insert', [(b'a', b'3')])
    r.set('l', 'v')
    with fails('WRONG_TYPE', '"l"', 'string'):
        write(url, 'list', b'l', 'insert', [(b'a', None)])
    assert r.get('l') == b'v'


@pytest.mark.parametrize('source, rows, read', [
    ('set', [(b'a', None), (b'b', None)], lambda r: r.smembers('k') == {b'a', b'b', b'old'}),
    ('hash', [(b'f', b'v'), (b'g', b'')], lambda r: r.hgetall('k') == {b'f': b'v', b'g': b'', b'old': b'1'}),
    ('zset', [(b'a', b'1.5'), (b'b', None)],
     lambda r: r.zrange('k', 0, -1, withscores=True) == [(b'b', 0.0), (b'old', 1.0), (b'a', 1.5)]),
])
def test_member_insert_and_uniqueness(url, r, source, rows, read):
    {'set': lambda: r.sadd('k', 'old'), 'hash': lambda: r.hset('k', 'old', '1'),
     'zset': lambda: r.zadd('k', {'old': 1})}[source]()
    assert [w for w, _ in write(url, source, b'k', 'insert', rows)] == [1, 1]
    assert read(r)
    before = r.dump('k')
    # An existing member, or one inserted twice: 23505, and nothing applied.
    with fails('UNIQUE', '"old"', '"k"'):
        write(url, source, b'k', 'insert', [(b'new', b'1'), (b'old', b'2')])
    with fails('UNIQUE', '"new"'):
        write(url, source, b'k', 'insert', [(b'new', b'1'), (b'new', b'2')])
    assert r.dump('k') == before
    # ON CONFLICT DO NOTHING skips both.
    out = write(url, source, b'k', 'insert', [(b'old', b'7'), (b'n2', b'3'), (b'n2', b'4')],
                on_conflict_skip=True, batch=1)
    assert [w for w, _ in out] == [0, 1, 0]
    assert {'set': lambda: r.sismember('k', 'n2'), 'hash': lambda: r.hget('k', 'n2') == b'3',
            'zset': lambda: r.zscore('k', 'n2') == 3.0}[source]()


def test_hash_insert_null_value(url, r):
    with fails('NOT_NULL', 'value'):
        write(url, 'hash', b'h', 'insert', [(b'f', None)])
    assert not r.exists('h')


def test_stream_insert_ids(url, r):
    r.xadd('s', {'a': '1'}, id='5-0')
    out = write(url, 'stream', b's', 'insert', [(None, {b'f': b'v'}), (None, {b'g': b'w', b'h': b'x'})],
                returning=True)
    ids = [o[0] for _, o in out]
    assert [e[0] for e in r.xrange('s')] == [b'5-0'] + ids
    assert r.xrange('s')[2][1] == {b'g': b'w', b'h': b'x'}
    write(url, 'stream', b's', 'insert', [(b'99999999999999-3', {b'f': b'v'}), (None, {b'f': b'v'})])
    assert [e[0] for e in r.xrange('s')][-2:] == [b'99999999999999-3', b'99999999999999-4']
    with fails('BAD_VALUE', '"5-1"', 'not greater'):
        write(url, 'stream', b's', 'insert', [(b'5-1', {b'f': b'v'})])
    with fails('BAD_VALUE', 'invalid stream id'):
        write(url, 'stream', b's', 'insert', [(b'x-1', {b'f': b'v'})])
    with fails('BAD_VALUE', 'object'):
        write(url, 'stream', b's', 'insert', [(None, [b'f'])])
    with fails('BAD_VALUE', 'empty'):
        write(url, 'stream', b's', 'insert', [(None, {})])
    with fails('UNSUPPORTED', 'append-only'):
        write(url, 'stream', b's', 'update', [], set_mask=2)


def test_stream_explicit_id_checked_at_flush(url, r):
    m = core.Modification(url, 'stream', b's', 'insert', command_timeout_ms=GUARD_MS)
    m.rows([(b'7', {b'f': b'v'})])
    r.xadd('s', {'a': '1'}, id='8-0')       # after the row, before the flush
    with fails('BAD_VALUE', '"7-0"', '"8-0"'):
        m.close()
    m.release()
    assert r.xlen('s') == 1


@pytest.mark.parametrize('source, items, read', [
    ('multi_list', [b'b', b'a', b'b'], lambda r, k: r.lrange(k, 0, -1)),
    ('multi_set', [b'a', b'b'], lambda r, k: sorted(r.smembers(k))),
    ('multi_hash', {b'f': b'v', b'g': b'w'}, lambda r, k: r.hgetall(k)),
    ('multi_zset', [b'z', b'a'], lambda r, k: r.zrange(k, 0, -1)),
])
def test_multi_insert(url, r, source, items, read):
    out = write(url, source, b'p:*', 'insert', [(b'p:1', items), (b'p:2', items)], returning=True)
    assert read(r, 'p:1') == read(r, 'p:2') == (items if not isinstance(items, list) or source != 'multi_set'
                                                else sorted(items))
    assert out[0][1][0] == b'p:1' and out[0][1][2] == b'p:1'
    with fails('UNIQUE', '"p:1"'):
        write(url, source, b'p:*', 'insert', [(b'p:3', items), (b'p:1', items)])
    assert not r.exists('p:3')
    with fails('OUTSIDE_PATTERN', '"q:1"', '"p:*"'):
        write(url, source, b'p:*', 'insert', [(b'q:1', items)])
    wrong = [b'x'] if isinstance(items, dict) else {b'x': b'y'}
    with fails('BAD_VALUE', '"p:4"'):
        write(url, source, b'p:*', 'insert', [(b'p:4', wrong)])
    with fails('NOT_NULL', 'items'):
        write(url, source, b'p:*', 'insert', [(b'p:4', None)])
    assert [w for w, _ in write(url, source, b'p:*', 'insert', [(b'p:1', items), (b'p:5', items)],
                                on_conflict_skip=True, batch=1)] == [0, 1]


def test_multi_set_members_distinct(url, r):
    with fails('BAD_VALUE', 'repeat', '"p:1"'):
        write(url, 'multi_set', b'p:*', 'insert', [(b'p:1', [b'a', b'a'])])


# -- UPDATE and DELETE -------------------------------------------------------

def test_list_update_and_delete_by_index(url, r):
    r.rpush('l', 'a', 'b', 'a', 'c')
    write(url, 'list', b'l', 'update', [((b'b', b'1'), (b'B', None))], set_mask=1)
    assert r.lrange('l', 0, -1) == [b'a', b'B', b'a', b'c']
    # Exactly the positions given, though an equal element stays.
    write(url, 'list', b'l', 'delete', [(b'a', b'2'), (b'c', b'3'), (b'c', b'3')])
    assert r.lrange('l', 0, -1) == [b'a', b'B']
    with fails('CONFLICT', 'index 0'):
        write(url, 'list', b'l', 'update', [((b'zzz', b'0'), (b'n', None))], set_mask=1)
    with fails('UNSUPPORTED', 'index'):
        write(url, 'list', b'l', 'update', [((b'a', None), (b'n', None))], set_mask=1)
    with fails('UNSUPPORTED', 'index'):
        write(url, 'list', b'l', 'update', [], set_mask=2)


def test_list_delete_by_element(url, r):
    r.rpush('l', 'a', 'b', 'a')
    out = write(url, 'list', b'l', 'delete', [(b'a', None), (b'a', None)])
    assert [w for w, _ in out] == [1, 1]        # each equal row read is one deleted
    assert r.lrange('l', 0, -1) == [b'b']
    with fails('CONFLICT', '"a"'):
        write(url, 'list', b'l', 'delete', [(b'a', None)])


def test_set_update_and_delete(url, r):
    r.sadd('s', 'a', 'b', 'c')
    write(url, 'set', b's', 'update', [((b'a', None), (b'x', None))], set_mask=1)
    assert r.smembers('s') == {b'x', b'b', b'c'}
    with fails('UNIQUE', '"c"'):
        write(url, 'set', b's', 'update', [((b'b', None), (b'c', None))], set_mask=1)
    with fails('CONFLICT', '"gone"'):
        write(url, 'set', b's', 'update', [((b'gone', None), (b'y', None))], set_mask=1)
    write(url, 'set', b's', 'delete', [(b'b', None), (b'c', None)])
    assert r.smembers('s') == {b'x'}
    with fails('CONFLICT', '"b"'):
        write(url, 'set', b's', 'delete', [(b'b', None)])


def test_hash_update_and_delete(url, r):
    r.hset('h', mapping={'f': '1', 'g': '2', 'k': '3'})
    out = write(url, 'hash', b'h', 'update', [((b'f', b'1'), (None, b'10')), ((b'f', b'1'), (None, b'11'))],
                set_mask=2, returning=True)
    assert [w for w, _ in out] == [1, 0] and out[0][1] == (b'f', b'10', None)
    assert r.hget('h', 'f') == b'10'
    write(url, 'hash', b'h', 'update', [((b'g', b'2'), (b'g2', None))], set_mask=1)
    assert r.hgetall('h') == {b'f': b'10', b'g2': b'2', b'k': b'3'}
    with fails('UNIQUE', '"k"'):
        write(url, 'hash', b'h', 'update', [((b'f', b'10'), (b'k', None))], set_mask=1)
    with fails('CONFLICT', '"f"'):           # read as 1, now 10
        write(url, 'hash', b'h', 'update', [((b'f', b'1'), (None, b'5'))], set_mask=2)
    with fails('CONFLICT', '"k"'):
        write(url, 'hash', b'h', 'delete', [(b'k', b'old')])
    write(url, 'hash', b'h', 'delete', [(b'k', b'3')])
    assert r.hgetall('h') == {b'f': b'10', b'g2': b'2'}


def test_zset_update_and_delete(url, r):
    r.zadd('z', {'a': 1, 'b': 2})
    write(url, 'zset', b'z', 'update', [((b'a', b'1'), (None, b'5'))], set_mask=2)
    assert r.zscore('z', 'a') == 5.0
    write(url, 'zset', b'z', 'update', [((b'a', b'5'), (b'c', None))], set_mask=1)
    assert r.zrange('z', 0, -1, withscores=True) == [(b'b', 2.0), (b'c', 5.0)]
    with fails('CONFLICT', '"b"'):
        write(url, 'zset', b'z', 'update', [((b'b', b'3'), (None, b'1'))], set_mask=2)
    with fails('UNSUPPORTED', 'score'):
        write(url, 'zset', b'z', 'update', [((b'b', None), (b'd', None))], set_mask=1)
    write(url, 'zset', b'z', 'delete', [(b'b', b'2')])
    assert r.zrange('z', 0, -1) == [b'c']


def test_stream_delete(url, r):
    r.xadd('s', {'a': '1'}, id='1-0')
    r.xadd('s', {'a': '2'}, id='2-0')
    write(url, 'stream', b's', 'delete', [(b'1-0', {b'a': b'1'})])
    assert [e[0] for e in r.xrange('s')] == [b'2-0']
    with fails('CONFLICT', '"1-0"'):
        write(url, 'stream', b's', 'delete', [(b'1-0', None)])


def test_multi_update_delete_truncate(url, r):
    r.rpush('p:1', 'a', 'b')
    r.rpush('p:2', 'c')
    r.set('p:3', 'a string, not a list')
    write(url, 'multi_list', b'p:*', 'update', [((b'p:1', [b'a', b'b']), (None, [b'x']))], set_mask=2)
    assert r.lrange('p:1', 0, -1) == [b'x']
    write(url, 'multi_list', b'p:*', 'update', [((b'p:1', [b'x']), (b'p:9', None))], set_mask=1)
    assert not r.exists('p:1') and r.lrange('p:9', 0, -1) == [b'x']
    with fails('UNIQUE', '"p:2"'):
        write(url, 'multi_list', b'p:*', 'update', [((b'p:9', [b'x']), (b'p:2', None))], set_mask=1)
    with fails('OUTSIDE_PATTERN', '"q"'):
        write(url, 'multi_list', b'p:*', 'update', [((b'p:9', [b'x']), (b'q', None))], set_mask=1)
    with fails('CONFLICT', '"p:2"'):
        write(url, 'multi_list', b'p:*', 'delete', [(b'p:2', [b'changed'])])
    write(url, 'multi_list', b'p:*', 'delete', [(b'p:2', [b'c'])])
    assert not r.exists('p:2')
    r.rpush('p:4', 'y')
    write(url, 'multi_list', b'p:*', 'truncate')
    assert sorted(r.keys()) == [b'p:3']


def test_truncate_single_key(url, r):
    r.sadd('s', 'a')
    write(url, 'set', b's', 'truncate')
    assert not r.exists('s')
    r.set('s', 'x')
    with fails('WRONG_TYPE', '"s"'):
        write(url, 'set', b's', 'truncate')


# -- statements and transactions --------------------------------------------

def test_statement_applies_at_last_close(url, r):
    a = core.Modification(url, 'set', b'a', 'insert', command_timeout_ms=GUARD_MS)
    b = core.Modification(url, 'list', b'b', 'insert', command_timeout_ms=GUARD_MS)
    a.rows([(b'1', None)])
    b.rows([(b'2', None)])
    a.close()
    assert not r.exists('a')
    b.close()
    assert r.smembers('a') == {b'1'} and r.lrange('b', 0, -1) == [b'2']
    # A statement that fails (a modify released unclosed) applies nothing.
    a = core.Modification(url, 'set', b'a', 'insert', command_timeout_ms=GUARD_MS)
    b = core.Modification(url, 'list', b'b', 'insert', command_timeout_ms=GUARD_MS)
    a.rows([(b'3', None)])
    a.close()
    b.release()
    a.release()
    assert r.smembers('a') == {b'1'} and r.lrange('b', 0, -1) == [b'2']


def test_one_failed_check_applies_nothing(url, r):
    r.sadd('s', 'taken')
    a = core.Modification(url, 'list', b'l', 'insert', command_timeout_ms=GUARD_MS)
    b = core.Modification(url, 'set', b's', 'insert', command_timeout_ms=GUARD_MS)
    a.rows([(b'x', None)])
    b.rows([(b'taken', None)])
    a.close()
    with fails('UNIQUE', '"taken"'):
        b.close()
    a.release()
    b.release()
    assert not r.exists('l')


def test_transaction_levels(url, r):
    def stmt(level, member):
        write(url, 'set', b's', 'insert', [(member, None)], transactional=True, level=level)
    stmt(1, b'a')
    stmt(2, b'b')
    stmt(3, b'c')
    assert core.xact_pending() and not r.exists('s')
    core.xact_subabort(3)                   # ROLLBACK TO the savepoint of level 3
    core.xact_subcommit(2)                  # RELEASE level 2: b now belongs to level 1
    core.xact_subabort(2)                   # nothing of level >= 2 is left
    core.xact_precommit()
    assert not core.xact_pending()
    assert r.smembers('s') == {b'a', b'b'}
    stmt(1, b'd')
    core.xact_abort()
    assert not core.xact_pending()
    core.xact_precommit()
    assert r.smembers('s') == {b'a', b'b'}


@pytest.mark.parametrize('source, key, row', [('hash', b'h', (b'f', b'v')), ('multi_set', b'p:*', (b'p:1', [b'a']))])
def test_transaction_sees_its_own_inserts(url, r, source, key, row):
    """An earlier statement's pending insert is a duplicate for a later one,
    though Redis does not hold it yet."""
    write(url, source, key, 'insert', [row], transactional=True)
    with fails('UNIQUE'):
        write(url, source, key, 'insert', [row], transactional=True, level=2)
    assert write(url, source, key, 'insert', [row], transactional=True, on_conflict_skip=True)[0][0] == 0
    core.xact_subabort(1)
    write(url, source, key, 'insert', [row], transactional=True)
    core.xact_precommit()
    assert r.exists('h' if source == 'hash' else 'p:1')


def test_transaction_conflict_at_commit(url, r):
    r.hset('h', 'f', '1')
    write(url, 'hash', b'h', 'update', [((b'f', b'1'), (None, b'2'))], set_mask=2, transactional=True)
    r.hset('h', 'f', '3')                   # another client, before COMMIT
    with fails('CONFLICT', '"f"'):
        core.xact_precommit()
    assert r.hget('h', 'f') == b'3' and not core.xact_pending()


def test_transaction_stream_ids_continue(url, r):
    first = write(url, 'stream', b's', 'insert', [(None, {b'a': b'1'})], transactional=True, returning=True)
    second = write(url, 'stream', b's', 'insert', [(None, {b'a': b'2'})], transactional=True, returning=True)
    core.xact_precommit()
    assert [e[0] for e in r.xrange('s')] == [first[0][1][0], second[0][1][0]]


def test_too_large(url, r):
    old = core.set_max_pending(10000)
    try:
        with fails('TOO_LARGE'):
            write(url, 'list', b'l', 'insert', [(b'x' * 100, None)] * 200)
    finally:
        core.set_max_pending(old)
    assert not r.exists('l')


def test_interrupted_calls_resume(url, r):
    # A reply already in when it is read needs no wait, so nothing to
    # interrupt: the writes run again until some wait was interrupted.
    for _ in range(10):
        r.flushall()
        r.sadd('s', 'old')
        before = core.flaky_waits(True)
        try:
            out = write(url, 'set', b's', 'insert', [(b'old', None), (b'a', None), (b'b', None)],
                        on_conflict_skip=True, batch=2)
            write(url, 'stream', b'x', 'insert', [(None, {b'f': b'v'})] * 3)
            write(url, 'hash', b'h', 'insert', [(b'f', b'v')], transactional=True)
            core.xact_precommit()
        finally:
            resumed = core.flaky_waits(False)
        assert [w for w, _ in out] == [0, 1, 1]
        assert r.smembers('s') == {b'old', b'a', b'b'} and r.xlen('x') == 3 and r.hget('h', 'f') == b'v'
        if resumed > before:
            return
    pytest.fail('no wait was ever interrupted')


def test_describe():
    assert core.describe_modify('list', b'l1', 'insert') == 'RPUSH l1, applied at statement end in MULTI/EXEC'
    assert core.describe_modify('hash', b'h1', 'update', set_mask=2, transactional=True) == \
        'HSET h1, checked with HMGET, applied at commit in MULTI/EXEC (transactional)'
    assert core.describe_modify('multi_set', b'p:*', 'delete').startswith('DEL keys matching p:*')
    with pytest.raises(core.CoreError):
        core.describe_modify('stream', b's', 'update')


# -- hostile answers ---------------------------------------------------------

def exec_script(exec_reply, cut_at=None):
    """A server whose checks pass and whose EXEC answers exec_reply; cut_at:
    the command at which it closes the connection instead."""
    def script(args):
        if args[0] == cut_at:
            return [CLOSE]
        if args[0] == b'TYPE':
            return resp(status(b'none'))
        if args[0] in (b'WATCH', b'MULTI'):
            return resp(status(b'OK'))
        if args[0] == b'SMISMEMBER':
            return resp([0] * (len(args) - 2))
        if args[0] == b'EXEC':
            return exec_reply
        return resp(status(b'QUEUED'))
    return script


@pytest.mark.parametrize('exec_reply, kind, words', [
    (resp(None), 'CONFLICT', ['changed']),
    (Raw(b'*-1\r\n'), 'CONFLICT', ['changed']),
    (resp([Raw(b'-ERR boom\r\n')]), 'REDIS', ['boom']),
    (resp(error(b'EXECABORT discarded')), 'REDIS', ['EXECABORT']),
    # Once EXEC went out, a malformed or missing answer leaves the outcome unknown.
    (resp(status(b'OK')), 'UNKNOWN_OUTCOME', ['unknown']),
    ([b'*1\r\n', CLOSE], 'UNKNOWN_OUTCOME', ['unknown']),
    ([CLOSE], 'UNKNOWN_OUTCOME', ['unknown']),
])
def test_exec_answers(fake, exec_reply, kind, words):
    server = fake(exec_script(exec_reply))
    with fails(kind, *words):
        write(server.url, 'set', b's', 'insert', [(b'a', None), (b'b', None)])
    assert [c[0] for c in server.commands][-1] == b'EXEC'


def test_cut_during_checks(fake):
    server = fake(exec_script(resp([1]), cut_at=b'WATCH'))
    with fails('IO'):
        write(server.url, 'set', b's', 'insert', [(b'a', None)])
    assert b'MULTI' not in [c[0] for c in server.commands]


def test_cut_before_exec_is_sent(fake):
    """The server goes away at MULTI while megabytes of writes are still to
    send: EXEC never left, so nothing was applied (an I/O error, not 08007)."""
    server = fake(exec_script(resp([1]), cut_at=b'MULTI'))
    with fails('IO') as e:
        write(server.url, 'list', b'l', 'insert', [(b'x' * 1000, None)] * 20000, batch=10000)
    assert 'EXEC was not sent' in e.value.detail


def test_queued_error_is_reported(fake):
    def script(args):
        if args[0] == b'SADD':
            return resp(error(b'ERR refused at queue time'))
        return exec_script(resp(error(b'EXECABORT')))(args)
    with fails('REDIS', 'queue time'):
        write(fake(script).url, 'set', b's', 'insert', [(b'a', None)])


def test_commands_sent(fake):
    server = fake(exec_script(resp([2, 1])))
    write(server.url, 'set', b's', 'insert', [(b'a', None), (b'b', None)])
    assert server.commands == [[b'WATCH', b's'], [b'TYPE', b's'], [b'SMISMEMBER', b's', b'a', b'b'],
                               [b'MULTI'], [b'SADD', b's', b'a', b'b'], [b'EXEC']]
