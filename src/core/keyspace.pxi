# IMPORT FOREIGN SCHEMA's view of a keyspace: a sample of the keys matching a
# pattern (SCAN MATCH in COUNT batches, each batch's TYPEs pipelined with the
# next SCAN), grouped by shape into what one foreign table each would read
# (the rules are core_api.h's, at RwKeyGroup).  The C side (import.c) names
# the tables and writes their DDL.  This runs once per import, not per row:
# keys are kept as Python data.

cdef enum:
    FIELD_SAMPLE = 20           # hashes of a group whose fields are read (shape 'rows')
    MAX_FIELDS = 200            # fields kept per group, first seen first

# What a value reads as, most specific first (RwValueGuess); a field is the
# first guess all its sampled values fit.  Made by the first import: importing
# re and datetime with the core would cost every backend's start of it.
cdef list GUESSES = None
cdef object date_from_iso = None


cdef int load_guesses() except -1:
    global GUESSES, date_from_iso
    import datetime
    import re
    date_from_iso = datetime.date.fromisoformat
    GUESSES = [
        (RW_GUESS_INTEGER, re.compile(rb'-?[0-9]{1,18}\Z')),
        (RW_GUESS_NUMBER, re.compile(rb'-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\Z')),
        (RW_GUESS_BOOLEAN, re.compile(rb'(?i)(true|false|t|f)\Z')),
        (RW_GUESS_DATE, re.compile(rb'[0-9]{4}-[0-9]{2}-[0-9]{2}\Z')),
        (RW_GUESS_TIMESTAMP, re.compile(rb'[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?'
                                        rb'(Z|[-+][0-9]{2}(:?[0-9]{2})?)?\Z')),
    ]
    return 0


cdef bint real_date(bytes v):
    """A date or timestamp of the calendar (not 2024-02-30, which the shape allows)."""
    try:
        date_from_iso(v[:10].decode())
        return True
    except ValueError:
        return False


cdef int guess(list values):
    """The RwValueGuess every one of values fits."""
    if GUESSES is None:
        load_guesses()
    for kind, pattern in GUESSES:
        if all(pattern.match(v) for v in values) and \
                (kind < RW_GUESS_DATE or all(real_date(v) for v in values)):
            return kind
    return RW_GUESS_TEXT


cdef int source_named(bytes name):
    """The index of the source type called name, or -1."""
    cdef int i
    for i in range(N_SOURCES):
        if SOURCES[i].info.name == name:
            return i
    return -1


cdef list group_keys(dict by_type):
    """(src_key, name, Redis type, src_type, keys in it, its keys) of each group, in order."""
    cdef list groups = []
    cdef list parts, first
    cdef int single, multi
    for redis_type, keys in by_type.items():
        single, multi = source_named(redis_type), source_named(b"multi_" + redis_type)
        if single >= 0 and multi < 0:           # streams: no pattern source reads them
            groups += [(k, k, redis_type, single, 1, [k]) for k in keys]
            continue
        buckets = {}
        for k in keys:
            parts = k.split(b":")
            buckets.setdefault((len(parts), parts[0]), []).append(parts)
        for members in buckets.values():
            first = members[0]
            if len(members) == 1:
                k = b":".join(first)
                groups.append((k, k, redis_type, single, 1, [k]))
                continue
            # The first part never varies: it is what the bucket shares.
            varies = [any(m[i] != first[i] for m in members) for i in range(len(first))]
            groups.append((b":".join(b"*" if v else glob_escape(p) for p, v in zip(first, varies)),
                           b":".join(p for p, v in zip(first, varies) if not v),
                           redis_type, multi, len(members), [b":".join(m) for m in members]))
    groups.sort(key=lambda g: (g[0], g[2]))
    return groups


cdef class FieldArrays:
    """A group's fields as RwKeyGroup's C arrays (pointing into the bytes kept)."""
    cdef list keep
    cdef const char **names
    cdef int64_t *lens
    cdef int *guesses

    def __cinit__(self, list fields):
        cdef Py_ssize_t i, n = len(fields)
        self.keep = [f for f, _ in fields]
        self.names = <const char **> realloc(NULL, sizeof(char *) * max(n, 1))
        self.lens = <int64_t *> realloc(NULL, sizeof(int64_t) * max(n, 1))
        self.guesses = <int *> realloc(NULL, sizeof(int) * max(n, 1))
        if self.names == NULL or self.lens == NULL or self.guesses == NULL:
            raise MemoryError()
        for i in range(n):
            self.names[i] = <const char *> (<bytes> self.keep[i])
            self.lens[i] = len(self.keep[i])
            self.guesses[i] = fields[i][1]

    def __dealloc__(self):
        free(self.names)
        free(self.lens)
        free(self.guesses)


cdef class Sampler:
    """One import's sample, of every primary on a Redis Cluster (SCAN sees
    one node's keys): resumable (an interrupted round is asked again)."""
    cdef Endpoint ep
    cdef list xs                    # an Exchange per node sampled, None before the first round
    cdef bytes pattern
    cdef long long sample           # at most this many keys
    cdef list cursors               # per node: SCAN's next cursor, None once its iteration is over
    cdef list pending               # per node: keys taken whose TYPE is still to ask
    cdef Py_ssize_t at              # the node whose round is next
    cdef dict node_of               # the keys taken, each with its node's index
    cdef dict by_type               # Redis type -> its keys
    cdef list groups                # group_keys's, which RwKeyGroup's strings point into
    cdef RwKeyGroup *cgroups
    cdef bint with_fields           # read the fields of hash groups (shape 'rows')
    cdef list fields                # per group: [(field, guess)], what cfields point into
    cdef list cfields               # per group: the C arrays (FieldArrays)

    def __dealloc__(self):
        free(self.cgroups)

    cdef int open(self, const RwScanSpec *spec, bytes pattern, long long sample, bint with_fields) except -1:
        if sample < 1:
            raise CoreError(RW_ERR_BAD_OPTION, "a sample of %d keys" % sample)
        self.ep = Endpoint()
        self.ep.from_spec(spec)
        self.pattern = pattern
        self.sample = sample
        self.node_of = {}
        self.by_type = {}
        self.with_fields = with_fields
        return 0

    cdef int run(self, RwKeyspace *out) except -1:
        if self.groups is None:
            try:
                self.connect()
                self.sample_keys()
                groups = group_keys(self.by_type)
                if self.with_fields:
                    self.read_fields(groups)
            except Interrupted:
                raise
            except BaseException:
                self.abandon()
                raise
            self.close()
            self.make_groups(groups)
        out.nkeys = len(self.node_of)
        out.ngroups = len(self.groups)
        out.groups = self.cgroups
        return 0

    cdef int connect(self) except -1:
        """The nodes to sample: the URL's, or each primary of a cluster."""
        cdef Topology t
        cdef list nodes = [None]
        if self.xs is not None:
            return 0
        t = cluster_topology(self.ep)
        if t is not None:
            nodes = [t.node(shard, False) for shard in t.shards()]
        self.xs = [Exchange(self.ep, node) for node in nodes]
        self.cursors = [b"0"] * len(nodes)
        self.pending = [[] for _ in nodes]
        return 0

    cdef int sample_keys(self) except -1:
        """Rounds, node after node, of TYPE for the keys the node's last SCAN
        found and its next SCAN, until every iteration ends or sample keys
        are taken (so each node gives its share).  State changes only after
        a round's replies are all in."""
        cdef Py_ssize_t n = len(self.xs), idle = 0
        while idle < n:
            idle = 0 if self.round(self.at) else idle + 1
            self.at = (self.at + 1) % n
        return 0

    cdef bint round(self, Py_ssize_t i) except -1:
        """Node i's round; False if it had nothing to ask."""
        cdef list commands, got
        cdef bint scanning = self.cursors[i] is not None and len(self.node_of) < self.sample
        cdef bytes k
        commands = [(T_STATUS, [b"TYPE", k]) for k in self.pending[i]]
        if scanning:
            commands.append((T_SCAN, [b"SCAN", self.cursors[i], b"MATCH", self.pattern,
                                      b"COUNT", b"%d" % SCAN_COUNT]))
        if not commands:
            return False
        got = (<Exchange> self.xs[i]).round(commands)
        for k, t in zip(self.pending[i], got):
            if isinstance(t, ReplyError):
                raise (<ReplyError> t).error('TYPE "%s"' % shown(k))
            if t != b"none":                # deleted since SCAN found it
                self.by_type.setdefault(t, []).append(k)
        self.pending[i] = []
        if scanning:
            self.take(i, got[len(got) - 1])
        return True

    cdef int take(self, Py_ssize_t i, object reply) except -1:
        """The keys of node i's SCAN reply, up to the sample's size."""
        if isinstance(reply, ReplyError):
            raise (<ReplyError> reply).error('SCAN MATCH "%s"' % shown(self.pattern))
        for k in reply[1]:
            if len(self.node_of) >= self.sample:
                break
            if k not in self.node_of:
                self.node_of[k] = i
                self.pending[i].append(k)
        self.cursors[i] = None if reply[0] == b"0" else reply[0]
        return 0

    cdef int read_fields(self, list groups) except -1:
        """HGETALL of up to FIELD_SAMPLE hashes of each group of hashes (the first
        by name), a round on each node: each group's fields, first seen first,
        and what their values read as."""
        cdef list commands = [[] for _ in self.xs]
        cdef list owners = [[] for _ in self.xs]       # per node: the group of each command
        cdef Py_ssize_t i, node
        for i in range(len(groups)):
            if groups[i][2] == b"hash" and groups[i][4] > 1:
                for k in sorted(groups[i][5])[:FIELD_SAMPLE]:    # the same keys, whatever SCAN's order
                    node = self.node_of[k]
                    commands[node].append((T_PAIRS, [b"HGETALL", k]))
                    owners[node].append(i)
        self.fields = [[] for _ in groups]
        values = [{} for _ in groups]
        for node in range(len(self.xs)):
            got = (<Exchange> self.xs[node]).round(commands[node]) if commands[node] else []
            for i, reply in zip(owners[node], got):
                if isinstance(reply, ReplyError):
                    if (<ReplyError> reply).refusal():
                        raise (<ReplyError> reply).error('HGETALL of "%s"' % shown(groups[i][0]))
                    continue                # a key gone, or of another type now
                for f, v in zip(reply[0::2], reply[1::2]):
                    if f not in values[i]:
                        if len(values[i]) >= MAX_FIELDS:
                            continue
                        values[i][f] = []
                    values[i][f].append(v)
        for i in range(len(groups)):
            self.fields[i] = [(f, guess(vs)) for f, vs in values[i].items()]
        return 0

    cdef int make_groups(self, list groups) except -1:
        cdef Py_ssize_t i
        cdef RwKeyGroup *g
        cdef bytes src_key, name, redis_type
        self.cgroups = <RwKeyGroup *> realloc(NULL, sizeof(RwKeyGroup) * max(len(groups), 1))
        if self.cgroups == NULL:
            raise MemoryError()
        self.groups = groups            # keeps the bytes the pointers borrow
        self.cfields = []
        for i in range(len(groups)):
            src_key, name, redis_type, src_type, nkeys, _ = groups[i]
            g = &self.cgroups[i]
            g.nfields = 0
            if self.fields is not None and self.fields[i]:
                arrays = FieldArrays(self.fields[i])
                self.cfields.append(arrays)
                g.nfields = len(self.fields[i])
                g.fields, g.field_lens, g.field_guesses = arrays.names, arrays.lens, arrays.guesses
            g.src_key, g.src_key_len = src_key, len(src_key)
            g.name, g.name_len = name, len(name)
            g.is_pattern = nkeys > 1       # a key alone in its group stands alone
            g.redis_type = redis_type
            g.src_type, g.nkeys = src_type, nkeys
        return 0

    cdef void abandon(self) noexcept:
        for x in self.xs or ():
            (<Exchange> x).abandon()

    cdef void close(self) noexcept:
        for x in self.xs or ():
            (<Exchange> x).done()
