# One scan of a foreign table: its options as the C side passed them, the
# plans that read the source, the connections they run on and the rows of
# the batch in hand.  The rw_scan_* entry points in scan_core.pyx drive it.
#
# On a Redis Cluster a scan reads in parts, one per node: a single key's
# node (by its slot); for a pattern table every primary (or replica), or the
# one node of a pattern's hash tag, or the nodes of the keys looked up (each
# node its own).  The parts are read at once: each has its own connection,
# plan and rows (replies from two nodes never meet in one row), every
# part's requests go out together, and PostgreSQL gets one part's batch at a
# time, from whichever node has answered.  MOVED, ASK, TRYAGAIN, CLUSTERDOWN
# and a lost node start the scan again on the new map while no row was
# returned; after, they are an error (40001).

cdef class Part:
    """One node's share of a scan."""
    cdef tuple node                 # (host, port, readonly), or None: the URL's node
    cdef list keys                  # the keys it looks up, or None
    cdef int shard                  # the shard its SCAN serves, or -1
    cdef Connection conn
    cdef Plan plan
    cdef Rows rows
    cdef bint started               # its first requests are queued
    cdef bint finished              # read to the end

    cdef void release(self, bint pooled) noexcept:
        if self.conn is not None:
            if pooled:
                pool_release(self.conn)
            else:
                self.conn.close()
            self.conn = None


cdef class Scan:
    cdef Endpoint ep                # where it reads, as whom
    cdef int src_type
    cdef bytes key
    cdef int fetch                  # RW_FETCH_ALL or RW_FETCH_SCAN
    cdef Pushdown pushdown          # the clauses Redis serves, with their values
    cdef long long limit            # at most this many rows wanted; 0: all
    cdef bint count_only            # one row: how many rows there are
    cdef bint reverse               # rows in descending order (a reversible source)
    cdef long long count            # count_only: rows counted in batches so far
    cdef long long returned         # rows handed out since the scan (re)started
    cdef Counters counters          # for EXPLAIN ANALYZE: all this scan did, across rescans
    cdef Rows rows                  # the columns wanted and the row's width; count_only's row
    cdef Fields fields              # the field columns read, or None
    cdef bint delivered, delivered_rows
    cdef bytes fault
    cdef int blocked_fd             # the socket try_next_batch last stopped to read from,
    cdef long long blocked_deadline # and until when (0: no limit)
    cdef Topology topo              # the cluster's map the parts follow, or None
    cdef list parts                 # of Part, read at once
    cdef Part cur                   # the part last read (its batch handed out, or its error raised)
    cdef Py_ssize_t turn            # the part read first next time (round robin)
    cdef tuple ask                  # (host, port) an ASK sent this single-key scan to
    cdef bint parts_done            # every part is read (and the map checked)
    cdef bint detecting             # cluster or not is for the URL's node's handshake to say
    cdef Backoff backoff

    cdef int open(self, const RwScanSpec *spec) except -1:
        cdef int i
        self.ep = Endpoint()
        self.ep.from_spec(spec)
        self.fault = spec.fault if spec.fault != NULL else b""
        self.rows = Rows()
        self.counters = Counters()
        self.parts = []
        for i in range(RW_MAX_COLUMNS):
            self.rows.want[i] = spec.want[i] != 0
        if not 0 <= spec.src_type < N_SOURCES:
            raise CoreError(RW_ERR_BAD_OPTION, "unknown source type %d" % spec.src_type)
        self.src_type = spec.src_type
        self.key = spec.key
        if spec.nfields < 0 or (spec.nfields > 0 and not SOURCES[spec.src_type].info.field_columns):
            raise CoreError(RW_ERR_INTERNAL, "field columns for a source without them")
        self.rows.width = RW_CELLS_PER_ROW + spec.nfields
        self.fields = fields_of(spec)
        self.fetch = spec.fetch if spec.fetch != RW_FETCH_DEFAULT else SOURCES[spec.src_type].default_fetch
        self.take_quals(spec)
        self.limit = max(spec.limit, 0)
        self.count_only = spec.count_only != 0
        self.reverse = spec.reverse != 0 and SOURCES[spec.src_type].info.reversible
        if self.count_only:             # rows are only counted: build no cells
            for i in range(RW_MAX_COLUMNS):
                self.rows.want[i] = False
        self.rows.max_value_size = self.ep.max_value_size
        self.backoff = Backoff()
        self.restart(True)
        return 0

    cdef list route(self):
        """The parts the scan reads, (node, keys or None, shard) each: one,
        the URL's node, on a single server."""
        cdef Plan p
        cdef PatternPlan pp
        cdef int shard, slot
        self.topo = cluster_topology(self.ep, False)
        if self.topo is None:
            self.detecting = self.ep.cluster_mode == RW_CLUSTER_DETECT and self.ep.name not in g_topology
            return [(None, None, -1)]
        p = make_plan(self.src_type, self.key, self.fetch, self.pushdown, self.count_only,
                      self.rows.want, self.reverse, self.fields)
        if not isinstance(p, PatternPlan):
            if self.ask is not None:
                return [(self.ask + (False,), None, -1)]
            shard = self.topo.shard_of(slot_of(self.key))
            return [(self.topo.node(shard, self.ep.read_replicas), None, -1)]
        pp = <PatternPlan> p
        if pp.values is not None:
            groups = {}
            for v in pp.values:
                groups.setdefault(self.topo.shard_of(slot_of(v)), []).append(v)
            return [(self.topo.node(s, self.ep.read_replicas), keys, -1)
                    for s, keys in groups.items()] or [(None, [], -1)]
        slot = pattern_slot(pp.pattern)
        if slot < 0 and pp.filter is not None:
            slot = pattern_slot(pp.filter)
        return [(self.topo.node(s, self.ep.read_replicas), None, s)
                for s in ([self.topo.shard_of(slot)] if slot >= 0 else self.topo.shards())]

    cdef int take_quals(self, const RwScanSpec *spec) except -1:
        """The clauses Redis serves, with their values.  scan.c hands over
        exactly those rw_plan took: anything else would leave a clause that
        nobody checks."""
        self.pushdown = choose_pushdown(spec)
        if self.pushdown.param or not 0 <= spec.nquals <= RW_MAX_QUALS or \
                self.pushdown.pushed != (UINT64_MAX >> (64 - spec.nquals) if spec.nquals else 0):
            raise CoreError(RW_ERR_INTERNAL, "the scan was given clauses it does not serve")
        return 0

    cdef int requalify(self, const RwQual *quals, int nquals) except -1:
        """The same clauses with new values: read again from the start, on the
        same connection (a parameterized loop's next row costs one round trip)."""
        cdef RwScanSpec spec
        memset(&spec, 0, sizeof(spec))
        spec.src_type = self.src_type
        spec.key = self.key
        spec.quals = quals
        spec.nquals = nquals
        self.take_quals(&spec)
        return self.rescan()

    cdef Rows new_rows(self):
        """Rows for a part, of the scan's columns."""
        cdef Rows r = Rows()
        cdef int i
        for i in range(RW_MAX_COLUMNS):
            r.want[i] = self.rows.want[i]
        r.width = self.rows.width
        r.max_value_size = self.ep.max_value_size
        return r

    cdef int new_plan(self, Part part) except -1:
        """The part's plan in its initial state (every scan and rescan starts afresh)."""
        cdef Plan plan = make_plan(self.src_type, self.key, self.fetch, self.pushdown, self.count_only,
                                   self.rows.want, self.reverse, self.fields)
        plan.limit = self.limit
        plan.counters = self.counters
        plan.rows = part.rows
        plan.target = part.conn
        if part.keys is not None:
            (<PatternPlan> plan).values = part.keys
        if part.shard >= 0:
            (<PatternPlan> plan).topo = self.topo
            (<PatternPlan> plan).shard = part.shard
        if self.topo is not None and isinstance(plan, PatternPlan):
            unbatch(<PatternPlan> plan, self.src_type)
        part.plan = plan
        part.rows.clear()
        part.started = part.finished = False
        return 0

    cdef int restart(self, bint redial) except -1:
        """Back before the first row: the parts as routed now (new clauses, a
        new map), each with a fresh plan, on a fresh connection where redial,
        or the part's node is new, or its connection is not ready and idle (a
        connection with replies still due is dropped rather than drained:
        dialling again is cheaper than reading the rest of a large reply)."""
        cdef Part part, old
        cdef dict kept = {}
        cdef list parts = []
        for old in self.parts:
            if not redial and old.conn.state == CS_READY and old.conn.idle():
                kept[old.node] = old
            else:
                old.release(False)
        for node, keys, shard in self.route():
            part = kept.pop(node, None)
            if part is None:
                part = Part()
                part.node = node
                part.rows = self.new_rows()
                part.conn = self.ep.acquire(node)
                part.conn.counters = self.counters
            part.keys, part.shard = keys, shard
            self.new_plan(part)
            parts.append(part)
        for old in kept.values():
            old.release(True)
        self.parts = parts
        self.cur = parts[0]
        self.turn = 0
        self.rows.clear()
        self.parts_done = False
        self.count = 0
        self.returned = 0
        self.delivered = False
        self.delivered_rows = False
        return 0

    cdef int next_batch(self, RwBatch *b) except -1:
        cdef bint redialled = False, again = False
        if self.fault == b"scan_next":
            raise RuntimeError("fault injected by redis_wrapper.fault")
        while True:
            try:
                if again:
                    again = False
                    self.restart(True)
                return self.fill_counted(b) if self.count_only else self.fill(b)
            except ClusterRedirect as e:
                if self.topo is None and (self.ep.cluster_mode == RW_CLUSTER_OFF or
                                          e.how not in ('MOVED', 'ASK', 'CLUSTER')):
                    raise
                self.follow(e)
            except CoreError as e:
                if self.topo is not None and e.kind in (RW_ERR_IO, RW_ERR_CONNECT):
                    self.follow(e)      # a lost node: its replica may be promoted
                # A pooled connection the server dropped since (a restart, a
                # timeout, CLIENT KILL), or a primary lost to a failover: dial
                # again (asking the sentinels), once, if no row went out yet.
                elif (e.kind != RW_ERR_IO or redialled
                        or not (self.cur.conn.reused or self.ep.sentinels is not None)):
                    raise
                elif self.delivered_rows:
                    if self.ep.sentinels is not None:
                        e.message += " after rows were returned: the scan cannot go on elsewhere"
                        e.hint = "The primary may have failed over; the next query asks the sentinels where it is."
                    raise
                else:
                    redialled = True
            again = True

    cdef int follow(self, object e) except -1:
        """Before the scan starts again after a cluster's redirect or a lost
        node: where to, on which map (MOVED on a single server's URL: it is a
        cluster after all)."""
        global g_no_wait
        cdef bint outer = g_no_wait
        if self.delivered_rows:
            raise slots_moved("the scan read them") if isinstance(e, ClusterRedirect) else e
        self.backoff.next(self.ep, e)
        self.ask = None
        if isinstance(e, ClusterRedirect) and e.how == 'ASK' and not isinstance(self.cur.plan, PatternPlan):
            self.ask = (e.host or self.cur.conn.transport.url.host, e.port)
        elif self.topo is None:
            g_topology.pop(self.ep.name, None)
            self.ep.cluster_mode = RW_CLUSTER_ON
        else:
            # Waited for in place, even under an async Append: the map's
            # exchanges are new connections, which cannot resume after
            # WouldBlock (their sockets would be closed by then).
            g_no_wait = False
            try:
                refresh_topology(self.ep)
            finally:
                g_no_wait = outer
        return 0

    cdef int try_next_batch(self, RwBatch *b) except -1:
        """next_batch, but where it would wait for a reply, WouldBlock instead
        (remembering its socket); called again, it goes on from there."""
        global g_no_wait
        g_no_wait = True
        try:
            return self.next_batch(b)
        except WouldBlock as e:
            self.blocked_fd = e.fd
            self.blocked_deadline = e.deadline
            raise
        finally:
            g_no_wait = False

    cdef int fill_counted(self, RwBatch *b) except -1:
        """count_only: read every batch, then one row holding how many rows
        there were (kept in self.count, so an interrupted call resumes)."""
        cdef bytes text
        cdef Part part
        cdef long long counted = 0
        while True:
            self.fill(b)
            self.count += b.nrows
            if b.done:
                break
        self.cur.rows.next_batch()
        for part in self.parts:
            counted += part.rows.counted
        self.rows.next_batch()
        text = b"%d" % (self.count + counted)
        self.rows.begin()
        self.rows.store_text(0, text, len(text))
        self.rows.commit()
        b.base = self.rows.arena.data
        b.cells = self.rows.cells
        b.cells_per_row = self.rows.width
        b.nrows = 1
        self.delivered = False
        self.delivered_rows = True
        return 0

    cdef int fill(self, RwBatch *b) except -1:
        cdef Part part
        if self.delivered:
            self.cur.rows.next_batch()
            self.delivered = False
        part = self.serve()
        for part in self.parts:
            if part.conn.state == CS_READY:
                part.conn.flush()   # the next requests go out before PostgreSQL gets the rows
        part = self.cur
        b.base = part.rows.arena.data
        b.cells = part.rows.cells
        b.cells_per_row = part.rows.width
        b.nrows = part.rows.nrows
        self.returned += b.nrows
        b.done = self.ended()
        self.delivered = True
        self.delivered_rows = self.delivered_rows or b.nrows > 0
        return 0

    cdef Part serve(self):
        """The part (self.cur) whose rows go out next: the first, in turn,
        with rows in hand, every part read meanwhile as its replies come;
        None once each is read to the end."""
        cdef Part part
        cdef Py_ssize_t i, n = len(self.parts)
        cdef list fds = []
        cdef long long first_due = 0, due = 0      # the first blocked part's deadline, the earliest
        while True:
            for i in range(2 * n):      # every part's first requests go out before any is read
                part = self.parts[(self.turn + i) % n]
                if part.finished or (i >= n) != part.started:
                    continue
                if not self.advance(part, i >= n, fds):
                    if len(fds) == 1:
                        first_due = due = self.blocked_deadline
                    elif self.blocked_deadline and (due == 0 or self.blocked_deadline < due):
                        due = self.blocked_deadline
                elif i >= n and part.rows.nrows > 0:
                    self.turn = (self.turn + i + 1) % n
                    self.cur = part
                    return part
                elif i >= n:
                    part.finished = True
            if not fds:
                return None
            if g_no_wait:               # an async Append waits for one of them
                raise WouldBlock(fds[0], first_due)
            wait_readable(fds, due)
            del fds[:]

    cdef bint advance(self, Part part, bint read, list fds) except -1:
        """Start part (connected, its first requests queued), and where read,
        read its replies until it has rows or has read all; False where
        several parts are read and it would wait for a reply (its socket in
        fds, its deadline in blocked_deadline)."""
        global g_no_wait
        cdef bint outer = g_no_wait
        self.cur = part
        if len(self.parts) > 1:
            g_no_wait = True            # one part does not wait while another has rows
        try:
            part.conn.ready()
            if self.detecting:
                self.detected()
            if not part.started:
                part.conn.asking = self.ask is not None
                part.conn.reader.sink = part.plan
                part.plan.start()
                part.started = True
            while read and part.rows.nrows == 0 and not part.conn.idle():
                part.conn.receive(0)
            return True
        except WouldBlock as e:
            if len(self.parts) == 1:
                raise
            fds.append(e.fd)
            self.blocked_deadline = e.deadline
            return False
        finally:
            g_no_wait = outer

    cdef bint ended(self) except -1:
        """No rows follow this batch: every part is read or the limit is met.
        After a pattern's parts, no slot may have moved meanwhile, nor be
        moving (keys of a slot that moves may be missed or read twice)."""
        global g_no_wait
        cdef bint outer = g_no_wait
        cdef Part part
        if not (self.limit and self.returned >= self.limit):
            for part in self.parts:
                if not (part.finished or (part is self.cur and part.conn.idle())):
                    return False
        if not self.parts_done and (<Part> self.parts[0]).shard >= 0:
            g_no_wait = False           # (see follow)
            try:
                check_slots_stayed(self.ep, self.topo, [(<Part> p).shard for p in self.parts])
            finally:
                g_no_wait = outer
        self.parts_done = True
        return True

    cdef int detected(self) except -1:
        """The URL's node is ready: a single server as taken, or a cluster's
        node (ClusterRedirect: the scan starts again on the slot map)."""
        cdef Session s = self.cur.conn.session
        self.detecting = False
        if s.cluster or (not s.ask_cluster and cluster_topology(self.ep) is not None):
            raise ClusterRedirect("Redis at %s is a cluster node" % self.cur.conn.where(), 'CLUSTER')
        g_topology[self.ep.name] = None
        return 0

    cdef int rescan(self) except -1:
        return self.restart(False)

    cdef void broke(self) noexcept:
        """A rescan failed: the next batch reports it (a lost connection)."""
        cdef Part part
        for part in self.parts:
            if part.conn is not None:
                part.conn.state = CS_BROKEN

    cdef void failed(self, object e) noexcept:
        """After next_batch raised e: a connection left mid-reply cannot be reused."""
        cdef Part part
        if isinstance(e, Interrupted):
            return
        for part in self.parts:
            if part.conn is not None and (part.conn.state != CS_READY or not part.conn.idle()):
                part.conn.state = CS_BROKEN

    cdef void close(self, bint pooled=True) noexcept:
        cdef Part part
        for part in self.parts:
            part.release(pooled)
