# The core as a Python module, outside PostgreSQL: ./dev bench's core-alone
# baseline and the fast core tests (tests/core) drive whole scans and plans
# through these functions.  Nothing in the query path calls them.

from libc.string cimport memset

cdef dict OPERATORS = {'=': RW_OP_EQ, '<': RW_OP_LT, '<=': RW_OP_LE, '>': RW_OP_GT, '>=': RW_OP_GE,
                       'prefix': RW_OP_PREFIX}


def source_names():
    """The source types, in src_type order."""
    return [SOURCES[i].info.name.decode() for i in range(N_SOURCES)]


def source_columns(str source):
    """A source type's columns, as rw_source() gives them: (name, kind) pairs,
    kind one of 'text', 'items', 'int8', 'float8'."""
    cdef const RwSourceInfo *info = &SOURCES[source_names().index(source)].info
    kinds = {RW_KIND_TEXT: 'text', RW_KIND_ITEMS: 'items', RW_KIND_INT8: 'int8', RW_KIND_FLOAT8: 'float8'}
    return [(info.columns[c].name.decode(), kinds[info.columns[c].kind]) for c in range(info.ncolumns)]


cdef class SpecHolder:
    """An RwScanSpec with the Python objects its pointers borrow from."""
    cdef RwScanSpec spec
    cdef list keep
    cdef RwQual quals[RW_MAX_QUALS]
    cdef RwValue *values

    def __dealloc__(self):
        free(self.values)

    cdef int fill(self, str url, str source, bytes key, object fetch, object quals, object want,
                  object max_value_size, int command_timeout_ms, long long limit=0,
                  bint count=False, bint reverse=False) except -1:
        cdef int i, k, nvalues = 0
        memset(&self.spec, 0, sizeof(self.spec))
        names = source_names()
        if source not in names:
            raise ValueError("unknown source type %r (one of %s)" % (source, ', '.join(names)))
        self.keep = [url.encode(), key]
        self.spec.url = self.keep[0]
        self.spec.src_type = names.index(source)
        if want is None:    # the spec's shapes: a list's index and a sorted set's score are opt-in
            want = (True, SOURCES[self.spec.src_type].order == ORDER_NONE)
        self.spec.key = key
        self.spec.fetch = {None: RW_FETCH_DEFAULT, 'all': RW_FETCH_ALL, 'scan': RW_FETCH_SCAN}[fetch]
        self.spec.want[0], self.spec.want[1] = bool(want[0]), bool(want[1])
        self.spec.tls_verify = 1
        self.spec.command_timeout_ms = command_timeout_ms
        self.spec.limit = limit
        self.spec.count_only = count
        self.spec.reverse = reverse
        self.spec.max_value_size = RW_DEFAULT_MAX_VALUE_SIZE if max_value_size is None else max_value_size
        quals = list(quals)
        if len(quals) > RW_MAX_QUALS:
            raise ValueError("at most %d quals" % RW_MAX_QUALS)
        for column, op, values in quals:
            nvalues += len(values) if values is not None else 0
        self.values = <RwValue *> realloc(NULL, sizeof(RwValue) * max(nvalues, 1))
        if self.values == NULL:
            raise MemoryError()
        nvalues = 0
        for i, (column, op, values) in enumerate(quals):
            self.quals[i].column = column
            self.quals[i].op = OPERATORS[op]
            self.quals[i].nvalues = -1 if values is None else len(values)
            self.quals[i].values = self.values + nvalues
            for v in values or ():
                self.keep.append(v)
                self.values[nvalues].p = v
                self.values[nvalues].len = len(v)
                nvalues += 1
        self.spec.quals = self.quals
        self.spec.nquals = len(quals)
        return 0


def plan(str source, bytes key, quals=(), bint count=False):
    """rw_plan's decisions: (pushed bitmask, estimated rows, description).
    quals: (column, operator, values) with operator one of = < <= > >= prefix,
    and values None for a parameter's."""
    cdef SpecHolder h = SpecHolder()
    cdef RwPlanInfo info
    cdef RwError err
    h.fill('redis://unused', source, key, None, quals, (True, True), None, 0, 0, count)
    if rw_plan(&h.spec, &info, &err) != RW_OK:
        raise CoreError(err.kind, err.message.decode('utf-8', 'replace'))
    return info.pushed, info.rows, info.description.decode('utf-8', 'replace')


cdef object cell_value(char *base, const RwCell *cell, bint items):
    """A cell as Python data: bytes, or an items cell as a list of bytes
    (an object's as a list of (field, value) pairs); None for NULL."""
    cdef const char *p
    cdef int32_t kind, count, n, i
    if cell.len < 0:
        return None
    p = base + cell.off
    if not items:
        return p[:cell.len]
    kind = (<const int32_t *> p)[0]
    count = (<const int32_t *> p)[1]
    p += 8
    strings = []
    for i in range(count):
        n = (<const int32_t *> p)[0]
        strings.append(p[4:4 + n])
        p += (4 + n + 3) & ~3
    if kind == RW_ITEMS_OBJECT:
        return list(zip(strings[0::2], strings[1::2]))
    return strings


def scan(str url, str source, bytes key, *, fetch=None, quals=(), want=None,
         max_value_size=None, int command_timeout_ms=0, bint count_only=False,
         long long limit=0, bint count=False, bint reverse=False, dict stats=None):
    """One whole scan, as scan.c runs it: its rows as (column 0, column 1, key)
    tuples (key None for the table's own), or with count_only their number.
    quals are those rw_plan pushed (see plan()); limit and count are the
    spec's (count: Redis counts, one row of decimal text; reverse: a sorted
    set from its highest score down); stats, a dict,
    gets rw_scan_stats's counters at the end.  want: the columns read, by
    default those of the spec's shapes (a list's index and a sorted set's
    score are opt-in).  Raises CoreError."""
    cdef SpecHolder h = SpecHolder()
    cdef RwBatch batch
    cdef Scan s = Scan()
    cdef long long nrows = 0
    cdef Py_ssize_t r
    cdef const RwCell *row
    cdef const RwSourceInfo *info
    h.fill(url, source, key, fetch, quals, want, max_value_size, command_timeout_ms, limit, count, reverse)
    info = &SOURCES[h.spec.src_type].info
    kinds = [info.columns[c].kind == RW_KIND_ITEMS if c < info.ncolumns else False
             for c in range(RW_MAX_COLUMNS)]
    rows = []
    s.open(&h.spec)
    try:
        while True:
            s.next_batch(&batch)
            if count_only:
                nrows += batch.nrows
            else:
                for r in range(batch.nrows):
                    row = batch.cells + r * RW_CELLS_PER_ROW
                    rows.append(tuple(cell_value(batch.base, &row[c], kinds[c]) for c in range(RW_MAX_COLUMNS))
                                + (cell_value(batch.base, &row[RW_KEY_CELL], False),))
            if batch.done:
                if stats is not None:
                    stats.update(s.counters.s)
                return nrows if count_only else rows
    finally:
        s.conn.close()
