"""rediss://: TLS with certificate and host-name verification, client certificates,
and the explicit opt-out, against a redis-server with a TLS port."""
import contextlib
import os
import shutil
import subprocess
import tempfile
import threading

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


TLS_FILES = ['tls_ca_file', 'tls_cert_file', 'tls_key_file']


def one_file(option, path):
    """TLS files with option set to path (tls_key_file goes with client.crt)."""
    return {option: path, **({'tls_cert_file': 'client.crt'} if option == 'tls_key_file' else {})}


def tls_error(db, certs, server, **files):
    """The error of a scan with these TLS files (see with_files)."""
    t = server_with_table(db, 't_file', 'rediss://localhost:%d' % server.tls_port, **with_files(certs, **files))
    with pytest.raises(psycopg.errors.FdwUnableToEstablishConnection) as e:
        db.execute('select * from %s' % t)
    assert rows(db, 'select 1') == [(1,)]
    return str(e.value)


@pytest.fixture
def scratch():
    """A directory the postgres OS user can read."""
    d = tempfile.mkdtemp(prefix='rw-tls-')
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def writer_now_and_then(fifo):
    """Opens fifo for writing every few seconds, so that code blocked opening it for
    reading gets an empty file and fails instead of hanging the test run."""
    done = threading.Event()

    def poke():
        while not done.wait(3):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:         # ENXIO: no reader is waiting
                pass
    thread = threading.Thread(target=poke)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@pytest.mark.parametrize('option', TLS_FILES)
def test_tls_file_that_is_a_fifo_does_not_block(db, certs, tls_server, scratch, option):
    fifo = os.path.join(scratch, 'fifo')
    os.mkfifo(fifo)
    os.chmod(fifo, 0o666)
    with writer_now_and_then(fifo):
        message = tls_error(db, certs, tls_server, **one_file(option, fifo))
    assert '%s is not a regular file' % option in message


@pytest.mark.parametrize('option', TLS_FILES)
@pytest.mark.parametrize('path', ['directory', '/dev/null'])
def test_tls_file_must_be_a_regular_file(db, certs, tls_server, scratch, option, path):
    message = tls_error(db, certs, tls_server, **one_file(option, scratch if path == 'directory' else path))
    assert '%s is not a regular file' % option in message


@pytest.mark.parametrize('option', TLS_FILES)
def test_tls_file_size_is_bounded(db, certs, tls_server, scratch, option):
    big = os.path.join(scratch, 'big.pem')
    with open(certs[{'tls_ca_file': 'ca.crt', 'tls_cert_file': 'client.pem'}.get(option, 'client.key')]) as f:
        good = f.read()
    with open(big, 'w') as f:
        f.write(good + '# padding\n' * (1 << 17))
    os.chmod(big, 0o644)
    assert '%s is larger than 1 MiB' % option in tls_error(db, certs, tls_server, **one_file(option, big))


@pytest.mark.parametrize('option', TLS_FILES)
def test_unreadable_tls_files_fail_alike(db, certs, tls_server, scratch, option):
    """A missing file and one the server may not read give the same message."""
    locked = os.path.join(scratch, 'locked.pem')
    shutil.copy(certs['client.pem'], locked)
    os.chmod(locked, 0)
    messages = {tls_error(db, certs, tls_server, **one_file(option, path))
                for path in (locked, os.path.join(scratch, 'missing.pem'))}
    assert len(messages) == 1 and 'could not read %s' % option in messages.pop()


@pytest.mark.parametrize('option', ['tls_ca_file', 'tls_cert_file'])
def test_tls_file_without_a_certificate(db, certs, tls_server, option):
    message = tls_error(db, certs, tls_server, **one_file(option, certs['client.key']))
    assert 'no certificate found in %s' % option in message


def test_tls_file_with_a_broken_certificate(db, certs, tls_server, scratch):
    broken = os.path.join(scratch, 'broken.crt')
    with open(certs['ca.crt']) as f:
        good = f.read()
    with open(broken, 'w') as f:
        f.write(good + good[:len(good) // 2])
    os.chmod(broken, 0o644)
    assert 'bad certificate in tls_ca_file' in tls_error(db, certs, tls_server, tls_ca_file=broken)


@pytest.mark.parametrize('files, expected', [
    ({'tls_cert_file': 'client.crt', 'tls_key_file': 'server.key'},
     'the private key in tls_key_file does not match the certificate in tls_cert_file'),
    ({'tls_cert_file': 'client.crt'}, 'no private key found in tls_cert_file'),
    ({'tls_cert_file': 'client.crt', 'tls_key_file': 'client.crt'}, 'no private key found in tls_key_file'),
], ids=['other_key', 'no_key', 'no_key_in_key_file'])
def test_client_key_must_fit(db, certs, tls_server, files, expected):
    assert expected in tls_error(db, certs, tls_server, **files)


def test_encrypted_client_key_is_refused(db, certs, tls_server, scratch):
    key = os.path.join(scratch, 'encrypted.key')
    openssl('pkey', '-in', certs['client.key'], '-aes256', '-passout', 'pass:secret', '-out', key, cwd=scratch)
    os.chmod(key, 0o644)
    message = tls_error(db, certs, tls_server, **one_file('tls_key_file', key))
    assert 'no private key found in tls_key_file (it must be PEM and not encrypted)' in message


def test_tls_key_file_needs_cert_file(db, certs, tls_server):
    # The validator refuses it (the core would too, for a catalog edited by hand).
    with pytest.raises(psycopg.errors.FdwOptionNameNotFound) as e:
        t = server_with_table(db, 't_keyonly', 'rediss://localhost:%d' % tls_server.tls_port,
                              **with_files(certs, tls_key_file='client.key'))
        db.execute('select * from %s' % t)
    assert 'tls_key_file' in str(e.value) and 'tls_cert_file' in str(e.value)


@pytest.mark.slow
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
