# One modify's pending writes: the write commands, already in RESP (what
# MULTI/EXEC will carry), the keys to WATCH and the checks to run first.
# Consecutive writes of the same command to the same key are merged into one
# command of up to MERGE_ARGS arguments, as a pipelining client would send
# them; arguments are copied from the rows in place.

cdef enum:
    MERGE_ARGS = 1000           # arguments after the key per merged command
    PROBE_BATCH = 1000          # members per probe of a check


cdef class Writes:
    cdef CommandWriter cmds
    cdef Py_ssize_t ncmds           # commands in cmds, the open one included
    cdef bytes cur_cmd, cur_key, cur_opt    # the open merged command, or cur_cmd None
    cdef Py_ssize_t cur_args
    cdef list tail                  # commands that go after all others (argument lists)
    cdef dict watched               # keys to WATCH, in order (values unused)
    cdef list checks
    cdef dict probes                # key -> its MembersCheck still taking members
    cdef Py_ssize_t check_bytes
    cdef list sweeps                # (pattern, type): TRUNCATE of a pattern table, keys found at flush
    cdef object added_to            # the key added is of, or None: added are keys
    cdef set added                  # what the writes add: members, fields or keys (transactional)

    def __cinit__(self):
        self.cmds = CommandWriter()
        self.tail = []
        self.watched = {}
        self.checks = []
        self.probes = {}
        self.sweeps = []

    cdef inline Py_ssize_t size(self):
        return self.cmds.size + self.check_bytes

    cdef bint empty(self):
        return self.ncmds == 0 and not self.tail and not self.sweeps

    # -- write commands -------------------------------------------------
    cdef int merged(self, bytes command, bytes key, bytes opt, int nargs) except -1:
        """Open, or go on with, command key [opt] for nargs more arguments,
        which the caller then appends (arg_span)."""
        if not (self.cur_cmd is command and self.cur_opt is opt and self.cur_args + nargs <= MERGE_ARGS
                and (self.cur_key is key or self.cur_key == key)):
            self.end()
            self.cmds.begin()
            self.cmds.arg(command)
            if key is not None:
                self.cmds.arg(key)
            if opt is not None:
                self.cmds.arg(opt)
            self.cur_cmd, self.cur_key, self.cur_opt, self.cur_args = command, key, opt, 0
            self.ncmds += 1
        self.cur_args += nargs
        return 0

    cdef inline int add(self, bytes command, bytes key, const char *p, Py_ssize_t n) except -1:
        """command key p, merged with its neighbours."""
        self.merged(command, key, None, 1)
        return self.cmds.arg_span(p, n)

    cdef int add_pair(self, bytes command, bytes key, bytes opt, const char *p1, Py_ssize_t n1,
                      const char *p2, Py_ssize_t n2) except -1:
        """command key [opt] p1 p2 (a field and value, a score and member), merged."""
        self.merged(command, key, opt, 2)
        self.cmds.arg_span(p1, n1)
        return self.cmds.arg_span(p2, n2)

    cdef int single(self, list args) except -1:
        """A command of its own."""
        cdef bytes a
        self.end()
        self.cmds.begin()
        for a in args:
            self.cmds.arg(a)
        self.cmds.end()
        self.ncmds += 1
        return 0

    cdef int end(self) except -1:
        """Close the open merged command (before another, and before flushing)."""
        if self.cur_cmd is not None:
            self.cmds.end()
            self.cur_cmd = None
        return 0

    cdef int finish(self) except -1:
        """Every command in cmds, the tail's last."""
        cdef list args
        self.end()
        for args in self.tail:
            self.single(args)
        self.tail = []
        return 0

    # -- what the flush reads first -------------------------------------
    cdef int watch(self, bytes key) except -1:
        self.watched[key] = None
        return 0

    cdef int touch(self, bytes key, bytes type_name, bint may_be_absent) except -1:
        """The first write of key: WATCH it and check its type."""
        if key not in self.watched:
            self.watch(key)
            self.check(type_check(key, type_name, may_be_absent))
        return 0

    cdef int check(self, Check c) except -1:
        self.checks.append(c)
        self.check_bytes += c.size()
        return 0

    cdef int probe(self, const Source *src, bytes key, bytes name, object wish, bint skipped) except -1:
        """Check that key holds name as wish says (see answers()), batched into
        the source's probe command (SMISMEMBER, HMGET, ZMSCORE).  skipped: the
        row passed ON CONFLICT DO NOTHING's look, so finding it now is a change."""
        cdef MembersCheck c = self.probes.get(key)
        if c is None or len(c.names) == PROBE_BATCH:
            c = MembersCheck()
            c.tag = src.probe_tag
            c.args = [<bytes> src.probe, key]
            c.key = key
            c.names, c.wishes = [], []
            c.absent_kind = RW_ERR_CONFLICT if skipped else RW_ERR_UNIQUE
            self.probes[key] = c
            self.check(c)
        c.names.append(name)
        c.wishes.append(wish)
        c.args.append(name)
        self.check_bytes += len(name) + 24
        return 0
