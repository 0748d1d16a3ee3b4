# Redis Sentinel: a redis+sentinel:// URL names the sentinels of a primary
# rather than a server.  A connection's Locator asks them in turn (SENTINEL
# GET-MASTER-ADDR-BY-NAME) where the primary is, and the session then checks
# with ROLE that the server named is a primary (session.pxi).  Each backend
# remembers the address found; when dialling it fails (a failover: the old
# primary is gone, or is a replica now) the sentinels are asked again,
# starting after the one that named it, so that a sentinel that lags or lies
# is not asked first again.

cdef dict g_primaries = {}      # SentinelSet.name -> Primary


cdef class Primary:
    """Where the sentinels last said a primary is, in this backend."""
    cdef Url url                    # None: ask them
    cdef int named_by               # the sentinel that said so
    cdef int first                  # the sentinel to ask first


cdef int check_sentinel_identity(bytes user, bytes password, bint password_required) except -1:
    """As check_identity, for the sentinels' credentials."""
    if user is not None and password is None:
        raise CoreError(RW_ERR_BAD_OPTION, "sentinel_user \"%s\" is given without sentinel_password" % shown(user),
                        hint="Sentinels authenticate a user name only together with its password.")
    if password_required and password is None:
        raise CoreError(RW_ERR_PRIVILEGE, "a sentinel password is required",
                        detail="Non-superusers must send a password to the sentinels too, from "
                               "sentinel_password in their user mapping.",
                        hint="Add sentinel_password to the user mapping; a superuser may instead set "
                             "password_required 'false' on it.")
    return 0


cdef class SentinelSet:
    """The sentinels of one primary, and how to talk to them (from an Endpoint)."""
    cdef Url url                    # the redis+sentinel URL: its hosts, the primary's name
    cdef TlsOptions tls
    cdef bytes user, password       # the sentinels' (the URL's are the primary's)
    cdef int connect_timeout_ms, command_timeout_ms
    cdef bint must_prove            # password_required
    cdef tuple name                 # what the backend remembers the primary by

    cdef Primary primary(self):
        cdef Primary p = g_primaries.get(self.name)
        if p is None:
            p = g_primaries[self.name] = Primary()
        return p

    cdef Connection dial(self, int i, long long deadline):
        """A connection to sentinel i, dialled once by deadline."""
        cdef Connection c = Connection()
        host, port = self.url.hosts[i]
        cdef Url u = self.url.at(host, port)
        u.db, u.user, u.password = 0, None, None
        # Its share of the time left, in its messages too.
        c.configure(u, self.tls, self.user, self.password,
                    <int> (deadline - now_ms()) if deadline else 0, self.command_timeout_ms, self.must_prove)
        c.once = True
        c.dialling = True
        c.deadline = deadline
        return c


cdef class MasterAddr(Sink):
    """A sentinel's reply to SENTINEL GET-MASTER-ADDR-BY-NAME."""
    cdef str server, master
    cdef list got                   # host and port
    cdef bint unknown               # nil: no primary of that name

    def __cinit__(self, str server, str master):
        self.server, self.master = server, master
        self.got = []

    cdef const RwShape *shape(self, int tag) noexcept:
        return &rw_addr

    cdef str what(self, int tag):
        return 'SENTINEL GET-MASTER-ADDR-BY-NAME "%s"' % self.master

    cdef str where(self):
        return self.server

    cdef int on_string(self, int tag, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        if kind == REDIS_REPLY_ERROR:
            msg = p[:n].decode('utf-8', 'replace')
            raise CoreError(error_kind(msg), "sentinel at %s refused %s: %s" % (self.server, self.what(tag), msg))
        self.got.append(p[:n])
        return 0

    cdef int on_nil(self, int tag, int depth) except -1:
        self.unknown = True
        return 0

    cdef Url primary(self, Url url):
        """The URL of the primary it named (url's, for another host)."""
        if self.unknown:
            raise CoreError(RW_ERR_CONNECT, 'sentinel at %s does not know a primary named "%s"'
                            % (self.server, self.master))
        host, port = self.got
        if not (host and host.isascii() and port.isdigit() and len(port) <= 5 and 0 < int(port) < 65536):
            raise CoreError(RW_ERR_PROTOCOL, 'sentinel at %s named an invalid address for "%s": %s port %s'
                            % (self.server, self.master, shown(host), shown(port)))
        return url.at(host.decode('ascii'), int(port))


cdef class SentinelSearch(Locator):
    """One connection's search for its primary, resumable after Interrupted."""
    cdef SentinelSet set
    cdef int tried                  # sentinels asked so far in this search
    cdef int first
    cdef list failures              # why each of them did not tell, or None: no search under way
    cdef Connection conn            # to the sentinel being asked
    cdef MasterAddr reply

    def __cinit__(self, SentinelSet s):
        self.set = s

    cdef Url find(self, long long deadline):
        cdef Primary p = self.set.primary()
        cdef int n = len(self.set.url.hosts), i
        cdef Url found
        if p.url is not None:
            self.drop()
            self.failures = None
            return p.url
        if self.failures is None:
            self.failures = []
            self.tried = 0
            self.first = p.first
        while self.tried < n:
            i = (self.first + self.tried) % n
            try:
                found = self.ask(i, deadline)
            except CoreError as e:
                self.drop()
                if e.kind == RW_ERR_PRIVILEGE:      # a rule, not a sentinel's failure
                    self.failures = None
                    raise
                self.failures.append(e)
                self.tried += 1
                continue
            self.drop()
            self.failures = None
            p.url, p.named_by = found, i
            return found
        failures, self.failures = self.failures, None
        raise self.not_found(failures)

    cdef Url ask(self, int i, long long deadline):
        cdef CommandWriter w
        cdef int left
        if self.conn is None:
            left = len(self.set.url.hosts) - self.tried
            # Each sentinel gets its share of the time left: one that never answers
            # leaves time for the others.
            self.conn = self.set.dial(i, now_ms() + (deadline - now_ms()) // left if deadline else 0)
            self.reply = MasterAddr(self.conn.where(), self.set.url.master)
        if self.conn.state != CS_READY:
            self.conn.ready()
            self.conn.reader.sink = self.reply
            w = self.conn.command(T_SENTINEL)
            w.arg(b"SENTINEL")
            w.arg(b"GET-MASTER-ADDR-BY-NAME")
            w.arg(self.set.url.master.encode('utf-8', 'surrogateescape'))
            w.end()
        while not self.conn.idle():
            self.conn.receive(self.conn.deadline)
        return self.reply.primary(self.set.url)

    cdef void drop(self) noexcept:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    cdef object not_found(self, list failures):
        cdef bint auth = all(e.kind == RW_ERR_AUTH for e in failures)
        return CoreError(RW_ERR_AUTH if auth else RW_ERR_CONNECT,
                         'could not find the primary "%s" through the sentinels: %s'
                         % (self.set.url.master, "; ".join([e.message for e in failures])),
                         hint="Check sentinel_user and sentinel_password in the user mapping." if auth else
                              "Check that the sentinels run and watch a primary of that name.",
                         final=auth)

    cdef void failed(self, Url url) noexcept:
        cdef Primary p = self.set.primary()
        if p.url is not None and url is not None and (p.url.host, p.url.port) == (url.host, url.port):
            p.url = None
            p.first = p.named_by + 1


cdef SentinelSet sentinel_set(Url url, TlsOptions tls, const RwScanSpec *spec):
    """The sentinels a redis+sentinel URL names, as the spec says to talk to them."""
    cdef SentinelSet s = SentinelSet()
    s.url, s.tls = url, tls
    s.user = spec.sentinel_user if spec.sentinel_user != NULL else None
    s.password = spec.sentinel_password if spec.sentinel_password != NULL else None
    s.must_prove = spec.password_required != 0
    check_sentinel_identity(s.user, s.password, s.must_prove)
    s.connect_timeout_ms, s.command_timeout_ms = spec.connect_timeout_ms, spec.command_timeout_ms
    s.name = (url.scheme, url.hosts, url.master)
    return s


cdef int aim_at_primary(Connection c, SentinelSet s) except -1:
    """Have a new connection find its server through the sentinels, and check it."""
    if c.locator is None:
        c.locator = SentinelSearch(s)
        c.session.primary = s.url.master
    return 0
