# Pending writes between rw_modify_close and Redis.  Statement mode: a
# statement's modifies of one connection hand their writes to its Pending,
# and the last to close flushes them all at once.  Transactional mode: each
# closed modify's writes wait in the transaction's list for that connection,
# tagged with the (sub)transaction level they belong to, until
# rw_xact_precommit flushes each connection's, or an abort drops them.

cdef class Pending:
    """One connection's writes in the statement under way."""
    cdef Endpoint ep
    cdef int open                   # its modifies not closed yet
    cdef list writes
    cdef Flush flush                # once the last closed, until done
    cdef bint dropped               # the statement failed: nothing is applied

    def __cinit__(self, Endpoint ep):
        self.ep = ep
        self.writes = []


cdef dict g_statement = {}          # Endpoint.name -> Pending
cdef dict g_xact = {}               # Endpoint.name -> (Endpoint, [[level, Writes], ...])
cdef list g_commit = None           # the precommit's flushes, one per connection, while under way
cdef dict g_stream_last = {}        # (Endpoint.name, key) -> the last stream id the transaction's XADDs give
cdef long long g_max_pending = 1 << 30


cdef Pending statement_pending(Endpoint ep):
    cdef Pending p = g_statement.get(ep.name)
    if p is None:
        p = g_statement[ep.name] = Pending(ep)
    p.open += 1
    return p


cdef int statement_close(Pending p, Writes w) except -1:
    p.writes.append(w)
    p.open -= 1
    return 0


cdef int statement_flush(Pending p) except -1:
    """Once every modify of p's connection closed, apply the statement's writes."""
    if p.dropped:
        raise CoreError(RW_ERR_INTERNAL, "the statement's writes to Redis were dropped before it ended")
    if p.open > 0:
        return 0
    if p.flush is None:
        p.flush = new_flush(p.ep, p.writes)
    try:
        p.flush.run()
    except Interrupted:
        raise                       # the same close comes again
    finally:
        if p.flush.phase == F_DONE:
            statement_drop(p)
    return 0


cdef void statement_drop(Pending p) noexcept:
    p.dropped = True
    if p.flush is not None:
        p.flush.abandon()
    if g_statement.get(p.ep.name) is p:
        del g_statement[p.ep.name]


cdef int xact_add(Endpoint ep, int level, Writes w) except -1:
    """Queue a transactional statement's writes, unless they change again a row
    an earlier statement changed: that statement's writes are not in Redis yet,
    so this one read the row as it was and would undo or misplace them."""
    cdef Writes e
    if w.empty():
        return 0
    for _, e in g_xact.get(ep.name, (None, ()))[1]:
        again = w.changed & e.changed
        moved = w.positional & e.shifted
        if again or moved:
            raise CoreError(RW_ERR_CONFLICT, 'could not serialize access: this transaction already changed %s'
                            % (row_name(next(iter(again))) if again else
                               'the positions of Redis list "%s"' % shown(next(iter(moved)))),
                            detail="A transactional table's writes wait for COMMIT, and reads do not see them.",
                            hint="Change each row once per transaction, or make the table not transactional.")
    g_xact.setdefault(ep.name, (ep, []))[1].append([level, w])
    return 0


cdef str row_name(tuple row):
    """A row of Writes.changed, for messages."""
    if len(row) == 1:
        return 'Redis key "%s"' % shown(row[0])
    if len(row) == 3:
        return 'index %s of Redis list "%s"' % (row[2].decode(), shown(row[0]))
    return '"%s" of Redis key "%s"' % (shown(row[1]), shown(row[0]))


cdef bint xact_added(tuple name, bytes key, bytes added) except -1:
    """Whether an earlier statement of the transaction adds added (a member
    of key, or with key None a key) on the connection name: its writes are
    not in Redis yet, so no read shows it."""
    cdef Writes w
    for level, w in g_xact.get(name, (None, ()))[1]:
        if w.added is not None and w.added_to == key and added in w.added:
            return True
    return False


cdef Py_ssize_t held_bytes():
    """What every closed modify's writes hold, waiting."""
    cdef Pending p
    cdef Writes w
    cdef Py_ssize_t n = 0
    for p in g_statement.values():
        for w in p.writes:
            n += w.size()
    for ep, entries in g_xact.values():
        for level, w in entries:
            n += w.size()
    return n


cdef object too_large():
    return CoreError(RW_ERR_TOO_LARGE, "the writes waiting for Redis exceed %d bytes" % g_max_pending,
                     hint="Split the statement or the transaction into smaller ones.")


cdef int commit_pending() except -1:
    """Every connection's checks first, each connection then watching its keys,
    and only then each one's MULTI/EXEC: a check that fails on one server
    leaves every server unwritten.  (An EXEC answering nil on one server after
    another's applied cannot be undone: Redis has no two-phase commit.)"""
    global g_commit
    cdef Flush f
    try:
        if g_commit is None:
            g_commit = [new_flush(ep, [w for level, w in entries]) for ep, entries in g_xact.values()]
            g_xact.clear()
        for f in g_commit:
            f.run(F_EXEC)
        for f in g_commit:
            f.run()
        g_commit = None
    except Interrupted:
        raise
    except BaseException:
        drop_pending()
        raise
    g_stream_last.clear()
    return 0


cdef void drop_pending() noexcept:
    global g_commit
    cdef Pending p
    cdef Flush f
    if g_commit is not None:
        for f in g_commit:
            f.abandon()
        g_commit = None
    g_xact.clear()
    g_stream_last.clear()
    for p in list(g_statement.values()):
        statement_drop(p)


cdef void subabort_pending(int level) noexcept:
    for name in list(g_xact):
        ep, entries = g_xact[name]
        entries[:] = [e for e in entries if e[0] < level]
        if not entries:
            del g_xact[name]


cdef void subcommit_pending(int level) noexcept:
    for ep, entries in g_xact.values():
        for e in entries:
            if e[0] >= level:
                e[0] = level - 1
