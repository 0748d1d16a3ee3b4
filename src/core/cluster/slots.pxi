# Redis Cluster's key slots: CRC16 (XMODEM) of the key, or of its hash tag
# (the text between the first '{' and the first '}' after it, if not empty),
# modulo 16384.  Typed C: writes route every key through it.

from libc.stdint cimport uint16_t

cdef enum:
    N_SLOTS = 16384

cdef uint16_t crc16_table[256]


cdef void init_crc16_table() noexcept:
    cdef int i, j
    cdef uint16_t c
    for i in range(256):
        c = <uint16_t> (i << 8)
        for j in range(8):
            c = <uint16_t> ((c << 1) ^ 0x1021) if c & 0x8000 else <uint16_t> (c << 1)
        crc16_table[i] = c

init_crc16_table()


cdef inline uint16_t crc16(const char *p, Py_ssize_t n) noexcept:
    cdef uint16_t crc = 0
    cdef Py_ssize_t i
    for i in range(n):
        crc = <uint16_t> ((crc << 8) ^ crc16_table[((crc >> 8) ^ <unsigned char> p[i]) & 0xff])
    return crc


cdef Py_ssize_t hash_tag(const char *p, Py_ssize_t n, Py_ssize_t *start) noexcept:
    """The length of p's hash tag, which begins at start[0]; 0 if it has none."""
    cdef Py_ssize_t i, open_at = -1
    for i in range(n):
        if p[i] == b'{':
            open_at = i
            break
    if open_at < 0:
        return 0
    for i in range(open_at + 1, n):
        if p[i] == b'}':
            start[0] = open_at + 1
            return i - open_at - 1
    return 0


cdef int key_slot(const char *p, Py_ssize_t n) noexcept:
    cdef Py_ssize_t start = 0
    cdef Py_ssize_t tag = hash_tag(p, n, &start)
    if tag > 0:
        return crc16(p + start, tag) & (N_SLOTS - 1)
    return crc16(p, n) & (N_SLOTS - 1)


cdef inline int slot_of(bytes key) noexcept:
    return key_slot(key, len(key))


cdef int pattern_slot(bytes pattern) noexcept:
    """The one slot every key matching a glob pattern is in, or -1: when the
    pattern pins a hash tag ("{user42}:*"), with no glob character up to
    the tag's end (a key matching it starts with that literal text)."""
    cdef const char *p = pattern
    cdef Py_ssize_t start = 0, i
    cdef Py_ssize_t tag = hash_tag(p, len(pattern), &start)
    if tag <= 0:
        return -1
    for i in range(start + tag + 1):
        if p[i] == b'*' or p[i] == b'?' or p[i] == b'[' or p[i] == b'\\':
            return -1
    return key_slot(p, start + tag + 1)
