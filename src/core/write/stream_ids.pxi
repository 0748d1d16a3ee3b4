# Stream entry ids for XADD, chosen here so that RETURNING id says the id
# Redis will hold even though the XADD waits for MULTI/EXEC: after the
# stream's last-generated-id and the server's clock, read once per statement
# (Redis's own rule: ms = max(now, last ms), seq = last seq + 1 at the same
# ms).  The flush checks under WATCH that last-generated-id is still what was
# read, and that explicit ids come after it.

cdef tuple parse_id(bytes text):
    """(ms, seq) of "ms-seq" or "ms" (seq 0), or None when malformed."""
    cdef uint64_t ms, seq
    if parse_stream_id(text, len(text), &ms, &seq):
        return (ms, seq)
    if text.isdigit() and parse_stream_id(text + b"-0", len(text) + 2, &ms, &seq):
        return (ms, seq)
    return None


cdef bytes id_text(tuple i):
    return b"%d-%d" % i


cdef class StreamIds:
    """The ids of one statement's XADDs to one key."""
    cdef bytes key
    cdef tuple last                 # the latest id given out or written in the statement, or None
    cdef tuple read                 # last-generated-id as read, or None before the read
    cdef long long now_ms           # the server's clock at the read
    cdef tuple first_given          # an explicit id given before the read: checked at flush

    cdef bint known(self):
        return self.read is not None

    cdef list reads(self):
        """The row-time round: TYPE, XINFO STREAM and TIME."""
        return [(T_STATUS, [b"TYPE", self.key]), (T_INFO, [b"XINFO", b"STREAM", self.key]),
                (T_STRINGS, [b"TIME"])]

    cdef int learn(self, list replies) except -1:
        """Take the answers to reads()."""
        type_check(self.key, b"stream", True).verify(replies[0])
        self.read = (0, 0) if replies[0] == b"none" else last_generated(self.key, replies[1])
        try:
            self.now_ms = int(replies[2][0]) * 1000 + int(replies[2][1]) // 1000
        except (ValueError, IndexError):
            raise CoreError(RW_ERR_PROTOCOL, "unexpected reply to TIME: %r" % (replies[2],))
        if self.last is None or self.last < self.read:
            self.last = self.read
        return 0

    cdef bytes next_auto(self):
        """The id an XADD with * would get now."""
        cdef uint64_t ms = max(<uint64_t> self.now_ms, self.last[0])
        self.last = (ms, self.last[1] + 1) if ms == self.last[0] else (ms, 0)
        return id_text(self.last)

    cdef bytes given(self, bytes text):
        """An explicit id, well formed and after every earlier one; as Redis will write it."""
        cdef tuple i = parse_id(text)
        if i is None:
            raise CoreError(RW_ERR_BAD_VALUE, 'invalid stream id "%s" for Redis key "%s"'
                            % (shown(text), shown(self.key)),
                            hint='A stream id is "ms-seq" or "ms", in digits.')
        if i <= (self.last if self.last is not None else (0, 0)):
            raise self.too_small(i, self.last if self.last is not None else (0, 0))
        if self.read is None and self.first_given is None:
            self.first_given = i
        self.last = i
        return id_text(i)

    cdef object too_small(self, tuple i, tuple top):
        return CoreError(RW_ERR_BAD_VALUE, 'stream id "%s" for Redis key "%s" is not greater than "%s"'
                         % (id_text(i).decode(), shown(self.key), id_text(top).decode()),
                         detail="Redis appends entries in id order.")

    cdef Check check(self):
        """The flush's check, when ids depend on the stream's last-generated-id."""
        cdef StreamCheck c
        if self.read is None and self.first_given is None:
            return None
        c = StreamCheck()
        c.tag = T_INFO
        c.args = [b"XINFO", b"STREAM", self.key]
        c.ids = self
        return c


cdef tuple last_generated(bytes key, object info):
    """last-generated-id from XINFO STREAM's name/value pairs."""
    cdef Py_ssize_t i
    if isinstance(info, ReplyError):
        raise CoreError(RW_ERR_REDIS, 'Redis error on XINFO STREAM "%s": %s'
                        % (shown(key), info.message.decode('utf-8', 'replace')))
    for i in range(0, len(info) - 1, 2):
        if info[i] == b"last-generated-id" and isinstance(info[i + 1], bytes):
            found = parse_id(info[i + 1])
            if found is not None:
                return found
    raise CoreError(RW_ERR_PROTOCOL, 'unexpected reply to XINFO STREAM "%s": no last-generated-id' % shown(key))


cdef class StreamCheck(Check):
    """XINFO STREAM at flush: ids assigned after the last-generated-id read
    need it unchanged; explicit ids given before it was read need it smaller."""
    cdef StreamIds ids

    cdef int verify(self, object reply) except -1:
        cdef tuple now = (0, 0) if isinstance(reply, ReplyError) and b"no such key" in reply.message \
            else last_generated(self.ids.key, reply)
        if self.ids.read is not None and now != self.ids.read:
            raise changed(self.ids.key, "the last stream id")
        if self.ids.first_given is not None and self.ids.first_given <= now:
            raise self.ids.too_small(self.ids.first_given, now)
        return 0
