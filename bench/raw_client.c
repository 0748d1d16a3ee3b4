/*
 * The raw baseline for ./dev bench: a plain hiredis client fetching a case's
 * data the fastest way Redis allows, outside PostgreSQL, or writing a write
 * case's rows.  Prints the elapsed milliseconds and the number of rows
 * (elements, pairs, entries or keys read; rows written).
 *
 *   raw_client HOST PORT CASE KEY
 *   CASE: list set hash zset stream multi_list multi_set multi_hash multi_zset
 *
 *   raw_client HOST PORT write OP KEY COUNT [ROWS_PER_COMMAND]
 *   OP: see WRITE_OPS
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

/*
 * The write cases' rows i = 1..COUNT, the same bytes the bench's SQL makes:
 * each row is one or two arguments of the command.
 */
typedef struct WriteOp
{
	const char *name;
	const char *command;
	const char *first;			/* a row's first argument, from i */
	const char *second;			/* its second one, or NULL */
} WriteOp;

static const WriteOp WRITE_OPS[] = {
	{"rpush", "RPUSH", "element-%ld", NULL},
	{"hset", "HSET", "field-%ld", "value-%ld"},
	{"hset-x", "HSET", "field-%ld", "value-%ldx"},	/* the UPDATE: value || 'x' */
	{"zadd", "ZADD", "%ld", "member-%ld"},
	{"hdel", "HDEL", "field-%ld", NULL},
};

/* Commands sent before their replies are read. */
#define WINDOW 1000
#define ARG_SIZE 32

static void
read_replies(redisContext *c, long n)
{
	for (long i = 0; i < n; i++)
	{
		redisReply *r;

		if (redisGetReply(c, (void **) &r) != REDIS_OK || r->type == REDIS_REPLY_ERROR)
		{
			fprintf(stderr, "raw_client: %s\n", r ? r->str : c->errstr);
			exit(1);
		}
		freeReplyObject(r);
	}
}

/*
 * ROWS_PER_COMMAND rows in each command (one RPUSH with 1000 elements, or one
 * per row), the commands pipelined WINDOW at a time.
 */
static long
write_rows(redisContext *c, const WriteOp *op, const char *key, long count, long per_command)
{
	int			per_row = op->second ? 2 : 1;
	long		max_args = 2 + per_command * per_row;
	const char **argv = malloc(max_args * sizeof(char *));
	size_t	   *lens = malloc(max_args * sizeof(size_t));
	char	   *text = malloc(max_args * ARG_SIZE);
	long		pending = 0;

	argv[0] = op->command;
	argv[1] = key;
	lens[0] = strlen(op->command);
	lens[1] = strlen(key);
	for (long start = 1; start <= count; start += per_command)
	{
		int			argc = 2;

		for (long i = start; i <= count && i < start + per_command; i++)
			for (int a = 0; a < per_row; a++, argc++)
			{
				argv[argc] = text + argc * ARG_SIZE;
				lens[argc] = snprintf(text + argc * ARG_SIZE, ARG_SIZE, a ? op->second : op->first, i);
			}
		redisAppendCommandArgv(c, argc, argv, lens);
		if (++pending == WINDOW)
		{
			read_replies(c, pending);
			pending = 0;
		}
	}
	read_replies(c, pending);
	free(argv);
	free(lens);
	free(text);
	return count;
}

static const WriteOp *
write_op(const char *name)
{
	for (size_t i = 0; i < sizeof(WRITE_OPS) / sizeof(WRITE_OPS[0]); i++)
		if (strcmp(WRITE_OPS[i].name, name) == 0)
			return &WRITE_OPS[i];
	fprintf(stderr, "raw_client: no write op %s\n", name);
	exit(2);
}

int
main(int argc, char **argv)
{
	redisContext *c;
	double		start;
	long		rows;
	int			writes = argc >= 7 && strcmp(argv[3], "write") == 0;
	const WriteOp *op = writes ? write_op(argv[4]) : NULL;

	if (argc != 5 && !(writes && argc <= 8))
	{
		fprintf(stderr, "usage: raw_client HOST PORT CASE KEY\n"
				"       raw_client HOST PORT write OP KEY COUNT [ROWS_PER_COMMAND]\n");
		return 2;
	}
	c = redisConnect(argv[1], atoi(argv[2]));
	if (c == NULL || c->err)
	{
		fprintf(stderr, "raw_client: cannot connect\n");
		return 1;
	}
	start = now_ms();
	if (writes)
		rows = write_rows(c, op, argv[5], atol(argv[6]), argc == 8 ? atol(argv[7]) : 1000);
	else if (strncmp(argv[3], "multi_", 6) == 0)
		rows = pattern(c, argv[3], argv[4]);
	else if (strcmp(argv[3], "list") == 0 || strcmp(argv[3], "zset") == 0)
		rows = ranges(c, argv[3], argv[4]);
	else
		rows = single(c, argv[3], argv[4]);
	printf("%.3f %ld\n", now_ms() - start, rows);
	redisFree(c);
	return 0;
}
