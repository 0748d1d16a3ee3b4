# Command plans, one per way of reading a source.  Each is a Sink: it queues
# commands on its Target (a connection), says what shape their replies have,
# and turns the events of those replies into rows.  Follow-up requests are queued as soon as the reply that
# decides them is seen, so the next batch is already in flight while PostgreSQL
# consumes the current one.

from libc.stdint cimport UINT64_MAX
from collections import deque

# Range batches start small, for fast first rows, and grow to amortise round trips.
cdef enum:
    FIRST_RANGE = 128
    MAX_RANGE = 16384
    FIRST_STREAM = 64
    MAX_STREAM = 4096
    SCAN_COUNT = 1000


cdef int take_cursor(ByteBuf cursor, const char *p, Py_ssize_t n) except -1:
    """Keep a SCAN-style reply's cursor; 1 if the iteration goes on (it is not "0")."""
    if n == 1 and p[0] == b'0':
        return 0
    cursor.size = 0
    cursor.append(p, n)
    return 1


cdef class Plan(Sink):
    cdef Target target
    cdef Counters counters          # the scan's: keys are counted here
    cdef Rows rows
    cdef bytes key
    cdef bytes command                  # the fetch command
    cdef const RwShape *fetch_shape     # the shape of its replies
    cdef long long limit                # at most this many rows are wanted; 0: all
    cdef bint rev                       # a sorted set from its highest score down (ZRANGE ... REV)

    cdef int start(self) except -1:
        raise NotImplementedError

    cdef inline bint more_wanted(self) noexcept:
        """Whether a follow-up request may still be needed for the limit: not
        once the rows made so far fill it (a key read may yield no row, so
        requests are not counted instead)."""
        return self.limit == 0 or self.rows.total < self.limit

    cdef inline long long capped(self, long long n, long long done) noexcept:
        """n more items, but no more than the limit leaves after done."""
        return n if self.limit == 0 else max(1, min(n, self.limit - done))

    cdef const RwShape *shape(self, int tag) noexcept:
        if tag == T_TYPE:
            return &rw_status
        if tag == T_SCAN:
            return &rw_scan_strings
        return self.fetch_shape

    cdef str what(self, int tag):
        return '%s "%s"' % ("TYPE" if tag == T_TYPE else self.command.decode(), shown(self.key))

    cdef str where(self):
        return self.target.where()

    cdef int read_whole(self, int tag, bytes command, bint ranged, const char *k, Py_ssize_t n,
                        bint withscores=False) except -1:
        """Queue the command that returns all of key k (the registry's read_all)."""
        cdef CommandWriter w = self.target.command(tag)
        w.arg(command)
        w.arg_span(k, n)
        if ranged:
            w.arg(b"0")
            w.arg(b"-1")
        if self.rev:
            w.arg(b"REV")
        if withscores:
            w.arg(b"WITHSCORES")
        return w.end()


cdef class SingleKeyPlan(Plan):
    """A plan over the table's own key, which must hold type_name (or not exist)."""
    cdef bytes type_name

    cdef int start(self) except -1:
        cdef CommandWriter w = self.target.command(T_TYPE)
        self.rows.src_key = self.key
        self.counters.s.keys += 1
        w.arg(b"TYPE")
        w.arg(self.key)
        w.end()
        return self.fetch()

    cdef int fetch(self) except -1:
        raise NotImplementedError

    cdef int element(self, int depth, const char *p, Py_ssize_t n) except -1:
        raise NotImplementedError

    cdef int on_string(self, int tag, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        if kind == REDIS_REPLY_ERROR:
            raise redis_error(p, n)
        if tag == T_TYPE:
            return self.check_type(p, n)
        return self.element(depth, p, n)

    cdef int check_type(self, const char *p, Py_ssize_t n) except -1:
        if (n == len(self.type_name) and memcmp(p, <char *> self.type_name, n) == 0) or \
                (n == 4 and memcmp(p, b"none", 4) == 0):
            return 0
        raise CoreError(RW_ERR_WRONG_TYPE, "Redis key \"%s\" holds a %s, not a %s"
                        % (shown(self.key), shown(p[:n]),
                           self.type_name.decode()),
                        hint="Use a foreign table whose src_type matches the key's type.")


cdef class MembersPlan(SingleKeyPlan):
    """fetch 'all': one command returns the whole key (SMEMBERS, HGETALL, or
    LRANGE/ZRANGE 0 -1), an atomic snapshot turned into rows as it arrives.
    Column 1 of a list is each element's index (numbered); of a sorted set,
    each member's score, asked for only when wanted (scored: WITHSCORES,
    whose replies come in pairs)."""
    cdef bint pairs
    cdef bint ranged                # the command takes the range 0 -1
    cdef bint numbered, scored
    cdef bint have_field
    cdef long long index            # numbered: the next element's index

    cdef int fetch(self) except -1:
        return self.read_whole(T_FETCH, self.command, self.ranged, self.key, len(self.key), self.scored)

    cdef int element(self, int depth, const char *p, Py_ssize_t n) except -1:
        if not self.pairs:
            self.rows.begin()
            self.rows.text(0, p, n)
            if self.numbered:
                self.rows.number(1, self.index)
                self.index += 1
            return self.rows.commit()
        if not self.have_field:
            self.rows.begin()
            self.rows.text(0, p, n)
            self.have_field = True
            return 0
        self.rows.text(1, p, n)
        self.have_field = False
        return self.rows.commit()


cdef class RangePlan(MembersPlan):
    """list (LRANGE) and zset (ZRANGE, in score order) by index: spans of
    indexes, (first, last) each, read one after another in batches that
    start small and grow; with whole (fetch 'all'), each span in one command.
    A batch that reaches the end of its span is followed at once by the next
    span's first: spans of one index each (an IN list) all go out together.
    A full batch short of its span's end asks for the next as soon as its
    reply's length is seen; a short one ends its span.  A limit caps what the
    batches ask for."""
    cdef list spans
    cdef Py_ssize_t span            # the span being asked for
    cdef long long at               # where its next batch starts
    cdef long long chunk, requested
    cdef bint whole
    cdef object sent                # (first index, asked, reaches its span's end) of each batch unanswered

    def __cinit__(self):
        self.chunk = FIRST_RANGE
        self.sent = deque()

    cdef int fetch(self) except -1:
        if self.spans:
            self.at = self.span_start()
        return self.request()

    cdef long long span_start(self) except? -1:
        return self.spans[self.span][0]

    cdef int request(self) except -1:
        """Ask for the next batch, and for the next spans' first while batches reach their span's end."""
        while self.span < len(self.spans):
            if not self.send_batch():
                return 0
            self.span += 1
            if self.span < len(self.spans):
                self.at = self.span_start()
        return 0

    cdef bint send_batch(self) except -1:
        """LRANGE/ZRANGE key first last: whether it reaches the span's end."""
        cdef long long room = <long long> self.spans[self.span][1] - self.at    # indexes after start
        cdef long long extra = room
        cdef long long asked = -1       # as many as there are
        cdef CommandWriter w = self.target.command(T_FETCH)
        if not self.whole or self.limit:
            extra = min(self.capped(LLONG_MAX if self.whole else self.chunk, self.requested) - 1, room)
            asked = extra + 1
            self.requested += asked
        w.arg(self.command)
        w.arg(self.key)
        w.arg_int(self.at)
        # INDEX_MAX is no list's index: -1 (the last) asks for the same.
        w.arg_int(self.at + extra if self.at + extra < INDEX_MAX else -1)
        if self.rev:                    # ranks counted from the highest score
            w.arg(b"REV")
        if self.scored:
            w.arg(b"WITHSCORES")
        w.end()
        self.sent.append((self.at, asked, extra == room))
        if extra < room:
            self.at += asked
            self.chunk = min(self.chunk * 4, MAX_RANGE)
        return extra == room

    cdef int on_array(self, int tag, int depth, Py_ssize_t count) except -1:
        cdef long long asked
        cdef bint reaches
        if tag != T_FETCH or depth != 0:
            return 0
        self.index, asked, reaches = self.sent.popleft()
        if asked >= 0:
            check_batch(self.target, count // 2 if self.pairs else count, asked)
        if reaches:
            return 0
        if (count // 2 if self.pairs else count) < asked:
            self.span += 1                  # its span has no more
            if self.span < len(self.spans):
                self.at = self.span_start()
        # More may follow: ask now, before parsing this batch.
        if self.limit == 0 or self.requested < self.limit:
            self.request()
        return 0


cdef class ScoreRangePlan(RangePlan):
    """zset by score: spans of (min, max) as ZRANGE BYSCORE takes them, read
    with LIMIT offset count batches; a span of one score (an IN list's) in
    one command, as with whole, capped by a limit only."""

    cdef long long span_start(self) except? -1:
        return 0                        # the offset into the span

    cdef bint send_batch(self) except -1:
        cdef bytes lo = self.spans[self.span][0], hi = self.spans[self.span][1]
        cdef bint reaches = self.whole or lo == hi
        cdef long long asked = -1       # as many as there are
        cdef CommandWriter w = self.target.command(T_FETCH)
        w.arg(self.command)
        w.arg(self.key)
        # REV takes the bounds high first; make_plan reversed the spans' order.
        w.arg(hi if self.rev else lo)
        w.arg(lo if self.rev else hi)
        w.arg(b"BYSCORE")
        if self.rev:
            w.arg(b"REV")
        if not reaches or self.limit:
            # Spans read whole go out together: each may have to make all the limit's rows.
            asked = self.limit if reaches else self.capped(self.chunk, self.requested)
            w.arg(b"LIMIT")
            w.arg_int(self.at)
            w.arg_int(asked)
        if self.scored:
            w.arg(b"WITHSCORES")
        w.end()
        self.sent.append((0, asked, reaches))
        if not reaches:
            self.requested += asked
            self.at += asked
            self.chunk = min(self.chunk * 4, MAX_RANGE)
        return reaches


cdef class CursorPlan(MembersPlan):
    """set and hash with fetch 'scan': SSCAN/HSCAN calls, each one short for Redis.

    The cursor comes first in each reply, so the next call is sent as soon as it
    is parsed, while this call's elements are still arriving."""
    cdef ByteBuf cursor

    def __cinit__(self):
        self.cursor = ByteBuf()
        self.cursor.append(b"0", 1)

    cdef int fetch(self) except -1:
        cdef CommandWriter w = self.target.command(T_FETCH)
        w.arg(self.command)
        w.arg(self.key)
        w.arg_buf(self.cursor)
        w.arg(b"COUNT")
        w.arg_int(SCAN_COUNT)
        return w.end()

    cdef int element(self, int depth, const char *p, Py_ssize_t n) except -1:
        if depth == 2:
            return MembersPlan.element(self, depth, p, n)
        if take_cursor(self.cursor, p, n) and self.more_wanted():
            self.fetch()
        return 0


cdef class StreamPlan(SingleKeyPlan):
    """stream: XRANGE batches, each starting at the id after the last one seen;
    or, with fetch 'all', one XRANGE - + (an atomic snapshot)."""
    cdef ByteBuf first_id, last_id
    cdef long long chunk, asked, received, requested
    cdef bint whole

    def __cinit__(self):
        self.first_id = ByteBuf()
        self.last_id = ByteBuf()
        self.first_id.append(b"-", 1)
        self.chunk = FIRST_STREAM

    cdef int fetch(self) except -1:
        cdef CommandWriter w = self.target.command(T_FETCH)
        w.arg(self.command)
        w.arg(self.key)
        w.arg_buf(self.first_id)
        w.arg(b"+")
        if self.whole:
            self.asked = -1         # never equal to a count: no follow-up
        else:
            self.asked = self.capped(self.chunk, self.requested)
            w.arg(b"COUNT")
            w.arg_int(self.asked)
            self.requested += self.asked
            self.chunk = min(self.chunk * 4, MAX_STREAM)
        return w.end()

    cdef bint next_first_id(self) except -1:
        """Make first_id the id after last_id, which Redis cannot do for the
        largest id ("(id" is an error there); false when last_id is that id."""
        cdef uint64_t ms, seq
        cdef char tmp[48]
        if not parse_stream_id(self.last_id.data, self.last_id.size, &ms, &seq):
            bad = self.last_id.data[:self.last_id.size].decode('utf-8', 'replace')
            raise self.target.unexpected('got "%s" where a stream id was expected' % bad)
        if seq < UINT64_MAX:
            seq += 1
        elif ms < UINT64_MAX:
            ms += 1
            seq = 0
        else:
            return False
        self.first_id.size = 0
        self.first_id.append(tmp, snprintf(tmp, sizeof(tmp), "%llu-%llu",
                                           <unsigned long long> ms, <unsigned long long> seq))
        return True

    cdef int on_array(self, int tag, int depth, Py_ssize_t count) except -1:
        if tag != T_FETCH:
            return 0
        if depth == 0:
            if not self.whole:
                check_batch(self.target, count, self.asked)
            self.received = count
        elif depth == 1:
            self.rows.begin()
        elif depth == 2:
            self.rows.items_open(1, RW_ITEMS_OBJECT)
        return 0

    cdef int element(self, int depth, const char *p, Py_ssize_t n) except -1:
        if depth == 2:
            self.rows.text(0, p, n)
            self.last_id.size = 0
            self.last_id.append(p, n)
        else:
            self.rows.item(p, n)
        return 0

    cdef int on_end(self, int tag, int depth) except -1:
        if tag != T_FETCH:
            return 0
        if depth == 2:
            self.rows.items_close()
        elif depth == 1:
            self.rows.commit()
        return 0

    cdef int on_reply_end(self, int tag) except -1:
        if (tag == T_FETCH and self.received == self.asked and
                (self.limit == 0 or self.requested < self.limit) and self.next_first_id()):
            self.fetch()
        return 0


cdef bint parse_stream_id(const char *p, Py_ssize_t n, uint64_t *ms, uint64_t *seq) noexcept:
    """Parse a whole stream id, "ms-seq"; false if p is none."""
    cdef uint64_t *v = ms
    cdef Py_ssize_t i, digits = 0
    cdef int d
    ms[0] = seq[0] = 0
    for i in range(n):
        d = p[i] - 48
        if p[i] == b'-' and v == ms and digits:
            v = seq
            digits = 0
        elif 0 <= d <= 9 and v[0] <= (UINT64_MAX - d) // 10:
            v[0] = v[0] * 10 + d
            digits += 1
        else:
            return False
    return v == seq and digits > 0


cdef int check_batch(Target target, Py_ssize_t count, long long asked) except -1:
    """A batch's reply has at most the elements asked for."""
    if count > asked:
        raise target.unexpected("more elements than asked for (%d, not %d)" % (count, asked))
    return 0


cdef class PatternPlan(Plan):
    """multi_*: SCAN MATCH pattern TYPE t, with each found key's fetch pipelined
    behind it.  pattern is the table's, or a narrower one (a pushed LIKE
    prefix) whose keys must also match the table's (filter).

    Keys that vanish or change type between SCAN and fetch are skipped."""
    cdef bytes pattern, filter
    cdef bint check_pattern             # keys are checked against pattern (a pushed prefix's)
    cdef bytes scan_type
    cdef bint ranged, pairs
    cdef ByteBuf cursor
    cdef SliceQueue keys
    cdef bint in_row

    def __cinit__(self):
        self.cursor = ByteBuf()
        self.keys = SliceQueue()
        self.cursor.append(b"0", 1)

    cdef int start(self) except -1:
        return self.scan()

    cdef int scan(self) except -1:
        cdef CommandWriter w = self.target.command(T_SCAN)
        w.arg(b"SCAN")
        w.arg_buf(self.cursor)
        w.arg(b"MATCH")
        w.arg(self.pattern)
        w.arg(b"COUNT")
        w.arg_int(SCAN_COUNT)
        w.arg(b"TYPE")
        w.arg(self.scan_type)
        return w.end()

    cdef bint accepts(self, const char *p, Py_ssize_t n) noexcept:
        """Whether a key SCAN returned is one the table has: it matches the
        table's pattern and, for a pushed LIKE prefix, the narrower pattern
        (whose clause PostgreSQL no longer checks: a server's say-so is not
        taken for it)."""
        return ((not self.check_pattern or glob_match(self.pattern, len(self.pattern), p, n)) and
                (self.filter is None or glob_match(self.filter, len(self.filter), p, n)))

    cdef int fetch(self, const char *p, Py_ssize_t n) except -1:
        self.counters.s.keys += 1
        self.keys.push(p, n)
        return self.read_whole(T_KEY_FETCH, self.command, self.ranged, p, n)

    cdef str what(self, int tag):
        cdef const char *k
        cdef Py_ssize_t n
        if tag == T_SCAN:
            return 'SCAN "%s"' % shown(self.pattern)
        k = self.keys.front(&n)
        return '%s "%s"' % (self.command.decode(), shown(k[:n]))

    cdef int on_array(self, int tag, int depth, Py_ssize_t count) except -1:
        cdef const char *k
        cdef Py_ssize_t n
        if tag == T_KEY_FETCH and depth == 0 and count > 0:
            k = self.keys.front(&n)
            self.rows.begin()
            self.rows.key(k, n)
            self.rows.items_open(1, RW_ITEMS_OBJECT if self.pairs else RW_ITEMS_ARRAY)
            self.in_row = True
        return 0

    cdef int on_string(self, int tag, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        if tag == T_SCAN:
            if kind == REDIS_REPLY_ERROR:
                raise redis_error(p, n)
            if depth == 2:
                if self.accepts(p, n):
                    self.fetch(p, n)
            elif take_cursor(self.cursor, p, n) and self.more_wanted():
                # Next SCAN now, ahead of this reply's keys: Redis works on it
                # while we fetch and parse their contents.
                self.scan()
        elif kind == REDIS_REPLY_ERROR:
            # The key changed type after SCAN saw it: skip it.  Any other
            # error (NOPERM...) would silently hide rows: raise it.
            if not (n >= 9 and memcmp(p, b"WRONGTYPE", 9) == 0):
                raise redis_error(p, n)
        else:
            self.rows.item(p, n)
        return 0

    cdef int on_end(self, int tag, int depth) except -1:
        if tag == T_KEY_FETCH and depth == 0 and self.in_row:
            self.rows.items_close()
            self.rows.commit()
            self.in_row = False
        return 0

    cdef int on_reply_end(self, int tag) except -1:
        if tag == T_KEY_FETCH:
            self.keys.pop()
        return 0


cdef class CountPlan(SingleKeyPlan):
    """count(*) of a whole key: one command (LLEN, SCARD, ...) says it."""

    cdef int fetch(self) except -1:
        cdef CommandWriter w = self.target.command(T_FETCH)
        w.arg(self.command)
        w.arg(self.key)
        return w.end()

    cdef int on_int(self, int tag, int depth, long long v) except -1:
        self.rows.counted += self.length(v)
        return 0

    cdef long long length(self, long long v) except -1:
        """A length or count Redis answered, which cannot be negative."""
        if v < 0:
            raise self.target.unexpected("a negative count (%d)" % v)
        return v


cdef class IndexCountPlan(CountPlan):
    """count(*) of spans of a list's indexes, (first, last) each: LLEN, and
    how many of their indexes are below it (no command for no spans)."""
    cdef list spans

    cdef int fetch(self) except -1:
        return CountPlan.fetch(self) if self.spans else 0

    cdef int on_int(self, int tag, int depth, long long v) except -1:
        v = self.length(v)
        for first, last in self.spans:
            self.rows.counted += max(0, min(last, v - 1) - first + 1)
        return 0


cdef class ScoreCountPlan(CountPlan):
    """count(*) of spans of a sorted set's scores: ZCOUNT key min max for each."""
    cdef list spans

    cdef int fetch(self) except -1:
        cdef CommandWriter w
        for lo, hi in self.spans:
            w = self.target.command(T_FETCH)
            w.arg(self.command)
            w.arg(self.key)
            w.arg(lo)
            w.arg(hi)
            w.end()
        return 0


cdef class PatternCountPlan(PatternPlan):
    """count(*) of a pattern table: SCAN ... TYPE t counts its keys, reading none."""

    cdef int fetch(self, const char *p, Py_ssize_t n) except -1:
        self.counters.s.keys += 1
        self.rows.counted += 1
        return 0
