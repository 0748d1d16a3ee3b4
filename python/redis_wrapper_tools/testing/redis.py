"""Redis and Valkey in containers, plain, with a password, or with TLS."""
import os

import redis

from .member import Member

PORT, TLS_PORT = 6379, 6380


class RedisContainer(Member):
    """redis-server without persistence on port 6379 (and TLS on 6380).

    image: default $REDIS_WRAPPER_REDIS_IMAGE, else redis:7 (any image with
    redis-server on its PATH).  password: the default user's (requirepass).
    tls: a Certificates whose server certificate names alias.  args: more
    server arguments, such as ACL users ('--user', 'app on >secret ~* +@all')."""

    server = 'redis-server'
    image_variable, default_image = 'REDIS_WRAPPER_REDIS_IMAGE', 'redis:7'

    def __init__(self, image=None, network=None, alias='redis', password=None, tls=None, args=(), **kw):
        super().__init__(image or os.environ.get(self.image_variable, self.default_image),
                         network=network, alias=alias, **kw)
        self.password, self.tls = password, tls
        command = [self.server, '--port', str(PORT), '--protected-mode', 'no', '--save', '',
                   '--appendonly', 'no', '--dir', '/tmp']
        if password is not None:
            command += ['--requirepass', password]
        if tls is not None:
            for name in ('ca.crt', 'server.crt', 'server.key'):
                self.with_copy_into_container(tls.read(name), '/tls/' + name, 0o644)
            command += ['--tls-port', str(TLS_PORT), '--tls-cert-file', '/tls/server.crt',
                        '--tls-key-file', '/tls/server.key', '--tls-ca-cert-file', '/tls/ca.crt',
                        '--tls-auth-clients', 'optional']
            self.with_exposed_ports(TLS_PORT)
        self.with_command(command + list(args))
        self.with_exposed_ports(PORT)

    def ready(self):
        with self.get_client(socket_timeout=5) as client:
            return client.ping()

    def get_client(self, **kw):
        """A redis-py client from the machine running the tests (plain port)."""
        kw.setdefault('password', self.password)
        return redis.Redis(host=self.get_container_host_ip(), port=self.get_exposed_port(PORT), **kw)

    def url(self, tls=False, db=0):
        """Its URL from containers on its network (a conn_url), without credentials."""
        if tls:
            return 'rediss://%s:%d/%d' % (self.alias, TLS_PORT, db)
        return 'redis://%s:%d/%d' % (self.alias, PORT, db)

    @property
    def cli(self):
        return self.server.replace('-server', '-cli')


class ValkeyContainer(RedisContainer):
    """valkey-server, as RedisContainer; image default $REDIS_WRAPPER_VALKEY_IMAGE,
    else valkey/valkey:8."""

    server = 'valkey-server'
    image_variable, default_image = 'REDIS_WRAPPER_VALKEY_IMAGE', 'valkey/valkey:8'

    def __init__(self, image=None, network=None, alias='valkey', **kw):
        super().__init__(image, network=network, alias=alias, **kw)
