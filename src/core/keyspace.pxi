# IMPORT FOREIGN SCHEMA's view of a keyspace: a sample of the keys matching a
# pattern (SCAN MATCH in COUNT batches, each batch's TYPEs pipelined with the
# next SCAN), grouped by shape into what one foreign table each would read
# (the rules are core_api.h's, at RwKeyGroup).  The C side (import.c) names
# the tables and writes their DDL.  This runs once per import, not per row:
# keys are kept as Python data.

cdef int source_named(bytes name):
    """The index of the source type called name, or -1."""
    cdef int i
    for i in range(N_SOURCES):
        if SOURCES[i].info.name == name:
            return i
    return -1


cdef list group_keys(dict by_type):
    """(src_key, name, Redis type, src_type, keys in it) of each group, in order."""
    cdef list groups = []
    cdef list parts, first
    cdef int single, multi
    for redis_type, keys in by_type.items():
        single, multi = source_named(redis_type), source_named(b"multi_" + redis_type)
        if single >= 0 and multi < 0:           # streams: no pattern source reads them
            groups += [(k, k, redis_type, single, 1) for k in keys]
            continue
        buckets = {}
        for k in keys:
            parts = k.split(b":")
            buckets.setdefault((len(parts), parts[0]), []).append(parts)
        for members in buckets.values():
            first = members[0]
            if len(members) == 1:
                k = b":".join(first)
                groups.append((k, k, redis_type, single, 1))
                continue
            # The first part never varies: it is what the bucket shares.
            varies = [any(m[i] != first[i] for m in members) for i in range(len(first))]
            groups.append((b":".join(b"*" if v else glob_escape(p) for p, v in zip(first, varies)),
                           b":".join(p for p, v in zip(first, varies) if not v),
                           redis_type, multi, len(members)))
    groups.sort(key=lambda g: (g[0], g[2]))
    return groups


cdef class Sampler:
    """One import's sample: resumable (an interrupted round is asked again)."""
    cdef Exchange x
    cdef bytes pattern
    cdef long long sample           # at most this many keys
    cdef object cursor              # SCAN's next cursor, None once the iteration is over
    cdef set seen                   # the keys taken (SCAN may return one twice)
    cdef list pending               # keys taken whose TYPE is still to ask
    cdef dict by_type               # Redis type -> its keys
    cdef list groups                # group_keys's, which RwKeyGroup's strings point into
    cdef RwKeyGroup *cgroups

    def __dealloc__(self):
        free(self.cgroups)

    cdef int open(self, const RwScanSpec *spec, bytes pattern, long long sample) except -1:
        cdef Endpoint ep = Endpoint()
        if sample < 1:
            raise CoreError(RW_ERR_BAD_OPTION, "a sample of %d keys" % sample)
        ep.from_spec(spec)
        self.x = Exchange(ep)
        self.pattern = pattern
        self.sample = sample
        self.cursor = b"0"
        self.seen = set()
        self.pending = []
        self.by_type = {}
        return 0

    cdef int run(self, RwKeyspace *out) except -1:
        if self.groups is None:
            try:
                self.sample_keys()
            except Interrupted:
                raise
            except BaseException:
                self.x.abandon()
                raise
            self.x.done()
            self.make_groups(group_keys(self.by_type))
        out.nkeys = len(self.seen)
        out.ngroups = len(self.groups)
        out.groups = self.cgroups
        return 0

    cdef int sample_keys(self) except -1:
        """Rounds of TYPE for the keys the last SCAN found, and the next SCAN,
        until the iteration ends or sample keys are taken.  State changes only
        after a round's replies are all in."""
        cdef list commands, got
        cdef bint scanning
        cdef bytes k
        while True:
            scanning = self.cursor is not None and len(self.seen) < self.sample
            commands = [(T_STATUS, [b"TYPE", k]) for k in self.pending]
            if scanning:
                commands.append((T_SCAN, [b"SCAN", self.cursor, b"MATCH", self.pattern,
                                          b"COUNT", b"%d" % SCAN_COUNT]))
            if not commands:
                return 0
            got = self.x.round(commands)
            for k, t in zip(self.pending, got):
                if isinstance(t, ReplyError):
                    raise (<ReplyError> t).error('TYPE "%s"' % shown(k))
                if t != b"none":                # deleted since SCAN found it
                    self.by_type.setdefault(t, []).append(k)
            self.pending = []
            if scanning:
                self.take(got[len(got) - 1])

    cdef int take(self, object reply) except -1:
        """The keys of a SCAN reply, up to the sample's size."""
        if isinstance(reply, ReplyError):
            raise (<ReplyError> reply).error('SCAN MATCH "%s"' % shown(self.pattern))
        for k in reply[1]:
            if len(self.seen) >= self.sample:
                break
            if k not in self.seen:
                self.seen.add(k)
                self.pending.append(k)
        self.cursor = None if reply[0] == b"0" else reply[0]
        return 0

    cdef int make_groups(self, list groups) except -1:
        cdef Py_ssize_t i
        cdef RwKeyGroup *g
        cdef bytes src_key, name, redis_type
        self.cgroups = <RwKeyGroup *> realloc(NULL, sizeof(RwKeyGroup) * max(len(groups), 1))
        if self.cgroups == NULL:
            raise MemoryError()
        self.groups = groups            # keeps the bytes the pointers borrow
        for i in range(len(groups)):
            src_key, name, redis_type, src_type, nkeys = groups[i]
            g = &self.cgroups[i]
            g.src_key, g.src_key_len = src_key, len(src_key)
            g.name, g.name_len = name, len(name)
            g.is_pattern = nkeys > 1       # a key alone in its group stands alone
            g.redis_type = redis_type
            g.src_type, g.nkeys = src_type, nkeys
        return 0

    cdef void close(self) noexcept:
        if self.x is not None:
            self.x.done()
