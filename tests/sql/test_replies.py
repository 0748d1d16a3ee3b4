"""Replies: what a server may send us and what we make of it.  Values over
max_value_size, replies of the wrong shape or of RESP3 types, random garbage,
the memory a big value leaves behind, and streams at the ends of the id space."""
import random

import psycopg
import pytest

from conftest import backend_memory, rows, server_with_table, table
from fake_servers import FakeServer

MiB = 1024 * 1024
MAX_ID = 2 ** 64 - 1


def server_table(db, name, url, src_type, key, fetch=None, **options):
    """Server <name> with the options given, and its table redis.<name>_t of src_type on key."""
    server_with_table(db, name, url, **options)
    t = table(db, name + '_t', src_type, key, server=name)
    if fetch:
        db.execute("alter foreign table %s options (add fetch '%s')" % (t, fetch))
    return t


def failure(db, query):
    """The error query ends with, and how far the backend's peak RSS rose (kB) meanwhile."""
    pid = db.execute('select pg_backend_pid()').fetchone()[0]
    with open('/proc/%d/clear_refs' % pid, 'w') as f:
        f.write('5')                        # resets VmHWM to the current RSS
    before, _ = backend_memory(pid)
    with pytest.raises(psycopg.Error) as e:
        db.execute(query).fetchall()
    _, peak = backend_memory(pid)
    assert rows(db, 'select 1') == [(1,)]   # the backend goes on
    return e.value, peak - before


def text_of(e):
    return ' '.join(filter(None, [str(e), e.diag.message_hint]))


# -- replies too large for a value ----------------------------------------------

def test_a_huge_announced_string_is_refused_before_it_is_read(db):
    """The announced length alone stops the scan: the 128 MiB that follow are never buffered."""
    with FakeServer(reply=b'+list\r\n*1\r\n$9999999999\r\n', then=b'x' * MiB, times=128) as fake:
        t = server_table(db, 'r_huge', fake.url, 'list', 'big', command_timeout='5s', cluster='false')
        e, growth = failure(db, 'select * from %s' % t)
    assert e.sqlstate == '54000', e
    for words in ('LRANGE "big"', '127.0.0.1:%d' % fake.port, '9999999999', 'max_value_size (1073741819 bytes)'):
        assert words in str(e)
    assert 'max_value_size' in e.diag.message_hint
    assert growth < 32 * 1024


def test_an_endless_line_is_refused(db):
    with FakeServer(reply=b'+', then=b'x' * MiB, times=128) as fake:
        t = server_table(db, 'r_line', fake.url, 'list', 'l', command_timeout='5s', cluster='false')
        e, growth = failure(db, 'select * from %s' % t)
    assert e.sqlstate == '08P01' and 'TYPE "l"' in str(e), e
    assert growth < 32 * 1024


def test_a_string_just_over_a_small_max_value_size(db, own_redis):
    c = own_redis.client()
    c.rpush('l', 'a' * 1024)
    t = server_with_table(db, 'r_small', own_redis.url, max_value_size='1kB')
    assert rows(db, 'select length(element) from %s' % t) == [(1024,)]
    c.rpush('l', 'b' * 1025)
    e, _ = failure(db, 'select length(element) from %s' % t)
    assert e.sqlstate == '54000' and 'LRANGE "l"' in str(e) and '1025' in str(e), text_of(e)
    db.execute("alter server r_small options (set max_value_size '2kB')")
    assert rows(db, 'select length(element) from %s' % t) == [(1024,), (1025,)]


@pytest.mark.parametrize('src_type,key,load', [
    ('hash', 'h', lambda c: c.hset('h', 'f' * 600, 'v' * 600)),
    ('stream', 's', lambda c: c.xadd('s', {'f' * 600: 'v' * 600})),
    ('multi_list', 'ml:*', lambda c: c.rpush('ml:1', *['x' * 100] * 11)),
    ('multi_hash', 'mh:*', lambda c: c.hset('mh:1', mapping={'f%d' % i: 'v' * 100 for i in range(11)})),
])
def test_a_row_over_max_value_size(db, own_redis, src_type, key, load):
    """Each string fits, the row they make does not."""
    load(own_redis.client())
    t = server_table(db, 'r_row', own_redis.url, src_type, key, max_value_size='1kB')
    e, _ = failure(db, 'select * from %s' % t)
    assert e.sqlstate == '54000', text_of(e)
    assert '"%s"' % key.replace('*', '1') in str(e) and 'max_value_size' in e.diag.message_hint


# -- memory left behind ------------------------------------------------------------

def test_buffers_shrink_back_after_a_big_value(db, r):
    t = table(db, 'r_big', 'list', 'big')
    r.rpush('big', 'small')
    assert rows(db, 'select length(element) from %s' % t) == [(5,)]
    pid = db.execute('select pg_backend_pid()').fetchone()[0]
    before, _ = backend_memory(pid)
    r.rpush('big', 'x' * (64 * MiB))
    assert rows(db, 'select length(element) from %s' % t) == [(5,), (64 * MiB,)]
    after, _ = backend_memory(pid)
    assert after - before < 16 * 1024
    assert rows(db, 'select server_name from redis_wrapper_get_connections()') == [('redis_server',)]


# -- replies of the wrong shape ----------------------------------------------------

# Each script answers TYPE (or SCAN) and the first fetch; the server then stays
# silent, so a reply left unfinished would show as a timeout.
WRONG_SHAPES = [
    ('list', None, b'+list\r\n*2\r\n+OK\r\n$1\r\na\r\n', 'LRANGE "k"', 'got a status where a string'),
    ('list', None, b'+list\r\n*1\r\n:7\r\n', 'LRANGE "k"', 'got an integer where a string'),
    ('list', None, b'+list\r\n*1\r\n$-1\r\n', 'LRANGE "k"', 'got a nil where a string'),
    ('list', None, b'+list\r\n*-1\r\n', 'LRANGE "k"', 'got a nil where an array'),
    ('list', None, b'+list\r\n*1\r\n*1\r\n$1\r\nx\r\n', 'LRANGE "k"', 'got an array of 1 where a string'),
    ('list', None, b'+list\r\n*1\r\n-ERR inside\r\n', 'LRANGE "k"', 'got an error where a string'),
    ('list', None, b'+list\r\n*129\r\n' + b'$1\r\na\r\n' * 129, 'LRANGE "k"', 'more elements than asked'),
    ('list', None, b'$4\r\nlist\r\n*0\r\n', 'TYPE "k"', 'got a string where a status'),
    ('list', None, b'+list\r\n*0\r\n+extra\r\n', 'Redis at', 'no command'),
    ('hash', None, b'+hash\r\n*3\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nx\r\n', 'HGETALL "k"', 'got an array of 3'),
    ('hash', 'scan', b'+hash\r\n*2\r\n$1\r\n0\r\n*1\r\n$1\r\nf\r\n', 'HSCAN "k"', 'got an array of 1'),
    ('set', 'scan', b'+set\r\n*1\r\n$1\r\n0\r\n', 'SSCAN "k"', 'got an array of 1 where an array of 2'),
    ('stream', None, b'+stream\r\n*1\r\n*3\r\n$3\r\n1-0\r\n*0\r\n*0\r\n', 'XRANGE "k"', 'got an array of 3'),
    ('stream', None, b'+stream\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*1\r\n$1\r\nf\r\n', 'XRANGE "k"', 'got an array of 1'),
    ('multi_list', None, b'*3\r\n$1\r\n0\r\n*0\r\n*0\r\n', 'SCAN "k"', 'got an array of 3'),
    ('multi_list', None, b'*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n*1\r\n:1\r\n', 'LRANGE "k"', 'got an integer'),
]


@pytest.mark.parametrize('src_type,fetch,reply,command,words', WRONG_SHAPES,
                         ids=['%s-%d' % (s[0], i) for i, s in enumerate(WRONG_SHAPES)])
def test_replies_of_the_wrong_shape(db, src_type, fetch, reply, command, words):
    with FakeServer(reply=reply) as fake:
        t = server_table(db, 'r_shape', fake.url, src_type, 'k', fetch, command_timeout='3s', cluster='false')
        e, _ = failure(db, 'select * from %s' % t)
    assert e.sqlstate == '08P01', text_of(e)
    assert 'reply' in str(e) and command in str(e) and words in str(e), str(e)
    assert '127.0.0.1:%d' % fake.port in str(e)


# RESP3 values: hiredis 0.14 rejects their type bytes itself, 1.x parses them.
RESP3 = {
    ',': b',1.5\r\n', '#': b'#t\r\n', '_': b'_\r\n', '(': b'(12345678901234567890\r\n',
    '=': b'=7\r\ntxt:abc\r\n', '%': b'%1\r\n$1\r\nf\r\n$1\r\nv\r\n', '~': b'~1\r\n$1\r\na\r\n',
    '>': b'>1\r\n$1\r\na\r\n', '|': b'|1\r\n$1\r\na\r\n:1\r\n',
}


@pytest.mark.parametrize('type_byte', sorted(RESP3))
def test_resp3_values_are_refused(db, type_byte):
    reply = b'+list\r\n*2\r\n' + RESP3[type_byte] + b'$1\r\na\r\n'
    with FakeServer(reply=reply) as fake:
        t = server_table(db, 'r_resp3', fake.url, 'list', 'k', command_timeout='3s', cluster='false')
        e, _ = failure(db, 'select * from %s' % t)
    assert e.sqlstate == '08P01', text_of(e)


# -- random replies ------------------------------------------------------------

def random_resp(rng, depth=0):
    """One random RESP2 or RESP3 value: any type, size and nesting, random bytes inside."""
    kind = rng.choice('+-:$*,#_(=%~>|' if depth < 3 else '+-:$,#_(=')
    if kind in '+-':
        return kind.encode() + rng.choice([b'OK', b'list', b'ERR no', b'hash', b'']) + b'\r\n'
    if kind == ':':
        return b':%d\r\n' % rng.randint(-5, 10 ** 6)
    if kind == ',':
        return b',' + rng.choice([b'1.5', b'-inf', b'nan', b'3']) + b'\r\n'
    if kind == '#':
        return rng.choice([b'#t\r\n', b'#f\r\n'])
    if kind == '_':
        return b'_\r\n'
    if kind == '(':
        return b'(%d\r\n' % rng.randint(-10 ** 30, 10 ** 30)
    if kind in '$=':
        n = rng.choice([-1, 0, 1, 5, 300])
        if n < 0:
            return b'$-1\r\n'
        body = (b'txt:' if kind == '=' else b'') + rng.randbytes(n)
        return b'%s%d\r\n%s\r\n' % (kind.encode(), len(body), body)
    n = rng.choice([-1, 0, 1, 2, 3, 40] if kind == '*' else [0, 1, 2])
    items = max(n, 0) * (2 if kind in '%|' else 1)
    return b'%s%d\r\n' % (kind.encode(), n) + b''.join(random_resp(rng, depth + 1) for _ in range(items))


def test_random_replies_never_crash_the_backend(db):
    """Garbage, truncated or merely surprising replies end in a result or a clean
    error, and the same backend goes on (a crash would end this connection).
    Half the servers stay open after their reply; command_timeout and, behind
    it, statement_timeout (57014, not accepted here) guard against a hang."""
    rng = random.Random(20261125)
    pid = db.execute('select pg_backend_pid()').fetchone()[0]
    db.execute("set statement_timeout = '10s'")
    for _ in range(120):
        reply = random_resp(rng) + random_resp(rng)
        if rng.random() < 0.3:
            reply = reply[:rng.randrange(len(reply) + 1)]
        if rng.random() < 0.2 and reply:
            i = rng.randrange(len(reply))
            reply = reply[:i] + bytes([rng.randrange(256)]) + reply[i + 1:]
        src_type = rng.choice(['list', 'hash', 'stream', 'multi_set'])
        with FakeServer(reply=reply, close_after_reply=rng.random() < 0.5) as fake:
            t = server_table(db, 'c_fuzz', fake.url, src_type, 'k', command_timeout='300ms', connect_timeout='1s', cluster='false')
            try:
                db.execute('select * from %s' % t).fetchall()
            except psycopg.Error as e:
                assert e.sqlstate and e.sqlstate[:2] in ('08', '22', '28', '42', 'HV'), (e.sqlstate, e, reply)
    assert db.execute('select pg_backend_pid()').fetchone()[0] == pid


# -- streams at the ends of the id space ------------------------------------------

@pytest.mark.parametrize('n', [64, 65, 320, 1344])
def test_streams_at_the_ends_of_the_id_space(db, r, n):
    """Batches of 64, 256, 1024 ... entries: one ending at the largest id, one at
    an id whose sequence number cannot grow."""
    ids = ['0-1'] + ['%d-%d' % (i, MAX_ID) for i in range(1, n - 1)] + ['%d-%d' % (MAX_ID, MAX_ID)]
    pipe = r.pipeline(transaction=False)
    for i in ids:
        pipe.xadd('s', {'f': 'v'}, id=i)
    pipe.execute()
    t = table(db, 'r_stream', 'stream', 's')
    assert [row[0] for row in rows(db, 'select id from %s' % t)] == ids
    assert rows(db, 'select count(*) from %s' % t) == [(n,)]
