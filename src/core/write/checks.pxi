# The checks a flush runs under WATCH before MULTI: reads whose answers must
# be what the statement saw (40001 otherwise), and what makes every write
# inside EXEC certain to succeed (types, absent members for 23505, list
# positions).  A check is a command and what its reply must say.

cdef object PRESENT = object()      # a check's wish: the member is there, in any form


cdef class ReplyError:
    """An error reply, kept as data: a check or EXEC decides what it means."""
    cdef readonly bytes message

    def __cinit__(self, bytes message):
        self.message = message

    cdef bint refusal(self):
        """Redis refused the command itself (an ACL's NOPERM): never an answer to a check."""
        return error_kind(self.message.decode('utf-8', 'replace')) == RW_ERR_AUTH

    cdef bint redirect(self):
        """A Redis Cluster's MOVED, ASK, TRYAGAIN or CLUSTERDOWN: the command was not run."""
        return cluster_redirect(self.message.decode('utf-8', 'replace')) is not None
    cdef bint readonly(self):
        """The server is a replica: a primary turned replica by a failover, under a connection to it."""
        return self.message.startswith(b"READONLY")

    cdef object error(self, str what):
        """The exception for it as the answer to what ('WATCH', 'TYPE "k"'):
        refused permissions (ACLs) as for reads, other errors as Redis's."""
        msg = self.message.decode('utf-8', 'replace')
        redirect = cluster_redirect(msg)
        if redirect is not None:
            return redirect
        return CoreError(error_kind(msg), "Redis refused %s: %s" % (what, msg),
                         hint="The server is a replica now (after a failover?), and nothing was written; "
                              "with a redis+sentinel URL the next statement asks the sentinels for the primary."
                              if self.readonly() else None)


cdef object changed(bytes key, str what):
    return CoreError(RW_ERR_CONFLICT, 'could not serialize access: %s in Redis key "%s" changed since '
                     'the statement read it' % (what, shown(key)),
                     hint="Retry the transaction.")


cdef bint answers(object got, object want) except -1:
    """Whether a reply element is what a check wants: None absent (nil, 0,
    no entries), PRESENT there, a float that score, bytes exactly that."""
    cdef bint absent = got is None or got == 0 or got == []
    if want is None:
        return absent
    if absent or isinstance(got, ReplyError):
        return False
    if want is PRESENT:
        return True
    if isinstance(want, float):
        try:
            return float(got) == want
        except ValueError:
            return False
    return got == want


cdef class Check:
    cdef int tag
    cdef list args              # the command

    cdef Py_ssize_t size(self):
        """About the memory it holds, for the pending bytes bound."""
        return sum([len(a) + 16 for a in self.args])

    cdef int verify(self, object reply) except -1:
        raise NotImplementedError


cdef class TypeCheck(Check):
    """TYPE key: the source's type, or none where the key may not exist yet."""
    cdef bytes key, type_name
    cdef bint may_be_absent

    cdef int verify(self, object reply) except -1:
        if reply == self.type_name or (reply == b"none" and self.may_be_absent):
            return 0
        if reply == b"none":
            raise CoreError(RW_ERR_CONFLICT, 'could not serialize access: Redis key "%s" was deleted since '
                            'the statement read it' % shown(self.key), hint="Retry the transaction.")
        if isinstance(reply, ReplyError):
            raise (<ReplyError> reply).error('TYPE "%s"' % shown(self.key))
        raise CoreError(RW_ERR_WRONG_TYPE, 'Redis key "%s" holds a %s, not a %s'
                        % (shown(self.key), shown(reply), self.type_name.decode()),
                        hint="Use a foreign table whose src_type matches the key's type.")


cdef TypeCheck type_check(bytes key, bytes type_name, bint may_be_absent):
    cdef TypeCheck c = TypeCheck()
    c.tag = T_STATUS
    c.args = [b"TYPE", key]
    c.key, c.type_name, c.may_be_absent = key, type_name, may_be_absent
    return c


cdef class MembersCheck(Check):
    """A probe of many members of one key (SMISMEMBER, HMGET, ZMSCORE): each
    answer is what its wish says.  A member wished absent that is there is a
    unique violation (or, for rows ON CONFLICT DO NOTHING let through, a
    change since they were looked at)."""
    cdef bytes key
    cdef list names, wishes
    cdef int absent_kind            # RW_ERR_UNIQUE or RW_ERR_CONFLICT

    cdef Py_ssize_t size(self):
        return 64 + 24 * len(self.names) + sum([len(n) for n in self.names])

    cdef int verify(self, object reply) except -1:
        cdef Py_ssize_t i
        if len(reply) != len(self.names):
            raise CoreError(RW_ERR_PROTOCOL, "%d answers to %s for %d members"
                            % (len(reply), self.args[0].decode(), len(self.names)))
        for i in range(len(reply)):
            if not answers(reply[i], self.wishes[i]):
                raise self.failure(self.names[i], self.wishes[i])
        return 0

    cdef object failure(self, bytes name, object wish):
        if wish is None and self.absent_kind == RW_ERR_UNIQUE:
            return duplicate(name, self.key)
        return changed(self.key, '"%s"' % shown(name))


cdef object duplicate(bytes name, bytes key):
    return CoreError(RW_ERR_UNIQUE, 'duplicate key value violates uniqueness: "%s" exists in Redis key "%s"'
                     % (shown(name), shown(key)))


cdef class ValueCheck(Check):
    """One reply that must answer a wish (see answers()); an error says
    kind (RW_ERR_UNIQUE: the key exists, else a change)."""
    cdef bytes key
    cdef object wish
    cdef str what
    cdef int kind

    cdef int verify(self, object reply) except -1:
        if answers(reply, self.wish):
            return 0
        if self.kind == RW_ERR_UNIQUE:
            raise CoreError(RW_ERR_UNIQUE, 'duplicate key value violates uniqueness: Redis key "%s" exists'
                            % shown(self.key))
        raise changed(self.key, self.what)


cdef ValueCheck value_check(int tag, list args, object wish, str what, int kind=RW_ERR_CONFLICT):
    cdef ValueCheck c = ValueCheck()
    c.tag, c.args, c.key, c.wish, c.what, c.kind = tag, args, args[1], wish, what, kind
    return c


cdef class ContentsCheck(Check):
    """A pattern table's key read whole (LRANGE, SMEMBERS, HGETALL, ZRANGE):
    it must hold what the statement read: a list's and a sorted set's
    items in order, a set's and a hash's in any (jsonb sorts an object's)."""
    cdef bytes key
    cdef list items
    cdef WriteMode mode

    cdef object normal(self, list items):
        if self.mode == WRITE_FIELDS:
            return sorted(zip(items[0::2], items[1::2]))
        return sorted(items) if self.mode == WRITE_MEMBERS else items

    cdef int verify(self, object reply) except -1:
        if self.normal(reply) == self.normal(self.items):
            return 0
        raise changed(self.key, "the contents")
