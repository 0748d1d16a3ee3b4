# Host-name lookups that a wait can abandon.  getaddrinfo() blocks, immune to
# cancel and to connect_timeout; getaddrinfo_a() runs the lookup in glibc's
# helper thread and reports completion by writing to a pipe, which we wait on
# like any socket.  A waiter that gives up leaves the lookup to finish alone:
# whichever side comes last frees it.

cdef extern from *:
    """
    #include <fcntl.h>
    #include <netdb.h>
    #include <signal.h>
    #include <stdlib.h>
    #include <string.h>
    #include <unistd.h>

    typedef struct rw_lookup
    {
        struct gaicb cb;
        struct addrinfo hints;
        int         pipe[2];
        int         state;      /* 0 running, 1 notified, 2 given up by the waiter */
        char        port[8];
        char        host[];
    } rw_lookup;

    static void
    rw_lookup_free(rw_lookup *l)
    {
        if (l->cb.ar_result)
            freeaddrinfo(l->cb.ar_result);
        close(l->pipe[0]);
        close(l->pipe[1]);
        free(l);
    }

    /* Runs in a thread of glibc's: plain C, no Python, no PostgreSQL. */
    static void
    rw_lookup_notify(union sigval v)
    {
        rw_lookup  *l = v.sival_ptr;

        /* The pipe is still ours to write: the waiter only frees after state 1. */
        (void) !write(l->pipe[1], "x", 1);
        if (__atomic_exchange_n(&l->state, 1, __ATOMIC_ACQ_REL) == 2)
            rw_lookup_free(l);
    }

    static rw_lookup *
    rw_lookup_start(const char *host, const char *port, int *err)
    {
        size_t      n = strlen(host);
        rw_lookup  *l = calloc(1, sizeof(rw_lookup) + n + 1);
        struct gaicb *list[1];
        struct sigevent sev;

        *err = EAI_MEMORY;
        if (l == NULL)
            return NULL;
        memcpy(l->host, host, n + 1);
        snprintf(l->port, sizeof(l->port), "%s", port);
        if (pipe2(l->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        {
            free(l);
            *err = EAI_SYSTEM;
            return NULL;
        }
        l->hints.ai_family = AF_UNSPEC;
        l->hints.ai_socktype = SOCK_STREAM;
        l->cb.ar_name = l->host;
        l->cb.ar_service = l->port;
        l->cb.ar_request = &l->hints;
        memset(&sev, 0, sizeof(sev));
        sev.sigev_notify = SIGEV_THREAD;
        sev.sigev_notify_function = rw_lookup_notify;
        sev.sigev_value.sival_ptr = l;
        list[0] = &l->cb;
        *err = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
        if (*err != 0)
        {
            l->cb.ar_result = NULL;
            rw_lookup_free(l);
            return NULL;
        }
        return l;
    }

    static int
    rw_lookup_fd(rw_lookup *l)
    {
        return l->pipe[0];
    }

    /* Once notified: 0 and the addresses (now the caller's), or an EAI_ code. */
    static int
    rw_lookup_result(rw_lookup *l, struct addrinfo **res)
    {
        int         rc = gai_error(&l->cb);

        *res = NULL;
        if (rc == 0)
        {
            *res = l->cb.ar_result;
            l->cb.ar_result = NULL;
        }
        return rc;
    }

    /* The waiter is done with l, finished or not. */
    static void
    rw_lookup_release(rw_lookup *l)
    {
        if (gai_cancel(&l->cb) == EAI_CANCELED)
        {
            rw_lookup_free(l);  /* never started: no notification will come */
            return;
        }
        if (__atomic_exchange_n(&l->state, 2, __ATOMIC_ACQ_REL) == 1)
            rw_lookup_free(l);
    }
    """
    ctypedef struct rw_lookup:
        pass
    rw_lookup *rw_lookup_start(const char *host, const char *port, int *err)
    int rw_lookup_fd(rw_lookup *l)
    int rw_lookup_result(rw_lookup *l, addrinfo **res)
    void rw_lookup_release(rw_lookup *l)
