# Writes to a Redis Cluster, atomic per slot.  Redis runs a MULTI/EXEC (and a
# WATCH) only over keys of one slot, so a flush is split: each slot's writes,
# keys to watch and checks become a Flush of their own on the slot's primary.
# Every slot's checks run first without WATCH, so that a duplicate or a wrong
# type leaves every slot unwritten; then each slot in turn is watched,
# checked again and applied.  A command that would need two slots at once
# (RENAME into another slot) is refused before anything is sent; DEL of
# several keys is split per slot.  A slot moved meanwhile (MOVED, ASK,
# TRYAGAIN, CLUSTERDOWN) or a primary lost before its EXEC was sent is tried
# again on the new map: nothing of that slot was applied.

cdef list resp_commands(CommandWriter c):
    """The commands a Writes holds in RESP, as argument lists."""
    cdef bytes data = c.data[:c.size]
    cdef Py_ssize_t pos = 0, end, i, n
    cdef list out = [], args
    while pos < len(data):
        end = data.index(b"\r\n", pos)
        count = int(data[pos + 1:end])
        pos = end + 2
        args = []
        for i in range(count):
            end = data.index(b"\r\n", pos)
            n = int(data[pos + 1:end])
            args.append(data[end + 2:end + 2 + n])
            pos = end + 4 + n
        out.append(args)
    return out


cdef object cross_slot(bytes a, bytes b):
    return CoreError(RW_ERR_UNSUPPORTED, 'cannot move Redis key "%s" to "%s" atomically: the keys are in '
                     'different slots of the Redis Cluster (%d and %d)' % (shown(a), shown(b), slot_of(a), slot_of(b)),
                     detail="A Redis Cluster applies writes atomically within one slot only.",
                     hint="Give both keys the same hash tag, such as {user42}:a and {user42}:b.")


cdef dict split_per_slot(list writes, list swept):
    """slot -> the Writes of that slot: swept keys' DEL first, then each
    command, key to watch and check of writes, in order."""
    cdef dict groups = {}
    cdef Writes w, g
    cdef Check c
    cdef list args
    for k in swept:
        group_of(groups, k).single([b"DEL", k])
    for w in writes:
        for args in resp_commands(w.cmds):
            if args[0] == b"DEL":
                for k in args[1:]:
                    group_of(groups, k).single([b"DEL", k])
            elif args[0] == b"RENAME":
                if slot_of(args[1]) != slot_of(args[2]):
                    raise cross_slot(args[1], args[2])
                group_of(groups, args[1]).single(args)
            else:
                group_of(groups, args[1]).single(args)
        for k in w.watched:
            group_of(groups, k).watch(k)
        for c in w.checks:
            group_of(groups, c.args[1]).check(c)
    for g in groups.values():
        g.finish()
    return groups


cdef Writes group_of(dict groups, bytes key):
    cdef int slot = slot_of(key)
    cdef Writes g = groups.get(slot)
    if g is None:
        g = groups[slot] = Writes()
    return g


cdef Flush new_flush(Endpoint ep, list writes):
    """What applies writes: on a cluster a ClusterFlush, else one Flush."""
    if cluster_topology(ep) is None:
        return Flush(ep, writes)
    return ClusterFlush(ep, writes)


cdef class ClusterFlush(Flush):
    cdef list slots                 # (slot, its Writes) in slot order
    cdef list groups                # a Flush per slot, None before it is made
    cdef Py_ssize_t applied         # slots whose EXEC succeeded
    cdef list sweepers              # TRUNCATE's sweep: a Flush per primary, sweeping only
    cdef list prechecks             # (Exchange, checks) per node, until answered
    cdef Backoff backoff

    cdef int run(self, FlushPhase until=F_DONE) except -1:
        try:
            if self.phase == F_SWEEP and until > F_SWEEP:
                self.sweep_nodes()
                self.split()
                self.phase = F_CHECKS
            if self.phase == F_CHECKS and until > F_CHECKS:
                self.precheck()
                self.phase = F_EXEC
            if self.phase == F_EXEC and until > F_EXEC:
                self.apply_slots()
                self.phase = F_DONE
        except Interrupted:
            raise
        except BaseException as e:
            self.abandon()
            if self.applied and isinstance(e, CoreError) and e.detail is None:
                e.detail = ("The writes of %d of the %d slots written were applied: "
                            "a Redis Cluster applies writes atomically per slot." % (self.applied, len(self.slots)))
            raise
        return 0

    cdef void abandon(self) noexcept:
        cdef Flush f
        for f in (self.groups or []) + (self.sweepers or []):
            if f is not None:
                f.abandon()
        for x, checks in self.prechecks or []:
            (<Exchange> x).abandon()
        self.phase = F_DONE

    cdef int sweep_nodes(self) except -1:
        """TRUNCATE of pattern tables: the keys of every primary."""
        cdef Topology t
        cdef Flush f
        if not self.sweeps:
            return 0
        if self.sweepers is None:
            t = cluster_topology(self.x.ep)
            self.sweepers = []
            for shard in t.shards():
                f = Flush(self.x.ep, [])
                f.x.node = t.node(shard, False)
                f.sweeps = self.sweeps
                f.phase = F_SWEEP
                self.sweepers.append(f)
        for f in self.sweepers:
            if f.phase == F_SWEEP:
                f.run(F_CHECKS)
                f.x.done()
        self.swept = list(dict.fromkeys([k for f in self.sweepers for k in f.swept]))
        return 0

    cdef int split(self) except -1:
        cdef dict groups = split_per_slot(self.writes, self.swept)
        self.slots = sorted(groups.items())
        self.groups = [None] * len(self.slots)
        self.backoff = Backoff()
        return 0

    cdef Flush group(self, Py_ssize_t i):
        """Slot i's Flush, on the node the map has for it now."""
        cdef Topology t = cluster_topology(self.x.ep)
        cdef Flush f = self.groups[i]
        if f is None:
            slot, w = self.slots[i]
            f = Flush(self.x.ep, [])
            f.writes = [w]
            f.phase = F_CHECKS
            f.x.node = t.node(t.shard_of(slot), False)
            self.groups[i] = f
        return f

    cdef int precheck(self) except -1:
        """Every slot's checks, without WATCH, a round per node (all again on
        the new map after a redirect or a lost node)."""
        while True:
            try:
                return self.precheck_nodes()
            except ClusterRedirect as e:
                self.again(e)
            except CoreError as e:
                if e.kind not in (RW_ERR_IO, RW_ERR_CONNECT):
                    raise
                self.again(e)

    cdef int again(self, object e) except -1:
        """After e: the prechecks again, every slot's Flush made anew."""
        for x, checks in self.prechecks or []:
            (<Exchange> x).abandon()
        self.prechecks = None
        self.retry(e)
        self.groups = [None] * len(self.slots)
        return 0

    cdef int precheck_nodes(self) except -1:
        cdef Writes w
        cdef Check c
        cdef dict by_node = {}
        cdef Exchange x
        if self.prechecks is None:
            for i in range(len(self.slots)):
                w = self.slots[i][1]
                if w.checks:
                    by_node.setdefault(self.group(i).x.node, []).extend(w.checks)
            self.prechecks = [(Exchange(self.x.ep, node), checks) for node, checks in by_node.items()]
        while self.prechecks:
            x, checks = self.prechecks[0]
            got = x.round([(c.tag, c.args) for c in checks])
            x.done()
            self.prechecks.pop(0)
            judge(checks, got, 0)
        return 0

    cdef int apply_slots(self) except -1:
        """Each slot watched, checked again and applied; one that moved, or
        whose primary was lost before EXEC was sent, again on the new map."""
        cdef Flush f
        while self.applied < len(self.slots):
            try:
                f = self.group(self.applied)
                f.run()
            except ClusterRedirect as e:
                self.retry(e)
                continue
            except CoreError as e:
                if e.kind not in (RW_ERR_IO, RW_ERR_CONNECT):
                    raise
                self.retry(e)
                continue
            self.applied += 1
        return 0

    cdef int retry(self, object e) except -1:
        self.backoff.next(self.x.ep, e)
        refresh_topology(self.x.ep)
        self.groups[self.applied] = None
        return 0


cdef class ClusterReads(Exchange):
    """The reads a row needs at once (exchange.pxi), on a cluster: each
    command on its key's primary, the answers back in order.  Reads are
    tried again after a redirect or a lost node."""
    cdef dict parts                 # node -> its Exchange, while its round is unanswered
    cdef list got
    cdef Backoff backoff

    cdef list round(self, list commands):
        cdef Topology t
        cdef Exchange x
        if self.backoff is None:
            self.backoff = Backoff()
        while True:
            t = cluster_topology(self.ep)
            if self.parts is None:
                self.got = [None] * len(commands)
                self.parts = {}
                for i in range(len(commands)):
                    node = t.node(t.shard_of(slot_of(commands[i][1][1])), False)
                    self.parts.setdefault(node, []).append(i)
                self.parts = {node: (Exchange(self.ep, node), idx) for node, idx in self.parts.items()}
            try:
                for node in list(self.parts):
                    x, idx = self.parts[node]
                    answers = x.round([commands[i] for i in idx])
                    x.done()
                    del self.parts[node]
                    for i, a in zip(idx, answers):
                        self.got[i] = a
                        if isinstance(a, ReplyError) and (<ReplyError> a).redirect():
                            raise (<ReplyError> a).error("a read")
                return self.got
            except Interrupted:
                raise
            except CoreError as e:
                if not isinstance(e, ClusterRedirect) and e.kind not in (RW_ERR_IO, RW_ERR_CONNECT):
                    raise
                self.abandon()
                self.backoff.next(self.ep, e)
                refresh_topology(self.ep)

    cdef void abandon(self) noexcept:
        if self.parts:
            for x, idx in self.parts.values():
                (<Exchange> x).abandon()
        self.parts = None

    cdef void done(self) noexcept:
        self.abandon()


cdef Exchange reads_for(Endpoint ep):
    """Where a modify's reads go: its server, or each key's node on a cluster."""
    if cluster_topology(ep) is None:
        return Exchange(ep)
    return ClusterReads(ep)
