# One Redis connection, as the pool hands it out and as plans see it (their
# command Target): a transport, the session's handshake on it, the commands
# queued and the reader of their replies.  A failure to connect (the handshake
# included) is retried here with backoff.  Where the URL names the sentinels of
# a primary, a Locator finds the server first (net/sentinel.pxi).

cdef enum ConnState:
    CS_NEW
    CS_BACKOFF      # waiting to retry after a failed attempt
    CS_LOCATING     # the Locator finds the server
    CS_OPENING      # the transport connects (and does TLS)
    CS_HANDSHAKE    # the session's commands are answered
    CS_READY
    CS_BROKEN

cdef enum:
    RECV_SIZE = 256 * 1024
    OUT_KEEP = 64 * 1024        # more than the commands queued at once need, but for long keys
    MAX_RETRIES = 3             # as the spec says
    FIRST_BACKOFF_MS = 100


cdef class Counters:
    """What a scan's connections did for it (rw_scan_stats), counted as they
    go: a round trip is data received after commands were sent (commands
    pipelined together are one), keys are counted by the plans."""
    cdef RwScanStats s


cdef class Locator:
    """Finds the server a connection goes to, when its URL names only whom to ask."""

    cdef Url find(self, long long deadline):
        """The server's URL, found by deadline (0: none); resumable after Interrupted."""
        raise NotImplementedError

    cdef void failed(self, Url url) noexcept:
        """Connecting to url (as find said) failed: find the server again next time."""
        pass


cdef class Connection(Target):
    cdef object key                 # the pool's key, (connection key, node)
    cdef object generation          # the connection key's when dialled (pool.pxi)
    cdef tuple identity             # what it was dialled with
    cdef bint reused                # handed out from the pool
    cdef bint dialling
    cdef bint real_dialled          # password_required: past the probe's own connection
    cdef bint once                  # no retries: the caller has other servers to try
    cdef Locator locator            # finds the server first, or None: the URL's
    cdef int attempts               # retries so far
    cdef long long retry_at
    cdef long long deadline         # of connecting, handshake included
    cdef int command_timeout_ms
    cdef long long max_value_size   # the longest reply string accepted (set per scan)
    cdef ConnState state
    cdef Transport transport
    cdef Session session
    cdef CommandWriter out
    cdef Py_ssize_t out_pos         # bytes of out already sent
    cdef Reader reader
    cdef char *rbuf
    cdef Counters counters          # the scan's that holds the connection
    cdef bint sent                  # commands went out since data last came in
    cdef long long reply_due        # command_timeout's end for the wait under way, 0: none
    cdef bint asking                # an ASK redirect points here: ASKING before each command

    def __cinit__(self):
        self.counters = Counters()
        self.max_value_size = RW_DEFAULT_MAX_VALUE_SIZE
        self.transport = Transport()
        self.session = Session()
        self.out = CommandWriter()
        self.reader = Reader()
        self.rbuf = <char *> realloc(NULL, RECV_SIZE)
        if self.rbuf == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.rbuf)

    cdef int configure(self, Url url, TlsOptions tls, bytes user, bytes password, int connect_timeout_ms,
                       int command_timeout_ms, bint must_prove) except -1:
        """Where and as whom a new connection dials."""
        self.transport.url = self.session.url = url
        self.transport.tls = tls
        self.session.user, self.session.password = user, password
        self.transport.connect_timeout_ms, self.command_timeout_ms = connect_timeout_ms, command_timeout_ms
        self.session.must_prove = must_prove
        return 0

    cdef void demoted(self) noexcept:
        """The server said it is a replica: find the primary again next time."""
        if self.locator is not None:
            self.locator.failed(self.transport.url)

    cdef bint alive(self) noexcept:
        """Ready, idle and not closed by the server since."""
        return self.state == CS_READY and self.idle() and not self.transport.peer_closed()

    cdef void close(self) noexcept:
        """Close the socket now, and let go of the sink (which refers back to us)."""
        self.transport.close()
        self.state = CS_BROKEN
        self.reader.sink = None

    cdef int settle(self) except -1:
        """Back to buffers of the usual size, to wait in the pool: after a big
        value, hiredis would keep its buffer until the next read."""
        self.reader = Reader()
        self.out.shrink(OUT_KEEP)
        return 0

    # -- the Target of plans ------------------------------------------------
    cdef CommandWriter command(self, int tag):
        if self.asking:
            self.reader.expect(T_ASKING)
            self.out.begin()
            self.out.arg(b"ASKING")
            self.out.end()
        self.counters.s.commands += 1
        self.reader.expect(tag)
        self.out.begin()
        return self.out

    cdef object unexpected(self, str problem):
        return self.reader.unexpected(problem)

    cdef str where(self):
        return self.transport.url.where()

    cdef inline bint idle(self) noexcept:
        """No command is queued or awaiting its reply."""
        return self.reader.tag_count == 0

    # -- connecting -------------------------------------------------------
    cdef int ready(self) except -1:
        """Connect and run the handshake, or go on doing so after an interruption.

        Failures to connect are retried with exponential backoff, at most
        MAX_RETRIES times, all within connect_timeout."""
        if self.state == CS_READY:
            return 0
        if self.state == CS_BROKEN:
            raise CoreError(RW_ERR_IO, "the connection to Redis at %s was lost" % self.where())
        if not self.dialling:
            self.dialling = True
            self.deadline = (now_ms() + self.transport.connect_timeout_ms
                             if self.transport.connect_timeout_ms > 0 else 0)
        while True:
            if self.state == CS_BACKOFF:
                if now_ms() < self.retry_at:
                    self.transport.wait_fd(-1, 0, self.retry_at)
                    continue
                self.state = CS_NEW
            try:
                return self.attempt()
            except CoreError as e:
                self.demoted()      # or gone: either way, a locator asks again
                if not self.retry_later(e):
                    raise

    cdef int attempt(self) except -1:
        if self.state == CS_NEW:
            self.state = CS_OPENING if self.locator is None else CS_LOCATING
        if self.state == CS_LOCATING:
            self.aim(self.locator.find(self.deadline))
            self.state = CS_OPENING
        if self.state == CS_OPENING:
            self.transport.open(self.deadline)
            self.state = CS_HANDSHAKE
            self.session.queue(self)
        self.reader.sink = self.session
        while not self.idle():
            self.receive(self.deadline)
        # (A probe Redis accepted has raised already: only a refused one gets here.)
        if self.session.must_prove and not self.real_dialled:
            # That was the probe's connection: now the real one.
            self.reopen()
            self.real_dialled = True
            return self.attempt()
        self.state = CS_READY
        return 0

    cdef int aim(self, Url url) except -1:
        """Dial url from now on: a transport of its own (it resolves its host once)."""
        cdef Transport t
        if url is self.transport.url:
            return 0
        t = Transport()
        t.url = self.session.url = url
        t.tls = self.transport.tls
        t.connect_timeout_ms = self.transport.connect_timeout_ms
        self.transport.close()
        self.transport = t
        return 0

    cdef void reopen(self) noexcept:
        """Back to dialling: a fresh socket, reader and output."""
        self.transport.close()
        self.reader = Reader()
        self.out.size = 0
        self.out_pos = 0
        self.state = CS_OPENING

    cdef bint retry_later(self, object e) except -1:
        """Schedule another attempt after e, or give up (and say how often we tried)."""
        cdef long long delay = FIRST_BACKOFF_MS << self.attempts
        if (e.kind not in (RW_ERR_CONNECT, RW_ERR_IO) or e.final or self.once
                or self.attempts >= MAX_RETRIES
                or (self.deadline and now_ms() + delay >= self.deadline)):
            self.state = CS_BROKEN
            if self.attempts:
                e.message += " (after %d retries)" % self.attempts
            return False
        self.attempts += 1
        self.transport.close()
        self.reader = Reader()
        self.out.size = 0
        self.out_pos = 0
        self.retry_at = now_ms() + delay
        self.state = CS_BACKOFF
        return True

    # -- I/O ----------------------------------------------------------------
    cdef int flush(self) except -1:
        """Send what is queued, as far as the socket takes it without waiting."""
        cdef ssize_t n
        cdef int want = 0
        while self.out_pos < self.out.size:
            n = self.send_some(&want)
            if n < 0:
                return 0
            self.out_pos += n
            self.sent = True
            self.reply_due = 0
        self.out.size = 0
        self.out_pos = 0
        return 0

    cdef ssize_t send_some(self, int *want) except -2:
        try:
            return self.transport.send_some(self.out.data + self.out_pos, self.out.size - self.out_pos, want)
        except CoreError:
            self.state = CS_BROKEN
            raise

    cdef int receive(self, long long deadline) except -1:
        """Send what is queued and read at least once, feeding the reader."""
        cdef ssize_t n = self.recv_some(deadline)
        return self.reader.feed(self.rbuf, n, self.max_value_size)

    cdef ssize_t recv_some(self, long long deadline) except -1:
        """Bytes read into rbuf, waiting for them until deadline (0: for
        command_timeout); whatever fails breaks the connection."""
        cdef ssize_t n
        cdef int r
        cdef long long limit
        cdef int want = 0
        try:
            while True:
                self.flush()
                n = self.transport.recv_some(self.rbuf, RECV_SIZE, &want)
                if n > 0:
                    self.counters.s.bytes_received += n
                    self.counters.s.round_trips += self.sent
                    self.sent = False
                    self.reply_due = 0
                    return n
                if n == 0:
                    raise CoreError(RW_ERR_IO, "Redis at %s closed the connection" % self.where())
                # command_timeout counts from the last progress: a wait resumed
                # (after an interrupt, or an asynchronous scan's WouldBlock) goes on
                limit = deadline
                if not limit and self.command_timeout_ms > 0:
                    if not self.reply_due:
                        self.reply_due = now_ms() + self.command_timeout_ms
                    limit = self.reply_due
                r = self.transport.wait(want | (RW_WAIT_WRITABLE if self.out_pos < self.out.size else 0), limit)
                if r == RW_WAIT_TIMEOUT:
                    if deadline:
                        raise CoreError(RW_ERR_CONNECT, "Redis at %s did not complete the handshake within %d ms"
                                        % (self.where(), self.transport.connect_timeout_ms))
                    raise CoreError(RW_ERR_TIMEOUT, "Redis at %s did not answer within %d ms (command_timeout)"
                                    % (self.where(), self.command_timeout_ms))
        except CoreError:
            self.state = CS_BROKEN
            raise
