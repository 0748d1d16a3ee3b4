# The rows of one batch, as cells (offset, length) into one arena that is reused
# batch after batch.  A row still being built when a batch is handed out (its
# reply only partly received) is moved to the front of the arena for the next.
# Text cells start 4-aligned after 4 spare bytes, where cells.c writes a varlena
# header: the Datum is the cell itself, with no copy.  No row may hold more
# than max_value_size bytes of strings (at most a Datum's size).

cdef enum:
    ARENA_KEEP = 1024 * 1024    # more than a batch needs unless a value is big

cdef class Rows:
    cdef ByteBuf arena
    cdef RwCell *cells
    cdef Py_ssize_t nrows, cap
    cdef RwCell *cur                # the row being built: cells[nrows]
    cdef bint building
    cdef Py_ssize_t committed       # arena bytes that belong to finished rows
    cdef bint want[RW_MAX_COLUMNS]
    cdef int items_col              # the cell an items list is being written to
    cdef long long max_value_size   # the most bytes of strings in a row (set per scan)
    cdef long long row_size         # the bytes of strings in the row being built
    cdef bytes src_key              # the table's key, for messages about rows without their own
    cdef long long total            # rows committed since the scan (re)started
    cdef long long counted          # rows a count plan counted without building them
    cdef int width                  # cells per row: RW_CELLS_PER_ROW + the table's fields

    def __cinit__(self):
        self.arena = ByteBuf()
        self.max_value_size = RW_DEFAULT_MAX_VALUE_SIZE
        self.width = RW_CELLS_PER_ROW

    def __dealloc__(self):
        free(self.cells)

    cdef int begin(self) except -1:
        cdef int i
        cdef RwCell *c
        if self.nrows == self.cap:
            c = <RwCell *> realloc(self.cells, sizeof(RwCell) * self.width * (self.cap * 2 + 256))
            if c == NULL:
                raise MemoryError()
            self.cells = c
            self.cap = self.cap * 2 + 256
        self.cur = self.cells + self.nrows * self.width
        for i in range(self.width):
            self.cur[i].off = -1
            self.cur[i].len = -1
        self.building = True
        self.row_size = 0
        return 0

    cdef inline int charge(self, Py_ssize_t n) except -1:
        """Count n more bytes into the row, which must stay within max_value_size."""
        self.row_size += n
        if self.row_size > self.max_value_size:
            raise self.too_large()
        return 0

    cdef object too_large(self):
        cdef RwCell *k = &self.cur[RW_KEY_CELL]
        key = self.arena.data[k.off:k.off + k.len] if k.off >= 0 else self.src_key
        return CoreError(RW_ERR_TOO_LARGE, 'a row of Redis key "%s" is too large: over max_value_size (%d bytes)'
                         % (shown(key), self.max_value_size), hint=TOO_LARGE_HINT)

    cdef inline char *reserve_text(self, int cell, Py_ssize_t n) except NULL:
        """Room for a text cell of n bytes (NUL-terminated), the cell set to it."""
        cdef Py_ssize_t start = ((self.arena.size + 3) & ~3) + RW_TEXT_HEADER
        if start + n + 1 > self.arena.cap:
            self.arena.grow(start + n + 1 - self.arena.size)
        self.arena.data[start + n] = 0
        self.arena.size = start + n + 1
        self.cur[cell].off = start
        self.cur[cell].len = n
        self.charge(n)
        return self.arena.data + start

    cdef inline int store_text(self, int cell, const char *p, Py_ssize_t n) except -1:
        memcpy(self.reserve_text(cell, n), p, n)
        return 0

    cdef int copy_text(self, int cell, Py_ssize_t off, Py_ssize_t n) except -1:
        """A text cell of the n bytes at off in the arena (a string of the row's items)."""
        cdef char *to = self.reserve_text(cell, n)     # may move the arena: off first
        memcpy(to, self.arena.data + off, n)
        return 0

    cdef inline int text(self, int col, const char *p, Py_ssize_t n) except -1:
        if self.want[col]:
            self.store_text(col, p, n)
        return 0

    cdef inline int number(self, int col, long long v) except -1:
        """A whole number as a text cell, in decimal (an int8 cell)."""
        cdef char tmp[24]
        if self.want[col]:
            self.store_text(col, tmp, snprintf(tmp, sizeof(tmp), "%lld", v))
        return 0

    cdef int key(self, const char *p, Py_ssize_t n) except -1:
        """The row's Redis key, for messages; also column 0 (a text cell) where asked."""
        self.store_text(RW_KEY_CELL, p, n)
        if self.want[0]:
            self.cur[0] = self.cur[RW_KEY_CELL]
        return 0

    # items cells (jsonb): a list of strings, read by cells.c as a JSON array
    # or, in pairs, as an object (the layout is in core_api.h).
    cdef int items_open(self, int col, int kind) except -1:
        cdef Py_ssize_t start
        cdef int32_t *head
        self.items_col = col
        if self.want[col]:
            start = (self.arena.size + 3) & ~3
            if start + 8 > self.arena.cap:
                self.arena.grow(start + 8 - self.arena.size)
            head = <int32_t *> (self.arena.data + start)
            head[0] = kind
            head[1] = 0
            self.arena.size = start + 8
            self.cur[col].off = start
        return 0

    cdef inline int item(self, const char *p, Py_ssize_t n) except -1:
        cdef int col = self.items_col
        cdef Py_ssize_t start
        if self.want[col]:
            self.charge(n)              # and so n fits the int32 below
            start = self.arena.size
            if start + 4 + n + 3 > self.arena.cap:
                self.arena.grow(4 + n + 3)
            (<int32_t *> (self.arena.data + start))[0] = <int32_t> n
            memcpy(self.arena.data + start + 4, p, n)
            self.arena.size = (start + 4 + n + 3) & ~3
            (<int32_t *> (self.arena.data + self.cur[col].off))[1] += 1
        return 0

    cdef int items_close(self) except -1:
        cdef int col = self.items_col
        if self.want[col]:
            self.cur[col].len = self.arena.size - self.cur[col].off
        return 0

    cdef void discard(self) noexcept:
        """Drop the row being built (its key turned out gone)."""
        self.arena.size = self.committed
        self.building = False

    cdef inline int commit(self) except -1:
        self.nrows += 1
        self.total += 1
        self.committed = self.arena.size
        self.building = False
        return 0

    cdef void next_batch(self) noexcept:
        """Drop the handed-out rows, keeping the part of a row still being built."""
        cdef int i
        # Keep the arena's 4-alignment, which text cells rely on.
        cdef Py_ssize_t shift = self.committed & ~3
        self.arena.drop_front(shift)
        if self.building:
            memmove(self.cells, self.cur, sizeof(RwCell) * self.width)
            self.cur = self.cells
            for i in range(self.width):
                if self.cur[i].off >= shift:
                    self.cur[i].off -= shift
        self.committed -= shift
        self.nrows = 0
        self.arena.shrink(ARENA_KEEP)

    cdef void clear(self) noexcept:
        self.arena.size = 0
        self.committed = 0
        self.nrows = 0
        self.total = 0
        self.counted = 0
        self.building = False
        self.arena.shrink(ARENA_KEEP)
