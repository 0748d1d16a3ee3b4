"""rediss:// between containers: the server's certificate names its alias on
the network; PostgreSQL verifies it with a CA file copied into its container."""
import psycopg
import pytest

from redis_wrapper_tools.testing import Certificates, RedisContainer

CA = '/etc/redis-wrapper/ca.crt'


@pytest.fixture(scope='module')
def tls_redis(redis_wrapper_network, redis_wrapper_pg):
    certs = Certificates('redis-tls')
    try:
        container = RedisContainer(network=redis_wrapper_network, alias='redis-tls', tls=certs).start()
        redis_wrapper_pg.copy_file(certs.read('ca.crt'), CA)
        with container.get_client() as client:
            client.rpush('l', 'secure')
        yield container
        container.stop()
    finally:
        certs.cleanup()


@pytest.fixture
def db(redis_wrapper_pg):
    with redis_wrapper_pg.database() as conn:
        conn.execute('create extension redis_wrapper')
        conn.execute('create foreign data wrapper redis_wrapper handler redis_fdw_handler '
                     'validator redis_fdw_validator')
        yield conn


def read(db, url, **options):
    opts = ''.join(", %s '%s'" % item for item in options.items())
    db.execute("create server s foreign data wrapper redis_wrapper options (conn_url '%s'%s)" % (url, opts))
    db.execute("create foreign table l (element text) server s options (src_type 'list', src_key 'l')")
    return db.execute('select * from l').fetchall()


def test_verified_tls_by_name(db, tls_redis):
    assert read(db, tls_redis.url(tls=True), tls_ca_file=CA) == [('secure',)]


def test_system_cas_do_not_know_the_test_ca(db, tls_redis):
    with pytest.raises(psycopg.Error) as e:
        read(db, tls_redis.url(tls=True))
    assert e.value.sqlstate == 'HV00N'


def test_an_address_the_certificate_does_not_name_is_refused(db, tls_redis):
    with pytest.raises(psycopg.Error) as e:
        read(db, 'rediss://%s:6380' % tls_redis.address, tls_ca_file=CA)
    assert e.value.sqlstate == 'HV00N'


def test_verification_turned_off(db, tls_redis):
    assert read(db, 'rediss://%s:6380' % tls_redis.address, tls_verify='false') == [('secure',)]
