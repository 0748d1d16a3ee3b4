# The core as a Python module, outside PostgreSQL: ./dev bench's core-alone
# baseline and the fast core tests (tests/core) drive whole scans and plans
# through these functions.  Nothing in the query path calls them.

from libc.string cimport memset
import struct

cdef dict OPERATORS = {'=': RW_OP_EQ, '<': RW_OP_LT, '<=': RW_OP_LE, '>': RW_OP_GT, '>=': RW_OP_GE,
                       'prefix': RW_OP_PREFIX}


def source_names():
    """The source types, in src_type order."""
    return [SOURCES[i].info.name.decode() for i in range(N_SOURCES)]


def source_columns(str source):
    """A source type's columns, as rw_source() gives them: (name, kind) pairs,
    kind one of 'text', 'items', 'int8', 'float8', 'interval_ms', 'timestamp_ms'."""
    cdef const RwSourceInfo *info = &SOURCES[source_names().index(source)].info
    kinds = {RW_KIND_TEXT: 'text', RW_KIND_ITEMS: 'items', RW_KIND_INT8: 'int8', RW_KIND_FLOAT8: 'float8',
             RW_KIND_INTERVAL_MS: 'interval_ms', RW_KIND_TIMESTAMP_MS: 'timestamp_ms'}
    return [(info.columns[c].name.decode(), kinds[info.columns[c].kind]) for c in range(info.ncolumns)]


cdef class SpecHolder:
    """An RwScanSpec with the Python objects its pointers borrow from."""
    cdef RwScanSpec spec
    cdef list keep
    cdef RwQual quals[RW_MAX_QUALS]
    cdef RwValue *values
    cdef RwValue *fields
    cdef int *want_fields

    def __dealloc__(self):
        free(self.values)
        free(self.fields)
        free(self.want_fields)

    cdef int fill_fields(self, list names) except -1:
        """Field columns (multi_hash, stream), every one read."""
        cdef int j
        self.fields = <RwValue *> realloc(NULL, sizeof(RwValue) * max(len(names), 1))
        self.want_fields = <int *> realloc(NULL, sizeof(int) * max(len(names), 1))
        if self.fields == NULL or self.want_fields == NULL:
            raise MemoryError()
        for j in range(len(names)):
            self.keep.append(names[j])
            self.fields[j] = value_at(names[j])
            self.want_fields[j] = 1
        self.spec.nfields = len(names)
        self.spec.fields = self.fields
        self.spec.want_fields = self.want_fields
        return 0

    cdef int fill(self, str url, str source, bytes key, object fetch, object quals, object want,
                  object max_value_size, int command_timeout_ms, long long limit=0,
                  bint count=False, bint reverse=False, long long default_ttl_ms=0) except -1:
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
        if len(want) > RW_MAX_COLUMNS:
            raise ValueError("at most %d columns" % RW_MAX_COLUMNS)
        for i in range(len(want)):
            self.spec.want[i] = bool(want[i])
        self.spec.default_ttl_ms = default_ttl_ms
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
         long long limit=0, bint count=False, bint reverse=False, dict stats=None, fields=(),
         bint cluster=False):
    """One whole scan, as scan.c runs it: its rows as (column 0, column 1, key)
    tuples (key None for the table's own), or with count_only their number.
    quals are those rw_plan pushed (see plan()); limit and count are the
    spec's (count: Redis counts, one row of decimal text; reverse: a sorted
    set from its highest score down); stats, a dict,
    gets rw_scan_stats's counters at the end.  want: the columns read, by
    default those of the spec's shapes (a list's index and a sorted set's
    score are opt-in); each row has one value per entry of want, then the
    key, then one per field column of fields (names, as bytes).  cluster:
    the server option (else a single server, never asked).  Raises CoreError."""
    cdef SpecHolder h = SpecHolder()
    cdef RwBatch batch
    cdef Scan s = Scan()
    cdef long long nrows = 0
    cdef Py_ssize_t r
    cdef const RwCell *row
    cdef const RwSourceInfo *info
    h.fill(url, source, key, fetch, quals, want, max_value_size, command_timeout_ms, limit, count, reverse)
    h.fill_fields(list(fields))
    h.spec.cluster = RW_CLUSTER_ON if cluster else RW_CLUSTER_OFF
    info = &SOURCES[h.spec.src_type].info
    width = len(want) if want is not None else 2
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
                    row = batch.cells + r * batch.cells_per_row
                    rows.append(tuple(cell_value(batch.base, &row[c], kinds[c]) for c in range(width))
                                + (cell_value(batch.base, &row[RW_KEY_CELL], False),)
                                + tuple(cell_value(batch.base, &row[c], False)
                                        for c in range(RW_FIELD_COLUMN, batch.cells_per_row)))
            if batch.done:
                if stats is not None:
                    stats.update(s.counters.s)
                return nrows if count_only else rows
    finally:
        s.close(False)


# -- writes ------------------------------------------------------------------

cdef dict WRITE_OPS = {'insert': RW_WRITE_INSERT, 'update': RW_WRITE_UPDATE, 'delete': RW_WRITE_DELETE,
                       'truncate': RW_WRITE_TRUNCATE}
cdef long long g_interrupted = 0     # RW_INTERRUPTED answers the Python API resumed after
cdef unsigned g_flaky = 0


cdef int flaky_wait(int fd, int events, int timeout_ms) noexcept nogil:
    """Every other wait is interrupted, as a PostgreSQL interrupt would."""
    global g_flaky
    g_flaky += 1
    return RW_WAIT_INTERRUPTED if g_flaky % 2 else poll_wait(fd, events, timeout_ms)


def cluster_slot(bytes key):
    """The Redis Cluster slot of key (cluster/slots.pxi)."""
    return slot_of(key)


def cluster_pattern_slot(bytes pattern):
    """The one slot every key matching pattern is in, or -1."""
    return pattern_slot(pattern)


def flaky_waits(bint on):
    """Test-only: make every other socket wait report an interrupt, which the
    write functions below answer by calling again (as the C side does).
    Returns how many calls were resumed so far.  The first wait after is
    interrupted, whatever waits came before."""
    global g_wait, g_flaky
    g_wait = flaky_wait if on else poll_wait
    g_flaky = 0
    return g_interrupted


cdef bytes items_value(object v):
    """The items layout of a list of bytes ('[') or a dict of bytes ('{')."""
    strings = [s for kv in v.items() for s in kv] if isinstance(v, dict) else list(v)
    out = bytearray(struct.pack('=ii', RW_ITEMS_OBJECT if isinstance(v, dict) else RW_ITEMS_ARRAY,
                                len(strings)))
    for s in strings:
        out += struct.pack('=i', len(s)) + s + b'\0' * ((4 - len(s) % 4) % 4)
    return bytes(out)


cdef object column(object row, int c):
    return row[c] if row is not None and c < len(row) else None


cdef class WriteRows:
    """RwWriteRows from Python: before and after as tuples of the first
    columns' values (the others NULL), each bytes, None, or for items a list
    or dict of bytes."""
    cdef RwWriteRow *rows
    cdef int n
    cdef list keep

    def __dealloc__(self):
        free(self.rows)

    cdef int fill(self, list befores, list afters) except -1:
        cdef int i, c
        self.n = len(befores)
        self.keep = []
        self.rows = <RwWriteRow *> realloc(NULL, sizeof(RwWriteRow) * max(self.n, 1))
        if self.rows == NULL:
            raise MemoryError()
        memset(self.rows, 0, sizeof(RwWriteRow) * max(self.n, 1))
        for i in range(self.n):
            for c in range(RW_MAX_COLUMNS):
                self.rows[i].before[c] = self.value(column(befores[i], c))
                self.rows[i].after[c] = self.value(column(afters[i], c))
        return 0

    cdef RwValue value(self, object v):
        if v is not None and not isinstance(v, bytes):
            v = items_value(v)
        self.keep.append(v)
        return value_at(v)


cdef object raise_error(RwError *err):
    raise CoreError(err.kind, err.message.decode('utf-8', 'replace'), err.detail.decode('utf-8', 'replace') or None,
                    err.hint.decode('utf-8', 'replace') or None)


cdef bint again(int status, RwError *err) except -1:
    """Whether to call again (interrupted, as the C side would after
    CHECK_FOR_INTERRUPTS); raises a failure."""
    global g_interrupted
    if status == RW_ERROR:
        raise_error(err)
    if status == RW_INTERRUPTED:
        g_interrupted += 1
    return status == RW_INTERRUPTED


cdef class Modification:
    """A modify as the C side drives it: rows() any number of times, then
    close() (applies the statement's writes when it is the last open of its
    connection) or release() alone (drops them)."""
    cdef SpecHolder h
    cdef RwModifySpec m
    cdef void *handle
    cdef int kinds[RW_MAX_COLUMNS]
    cdef RwError err

    def __init__(self, str url, str source, bytes key, str op, *, int set_mask=0, bint on_conflict_skip=False,
                 bint returning=False, bint transactional=False, int level=1, int command_timeout_ms=0,
                 max_value_size=None, uint64_t conn_key=0, long long default_ttl_ms=0):
        cdef int c
        self.h = SpecHolder()
        self.h.fill(url, source, key, None, (), (True, True), max_value_size, command_timeout_ms, 0, False, False,
                    default_ttl_ms)
        self.h.spec.conn_key = conn_key
        memset(&self.m, 0, sizeof(self.m))
        self.m.op = WRITE_OPS[op]
        self.m.set_mask, self.m.on_conflict_skip, self.m.returning = set_mask, on_conflict_skip, returning
        self.m.transactional, self.m.level = transactional, level
        for c in range(RW_MAX_COLUMNS):
            # (not a conditional expression: Cython 0.29, Debian 12's, makes that one a Python object)
            self.kinds[c] = 0
            if c < SOURCES[self.h.spec.src_type].info.ncolumns:
                self.kinds[c] = SOURCES[self.h.spec.src_type].info.columns[c].kind == RW_KIND_ITEMS
        if rw_modify_open(&self.h.spec, &self.m, &self.handle, &self.err) != RW_OK:
            raise_error(&self.err)

    def __dealloc__(self):
        if self.handle != NULL:
            rw_modify_release(self.handle)

    def rows(self, rows):
        """Queue rows: for INSERT each the row, for DELETE the row read, for
        UPDATE a (row read, new values) pair.  Returns (written, RETURNING
        row or None) for each, the row as (column 0, column 1, ..., key),
        as many columns as the widest row given (at least 2)."""
        cdef WriteRows w = WriteRows()
        cdef RwBatch out
        cdef const RwCell *cells
        cdef int r
        rows = list(rows)
        width = max([2] + [len(x) for row in rows for x in (row if self.m.op == RW_WRITE_UPDATE else (row,))
                           if x is not None])
        if self.m.op == RW_WRITE_INSERT:
            w.fill([None] * len(rows), rows)
        elif self.m.op == RW_WRITE_UPDATE:
            w.fill([b for b, a in rows], [a for b, a in rows])
        else:
            w.fill(rows, [None] * len(rows))
        memset(&out, 0, sizeof(out))
        while again(rw_modify_rows(self.handle, w.rows, w.n, &out, &self.err), &self.err):
            pass
        result = []
        for r in range(w.n):
            ret = None
            if self.m.returning:
                cells = out.cells + r * out.cells_per_row
                ret = tuple(cell_value(out.base, &cells[c], self.kinds[c]) for c in range(width)) + \
                    (cell_value(out.base, &cells[RW_KEY_CELL], False),)
            result.append((w.rows[r].written, ret))
        return result

    def close(self):
        while again(rw_modify_close(self.handle, &self.err), &self.err):
            pass

    def release(self):
        if self.handle != NULL:
            rw_modify_release(self.handle)
            self.handle = NULL


def modify(str url, str source, bytes key, str op, rows=(), *, int batch=100, **kw):
    """One modify, whole: open, rows in batches of batch, close, release.
    Returns rows()'s results for every row (see Modification)."""
    cdef Modification m = Modification(url, source, key, op, **kw)
    rows = list(rows)
    result = []
    try:
        for i in range(0, len(rows), batch):
            result += m.rows(rows[i:i + batch])
        m.close()
    finally:
        m.release()
    return result


def describe_modify(str source, bytes key, str op, *, int set_mask=0, bint transactional=False):
    """rw_modify_describe's text."""
    cdef SpecHolder h = SpecHolder()
    cdef RwModifySpec m
    cdef RwError err
    cdef char text[512]
    h.fill('redis://unused', source, key, None, (), (True, True), None, 0)
    memset(&m, 0, sizeof(m))
    m.op, m.set_mask, m.transactional = WRITE_OPS[op], set_mask, transactional
    if rw_modify_describe(&h.spec, &m, text, sizeof(text), &err) != RW_OK:
        raise_error(&err)
    return text.decode('utf-8', 'replace')


def xact_precommit():
    cdef RwError err
    while again(rw_xact_precommit(&err), &err):
        pass


def xact_pending():
    return bool(rw_xact_pending())


def xact_abort():
    rw_xact_abort()


def xact_subabort(int level):
    rw_xact_subabort(level)


def xact_subcommit(int level):
    rw_xact_subcommit(level)


def set_max_pending(long long n):
    """Test-only: the bound on pending write bytes (1 GB); returns the old one."""
    global g_max_pending
    old = g_max_pending
    g_max_pending = n
    return old


# -- IMPORT FOREIGN SCHEMA -----------------------------------------------------

def sample_keyspace(str url, bytes pattern, long long sample=10000, *, str user=None, str password=None,
                    bint password_required=False, int command_timeout_ms=0, bint with_fields=False):
    """rw_sample_run's answer, resumed as the C side does: (keys sampled,
    groups), each group (src_key, name, Redis type, source type name or
    None, keys in it, whether src_key is a pattern), and with_fields its
    hashes' fields, [(field, RwValueGuess)]."""
    cdef SpecHolder h = SpecHolder()
    cdef RwKeyspace ks
    cdef RwError err
    cdef void *handle = NULL
    cdef const RwKeyGroup *g
    h.fill(url, 'list', b'', None, (), (True, True), None, command_timeout_ms)
    cdef Py_ssize_t kept = len(h.keep)     # (indexes from the end are undefined: wraparound=False)
    h.keep += [user.encode() if user is not None else None, password.encode() if password is not None else None]
    if user is not None:
        h.spec.user = h.keep[kept]
    if password is not None:
        h.spec.password = h.keep[kept + 1]
    h.spec.password_required = password_required
    if rw_sample_open(&h.spec, pattern, sample, with_fields, &handle, &err) != RW_OK:
        raise_error(&err)
    try:
        while again(rw_sample_run(handle, &ks, &err), &err):
            pass
        groups = []
        for i in range(ks.ngroups):
            g = &ks.groups[i]
            groups.append((g.src_key[:g.src_key_len], g.name[:g.name_len], g.redis_type.decode(),
                           SOURCES[g.src_type].info.name.decode() if g.src_type >= 0 else None,
                           g.nkeys, bool(g.is_pattern))
                          + (([(g.fields[j][:g.field_lens[j]], g.field_guesses[j]) for j in range(g.nfields)],)
                             if with_fields else ()))
        return ks.nkeys, groups
    finally:
        rw_sample_close(handle)
