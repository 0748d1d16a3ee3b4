"""The example project's code: a leaderboard kept by the game in a Redis
sorted set, read from PostgreSQL through redis_wrapper."""

SCORES_TABLE = """
create foreign table if not exists redis.scores (element text, score double precision)
  server redis_server
  options (src_type 'zset', src_key 'scores')
"""


def install(db):
    db.execute(SCORES_TABLE)


def top(db, n):
    return db.execute('select element, score from redis.scores order by score desc limit %s', (n,)).fetchall()


def top_with_names(db, n):
    """The best n players with their names from the players table."""
    return db.execute('select p.name, s.score from redis.scores s join players p on p.login = s.element '
                      'order by s.score desc limit %s', (n,)).fetchall()
