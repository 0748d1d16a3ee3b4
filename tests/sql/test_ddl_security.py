"""The DDL-time column check: it covers every DDL that shapes a Redis foreign table's
columns, nothing another role creates can stand in for it, and another module that
exports our entry points' names cannot make it take that module's tables for ours."""
import os
import shutil
import subprocess

import psycopg
import pytest
from psycopg import sql

from conftest import rows, table
from redis_wrapper_tools import spec_data
from redis_wrapper_tools.servers import pg_config as query_pg_config

HERE = os.path.dirname(os.path.abspath(__file__))
ATTACKER = 'rw_ddl_attacker'


@pytest.fixture
def fresh_db(pg, redis_server):
    """A database of its own with the extension set up as in the spec (in schema public)."""
    name = 'rw_ddl_security'
    with pg.connect() as conn:
        conn.execute('drop database if exists %s with (force)' % name)
        conn.execute('create database %s' % name)
    try:
        with pg.connect(name) as conn:
            conn.execute(spec_data.SETUP_SQL.format(conn_url=redis_server.url))
        yield name
    finally:
        with pg.connect() as conn:
            conn.execute('drop database %s with (force)' % name)


@pytest.fixture
def attacker(pg, fresh_db):
    """A plain role that may create objects in the extension's schema."""
    with pg.connect() as conn:
        conn.execute('drop role if exists %s' % ATTACKER)
        conn.execute('create role %s login' % ATTACKER)
    try:
        with pg.connect(fresh_db) as conn:
            conn.execute('grant create on schema public to %s' % ATTACKER)
        yield pg.connect(fresh_db, user=ATTACKER)
    finally:
        with pg.connect(fresh_db) as conn:
            conn.execute('drop owned by %s' % ATTACKER)
        with pg.connect() as conn:
            conn.execute('drop role %s' % ATTACKER)


# What the attacker's stand-in does when it runs: note who ran it, and make the attacker superuser.
PAYLOAD = ("insert into public.rw_hijacked values (current_user); "
           "execute 'alter role %s superuser';" % ATTACKER)

ATTACKS = {
    # An exact match for the oid the old trigger passed to redis_wrapper_check_table(regclass).
    'check_table_oid_overload': """
        create function public.redis_wrapper_check_table(oid) returns void language plpgsql
        as $$ begin %s end $$""" % PAYLOAD,
    # The old trigger's unqualified call, for a superuser whose search_path puts public first.
    'ddl_commands_shadow': """
        create function public.pg_event_trigger_ddl_commands(out objid oid, out object_type text)
        returns setof record language plpgsql as $$ begin %s return; end $$""" % PAYLOAD,
}


@pytest.mark.parametrize('attack', ATTACKS)
def test_event_trigger_runs_nothing_another_role_created(pg, fresh_db, attacker, attack):
    with attacker as conn:
        conn.execute('create table public.rw_hijacked (who name)')
        conn.execute(ATTACKS[attack])
    with pg.connect(fresh_db) as su:
        su.execute('set search_path = public, pg_catalog')
        su.execute("create foreign table redis.victim (element text) server redis_server "
                   "options (src_type 'list', src_key 'k')")
        assert rows(su, 'select * from public.rw_hijacked') == []
        assert rows(su, 'select rolsuper from pg_roles where rolname = %s', ATTACKER) == [(False,)]
        with pytest.raises(psycopg.errors.FdwInvalidColumnName):      # and the check itself ran
            su.execute("create foreign table redis.victim2 (bogus text) server redis_server "
                       "options (src_type 'list', src_key 'k')")


@pytest.fixture
def impostor(pg_config, tmp_path):
    """rw_impostor.so: another FDW module exporting redis_fdw_handler and redis_fdw_validator
    (as the classic redis_fdw does), installed into pkglibdir for this test only."""
    built = tmp_path / 'rw_impostor.so'
    subprocess.run([os.environ.get('CC', 'cc'), '-shared', '-fPIC', '-O2',
                    '-I' + query_pg_config('includedir-server', pg_config),
                    '-o', str(built), os.path.join(HERE, 'impostor', 'impostor.c')],
                   check=True, capture_output=True)
    installed = os.path.join(query_pg_config('pkglibdir', pg_config), 'rw_impostor.so')
    shutil.copy(built, installed)
    os.chmod(installed, 0o755)
    try:
        yield 'rw_impostor'
    finally:
        os.unlink(installed)


def test_other_module_with_our_symbol_names_is_not_taken_for_ours(pg, fresh_db, impostor, r):
    with pg.connect(fresh_db) as su:
        su.execute(sql.SQL("""
            create function classic_handler() returns fdw_handler
              as {lib}, 'redis_fdw_handler' language c strict;
            create function classic_validator(text[], oid) returns void
              as {lib}, 'redis_fdw_validator' language c strict;
            create foreign data wrapper classic handler classic_handler validator classic_validator;
            create server classic_server foreign data wrapper classic""").format(
            lib=sql.Literal('$libdir/' + impostor)))
    r.rpush('l', 'a', 'b')
    # A fresh backend that loads the impostor first, then ours (both RTLD_GLOBAL).
    with pg.connect(fresh_db) as conn:
        conn.execute(sql.SQL('load {}').format(sql.Literal(impostor)))
        conn.execute("create foreign table classic_table (whatever int) server classic_server "
                     "options (tabletype 'list', singleton_key 'x')")
        t = table(conn, 'ours', 'list', 'l')
        assert rows(conn, 'select * from %s' % t) == [('a',), ('b',)]
        with pytest.raises(psycopg.errors.FdwInvalidColumnName):
            table(conn, 'ours_bad', 'list', 'l', columns='bogus text')


@pytest.fixture
def cleanup(db):
    """Tables (partitioned or inheritance parents) dropped with their children after the test."""
    names = []
    yield names
    for name in names:
        db.execute('drop table if exists %s cascade' % name)


def list_table_sql(name, suffix=''):
    return ("create foreign table %s %s server redis_server options (src_type 'list', src_key 'k')"
            % (name, suffix))


@pytest.mark.parametrize('ddl,error', [
    ('alter table redis.ddl_p add column bogus int', psycopg.errors.FdwInvalidColumnName),
    ('alter table redis.ddl_p rename column items to bogus', psycopg.errors.FdwInvalidColumnName),
    ('alter table redis.ddl_p alter column items type json', psycopg.errors.FdwInvalidDataType),
])
def test_alter_of_partitioned_parent_checks_foreign_partitions(db, cleanup, ddl, error):
    cleanup.append('redis.ddl_p')
    db.execute('drop table if exists redis.ddl_p cascade')
    db.execute('create table redis.ddl_p (key text, items jsonb) partition by list (key)')
    db.execute("create foreign table redis.ddl_p_a partition of redis.ddl_p for values in ('a') "
               "server redis_server options (src_type 'multi_set', src_key 's:*')")
    with pytest.raises(error) as e:
        db.execute(ddl)
    assert '"ddl_p_a"' in str(e.value)


def test_alter_of_inheritance_parent_checks_foreign_children(db, cleanup):
    cleanup.append('redis.ddl_q')
    db.execute('drop table if exists redis.ddl_q cascade')
    db.execute('create table redis.ddl_q (element text)')
    db.execute('create table redis.ddl_q_mid () inherits (redis.ddl_q)')
    db.execute(list_table_sql('redis.ddl_q_leaf', '() inherits (redis.ddl_q_mid)'))
    with pytest.raises(psycopg.errors.FdwInvalidColumnName) as e:
        db.execute('alter table redis.ddl_q add column bogus int')
    assert '"ddl_q_leaf"' in str(e.value)


def test_partition_of_parent_with_wrong_columns_is_rejected_at_create(db, cleanup):
    cleanup.append('redis.ddl_w')
    db.execute('drop table if exists redis.ddl_w cascade')
    db.execute('create table redis.ddl_w (element text, extra int) partition by list (element)')
    with pytest.raises(psycopg.errors.FdwInvalidColumnName):
        db.execute(list_table_sql('redis.ddl_w_a', "partition of redis.ddl_w for values in ('a')"))


def test_attach_partition_checks_the_foreign_table(db, cleanup):
    cleanup.append('redis.ddl_att')
    db.execute('drop table if exists redis.ddl_att cascade')
    db.execute('drop foreign table if exists redis.ddl_att_a')
    db.execute('alter event trigger redis_wrapper_ddl_check disable')
    try:
        db.execute(list_table_sql('redis.ddl_att_a', '(bogus text)'))
    finally:
        db.execute('alter event trigger redis_wrapper_ddl_check enable')
    db.execute('create table redis.ddl_att (bogus text) partition by list (bogus)')
    with pytest.raises(psycopg.errors.FdwInvalidColumnName) as e:
        db.execute("alter table redis.ddl_att attach partition redis.ddl_att_a for values in ('a')")
    assert '"ddl_att_a"' in str(e.value)
    db.execute('drop foreign table redis.ddl_att_a')


@pytest.mark.parametrize('ddl,error', [
    ('alter foreign table {} rename column element to bogus', psycopg.errors.FdwInvalidColumnName),
    ('alter table {} rename column element to bogus', psycopg.errors.FdwInvalidColumnName),
    ('alter table {} add column bogus int', psycopg.errors.FdwInvalidColumnName),
    ('alter table {} alter column element type jsonb[]', psycopg.errors.FdwInvalidDataType),
])
def test_alter_of_the_foreign_table_itself_is_checked(db, ddl, error):
    t = table(db, 'ddl_self', 'list', 'k')
    with pytest.raises(error):
        db.execute(ddl.format(t))


def test_alter_of_parent_keeping_valid_shapes_works(db, cleanup, r):
    cleanup.append('redis.ddl_ok')
    db.execute('drop table if exists redis.ddl_ok cascade')
    db.execute('create table redis.ddl_ok (key text) partition by list (key)')
    db.execute('create table redis.ddl_ok_local partition of redis.ddl_ok for values in (\'local\')')
    db.execute("create foreign table redis.ddl_ok_h partition of redis.ddl_ok default "
               "server redis_server options (src_type 'hash', src_key 'h')")
    db.execute('alter table redis.ddl_ok add column value text')
    db.execute('alter table redis.ddl_ok_local add constraint local_key check (key = \'local\')')
    r.hset('h', 'f', 'v')
    assert rows(db, 'select * from redis.ddl_ok') == [('f', 'v')]
