"""The embedded interpreter: failures stay PostgreSQL errors, plpython3u coexists."""
import psycopg
import pytest

from conftest import rows, table


@pytest.fixture(scope='module')
def plpython(pg, testdb):
    with pg.connect(testdb) as conn:
        conn.execute('create extension if not exists plpython3u')
        conn.execute("create or replace function e_py_add(a int, b int) returns int "
                     "language plpython3u as $$ return a + b $$")


def test_python_side_failure_is_an_error_and_the_backend_goes_on(db, r):
    r.rpush('l', 'x')
    t = table(db, 'e_fault', 'list', 'l')
    db.execute("set redis_wrapper.fault = 'scan_next'")
    with pytest.raises(psycopg.errors.InternalError_) as e:
        db.execute('select * from %s' % t)
    assert 'RuntimeError' in str(e.value)
    db.execute('reset redis_wrapper.fault')
    assert rows(db, 'select * from %s' % t) == [('x',)]


def test_plpython_first_then_redis(pg, testdb, plpython, r):
    r.rpush('l', 'a', 'b')
    with pg.connect(testdb) as conn:
        t = table(conn, 'e_py1', 'list', 'l')
        assert rows(conn, 'select e_py_add(1, 2)') == [(3,)]
        assert rows(conn, 'select * from %s' % t) == [('a',), ('b',)]
        assert rows(conn, 'select e_py_add(3, 4)') == [(7,)]


def test_redis_first_then_plpython(pg, testdb, plpython, r):
    r.rpush('l', 'a', 'b')
    with pg.connect(testdb) as conn:
        t = table(conn, 'e_py2', 'list', 'l')
        assert rows(conn, 'select * from %s' % t) == [('a',), ('b',)]
        assert rows(conn, 'select e_py_add(2, 3)') == [(5,)]
        conn.execute("do $$ plpy.execute('select 1') $$ language plpython3u")
        assert rows(conn, 'select * from %s' % t) == [('a',), ('b',)]
