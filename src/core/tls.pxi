# TLS for rediss:// URLs, on our own non-blocking sockets (hiredis 0.14 has no
# TLS).  Certificates and the host name are verified unless the server says
# tls_verify 'false'.

cdef extern from "<openssl/ssl.h>" nogil:
    ctypedef struct SSL_METHOD:
        pass
    ctypedef struct SSL_CTX:
        pass
    ctypedef struct SSL:
        pass
    ctypedef struct X509_VERIFY_PARAM:
        pass
    const SSL_METHOD *TLS_client_method()
    SSL_CTX *SSL_CTX_new(const SSL_METHOD *method)
    void SSL_CTX_free(SSL_CTX *ctx)
    int SSL_CTX_set_default_verify_paths(SSL_CTX *ctx)
    int SSL_CTX_load_verify_locations(SSL_CTX *ctx, const char *cafile, const char *capath)
    int SSL_CTX_use_certificate_chain_file(SSL_CTX *ctx, const char *file)
    int SSL_CTX_use_PrivateKey_file(SSL_CTX *ctx, const char *file, int type)
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
        SSL_ERROR_NONE
        SSL_ERROR_WANT_READ
        SSL_ERROR_WANT_WRITE
        SSL_ERROR_ZERO_RETURN
        SSL_ERROR_SYSCALL
        SSL_VERIFY_PEER
        SSL_VERIFY_NONE
        SSL_FILETYPE_PEM
        SSL_MODE_ENABLE_PARTIAL_WRITE
        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
        X509_V_OK

cdef extern from "<openssl/err.h>" nogil:
    unsigned long ERR_get_error()
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


cdef SSL *tls_new(TlsOptions opts, int fd, str host, str where) except NULL:
    """An SSL for fd, set up to verify host (unless opted out)."""
    cdef SSL_CTX *ctx = SSL_CTX_new(TLS_client_method())
    cdef SSL *ssl = NULL
    cdef unsigned char addr[16]
    cdef bytes h = host.encode('utf-8', 'surrogateescape')
    if ctx == NULL:
        raise MemoryError()
    try:
        ERR_clear_error()
        if opts.verify:
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL)
            if opts.ca_file is not None:
                if SSL_CTX_load_verify_locations(ctx, opts.ca_file, NULL) != 1:
                    raise tls_failure(where, "could not load tls_ca_file: " + openssl_error("unknown error"))
            elif SSL_CTX_set_default_verify_paths(ctx) != 1:
                raise tls_failure(where, "could not load the system's CA certificates")
        else:
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL)
        if opts.cert_file is not None:
            if (SSL_CTX_use_certificate_chain_file(ctx, opts.cert_file) != 1
                    or SSL_CTX_use_PrivateKey_file(ctx, opts.key_file or opts.cert_file, SSL_FILETYPE_PEM) != 1
                    or SSL_CTX_check_private_key(ctx) != 1):
                raise tls_failure(where, "could not load the client certificate or key: "
                                  + openssl_error("unknown error"))
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
