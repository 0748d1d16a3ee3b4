# Connection URLs:
#   redis://[user[:password]@]host[:port][/db]      (rediss:// for TLS)
#   unix://[user[:password]@]/path/to/socket[?db=N]
# Messages never contain the password, nor any part of the URL it might sit in.

cdef class Url:
    cdef readonly str scheme
    cdef readonly str host          # host name or address, or the socket path
    cdef readonly int port          # 0 for unix sockets
    cdef readonly int db
    cdef readonly bytes user        # None when the URL names none
    cdef readonly bytes password

    cdef str where(self):
        """Where we connect, for messages: host:port or the socket path."""
        if self.scheme == 'unix':
            return self.host
        if ':' in self.host:
            return '[%s]:%d' % (self.host, self.port)
        return '%s:%d' % (self.host, self.port)


cdef object bad_url(str why):
    return CoreError(RW_ERR_BAD_OPTION, "invalid Redis connection URL: " + why,
                     hint="Use redis://[user[:password]@]host[:port][/db], rediss://... "
                          "or unix:///path/to/socket[?db=N]; percent-encode reserved "
                          "characters in the user name and password.")


cdef bytes percent_decode(str s, str what):
    cdef bytes raw = s.encode('utf-8', 'surrogateescape')
    if b'%' not in raw:
        return raw
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x25:
            hexdigits = raw[i + 1:i + 3]
            if len(hexdigits) != 2 or not all(d in b'0123456789abcdefABCDEF' for d in hexdigits):
                raise bad_url("bad percent-encoding in the " + what)
            out.append(int(hexdigits, 16))
            i += 3
        else:
            out.append(c)
            i += 1
    return bytes(out)


cdef int parse_db(str text) except -1:
    if not text.isdigit() or not text.isascii() or len(text) > 9:
        raise bad_url("the database must be a non-negative integer")
    return int(text)


cdef Url parse_url(str url):
    cdef Url u = Url()
    scheme, sep, rest = url.partition('://')
    if not sep:
        raise bad_url("it has no scheme")
    scheme = scheme.lower()
    if scheme not in ('redis', 'rediss', 'unix'):
        # Not echoed: in a malformed URL it may be part of the password.
        raise bad_url("unsupported scheme (not redis, rediss or unix)")
    u.scheme = scheme
    # The user info ends at the last '@': host, port and db never contain one,
    # a password might.
    at = rest.rfind('@')
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1:]
        name, colon, secret = userinfo.partition(':')
        u.user = percent_decode(name, "user name") if name else None
        u.password = percent_decode(secret, "password") if colon else None
    if scheme == 'unix':
        path, _, query = rest.partition('?')
        if not path.startswith('/'):
            raise bad_url("a unix socket path must be absolute")
        u.host = path
        for item in query.split('&') if query else ():
            name, _, value = item.partition('=')
            if name != 'db':
                raise bad_url("unknown parameter \"%s\" (only db is allowed)" % name[:20])
            u.db = parse_db(value)
        return u
    hostport, slash, dbpart = rest.partition('/')
    if '?' in dbpart or '?' in hostport:
        raise bad_url("query parameters are only supported for unix:// URLs")
    if hostport.startswith('['):
        close = hostport.find(']')
        if close < 0:
            raise bad_url("unterminated [ in the IPv6 host")
        u.host = hostport[1:close]
        portpart = hostport[close + 1:]
        if portpart and not portpart.startswith(':'):
            raise bad_url("unexpected text after the IPv6 host")
        portpart = portpart[1:]
    else:
        u.host, _, portpart = hostport.partition(':')
    if not u.host:
        raise bad_url("it has no host")
    if portpart:
        # Length first: int() of thousands of digits raises instead of answering.
        if (not portpart.isdigit() or not portpart.isascii() or len(portpart) > 5
                or not 0 < int(portpart) < 65536):
            raise bad_url("the port must be a number from 1 to 65535")
        u.port = int(portpart)
    else:
        u.port = 6379
    u.db = parse_db(dbpart) if dbpart else 0
    return u
