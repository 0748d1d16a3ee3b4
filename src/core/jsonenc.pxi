# JSON text for jsonb cells, written straight into a ByteBuf.  Bytes >= 0x80 are
# copied as they are: fdw.c checks the whole cell against the database encoding.

cdef const char *HEX = b"0123456789abcdef"


cdef int json_string(ByteBuf b, const char *p, Py_ssize_t n) except -1:
    cdef Py_ssize_t i = 0, run = 0
    cdef unsigned char c
    cdef char esc[6]
    b.put(b'"')
    while i < n:
        c = <unsigned char> p[i]
        if c >= 0x20 and c != 0x22 and c != 0x5c:
            i += 1
            continue
        if i > run:
            b.append(p + run, i - run)
        if c == 0x22:
            b.append(b'\\"', 2)
        elif c == 0x5c:
            b.append(b'\\\\', 2)
        elif c == 0x0a:
            b.append(b'\\n', 2)
        elif c == 0x0d:
            b.append(b'\\r', 2)
        elif c == 0x09:
            b.append(b'\\t', 2)
        elif c == 0x08:
            b.append(b'\\b', 2)
        elif c == 0x0c:
            b.append(b'\\f', 2)
        else:
            # NUL becomes \u0000 too; jsonb then rejects it with its own clear error.
            esc[0] = b'\\'; esc[1] = b'u'; esc[2] = b'0'; esc[3] = b'0'
            esc[4] = HEX[c >> 4]; esc[5] = HEX[c & 15]
            b.append(esc, 6)
        i += 1
        run = i
    if n > run:
        b.append(p + run, n - run)
    b.put(b'"')
    return 0
