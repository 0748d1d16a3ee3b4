# Command plans, one per way of reading a source.  Each is a Sink: it queues
# commands on its Target (a connection), says what shape their replies have,
# and turns the events of those replies into rows.  Follow-up requests are queued as soon as the reply that
# decides them is seen, so the next batch is already in flight while PostgreSQL
# consumes the current one.

from libc.stdint cimport UINT64_MAX
from libc.string cimport strlen
from _collections import deque    # collections' own; importing that package costs every start

# Range batches start small, for fast first rows, and grow to amortise round trips.
cdef enum:
    FIRST_RANGE = 128
    MAX_RANGE = 16384
    FIRST_STREAM = 64
    MAX_STREAM = 4096
    SCAN_COUNT = 1000
    LOOKUP_BATCH = 1024         # members (or keys) per lookup command: bounded replies


cdef int take_cursor(ByteBuf cursor, const char *p, Py_ssize_t n) except -1:
    """Keep a SCAN-style reply's cursor; 1 if the iteration goes on (it is not "0")."""
    if n == 1 and p[0] == b'0':
        return 0
    cursor.size = 0
    cursor.append(p, n)
    return 1


cdef bint unknown_command(const char *p, Py_ssize_t n) noexcept:
    return n >= 19 and memcmp(p, b"ERR unknown command", 19) == 0


cdef class Expiry:
    """The ttl and expire_at columns of a key's row, asked right after its
    contents: PTTL, and for expire_at PEXPIRETIME.  Redis before 7 knows no
    PEXPIRETIME: there expire_at is the server's TIME, asked once when the
    scan starts, plus PTTL.  Nothing is asked for columns not read."""
    cdef int ttl_col, expire_col        # the cells to fill, -1 for a column not read
    cdef long long now_ms               # TIME's answer, -1 before it
    cdef long long pttl                 # the row's PTTL answer, -1: no expiry

    def __cinit__(self):
        self.now_ms = -1

    cdef inline int replies(self) noexcept:
        """How many replies follow each key's contents."""
        return 1 + (self.expire_col >= 0)

    cdef int start(self, Target target) except -1:
        cdef CommandWriter w
        if self.expire_col >= 0:
            w = target.command(T_TIME)
            w.arg(b"TIME")
            w.end()
        return 0

    cdef int queue(self, Target target, const char *k, Py_ssize_t n) except -1:
        cdef CommandWriter w = target.command(T_PTTL)
        w.arg(b"PTTL")
        w.arg_span(k, n)
        w.end()
        if self.expire_col >= 0:
            w = target.command(T_PEXPIRETIME)
            w.arg(b"PEXPIRETIME")
            w.arg_span(k, n)
            w.end()
        return 0

    cdef int time(self, Target target, const char *p, Py_ssize_t n) except -1:
        """One element of TIME's reply: seconds, then microseconds."""
        cdef long long v = 0
        cdef Py_ssize_t i
        if n == 0 or n > 12:
            raise target.unexpected('got "%s" where a time was expected' % shown(p[:n]))
        for i in range(n):
            if not b'0' <= p[i] <= b'9':
                raise target.unexpected('got "%s" where a time was expected' % shown(p[:n]))
            v = v * 10 + (p[i] - 48)
        self.now_ms = v * 1000 if self.now_ms < 0 else self.now_ms + v // 1000
        return 0

    cdef int answer(self, Target target, Rows rows, int tag, long long v) except -1:
        """PTTL's or PEXPIRETIME's answer for the row being built: -1 no
        expiry (NULL), -2 the key is gone (no row)."""
        if v == -2:
            rows.discard()
        elif v < -2:
            raise target.unexpected("got %d where an expiry was expected" % v)
        elif tag == T_PTTL:
            self.pttl = v
            if v >= 0 and self.ttl_col >= 0:
                rows.number(self.ttl_col, v)
        elif v >= 0:
            rows.number(self.expire_col, v)
        return 0

    cdef int no_expiretime(self, Target target, Rows rows) except -1:
        """PEXPIRETIME is unknown (Redis < 7): TIME plus PTTL."""
        if self.now_ms < 0:
            raise target.unexpected("no TIME before PEXPIRETIME")
        if self.pttl >= 0:
            rows.number(self.expire_col, self.now_ms + self.pttl)
        return 0


cdef Expiry expiry_of(const Source *src, const bint *want):
    """What of a source's expiry a scan reads, or None."""
    cdef Expiry e
    cdef bint ttl = src.ttl_col >= 0 and want[src.ttl_col]
    cdef bint at = src.expire_col >= 0 and want[src.expire_col]
    if not (ttl or at):
        return None
    e = Expiry()
    e.ttl_col = src.ttl_col if ttl else -1
    e.expire_col = src.expire_col if at else -1
    return e


cdef class Fields:
    """The field columns a scan reads (RwScanSpec.fields it wants): each one's
    name and cell, as C arrays, so that matching a reply's field to its
    column makes no Python object."""
    cdef list names                 # bytes: they own what ptrs point to
    cdef const char **ptrs
    cdef Py_ssize_t *lens
    cdef int *cells
    cdef int n
    # A stream entry's values read into its items too: where each is in them
    # (an offset from the items cell's start, which moves with the arena; -1:
    # not seen), copied to its cell once the items are complete.
    cdef Py_ssize_t *at
    cdef Py_ssize_t *at_len

    def __dealloc__(self):
        free(self.ptrs)
        free(self.lens)
        free(self.cells)
        free(self.at)
        free(self.at_len)

    cdef int index_of(self, const char *p, Py_ssize_t n) noexcept:
        """Which of the fields p is, or -1: not read."""
        cdef int i
        for i in range(self.n):
            if self.lens[i] == n and memcmp(self.ptrs[i], p, n) == 0:
                return i
        return -1

    cdef void forget(self) noexcept:
        """A new entry's items begin (after a rescan, the last one's may not have ended)."""
        cdef int i
        for i in range(self.n):
            self.at[i] = -1

    cdef int copy_items(self, Rows rows, int col) except -1:
        """The values noted in at, in the items cell col, copied to their cells."""
        cdef int i
        for i in range(self.n):
            if self.at[i] >= 0:
                rows.copy_text(self.cells[i], rows.cur[col].off + self.at[i], self.at_len[i])
                self.at[i] = -1
        return 0


cdef Fields fields_of(const RwScanSpec *spec):
    """The fields spec's query reads, or None."""
    cdef Fields f
    cdef int j
    cdef bytes name
    if spec.nfields <= 0 or spec.want_fields == NULL or spec.count_only:
        return None
    f = Fields()
    f.names = []
    for j in range(spec.nfields):
        if spec.want_fields[j]:
            f.names.append(spec.fields[j].p[:spec.fields[j].len])
    if not f.names:
        return None
    f.ptrs = <const char **> realloc(NULL, sizeof(char *) * len(f.names))
    f.lens = <Py_ssize_t *> realloc(NULL, sizeof(Py_ssize_t) * len(f.names))
    f.cells = <int *> realloc(NULL, sizeof(int) * len(f.names))
    f.at = <Py_ssize_t *> realloc(NULL, sizeof(Py_ssize_t) * len(f.names))
    f.at_len = <Py_ssize_t *> realloc(NULL, sizeof(Py_ssize_t) * len(f.names))
    if f.ptrs == NULL or f.lens == NULL or f.cells == NULL or f.at == NULL or f.at_len == NULL:
        raise MemoryError()
    for j in range(spec.nfields):
        if spec.want_fields[j]:
            name = f.names[f.n]
            f.ptrs[f.n] = name
            f.lens[f.n] = len(name)
            f.cells[f.n] = RW_FIELD_COLUMN + j
            f.at[f.n] = -1
            f.n += 1
    return f


cdef str tag_command(int tag, bytes fetch):
    """The command a tag stands for, for messages."""
    return {T_TYPE: "TYPE", T_KEY_TYPE: "TYPE", T_PTTL: "PTTL", T_PEXPIRETIME: "PEXPIRETIME", T_TIME: "TIME",
            T_KEY_LENGTH: "the length of", T_KEY_MEMORY: "MEMORY USAGE", T_FIELDS: "HMGET"}.get(tag) or \
        fetch.decode()


cdef class Plan(Sink):
    cdef Target target
    cdef Counters counters          # the scan's: keys are counted here
    cdef Rows rows
    cdef bytes key
    cdef bytes command                  # the fetch command
    cdef const RwShape *fetch_shape     # the shape of its replies
    cdef long long limit                # at most this many rows are wanted; 0: all
    cdef bint rev                       # a sorted set from its highest score down (ZRANGE ... REV)
    cdef Expiry expiry                  # the ttl and expire_at read, or None
    cdef Fields fields                  # the field columns read, or None
    cdef int extra_due                  # replies before the expiry's each row waits for
    cdef int due                        # replies the row being built still waits for

    cdef int row_done(self) except -1:
        """The row's contents are in: it is whole now, or after the replies that follow."""
        self.due = self.extra_due + (self.expiry.replies() if self.expiry is not None else 0)
        if self.due == 0:
            return self.rows.commit()
        return 0

    cdef int trailer(self) except -1:
        """One of the replies a row waits for is in: after the last, the row is whole."""
        if self.due > 0:
            self.due -= 1
            if self.due == 0 and self.rows.building:
                self.rows.commit()
        return 0

    cdef int expiry_int(self, int tag, long long v) except -1:
        """PTTL's or PEXPIRETIME's answer (for a row, if one is being built)."""
        if self.rows.building and self.due > 0:
            self.expiry.answer(self.target, self.rows, tag, v)
        return self.trailer()

    cdef int expiry_string(self, int tag, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        """TIME's elements; an error answering PEXPIRETIME (before Redis 7) or PTTL."""
        if tag == T_TIME:
            if kind == REDIS_REPLY_ERROR:
                raise redis_error(p, n)
            return self.expiry.time(self.target, p, n)
        if kind != REDIS_REPLY_ERROR or tag != T_PEXPIRETIME or not unknown_command(p, n):
            raise redis_error(p, n) if kind == REDIS_REPLY_ERROR else \
                self.target.unexpected("got a string where an integer was expected")
        if self.rows.building and self.due > 0:
            self.expiry.no_expiretime(self.target, self.rows)
        return self.trailer()

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
        if tag == T_TYPE or tag == T_KEY_TYPE:
            return &rw_status
        if tag == T_SCAN:
            return &rw_scan_strings
        if tag == T_PTTL or tag == T_PEXPIRETIME or tag == T_KEY_LENGTH:
            return &rw_integer
        if tag == T_KEY_MEMORY:
            return &rw_integer_or_nil
        if tag == T_TIME:
            return &rw_time
        if tag == T_FIELDS:
            return &rw_values
        return self.fetch_shape

    cdef str what(self, int tag):
        return '%s "%s"' % (tag_command(tag, self.command), shown(self.key))

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
    cdef bint is_name                   # fields: the next string of an entry is a field's name
    cdef int field                      # fields: the field just named (Fields' index), or -1

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
            self.is_name = True
            if self.fields is not None:
                self.fields.forget()
        return 0

    cdef int element(self, int depth, const char *p, Py_ssize_t n) except -1:
        if depth == 2:
            self.rows.text(0, p, n)
            self.last_id.size = 0
            self.last_id.append(p, n)
            return 0
        # an item's bytes go 4 bytes past the (4-aligned) end of the arena
        cdef Py_ssize_t at = self.rows.arena.size + 4
        self.rows.item(p, n)
        if self.fields is None:
            return 0
        if self.is_name:
            self.field = self.fields.index_of(p, n)
        elif self.field >= 0 and self.rows.want[1]:
            # no cell inside the items being built: the value is copied from them after
            self.fields.at[self.field], self.fields.at_len[self.field] = at - self.rows.cur[1].off, n
        elif self.field >= 0:
            self.rows.store_text(self.fields.cells[self.field], p, n)
        self.is_name = not self.is_name
        return 0

    cdef int on_end(self, int tag, int depth) except -1:
        if tag != T_FETCH:
            return 0
        if depth == 2:
            self.rows.items_close()
            if self.fields is not None:
                self.fields.copy_items(self.rows, 1)
        elif depth == 1:
            self.rows.commit()
        return 0

    cdef int on_reply_end(self, int tag) except -1:
        if (tag == T_FETCH and self.received == self.asked and
                (self.limit == 0 or self.requested < self.limit) and self.next_first_id()):
            self.fetch()
        return 0


cdef class ValuePlan(SingleKeyPlan):
    """string: GET of the table's key (its TYPE checked in the same round
    trip), one row unless it is nil; then its expiry, when read."""

    cdef int fetch(self) except -1:
        cdef CommandWriter w
        if self.expiry is not None:
            self.expiry.start(self.target)
        w = self.target.command(T_FETCH)
        w.arg(self.command)
        w.arg(self.key)
        w.end()
        if self.expiry is not None:
            self.expiry.queue(self.target, self.key, len(self.key))
        return 0

    cdef int on_string(self, int tag, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        if tag == T_TIME or tag == T_PEXPIRETIME or tag == T_PTTL:
            return self.expiry_string(tag, depth, kind, p, n)
        return SingleKeyPlan.on_string(self, tag, depth, kind, p, n)

    cdef int element(self, int depth, const char *p, Py_ssize_t n) except -1:
        self.rows.begin()
        self.rows.text(0, p, n)
        return self.row_done()

    cdef int on_int(self, int tag, int depth, long long v) except -1:
        return self.expiry_int(tag, v)


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
    behind it (and its expiry's PTTL..., when read).  pattern is the table's,
    or a narrower one (a pushed LIKE prefix) whose keys must also match the
    table's (filter).  With values, the given keys are read instead of a SCAN's
    (a pushed key = / IN).  batched (multi_string without expiry): the keys
    of each SCAN reply go in one MGET, a row for each value not nil.  With
    fields (multi_hash), each key's HMGET of them follows its HGETALL; or,
    with fields_only (items not read), replaces it, and the key's PTTL says
    whether it exists (HMGET answers nils for a missing key).

    Keys that vanish or change type between SCAN and fetch are skipped."""
    cdef bytes pattern, filter
    cdef list values                    # the keys named, or None: SCAN's
    cdef bint check_pattern             # keys are checked against pattern (a pushed prefix's)
    cdef bytes scan_type                # empty: keys of any type
    cdef bint ranged, pairs
    cdef bint scalar                    # the fetch answers one string (GET)
    cdef bint batched                   # keys are read by MGET, LOOKUP_BATCH at most per command
    cdef ByteBuf cursor
    cdef SliceQueue keys                # the keys whose replies are due, in order
    cdef CommandWriter batch            # batched: the MGET being written, or None
    cdef Py_ssize_t batch_keys          # its keys so far
    cdef object batch_sizes             # batched: the keys of each MGET unanswered
    cdef int last_tag                   # the tag of each key's last reply
    cdef bint in_row
    cdef bint fields_only               # HMGET alone reads each key
    cdef Py_ssize_t field_at            # the HMGET answer due next
    cdef Topology topo                  # a cluster's map, or None: the SCAN's node serves shard,
    cdef int shard                      # and every key it finds must be of that shard's slots

    def __cinit__(self):
        self.cursor = ByteBuf()
        self.keys = SliceQueue()
        self.cursor.append(b"0", 1)
        self.batch_sizes = deque()

    cdef int start(self) except -1:
        cdef bytes v
        self.last_tag = T_PEXPIRETIME if self.expiry is not None and self.expiry.expire_col >= 0 else \
            T_PTTL if self.expiry is not None else T_FIELDS if self.fields is not None else T_KEY_FETCH
        if self.expiry is not None:
            self.expiry.start(self.target)
        if self.values is None:
            return self.scan()
        for v in self.values:
            self.fetch(v, len(v))
        return self.end_batch()

    cdef int scan(self) except -1:
        cdef CommandWriter w = self.target.command(T_SCAN)
        w.arg(b"SCAN")
        w.arg_buf(self.cursor)
        w.arg(b"MATCH")
        w.arg(self.pattern)
        w.arg(b"COUNT")
        w.arg_int(SCAN_COUNT)
        if self.scan_type:
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
        if not self.batched:
            if not self.fields_only:
                self.read_whole(T_KEY_FETCH, self.command, self.ranged, p, n)
            if self.fields is not None:
                self.read_fields(p, n)
            if self.expiry is not None:
                self.expiry.queue(self.target, p, n)
            return 0
        if self.batch is None:
            self.batch = self.target.command(T_KEY_FETCH)
            self.batch.arg(self.command)
            self.batch_keys = 0
        self.batch.arg_span(p, n)
        self.batch_keys += 1
        if self.batch_keys == LOOKUP_BATCH:
            self.end_batch()
        return 0

    cdef int read_fields(self, const char *p, Py_ssize_t n) except -1:
        cdef CommandWriter w = self.target.command(T_FIELDS)
        cdef bytes f
        w.arg(b"HMGET")
        w.arg_span(p, n)
        for f in self.fields.names:
            w.arg(f)
        return w.end()

    cdef int end_batch(self) except -1:
        """The MGET being written is complete (no other command may go out meanwhile)."""
        if self.batch is not None:
            self.batch.end()
            self.batch = None
            self.batch_sizes.append(self.batch_keys)
        return 0

    cdef str what(self, int tag):
        cdef const char *k
        cdef Py_ssize_t n
        if tag == T_SCAN:
            return 'SCAN "%s"' % shown(self.pattern)
        if tag == T_TIME:
            return "TIME"
        if self.keys.empty():           # (a reply nothing waits for: the reader refuses it)
            return tag_command(tag, self.command)
        k = self.keys.front(&n)
        return '%s "%s"' % (tag_command(tag, self.command), shown(k[:n]))

    cdef int begin_key_row(self) except -1:
        """A row of the key whose reply is in."""
        cdef const char *k
        cdef Py_ssize_t n
        k = self.keys.front(&n)
        self.rows.begin()
        return self.rows.key(k, n)

    cdef int on_array(self, int tag, int depth, Py_ssize_t count) except -1:
        if tag == T_FIELDS:
            if count != self.fields.n:
                raise self.target.unexpected("%d values for %d fields" % (count, self.fields.n))
            self.field_at = 0
            if self.fields_only:
                self.begin_key_row()
            return 0
        if tag != T_KEY_FETCH or depth != 0:
            return 0
        if self.batched:
            due = self.batch_sizes.popleft()
            if count != due:
                raise self.target.unexpected("%d values for %d keys" % (count, due))
        elif count > 0:
            self.begin_key_row()
            self.rows.items_open(1, RW_ITEMS_OBJECT if self.pairs else RW_ITEMS_ARRAY)
            self.in_row = True
        return 0

    cdef int on_string(self, int tag, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        if tag == T_SCAN:
            if kind == REDIS_REPLY_ERROR:
                raise redis_error(p, n)
            if depth == 2:
                if self.topo is not None and self.topo.owner[key_slot(p, n)] != self.shard:
                    # A key of a slot being moved to or from this node: SCAN
                    # may see it twice, or never, while keys move one by one.
                    raise ClusterRedirect('Redis at %s holds key "%s" of slot %d, which another node serves'
                                          % (self.target.where(), shown(p[:n]), key_slot(p, n)), 'MOVING')
                if self.accepts(p, n):
                    self.fetch(p, n)
            elif take_cursor(self.cursor, p, n) and self.more_wanted():
                # Next SCAN now, ahead of this reply's keys: Redis works on it
                # while we fetch and parse their contents.
                self.scan()
        elif tag == T_FIELDS and kind != REDIS_REPLY_ERROR:
            if self.rows.building:
                self.rows.store_text(self.fields.cells[self.field_at], p, n)
            self.field_at += 1
        elif tag != T_KEY_FETCH and tag != T_FIELDS:
            return self.expiry_string(tag, depth, kind, p, n)
        elif kind == REDIS_REPLY_ERROR:
            # The key changed type after SCAN saw it: skip it.  Any other
            # error (NOPERM...) would silently hide rows: raise it.  (MGET
            # answers nil for a key of another type, never WRONGTYPE.)
            if self.batched or not (n >= 9 and memcmp(p, b"WRONGTYPE", 9) == 0):
                raise redis_error(p, n)
        elif self.batched:              # MGET: the value of the next key
            self.begin_key_row()
            self.rows.text(1, p, n)
            self.rows.commit()
            self.keys.pop()
        elif self.scalar:               # GET
            self.begin_key_row()
            self.rows.text(1, p, n)
            self.row_done()
        else:
            self.rows.item(p, n)
        return 0

    cdef int on_nil(self, int tag, int depth) except -1:
        if self.batched and tag == T_KEY_FETCH:
            self.keys.pop()             # no such string key now
        elif tag == T_FIELDS:
            self.field_at += 1          # the hash lacks the field: NULL
        return 0

    cdef int on_int(self, int tag, int depth, long long v) except -1:
        return self.expiry_int(tag, v)

    cdef int on_end(self, int tag, int depth) except -1:
        if tag == T_KEY_FETCH and depth == 0 and self.in_row:
            self.rows.items_close()
            self.row_done()
            self.in_row = False
        elif tag == T_FIELDS and self.fields_only:
            self.row_done()
        elif tag == T_FIELDS:
            self.trailer()
        elif tag == T_SCAN and depth == 1:
            self.end_batch()            # this reply's keys
        return 0

    cdef int on_reply_end(self, int tag) except -1:
        if tag == self.last_tag and not self.batched:
            self.keys.pop()
        return 0


cdef const char *length_command(const char *t, Py_ssize_t n) noexcept:
    """The command answering how long a key of Redis type t is, or NULL (a module's type)."""
    cdef const char **names = [b"list", b"set", b"hash", b"zset", b"stream", b"string"]
    cdef const char **commands = [b"LLEN", b"SCARD", b"HLEN", b"ZCARD", b"XLEN", b"STRLEN"]
    cdef int i
    for i in range(6):
        if <size_t> n == strlen(names[i]) and memcmp(t, names[i], n) == 0:
            return commands[i]
    return NULL


cdef class KeyListPlan(PatternPlan):
    """keys: SCAN MATCH of keys of any type (or the keys named), each key's
    TYPE, then what else of it is read, pipelined: its expiry, MEMORY USAGE,
    and its length, whose command depends on the type: with length read, a
    key's other commands go out when its TYPE answer is in, else right
    behind its TYPE.  A key's replies after TYPE come together (they were
    written together), so its row is built from them in one go.  A key gone
    meanwhile gives no row."""
    cdef bint by_type                   # length is read: commands after TYPE's answer
    cdef bint memory
    cdef int trailing                   # replies after TYPE (or after the length) per key
    cdef SliceQueue typed, types        # by_type: keys (and types) whose commands are out
    cdef bytes row_key                  # the key whose replies after TYPE are being read

    def __cinit__(self):
        self.typed = SliceQueue()
        self.types = SliceQueue()

    cdef str what(self, int tag):
        # After its TYPE, a key is no longer first in keys: its row says which it is.
        if tag in (T_KEY_LENGTH, T_KEY_MEMORY, T_PTTL, T_PEXPIRETIME) and self.row_key is not None:
            return '%s "%s"' % (tag_command(tag, self.command), shown(self.row_key))
        return PatternPlan.what(self, tag)

    cdef int fetch(self, const char *p, Py_ssize_t n) except -1:
        cdef CommandWriter w = self.target.command(T_KEY_TYPE)
        self.counters.s.keys += 1
        self.keys.push(p, n)
        w.arg(b"TYPE")
        w.arg_span(p, n)
        w.end()
        if not self.by_type:
            self.follow(p, n, NULL)
        return 0

    cdef int follow(self, const char *p, Py_ssize_t n, const char *length) except -1:
        """The commands after TYPE: the length (by_type), the expiry, MEMORY USAGE."""
        cdef CommandWriter w
        if length != NULL:
            w = self.target.command(T_KEY_LENGTH)
            w.arg(length)
            w.arg_span(p, n)
            w.end()
        if self.expiry is not None:
            self.expiry.queue(self.target, p, n)
        if self.memory:
            w = self.target.command(T_KEY_MEMORY)
            w.arg(b"MEMORY")
            w.arg(b"USAGE")
            w.arg_span(p, n)
            w.end()
        return 0

    cdef int begin_row(self, const char *k, Py_ssize_t kn, const char *t, Py_ssize_t tn, int due) except -1:
        self.row_key = k[:kn]
        self.rows.begin()
        self.rows.key(k, kn)
        self.rows.text(TYPE_COL, t, tn)
        self.due = due
        if due == 0:
            self.rows.commit()
        return 0

    cdef int typed_reply(self, const char *t, Py_ssize_t tn) except -1:
        """TYPE's answer for the next key."""
        cdef const char *k
        cdef Py_ssize_t kn
        cdef const char *length
        k = self.keys.front(&kn)
        if tn == 4 and memcmp(t, b"none", 4) == 0:
            if not self.by_type:
                self.due = self.trailing        # its replies, already asked for, make no row
            return 0
        if not self.by_type:
            return self.begin_row(k, kn, t, tn, self.trailing)
        length = length_command(t, tn)
        self.follow(k, kn, length)
        if self.trailing == 0 and length == NULL:
            return self.begin_row(k, kn, t, tn, 0)
        self.typed.push(k, kn)
        self.types.push(t, tn)
        return 0

    cdef int next_group(self) except -1:
        """by_type: the first reply of the next key's commands after TYPE: its row begins."""
        cdef const char *k
        cdef const char *t
        cdef Py_ssize_t kn, tn
        if not self.by_type or self.due > 0:
            return 0
        k = self.typed.front(&kn)
        t = self.types.front(&tn)
        self.begin_row(k, kn, t, tn, self.trailing + (length_command(t, tn) != NULL))
        self.typed.pop()
        self.types.pop()
        return 0

    cdef int on_string(self, int tag, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        if tag == T_KEY_TYPE:
            if kind == REDIS_REPLY_ERROR:
                raise redis_error(p, n)
            return self.typed_reply(p, n)
        if tag == T_SCAN or tag == T_TIME:
            return PatternPlan.on_string(self, tag, depth, kind, p, n)
        self.next_group()
        if tag == T_KEY_LENGTH and kind == REDIS_REPLY_ERROR and n >= 9 and memcmp(p, b"WRONGTYPE", 9) == 0:
            self.rows.discard() if self.rows.building else None     # its type changed since TYPE
            return self.trailer()
        if tag == T_KEY_LENGTH or tag == T_KEY_MEMORY:
            raise redis_error(p, n) if kind == REDIS_REPLY_ERROR else \
                self.target.unexpected("got a string where an integer was expected")
        return self.expiry_string(tag, depth, kind, p, n)

    cdef int on_int(self, int tag, int depth, long long v) except -1:
        self.next_group()
        if tag != T_KEY_LENGTH and tag != T_KEY_MEMORY:
            return self.expiry_int(tag, v)
        if v < 0:
            raise self.target.unexpected("a negative size (%d)" % v)
        if self.rows.building and self.due > 0:
            self.rows.number(LENGTH_COL if tag == T_KEY_LENGTH else MEMORY_COL, v)
        return self.trailer()

    cdef int on_nil(self, int tag, int depth) except -1:
        self.next_group()
        if self.rows.building and self.due > 0:
            self.rows.discard()         # MEMORY USAGE of a key gone
        return self.trailer()

    cdef int on_array(self, int tag, int depth, Py_ssize_t count) except -1:
        return 0

    cdef int on_end(self, int tag, int depth) except -1:
        return 0

    cdef int on_reply_end(self, int tag) except -1:
        if tag == T_KEY_TYPE:
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
