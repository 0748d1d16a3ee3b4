"""Cancel and statement_timeout reach a scan blocked on Redis."""
import threading
import time

import psycopg
import pytest

from conftest import eventually, rows, table


# Slow: the test after each of these waits the pause out (in r's FLUSHALL).
PAUSE_MS = 2000


@pytest.fixture
def paused(r):
    """Redis answers no client for PAUSE_MS (CLIENT UNPAUSE waits that out too)."""
    r.rpush('l', 'x')
    r.execute_command('CLIENT', 'PAUSE', PAUSE_MS, 'ALL')
    yield


@pytest.mark.slow
def test_statement_timeout_interrupts_a_blocked_read(db, r, paused):
    t = table(db, 'i_timeout', 'list', 'l')
    db.execute("set statement_timeout = '300ms'")
    start = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled) as e:
        db.execute('select * from %s' % t)
    elapsed = time.monotonic() - start
    assert 'statement timeout' in str(e.value)
    assert elapsed < 0.3 + 0.5, elapsed
    db.execute('reset statement_timeout')
    assert rows(db, 'select * from %s' % t) == [('x',)]


def signal_after(pg, testdb, pid, function, delay=0.3):
    """Call function(pid) from another session after delay; returns when it was sent."""
    sent = []
    other = pg.connect(testdb)

    def send():
        time.sleep(delay)
        sent.append(time.monotonic())
        other.execute('select %s(%%s)' % function, (pid,))
        other.close()

    threading.Thread(target=send).start()
    return sent


@pytest.mark.slow
def test_cancel_interrupts_a_blocked_read(pg, testdb, db, r, paused):
    t = table(db, 'i_cancel', 'list', 'l')
    pid = db.execute('select pg_backend_pid()').fetchone()[0]
    sent = signal_after(pg, testdb, pid, 'pg_cancel_backend')
    with pytest.raises(psycopg.errors.QueryCanceled):
        db.execute('select * from %s' % t)
    latency = time.monotonic() - sent[0]
    print('cancel latency: %.1f ms' % (latency * 1000))
    assert latency < 0.1
    assert rows(db, 'select * from %s' % t) == [('x',)]


@pytest.mark.slow
def test_terminate_interrupts_a_blocked_read(pg, testdb, db, r, paused):
    t = table(db, 'i_terminate', 'list', 'l')
    pid = db.execute('select pg_backend_pid()').fetchone()[0]
    sent = signal_after(pg, testdb, pid, 'pg_terminate_backend')
    with pytest.raises(psycopg.OperationalError):
        db.execute('select * from %s' % t)
    assert time.monotonic() - sent[0] < 0.1
    with pg.connect(testdb) as other:
        assert rows(other, 'select count(*) from pg_stat_activity where pid = %s', pid) == [(0,)]


def test_rollback_mid_scan_releases_the_scan(db, r):
    r.rpush('l', *range(100_000))
    t = table(db, 'i_cursor', 'list', 'l')
    pid = db.execute('select pg_backend_pid()').fetchone()[0]
    clients_before = {c['id'] for c in r.client_list()}
    db.execute('begin')
    db.execute('declare c cursor for select element from %s' % t)
    assert db.execute('fetch 5 from c').fetchall() == [('0',), ('1',), ('2',), ('3',), ('4',)]
    assert len({c['id'] for c in r.client_list()} - clients_before) == 1     # the open scan
    db.execute('rollback')
    # The memory-context callback closed the scan's socket with the aborted query.
    assert eventually(lambda: {c['id'] for c in r.client_list()} - clients_before, set()) == set()
    assert rows(db, 'select count(*) from %s' % t) == [(100_000,)]
    assert pid == db.execute('select pg_backend_pid()').fetchone()[0]
