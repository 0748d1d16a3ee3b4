# A Redis Cluster's slot map as this backend knows it: which shard serves
# each slot, its primary and its replicas.  Read with CLUSTER SHARDS (CLUSTER
# SLOTS before Redis 7), kept per endpoint (pool.pxi's g_topology) and read
# again when a node answers MOVED or cannot be reached.  Whether a server is
# a cluster at all is asked once, of the node the URL names (INFO cluster),
# unless the server option cluster says.  Every node is reached with the
# endpoint's identity (TLS, user, password): Url.at() keeps them.

cdef class Topology:
    cdef short owner[N_SLOTS]       # the shard serving each slot, -1: none
    cdef list primaries             # (host, port) of each shard's primary
    cdef list replicas              # of each shard: its replicas' (host, port)

    def __cinit__(self):
        cdef int i
        for i in range(N_SLOTS):
            self.owner[i] = -1
        self.primaries = []
        self.replicas = []

    cdef int add_shard(self, tuple primary, list replicas, list ranges) except -1:
        cdef int shard = len(self.primaries)
        cdef long lo, hi, slot
        self.primaries.append(primary)
        self.replicas.append(replicas)
        for lo, hi in ranges:
            if not 0 <= lo <= hi < N_SLOTS:
                raise CoreError(RW_ERR_PROTOCOL, "the Redis Cluster's slot map has a range %d-%d" % (lo, hi))
            for slot in range(lo, hi + 1):
                self.owner[slot] = shard
        return 0

    cdef int shard_of(self, int slot) except -1:
        if self.owner[slot] < 0:
            raise ClusterRedirect("no node of the Redis Cluster serves slot %d" % slot, 'CLUSTERDOWN')
        return self.owner[slot]

    cdef tuple node(self, int shard, bint replica):
        """The pool's node for a shard's reads (a replica's when asked and
        there is one) or writes: (host, port, readonly)."""
        cdef list rs = self.replicas[shard]
        if replica and rs:
            return (rs[0][0], rs[0][1], True)
        return (self.primaries[shard][0], self.primaries[shard][1], False)

    cdef list shards(self):
        """Every shard, when together they serve every slot (else a pattern's
        keys in a slot without a primary, during a failover, would be missed)."""
        cdef int i
        for i in range(N_SLOTS):
            if self.owner[i] < 0:
                self.shard_of(i)        # raises CLUSTERDOWN
        return list(range(len(self.primaries)))

    cdef bint same_map(self, Topology other) noexcept:
        return (memcmp(self.owner, other.owner, sizeof(self.owner)) == 0
                and self.primaries == other.primaries)

    cdef list nodes(self):
        """Every node, primaries first: where to ask for the map again."""
        return list(self.primaries) + [r for rs in self.replicas for r in rs]


cdef dict pairs_of(list flat):
    """A RESP2 map (name, value, ...) as a dict with str names."""
    return {flat[i].decode('utf-8', 'replace') if isinstance(flat[i], bytes) else flat[i]: flat[i + 1]
            for i in range(0, len(flat) - 1, 2)}


cdef str host_of(object value, str asked):
    """A node's address as the map gives it; the node asked when it gives none."""
    if not isinstance(value, bytes) or value in (b"", b"?"):
        return asked
    return value.decode('utf-8', 'replace')


cdef Topology built(list shards):
    """The map of shards, (primary, replicas, slot ranges) each, numbered in
    the order of their first slot: two reads of one map compare equal."""
    cdef Topology t = Topology()
    for first, primary, replicas, ranges in sorted([(min(s[2]), s[0], s[1], s[2]) for s in shards if s[2]]):
        t.add_shard(primary, sorted(replicas), ranges)
    return t


cdef Topology from_shards(list reply, str asked, bint tls):
    """CLUSTER SHARDS: each shard's slot ranges and nodes (role, health, endpoint, port)."""
    cdef list shards = []
    for shard in reply:
        s = pairs_of(shard)
        slots = s.get('slots') or []
        ranges = [(slots[i], slots[i + 1]) for i in range(0, len(slots) - 1, 2)]
        primary, replicas = None, []
        for node in s.get('nodes') or []:
            n = pairs_of(node)
            port = n.get('tls-port') if tls and n.get('tls-port') else n.get('port')
            # '?': told to announce a hostname it was not given (an unknown node,
            # not the one asked); '' (unknown-endpoint, a load balancer in front):
            # the host asked, with the map's port.
            endpoint = n.get('endpoint')
            if endpoint is None or endpoint == b"?":
                endpoint = n.get('ip')
            where = (host_of(endpoint, asked), port)
            # (A replica that just synced may say "loading" for a while: the offset gossip lags.)
            if not isinstance(port, int) or n.get('health') == b"fail":
                continue
            if n.get('role') == b"master":
                primary = where
            else:
                replicas.append(where)
        if primary is not None:
            shards.append((primary, replicas, ranges))
    return built(shards)


cdef Topology from_slots(list reply, str asked):
    """CLUSTER SLOTS: [first, last, primary, replica...], each node [host, port, ...]."""
    cdef dict shards = {}
    for r in reply:
        nodes = [(host_of(n[0], asked), n[1]) for n in r[2:]]
        if not nodes:
            continue
        shards.setdefault(nodes[0], (nodes[1:], []))[1].append((r[0], r[1]))
    return built([(primary, replicas, ranges) for primary, (replicas, ranges) in shards.items()])


cdef Topology read_topology(Endpoint ep, Topology old):
    """The map as the first node that answers has it: the nodes of the old
    map first, then the URL's."""
    cdef Topology t
    cdef list seeds = (old.nodes() if old is not None else []) + list(ep.url.hosts)
    last = None
    for host, port in dict.fromkeys(seeds):
        try:
            t = ask_topology(ep, host, port)
        except CoreError as e:
            if e.kind == RW_ERR_AUTH:
                raise
            last = e
            continue
        if t.primaries:
            return t
    raise CoreError(RW_ERR_CONNECT, "no node of the Redis Cluster at %s gave its slot map" % ep.url.where(),
                    detail=last.message if last is not None else None)


cdef Topology ask_topology(Endpoint ep, str host, int port):
    """One node's map: CLUSTER SHARDS, or CLUSTER SLOTS where it is unknown."""
    cdef Exchange x = Exchange(ep, (host, port, False))
    try:
        got = x.round([(T_CLUSTER, [b"CLUSTER", b"SHARDS"])])[0]
        shards = not (isinstance(got, ReplyError) and b"unknown subcommand" in (<ReplyError> got).message.lower())
        if not shards:
            got = x.round([(T_CLUSTER, [b"CLUSTER", b"SLOTS"])])[0]
    except BaseException:
        x.abandon()
        raise
    x.done()
    if isinstance(got, ReplyError):
        raise (<ReplyError> got).error("CLUSTER SHARDS" if shards else "CLUSTER SLOTS")
    try:
        return from_shards(got, host, ep.url.scheme == 'rediss') if shards else from_slots(got, host)
    except (TypeError, ValueError, IndexError, AttributeError, KeyError):
        raise CoreError(RW_ERR_PROTOCOL, "unexpected reply to %s from Redis at %s:%d: not a slot map"
                        % ("CLUSTER SHARDS" if shards else "CLUSTER SLOTS", host, port))


cdef bint cluster_enabled(Endpoint ep) except -1:
    """INFO cluster of the node the URL names says cluster_enabled:1."""
    cdef Exchange x = Exchange(ep, None)
    try:
        got = x.round([(T_CLUSTER, [b"INFO", b"cluster"])])[0]
    except BaseException:
        x.abandon()
        raise
    x.done()
    if isinstance(got, ReplyError):
        # A server that knows no cluster, or a user that may not ask (ACLs):
        # taken for a single server, until a MOVED says otherwise.
        return False
    return isinstance(got, bytes) and b"cluster_enabled:1" in got


cdef Topology cluster_topology(Endpoint ep, bint detect=True):
    """ep's slot map, or None for a single server (or, detect false, when it
    is not known yet whether ep is a cluster: a scan's handshake tells)."""
    cdef Topology t
    if ep.name in g_topology:
        return g_topology[ep.name]
    if ep.cluster_mode == RW_CLUSTER_DETECT and not detect:
        return None
    if ep.cluster_mode == RW_CLUSTER_OFF or (ep.cluster_mode == RW_CLUSTER_DETECT and not cluster_enabled(ep)):
        g_topology[ep.name] = None
        return None
    t = read_topology(ep, None)
    g_topology[ep.name] = t
    return t


cdef Topology refresh_topology(Endpoint ep):
    """Read ep's slot map again (after MOVED, or a node lost)."""
    cdef Topology old = g_topology.get(ep.name)
    cdef Topology t = read_topology(ep, old)
    g_topology[ep.name] = t
    return t


cdef int check_slots_stayed(Endpoint ep, Topology t, list shards) except -1:
    """After a pattern's SCANs of shards on map t: the map is still t, and no
    slot of theirs is being moved (CLUSTER NODES marks a primary's migrating
    and importing slots, [slot->-node] and [slot-<-node], on its own line)."""
    cdef Exchange x
    if not t.same_map(refresh_topology(ep)):
        raise ClusterRedirect("the Redis Cluster's slot map changed during the scan", 'MOVING')
    for shard in shards:
        x = Exchange(ep, t.node(shard, False))
        try:
            got = x.round([(T_CLUSTER, [b"CLUSTER", b"NODES"])])[0]
        except BaseException:
            x.abandon()
            raise
        x.done()
        if isinstance(got, ReplyError):
            raise (<ReplyError> got).error("CLUSTER NODES")
        for line in (got if isinstance(got, bytes) else b"").split(b"\n"):
            if b"myself" in line and b"[" in line:
                raise ClusterRedirect("Redis at %s:%d is moving slots (%s)"
                                      % (t.primaries[shard][0], t.primaries[shard][1],
                                         line[line.index(b"["):].decode('utf-8', 'replace')[:100]), 'MOVING')
    return 0


cdef object slots_moved(str what):
    """The error for a cluster's slots moving under a read or write that has
    gone too far to start again."""
    return CoreError(RW_ERR_CONFLICT, "the Redis Cluster moved slots while %s" % what,
                     detail="Rows were returned already, so the read cannot start again on the new nodes.",
                     hint="Retry the query.")


cdef enum:
    MAX_CLUSTER_ATTEMPTS = 10   # attempts after redirects or lost nodes, per read or write


cdef class Backoff:
    """Attempts after a cluster redirect or a lost node: MOVED and ASK are
    followed at once, TRYAGAIN, CLUSTERDOWN and lost nodes after a wait
    doubling from FIRST_BACKOFF_MS, while the timeouts' time lasts."""
    cdef int attempts
    cdef long long deadline

    cdef int next(self, Endpoint ep, object error) except -1:
        """Wait before the next attempt after error, or raise it: no more."""
        cdef long long delay = 0
        cdef int budget = ep.identity[4] or ep.identity[3] or 10000    # command_timeout, connect_timeout
        if not (isinstance(error, ClusterRedirect) and error.how in ('MOVED', 'ASK', 'CLUSTER')):
            delay = FIRST_BACKOFF_MS << min(self.attempts, 5)
        if self.attempts == 0:
            self.deadline = now_ms() + budget
        self.attempts += 1
        if self.attempts > MAX_CLUSTER_ATTEMPTS or now_ms() + delay > self.deadline:
            raise error
        if delay:
            Transport().wait_fd(-1, 0, now_ms() + delay)
        return 0
