# Errors as the core raises them, and as they cross to the C side: every rw_*
# entry point turns an exception into a status and an RwError with report().

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


class ClusterRedirect(CoreError):
    """A Redis Cluster's answer that the command belongs elsewhere or later:
    MOVED slot host:port, ASK slot host:port, TRYAGAIN, CLUSTERDOWN, or
    MOVING (a key a node holds for a slot our map gives another: slots are
    being moved), or CLUSTER (the URL's node, taken for a single server,
    says it is a cluster's).  Not a cluster's: reported as the Redis error it is."""

    def __init__(self, message, how, host=None, port=0):
        # MOVING, once attempts are spent: a serialization failure (40001).
        super().__init__(RW_ERR_CONFLICT if how == 'MOVING' else RW_ERR_REDIS, message,
                         hint="Retry the query." if how == 'MOVING' else None)
        self.how = how
        self.host = host
        self.port = port


class Interrupted(Exception):
    """A socket wait saw a pending PostgreSQL interrupt; the scan can resume."""


class WouldBlock(Interrupted):
    """rw_scan_try_next: a wait for fd to be readable, until deadline (0:
    none), was due.  As after an interrupt, the scan resumes where it stood
    when called again (and fails then if the deadline has passed)."""

    def __init__(self, fd, deadline):
        super().__init__()
        self.fd = fd
        self.deadline = deadline


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
    if isinstance(exc, WouldBlock):
        return RW_WOULD_BLOCK
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
