"""Credentials across containers: a Redis with a password and an ACL user,
reached through user mappings; wrong credentials fail with 28000 and no
message carries a password."""
import psycopg
import pytest

from redis_wrapper_tools.testing import RedisContainer

ADMIN_PASSWORD, APP_PASSWORD = 'admin-pw-7f3a', 'app-pw-91c2'


@pytest.fixture(scope='module')
def secured(redis_wrapper_network):
    container = RedisContainer(network=redis_wrapper_network, alias='redis-auth', password=ADMIN_PASSWORD,
                               args=['--user', 'app', 'on', '>' + APP_PASSWORD, '~app:*', '+@all']).start()
    with container.get_client() as client:
        client.rpush('app:l', 'for app')
        client.rpush('other', 'not for app')
    yield container
    container.stop()


@pytest.fixture
def db(redis_wrapper_pg, secured):
    with redis_wrapper_pg.database(secured.url()) as conn:
        conn.execute("create foreign table redis.app_l (element text) server redis_server "
                     "options (src_type 'list', src_key 'app:l')")
        conn.execute("create foreign table redis.other (element text) server redis_server "
                     "options (src_type 'list', src_key 'other')")
        yield conn


def mapping(db, role, user, password):
    db.execute("create user mapping for %s server redis_server options (user '%s', password '%s')"
               % (role, user, password))


def test_a_user_mapping_supplies_the_credentials(db):
    mapping(db, 'current_user', 'app', APP_PASSWORD)
    assert db.execute('select * from redis.app_l').fetchall() == [('for app',)]


def test_acl_limits_what_the_mapping_may_read(db):
    mapping(db, 'current_user', 'app', APP_PASSWORD)
    with pytest.raises(psycopg.Error) as e:
        db.execute('select * from redis.other').fetchall()
    assert e.value.sqlstate == '28000'


def test_without_credentials_redis_refuses(db):
    with pytest.raises(psycopg.Error) as e:
        db.execute('select * from redis.app_l').fetchall()
    assert e.value.sqlstate == '28000'


def test_a_wrong_password_fails_without_showing_it(db):
    mapping(db, 'current_user', 'app', 'wrong-pw-55e1')
    with pytest.raises(psycopg.Error) as e:
        db.execute('select * from redis.app_l').fetchall()
    assert e.value.sqlstate == '28000'
    shown = str(e.value) + str(e.value.diag.message_detail) + str(e.value.diag.message_hint)
    assert 'wrong-pw-55e1' not in shown and APP_PASSWORD not in shown


def test_an_ordinary_role_reads_through_its_own_mapping(db):
    db.execute('create role app_role')
    db.execute('grant usage on foreign server redis_server to app_role')
    db.execute('grant usage on schema redis to app_role')
    db.execute('grant select on redis.app_l to app_role')
    mapping(db, 'app_role', 'app', APP_PASSWORD)
    db.execute('set role app_role')
    assert db.execute('select * from redis.app_l').fetchall() == [('for app',)]
