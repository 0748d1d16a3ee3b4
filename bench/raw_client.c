/*
 * The raw baseline for ./dev bench: a plain hiredis client fetching a case's
 * data the fastest way Redis allows, outside PostgreSQL.  Prints the elapsed
 * milliseconds and the number of rows (elements, pairs, entries or keys).
 *
 *   raw_client HOST PORT CASE KEY
 *   CASE: list set hash zset stream multi_list multi_set multi_hash multi_zset
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static redisReply *
command(redisContext *c, const char *fmt, const char *arg)
{
	redisReply *r = redisCommand(c, fmt, arg);

	if (r == NULL || r->type == REDIS_REPLY_ERROR)
	{
		fprintf(stderr, "raw_client: %s\n", r ? r->str : c->errstr);
		exit(1);
	}
	return r;
}

/*
 * list and zset: the length, then every index range of CHUNK pipelined at
 * once, so Redis never builds one huge reply and sends while it works.
 */
#define CHUNK 10000

static long
ranges(redisContext *c, const char *cas, const char *key)
{
	int			is_list = strcmp(cas, "list") == 0;
	redisReply *len = command(c, is_list ? "LLEN %s" : "ZCARD %s", key);
	long long	n = len->integer;
	long		rows = 0;

	freeReplyObject(len);
	for (long long start = 0; start < n; start += CHUNK)
		redisAppendCommand(c, is_list ? "LRANGE %s %lld %lld" : "ZRANGE %s %lld %lld",
						   key, start, start + CHUNK - 1);
	for (long long start = 0; start < n; start += CHUNK)
	{
		redisReply *r;

		if (redisGetReply(c, (void **) &r) != REDIS_OK)
		{
			fprintf(stderr, "raw_client: %s\n", c->errstr);
			exit(1);
		}
		rows += (long) r->elements;
		freeReplyObject(r);
	}
	return rows;
}

/* set, hash and stream: one command returning the whole key. */
static long
single(redisContext *c, const char *cas, const char *key)
{
	const char *fmt = strcmp(cas, "set") == 0 ? "SMEMBERS %s" :
		strcmp(cas, "hash") == 0 ? "HGETALL %s" : "XRANGE %s - +";
	redisReply *r = command(c, fmt, key);
	long		rows = strcmp(cas, "hash") == 0 ? (long) r->elements / 2 : (long) r->elements;

	freeReplyObject(r);
	return rows;
}

/* SCAN MATCH pattern TYPE t, each batch of keys fetched in one pipeline. */
static long
pattern(redisContext *c, const char *cas, const char *pattern)
{
	const char *type = cas + strlen("multi_");
	const char *fetch = strcmp(type, "list") == 0 ? "LRANGE %b 0 -1" :
		strcmp(type, "zset") == 0 ? "ZRANGE %b 0 -1" :
		strcmp(type, "set") == 0 ? "SMEMBERS %b" : "HGETALL %b";
	char		cursor[64] = "0";
	long		rows = 0;

	do
	{
		redisReply *scan = redisCommand(c, "SCAN %s MATCH %s COUNT 1000 TYPE %s", cursor, pattern, type);
		redisReply *keys;

		if (scan == NULL || scan->type != REDIS_REPLY_ARRAY)
		{
			fprintf(stderr, "raw_client: SCAN failed\n");
			exit(1);
		}
		snprintf(cursor, sizeof(cursor), "%s", scan->element[0]->str);
		keys = scan->element[1];
		for (size_t i = 0; i < keys->elements; i++)
			redisAppendCommand(c, fetch, keys->element[i]->str, keys->element[i]->len);
		for (size_t i = 0; i < keys->elements; i++)
		{
			redisReply *r;

			if (redisGetReply(c, (void **) &r) != REDIS_OK)
			{
				fprintf(stderr, "raw_client: %s\n", c->errstr);
				exit(1);
			}
			rows += r->type == REDIS_REPLY_ARRAY && r->elements > 0;
			freeReplyObject(r);
		}
		freeReplyObject(scan);
	} while (strcmp(cursor, "0") != 0);
	return rows;
}

int
main(int argc, char **argv)
{
	redisContext *c;
	double		start;
	long		rows;

	if (argc != 5)
	{
		fprintf(stderr, "usage: raw_client HOST PORT CASE KEY\n");
		return 2;
	}
	c = redisConnect(argv[1], atoi(argv[2]));
	if (c == NULL || c->err)
	{
		fprintf(stderr, "raw_client: cannot connect\n");
		return 1;
	}
	start = now_ms();
	if (strncmp(argv[3], "multi_", 6) == 0)
		rows = pattern(c, argv[3], argv[4]);
	else if (strcmp(argv[3], "list") == 0 || strcmp(argv[3], "zset") == 0)
		rows = ranges(c, argv[3], argv[4]);
	else
		rows = single(c, argv[3], argv[4]);
	printf("%.3f %ld\n", now_ms() - start, rows);
	redisFree(c);
	return 0;
}
