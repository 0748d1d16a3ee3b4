# One scan of a foreign table: its options as the C side passed them, the
# plan that reads the source, the connection it runs on and the rows of the
# batch in hand.  The rw_scan_* entry points in scan_core.pyx drive it.
#
# On a Redis Cluster a scan reads in parts, one node after another: a single
# key's node (by its slot); for a pattern table every primary (or replica),
# or the one node of a pattern's hash tag, or the nodes of the keys looked
# up (each node its own).  MOVED, ASK, TRYAGAIN, CLUSTERDOWN and a lost node
# start the scan again on the new map while no row was returned; after, they
# are an error (40001).

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
    cdef Connection conn
    cdef Counters counters          # for EXPLAIN ANALYZE: all this scan did, across rescans
    cdef Plan plan
    cdef Rows rows
    cdef Fields fields              # the field columns read, or None
    cdef bint started, delivered, delivered_rows
    cdef bytes fault
    cdef int blocked_fd             # the socket try_next_batch last stopped to read from,
    cdef long long blocked_deadline # and until when (0: no limit)
    cdef Topology topo              # the cluster's map the parts follow, or None
    cdef list parts                 # (node, keys or None, shard) read in turn
    cdef Py_ssize_t part
    cdef tuple ask                  # (host, port) an ASK sent this single-key scan to
    cdef bint parts_done            # the last part is read (and the map checked)
    cdef bint detecting             # cluster or not is for the URL's node's handshake to say
    cdef Backoff backoff

    cdef int open(self, const RwScanSpec *spec) except -1:
        cdef int i
        self.ep = Endpoint()
        self.ep.from_spec(spec)
        self.fault = spec.fault if spec.fault != NULL else b""
        self.rows = Rows()
        self.counters = Counters()
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
        self.backoff = Backoff()
        self.route()
        self.connect()
        return 0

    cdef int route(self) except -1:
        """The parts the scan reads: one, the URL's node, on a single server."""
        cdef Plan p
        cdef PatternPlan pp
        cdef int shard, slot
        self.part = 0
        self.topo = cluster_topology(self.ep, False)
        if self.topo is None:
            self.detecting = self.ep.cluster_mode == RW_CLUSTER_DETECT and self.ep.name not in g_topology
            self.parts = [(None, None, -1)]
            return 0
        p = make_plan(self.src_type, self.key, self.fetch, self.pushdown, self.count_only,
                      self.rows.want, self.reverse, self.fields)
        if not isinstance(p, PatternPlan):
            if self.ask is not None:
                self.parts = [(self.ask + (False,), None, -1)]
            else:
                shard = self.topo.shard_of(slot_of(self.key))
                self.parts = [(self.topo.node(shard, self.ep.read_replicas), None, -1)]
        else:
            pp = <PatternPlan> p
            if pp.values is not None:
                groups = {}
                for v in pp.values:
                    groups.setdefault(self.topo.shard_of(slot_of(v)), []).append(v)
                self.parts = [(self.topo.node(s, self.ep.read_replicas), keys, -1)
                              for s, keys in groups.items()] or [(None, [], -1)]
            else:
                slot = pattern_slot(pp.pattern)
                if slot < 0 and pp.filter is not None:
                    slot = pattern_slot(pp.filter)
                self.parts = [(self.topo.node(s, self.ep.read_replicas), None, s)
                              for s in ([self.topo.shard_of(slot)] if slot >= 0 else self.topo.shards())]
        return 0

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

    cdef int new_plan(self) except -1:
        """A plan in its initial state (every scan and rescan starts afresh)."""
        self.plan = make_plan(self.src_type, self.key, self.fetch, self.pushdown, self.count_only,
                              self.rows.want, self.reverse, self.fields)
        self.plan.limit = self.limit
        self.plan.counters = self.counters
        self.plan.rows = self.rows
        self.plan.target = self.conn
        node, keys, shard = self.parts[self.part]
        if keys is not None:
            (<PatternPlan> self.plan).values = keys
        if shard >= 0:
            (<PatternPlan> self.plan).topo = self.topo
            (<PatternPlan> self.plan).shard = shard
        if self.topo is not None and isinstance(self.plan, PatternPlan):
            unbatch(<PatternPlan> self.plan, self.src_type)
        return 0

    cdef int connect(self) except -1:
        """A pooled connection to the part's node, or a new one (dialled by next_batch)."""
        if self.conn is not None:
            self.conn.close()
        self.conn = self.ep.acquire(self.parts[self.part][0])
        self.conn.counters = self.counters
        self.rows.max_value_size = self.ep.max_value_size
        return self.new_plan()

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
                        or not (self.conn.reused or self.ep.sentinels is not None)):
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
        if self.delivered_rows:
            raise slots_moved("the scan read them") if isinstance(e, ClusterRedirect) else e
        self.backoff.next(self.ep, e)
        self.ask = None
        if isinstance(e, ClusterRedirect) and e.how == 'ASK' and not isinstance(self.plan, PatternPlan):
            self.ask = (e.host or self.conn.transport.url.host, e.port)
        elif self.topo is None:
            g_topology.pop(self.ep.name, None)
            self.ep.cluster_mode = RW_CLUSTER_ON
        else:
            refresh_topology(self.ep)
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
        while True:
            self.fill(b)
            self.count += b.nrows
            if b.done:
                break
        self.rows.next_batch()
        text = b"%d" % (self.count + self.rows.counted)
        self.rows.begin()
        self.rows.store_text(0, text, len(text))
        self.rows.commit()
        b.base = self.rows.arena.data
        b.cells = self.rows.cells
        b.cells_per_row = self.rows.width
        b.nrows = 1
        self.delivered = True
        self.delivered_rows = True
        return 0

    cdef int fill(self, RwBatch *b) except -1:
        if self.delivered:
            self.rows.next_batch()
            self.delivered = False
        while True:
            self.conn.ready()
            if self.detecting:
                self.detected()
            if not self.started:
                self.conn.asking = self.ask is not None
                self.conn.reader.sink = self.plan
                self.plan.start()
                self.started = True
            while self.rows.nrows == 0 and not self.conn.idle():
                self.conn.receive(0)
            if not self.conn.idle() or not self.next_part() or self.rows.nrows > 0:
                break
        self.conn.flush()       # the next request goes out before PostgreSQL gets the rows
        b.base = self.rows.arena.data
        b.cells = self.rows.cells
        b.cells_per_row = self.rows.width
        b.nrows = self.rows.nrows
        b.done = self.conn.idle() and self.parts_done
        self.delivered = True
        self.delivered_rows = self.delivered_rows or b.nrows > 0
        return 0

    cdef int detected(self) except -1:
        """The URL's node is ready: a single server as taken, or a cluster's
        node (ClusterRedirect: the scan starts again on the slot map)."""
        cdef Session s = self.conn.session
        self.detecting = False
        if s.cluster or (not s.ask_cluster and cluster_topology(self.ep) is not None):
            raise ClusterRedirect("Redis at %s is a cluster node" % self.conn.where(), 'CLUSTER')
        g_topology[self.ep.name] = None
        return 0

    cdef bint next_part(self) except -1:
        """The part read is done: on to the next node's, unless the limit is
        met.  After a pattern's last, no slot may have moved meanwhile, nor be
        moving (keys of a slot that moves may be missed or read twice)."""
        if self.part + 1 < len(self.parts) and (self.limit == 0 or self.rows.total < self.limit):
            pool_release(self.conn)
            self.conn = None
            self.part += 1
            self.connect()
            self.started = False
            return True
        if not self.parts_done and self.parts[self.part][2] >= 0:
            check_slots_stayed(self.ep, self.topo, [part[2] for part in self.parts])
        self.parts_done = True
        return False

    cdef int rescan(self) except -1:
        # A connection with replies still due is dropped rather than drained:
        # dialling again is cheaper than reading the rest of a large reply.
        return self.restart(not (self.conn.state == CS_READY and self.conn.idle()))

    cdef int restart(self, bint redial) except -1:
        """Back before the first row: a fresh plan, on a fresh connection if
        redial or the first part's node is another (new clauses, a new map)."""
        cdef object node = self.conn.key[1]
        self.route()
        if redial or self.parts[0][0] != node:
            self.connect()
        else:
            self.new_plan()
        self.rows.clear()
        self.parts_done = False
        self.count = 0
        self.started = False
        self.delivered = False
        self.delivered_rows = False
        return 0

    cdef void failed(self, object e) noexcept:
        """After next_batch raised e: a connection left mid-reply cannot be reused."""
        if not isinstance(e, Interrupted) and (self.conn.state != CS_READY or not self.conn.idle()):
            self.conn.state = CS_BROKEN

    cdef void close(self) noexcept:
        pool_release(self.conn)
