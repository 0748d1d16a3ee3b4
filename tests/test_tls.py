"""rediss://: TLS with certificate and host-name verification, client certificates,
and the explicit opt-out, against a redis-server with a TLS port."""
import os
import shutil
import subprocess
import tempfile

import psycopg
import pytest

from conftest import rows, server_with_table
from redis_wrapper_tools.servers import Redis, free_port


def openssl(*args, cwd):
    subprocess.run(['openssl'] + list(args), cwd=cwd, check=True, capture_output=True)


def sign(d, name, cn, ca, ext=None):
    """A key and a certificate for cn in d, signed by ca (a name in d)."""
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=%s' % cn,
            '-keyout', name + '.key', '-out', name + '.csr', cwd=d)
    openssl('x509', '-req', '-in', name + '.csr', '-CA', ca + '.crt', '-CAkey', ca + '.key',
            '-CAcreateserial', '-days', '2', '-out', name + '.crt', *(['-extfile', ext] if ext else []), cwd=d)


@pytest.fixture(scope='module')
def certs():
    """A CA, a server certificate for localhost and 127.0.0.1, a client certificate,
    a second CA that signed none of them, and a client certificate signed by an
    intermediate CA that the first CA signed."""
    d = tempfile.mkdtemp(prefix='rw-tls-')
    os.chmod(d, 0o755)
    for ca in ('ca', 'other_ca'):
        openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=%s' % ca,
                '-keyout', ca + '.key', '-out', ca + '.crt', cwd=d)
    with open(os.path.join(d, 'san.ext'), 'w') as f:
        f.write('subjectAltName = DNS:localhost, IP:127.0.0.1\n')
    with open(os.path.join(d, 'ca.ext'), 'w') as f:
        f.write('basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign\n')
    sign(d, 'server', 'localhost', 'ca', 'san.ext')
    sign(d, 'client', 'redis-wrapper-client', 'ca')
    sign(d, 'intermediate', 'intermediate', 'ca', 'ca.ext')
    sign(d, 'leaf', 'redis-wrapper-leaf', 'intermediate')
    files = {name: os.path.join(d, name) for name in
             ('ca.crt', 'other_ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key',
              'intermediate.crt', 'leaf.crt', 'leaf.key')}
    for name, parts in (('both_cas.crt', ('other_ca.crt', 'ca.crt')),
                        ('client.pem', ('client.crt', 'client.key')),
                        ('leaf_chain.crt', ('leaf.crt', 'intermediate.crt'))):
        files[name] = os.path.join(d, name)
        with open(files[name], 'w') as out:
            for part in parts:
                with open(files[part]) as f:
                    out.write(f.read())
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)
    yield files
    shutil.rmtree(d, ignore_errors=True)


def tls_redis(certs, auth_clients):
    port = free_port()
    server = Redis(extra_args=[
        '--bind', '127.0.0.1', '127.0.0.2', '--tls-port', str(port),
        '--tls-cert-file', certs['server.crt'], '--tls-key-file', certs['server.key'],
        '--tls-ca-cert-file', certs['ca.crt'], '--tls-auth-clients', auth_clients]).start()
    server.tls_port = port
    server.client().rpush('l', 'secure')
    return server


@pytest.fixture(scope='module')
def tls_server(certs):
    server = tls_redis(certs, 'no')
    yield server
    server.stop()


@pytest.mark.parametrize('host', ['localhost', '127.0.0.1'])
def test_verified_tls(db, certs, tls_server, host):
    t = server_with_table(db, 't_ok', 'rediss://%s:%d' % (host, tls_server.tls_port), tls_ca_file=certs['ca.crt'])
    assert rows(db, 'select * from %s' % t) == [('secure',)]


def test_tls_connection_is_cached(db, certs, tls_server):
    c = tls_server.client()
    before = {x['id'] for x in c.client_list()}
    t = server_with_table(db, 't_cache', 'rediss://localhost:%d' % tls_server.tls_port, tls_ca_file=certs['ca.crt'])
    for _ in range(3):
        assert rows(db, 'select * from %s' % t) == [('secure',)]
    assert len([x for x in c.client_list() if x['id'] not in before]) == 1


def test_unknown_ca_is_refused(db, certs, tls_server):
    t = server_with_table(db, 't_ca', 'rediss://localhost:%d' % tls_server.tls_port, tls_ca_file=certs['other_ca.crt'])
    with pytest.raises(psycopg.errors.FdwUnableToEstablishConnection) as e:
        db.execute('select * from %s' % t)
    assert 'certificate verification failed' in str(e.value) and 'retries' not in str(e.value)


def test_system_cas_do_not_know_our_ca(db, tls_server):
    t = server_with_table(db, 't_sys', 'rediss://localhost:%d' % tls_server.tls_port)
    with pytest.raises(psycopg.errors.FdwUnableToEstablishConnection) as e:
        db.execute('select * from %s' % t)
    assert 'certificate verification failed' in str(e.value)


def test_host_name_mismatch_is_refused(db, certs, tls_server):
    t = server_with_table(db, 't_host', 'rediss://127.0.0.2:%d' % tls_server.tls_port, tls_ca_file=certs['ca.crt'])
    with pytest.raises(psycopg.errors.FdwUnableToEstablishConnection) as e:
        db.execute('select * from %s' % t)
    assert 'certificate verification failed' in str(e.value) and 'mismatch' in str(e.value)


def test_verification_can_be_turned_off(db, tls_server):
    t = server_with_table(db, 't_noverify', 'rediss://127.0.0.2:%d' % tls_server.tls_port, tls_verify='false')
    assert rows(db, 'select * from %s' % t) == [('secure',)]


@pytest.fixture(scope='module')
def auth_server(certs):
    """A TLS server that demands a client certificate signed (maybe indirectly) by the CA."""
    server = tls_redis(certs, 'yes')
    yield server
    server.stop()


def with_files(certs, **files):
    """TLS options: tls_ca_file ca.crt unless given; values are names in certs or paths."""
    return {k: certs.get(v, v) for k, v in dict({'tls_ca_file': 'ca.crt'}, **files).items()}


@pytest.mark.parametrize('files', [
    {'tls_cert_file': 'client.crt', 'tls_key_file': 'client.key'},
    {'tls_cert_file': 'client.pem'},                                    # the key after the certificate
    {'tls_cert_file': 'leaf_chain.crt', 'tls_key_file': 'leaf.key'},    # the intermediate CA goes along
    {'tls_cert_file': 'client.pem', 'tls_ca_file': 'both_cas.crt'},     # every CA in the file counts
], ids=['two_files', 'one_file', 'chain', 'several_cas'])
def test_client_certificates(db, certs, auth_server, files):
    t = server_with_table(db, 't_cert', 'rediss://localhost:%d' % auth_server.tls_port,
                          **with_files(certs, **files))
    assert rows(db, 'select * from %s' % t) == [('secure',)]


@pytest.mark.parametrize('files', [{}, {'tls_cert_file': 'leaf.crt', 'tls_key_file': 'leaf.key'}],
                         ids=['no_certificate', 'chain_left_out'])
def test_client_certificate_is_checked(db, certs, auth_server, files):
    t = server_with_table(db, 't_nocert', 'rediss://localhost:%d' % auth_server.tls_port,
                          **with_files(certs, **files))
    with pytest.raises((psycopg.errors.FdwUnableToEstablishConnection, psycopg.errors.ConnectionFailure)):
        db.execute('select * from %s' % t)


def test_tls_to_a_plain_port_fails_cleanly(db, certs, tls_server):
    t = server_with_table(db, 't_plain', 'rediss://localhost:%d' % tls_server.port, tls_ca_file=certs['ca.crt'],
                    connect_timeout='2s')
    with pytest.raises(psycopg.errors.FdwUnableToEstablishConnection) as e:
        db.execute('select * from %s' % t)
    # Redis 7 waits for a line end that a TLS hello never sends; Redis 8 answers it.
    assert ('Redis at localhost:%d did not complete the TLS handshake within 2000 ms' % tls_server.port
            in str(e.value)) or ('TLS connection to Redis at localhost:%d failed' % tls_server.port
                                 in str(e.value))
    assert rows(db, 'select 1') == [(1,)]


def test_tls_paths_must_be_absolute(db):
    with pytest.raises(psycopg.errors.FdwInvalidAttributeValue):
        db.execute("create server t_rel foreign data wrapper redis_wrapper "
                   "options (conn_url 'rediss://localhost', tls_ca_file 'ca.crt')")
