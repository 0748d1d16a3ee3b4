# RESP: command encoding and reply parsing.  Replies are parsed by the hiredis
# reader with our own reply-object functions: instead of building reply trees
# they forward SAX-style events (array start/end, string, ...) to a Sink, which
# turns them into row cells on the spot.  Nothing is allocated per element.

cdef extern from *:
    """
    #include <hiredis/hiredis.h>
    #include <hiredis/read.h>
    /* createArray's length parameter is an int before hiredis 1.0, a size_t since. */
    #if HIREDIS_MAJOR >= 1
    typedef size_t rw_arraylen_t;
    #else
    typedef int rw_arraylen_t;
    #endif
    """
    ctypedef long long rw_arraylen_t

    ctypedef struct redisReadTask:
        int type
        int idx
        redisReadTask *parent
        void *privdata

    ctypedef struct redisReplyObjectFunctions:
        void *(*createString)(const redisReadTask *, char *, size_t) except NULL
        void *(*createArray)(const redisReadTask *, rw_arraylen_t) except NULL
        void *(*createInteger)(const redisReadTask *, long long) except NULL
        void *(*createNil)(const redisReadTask *) except NULL
        void (*freeObject)(void *) noexcept

    ctypedef struct redisReader:
        int err
        char errstr[128]
        void *privdata

    redisReader *redisReaderCreateWithFunctions(redisReplyObjectFunctions *fn)
    void redisReaderFree(redisReader *r)
    int redisReaderFeed(redisReader *r, const char *buf, size_t len)
    int redisReaderGetReply(redisReader *r, void **reply)

    enum:
        REDIS_OK
        REDIS_ERR
        REDIS_REPLY_STRING
        REDIS_REPLY_ARRAY
        REDIS_REPLY_INTEGER
        REDIS_REPLY_NIL
        REDIS_REPLY_STATUS
        REDIS_REPLY_ERROR


cdef enum:
    MAX_DEPTH = 16


cdef class Sink:
    """Receives one reply's events.  tag says which command the reply answers.

    What a sink does not expect is an error: a reply of the wrong shape must
    never pass for data."""

    cdef int on_array(self, int tag, int depth, Py_ssize_t count) except -1:
        return 0

    cdef int on_string(self, int tag, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        if kind == REDIS_REPLY_ERROR:
            raise redis_error(p, n)
        return 0

    cdef int on_int(self, int tag, int depth, long long v) except -1:
        raise unexpected_reply()

    cdef int on_nil(self, int tag, int depth) except -1:
        raise unexpected_reply()

    cdef int on_end(self, int tag, int depth) except -1:
        return 0

    cdef int on_reply_end(self, int tag) except -1:
        return 0


cdef class Reader:
    """The hiredis reader plus the queue of tags of the replies still due."""
    cdef redisReader *r
    cdef Sink sink
    cdef Py_ssize_t rem[MAX_DEPTH]      # elements still due per open array
    cdef int *tags
    cdef Py_ssize_t tag_head, tag_count, tag_cap

    def __cinit__(self):
        self.r = redisReaderCreateWithFunctions(&reply_functions)
        if self.r == NULL:
            raise MemoryError()
        self.r.privdata = <void *> self

    def __dealloc__(self):
        if self.r != NULL:
            redisReaderFree(self.r)
        free(self.tags)

    cdef int expect(self, int tag) except -1:
        cdef int *t
        cdef Py_ssize_t i
        if self.tag_count == self.tag_cap:
            t = <int *> realloc(NULL, sizeof(int) * (self.tag_cap * 2 + 64))
            if t == NULL:
                raise MemoryError()
            for i in range(self.tag_count):
                t[i] = self.tags[(self.tag_head + i) % self.tag_cap]
            free(self.tags)
            self.tags = t
            self.tag_head = 0
            self.tag_cap = self.tag_cap * 2 + 64
        self.tags[(self.tag_head + self.tag_count) % self.tag_cap] = tag
        self.tag_count += 1
        return 0

    cdef inline int tag(self) noexcept:
        return self.tags[self.tag_head] if self.tag_count else -1

    cdef int feed(self, const char *p, Py_ssize_t n) except -1:
        """Parse n more bytes, delivering every event they complete to the sink."""
        cdef void *reply
        if redisReaderFeed(self.r, p, n) != REDIS_OK:
            raise CoreError(RW_ERR_OUT_OF_MEMORY, "out of memory while reading a Redis reply")
        while True:
            if redisReaderGetReply(self.r, &reply) != REDIS_OK:
                if PyErr_Occurred():
                    return -1       # what a sink raised inside a callback
                raise CoreError(RW_ERR_PROTOCOL, "malformed reply from Redis: %s"
                                % self.r.errstr.decode('utf-8', 'replace'))
            if reply == NULL:
                return 0

    # Bookkeeping shared by the callbacks: count children, close finished arrays.
    cdef inline int enter(self, int depth) except -1:
        if depth >= MAX_DEPTH:
            raise CoreError(RW_ERR_PROTOCOL, "Redis reply nested too deeply")
        if depth > 0:
            self.rem[depth - 1] -= 1
        return 0

    cdef int leave(self, int depth) except -1:
        cdef int tag = self.tag()
        while depth > 0 and self.rem[depth - 1] == 0:
            depth -= 1
            self.sink.on_end(tag, depth)
        if depth == 0:
            if self.tag_count == 0:
                raise CoreError(RW_ERR_PROTOCOL, "unexpected reply from Redis")
            self.sink.on_reply_end(tag)
            self.tag_head = (self.tag_head + 1) % self.tag_cap
            self.tag_count -= 1
        return 0


cdef inline int depth_of(const redisReadTask *t) noexcept:
    cdef int d = 0
    t = t.parent
    while t != NULL:
        d += 1
        t = t.parent
    return d


# The callbacks hand hiredis NULL when a sink raises: hiredis then stops
# parsing, and Reader.feed re-raises the pending exception.
cdef void *cb_string(const redisReadTask *t, char *s, size_t n) except NULL:
    cdef Reader rd = <Reader> t.privdata
    cdef int d = depth_of(t)
    rd.enter(d)
    rd.sink.on_string(rd.tag(), d, t.type, s, n)
    rd.leave(d)
    return t.privdata


cdef void *cb_array(const redisReadTask *t, rw_arraylen_t count) except NULL:
    cdef Reader rd = <Reader> t.privdata
    cdef int d = depth_of(t)
    rd.enter(d)
    rd.sink.on_array(rd.tag(), d, count)
    if count > 0:
        rd.rem[d] = count
    else:
        rd.sink.on_end(rd.tag(), d)
        rd.leave(d)
    return t.privdata


cdef void *cb_integer(const redisReadTask *t, long long v) except NULL:
    cdef Reader rd = <Reader> t.privdata
    cdef int d = depth_of(t)
    rd.enter(d)
    rd.sink.on_int(rd.tag(), d, v)
    rd.leave(d)
    return t.privdata


cdef void *cb_nil(const redisReadTask *t) except NULL:
    cdef Reader rd = <Reader> t.privdata
    cdef int d = depth_of(t)
    rd.enter(d)
    rd.sink.on_nil(rd.tag(), d)
    rd.leave(d)
    return t.privdata


cdef void cb_free(void *obj) noexcept:
    pass    # replies live in the sinks' buffers, not in objects


cdef redisReplyObjectFunctions reply_functions
reply_functions.createString = cb_string
reply_functions.createArray = cb_array
reply_functions.createInteger = cb_integer
reply_functions.createNil = cb_nil
reply_functions.freeObject = cb_free


# Command encoding (RESP arrays of bulk strings), appended to a ByteBuf.
cdef int put_len(ByteBuf b, char kind, Py_ssize_t n) except -1:
    cdef char tmp[32]
    cdef int k = snprintf(tmp, sizeof(tmp), "%c%zd\r\n", kind, n)
    return b.append(tmp, k)


cdef int put_arg(ByteBuf b, const char *p, Py_ssize_t n) except -1:
    put_len(b, b'$', n)
    b.append(p, n)
    return b.append(b"\r\n", 2)


cdef int put_arg_int(ByteBuf b, long long v) except -1:
    cdef char tmp[24]
    cdef int k = snprintf(tmp, sizeof(tmp), "%lld", v)
    return put_arg(b, tmp, k)


cdef object unexpected_reply():
    return CoreError(RW_ERR_PROTOCOL, "unexpected reply from Redis")


cdef object redis_error(const char *p, Py_ssize_t n):
    """The exception for an error reply; authentication errors get their own kind."""
    msg = p[:n].decode('utf-8', 'replace')
    if msg.startswith(('NOAUTH', 'WRONGPASS', 'NOPERM')) or msg.startswith('ERR invalid password'):
        return CoreError(RW_ERR_AUTH, "Redis refused access: %s" % msg)
    return CoreError(RW_ERR_REDIS, "Redis error: %s" % msg)
