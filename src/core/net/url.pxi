# Connection URLs:
#   redis://[user[:password]@]host[:port][,host[:port]...][/db]   (rediss:// for TLS)
#   redis+sentinel://[user[:password]@]host[:port][,...]/master-name[/db]
#                                                    (rediss+sentinel:// for TLS)
#   unix://[user[:password]@]/path/to/socket[?db=N]
# Several hosts are seeds: nodes of one cluster, or the sentinels of one
# primary.  Messages never contain the password, nor any part of the URL it
# might sit in.

cdef class Url:
    cdef readonly str scheme        # how to connect: redis, rediss or unix
    cdef readonly str host          # host name or address, or the socket path
    cdef readonly int port          # 0 for unix sockets
    cdef readonly tuple hosts       # every (host, port) the URL names, host/port first
    cdef readonly str master        # redis+sentinel: the primary's name, else None
    cdef readonly int db
    cdef readonly bytes user        # None when the URL names none
    cdef readonly bytes password

    cdef Url at(self, str host, int port):
        """The same URL (scheme, db, credentials) for another node."""
        cdef Url u = Url()
        u.scheme, u.db, u.user, u.password = self.scheme, self.db, self.user, self.password
        u.host, u.port, u.hosts, u.master = host, port, ((host, port),), None
        return u

    cdef str where(self):
        """Where we connect, for messages: host:port or the socket path."""
        if self.scheme == 'unix':
            return self.host
        if ':' in self.host:
            return '[%s]:%d' % (self.host, self.port)
        return '%s:%d' % (self.host, self.port)


cdef object bad_url(str why):
    return CoreError(RW_ERR_BAD_OPTION, "invalid Redis connection URL: " + why,
                     hint="Use redis://[user[:password]@]host[:port][,host[:port]...][/db], "
                          "rediss://..., redis+sentinel://host[:port][,...]/master-name[/db] "
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


cdef tuple parse_host(str hostport, int default_port):
    """(host, port) of one host[:port] or [v6-address][:port]."""
    if hostport.startswith('['):
        close = hostport.find(']')
        if close < 0:
            raise bad_url("unterminated [ in the IPv6 host")
        host = hostport[1:close]
        portpart = hostport[close + 1:]
        if portpart and not portpart.startswith(':'):
            raise bad_url("unexpected text after the IPv6 host")
        portpart = portpart[1:]
    else:
        host, _, portpart = hostport.partition(':')
    if not host:
        raise bad_url("it has no host")
    if not portpart:
        return host, default_port
    # Length first: int() of thousands of digits raises instead of answering.
    if (not portpart.isdigit() or not portpart.isascii() or len(portpart) > 5
            or not 0 < int(portpart) < 65536):
        raise bad_url("the port must be a number from 1 to 65535")
    return host, int(portpart)


cdef Url parse_url(str url):
    cdef Url u = Url()
    scheme, sep, rest = url.partition('://')
    if not sep:
        raise bad_url("it has no scheme")
    scheme = scheme.lower()
    if scheme not in ('redis', 'rediss', 'unix', 'redis+sentinel', 'rediss+sentinel'):
        # Not echoed: in a malformed URL it may be part of the password.
        raise bad_url("unsupported scheme (not redis, rediss, redis+sentinel, "
                      "rediss+sentinel or unix)")
    u.scheme, _, sentinel = scheme.partition('+')
    # The user info ends at the last '@': hosts, ports, names and db never
    # contain one, a password might.
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
        u.hosts = ((path, 0),)
        for item in query.split('&') if query else ():
            name, _, value = item.partition('=')
            if name != 'db':
                raise bad_url("unknown parameter \"%s\" (only db is allowed)" % name[:20])
            u.db = parse_db(value)
        return u
    if '?' in rest:
        raise bad_url("query parameters are only supported for unix:// URLs")
    hostlist, slash, path = rest.partition('/')
    u.hosts = tuple([parse_host(h, 26379 if sentinel else 6379) for h in hostlist.split(',')])
    u.host, u.port = u.hosts[0]
    if sentinel:
        u.master, _, path = path.partition('/')
        if not u.master:
            raise bad_url("a redis+sentinel URL needs the primary's name after the hosts")
        u.master = percent_decode(u.master, "primary's name").decode('utf-8', 'surrogateescape')
    u.db = parse_db(path) if path else 0
    return u
