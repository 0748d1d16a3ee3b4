"""Throwaway certificates for TLS between containers, made with openssl."""
import os
import shutil
import subprocess
import tempfile


class Certificates:
    """A CA and a server certificate (ca.crt, server.crt, server.key) for
    hostnames, the aliases the server is reached by; cleanup() removes them."""

    def __init__(self, *hostnames):
        self.dir = tempfile.mkdtemp(prefix='rw-certs-')
        try:
            self._openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=test-ca',
                          '-keyout', 'ca.key', '-out', 'ca.crt')
            with open(os.path.join(self.dir, 'san.ext'), 'w') as f:
                f.write('subjectAltName = %s\n' % ', '.join('DNS:' + h for h in hostnames))
            self._openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=%s' % hostnames[0],
                          '-keyout', 'server.key', '-out', 'server.csr')
            self._openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key',
                          '-CAcreateserial', '-days', '2', '-out', 'server.crt', '-extfile', 'san.ext')
        except BaseException:
            self.cleanup()
            raise

    def _openssl(self, *args):
        subprocess.run(['openssl'] + list(args), cwd=self.dir, check=True, capture_output=True)

    def read(self, name):
        with open(os.path.join(self.dir, name), 'rb') as f:
            return f.read()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
