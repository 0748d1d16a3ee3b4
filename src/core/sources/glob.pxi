# Redis's glob patterns (KEYS, SCAN MATCH): a key named in a WHERE clause is
# taken only if the table's pattern would have found it, and text from SQL is
# escaped before it becomes part of a pattern.  Sets ([a-z], [^x]) are left
# to Redis: a table whose pattern has one gets no key lookups (glob_simple).

cdef bint glob_simple(bytes pattern):
    """Whether pattern uses only * ? and \\ escapes, which glob_match knows exactly."""
    cdef Py_ssize_t i = 0
    while i < len(pattern):
        if pattern[i] == 0x5B:          # [
            return False
        i += 2 if pattern[i] == 0x5C else 1
    return True


cdef bint glob_match(const char *p, Py_ssize_t plen, const char *s, Py_ssize_t slen) noexcept:
    """Whether s matches the simple pattern p, as Redis's stringmatchlen decides."""
    cdef Py_ssize_t i
    while plen > 0:
        if p[0] == b'*':
            while plen > 1 and p[1] == b'*':
                p += 1
                plen -= 1
            if plen == 1:
                return True
            for i in range(slen + 1):
                if glob_match(p + 1, plen - 1, s + i, slen - i):
                    return True
            return False
        if slen == 0:
            return False
        if p[0] == b'\\' and plen >= 2:
            p += 1
            plen -= 1
            if p[0] != s[0]:
                return False
        elif p[0] != b'?' and p[0] != s[0]:
            return False
        s += 1
        slen -= 1
        p += 1
        plen -= 1
    return slen == 0


cdef bint glob_matches(bytes pattern, bytes s):
    return glob_match(pattern, len(pattern), s, len(s))


cdef bytes glob_escape(bytes text):
    """A pattern matching exactly text."""
    out = bytearray()
    for c in text:
        if c in b'*?[]\\':
            out.append(0x5C)
        out.append(c)
    return bytes(out)
