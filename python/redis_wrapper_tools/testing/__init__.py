"""Containers for testing with redis_wrapper, built on testcontainers: the
PostgreSQL + redis_wrapper image, Redis, Valkey, a Redis Cluster, a network
they share, and a pytest plugin (plugin.py) with fixtures for them."""
from .cluster import RedisCluster
from .network import ContainerNetwork
from .postgres import RedisWrapperPostgres
from .redis import RedisContainer, ValkeyContainer
from .tls import Certificates

__all__ = ['Certificates', 'ContainerNetwork', 'RedisCluster', 'RedisContainer', 'RedisWrapperPostgres',
           'ValkeyContainer']
