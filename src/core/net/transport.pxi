# The byte stream to one Redis server: resolve its name, dial each address in
# turn, TLS for rediss://, then non-blocking send and receive.  Every wait goes
# through g_wait, which PostgreSQL replaces with a latch wait that reports
# pending interrupts (as Interrupted); all state lives in the object, so an
# interrupted call can simply be repeated.  So can one stopped by g_no_wait
# (an asynchronous scan's) before a wait to read, with WouldBlock: the
# caller waits for that socket itself.  What goes over the stream, and
# retrying a failed connection, are conn.pxi's.

from libc.errno cimport errno, EINTR, EAGAIN, EINPROGRESS   # EWOULDBLOCK == EAGAIN on Linux
from libc.string cimport strerror, memset
from posix.unistd cimport close

cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned int socklen_t
    struct sockaddr:
        pass
    int socket(int domain, int type, int protocol)
    int connect(int fd, const sockaddr *addr, socklen_t len)
    ssize_t send(int fd, const void *buf, size_t n, int flags)
    ssize_t recv(int fd, void *buf, size_t n, int flags)
    int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
    int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
    enum:
        AF_UNIX
        AF_UNSPEC
        SOCK_STREAM
        SOCK_NONBLOCK
        SOCK_CLOEXEC
        SOL_SOCKET
        SO_ERROR
        SO_KEEPALIVE
        MSG_NOSIGNAL
        MSG_PEEK
        MSG_DONTWAIT

cdef extern from "<netinet/in.h>" nogil:
    enum:
        IPPROTO_TCP

cdef extern from "<netinet/tcp.h>" nogil:
    enum:
        TCP_NODELAY

cdef extern from "<sys/un.h>" nogil:
    struct sockaddr_un:
        int sun_family
        char sun_path[108]

cdef extern from "<netdb.h>" nogil:
    struct addrinfo:
        int ai_flags
        int ai_family
        int ai_socktype
        socklen_t ai_addrlen
        sockaddr *ai_addr
        addrinfo *ai_next
    int getaddrinfo(const char *node, const char *service, const addrinfo *hints, addrinfo **res)
    void freeaddrinfo(addrinfo *res)
    const char *gai_strerror(int code)
    enum:
        EAI_AGAIN
        EAI_NONAME
        EAI_INPROGRESS
        AI_NUMERICHOST

cdef extern from "<poll.h>" nogil:
    struct pollfd:
        int fd
        short events
        short revents
    int poll(pollfd *fds, unsigned long n, int timeout)
    enum:
        POLLIN
        POLLOUT
        POLLERR
        POLLHUP

cdef extern from "<time.h>" nogil:
    struct timespec:
        long tv_sec
        long tv_nsec
    int clock_gettime(int clk, timespec *ts)
    enum:
        CLOCK_MONOTONIC


cdef int poll_wait(int fd, int events, int timeout_ms) noexcept nogil:
    """The wait used outside PostgreSQL (benchmarks, tools): plain poll()."""
    cdef pollfd p
    cdef int rc
    p.fd = fd
    p.events = (POLLIN if events & RW_WAIT_READABLE else 0) | (POLLOUT if events & RW_WAIT_WRITABLE else 0)
    p.revents = 0
    rc = poll(&p, 1, timeout_ms if timeout_ms > 0 else -1)
    if rc < 0:
        return RW_WAIT_INTERRUPTED if errno == EINTR else RW_WAIT_FAILED
    if rc == 0:
        return RW_WAIT_TIMEOUT
    if p.revents & (POLLERR | POLLHUP):
        return events
    return ((RW_WAIT_READABLE if p.revents & POLLIN else 0)
            | (RW_WAIT_WRITABLE if p.revents & POLLOUT else 0))


cdef int poll_wait_readable(const int *fds, int nfds, int timeout_ms) noexcept nogil:
    """wait_readable's outside PostgreSQL: plain poll()."""
    cdef pollfd *p = <pollfd *> realloc(NULL, sizeof(pollfd) * nfds)
    cdef int i, rc
    if p == NULL:
        return RW_WAIT_FAILED
    for i in range(nfds):
        p[i].fd = fds[i]
        p[i].events = POLLIN
        p[i].revents = 0
    rc = poll(p, nfds, timeout_ms if timeout_ms > 0 else -1)
    free(p)
    if rc < 0:
        return RW_WAIT_INTERRUPTED if errno == EINTR else RW_WAIT_FAILED
    return RW_WAIT_READABLE if rc > 0 else RW_WAIT_TIMEOUT


cdef RwWaitFn g_wait = poll_wait
cdef RwWaitReadableFn g_wait_readable = poll_wait_readable
cdef bint g_no_wait = False     # set during rw_scan_try_next: a wait to read raises WouldBlock


cdef long long now_ms() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1000 + ts.tv_nsec // 1000000


cdef enum TransportState:
    TS_CLOSED       # no socket: not dialled yet, or closed after a failed attempt
    TS_CONNECTING
    TS_TLS          # TLS handshake
    TS_OPEN


cdef class Transport:
    cdef Url url
    cdef TlsOptions tls
    cdef int connect_timeout_ms     # for messages: the deadline is the caller's
    cdef TransportState state
    cdef int fd
    cdef SSL *ssl
    cdef addrinfo *addrs            # kept across attempts: resolved once
    cdef addrinfo *addr
    cdef rw_lookup *lookup          # a host-name lookup in progress
    cdef str last_failure

    def __cinit__(self):
        self.fd = -1

    def __dealloc__(self):
        self.close()
        if self.addrs != NULL:
            freeaddrinfo(self.addrs)

    cdef void close(self) noexcept:
        if self.lookup != NULL:
            rw_lookup_release(self.lookup)
            self.lookup = NULL
        if self.ssl != NULL:
            SSL_shutdown(self.ssl)      # one non-blocking try at a close_notify
            SSL_free(self.ssl)
            self.ssl = NULL
        if self.fd >= 0:
            close(self.fd)
            self.fd = -1
        self.state = TS_CLOSED

    cdef bint peer_closed(self) noexcept:
        """Whether the server closed an idle stream (a non-blocking peek)."""
        cdef char c
        cdef ssize_t n
        if self.fd < 0:
            return True
        if self.ssl != NULL:
            # SSL_peek also consumes TLS records that carry no data (session tickets).
            ERR_clear_error()
            n = SSL_peek(self.ssl, &c, 1)
            return not (n <= 0 and SSL_get_error(self.ssl, n) == SSL_ERROR_WANT_READ)
        n = recv(self.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT)
        return not (n < 0 and errno == EAGAIN)

    # -- opening ----------------------------------------------------------
    cdef int open(self, long long deadline) except -1:
        """Connect, and for rediss:// complete TLS, by deadline (0: none); or go
        on doing so after an interruption."""
        if self.state == TS_CLOSED:
            if self.addrs == NULL:
                self.resolve(deadline)
            self.addr = self.addrs
            self.dial()
        while self.state == TS_CONNECTING:
            self.await_connect(deadline)
        while self.state == TS_TLS:
            self.await_tls(deadline)
        return 0

    cdef int resolve(self, long long deadline) except -1:
        cdef addrinfo hints
        cdef sockaddr_un *sun
        cdef bytes path, host
        cdef int rc
        if self.url.scheme == 'unix':
            path = self.url.host.encode('utf-8', 'surrogateescape')
            if len(path) >= 108:
                raise CoreError(RW_ERR_BAD_OPTION, "unix socket path is too long")
            # A one-entry list shaped like getaddrinfo's, freed the same way.
            self.addrs = <addrinfo *> realloc(NULL, sizeof(addrinfo) + sizeof(sockaddr_un))
            if self.addrs == NULL:
                raise MemoryError()
            memset(self.addrs, 0, sizeof(addrinfo) + sizeof(sockaddr_un))
            sun = <sockaddr_un *> (<char *> self.addrs + sizeof(addrinfo))
            sun.sun_family = AF_UNIX
            memcpy(sun.sun_path, <char *> path, len(path))
            self.addrs.ai_family = AF_UNIX
            self.addrs.ai_socktype = SOCK_STREAM
            self.addrs.ai_addr = <sockaddr *> sun
            self.addrs.ai_addrlen = sizeof(sockaddr_un)
            return 0
        host = self.url.host.encode('utf-8', 'surrogateescape')
        port = str(self.url.port).encode()
        if self.lookup == NULL:
            # An address needs no lookup (and no helper thread).
            memset(&hints, 0, sizeof(hints))
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = SOCK_STREAM
            hints.ai_flags = AI_NUMERICHOST
            rc = getaddrinfo(host, port, &hints, &self.addrs)
            if rc == 0:
                return 0
            self.addrs = NULL
            if rc != EAI_NONAME:
                raise self.lookup_error(rc)
            self.lookup = rw_lookup_start(host, port, &rc)
            if self.lookup == NULL:
                raise self.lookup_error(rc)
        # The answer, else a wait for it: a call resumed once the pipe was
        # readable (an asynchronous scan's, after WouldBlock) takes it at once.
        rc = rw_lookup_result(self.lookup, &self.addrs)
        while rc == EAI_INPROGRESS:
            if self.wait_fd(rw_lookup_fd(self.lookup), RW_WAIT_READABLE, deadline) == RW_WAIT_TIMEOUT:
                raise CoreError(RW_ERR_CONNECT, "could not resolve Redis host \"%s\": no answer within %d ms"
                                % (self.url.host, self.connect_timeout_ms), final=True)
            rc = rw_lookup_result(self.lookup, &self.addrs)
        rw_lookup_release(self.lookup)
        self.lookup = NULL
        if rc != 0:
            raise self.lookup_error(rc)
        return 0

    cdef object lookup_error(self, int rc):
        # Only a temporary failure is worth retrying.
        return CoreError(RW_ERR_CONNECT, "could not resolve Redis host \"%s\": %s"
                         % (self.url.host, gai_strerror(rc).decode('utf-8', 'replace')),
                         final=rc != EAI_AGAIN)

    cdef int dial(self) except -1:
        """Start connecting to self.addr, or to the next address that accepts."""
        cdef int one = 1
        while self.addr != NULL:
            self.fd = socket(self.addr.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
            if self.fd < 0:
                self.next_address(errno)
                continue
            if self.addr.ai_family != AF_UNIX:
                setsockopt(self.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))
                setsockopt(self.fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one))
            if connect(self.fd, self.addr.ai_addr, self.addr.ai_addrlen) == 0:
                return self.connected()
            if errno == EINPROGRESS or errno == EAGAIN:
                self.state = TS_CONNECTING
                return 0
            self.next_address(errno)
        raise CoreError(RW_ERR_CONNECT, "could not connect to Redis at %s: %s"
                        % (self.url.where(), self.last_failure))

    cdef int next_address(self, int err) except -1:
        self.last_failure = strerror(err).decode('utf-8', 'replace')
        self.close()
        self.addr = self.addr.ai_next
        return 0

    cdef int await_connect(self, long long deadline) except -1:
        cdef int err = 0
        cdef socklen_t len = sizeof(err)
        if self.wait(RW_WAIT_WRITABLE, deadline) == RW_WAIT_TIMEOUT:
            raise CoreError(RW_ERR_CONNECT, "could not connect to Redis at %s: timed out after %d ms"
                            % (self.url.where(), self.connect_timeout_ms))
        if getsockopt(self.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0:
            err = errno
        if err == 0:
            return self.connected()
        self.next_address(err)
        return self.dial()

    cdef int connected(self) except -1:
        """The socket is connected: TLS next for rediss://."""
        if self.url.scheme == 'rediss':
            self.ssl = tls_new(self.tls, self.fd, self.url.host, self.url.where())
            self.state = TS_TLS
        else:
            self.state = TS_OPEN
        return 0

    cdef int await_tls(self, long long deadline) except -1:
        cdef int r, e
        cdef long v
        ERR_clear_error()
        r = SSL_connect(self.ssl)
        if r == 1:
            self.state = TS_OPEN
            return 0
        e = SSL_get_error(self.ssl, r)
        if e == SSL_ERROR_WANT_READ or e == SSL_ERROR_WANT_WRITE:
            if self.wait(RW_WAIT_READABLE if e == SSL_ERROR_WANT_READ else RW_WAIT_WRITABLE,
                         deadline) == RW_WAIT_TIMEOUT:
                raise CoreError(RW_ERR_CONNECT, "Redis at %s did not complete the TLS handshake within %d ms"
                                % (self.url.where(), self.connect_timeout_ms))
            return 0
        v = SSL_get_verify_result(self.ssl)
        if v != X509_V_OK:
            raise tls_failure(self.url.where(), "certificate verification failed: "
                              + X509_verify_cert_error_string(v).decode('utf-8', 'replace'))
        raise tls_failure(self.url.where(), openssl_error("the server closed the connection during the handshake"))

    # -- I/O ----------------------------------------------------------------
    cdef int wait(self, int events, long long deadline) except -1:
        """Wait for events on the socket until deadline (0: none); returns the ready ones."""
        return self.wait_fd(self.fd, events, deadline)

    cdef int wait_fd(self, int fd, int events, long long deadline) except -1:
        cdef int timeout = 0, r
        if deadline:
            timeout = <int> (deadline - now_ms())
            if timeout <= 0:
                return RW_WAIT_TIMEOUT
        # (A wait without a socket is a backoff's sleep: no socket for an Append to wait for.)
        if g_no_wait and events == RW_WAIT_READABLE and fd >= 0:
            raise WouldBlock(fd, deadline)
        if g_wait == poll_wait:         # outside PostgreSQL: other threads (tests, tools) run meanwhile
            with nogil:
                r = g_wait(fd, events, timeout)
        else:                           # PostgreSQL's code runs with nothing else beside it
            r = g_wait(fd, events, timeout)
        if r == RW_WAIT_INTERRUPTED:
            raise Interrupted()
        if r == RW_WAIT_FAILED:
            raise CoreError(RW_ERR_IO, "waiting for Redis at %s failed" % self.url.where())
        return r

    cdef ssize_t send_some(self, const char *p, Py_ssize_t n, int *want) except -2:
        """Bytes sent, or -1 with *want set to the readiness needed first."""
        cdef ssize_t r
        if self.ssl == NULL:
            while True:
                r = send(self.fd, p, n, MSG_NOSIGNAL)
                if r >= 0:
                    return r
                if errno == EAGAIN:
                    want[0] = RW_WAIT_WRITABLE
                    return -1
                if errno != EINTR:
                    raise self.io_error(errno)
        ERR_clear_error()
        r = SSL_write(self.ssl, p, <int> min(n, 1 << 30))
        if r > 0:
            return r
        return self.tls_want(r, want)

    cdef ssize_t recv_some(self, char *p, Py_ssize_t n, int *want) except -2:
        """Bytes read, 0 at the end of the stream, or -1 with *want set."""
        cdef ssize_t r
        if self.ssl == NULL:
            while True:
                r = recv(self.fd, p, n, 0)
                if r >= 0:
                    return r
                if errno == EAGAIN:
                    want[0] = RW_WAIT_READABLE
                    return -1
                if errno != EINTR:
                    raise self.io_error(errno)
        ERR_clear_error()
        r = SSL_read(self.ssl, p, <int> n)
        if r > 0:
            return r
        return self.tls_want(r, want)

    cdef ssize_t tls_want(self, int r, int *want) except -2:
        cdef int e = SSL_get_error(self.ssl, r)
        if e == SSL_ERROR_WANT_READ:
            want[0] = RW_WAIT_READABLE
            return -1
        if e == SSL_ERROR_WANT_WRITE:
            want[0] = RW_WAIT_WRITABLE
            return -1
        if e == SSL_ERROR_ZERO_RETURN or (e == SSL_ERROR_SYSCALL and errno == 0):
            return 0
        if e == SSL_ERROR_SYSCALL:
            raise self.io_error(errno)
        raise CoreError(RW_ERR_IO, "TLS connection to Redis at %s failed: %s"
                        % (self.url.where(), openssl_error("unknown error")))

    cdef object io_error(self, int err):
        return CoreError(RW_ERR_IO, "connection to Redis at %s failed: %s"
                         % (self.url.where(), strerror(err).decode('utf-8', 'replace')))


cdef int wait_readable(list fds, long long deadline) except -1:
    """Until one of the sockets fds is readable (RW_WAIT_READABLE) or deadline
    (0: none) is past (RW_WAIT_TIMEOUT): a scan reading several nodes at once
    waits for whichever answers first."""
    cdef int timeout = 0, r, i, n = len(fds)
    cdef int *a
    if deadline:
        timeout = <int> (deadline - now_ms())
        if timeout <= 0:
            return RW_WAIT_TIMEOUT
    a = <int *> realloc(NULL, sizeof(int) * n)
    if a == NULL:
        raise MemoryError()
    for i in range(n):
        a[i] = fds[i]
    if g_wait_readable == poll_wait_readable:   # as in wait_fd
        with nogil:
            r = g_wait_readable(a, n, timeout)
    else:
        r = g_wait_readable(a, n, timeout)
    free(a)
    if r == RW_WAIT_INTERRUPTED:
        raise Interrupted()
    if r == RW_WAIT_FAILED:
        raise CoreError(RW_ERR_IO, "waiting for the nodes of a Redis Cluster failed")
    return r
