# The rows of one batch, as cells (offset, length) into one arena that is reused
# batch after batch.  A row still being built when a batch is handed out (its
# reply only partly received) is moved to the front of the arena for the next.

cdef class Rows:
    cdef ByteBuf arena
    cdef RwCell *cells
    cdef Py_ssize_t nrows, cap
    cdef RwCell cur[RW_CELLS_PER_ROW]
    cdef Py_ssize_t committed       # arena bytes that belong to finished rows
    cdef bint want[RW_MAX_COLUMNS]
    cdef int json_col               # the cell a JSON value is being written to
    cdef bint json_first

    def __cinit__(self):
        self.arena = ByteBuf()

    def __dealloc__(self):
        free(self.cells)

    cdef void begin(self) noexcept:
        cdef int i
        for i in range(RW_CELLS_PER_ROW):
            self.cur[i].off = -1
            self.cur[i].len = -1

    cdef int store(self, int cell, const char *p, Py_ssize_t n) except -1:
        self.cur[cell].off = self.arena.size
        self.arena.append(p, n)
        self.arena.put(0)
        self.cur[cell].len = n
        return 0

    cdef inline int text(self, int col, const char *p, Py_ssize_t n) except -1:
        if self.want[col]:
            self.store(col, p, n)
        return 0

    cdef int key(self, const char *p, Py_ssize_t n) except -1:
        """The row's Redis key: for messages, and as column 0 where that is the key."""
        self.store(RW_KEY_CELL, p, n)
        return 0

    cdef inline void key_is_column(self) noexcept:
        if self.want[0]:
            self.cur[0] = self.cur[RW_KEY_CELL]

    # JSON values: an array of strings or an object of string pairs.
    cdef int json_open(self, int col, char opener) except -1:
        self.json_col = col
        self.json_first = True
        if self.want[col]:
            self.cur[col].off = self.arena.size
            self.arena.put(opener)
        return 0

    cdef inline int json_item(self, const char *p, Py_ssize_t n) except -1:
        if self.want[self.json_col]:
            if not self.json_first:
                self.arena.put(b',')
            self.json_first = False
            json_string(self.arena, p, n)
        return 0

    cdef inline int json_key(self, const char *p, Py_ssize_t n) except -1:
        if self.want[self.json_col]:
            self.json_item(p, n)
            self.arena.put(b':')
        return 0

    cdef inline int json_value(self, const char *p, Py_ssize_t n) except -1:
        if self.want[self.json_col]:
            json_string(self.arena, p, n)
        return 0

    cdef int json_close(self, char closer) except -1:
        cdef int col = self.json_col
        if self.want[col]:
            self.arena.put(closer)
            self.arena.put(0)
            self.cur[col].len = self.arena.size - 1 - self.cur[col].off
        return 0

    cdef int commit(self) except -1:
        cdef RwCell *c
        if self.nrows == self.cap:
            c = <RwCell *> realloc(self.cells, sizeof(RwCell) * RW_CELLS_PER_ROW * (self.cap * 2 + 256))
            if c == NULL:
                raise MemoryError()
            self.cells = c
            self.cap = self.cap * 2 + 256
        memcpy(self.cells + self.nrows * RW_CELLS_PER_ROW, self.cur, sizeof(self.cur))
        self.nrows += 1
        self.committed = self.arena.size
        return 0

    cdef void next_batch(self) noexcept:
        """Drop the handed-out rows, keeping the part of a row still being built."""
        cdef int i
        cdef Py_ssize_t shift = self.committed
        self.arena.drop_front(shift)
        for i in range(RW_CELLS_PER_ROW):
            if self.cur[i].off >= shift:
                self.cur[i].off -= shift
        self.committed = 0
        self.nrows = 0

    cdef void clear(self) noexcept:
        self.arena.size = 0
        self.committed = 0
        self.nrows = 0
        self.begin()
