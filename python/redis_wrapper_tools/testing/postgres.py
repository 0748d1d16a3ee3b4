"""PostgreSQL + redis_wrapper in a container: the image `./dev image` builds
(or one built FROM the official postgres image, see containers/)."""
import contextlib
import os
import uuid

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from .. import spec_data
from .member import Member

DEFAULT_IMAGE = 'redis-wrapper-postgres:17'


class RedisWrapperPostgres(Member):
    """The image with its official-image interface: POSTGRES_USER,
    POSTGRES_PASSWORD, POSTGRES_DB; ready once it accepts TCP connections
    (the init scripts of /docker-entrypoint-initdb.d have run by then).

    image: default $REDIS_WRAPPER_PG_IMAGE, else redis-wrapper-postgres:17.
    init_scripts: {name: SQL or shell text} put in /docker-entrypoint-initdb.d."""

    def __init__(self, image=None, username='postgres', password='postgres', dbname='postgres',
                 network=None, alias='postgres', init_scripts=None, **kw):
        super().__init__(image or os.environ.get('REDIS_WRAPPER_PG_IMAGE', DEFAULT_IMAGE),
                         network=network, alias=alias, **kw)
        self.username, self.password, self.dbname = username, password, dbname
        self.with_exposed_ports(5432)
        self.with_envs(POSTGRES_USER=username, POSTGRES_DB=dbname)
        if password is not None:
            self.with_env('POSTGRES_PASSWORD', password)
        for name, text in (init_scripts or {}).items():
            self.with_copy_into_container(text.encode(), '/docker-entrypoint-initdb.d/' + name, 0o755)

    def ready(self):
        # Over TCP: while the init scripts run the server listens on its socket only.
        return self.exec(['pg_isready', '-q', '-h', '127.0.0.1', '-p', '5432']).exit_code == 0

    def dsn(self, dbname=None, user=None, password=None):
        """A libpq connection string from the machine running the tests."""
        return make_conninfo(
            host=self.get_container_host_ip(), port=self.get_exposed_port(5432),
            user=user or self.username, password=self.password if password is None else password,
            dbname=dbname or self.dbname)

    def connect(self, dbname=None, autocommit=True, **kw):
        return psycopg.connect(self.dsn(dbname, kw.pop('user', None), kw.pop('password', None)),
                               autocommit=autocommit, **kw)

    def create_database(self, name):
        with self.connect() as conn:
            conn.execute(sql.SQL('create database {}').format(sql.Identifier(name)))
        return name

    def drop_database(self, name):
        with self.connect() as conn:
            conn.execute(sql.SQL('drop database if exists {} with (force)').format(sql.Identifier(name)))

    @contextlib.contextmanager
    def database(self, conn_url=None):
        """A fresh database, with the spec's set-up pointed at conn_url if given:
        yields an autocommit connection to it, and drops it afterwards."""
        name = self.create_database('test_%s' % uuid.uuid4().hex[:12])
        try:
            if conn_url is not None:
                self.setup(conn_url, dbname=name)
            with self.connect(name) as conn:
                yield conn
        finally:
            self.drop_database(name)

    def setup(self, conn_url, dbname=None):
        """The spec's set-up in dbname: the extension, the wrapper, server
        redis_server at conn_url (as seen from this container) and schema redis."""
        with self.connect(dbname) as conn:
            conn.execute(spec_data.SETUP_SQL.format(conn_url=conn_url.replace("'", "''")))

    def copy_file(self, content, path, mode=0o644):
        """Put a file (bytes or text) into the container, readable by the
        postgres OS user: a CA for tls_ca_file, say."""
        self.copy_into_container(content.encode() if isinstance(content, str) else content, path, mode)
        return path
