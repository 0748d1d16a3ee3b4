# One Redis connection: non-blocking socket I/O, connect and handshake, the
# output buffer of queued commands and the reader of their replies.  Every
# wait goes through g_wait, which PostgreSQL replaces with a latch wait that
# reports pending interrupts; all state lives in the object, so an interrupted
# call can simply be repeated.

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
        int ai_protocol
        socklen_t ai_addrlen
        sockaddr *ai_addr
        addrinfo *ai_next
    int getaddrinfo(const char *node, const char *service, const addrinfo *hints, addrinfo **res)
    void freeaddrinfo(addrinfo *res)
    const char *gai_strerror(int code)
    enum:
        EAI_AGAIN
        EAI_NONAME
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


cdef RwWaitFn g_wait = poll_wait


cdef long long now_ms() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1000 + ts.tv_nsec // 1000000


cdef enum ConnState:
    CS_NEW
    CS_BACKOFF      # waiting to retry after a failed attempt
    CS_CONNECTING
    CS_TLS          # TLS handshake
    CS_HANDSHAKE
    CS_READY
    CS_BROKEN

cdef enum HandshakeTag:
    TAG_AUTH = 1000
    TAG_SELECT

cdef enum:
    RECV_SIZE = 256 * 1024
    OUT_KEEP = 64 * 1024        # more than the commands queued at once need, but for long keys
    MAX_RETRIES = 3             # as the spec says
    FIRST_BACKOFF_MS = 100


cdef class Connection(Sink):
    cdef object key                 # the cache key fdw.c gave (see pool.pxi)
    cdef tuple generation
    cdef tuple identity             # what it was dialled with
    cdef bint reused                # handed out from the cache
    cdef bint dialling
    cdef int attempts               # retries so far
    cdef long long retry_at
    cdef Url url
    cdef TlsOptions tls
    cdef SSL *ssl
    cdef bytes user, password
    cdef int connect_timeout_ms, command_timeout_ms
    cdef long long max_value_size   # the longest reply string accepted (set per scan)
    cdef ConnState state
    cdef int fd
    cdef addrinfo *addrs
    cdef addrinfo *addr
    cdef rw_lookup *lookup          # a host-name lookup in progress
    cdef long long deadline
    cdef str last_failure
    cdef ByteBuf out
    cdef Py_ssize_t out_pos
    cdef Reader reader
    cdef char *rbuf

    def __cinit__(self):
        self.fd = -1
        self.max_value_size = RW_DEFAULT_MAX_VALUE_SIZE
        self.out = ByteBuf()
        self.reader = Reader()
        self.rbuf = <char *> realloc(NULL, RECV_SIZE)
        if self.rbuf == NULL:
            raise MemoryError()

    def __dealloc__(self):
        self.close_socket()
        if self.addrs != NULL:
            freeaddrinfo(self.addrs)
        free(self.rbuf)

    cdef bint alive(self) noexcept:
        """Ready, idle and not closed by the server since (a non-blocking peek)."""
        cdef char c
        cdef ssize_t n
        if self.state != CS_READY or not self.idle() or self.fd < 0:
            return False
        if self.ssl != NULL:
            # SSL_peek also consumes TLS records that carry no data (session tickets).
            ERR_clear_error()
            n = SSL_peek(self.ssl, &c, 1)
            return n <= 0 and SSL_get_error(self.ssl, n) == SSL_ERROR_WANT_READ
        n = recv(self.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT)
        return n < 0 and errno == EAGAIN

    cdef void close_socket(self) noexcept:
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

    cdef void close(self) noexcept:
        """Close the socket now, and let go of the sink (which refers back to us)."""
        self.close_socket()
        self.state = CS_BROKEN
        self.reader.sink = None

    cdef int settle(self) except -1:
        """Back to buffers of the usual size, to wait in the cache: after a big
        value, hiredis would keep its buffer until the next read."""
        self.reader = Reader()
        self.out.shrink(OUT_KEEP)
        return 0

    # -- commands ---------------------------------------------------------
    cdef inline int command(self, int tag, int nargs) except -1:
        """Start a command of nargs arguments whose reply will carry tag."""
        self.reader.expect(tag)
        return put_len(self.out, b'*', nargs)

    cdef inline int arg(self, const char *p, Py_ssize_t n) except -1:
        return put_arg(self.out, p, n)

    cdef inline int arg_int(self, long long v) except -1:
        return put_arg_int(self.out, v)

    cdef inline bint idle(self) noexcept:
        """No command is queued or awaiting its reply."""
        return self.reader.tag_count == 0

    # -- connecting -------------------------------------------------------
    cdef int ready(self) except -1:
        """Connect and authenticate, or go on doing so after an interruption.

        Failures to connect are retried with exponential backoff, at most
        MAX_RETRIES times, all within connect_timeout."""
        if self.state == CS_READY:
            return 0
        if self.state == CS_BROKEN:
            raise CoreError(RW_ERR_IO, "the connection to Redis at %s was lost" % self.url.where())
        if not self.dialling:
            self.dialling = True
            self.deadline = now_ms() + self.connect_timeout_ms if self.connect_timeout_ms > 0 else 0
        while True:
            if self.state == CS_BACKOFF:
                if now_ms() < self.retry_at:
                    self.wait(0, self.retry_at)
                    continue
                self.state = CS_NEW
            try:
                return self.attempt()
            except CoreError as e:
                if not self.retry_later(e):
                    raise

    cdef int attempt(self) except -1:
        if self.state == CS_NEW:
            if self.addrs == NULL:
                self.resolve()
            self.addr = self.addrs
            self.dial()
        while self.state == CS_CONNECTING:
            self.await_connect()
        while self.state == CS_TLS:
            self.await_tls()
        if self.state == CS_HANDSHAKE:
            self.reader.sink = self
            while not self.idle():
                self.receive(self.deadline)
            self.state = CS_READY
        return 0

    cdef bint retry_later(self, object e) except -1:
        """Schedule another attempt after e, or give up (and say how often we tried)."""
        cdef long long delay = FIRST_BACKOFF_MS << self.attempts
        if (e.kind not in (RW_ERR_CONNECT, RW_ERR_IO) or e.final
                or self.attempts >= MAX_RETRIES
                or (self.deadline and now_ms() + delay >= self.deadline)):
            self.state = CS_BROKEN
            if self.attempts:
                e.message += " (after %d retries)" % self.attempts
            return False
        self.attempts += 1
        self.close_socket()
        self.reader = Reader()
        self.out.size = 0
        self.out_pos = 0
        self.retry_at = now_ms() + delay
        self.state = CS_BACKOFF
        return True

    cdef int resolve(self) except -1:
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
        if self.wait_fd(rw_lookup_fd(self.lookup), RW_WAIT_READABLE, self.deadline) == RW_WAIT_TIMEOUT:
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
                self.connected()
                return 0
            if errno == EINPROGRESS or errno == EAGAIN:
                self.state = CS_CONNECTING
                return 0
            self.next_address(errno)
        raise CoreError(RW_ERR_CONNECT, "could not connect to Redis at %s: %s"
                        % (self.url.where(), self.last_failure))

    cdef int next_address(self, int err) except -1:
        self.last_failure = strerror(err).decode('utf-8', 'replace')
        self.close_socket()
        self.addr = self.addr.ai_next
        return 0

    cdef int await_connect(self) except -1:
        cdef int err = 0
        cdef socklen_t len = sizeof(err)
        cdef int r = self.wait(RW_WAIT_WRITABLE, self.deadline)
        if r == RW_WAIT_TIMEOUT:
            self.state = CS_BROKEN
            raise CoreError(RW_ERR_CONNECT, "could not connect to Redis at %s: timed out after %d ms"
                            % (self.url.where(), self.connect_timeout_ms))
        if getsockopt(self.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0:
            err = errno
        if err == 0:
            self.connected()
            return 0
        self.next_address(err)
        self.state = CS_NEW
        self.dial()
        return 0

    cdef int connected(self) except -1:
        """The socket is connected: TLS first for rediss://, then AUTH and SELECT."""
        if self.url.scheme == 'rediss':
            self.ssl = tls_new(self.tls, self.fd, self.url.host, self.url.where())
            self.state = CS_TLS
            return 0
        return self.queue_handshake()

    cdef int await_tls(self) except -1:
        cdef int r, e
        cdef long v
        ERR_clear_error()
        r = SSL_connect(self.ssl)
        if r == 1:
            return self.queue_handshake()
        e = SSL_get_error(self.ssl, r)
        if e == SSL_ERROR_WANT_READ or e == SSL_ERROR_WANT_WRITE:
            if self.wait(RW_WAIT_READABLE if e == SSL_ERROR_WANT_READ else RW_WAIT_WRITABLE,
                         self.deadline) == RW_WAIT_TIMEOUT:
                raise CoreError(RW_ERR_CONNECT, "Redis at %s did not complete the TLS handshake within %d ms"
                                % (self.url.where(), self.connect_timeout_ms))
            return 0
        v = SSL_get_verify_result(self.ssl)
        if v != X509_V_OK:
            raise tls_failure(self.url.where(), "certificate verification failed: "
                              + X509_verify_cert_error_string(v).decode('utf-8', 'replace'))
        raise tls_failure(self.url.where(), openssl_error("the server closed the connection during the handshake"))

    cdef int queue_handshake(self) except -1:
        """Queue AUTH [user] password when a password is set, and SELECT db."""
        self.state = CS_HANDSHAKE
        if self.password is not None:
            self.command(TAG_AUTH, 3 if self.user is not None else 2)
            self.arg(b"AUTH", 4)
            if self.user is not None:
                self.arg(self.user, len(self.user))
            self.arg(self.password, len(self.password))
        if self.url.db:
            self.command(TAG_SELECT, 2)
            self.arg(b"SELECT", 6)
            self.arg_int(self.url.db)
        return 0

    # The handshake's replies: a status each, or an error.
    cdef str what(self, int tag):
        return "AUTH" if tag == TAG_AUTH else "SELECT"

    cdef str where(self):
        return self.url.where()

    cdef int on_string(self, int tag, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        if kind != REDIS_REPLY_ERROR:
            return 0
        msg = p[:n].decode('utf-8', 'replace')
        self.state = CS_BROKEN
        if tag == TAG_AUTH:
            who = ('user "%s"' % self.user.decode('utf-8', 'replace')) if self.user is not None else 'the default user'
            raise CoreError(RW_ERR_AUTH, "Redis at %s refused authentication for %s: %s"
                            % (self.url.where(), who, msg),
                            hint="Check the password in the connection URL or user mapping.")
        raise CoreError(RW_ERR_REDIS, "Redis at %s refused to select database %d: %s"
                        % (self.url.where(), self.url.db, msg))

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
        r = g_wait(fd, events, timeout)
        if r == RW_WAIT_INTERRUPTED:
            raise Interrupted()
        if r == RW_WAIT_FAILED:
            self.state = CS_BROKEN
            raise CoreError(RW_ERR_IO, "waiting for Redis at %s failed" % self.url.where())
        return r

    cdef ssize_t io_send(self, const char *p, Py_ssize_t n, int *want) except -2:
        """Bytes sent, or -1 with *want set to the readiness needed first."""
        cdef ssize_t r
        cdef int e
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

    cdef ssize_t io_recv(self, char *p, Py_ssize_t n, int *want) except -2:
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
        self.state = CS_BROKEN
        raise CoreError(RW_ERR_IO, "TLS connection to Redis at %s failed: %s"
                        % (self.url.where(), openssl_error("unknown error")))

    cdef int flush(self) except -1:
        """Send what is queued, as far as the socket takes it without waiting."""
        cdef ssize_t n
        cdef int want = 0
        while self.out_pos < self.out.size:
            n = self.io_send(self.out.data + self.out_pos, self.out.size - self.out_pos, &want)
            if n < 0:
                return 0
            self.out_pos += n
        self.out.size = 0
        self.out_pos = 0
        return 0

    cdef int receive(self, long long deadline) except -1:
        """Send what is queued and read at least once, feeding the reader."""
        cdef ssize_t n
        cdef int r
        cdef long long limit
        cdef int want = 0
        while True:
            self.flush()
            n = self.io_recv(self.rbuf, RECV_SIZE, &want)
            if n > 0:
                return self.reader.feed(self.rbuf, n, self.max_value_size)
            if n == 0:
                self.state = CS_BROKEN
                raise CoreError(RW_ERR_IO, "Redis at %s closed the connection" % self.url.where())
            limit = deadline
            if not limit and self.command_timeout_ms > 0:
                limit = now_ms() + self.command_timeout_ms
            r = self.wait(want | (RW_WAIT_WRITABLE if self.out_pos < self.out.size else 0), limit)
            if r == RW_WAIT_TIMEOUT:
                self.state = CS_BROKEN
                if deadline:
                    raise CoreError(RW_ERR_CONNECT, "Redis at %s did not complete the handshake within %d ms"
                                    % (self.url.where(), self.connect_timeout_ms))
                raise CoreError(RW_ERR_TIMEOUT, "Redis at %s did not answer within %d ms (command_timeout)"
                                % (self.url.where(), self.command_timeout_ms))

    cdef object io_error(self, int err):
        self.state = CS_BROKEN
        return CoreError(RW_ERR_IO, "connection to Redis at %s failed: %s"
                         % (self.url.where(), strerror(err).decode('utf-8', 'replace')))


cdef int check_identity(Url url, bytes user, bytes password, bint password_required) except -1:
    """Refuse to connect as someone the options did not name, or, for a role that
    must authenticate (password_required, from fdw.c), without a password or
    through a unix socket (which reaches servers only the database's OS user can)."""
    if user is not None and password is None:
        raise CoreError(RW_ERR_BAD_OPTION, "Redis user \"%s\" is given without a password" % shown(user),
                        hint="Redis authenticates a user name only together with its password; "
                             "without one the connection would run as Redis's default user.")
    if not password_required:
        return 0
    if url.scheme == 'unix':
        raise CoreError(RW_ERR_PRIVILEGE, "only superusers may connect to Redis through a unix socket",
                        hint="A superuser may allow it for a user mapping with password_required 'false'.")
    if password is None:
        raise CoreError(RW_ERR_PRIVILEGE, "password is required",
                        detail="Non-superusers must send a password to Redis, from their user mapping or the connection URL.",
                        hint="Add a password to the user mapping; a superuser may instead set password_required 'false' on it.")
    return 0
