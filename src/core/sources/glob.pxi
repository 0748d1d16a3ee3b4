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
    """Whether s matches the simple pattern p, as Redis's stringmatchlen decides.

    In at most plen * slen steps: after a mismatch only the latest * takes
    one more byte (trying every split at every * would be exponential in the
    number of stars, and a key is the user's to choose)."""
    cdef Py_ssize_t pi = 0, si = 0, star = -1, resume = 0, width
    cdef char want
    while si < slen:
        if pi < plen and p[pi] == b'*':
            star, resume = pi, si
            pi += 1
            continue
        if pi < plen:
            width = 2 if p[pi] == b'\\' and pi + 1 < plen else 1
            want = p[pi + width - 1]
            if (width == 1 and want == b'?') or want == s[si]:
                pi += width
                si += 1
                continue
        if star < 0:
            return False
        resume += 1                     # the latest * takes one more byte
        pi, si = star + 1, resume
    while pi < plen and p[pi] == b'*':
        pi += 1
    return pi == plen


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
