/*
 * use_remote_estimate: a foreign table's size asked of Redis while planning
 * (LLEN, SCARD, ... through a count_only scan), for tables whose source
 * counts cheaply.  Like postgres_fdw's option of that name it is off by
 * default, since planning then connects; the counts are kept for a few
 * seconds per table and role, so a busy backend asks once per table in that
 * time, and dropped when the table's definition changes.
 */
#include "redis_wrapper.h"

#include "miscadmin.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/timestamp.h"

/* How long a count stays fresh: an estimate, so staleness costs little. */
#define RW_REMOTE_ESTIMATE_TTL_MS 5000

typedef struct RemoteCountKey
{
	Oid			relid;
	Oid			userid;
} RemoteCountKey;

typedef struct RemoteCount
{
	RemoteCountKey key;
	double		rows;
	TimestampTz counted_at;
} RemoteCount;

static HTAB *remote_counts = NULL;

/* A table's definition changed (or every table's): its counts may be of another key. */
static void
forget_counts(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS scan;
	RemoteCount *entry;

	if (remote_counts == NULL)
		return;
	hash_seq_init(&scan, remote_counts);
	while ((entry = hash_seq_search(&scan)) != NULL)
		if (!OidIsValid(relid) || entry->key.relid == relid)
			hash_search(remote_counts, &entry->key, HASH_REMOVE, NULL);
}

static HTAB *
counts(void)
{
	HASHCTL		ctl;

	if (remote_counts != NULL)
		return remote_counts;
	ctl.keysize = sizeof(RemoteCountKey);
	ctl.entrysize = sizeof(RemoteCount);
	remote_counts = hash_create("redis_wrapper remote counts", 64, &ctl, HASH_ELEM | HASH_BLOBS);
	CacheRegisterRelcacheCallback(forget_counts, (Datum) 0);
	return remote_counts;
}

/* The role a scan of baserel will be checked as (a view's owner), as postgres_fdw plans. */
static Oid
planning_user(PlannerInfo *root, RelOptInfo *baserel)
{
#if PG_VERSION_NUM >= 160000
	return OidIsValid(baserel->userid) ? baserel->userid : GetUserId();
#else
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);

	return OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
#endif
}

/*
 * The rows of the whole table, from Redis or a fresh enough count of it; -1
 * when not to be asked: the option is off, the source has no cheap count,
 * or the role may not read the table (the executor refuses it; planning
 * must not count for it first).
 */
double
rw_remote_rows(PlannerInfo *root, RelOptInfo *baserel, const RwTableOptions *opts, Oid relid)
{
	RemoteCountKey key;
	RemoteCount *entry;
	bool		found;
	double		rows;
	TimestampTz now;

	if (!opts->use_remote_estimate || !rw_source_info(opts->spec.src_type)->sized)
		return -1;
	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.userid = planning_user(root, baserel);
	if (pg_class_aclcheck(relid, key.userid, ACL_SELECT) != ACLCHECK_OK)
		return -1;

	now = GetCurrentTimestamp();
	entry = hash_search(counts(), &key, HASH_FIND, NULL);
	if (entry && !TimestampDifferenceExceeds(entry->counted_at, now, RW_REMOTE_ESTIMATE_TTL_MS))
		return entry->rows;
	rows = rw_scan_count(relid, key.userid);
	entry = hash_search(counts(), &key, HASH_ENTER, &found);
	entry->rows = rows;
	entry->counted_at = now;
	return rows;
}
