"""The PostgreSQL + redis_wrapper image behaves like the official postgres
image: POSTGRES_PASSWORD is required and enforced, POSTGRES_DB is created, the
files of /docker-entrypoint-initdb.d run, and the extension is there."""
import psycopg
import pytest

from redis_wrapper_tools.testing import RedisWrapperPostgres

INIT_SQL = """create extension redis_wrapper;
create foreign data wrapper redis_wrapper handler redis_fdw_handler validator redis_fdw_validator;
create server redis_server foreign data wrapper redis_wrapper options (conn_url 'redis://redis:6379');
"""
# Sourced or run by the entrypoint with psql on the server's socket.
INIT_SH = """#!/bin/sh
set -e
psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -c "create table ran_by_script (who text)" \
     -c "insert into ran_by_script values (current_user)"
"""


@pytest.fixture(scope='module')
def initialized(redis_wrapper_engine):
    container = RedisWrapperPostgres(username='app_owner', password='owner-pw', dbname='app',
                                     init_scripts={'10-wrapper.sql': INIT_SQL, '20-table.sh': INIT_SH}).start()
    yield container
    container.stop()


def test_create_extension_works_out_of_the_box(redis_wrapper_pg):
    with redis_wrapper_pg.database() as db:
        db.execute('create extension redis_wrapper')
        assert db.execute("select extversion from pg_extension where extname = 'redis_wrapper'").fetchone()


def test_init_scripts_ran_in_postgres_db_as_postgres_user(initialized):
    with initialized.connect('app') as db:
        assert db.execute('select current_user, current_database()').fetchone() == ('app_owner', 'app')
        assert db.execute("select srvoptions from pg_foreign_server where srvname = 'redis_server'"
                          ).fetchone() == (['conn_url=redis://redis:6379'],)
        assert db.execute('select who from ran_by_script').fetchall() == [('app_owner',)]


def test_the_password_is_enforced(initialized):
    with pytest.raises(psycopg.OperationalError, match='password authentication failed'):
        initialized.connect('app', password='not-the-password')


def test_no_password_no_start(redis_wrapper_engine):
    container = RedisWrapperPostgres(password=None)
    with pytest.raises(RuntimeError, match='POSTGRES_PASSWORD is not set'):
        container.start()
