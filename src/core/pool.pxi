# The per-backend connection pool.  The C side names each connection by a key
# (a server and the user mapping used, or the role where there is none) and
# invalidates keys when their server or user mapping
# changes; the pool holds connections by (key, node), the node being the
# server one connection goes to (None: the one the URL names), so a scan may
# hold several nodes' connections.  A connection is also matched on
# everything it was dialled with, so a changed URL or password never reuses
# an old one.  Only idle connections are pooled: a scan owns its connections
# until it ends, and one invalidated meanwhile is closed when the scan lets go
# of it.

cdef dict g_idle = {}           # (key, node) -> idle Connection
cdef dict g_generation = {}     # key -> bumped by each invalidation of that key


cdef Connection pool_acquire(object key, object node, tuple identity, Url url, TlsOptions tls):
    """A pooled connection for (key, node) dialled with identity, or a new one
    (not dialled yet)."""
    cdef tuple at = (key, node)
    cdef Connection c = g_idle.pop(at, None)
    if c is not None:
        if c.identity == identity and c.alive():
            c.reused = True
            return c
        c.close()
    c = Connection()
    c.key = at
    c.generation = g_generation.get(key, 0)
    c.identity = identity
    c.transport.url = c.session.url = url
    c.transport.tls = tls
    c.session.user, c.session.password, c.transport.connect_timeout_ms, c.command_timeout_ms = identity[1:5]
    c.session.must_prove = identity[6]
    return c


cdef void pool_release(Connection c) noexcept:
    """Pool a connection that is ready, idle and current; close any other."""
    try:
        if (c.state == CS_READY and c.idle() and not c.reader.pending()
                and c.generation == g_generation.get(c.key[0], 0) and c.key not in g_idle):
            c.settle()
            g_idle[c.key] = c
            return
    except BaseException:
        pass
    c.close()


cdef void pool_invalidate(object key) noexcept:
    """Forget the connections of key, to every node."""
    cdef Connection c
    try:
        g_generation[key] = g_generation.get(key, 0) + 1
        for at in [at for at in g_idle if at[0] == key]:
            c = g_idle.pop(at)
            c.close()
    except BaseException:
        pass


cdef Connection pool_any(object key):
    """One of key's idle connections, or None."""
    for (k, node), c in g_idle.items():
        if k == key:
            return c
    return None
