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


def server_binary():
    """The redis-server to run: RW_REDIS_SERVER picks another Redis-compatible
    server (valkey-server)."""
    binary = os.environ.get('RW_REDIS_SERVER', 'redis-server')
    return shutil.which(binary) or binary


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
        args = [server_binary(),
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


def free_cluster_port():
    """A free port whose cluster bus port (10000 higher) is free too: at most 55535."""
    import random
    while True:
        port = random.randint(20000, 55535)
        try:
            for p in (port, port + 10000):
                with socket.socket() as s:
                    s.bind(('127.0.0.1', p))
            return port
        except OSError:
            continue


def redis_cli():
    """The command-line client beside the server binary RW_REDIS_SERVER names
    (redis-server: redis-cli, valkey-server: valkey-cli)."""
    binary = os.path.basename(os.environ.get('RW_REDIS_SERVER', 'redis-server'))
    cli = binary[:-len('server')] + 'cli' if binary.endswith('server') else 'redis-cli'
    return shutil.which(cli) or shutil.which('redis-cli') or cli


class RedisCluster:
    """A private Redis Cluster: `primaries` primaries with `replicas` replicas
    each, every node a Redis on a free port started with --cluster-enabled,
    joined by `redis-cli --cluster create`.  A short node timeout makes a
    killed primary's replica take over within seconds."""

    NODE_TIMEOUT_MS = 1500

    def __init__(self, primaries=3, replicas=1, extra_args=()):
        self.nprimaries, self.nreplicas = primaries, replicas
        self.extra_args = list(extra_args)
        self.nodes = []

    def start(self):
        for _ in range(self.nprimaries * (1 + self.nreplicas)):
            node = Redis(['--cluster-enabled', 'yes', '--cluster-node-timeout', str(self.NODE_TIMEOUT_MS),
                          '--cluster-config-file', 'nodes.conf'] + self.extra_args,
                         port=free_cluster_port())
            self.nodes.append(node.start())
        subprocess.run([redis_cli(), '--cluster', 'create']
                       + ['127.0.0.1:%d' % n.port for n in self.nodes]
                       + ['--cluster-replicas', str(self.nreplicas), '--cluster-yes'],
                       check=True, capture_output=True, timeout=60)
        self.wait_ok()
        return self

    def wait_ok(self, timeout=30.0):
        """Until every live node says cluster_state:ok and agrees on the slots' primaries."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                live = [n for n in self.nodes if n.proc.poll() is None]
                if (all(self.state(n) == 'ok' for n in live)
                        and len({str(sorted(self.slot_owners(n).items())) for n in live}) == 1):
                    return
            except redis.exceptions.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError('the Redis Cluster did not become ok within %ss' % timeout)

    def wait_failover(self, dead, timeout=60.0):
        """Until the replica of a dead primary took over its slots, and the cluster is ok."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                live = [n for n in self.nodes if n.proc.poll() is None]
                if all(dead.port not in self.slot_owners(n).values() for n in live):
                    return self.wait_ok(deadline - time.monotonic())
            except redis.exceptions.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError('no replica took over from port %d within %ss' % (dead.port, timeout))

    @staticmethod
    def state(node):
        """cluster_state in node's CLUSTER INFO (redis-py parses it, or not, by version)."""
        info = node.client().execute_command('CLUSTER', 'INFO')
        if isinstance(info, dict):
            return info.get('cluster_state')
        text = info.decode() if isinstance(info, bytes) else info
        return dict(line.split(':', 1) for line in text.split() if ':' in line).get('cluster_state')

    @staticmethod
    def slot_owners(node):
        """{(first slot, last slot): primary port} as node sees it."""
        return {(r[0], r[1]): r[2][1] for r in node.client().execute_command('CLUSTER', 'SLOTS')}

    @property
    def url(self):
        """Every primary and replica as seeds."""
        return 'redis://' + ','.join('127.0.0.1:%d' % n.port for n in self.nodes)

    def node(self, port):
        return next(n for n in self.nodes if n.port == port)

    def primaries(self):
        """The live primaries, as Redis objects."""
        return [n for n in self.nodes if n.proc.poll() is None
                and n.client().execute_command('ROLE')[0] in (b'master', 'master')]

    def owner(self, key):
        """The Redis serving key's slot."""
        slot = self.nodes[0].client().cluster('keyslot', key)
        for n in self.nodes:
            if n.proc.poll() is None:
                for r in n.client().execute_command('CLUSTER', 'SLOTS'):
                    if r[0] <= slot <= r[1]:
                        return self.node(r[2][1])
        raise RuntimeError('no node serves slot %d' % slot)

    def client(self):
        """A cluster-aware redis-py client."""
        live = [n for n in self.nodes if n.proc.poll() is None]
        return redis.RedisCluster(host='127.0.0.1', port=live[0].port)

    def flushall(self):
        for n in self.primaries():
            n.client().flushall()

    def stop(self):
        for n in self.nodes:
            n.stop()


def _text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


class Sentinels:
    """A primary, its replica and three sentinels watching it as `name`
    (quorum 2), on free ports.  Sentinels run as `redis-server --sentinel` (or
    valkey-server's); they notice a dead primary within a second and a
    failover takes seconds.  With sentinel_password, the sentinels require it
    (and use it among themselves)."""

    def __init__(self, name='rwmain', sentinel_password=None):
        self.name = name
        self.sentinel_password = sentinel_password
        self.servers = []               # the primary and the replica, as first started
        self.sentinel_ports = []
        self.procs = []
        self.dir = None

    def start(self):
        self.dir = tempfile.mkdtemp(prefix='rw-sentinels-')
        primary = Redis().start()
        self.servers = [primary]
        replica = Redis(['--replicaof', '127.0.0.1', str(primary.port)]).start()
        self.servers.append(replica)
        self._until(lambda: replica.client().info('replication').get('master_link_status') == 'up',
                    'the replica to sync')
        for i in range(3):
            self._start_sentinel(i, primary.port)
        self._until(self._settled, 'the sentinels to see the replica and each other')
        return self

    def _start_sentinel(self, i, primary_port):
        port = free_port()
        conf = os.path.join(self.dir, 'sentinel%d.conf' % i)
        lines = ['port %d' % port, 'bind 127.0.0.1', 'dir %s' % self.dir,
                 'logfile %s' % os.path.join(self.dir, 'sentinel%d.log' % i),
                 'sentinel monitor %s 127.0.0.1 %d 2' % (self.name, primary_port),
                 'sentinel down-after-milliseconds %s 1000' % self.name,
                 'sentinel failover-timeout %s 5000' % self.name]
        if self.sentinel_password:
            lines.append('requirepass %s' % self.sentinel_password)
        with open(conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        proc = subprocess.Popen([server_binary(), conf, '--sentinel'], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(proc)
        self.sentinel_ports.append(port)
        _wait_until(lambda: self._pings(port), proc, 'sentinel', os.path.join(self.dir, 'sentinel%d.log' % i))

    def _pings(self, port):
        try:
            return self.sentinel(port).ping()
        except redis.exceptions.ConnectionError:
            return False

    def _until(self, ready, what, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except redis.exceptions.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError('timed out waiting for %s' % what)

    def _settled(self):
        # A sentinel that missed a failover its peers made would take the new
        # primary for a rogue one and make it a replica again: they must know
        # each other (they announce themselves every 2 s) before any failover.
        for port in self.live_sentinels():
            s = self.sentinel(port)
            if not s.execute_command('SENTINEL', 'REPLICAS', self.name) or \
                    len(s.execute_command('SENTINEL', 'SENTINELS', self.name)) < 2:
                return False
        return True

    def _follows(self, sentinel_port, replica_port, primary_port):
        for r in self.sentinel(sentinel_port).execute_command('SENTINEL', 'REPLICAS', self.name):
            # A dict, or a flat list of names and values (older redis-py)
            items = r.items() if isinstance(r, dict) else zip(r[::2], r[1::2])
            r = {_text(k): _text(v) for k, v in items}
            if r['port'] == str(replica_port):
                return r['master-port'] == str(primary_port) and r['master-link-status'] == 'ok'
        return False

    def sentinel(self, port):
        return redis.Redis(host='127.0.0.1', port=port, password=self.sentinel_password,
                           socket_timeout=5)

    def live_sentinels(self):
        return [port for port, proc in zip(self.sentinel_ports, self.procs) if proc.poll() is None]

    @property
    def hosts(self):
        return ','.join('127.0.0.1:%d' % port for port in self.sentinel_ports)

    def url(self, userinfo=''):
        """The redis+sentinel URL of the primary (userinfo: 'user:password@')."""
        return 'redis+sentinel://%s%s/%s' % (userinfo, self.hosts, self.name)

    def primary_port(self):
        """The primary's port, as every live sentinel names it (None while they disagree)."""
        named = {int(self.sentinel(port).execute_command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', self.name)[1])
                 for port in self.live_sentinels()}
        return named.pop() if len(named) == 1 else None

    def server(self, port):
        return next(s for s in self.servers if s.port == port)

    def primary(self):
        return self.server(self.primary_port())

    def replica(self):
        return next(s for s in self.servers if s.port != self.primary_port())

    def failover(self):
        """Promote the replica (SENTINEL FAILOVER) and wait until every sentinel
        names it, it is a primary and the old primary replicates from it, in
        sync (the sentinels closed the old primary's clients when they made it
        a replica).  Returns the new primary."""
        old, new = self.primary(), self.replica()
        # Replication is asynchronous: what the replica has not got yet would be lost.
        if old.client().execute_command('WAIT', 1, 10000) < 1:
            raise RuntimeError('the replica is not in sync: %r' % new.client().info('replication'))
        # The sentinels refresh what they know of replicas every 10 s: just
        # after a failover they may not know yet whom the replica follows.
        self._until(lambda: all(self._follows(port, new.port, old.port) for port in self.live_sentinels()),
                    'the sentinels to see the replica follow the primary')
        self.sentinel(self.live_sentinels()[0]).execute_command('SENTINEL', 'FAILOVER', self.name)
        self._until(lambda: self.primary_port() == new.port
                    and new.client().execute_command('ROLE')[0] == b'master'
                    and old.client().info('replication').get('master_link_status') == 'up',
                    'the failover')
        return new

    def stop_sentinels(self):
        for proc in self.procs:
            _stop(proc, signal.SIGTERM, 10, None)

    def stop(self):
        self.stop_sentinels()
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
