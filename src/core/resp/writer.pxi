# Commands as RESP arrays of bulk strings.  A command is written between
# begin() and end(); its argument count and every argument's length are
# counted here, never by the code that composes it.  Each command carries a
# tag from the one Tag space below: its reply comes back with that tag, which
# tells the sink what command the reply answers.

cdef enum Tag:
    T_AUTH_PROBE = 1    # the handshake (session.pxi): a wrong password first,
    T_AUTH              # then the real one
    T_SELECT
    T_READONLY      # a cluster replica's connection reads (read_from 'replica')
    T_ASKING        # before each command sent where an ASK redirect pointed (reader.pxi skips its +OK)
    T_CLUSTER       # CLUSTER SHARDS / SLOTS / NODES, INFO cluster (cluster/topology.pxi)
    T_ROLE          # ROLE, last: a server the sentinels named must be a primary
    T_SENTINEL      # SENTINEL GET-MASTER-ADDR-BY-NAME, to a sentinel
    T_TYPE          # TYPE key, checked in the same round trip as the first fetch
    T_FETCH         # a fetch from the table's key
    T_SCAN          # SCAN of a pattern
    T_KEY_FETCH     # the contents of one key matched by the pattern
    # writes (core/write): each tag names the shape its reply must have
    T_STATUS        # WATCH, MULTI, and each write queued inside MULTI (+QUEUED)
    T_EXEC          # EXEC: the writes' replies, or nil when a watched key changed
    T_INT           # EXISTS
    T_FLAGS         # SMISMEMBER, LPOS ... COUNT 1
    T_VALUES        # HMGET, ZMSCORE
    T_VALUE         # LINDEX
    T_STRINGS       # LRANGE, SMEMBERS, ZRANGE, TIME
    T_PAIRS         # HGETALL
    T_ENTRIES       # XRANGE id id
    T_INFO          # XINFO STREAM
    # a key's expiry and, for key listings, what else of it is read
    T_PTTL          # PTTL key
    T_PEXPIRETIME   # PEXPIRETIME key (an error before Redis 7)
    T_TIME          # TIME, once per scan: the clock PTTL is added to without PEXPIRETIME
    T_KEY_TYPE      # TYPE of a listed key
    T_KEY_LENGTH    # LLEN, SCARD, HLEN, ZCARD, XLEN or STRLEN of a listed key
    T_KEY_MEMORY    # MEMORY USAGE of a listed key
    T_FIELDS        # HMGET of a pattern key's field columns

cdef enum:
    HEADER_MAX = 24     # room for "*<count>\r\n" of any count


cdef class CommandWriter(ByteBuf):
    """The output buffer of a connection, written one command at a time."""
    cdef Py_ssize_t start       # where the open command's reserved header begins
    cdef Py_ssize_t nargs       # its arguments so far

    cdef int begin(self) except -1:
        """Open a command: room is kept for its header until end() knows the count."""
        self.start = self.size
        self.nargs = 0
        if self.size + HEADER_MAX > self.cap:
            self.grow(HEADER_MAX)
        self.size += HEADER_MAX
        return 0

    cdef int end(self) except -1:
        """Close the command: its header goes in, the arguments move up to meet it."""
        cdef char head[HEADER_MAX]
        cdef Py_ssize_t args = self.start + HEADER_MAX
        cdef int k = snprintf(head, sizeof(head), "*%zd\r\n", self.nargs)
        memmove(self.data + self.start + k, self.data + args, self.size - args)
        memcpy(self.data + self.start, head, k)
        self.size -= HEADER_MAX - k
        return 0

    cdef int arg_span(self, const char *p, Py_ssize_t n) except -1:
        # The hottest path of writes (an argument per value): one room check,
        # and the length's digits written by hand (snprintf cost more than the copy).
        cdef char digits[24]
        cdef int k = 0
        cdef Py_ssize_t v = n
        cdef char *out
        if self.size + n + HEADER_MAX > self.cap:
            self.grow(n + HEADER_MAX)
        while True:
            digits[k] = <char> (48 + v % 10)
            k += 1
            v //= 10
            if v == 0:
                break
        out = self.data + self.size
        out[0] = b'$'
        out += 1
        while k > 0:
            k -= 1
            out[0] = digits[k]
            out += 1
        out[0] = b'\r'
        out[1] = b'\n'
        memcpy(out + 2, p, n)
        out += 2 + n
        out[0] = b'\r'
        out[1] = b'\n'
        self.size = (out + 2) - self.data
        self.nargs += 1
        return 0

    cdef inline int arg(self, bytes b) except -1:
        return self.arg_span(b, len(b))

    cdef inline int arg_buf(self, ByteBuf b) except -1:
        return self.arg_span(b.data, b.size)

    cdef int arg_int(self, long long v) except -1:
        cdef char tmp[24]
        return self.arg_span(tmp, snprintf(tmp, sizeof(tmp), "%lld", v))


cdef class Target:
    """Where a plan's commands go and where their replies are read: one
    connection (conn.pxi), or, later, a router over several nodes'."""

    cdef CommandWriter command(self, int tag):
        """Open a command whose reply will carry tag; the caller writes its
        arguments and calls end()."""
        raise NotImplementedError

    cdef object unexpected(self, str problem):
        """The error for the reply being read, which has the wrong shape."""
        raise NotImplementedError

    cdef str where(self):
        """The server, for messages."""
        raise NotImplementedError
