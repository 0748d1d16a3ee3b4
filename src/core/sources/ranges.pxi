# The clauses on a list's index or a sorted set's score, as one Range that
# plans read (planner.pxi decides which clauses it takes).

from libc.math cimport INFINITY


cdef class Range:
    """The conjunction of the clauses on a list's index or a sorted set's
    score (column 1), as one set of values: a few points (= and IN), or one
    interval.  Index bounds are inclusive integers from 0 (an index is never
    negative) to INDEX_MAX; score bounds are doubles, each inclusive or not,
    -inf and +inf when open.  PostgreSQL orders NaN above every number, and a
    score is never NaN: score < NaN holds for all, score > NaN for none."""
    cdef bint by_score
    cdef list points                # None, or the values allowed, distinct, ascending, within the bounds
    cdef object lo, hi              # int (index) or float (score)
    cdef bint lo_open, hi_open      # score: exclusive bounds

    def __cinit__(self, bint by_score):
        self.by_score = by_score
        if by_score:
            self.lo, self.hi = -INFINITY, INFINITY
        else:
            self.lo, self.hi = 0, INDEX_MAX

    cdef int restrict(self, int op, list values) except -1:
        """Add the clause column op values (values parsed: int or float)."""
        if op == RW_OP_EQ:
            allowed = set(v for v in values if v == v)      # NaN: no score equals it
            self.points = sorted(allowed if self.points is None else allowed.intersection(self.points))
            return 0
        if not values:                  # a NULL: the clause holds for no row
            self.points = []
            return 0
        v = values[0]
        if self.by_score and v != v:
            if op == RW_OP_GT or op == RW_OP_GE:
                self.points = []
            return 0
        if op == RW_OP_GT or op == RW_OP_GE:
            if not self.by_score:
                self.lo = max(self.lo, v + 1 if op == RW_OP_GT else v)
            elif v > self.lo or (v == self.lo and op == RW_OP_GT):
                self.lo, self.lo_open = v, op == RW_OP_GT
        else:
            if not self.by_score:
                self.hi = min(self.hi, v - 1 if op == RW_OP_LT else v)
            elif v < self.hi or (v == self.hi and op == RW_OP_LT):
                self.hi, self.hi_open = v, op == RW_OP_LT
        return 0

    cdef bint within(self, v):
        return ((v > self.lo or (v == self.lo and not self.lo_open)) and
                (v < self.hi or (v == self.hi and not self.hi_open)))

    cdef bint admits(self, v):
        return v in self.points if self.points is not None else self.within(v)

    cdef int close(self) except -1:
        """After the last clause: only the points within the bounds; an empty
        interval becomes no points (nothing to read)."""
        if self.points is not None:
            self.points = [v for v in self.points if self.within(v)]
        elif not (self.lo < self.hi or (self.lo == self.hi and not self.lo_open and not self.hi_open)):
            self.points = []
        return 0

    cdef bint empty(self):
        return self.points is not None and not self.points

    cdef list spans(self):
        """What plans read, in the source's order: (first, last) indexes,
        or (min, max) as BYSCORE arguments; each point is a span of its own."""
        if self.points is not None:
            if self.by_score:
                return [(score_arg(v, False), score_arg(v, False)) for v in self.points]
            return [(v, v) for v in self.points]
        if self.by_score:
            return [(score_arg(self.lo, self.lo_open), score_arg(self.hi, self.hi_open))]
        return [(self.lo, self.hi)]

    cdef str shown(self):
        """The spans as EXPLAIN shows them: "10 19", "(1 +inf", "1 1, 2 2"
        (the first three of more, and how many there are)."""
        spans = self.spans()
        text = ', '.join('%s %s' % (a.decode() if self.by_score else a,
                                    b.decode() if self.by_score else (-1 if b == INDEX_MAX else b))
                         for a, b in spans[:3])
        return text + (', ... (%d ranges)' % len(spans) if len(spans) > 3 else '')


cdef bytes score_arg(double v, bint exclusive):
    """A score as ZRANGE BYSCORE and ZCOUNT take it: "1.5", "(1.5", "+inf", "-inf"."""
    if v == INFINITY or v == -INFINITY:
        text = '+inf' if v > 0 else '-inf'
    else:
        text = repr(v)
        if text.endswith('.0'):
            text = text[:len(text) - 2]
    return (b'(' if exclusive else b'') + text.encode()


cdef object parse_number(bytes v, bint by_score):
    """A value of a clause on an index (int8out's text) or a score (float8out's)."""
    try:
        return float(v) if by_score else int(v)
    except ValueError:
        raise CoreError(RW_ERR_INTERNAL, 'a clause on %s has the value "%s", not a number'
                        % ("a score" if by_score else "an index", shown(v)))
