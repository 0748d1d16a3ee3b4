# The values of rows to write (RwWriteRow, as C hands them over) read as
# Redis arguments, and the rows RETURNING gets back (the row as Redis will
# hold it), as cells like a scan's.  The list INSERT path reads values in
# place; bytes objects are made only where a value must be remembered
# (duplicate and check bookkeeping).

cdef inline bytes value_of(const RwValue *v):
    """A value as bytes; None for SQL NULL."""
    return None if v.p == NULL else v.p[:v.len]


cdef object not_null(bytes column, bytes key):
    return CoreError(RW_ERR_NOT_NULL, 'null value in column "%s" cannot be written to Redis key "%s"'
                     % (column.decode(), shown(key)),
                     detail="Redis stores no NULLs.")


cdef list items_of(const RwValue *v, int kind, bytes key, bint distinct, bint as_read=False):
    """The strings of an items value (the items layout), which must be of
    kind ('[' an array, '{' an object: its keys and values alternate) and
    not empty, and with distinct its strings distinct (a set's members);
    as_read: a row as a scan read it, taken as it is."""
    cdef const char *p = v.p
    cdef const char *end = v.p + v.len
    cdef int32_t n, i, count
    cdef list out = []
    if v.len < 8:
        raise CoreError(RW_ERR_INTERNAL, "an items value of %d bytes" % v.len)
    count = (<const int32_t *> p)[1]
    if as_read:
        kind = (<const int32_t *> p)[0]
    elif (<const int32_t *> p)[0] != kind:
        raise CoreError(RW_ERR_BAD_VALUE, 'items for Redis key "%s" must be a JSON %s of strings'
                        % (shown(key), "object" if kind == RW_ITEMS_OBJECT else "array"))
    if count == 0 and not as_read:
        raise CoreError(RW_ERR_BAD_VALUE, 'items for Redis key "%s" must not be empty' % shown(key),
                        detail="Redis holds no empty collections.")
    if kind == RW_ITEMS_OBJECT:
        count *= 2
    p += 8
    for i in range(count):
        if p + 4 > end:
            raise CoreError(RW_ERR_INTERNAL, "an items value shorter than its count")
        n = (<const int32_t *> p)[0]
        if n < 0 or p + 4 + n > end:
            raise CoreError(RW_ERR_INTERNAL, "an items value shorter than its strings")
        out.append(p[4:4 + n])
        p += (4 + n + 3) & ~3
    if distinct and not as_read and len(set(out)) != len(out):
        raise CoreError(RW_ERR_BAD_VALUE, 'items for Redis key "%s" repeat a member' % shown(key),
                        detail="The key's members must be distinct.")
    return out


cdef int out_value(Rows rows, int col, const RwValue *v, bint items) except -1:
    """A cell of a RETURNING row: text, or items copied as they are."""
    cdef Py_ssize_t start
    if v.p == NULL:
        return 0
    if not items:
        return rows.store_text(col, v.p, v.len)
    start = (rows.arena.size + 3) & ~3
    if start + v.len > rows.arena.cap:
        rows.arena.grow(start + v.len - rows.arena.size)
    memcpy(rows.arena.data + start, v.p, v.len)
    rows.arena.size = start + v.len
    rows.cur[col].off = start
    rows.cur[col].len = v.len
    return 0


cdef inline RwValue value_at(bytes b) noexcept:
    """An RwValue over b (which must outlive it)."""
    cdef RwValue v
    v.p = NULL
    v.len = 0
    if b is not None:
        v.p = b
        v.len = len(b)
    return v
