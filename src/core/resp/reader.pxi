# RESP replies, parsed by the hiredis reader with our own reply-object
# functions: instead of building reply trees they forward SAX-style events
# (array start/end, string, ...) to a Sink, which turns them into row cells on
# the spot.  Nothing is allocated per element.  (Commands: writer.pxi.)

cdef extern from *:
    """
    #include <hiredis/hiredis.h>
    #include <hiredis/read.h>
    /* createArray's length parameter is an int before hiredis 1.0, a size_t since. */
    #if HIREDIS_MAJOR >= 1
    typedef size_t rw_arraylen_t;

    /* hiredis 1.x parses RESP3 doubles and booleans but calls back for them
       only through these: they go to the string callback, whose shape check
       refuses them (left unset, they would go uncounted in their array). */
    static void *(*rw_string_cb)(const redisReadTask *, char *, size_t);
    static void *rw_double_cb(const redisReadTask *t, double d, char *s, size_t n)
    {
        (void) d;
        return rw_string_cb(t, s, n);
    }
    static void *rw_bool_cb(const redisReadTask *t, int b)
    {
        return rw_string_cb(t, (char *) (b ? "t" : "f"), 1);
    }
    static void rw_route_resp3_scalars(redisReplyObjectFunctions *fn)
    {
        rw_string_cb = fn->createString;
        fn->createDouble = rw_double_cb;
        fn->createBool = rw_bool_cb;
    }
    #else
    typedef int rw_arraylen_t;
    /* RESP3's types: hiredis before 1.0 refuses their type bytes itself. */
    #define REDIS_REPLY_DOUBLE 7
    #define REDIS_REPLY_BOOL 8
    #define REDIS_REPLY_MAP 9
    #define REDIS_REPLY_SET 10
    #define REDIS_REPLY_ATTR 11
    #define REDIS_REPLY_PUSH 12
    #define REDIS_REPLY_BIGNUM 13
    #define REDIS_REPLY_VERB 14
    static void rw_route_resp3_scalars(redisReplyObjectFunctions *fn) { (void) fn; }
    #endif

    /* The shape of the replies to a command, checked item by item as they
       arrive: a reply of any other shape is refused, never taken for data. */
    typedef struct RwShape
    {
        int         type;               /* REDIS_REPLY_STATUS, _STRING or _ARRAY */
        int         count;              /* an array's: RW_ANY, RW_EVEN or exactly this */
        int         or_nil;             /* a nil may stand in its place */
        const struct RwShape *elem;     /* its elements' shape; with count 2, the first's */
        const struct RwShape *second;   /* with count 2, the second element's */
    } RwShape;
    enum { RW_ANY = -1, RW_EVEN = -2 };
    enum { RW_ANY_TYPE = -1 };          /* a type: an item of any type */
    static const RwShape rw_status = {.type = REDIS_REPLY_STATUS};
    static const RwShape rw_string = {.type = REDIS_REPLY_STRING};
    static const RwShape rw_strings = {.type = REDIS_REPLY_ARRAY, .count = RW_ANY, .elem = &rw_string};
    static const RwShape rw_pairs = {.type = REDIS_REPLY_ARRAY, .count = RW_EVEN, .elem = &rw_string};
    /* SCAN, SSCAN and HSCAN: the next cursor, then what this call found. */
    static const RwShape rw_scan_strings = {.type = REDIS_REPLY_ARRAY, .count = 2,
                                            .elem = &rw_string, .second = &rw_strings};
    static const RwShape rw_scan_pairs = {.type = REDIS_REPLY_ARRAY, .count = 2,
                                          .elem = &rw_string, .second = &rw_pairs};
    /* XRANGE: entries of an id and their fields (nil for an entry without). */
    static const RwShape rw_fields = {.type = REDIS_REPLY_ARRAY, .count = RW_EVEN, .or_nil = 1,
                                      .elem = &rw_string};
    static const RwShape rw_entry = {.type = REDIS_REPLY_ARRAY, .count = 2,
                                     .elem = &rw_string, .second = &rw_fields};
    static const RwShape rw_entries = {.type = REDIS_REPLY_ARRAY, .count = RW_ANY, .elem = &rw_entry};
    /* Lookups of given members: a value (or nil) for each, or a 0/1 flag for each. */
    static const RwShape rw_string_or_nil = {.type = REDIS_REPLY_STRING, .or_nil = 1};
    static const RwShape rw_values = {.type = REDIS_REPLY_ARRAY, .count = RW_ANY, .elem = &rw_string_or_nil};
    static const RwShape rw_integer = {.type = REDIS_REPLY_INTEGER};
    /* TIME: seconds and microseconds */
    static const RwShape rw_time = {.type = REDIS_REPLY_ARRAY, .count = 2, .elem = &rw_string,
                                    .second = &rw_string};
    /* MEMORY USAGE: nil for a key gone meanwhile */
    static const RwShape rw_integer_or_nil = {.type = REDIS_REPLY_INTEGER, .or_nil = 1};
    static const RwShape rw_flags = {.type = REDIS_REPLY_ARRAY, .count = RW_ANY, .elem = &rw_integer};
    /* Writes' MULTI/EXEC and checks (core/write): EXEC and XINFO STREAM answer
       items of any type, nested at most MAX_DEPTH deep (EXEC: nil when a
       watched key changed); XINFO's come in name/value pairs. */
    static const RwShape rw_anything = {.type = RW_ANY_TYPE, .or_nil = 1, .elem = &rw_anything};
    static const RwShape rw_exec = {.type = REDIS_REPLY_ARRAY, .count = RW_ANY, .or_nil = 1,
                                    .elem = &rw_anything};
    static const RwShape rw_info = {.type = REDIS_REPLY_ARRAY, .count = RW_EVEN, .elem = &rw_anything};
    /* Sentinel (core/net/sentinel.pxi): a primary's host and port, or nil
       for a name the sentinel does not know; ROLE: the role, then anything. */
    static const RwShape rw_addr = {.type = REDIS_REPLY_ARRAY, .count = 2, .or_nil = 1,
                                    .elem = &rw_string, .second = &rw_string};
    static const RwShape rw_role = {.type = REDIS_REPLY_ARRAY, .count = RW_ANY, .elem = &rw_anything};
    """
    ctypedef long long rw_arraylen_t

    ctypedef struct redisReadTask:
        int type
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
        char *buf
        size_t pos
        size_t len
        void *privdata

    redisReader *redisReaderCreateWithFunctions(redisReplyObjectFunctions *fn)
    void redisReaderFree(redisReader *r)
    int redisReaderFeed(redisReader *r, const char *buf, size_t len)
    int redisReaderGetReply(redisReader *r, void **reply)
    void rw_route_resp3_scalars(redisReplyObjectFunctions *fn)

    enum:
        REDIS_OK
        REDIS_REPLY_STRING
        REDIS_REPLY_ARRAY
        REDIS_REPLY_INTEGER
        REDIS_REPLY_NIL
        REDIS_REPLY_STATUS
        REDIS_REPLY_ERROR
        REDIS_REPLY_DOUBLE
        REDIS_REPLY_BOOL
        REDIS_REPLY_MAP
        REDIS_REPLY_SET
        REDIS_REPLY_ATTR
        REDIS_REPLY_PUSH
        REDIS_REPLY_BIGNUM
        REDIS_REPLY_VERB

    ctypedef struct RwShape:
        int type
        int count
        bint or_nil
        const RwShape *elem
        const RwShape *second
    enum:
        RW_ANY
        RW_EVEN
        RW_ANY_TYPE
    const RwShape rw_status, rw_strings, rw_pairs, rw_scan_strings, rw_scan_pairs, rw_entries
    const RwShape rw_values, rw_flags, rw_integer, rw_integer_or_nil, rw_string_or_nil, rw_time
    const RwShape rw_anything, rw_exec, rw_info, rw_addr, rw_role


cdef enum:
    MAX_DEPTH = 4           # deeper than any shape: the shape check refuses deeper items first
    LENGTH_LINE_MAX = 24    # a string's length line, with room for leading zeros
    LINE_MAX = 64 * 1024    # any other line (status, error, counts) of any sane reply


TOO_LARGE_HINT = "Raise the server option max_value_size (up to 1GB) if such values are wanted."


cdef str type_name(int type, Py_ssize_t count):
    """How messages name a reply item of a type (count: an array's length)."""
    if type == REDIS_REPLY_ARRAY:
        return "an array of %d" % count
    return {REDIS_REPLY_STRING: "a string", REDIS_REPLY_STATUS: "a status", REDIS_REPLY_ERROR: "an error",
            REDIS_REPLY_INTEGER: "an integer", REDIS_REPLY_NIL: "a nil", REDIS_REPLY_DOUBLE: "a double",
            REDIS_REPLY_BOOL: "a boolean", REDIS_REPLY_MAP: "a map", REDIS_REPLY_SET: "a set",
            REDIS_REPLY_ATTR: "an attribute", REDIS_REPLY_PUSH: "a push message",
            REDIS_REPLY_BIGNUM: "a big number", REDIS_REPLY_VERB: "a verbatim string"}.get(
                type, "an item of type %d" % type)


cdef str shape_name(const RwShape *s):
    if s.type == RW_ANY_TYPE:
        name = "anything"
    elif s.type != REDIS_REPLY_ARRAY:
        name = type_name(s.type, 0)
    elif s.count == RW_ANY:
        name = "an array"
    elif s.count == RW_EVEN:
        name = "an array of even length"
    else:
        name = "an array of %d" % s.count
    return name + " or a nil" if s.or_nil else name


cdef class Sink:
    """Receives one reply's events, each already checked against the shape
    the sink gave for its tag (which says what command the reply answers)."""

    cdef const RwShape *shape(self, int tag) noexcept:
        return &rw_status

    cdef str what(self, int tag):
        """The command tag answers, for messages: 'HGETALL "key"'."""
        return "a command"

    cdef str where(self):
        """The server, for messages."""
        return "?"

    cdef int on_array(self, int tag, int depth, Py_ssize_t count) except -1:
        return 0

    cdef int on_string(self, int tag, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        if kind == REDIS_REPLY_ERROR:
            raise redis_error(p, n)
        return 0

    cdef int on_int(self, int tag, int depth, long long v) except -1:
        return 0

    cdef int on_nil(self, int tag, int depth) except -1:
        return 0

    cdef int on_end(self, int tag, int depth) except -1:
        return 0

    cdef int on_reply_end(self, int tag) except -1:
        return 0


cdef class Reader:
    """The hiredis reader plus the queue of tags of the replies still due."""
    cdef redisReader *r
    cdef Sink sink
    cdef const RwShape *open[MAX_DEPTH]     # the shape of each open array
    cdef Py_ssize_t rem[MAX_DEPTH]          # elements still due per open array
    cdef int *tags
    cdef Py_ssize_t tag_head, tag_count, tag_cap
    cdef long long max_value_size           # the longest string accepted

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

    cdef inline bint pending(self) noexcept:
        """Bytes of a reply not yet complete are buffered."""
        return self.r.len > self.r.pos

    cdef int feed(self, const char *p, Py_ssize_t n, long long max_value_size) except -1:
        """Parse n more bytes, delivering every event they complete to the sink."""
        cdef void *reply
        self.max_value_size = max_value_size
        if redisReaderFeed(self.r, p, n) != REDIS_OK:
            raise CoreError(RW_ERR_OUT_OF_MEMORY, "out of memory while reading a Redis reply")
        while True:
            if redisReaderGetReply(self.r, &reply) != REDIS_OK:
                if PyErr_Occurred():
                    return -1       # what a sink raised inside a callback
                raise CoreError(RW_ERR_PROTOCOL, "malformed %s: %s"
                                % (self.reply_to(), self.r.errstr.decode('utf-8', 'replace')))
            if reply == NULL:
                return self.check_pending()

    cdef int check_pending(self) except -1:
        """Refuse the item being read before hiredis buffers it whole, if it
        cannot be accepted.  hiredis keeps the bytes of that item only, its
        type byte already taken: a line still without its end, or a string's
        length line followed by as much of the string as came."""
        cdef const char *p = self.r.buf + self.r.pos
        cdef Py_ssize_t n = self.r.len - self.r.pos
        cdef Py_ssize_t m = min(n, LENGTH_LINE_MAX), i = 0
        cdef long long declared = 0
        while i < m and b'0' <= p[i] <= b'9':
            if declared <= self.max_value_size:     # beyond, only the digits matter
                declared = declared * 10 + (p[i] - 48)
            i += 1
        if 0 < i < m - 1 and p[i] == b'\r' and p[i + 1] == b'\n':
            if declared > self.max_value_size:
                raise self.too_large(p[:i].decode())
        elif n > LINE_MAX:
            raise CoreError(RW_ERR_PROTOCOL, "malformed %s: a line longer than %d kB"
                            % (self.reply_to(), LINE_MAX // 1024))
        return 0

    cdef str reply_to(self):
        """'reply to HGETALL "key" from Redis at host:port', for messages."""
        if self.tag_count == 0:
            return "reply from Redis at %s" % self.sink.where()
        return "reply to %s from Redis at %s" % (self.sink.what(self.tag()), self.sink.where())

    cdef object too_large(self, str length):
        return CoreError(RW_ERR_TOO_LARGE, "the %s is too large: a string of %s bytes, over max_value_size (%d bytes)"
                         % (self.reply_to(), length, self.max_value_size), hint=TOO_LARGE_HINT)

    cdef object unexpected(self, str problem):
        """The error for a reply of the wrong shape."""
        return CoreError(RW_ERR_PROTOCOL, "unexpected %s: %s" % (self.reply_to(), problem))

    # Bookkeeping shared by the callbacks: check each item's shape, count
    # children, close finished arrays.
    cdef const RwShape *enter(self, int depth, int type, Py_ssize_t count) except NULL:
        """Check an item against the shape its place calls for, and count it."""
        cdef const RwShape *s
        cdef const RwShape *a
        if depth == 0:
            if self.tag_count == 0:
                raise self.unexpected("no command was waiting for it")
            s = self.sink.shape(self.tag())
            if type == REDIS_REPLY_ERROR:
                return s        # any command may fail: its sink says what that means
        else:
            a = self.open[depth - 1]
            s = a.second if a.count == 2 and self.rem[depth - 1] == 1 else a.elem
            self.rem[depth - 1] -= 1
        if type == s.type:
            if type != REDIS_REPLY_ARRAY or s.count == RW_ANY or s.count == count or \
                    (s.count == RW_EVEN and count % 2 == 0):
                return s
        elif type == REDIS_REPLY_NIL and s.or_nil:
            return s
        elif s.type == RW_ANY_TYPE:
            # open[] has room for MAX_DEPTH levels of arrays
            if depth >= MAX_DEPTH and type in (REDIS_REPLY_ARRAY, REDIS_REPLY_MAP, REDIS_REPLY_SET,
                                               REDIS_REPLY_PUSH, REDIS_REPLY_ATTR):
                raise self.unexpected("arrays nested deeper than %d" % MAX_DEPTH)
            return s
        raise self.unexpected("got %s where %s was expected" % (type_name(type, count), shape_name(s)))

    cdef int leave(self, int depth) except -1:
        cdef int tag = self.tag()
        while depth > 0 and self.rem[depth - 1] == 0:
            depth -= 1
            self.sink.on_end(tag, depth)
        if depth == 0:
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


# The callbacks hand hiredis NULL when a check or a sink raises: hiredis then
# stops parsing, and Reader.feed re-raises the pending exception.  Strings
# carry their type (status, error, and with hiredis 1.x RESP3's verbatim
# strings, big numbers, doubles and booleans); arrays too (RESP3's maps, sets,
# pushes and attributes); a nil may stand for a string or an array.
cdef void *cb_string(const redisReadTask *t, char *s, size_t n) except NULL:
    cdef Reader rd = <Reader> t.privdata
    cdef int d = depth_of(t)
    if d == 0 and rd.tag() == T_ASKING:     # the connection's, not the sink's
        if t.type != REDIS_REPLY_STATUS:
            raise redis_error(s, n) if t.type == REDIS_REPLY_ERROR else rd.unexpected("ASKING answered no status")
        rd.tag_head = (rd.tag_head + 1) % rd.tag_cap
        rd.tag_count -= 1
        return t.privdata
    rd.enter(d, t.type, 0)
    if n > <size_t> rd.max_value_size:     # one that came whole in a single read
        raise rd.too_large(str(n))
    # hiredis takes the two bytes after a bulk string for its CRLF unread: a
    # length that lies would cut the string short and pass.
    if t.type == REDIS_REPLY_STRING and (s[n] != b'\r' or s[n + 1] != b'\n'):
        raise rd.unexpected("a string of %d bytes not followed by CRLF" % n)
    rd.sink.on_string(rd.tag(), d, t.type, s, n)
    rd.leave(d)
    return t.privdata


cdef void *cb_array(const redisReadTask *t, rw_arraylen_t count) except NULL:
    cdef Reader rd = <Reader> t.privdata
    cdef int d = depth_of(t)
    rd.open[d] = rd.enter(d, t.type, count)
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
    rd.enter(d, REDIS_REPLY_INTEGER, 0)     # only where a shape has one
    rd.sink.on_int(rd.tag(), d, v)
    rd.leave(d)
    return t.privdata


cdef void *cb_nil(const redisReadTask *t) except NULL:
    cdef Reader rd = <Reader> t.privdata
    cdef int d = depth_of(t)
    rd.enter(d, REDIS_REPLY_NIL, 0)         # only where a shape allows one
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
rw_route_resp3_scalars(&reply_functions)


cdef int error_kind(str msg):
    """An error reply's RwErrorKind: refused credentials or permissions (ACLs) have their own."""
    if msg.startswith(('NOAUTH', 'WRONGPASS', 'NOPERM')) or msg.startswith('ERR invalid password'):
        return RW_ERR_AUTH
    return RW_ERR_REDIS


cdef object redis_error(const char *p, Py_ssize_t n):
    """The exception for an error reply."""
    msg = p[:n].decode('utf-8', 'replace')
    if error_kind(msg) == RW_ERR_AUTH:
        return CoreError(RW_ERR_AUTH, "Redis refused access: %s" % msg)
    redirect = cluster_redirect(msg)
    if redirect is not None:
        return redirect
    return CoreError(RW_ERR_REDIS, "Redis error: %s" % msg)


cdef object cluster_redirect(str msg):
    """The ClusterRedirect an error reply is, or None."""
    cdef list words = msg.split()
    if len(words) == 3 and words[0] in ('MOVED', 'ASK'):
        host, _, port = words[2].rpartition(':')
        if port.isdigit() and len(port) <= 5:
            return ClusterRedirect("Redis error: %s" % msg, words[0], host.strip('[]'), int(port))
    if words and words[0] in ('TRYAGAIN', 'CLUSTERDOWN'):
        return ClusterRedirect("Redis error: %s" % msg, words[0])
    return None
