# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=False
"""The scanning core of redis_wrapper: everything that talks to Redis.

fdw.c calls the rw_* functions below (declared in core_api.h).  They never
raise into C: every failure comes back as a status plus an RwError, and
PostgreSQL-side code turns it into an ereport.  Nothing here calls PostgreSQL
except through the wait function fdw.c installs (see conn.pxi)."""

from cpython.exc cimport PyErr_Occurred
from cpython.ref cimport Py_INCREF, Py_DECREF
from libc.stdint cimport uint64_t, int32_t, int64_t

from core_api cimport *


class CoreError(Exception):
    """A failure to report to the user: kind selects the SQLSTATE; final means
    that retrying the connection cannot help."""

    def __init__(self, kind, message, detail=None, hint=None, final=False):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail
        self.hint = hint
        self.final = final


class Interrupted(Exception):
    """A socket wait saw a pending PostgreSQL interrupt; the scan can resume."""


include "core/buffers.pxi"
include "core/resp.pxi"
include "core/url.pxi"
include "core/tls.pxi"
include "core/resolve.pxi"
include "core/conn.pxi"
include "core/pool.pxi"
include "core/rows.pxi"
include "core/sources.pxi"
include "core/glob.pxi"
include "core/plans.pxi"
include "core/lookups.pxi"
include "core/planner.pxi"
include "core/python_api.pxi"


cdef class Scan:
    cdef Url url
    cdef TlsOptions tls
    cdef tuple identity             # (URL, user, password, timeouts, TLS options)
    cdef uint64_t conn_key
    cdef int src_type
    cdef bytes key
    cdef int fetch                  # RW_FETCH_ALL or RW_FETCH_SCAN
    cdef Pushdown pushdown          # the clause Redis serves, with its values
    cdef long long max_value_size
    cdef Connection conn
    cdef Plan plan
    cdef Rows rows
    cdef bint started, delivered, delivered_rows
    cdef bytes fault

    cdef int open(self, const RwScanSpec *spec) except -1:
        cdef int i
        url = spec.url.decode('utf-8', 'surrogateescape')
        self.url = parse_url(url)
        self.tls = TlsOptions()
        self.tls.ca_file = spec.tls_ca_file if spec.tls_ca_file != NULL else None
        self.tls.cert_file = spec.tls_cert_file if spec.tls_cert_file != NULL else None
        self.tls.key_file = spec.tls_key_file if spec.tls_key_file != NULL else None
        self.tls.verify = spec.tls_verify != 0
        user = spec.user if spec.user != NULL else self.url.user
        password = spec.password if spec.password != NULL else self.url.password
        check_identity(self.url, user, password, spec.password_required != 0)
        self.identity = (url, user, password,
                         spec.connect_timeout_ms, spec.command_timeout_ms, self.tls.identity())
        self.conn_key = spec.conn_key
        self.fault = spec.fault if spec.fault != NULL else b""
        self.rows = Rows()
        for i in range(RW_MAX_COLUMNS):
            self.rows.want[i] = spec.want[i] != 0
        if not 0 <= spec.src_type < N_SOURCES:
            raise CoreError(RW_ERR_BAD_OPTION, "unknown source type %d" % spec.src_type)
        self.src_type = spec.src_type
        self.key = spec.key
        self.fetch = spec.fetch if spec.fetch != RW_FETCH_DEFAULT else SOURCES[spec.src_type].default_fetch
        self.pushdown = choose_pushdown(spec)
        # fdw.c hands over exactly the clauses rw_plan took, with their values:
        # anything else would leave a clause that nobody checks.
        if self.pushdown.param or spec.nquals != (self.pushdown.qual >= 0):
            raise CoreError(RW_ERR_INTERNAL, "the scan was given clauses it does not serve")
        self.max_value_size = spec.max_value_size
        self.connect()
        return 0

    cdef int new_plan(self) except -1:
        """A plan in its initial state (every scan and rescan starts afresh)."""
        self.plan = make_plan(self.src_type, self.key, self.fetch, self.pushdown)
        self.plan.rows = self.rows
        self.plan.conn = self.conn
        return 0

    cdef int connect(self) except -1:
        """A cached connection, or a new one (dialled by next_batch)."""
        if self.conn is not None:
            self.conn.close()
        self.conn = pool_acquire(self.conn_key, self.identity, self.url, self.tls)
        self.conn.max_value_size = self.max_value_size
        self.rows.max_value_size = self.max_value_size
        return self.new_plan()

    cdef int next_batch(self, RwBatch *b) except -1:
        if self.fault == b"scan_next":
            raise RuntimeError("fault injected by redis_wrapper.fault")
        try:
            return self.fill(b)
        except CoreError as e:
            # A cached connection the server dropped since (a restart, a
            # timeout, CLIENT KILL): dial again, once, if no row went out yet.
            if not (self.conn.reused and not self.delivered_rows and e.kind == RW_ERR_IO):
                raise
        self.restart(True)
        return self.fill(b)

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
        self.started = False
        self.delivered = False
        self.delivered_rows = False
        return 0


cdef int check_identity(Url url, bytes user, bytes password, bint password_required) except -1:
    """Refuse to connect as someone the options did not name, or, for a role that
    must authenticate (password_required, from fdw.c), without a password or
    through a unix socket (which reaches servers only the database's OS user can)."""
    if user is not None and password is None:
        raise CoreError(RW_ERR_BAD_OPTION, "Redis user \"%s\" is given without a password" % shown(user),
                        hint="Redis authenticates a user name only together with its password; "
                             "without one the connection would run as Redis's default user.")
    if not password_required:
        return 0
    if url.scheme == 'unix':
        raise CoreError(RW_ERR_PRIVILEGE, "only superusers may connect to Redis through a unix socket",
                        hint="A superuser may allow it for a user mapping with password_required 'false'.")
    if password is None:
        raise CoreError(RW_ERR_PRIVILEGE, "password is required",
                        detail="Non-superusers must send a password to Redis, from their user mapping or the connection URL.",
                        hint="Add a password to the user mapping; a superuser may instead set password_required 'false' on it.")
    return 0


cdef str shown(bytes b):
    """Redis bytes for a message: backslash escapes for control characters and
    bytes that are not UTF-8, cut after 200 bytes."""
    text = b[:200].decode('utf-8', 'backslashreplace')
    text = ''.join(c if c >= ' ' and c != '\x7f' else '\\x%02x' % ord(c) for c in text)
    return text + '...' if len(b) > 200 else text


cdef str traceback_tail(object exc, size_t size):
    """The innermost part of exc's traceback that fits in size bytes, for DETAIL."""
    try:
        import traceback
        text = ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
        return text[-size:]
    except BaseException:
        return ""


cdef void copy_text(char *dst, size_t size, object text) noexcept:
    """Copy text into a C buffer, truncated on a UTF-8 character boundary."""
    cdef bytes b
    try:
        b = ("" if text is None else str(text)).encode('utf-8', 'replace')
        if len(b) >= size:
            b = b[:size - 1].decode('utf-8', 'ignore').encode('utf-8')
        memcpy(dst, <char *> b, len(b))
        dst[len(b)] = 0
    except BaseException:
        dst[0] = 0


cdef int report(RwError *err, object exc) noexcept:
    """Fill err from an exception; returns the status for it."""
    if isinstance(exc, Interrupted):
        return RW_INTERRUPTED
    if isinstance(exc, CoreError):
        err.kind = exc.kind
        copy_text(err.message, sizeof(err.message), exc.message)
        copy_text(err.detail, sizeof(err.detail), exc.detail)
        copy_text(err.hint, sizeof(err.hint), exc.hint)
    elif isinstance(exc, MemoryError):
        err.kind = RW_ERR_OUT_OF_MEMORY
        copy_text(err.message, sizeof(err.message), "out of memory in the Redis scanning core")
        err.detail[0] = 0
        err.hint[0] = 0
    else:
        err.kind = RW_ERR_INTERNAL
        copy_text(err.message, sizeof(err.message),
                  "internal error in the Redis scanning core: %s: %s" % (type(exc).__name__, exc))
        copy_text(err.detail, sizeof(err.detail), traceback_tail(exc, sizeof(err.detail) - 1))
        err.hint[0] = 0
    return RW_ERROR


cdef public void rw_core_set_wait(RwWaitFn fn) noexcept nogil:
    global g_wait
    g_wait = fn if fn != NULL else poll_wait


cdef public int rw_core_check_url(const char *url, RwError *err) noexcept with gil:
    cdef Url u
    try:
        u = parse_url(url.decode('utf-8', 'surrogateescape'))
        check_identity(u, u.user, u.password, False)
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef public int rw_plan(const RwScanSpec *spec, RwPlanInfo *plan, RwError *err) noexcept with gil:
    """Which clauses Redis serves, an estimate and a description (no I/O, no secrets)."""
    cdef Pushdown d
    try:
        if not 0 <= spec.src_type < N_SOURCES:
            raise CoreError(RW_ERR_BAD_OPTION, "unknown source type %d" % spec.src_type)
        d = choose_pushdown(spec)
        plan.pushed = (<uint64_t> 1) << d.qual if d.qual >= 0 else 0
        plan.rows = estimate(d)
        copy_text(plan.description, sizeof(plan.description), describe(spec, d))
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef public int rw_scan_open(const RwScanSpec *spec, void **handle, RwError *err) noexcept with gil:
    cdef Scan s
    try:
        s = Scan()
        s.open(spec)
        Py_INCREF(s)
        handle[0] = <void *> s
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef public int rw_scan_next(void *handle, RwBatch *batch, RwError *err) noexcept with gil:
    cdef Scan s = <Scan> handle
    try:
        s.next_batch(batch)
        return RW_OK
    except BaseException as e:
        if not isinstance(e, Interrupted) and (s.conn.state != CS_READY or not s.conn.idle()):
            s.conn.state = CS_BROKEN
        return report(err, e)


cdef public void rw_scan_rescan(void *handle) noexcept with gil:
    cdef Scan s = <Scan> handle
    try:
        s.rescan()
    except BaseException:
        s.conn.state = CS_BROKEN    # reported by the next rw_scan_next


cdef public void rw_scan_close(void *handle) noexcept with gil:
    pool_release((<Scan> handle).conn)
    Py_DECREF(<object> handle)


cdef public void rw_pool_invalidate(uint64_t key, int all_keys) noexcept with gil:
    pool_invalidate(None if all_keys else key)


cdef public int rw_pool_describe(uint64_t key, char *where, size_t size) noexcept with gil:
    """Whether key has a cached connection; if so, where it goes (no credentials)."""
    cdef Connection c = g_idle.get(key)
    if c is None:
        return 0
    copy_text(where, size, c.url.where())
    return 1
