"""conn_url_id: the URL read from vault.decrypted_secrets (a stand-in of Supabase Vault)."""
import uuid

import psycopg
import pytest
from psycopg import sql

from conftest import rows, table


@pytest.fixture
def vault(db, redis_server):
    db.execute('drop schema if exists vault cascade')
    db.execute('create schema vault')
    db.execute("""
        create table vault.secrets (
          id uuid primary key default gen_random_uuid(), name text unique, description text,
          secret text not null, key_id uuid default gen_random_uuid(), nonce bytea,
          created_at timestamptz default now(), updated_at timestamptz default now())""")
    db.execute("""
        create view vault.decrypted_secrets as
          select id, name, description, secret, secret as decrypted_secret, key_id, nonce,
                 created_at, updated_at from vault.secrets""")
    key_id, id_ = db.execute("insert into vault.secrets (name, secret) values ('redis_conn_url', %s) "
                             "returning key_id, id", (redis_server.url,)).fetchone()
    yield key_id, id_
    db.execute('drop schema vault cascade')


def server_with(db, name, url_id):
    db.execute(sql.SQL('drop server if exists {} cascade').format(sql.Identifier(name)))
    db.execute(sql.SQL('create server {} foreign data wrapper redis_wrapper options (conn_url_id {})')
               .format(sql.Identifier(name), sql.Literal(str(url_id))))


@pytest.mark.parametrize('by', ['key_id', 'id', 'name'])
def test_url_from_vault(db, r, vault, by):
    key_id, id_ = vault
    server_with(db, 'vault_srv', {'key_id': key_id, 'id': id_, 'name': 'redis_conn_url'}[by])
    r.rpush('l', 'from', 'vault')
    t = table(db, 'v_list', 'list', 'l', server='vault_srv')
    assert rows(db, 'select * from %s' % t) == [('from',), ('vault',)]


def test_unknown_secret(db, r, vault):
    server_with(db, 'vault_srv', uuid.uuid4())
    t = table(db, 'v_list', 'list', 'l', server='vault_srv')
    with pytest.raises(psycopg.errors.UndefinedObject) as e:
        db.execute('select * from %s' % t)
    assert 'no Vault secret' in str(e.value)


def test_role_that_may_not_read_the_secret(db, r, vault):
    server_with(db, 'vault_srv', 'redis_conn_url')
    t = table(db, 'v_list', 'list', 'l', server='vault_srv')
    db.execute('drop role if exists vault_outsider')
    db.execute('create role vault_outsider')
    db.execute('grant usage on schema redis, vault to vault_outsider')
    db.execute('grant select on %s to vault_outsider' % t)
    db.execute('set role vault_outsider')
    try:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as e:
            db.execute('select * from %s' % t)
        assert 'decrypted_secrets' in str(e.value)
    finally:
        db.execute('reset role')
        db.execute('drop owned by vault_outsider')
        db.execute('drop role vault_outsider')


def test_no_vault_at_all(db, r):
    db.execute('drop schema if exists vault cascade')
    server_with(db, 'vault_srv', 'redis_conn_url')
    t = table(db, 'v_list', 'list', 'l', server='vault_srv')
    with pytest.raises(psycopg.errors.UndefinedObject) as e:
        db.execute('select * from %s' % t)
    assert 'vault.decrypted_secrets' in str(e.value) and 'conn_url' in e.value.diag.message_hint


def test_a_view_reads_the_secret_with_its_owners_rights(db, r, vault):
    """As for user mappings: the view's owner (here a superuser) is who reads Vault,
    not the role selecting from the view, which may not read it itself."""
    server_with(db, 'vault_srv', 'redis_conn_url')
    r.rpush('l', 'owner-only')
    t = table(db, 'v_list', 'list', 'l', server='vault_srv')
    db.execute('create view redis.v_list_view as select * from %s' % t)
    db.execute('drop role if exists vault_reader')
    db.execute('create role vault_reader')
    db.execute('grant usage on schema redis to vault_reader')
    db.execute('grant select on redis.v_list_view to vault_reader')
    db.execute('set role vault_reader')
    try:
        assert rows(db, 'select * from redis.v_list_view') == [('owner-only',)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute('select * from vault.decrypted_secrets')
    finally:
        db.execute('reset role')
        db.execute('drop view redis.v_list_view')
        db.execute('drop owned by vault_reader')
        db.execute('drop role vault_reader')


def test_a_secret_url_naming_a_user_without_password_is_refused(db, r, vault, redis_server):
    db.execute("update vault.secrets set secret = %s where name = 'redis_conn_url'",
               (redis_server.url.replace('redis://', 'redis://ro@'),))
    server_with(db, 'vault_srv', 'redis_conn_url')
    t = table(db, 'v_list', 'list', 'l', server='vault_srv')
    with pytest.raises(psycopg.errors.FdwInvalidAttributeValue) as e:
        db.execute('select * from %s' % t)
    assert 'without a password' in str(e.value)
