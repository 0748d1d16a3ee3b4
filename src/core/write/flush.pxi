# Applying pending writes on one connection, all or nothing: TRUNCATE's
# SCAN of a pattern's keys, then WATCH of every key the writes touch or
# depend on with the checks pipelined behind it, then MULTI, the writes,
# EXEC.  The checks make an error inside EXEC impossible; a watched key
# changed after them makes EXEC answer nil (40001).  Each step is resumable
# after Interrupted.  A connection left mid-exchange is closed, never pooled;
# once EXEC is sent, losing the connection leaves the outcome unknown.

cdef enum FlushPhase:
    F_SWEEP                     # TRUNCATE of pattern tables: SCAN for their keys
    F_CHECKS                    # WATCH and the checks
    F_EXEC                      # MULTI ... EXEC
    F_DONE

cdef enum:
    WATCH_BATCH = 1000          # keys per WATCH, per DEL of swept keys
    SWEEP_COUNT = 1000


cdef class Flush:
    cdef Exchange x
    cdef list writes                # the Writes to apply, in order
    cdef list sweeps                # (pattern, type) of every TRUNCATE of a pattern table
    cdef list swept                 # the keys found, in the order found
    cdef set seen_keys
    cdef Py_ssize_t sweep_at
    cdef bytes cursor
    cdef FlushPhase phase
    cdef bint queued                # MULTI ... EXEC went into the connection's buffer

    def __cinit__(self, Endpoint ep, list writes):
        cdef Writes w
        self.x = Exchange(ep)
        self.writes = [w for w in writes if not w.empty()]
        self.sweeps = [s for w in self.writes for s in w.sweeps]
        self.swept = []
        self.seen_keys = set()
        self.cursor = b"0"
        self.phase = F_SWEEP if self.writes else F_DONE

    cdef int run(self, FlushPhase until=F_DONE) except -1:
        """Go on up to phase until (F_EXEC: checked, the keys still watched)."""
        try:
            if self.phase == F_SWEEP and until > F_SWEEP:
                self.sweep()
                self.phase = F_CHECKS
            if self.phase == F_CHECKS and until > F_CHECKS:
                self.check()
                self.phase = F_EXEC
            if self.phase == F_EXEC and until > F_EXEC:
                self.apply()
                self.phase = F_DONE
        except Interrupted:
            raise
        except BaseException:
            self.abandon()
            raise
        if self.phase == F_DONE:
            self.x.done()
        return 0

    cdef void abandon(self) noexcept:
        """Stop: the connection, watching keys or mid-exchange, is closed."""
        if self.x.conn is not None:
            self.x.conn.close()
            self.x.conn = None
        self.phase = F_DONE

    cdef int sweep(self) except -1:
        cdef list reply
        cdef bytes k
        while self.sweep_at < len(self.sweeps):
            pattern, type_name = self.sweeps[self.sweep_at]
            reply = self.x.round([(T_SCAN, [b"SCAN", self.cursor, b"MATCH", pattern, b"COUNT", b"%d" % SWEEP_COUNT,
                                            b"TYPE", type_name])])[0]
            for k in reply[1]:
                if k not in self.seen_keys:         # SCAN may return a key twice
                    self.seen_keys.add(k)
                    self.swept.append(k)
            self.cursor = reply[0]
            if self.cursor == b"0":
                self.sweep_at += 1
        return 0

    cdef int check(self) except -1:
        cdef Writes w
        cdef Check c
        cdef list keys = list(dict.fromkeys([k for w in self.writes for k in w.watched]))
        cdef list checks = [c for w in self.writes for c in w.checks]
        cdef list commands = [(T_STATUS, [b"WATCH"] + keys[i:i + WATCH_BATCH])
                              for i in range(0, len(keys), WATCH_BATCH)]
        cdef Py_ssize_t nwatch = len(commands), i
        if not commands and not checks:
            return 0
        commands += [(c.tag, c.args) for c in checks]
        got = self.x.round(commands)
        for i in range(nwatch):
            if isinstance(got[i], ReplyError):
                raise (<ReplyError> got[i]).error("WATCH")
        return judge(checks, got, nwatch)

    cdef int queue(self) except -1:
        """MULTI, the writes, EXEC into the connection's buffer."""
        cdef Writes w
        cdef Connection conn = self.x.conn
        cdef Py_ssize_t i
        self.x.send(T_STATUS, [b"MULTI"])
        for i in range(0, len(self.swept), WATCH_BATCH):
            self.x.send(T_STATUS, [b"DEL"] + self.swept[i:i + WATCH_BATCH])
        for w in self.writes:
            conn.out.append(w.cmds.data, w.cmds.size)
            for i in range(w.ncmds):
                conn.reader.expect(T_STATUS)
            conn.counters.s.commands += w.ncmds
            self.x.replies.names.extend(["a write inside MULTI"] * w.ncmds)
        self.x.send(T_EXEC, [b"EXEC"])
        self.queued = True
        return 0

    cdef int apply(self) except -1:
        cdef Connection conn
        self.x.connect()
        conn = self.x.conn
        if not self.queued:
            self.queue()
        try:
            while not conn.idle():
                conn.receive(0)
        except CoreError as e:
            if conn.out.size == 0:      # EXEC went out: it may have run
                raise CoreError(RW_ERR_UNKNOWN_OUTCOME, "the connection to Redis at %s was lost while the "
                                "writes were applied: whether they were is unknown" % conn.where(),
                                detail=e.message)
            e.detail = "No write was applied: EXEC was not sent."
            raise
        return self.outcome(self.x.replies.got)

    cdef int outcome(self, list got) except -1:
        """Judge the replies to MULTI, each queued write and EXEC."""
        cdef object r
        cdef Py_ssize_t last = len(got) - 1
        for r in got[:last]:
            if isinstance(r, ReplyError):       # EXEC then discards everything
                if (<ReplyError> r).readonly():
                    self.x.conn.demoted()
                raise (<ReplyError> r).error("a write")
        r = got[last]
        if r is None:
            raise CoreError(RW_ERR_CONFLICT, "could not serialize access: a Redis key the statement read "
                            "changed before its writes were applied",
                            detail="EXEC found a watched key changed; nothing was applied.",
                            hint="Retry the transaction.")
        if isinstance(r, ReplyError):
            raise (<ReplyError> r).error("EXEC")
        for e in r:
            if isinstance(e, ReplyError):
                err = (<ReplyError> e).error("a write inside MULTI/EXEC")
                err.detail = "The other writes of the statement were applied."
                raise err
        return 0


cdef int judge(list checks, list got, Py_ssize_t nwatch) except -1:
    """The checks' answers, from got[nwatch] on: each must be what its check wants."""
    cdef Check c
    cdef Py_ssize_t i
    for i in range(len(checks)):
        c = checks[i]
        reply = got[nwatch + i]
        # Other error replies are answers the check reads (a key of another
        # type now, XINFO of a missing stream); a refusal or a cluster's redirect is not.
        if isinstance(reply, ReplyError) and ((<ReplyError> reply).refusal() or (<ReplyError> reply).redirect()):
            raise (<ReplyError> reply).error('%s "%s"' % (c.args[0].decode(), shown(c.args[1])))
        c.verify(reply)
    return 0
