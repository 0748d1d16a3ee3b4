# TLS for rediss:// URLs, on our own non-blocking sockets (hiredis 0.14 has no
# TLS).  Certificates and the host name are verified unless the server says
# tls_verify 'false'.  We read the tls_*_file options' files ourselves and hand
# OpenSSL their bytes (see read_tls_file).

from cpython.bytes cimport PyBytes_FromStringAndSize
from posix cimport fcntl

cdef extern from "<fcntl.h>" nogil:
    enum:
        O_CLOEXEC       # not in the posix.fcntl of Debian 12's Cython (0.29)
from posix.stat cimport struct_stat, fstat, S_ISREG
from posix.unistd cimport read, close

cdef extern from "<openssl/ssl.h>" nogil:
    ctypedef struct SSL_METHOD:
        pass
    ctypedef struct SSL_CTX:
        pass
    ctypedef struct SSL:
        pass
    ctypedef struct X509_VERIFY_PARAM:
        pass
    ctypedef struct X509:
        pass
    ctypedef struct X509_STORE:
        pass
    ctypedef struct EVP_PKEY:
        pass
    ctypedef struct BIO:
        pass
    const SSL_METHOD *TLS_client_method()
    SSL_CTX *SSL_CTX_new(const SSL_METHOD *method)
    void SSL_CTX_free(SSL_CTX *ctx)
    int SSL_CTX_set_default_verify_paths(SSL_CTX *ctx)
    X509_STORE *SSL_CTX_get_cert_store(const SSL_CTX *ctx)
    int SSL_CTX_use_certificate(SSL_CTX *ctx, X509 *x)
    long SSL_CTX_add0_chain_cert(SSL_CTX *ctx, X509 *x)
    int SSL_CTX_use_PrivateKey(SSL_CTX *ctx, EVP_PKEY *pkey)
    int SSL_CTX_check_private_key(const SSL_CTX *ctx)
    void SSL_CTX_set_verify(SSL_CTX *ctx, int mode, void *callback)
    SSL *SSL_new(SSL_CTX *ctx)
    void SSL_free(SSL *ssl)
    int SSL_set_fd(SSL *ssl, int fd)
    long SSL_set_mode(SSL *ssl, long mode)
    long SSL_set_tlsext_host_name(SSL *ssl, const char *name)
    int SSL_set1_host(SSL *ssl, const char *host)
    X509_VERIFY_PARAM *SSL_get0_param(SSL *ssl)
    int X509_VERIFY_PARAM_set1_ip_asc(X509_VERIFY_PARAM *param, const char *ip)
    int SSL_connect(SSL *ssl)
    int SSL_read(SSL *ssl, void *buf, int n)
    int SSL_write(SSL *ssl, const void *buf, int n)
    int SSL_peek(SSL *ssl, void *buf, int n)
    int SSL_shutdown(SSL *ssl)
    int SSL_get_error(const SSL *ssl, int ret)
    long SSL_get_verify_result(const SSL *ssl)
    const char *X509_verify_cert_error_string(long n)
    enum:
        SSL_ERROR_WANT_READ
        SSL_ERROR_WANT_WRITE
        SSL_ERROR_ZERO_RETURN
        SSL_ERROR_SYSCALL
        SSL_VERIFY_PEER
        SSL_VERIFY_NONE
        SSL_MODE_ENABLE_PARTIAL_WRITE
        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
        X509_V_OK

cdef extern from "<openssl/x509.h>" nogil:
    int X509_STORE_add_cert(X509_STORE *store, X509 *x)
    void X509_free(X509 *x)
    void EVP_PKEY_free(EVP_PKEY *pkey)

cdef extern from "<openssl/pem.h>" nogil:
    ctypedef int pem_password_cb(char *buf, int size, int rwflag, void *userdata) noexcept
    BIO *BIO_new_mem_buf(const void *buf, int len)
    int BIO_free(BIO *bio)
    X509 *PEM_read_bio_X509_AUX(BIO *bio, X509 **x, pem_password_cb *cb, void *u)
    EVP_PKEY *PEM_read_bio_PrivateKey(BIO *bio, EVP_PKEY **x, pem_password_cb *cb, void *u)
    enum:
        PEM_R_NO_START_LINE

cdef extern from "<openssl/err.h>" nogil:
    unsigned long ERR_get_error()
    unsigned long ERR_peek_last_error()
    int ERR_GET_LIB(unsigned long e)
    int ERR_GET_REASON(unsigned long e)
    enum:
        ERR_LIB_PEM
    void ERR_error_string_n(unsigned long e, char *buf, size_t len)
    void ERR_clear_error()

cdef extern from "<arpa/inet.h>" nogil:
    int inet_pton(int af, const char *src, void *dst)
    enum:
        AF_INET
        AF_INET6


cdef class TlsOptions:
    """The server's TLS options; None where not set."""
    cdef readonly bytes ca_file, cert_file, key_file
    cdef readonly bint verify

    cdef tuple identity(self):
        return (self.ca_file, self.cert_file, self.key_file, self.verify)


cdef str openssl_error(str default):
    cdef char buf[256]
    cdef unsigned long e = ERR_get_error()
    if e == 0:
        return default
    ERR_error_string_n(e, buf, sizeof(buf))
    return buf.decode('utf-8', 'replace')


cdef object tls_failure(str where, str why):
    # A certificate problem does not go away by retrying.
    return CoreError(RW_ERR_CONNECT, "TLS connection to Redis at %s failed: %s" % (where, why), final=True)


cdef enum:
    TLS_FILE_MAX = 1 << 20      # far more than any CA bundle or certificate chain needs


cdef bytes read_tls_file(bytes path, str option, str where):
    """The contents of option's file.  Only a regular file will do: OpenSSL, given
    the path, would wait in open() or read() on a FIFO or device where no
    interrupt reaches it.  Any failure to open or read it gets one message, which
    tells no more about the path than that."""
    cdef str unreadable = "could not read " + option
    cdef int fd = fcntl.open(path, fcntl.O_RDONLY | fcntl.O_NONBLOCK | O_CLOEXEC | fcntl.O_NOCTTY)
    cdef struct_stat st
    cdef bytes data
    cdef Py_ssize_t got = 0
    cdef ssize_t n
    if fd < 0:
        raise tls_failure(where, unreadable)
    try:
        if fstat(fd, &st) != 0:
            raise tls_failure(where, unreadable)
        if not S_ISREG(st.st_mode):
            raise tls_failure(where, option + " is not a regular file")
        if st.st_size > TLS_FILE_MAX:
            raise tls_failure(where, "%s is larger than %d MiB" % (option, TLS_FILE_MAX >> 20))
        data = PyBytes_FromStringAndSize(NULL, st.st_size)
        while got < st.st_size:
            n = read(fd, <char *>data + got, st.st_size - got)
            if n < 0:
                raise tls_failure(where, unreadable)
            if n == 0:              # it shrank since fstat
                break
            got += n
        return data[:got]
    finally:
        close(fd)


cdef int no_passphrase(char *buf, int size, int rwflag, void *userdata) noexcept nogil:
    # OpenSSL's default would prompt on the terminal; there is no option for a passphrase.
    return -1


cdef object openssl_failure(str where, str what):
    return tls_failure(where, what + ": " + openssl_error("unknown error"))


cdef BIO *pem_bio(bytes pem) except NULL:
    """A read-only BIO over pem, which must outlive it."""
    cdef BIO *bio = BIO_new_mem_buf(<const char *>pem, <int>len(pem))
    if bio == NULL:
        raise MemoryError()
    return bio


cdef int read_cert(BIO *bio, X509 **cert, str option, str where) except -1:
    """1 with the next PEM certificate in *cert (the caller frees it), 0 when bio has no more."""
    cdef unsigned long e
    cert[0] = PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL)
    if cert[0] != NULL:
        return 1
    e = ERR_peek_last_error()
    if ERR_GET_LIB(e) == ERR_LIB_PEM and ERR_GET_REASON(e) == PEM_R_NO_START_LINE:
        ERR_clear_error()       # just the end of the file
        return 0
    raise openssl_failure(where, "bad certificate in " + option)


cdef int load_cas(SSL_CTX *ctx, bytes pem, str where) except -1:
    """Trust every certificate in pem (tls_ca_file's contents)."""
    cdef BIO *bio = pem_bio(pem)
    cdef X509_STORE *store = SSL_CTX_get_cert_store(ctx)
    cdef X509 *cert
    cdef int ok, found = 0
    try:
        while read_cert(bio, &cert, "tls_ca_file", where):
            ok = X509_STORE_add_cert(store, cert)
            X509_free(cert)
            if ok != 1:
                raise openssl_failure(where, "could not use a certificate in tls_ca_file")
            found = 1
    finally:
        BIO_free(bio)
    if not found:
        raise tls_failure(where, "no certificate found in tls_ca_file")
    return 0


cdef int load_client_cert(SSL_CTX *ctx, bytes pem, str where) except -1:
    """Our certificate is the first in pem (tls_cert_file's contents); any others are
    its chain towards the CA."""
    cdef BIO *bio = pem_bio(pem)
    cdef X509 *cert = NULL          # read_cert sets it
    cdef int ok
    try:
        if not read_cert(bio, &cert, "tls_cert_file", where):
            raise tls_failure(where, "no certificate found in tls_cert_file")
        ok = SSL_CTX_use_certificate(ctx, cert)
        X509_free(cert)
        while ok == 1 and read_cert(bio, &cert, "tls_cert_file", where):
            ok = SSL_CTX_add0_chain_cert(ctx, cert)     # takes cert when it succeeds
            if ok != 1:
                X509_free(cert)
        if ok != 1:
            raise openssl_failure(where, "could not use the certificates in tls_cert_file")
    finally:
        BIO_free(bio)
    return 0


cdef int load_client_key(SSL_CTX *ctx, bytes pem, str option, str where) except -1:
    """The private key for the client certificate, from pem (option's contents)."""
    cdef BIO *bio = pem_bio(pem)
    cdef EVP_PKEY *key
    cdef int ok
    try:
        key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
    finally:
        BIO_free(bio)
    if key == NULL:
        raise tls_failure(where, "no private key found in %s (it must be PEM and not encrypted)" % option)
    ok = SSL_CTX_use_PrivateKey(ctx, key)
    EVP_PKEY_free(key)
    if ok != 1 or SSL_CTX_check_private_key(ctx) != 1:
        raise tls_failure(where, "the private key in %s does not match the certificate in tls_cert_file"
                          % option)
    return 0


cdef SSL *tls_new(TlsOptions opts, int fd, str host, str where) except NULL:
    """An SSL for fd, set up to verify host (unless opted out)."""
    cdef SSL_CTX *ctx
    cdef SSL *ssl = NULL
    cdef unsigned char addr[16]
    cdef bytes h = host.encode('utf-8', 'surrogateescape')
    cdef bytes cert_pem
    if opts.key_file is not None and opts.cert_file is None:
        raise CoreError(RW_ERR_BAD_OPTION, "tls_key_file is set but tls_cert_file is not",
                        hint="Set tls_cert_file to the client certificate that the key belongs to.")
    ctx = SSL_CTX_new(TLS_client_method())
    if ctx == NULL:
        raise MemoryError()
    try:
        ERR_clear_error()
        if opts.verify:
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL)
            if opts.ca_file is not None:
                load_cas(ctx, read_tls_file(opts.ca_file, "tls_ca_file", where), where)
            elif SSL_CTX_set_default_verify_paths(ctx) != 1:
                raise tls_failure(where, "could not load the system's CA certificates")
        else:
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL)
        if opts.cert_file is not None:
            cert_pem = read_tls_file(opts.cert_file, "tls_cert_file", where)
            load_client_cert(ctx, cert_pem, where)
            if opts.key_file is not None:
                load_client_key(ctx, read_tls_file(opts.key_file, "tls_key_file", where), "tls_key_file", where)
            else:
                load_client_key(ctx, cert_pem, "tls_cert_file", where)
        ssl = SSL_new(ctx)      # holds its own reference to ctx
        if ssl == NULL:
            raise MemoryError()
        SSL_set_fd(ssl, fd)
        SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)
        if inet_pton(AF_INET, h, addr) == 1 or inet_pton(AF_INET6, h, addr) == 1:
            if opts.verify:
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), h)
        else:
            SSL_set_tlsext_host_name(ssl, h)
            if opts.verify:
                SSL_set1_host(ssl, h)
        return ssl
    except BaseException:
        if ssl != NULL:
            SSL_free(ssl)
        raise
    finally:
        SSL_CTX_free(ctx)
