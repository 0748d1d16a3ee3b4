"""Throwaway PostgreSQL clusters and redis-servers on free loopback ports.

As root, PostgreSQL runs as the unprivileged `postgres` OS user (it refuses
to run as root, and that user cannot read /root)."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import psycopg
import redis


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def pg_config(what, pg_config_path='pg_config'):
    return subprocess.run([pg_config_path, '--' + what], check=True, text=True,
                          capture_output=True).stdout.strip()


def _wait_until(ready, proc, what, log, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError('%s exited early:\n%s' % (what, _tail(log)))
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError('%s did not start within %ss:\n%s' % (what, timeout, _tail(log)))


def _stop(proc, sig, timeout, directory):
    """Stop a server with sig (killing it after timeout seconds) and remove its directory."""
    if proc and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if directory:
        shutil.rmtree(directory, ignore_errors=True)


def _tail(path, lines=30):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return ''


class Postgres:
    """A private PostgreSQL cluster: trust auth on 127.0.0.1, superuser `postgres`."""

    def __init__(self, pg_config_path='pg_config', settings=None, resolv_conf=None):
        self.bindir = pg_config('bindir', pg_config_path)
        self.settings = settings or {}
        # A resolv.conf for the server alone (root only: a private mount namespace).
        self.resolv_conf = resolv_conf
        self.port = None
        self.proc = None
        self.dir = None
        self.os_user = 'postgres' if os.geteuid() == 0 else None

    def _run_as(self):
        if self.os_user is None:
            return {}
        return {'user': self.os_user, 'group': pwd.getpwnam(self.os_user).pw_gid, 'extra_groups': []}

    def start(self):
        self.dir = tempfile.mkdtemp(prefix='rw-pg-')
        os.chmod(self.dir, 0o755)
        if self.os_user:
            pw = pwd.getpwnam(self.os_user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = os.path.join(self.dir, 'data')
        subprocess.run([os.path.join(self.bindir, 'initdb'), '-D', data, '-U', 'postgres',
                        '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'],
                       check=True, capture_output=True, cwd=self.dir, **self._run_as())
        self.port = free_port()
        self.log = os.path.join(self.dir, 'postgres.log')
        args = [os.path.join(self.bindir, 'postgres'), '-D', data, '-p', str(self.port),
                '-k', self.dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off',
                '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
        for name, value in self.settings.items():
            args += ['-c', '%s=%s' % (name, value)]
        logf = open(self.log, 'ab')
        if self.os_user:
            os.chown(self.log, pwd.getpwnam(self.os_user).pw_uid, -1)
        run_as = self._run_as()
        if self.resolv_conf:
            if not self.os_user:
                raise RuntimeError('a private resolv.conf needs root')
            args = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                    # setpriv execs (runuser forks): the pid we signal stays postgres's.
                    'mount --bind "$0" /etc/resolv.conf && u=$1 && shift && '
                    'exec setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"',
                    self.resolv_conf, self.os_user] + args
            run_as = {}
        self.proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT, cwd=self.dir,
                                     start_new_session=True, **run_as)
        logf.close()
        _wait_until(self._accepts, self.proc, 'PostgreSQL', self.log)
        return self

    def _accepts(self):
        try:
            psycopg.connect(self.dsn(), connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            return False

    def dsn(self, dbname='postgres'):
        return 'host=127.0.0.1 port=%d user=postgres dbname=%s' % (self.port, dbname)

    def connect(self, dbname='postgres', **kw):
        return psycopg.connect(self.dsn(dbname), autocommit=True, **kw)

    def stop(self):
        _stop(self.proc, signal.SIGINT, 30, self.dir)     # SIGINT: fast shutdown


class Redis:
    """A private redis-server without persistence, on a TCP port and a unix socket."""

    def __init__(self, extra_args=(), port=None, password=None):
        self.extra_args = list(extra_args)
        self.port = port                    # None: a free one
        self.password = password
        self.proc = None
        self.dir = None

    def start(self):
        self.dir = tempfile.mkdtemp(prefix='rw-redis-')
        os.chmod(self.dir, 0o755)
        self.port = self.port or free_port()
        self.socket = os.path.join(self.dir, 'redis.sock')
        self.log = os.path.join(self.dir, 'redis.log')
        # RW_REDIS_SERVER picks another Redis-compatible server (valkey-server).
        binary = os.environ.get('RW_REDIS_SERVER', 'redis-server')
        args = [shutil.which(binary) or binary,
                '--port', str(self.port), '--bind', '127.0.0.1', '--save', '',
                '--appendonly', 'no', '--dir', self.dir, '--logfile', self.log,
                '--unixsocket', self.socket, '--unixsocketperm', '777'] + self.extra_args
        if self.password is not None:
            args += ['--requirepass', self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        _wait_until(self._pings, self.proc, 'redis-server', self.log)
        return self

    def _pings(self):
        try:
            return self.client().ping()
        except redis.exceptions.ConnectionError:
            return False

    @property
    def url(self):
        return 'redis://127.0.0.1:%d' % self.port

    def client(self, **kw):
        kw.setdefault('password', self.password)
        return redis.Redis(host='127.0.0.1', port=self.port, **kw)

    def stop(self):
        _stop(self.proc, signal.SIGTERM, 10, self.dir)
