"""The pytest plugin of redis_wrapper_tools.testing, registered through the
pytest11 entry point: installing the tooling gives a project these fixtures.

    def test_x(redis_wrapper_db, redis_container):
        redis_container.get_client().rpush('l', 'a')
        assert redis_wrapper_db.execute("...").fetchall() == ...

Where no container engine answers, every test using them is skipped with the
reason; with --redis-wrapper-require-engine (or REDIS_WRAPPER_REQUIRE_ENGINE=1,
for CI) it fails instead."""
import os

import pytest

from .cluster import RedisCluster
from .network import ContainerNetwork
from .postgres import RedisWrapperPostgres
from .redis import RedisContainer, ValkeyContainer


def pytest_addoption(parser):
    parser.addoption('--redis-wrapper-require-engine', action='store_true',
                     help='fail, instead of skipping, the tests that need a container engine where none answers')


def engine_problem():
    """None when a Docker-compatible engine answers, else why not."""
    try:
        from testcontainers.core.docker_client import DockerClient
        DockerClient().client.ping()
        return None
    except Exception as e:      # docker-py's errors, missing sockets, refused connections alike
        return '%s: %s' % (type(e).__name__, e)


@pytest.fixture(scope='session')
def redis_wrapper_engine(request):
    problem = engine_problem()
    if problem:
        why = ('no container engine answers (%s); set DOCKER_HOST, or start Docker or '
               '`podman system service`' % problem)
        if request.config.getoption('--redis-wrapper-require-engine') or \
                os.environ.get('REDIS_WRAPPER_REQUIRE_ENGINE') == '1':
            pytest.fail(why, pytrace=False)
        pytest.skip(why)


@pytest.fixture(scope='session')
def redis_wrapper_network(redis_wrapper_engine):
    """A container network: the containers below reach each other by alias on it."""
    network = ContainerNetwork().create()
    yield network
    network.remove()


@pytest.fixture(scope='session')
def redis_wrapper_pg(redis_wrapper_network):
    """PostgreSQL + redis_wrapper, alias 'postgres' ($REDIS_WRAPPER_PG_IMAGE)."""
    container = RedisWrapperPostgres(network=redis_wrapper_network).start()
    yield container
    container.stop()


@pytest.fixture(scope='session')
def redis_container(redis_wrapper_network):
    """Redis, alias 'redis' ($REDIS_WRAPPER_REDIS_IMAGE); conn_url: redis_container.url()."""
    container = RedisContainer(network=redis_wrapper_network).start()
    yield container
    container.stop()


@pytest.fixture(scope='session')
def valkey_container(redis_wrapper_network):
    """Valkey, alias 'valkey' ($REDIS_WRAPPER_VALKEY_IMAGE)."""
    container = ValkeyContainer(network=redis_wrapper_network).start()
    yield container
    container.stop()


@pytest.fixture(scope='session')
def redis_cluster(redis_wrapper_network):
    """A Redis Cluster of three containers, redis-cluster-1..3; seeds: redis_cluster.url()."""
    with RedisCluster(redis_wrapper_network) as cluster:
        yield cluster


@pytest.fixture
def redis_wrapper_db(redis_wrapper_pg, redis_container):
    """An autocommit psycopg connection to a fresh database with the spec's
    set-up (extension, wrapper, server redis_server at redis_container, schema
    redis), on an emptied Redis; the database is dropped afterwards."""
    with redis_container.get_client() as client:
        client.flushall()
    with redis_wrapper_pg.database(redis_container.url()) as conn:
        yield conn


@pytest.fixture
def redis_wrapper_cluster_db(redis_wrapper_pg, redis_cluster):
    """As redis_wrapper_db, with redis_server at redis_cluster's seeds, on an
    emptied cluster."""
    redis_cluster.flushall()
    with redis_wrapper_pg.database(redis_cluster.url()) as conn:
        yield conn
