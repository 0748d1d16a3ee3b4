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
cdef dict g_topology = {}       # Endpoint.name -> its cluster's Topology, or None: a single server


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
    c.configure(url, tls, identity[1], identity[2], identity[3], identity[4], identity[6])
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
        for name in [name for name in g_topology if name[0] == key]:
            del g_topology[name]
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


cdef class Endpoint:
    """Where a scan's reads or a modify's writes go, from the options the C
    side gave: a connection as the pool knows it (checked: who may connect so)."""
    cdef Url url
    cdef TlsOptions tls
    cdef tuple identity
    cdef uint64_t conn_key
    cdef long long max_value_size
    cdef tuple name                 # the pending writes' key: (conn_key, identity)
    cdef SentinelSet sentinels      # redis+sentinel: who finds the primary, else None

    cdef int cluster_mode           # RW_CLUSTER_*: the server option cluster, or its URL's seeds
    cdef bint read_replicas         # a cluster's reads go to replicas

    cdef int from_spec(self, const RwScanSpec *spec) except -1:
        url = spec.url.decode('utf-8', 'surrogateescape')
        self.url = parse_url(url)
        self.cluster_mode = spec.cluster
        if self.url.master is not None:
            # Sentinel watches a primary and its replicas, never a cluster.
            if spec.cluster == RW_CLUSTER_ON:
                raise CoreError(RW_ERR_BAD_OPTION, "a redis+sentinel URL names a primary, not a Redis Cluster, "
                                "but the server option cluster is true",
                                hint="Drop the option cluster.")
            self.cluster_mode = RW_CLUSTER_OFF
        elif len(self.url.hosts) > 1:
            # Several hosts are seeds of one cluster.
            if spec.cluster == RW_CLUSTER_OFF:
                raise CoreError(RW_ERR_BAD_OPTION, "a connection URL with several hosts names a Redis Cluster's "
                                "nodes, but the server option cluster is false",
                                hint="Name one host, or drop the option cluster.")
            self.cluster_mode = RW_CLUSTER_ON
        self.read_replicas = spec.read_replicas != 0
        self.tls = TlsOptions()
        self.tls.ca_file = spec.tls_ca_file if spec.tls_ca_file != NULL else None
        self.tls.cert_file = spec.tls_cert_file if spec.tls_cert_file != NULL else None
        self.tls.key_file = spec.tls_key_file if spec.tls_key_file != NULL else None
        self.tls.verify = spec.tls_verify != 0
        user = spec.user if spec.user != NULL else self.url.user
        password = spec.password if spec.password != NULL else self.url.password
        check_identity(self.url, user, password, spec.password_required != 0)
        if self.url.master is not None:
            self.sentinels = sentinel_set(self.url, self.tls, spec)
        self.identity = (url, user, password, spec.connect_timeout_ms, spec.command_timeout_ms,
                         self.tls.identity(), spec.password_required != 0)
        self.conn_key = spec.conn_key
        self.max_value_size = spec.max_value_size
        self.name = (self.conn_key, self.identity)
        return 0

    cdef Connection acquire(self, object node=None):
        """A connection to the node the URL names, or to node, a cluster's
        (host, port, readonly) reached with the same identity."""
        cdef Url url = self.url if node is None else self.url.at(node[0], node[1])
        cdef Connection c = pool_acquire(self.conn_key, node, self.identity, url, self.tls)
        c.session.readonly = node is not None and node[2]
        if not c.reused:
            c.session.ask_cluster = self.cluster_mode == RW_CLUSTER_DETECT and self.name not in g_topology
        c.asking = False
        c.max_value_size = self.max_value_size
        if self.sentinels is not None:
            aim_at_primary(c, self.sentinels)
        return c
