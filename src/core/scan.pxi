# One scan of a foreign table: its options as the C side passed them, the
# plan that reads the source, the connection it runs on and the rows of the
# batch in hand.  The rw_scan_* entry points in scan_core.pyx drive it.

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
        self.connect()
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
        return 0

    cdef int connect(self) except -1:
        """A pooled connection, or a new one (dialled by next_batch)."""
        if self.conn is not None:
            self.conn.close()
        self.conn = self.ep.acquire()
        self.conn.counters = self.counters
        self.rows.max_value_size = self.ep.max_value_size
        return self.new_plan()

    cdef int next_batch(self, RwBatch *b) except -1:
        if self.fault == b"scan_next":
            raise RuntimeError("fault injected by redis_wrapper.fault")
        try:
            return self.fill_counted(b) if self.count_only else self.fill(b)
        except CoreError as e:
            # A pooled connection the server dropped since (a restart, a
            # timeout, CLIENT KILL), or a primary lost to a failover: dial
            # again (asking the sentinels), once, if no row went out yet.
            if e.kind != RW_ERR_IO or not (self.conn.reused or self.ep.sentinels is not None):
                raise
            if self.delivered_rows:
                if self.ep.sentinels is not None:
                    e.message += " after rows were returned: the scan cannot go on elsewhere"
                    e.hint = "The primary may have failed over; the next query asks the sentinels where it is."
                raise
        self.restart(True)
        return self.fill_counted(b) if self.count_only else self.fill(b)

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
        self.conn.ready()
        if not self.started:
            self.conn.reader.sink = self.plan
            self.plan.start()
            self.started = True
        while self.rows.nrows == 0 and not self.conn.idle():
            self.conn.receive(0)
        self.conn.flush()       # the next request goes out before PostgreSQL gets the rows
        b.base = self.rows.arena.data
        b.cells = self.rows.cells
        b.cells_per_row = self.rows.width
        b.nrows = self.rows.nrows
        b.done = self.conn.idle()
        self.delivered = True
        self.delivered_rows = self.delivered_rows or b.nrows > 0
        return 0

    cdef int rescan(self) except -1:
        # A connection with replies still due is dropped rather than drained:
        # dialling again is cheaper than reading the rest of a large reply.
        return self.restart(not (self.conn.state == CS_READY and self.conn.idle()))

    cdef int restart(self, bint redial) except -1:
        """Back before the first row: a fresh plan, on a fresh connection if redial."""
        if redial:
            self.connect()
        else:
            self.new_plan()
        self.rows.clear()
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
