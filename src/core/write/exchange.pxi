# Request/reply rounds on a pooled connection for writes: the reads a row
# needs at once (ON CONFLICT DO NOTHING, a stream's last id) and a flush's
# rounds.  Replies are small (answers to checks), so they are kept as Python
# data.  A round is resumable: Interrupted leaves it in flight, and asking
# again goes on waiting for the same replies.

cdef const RwShape *write_shape(int tag) noexcept:
    if tag == T_EXEC:
        return &rw_exec
    if tag == T_INT:
        return &rw_integer
    if tag == T_FLAGS:
        return &rw_flags
    if tag == T_VALUES:
        return &rw_values
    if tag == T_VALUE:
        return &rw_string_or_nil
    if tag == T_STRINGS:
        return &rw_strings
    if tag == T_PAIRS:
        return &rw_pairs
    if tag == T_ENTRIES:
        return &rw_entries
    if tag == T_INFO:
        return &rw_info
    if tag == T_SCAN:
        return &rw_scan_strings
    if tag == T_CLUSTER:
        return &rw_anything
    return &rw_status


cdef class Replies(Sink):
    """Collects whole replies as Python data: bytes, int, None, lists, and
    ReplyError for an error anywhere (EXEC's elements included)."""
    cdef list got                   # the replies completed, in order
    cdef list stack                 # the arrays being filled
    cdef object names               # the commands whose replies are due, for messages
    cdef str server

    def __cinit__(self):
        self.got = []
        self.stack = []
        self.names = deque()

    cdef const RwShape *shape(self, int tag) noexcept:
        return write_shape(tag)

    cdef str what(self, int tag):
        return self.names[0] if self.names else "a command"

    cdef str where(self):
        return self.server

    cdef int put(self, int depth, object v) except -1:
        (self.stack[len(self.stack) - 1] if depth else self.got).append(v)
        return 0

    cdef int on_array(self, int tag, int depth, Py_ssize_t count) except -1:
        cdef list a = []
        self.put(depth, a)
        self.stack.append(a)
        return 0

    cdef int on_end(self, int tag, int depth) except -1:
        self.stack.pop()
        return 0

    cdef int on_string(self, int tag, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        return self.put(depth, ReplyError(p[:n]) if kind == REDIS_REPLY_ERROR else p[:n])

    cdef int on_int(self, int tag, int depth, long long v) except -1:
        return self.put(depth, v)

    cdef int on_nil(self, int tag, int depth) except -1:
        return self.put(depth, None)

    cdef int on_reply_end(self, int tag) except -1:
        self.names.popleft()
        return 0


cdef class Exchange:
    """One connection taken from the pool for a while, and rounds on it."""
    cdef Endpoint ep
    cdef object node                # a cluster's node (Endpoint.acquire), None: the URL's
    cdef Connection conn
    cdef Replies replies
    cdef bint asked                 # a round is in flight
    cdef bint retried

    def __cinit__(self, Endpoint ep, object node=None):
        self.ep = ep
        self.node = node

    cdef int send(self, int tag, list args) except -1:
        cdef CommandWriter w = self.conn.command(tag)
        cdef bytes a
        for a in args:
            w.arg(a)
        w.end()
        self.replies.names.append('%s "%s"' % (args[0].decode(), shown(args[1])) if len(args) > 1
                                  else args[0].decode())
        return 0

    cdef int connect(self) except -1:
        if self.conn is None:
            self.conn = self.ep.acquire(self.node)
            self.replies = Replies()
            self.replies.server = self.conn.where()
        self.conn.ready()
        self.conn.reader.sink = self.replies
        return 0

    cdef list round(self, list commands):
        """The replies to commands ((tag, args) each), sent together.  A pooled
        connection the server closed since is dialled again, once: nothing
        a round sends writes."""
        cdef list got
        while True:
            self.connect()
            if not self.asked:
                for tag, args in commands:
                    self.send(tag, args)
                self.asked = True
            try:
                while not self.conn.idle():
                    self.conn.receive(0)
                break
            except CoreError as e:
                if not (e.kind == RW_ERR_IO and self.conn.reused and not self.retried):
                    raise
                self.retried = True
                self.conn.close()
                self.conn = None
                self.asked = False
        self.asked = False
        got = self.replies.got
        self.replies.got = []
        return got

    cdef void abandon(self) noexcept:
        """Close the connection, whatever it was doing."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.asked = False

    cdef void done(self) noexcept:
        """Give the connection back: to the pool if no exchange is unfinished."""
        if self.conn is not None:
            if self.asked or not self.conn.idle():
                self.conn.close()
            else:
                self.conn.reader.sink = None
                pool_release(self.conn)
            self.conn = None
        self.asked = False
