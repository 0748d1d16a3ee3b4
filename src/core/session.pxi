# A connection's session: who it authenticates as and which database it
# uses, and for a server the sentinels named, that it is a primary.  The
# handshake is queued as the connection's first commands, and its replies go
# to the Session as their sink: AUTH, SELECT, READONLY on a cluster replica's
# connection that reads, INFO cluster while it is not known whether the
# server is a cluster's, and ROLE for a primary the sentinels named.

from posix import urandom     # os's own; importing os costs every start of the core

cdef int check_identity(Url url, bytes user, bytes password, bint password_required) except -1:
    """Refuse to connect as someone the options did not name, or, for a role that
    must authenticate (password_required, from the C side), without a password or
    through a unix socket (which reaches servers only the database's OS user can)."""
    if user is not None and password is None:
        raise CoreError(RW_ERR_BAD_OPTION, "Redis user \"%s\" is given without a password" % shown(user),
                        hint="Redis authenticates a user name only together with its password; "
                             "without one the connection would run as Redis's default user.")
    if not password_required:
        return 0
    if url.scheme == 'unix':
        raise CoreError(RW_ERR_PRIVILEGE, "only superusers may connect to Redis through a unix socket",
                        hint="A superuser may allow it for a user mapping with password_required 'false'.")
    if password is None:
        raise CoreError(RW_ERR_PRIVILEGE, "password is required",
                        detail="Non-superusers must send a password to Redis, from their user mapping or the connection URL.",
                        hint="Add a password to the user mapping; a superuser may instead set password_required 'false' on it.")
    return 0


cdef class Session(Sink):
    cdef Url url
    cdef bytes user, password       # None when not set
    cdef bint must_prove            # password_required: the password must matter
    cdef bint proven                # it does: the probe was refused
    cdef bint readonly              # a cluster replica read from: READONLY
    cdef bint ask_cluster           # the cluster option is unset: INFO cluster in the handshake,
    cdef bint cluster               # and it said cluster_enabled:1
    cdef str primary                # the sentinels named this server as this primary, or None
    cdef bytes role                 # what ROLE answered first, or None
    cdef bint role_refused          # ROLE was refused (NOPERM): the sentinels are taken at their word

    cdef bint probing(self) noexcept:
        """The connection is the probe's: the real one is dialled next."""
        return self.must_prove and not self.proven

    cdef int queue(self, Target target) except -1:
        """Queue AUTH [user] password when a password is set, and SELECT db.

        Sending a password is not yet being checked by one: Redis accepts any
        password for a user with nopass (the default user of a Redis without
        requirepass).  Where the password must matter (postgres_fdw checks
        PQconnectionUsedPassword), AUTH with a random wrong password goes
        first, alone on a connection of its own, and must be refused.  (Not on
        the real connection: Redis 8 and Valkey 8 never answer a second failed
        AUTH on a connection, so a wrong real password would hang there.)"""
        cdef CommandWriter w
        if self.probing():
            w = target.command(T_AUTH_PROBE)
            w.arg(b"AUTH")
            w.arg(self.user if self.user is not None else b"default")
            w.arg(urandom(16).hex().encode())
            return w.end()
        if self.password is not None:
            w = target.command(T_AUTH)
            w.arg(b"AUTH")
            if self.user is not None:
                w.arg(self.user)
            w.arg(self.password)
            w.end()
        if self.url.db:
            w = target.command(T_SELECT)
            w.arg(b"SELECT")
            w.arg_int(self.url.db)
            w.end()
        if self.readonly:
            w = target.command(T_READONLY)
            w.arg(b"READONLY")
            w.end()
        if self.ask_cluster:
            # Pipelined here, detecting a cluster costs no round trip of its own.
            w = target.command(T_CLUSTER)
            w.arg(b"INFO")
            w.arg(b"cluster")
            w.end()
        if self.primary is not None:
            # A sentinel may lag behind a failover, or lie: believe the server.
            self.role = None
            self.role_refused = False
            w = target.command(T_ROLE)
            w.arg(b"ROLE")
            w.end()
        return 0

    cdef const RwShape *shape(self, int tag) noexcept:
        if tag == T_CLUSTER:
            return &rw_anything
        return &rw_role if tag == T_ROLE else &rw_status

    # The handshake's replies: a status each (INFO's text, ROLE's array), or an error.
    cdef str what(self, int tag):
        return {T_AUTH: "AUTH", T_AUTH_PROBE: "AUTH", T_READONLY: "READONLY", T_CLUSTER: "INFO cluster",
                T_ROLE: "ROLE"}.get(tag, "SELECT")

    cdef str where(self):
        return self.url.where()

    cdef int on_string(self, int tag, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        if tag == T_AUTH_PROBE:
            if kind == REDIS_REPLY_ERROR:
                self.proven = True      # refused, as it must be
                return 0
            who = ('user "%s"' % shown(self.user)) if self.user is not None else 'the default user'
            raise CoreError(RW_ERR_PRIVILEGE, "password is required",
                            detail="Redis at %s accepts any password for %s (nopass), so no password is checked."
                                   % (self.url.where(), who),
                            hint="Give the Redis user a password; a superuser may instead set "
                                 "password_required 'false' on the user mapping.")
        if tag == T_CLUSTER:
            # An error (a user ACLs keep from INFO): a single server, until a MOVED says otherwise.
            self.cluster = kind != REDIS_REPLY_ERROR and b"cluster_enabled:1" in p[:n]
            return 0
        if tag == T_ROLE:
            return self.on_role(depth, kind, p, n)
        if kind != REDIS_REPLY_ERROR:
            return 0
        msg = p[:n].decode('utf-8', 'replace')
        if tag == T_AUTH:
            who = ('user "%s"' % shown(self.user)) if self.user is not None else 'the default user'
            raise CoreError(RW_ERR_AUTH, "Redis at %s refused authentication for %s: %s"
                            % (self.url.where(), who, msg),
                            hint="Check the password in the connection URL or user mapping.")
        if tag == T_READONLY:
            raise CoreError(RW_ERR_REDIS, "Redis at %s refused READONLY (read_from 'replica'): %s"
                            % (self.url.where(), msg))
        raise CoreError(RW_ERR_REDIS, "Redis at %s refused to select database %d: %s"
                        % (self.url.where(), self.url.db, msg))

    # ROLE's reply: its first item says what the server is.
    cdef int on_role(self, int depth, int kind, const char *p, Py_ssize_t n) except -1:
        if kind == REDIS_REPLY_ERROR:
            msg = p[:n].decode('utf-8', 'replace')
            if not msg.startswith('NOPERM'):
                raise CoreError(RW_ERR_CONNECT, "Redis at %s refused ROLE: %s" % (self.url.where(), msg))
            self.role_refused = True    # a user without @admin: cannot check
        elif depth == 1 and self.role is None:
            self.role = p[:n]
        return 0

    cdef int on_int(self, int tag, int depth, long long v) except -1:
        if tag == T_ROLE and depth == 1 and self.role is None:
            self.role = b"%d" % v
        return 0

    cdef int on_reply_end(self, int tag) except -1:
        if tag == T_ROLE and not self.role_refused and self.role != b"master":
            raise CoreError(RW_ERR_CONNECT, 'Redis at %s, named by the sentinels as primary "%s", is not a '
                            'primary (ROLE: %s)' % (self.url.where(), self.primary,
                                                    shown(self.role or b"nothing")))
        return 0
