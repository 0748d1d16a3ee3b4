# Plans that serve a pushed clause (planner.pxi): given members of one key,
# or given stream ids.  A pattern table's given keys are a PatternPlan with
# values, its LIKE prefix one with a narrower pattern (plans.pxi).

cdef class LookupPlan(SingleKeyPlan):
    """hash (HMGET), set (SMISMEMBER), zset (ZMSCORE): a row for each given
    member the key holds.  Each reply element answers the next value: a string
    or nil (with pairs, the string is column 1), or a flag.  With by_score
    (zset) the rows come in the key's own order, score then member (or its
    reverse), as a full scan returns them, each with its score as column 1; only those with a
    score that scores admits, when given (the clauses on the score)."""
    cdef list values
    cdef Py_ssize_t answered        # values answered so far
    cdef bint pairs, by_score
    cdef Range scores               # or None
    cdef list scored                # by_score: (score, member, score as Redis wrote it) of those found

    cdef int fetch(self) except -1:
        cdef Py_ssize_t i
        cdef CommandWriter w
        cdef bytes v
        for i in range(0, len(self.values), LOOKUP_BATCH):
            w = self.target.command(T_FETCH)
            w.arg(self.command)
            w.arg(self.key)
            for v in self.values[i:i + LOOKUP_BATCH]:
                w.arg(v)
            w.end()
        return 0

    cdef int on_array(self, int tag, int depth, Py_ssize_t count) except -1:
        cdef Py_ssize_t due = min(LOOKUP_BATCH, len(self.values) - self.answered)
        if tag == T_FETCH and depth == 0 and count != due:
            raise self.target.unexpected("%d answers for %d members" % (count, due))
        return 0

    cdef int row(self, const char *p, Py_ssize_t n) except -1:
        """A row for the value answered now, with p as column 1 for pairs."""
        cdef bytes v = self.values[self.answered]
        self.rows.begin()
        self.rows.text(0, v, len(v))
        if self.pairs:
            self.rows.text(1, p, n)
        return self.rows.commit()

    cdef int element(self, int depth, const char *p, Py_ssize_t n) except -1:
        if not self.by_score:
            self.row(p, n)
        else:
            try:
                score = float(p[:n])
            except ValueError:
                raise self.target.unexpected('got "%s" where a score was expected' % shown(p[:n]))
            if self.scores is None or self.scores.admits(score):
                self.scored.append((score, self.values[self.answered], p[:n]))
        self.answered += 1
        return 0

    cdef int on_reply_end(self, int tag) except -1:
        cdef bytes member, text
        if self.by_score and tag == T_FETCH and self.answered == len(self.values):
            for _, member, text in sorted(self.scored, reverse=self.rev):
                self.rows.begin()
                self.rows.text(0, member, len(member))
                self.rows.text(1, text, len(text))
                self.rows.commit()
        return 0

    cdef int on_nil(self, int tag, int depth) except -1:
        self.answered += 1
        return 0

    cdef int on_int(self, int tag, int depth, long long v) except -1:
        if v != 0 and v != 1:
            raise self.target.unexpected("got %d where 0 or 1 was expected" % v)
        if v:
            self.row(NULL, 0)
        self.answered += 1
        return 0


cdef class StreamLookupPlan(StreamPlan):
    """stream: XRANGE key id id for each given id, all sent at once, in id
    order (the stream's own, which the rows keep).  Each reply holds that
    entry or nothing: Redis was trusted with the WHERE clause, so a reply is
    checked against it."""
    cdef list values
    cdef Py_ssize_t answered        # replies read so far

    cdef int on_array(self, int tag, int depth, Py_ssize_t count) except -1:
        if tag == T_FETCH and depth == 0 and count > 1:
            raise self.target.unexpected("%d entries for one id" % count)
        return StreamPlan.on_array(self, tag, depth, count)

    cdef int element(self, int depth, const char *p, Py_ssize_t n) except -1:
        if depth == 2 and p[:n] != self.values[self.answered]:
            raise self.target.unexpected('entry "%s" for id "%s"' % (shown(p[:n]), shown(self.values[self.answered])))
        return StreamPlan.element(self, depth, p, n)

    cdef int on_reply_end(self, int tag) except -1:
        if tag == T_FETCH:
            self.answered += 1
        return StreamPlan.on_reply_end(self, tag)

    cdef int fetch(self) except -1:
        cdef CommandWriter w
        cdef bytes v
        self.asked = -1                 # never a count: no follow-up batches
        self.values.sort(key=lambda i: tuple(int(x) for x in i.split(b'-')))
        for v in self.values:
            w = self.target.command(T_FETCH)
            w.arg(self.command)
            w.arg(self.key)
            w.arg(v)
            w.arg(v)
            w.end()
        return 0
