# Growable byte buffers: one allocation amortised over many appends, so the hot
# paths copy bytes without creating any Python object.

from libc.stdlib cimport realloc, free
from libc.string cimport memcpy, memmove, memcmp, memset
from libc.stdio cimport snprintf


cdef class ByteBuf:
    cdef char *data
    cdef Py_ssize_t size
    cdef Py_ssize_t cap

    def __dealloc__(self):
        free(self.data)

    cdef int grow(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t want = self.size + extra
        cdef Py_ssize_t cap = self.cap * 2 if self.cap else 4096
        cdef char *p
        while cap < want:
            cap *= 2
        p = <char *> realloc(self.data, cap)
        if p == NULL:
            raise MemoryError()
        self.data = p
        self.cap = cap
        return 0

    cdef inline int append(self, const char *p, Py_ssize_t n) except -1:
        if self.size + n > self.cap:
            self.grow(n)
        memcpy(self.data + self.size, p, n)
        self.size += n
        return 0

    cdef void shrink(self, Py_ssize_t keep) noexcept:
        """Give memory back once a buffer grown past keep bytes holds no more
        than that again (after a big value, say)."""
        cdef char *p
        if self.cap > keep and self.size <= keep:
            p = <char *> realloc(self.data, keep)
            if p != NULL:
                self.data = p
                self.cap = keep

    cdef void drop_front(self, Py_ssize_t n) noexcept:
        """Forget the first n bytes, keeping the rest at the start."""
        if n >= self.size:
            self.size = 0
        elif n > 0:
            memmove(self.data, self.data + n, self.size - n)
            self.size -= n


cdef class SliceQueue:
    """A FIFO of byte strings (e.g. keys whose contents are in flight)."""
    cdef ByteBuf bytes
    cdef Py_ssize_t *spans      # (offset, length) pairs
    cdef Py_ssize_t head, tail, cap

    def __cinit__(self):
        self.bytes = ByteBuf()

    def __dealloc__(self):
        free(self.spans)

    cdef int push(self, const char *p, Py_ssize_t n) except -1:
        cdef Py_ssize_t *s
        if self.head == self.tail:
            self.head = self.tail = 0
            self.bytes.size = 0
        if self.tail == self.cap:
            if self.head > 0:
                self.compact()
            else:
                s = <Py_ssize_t *> realloc(self.spans, sizeof(Py_ssize_t) * 2 * (self.cap * 2 + 64))
                if s == NULL:
                    raise MemoryError()
                self.spans = s
                self.cap = self.cap * 2 + 64
        self.spans[2 * self.tail] = self.bytes.size
        self.spans[2 * self.tail + 1] = n
        self.tail += 1
        return self.bytes.append(p, n)

    cdef void compact(self) noexcept:
        cdef Py_ssize_t first = self.spans[2 * self.head], i
        self.bytes.drop_front(first)
        for i in range(self.head, self.tail):
            self.spans[2 * (i - self.head)] = self.spans[2 * i] - first
            self.spans[2 * (i - self.head) + 1] = self.spans[2 * i + 1]
        self.tail -= self.head
        self.head = 0

    cdef inline bint empty(self) noexcept:
        return self.head == self.tail

    cdef inline const char *front(self, Py_ssize_t *n) noexcept:
        n[0] = self.spans[2 * self.head + 1]
        return self.bytes.data + self.spans[2 * self.head]

    cdef inline void pop(self) noexcept:
        self.head += 1
