#!/bin/sh
# The entrypoint of the PostgreSQL + redis_wrapper image where the base has
# none of its own: the official postgres image's interface, written for this
# image.  On the first start (empty $PGDATA) it runs initdb with
# POSTGRES_USER (default postgres) and POSTGRES_PASSWORD (required unless
# POSTGRES_HOST_AUTH_METHOD=trust), creates POSTGRES_DB, and runs the files of
# /docker-entrypoint-initdb.d (*.sh, *.sql, *.sql.gz) in name order against a
# server listening on its unix socket only; then it runs the server, listening
# on every address.  Any other command runs as given.
set -eu

# `docker run IMAGE -c work_mem=64MB`: options for the server.
if [ "${1#-}" != "$1" ]; then
    set -- postgres "$@"
fi

if [ "$1" != postgres ]; then
    exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
# Exported for the init scripts, as the official image does.
export POSTGRES_USER POSTGRES_DB PGUSER="$POSTGRES_USER" PGHOST=/var/run/postgresql

psql_in() {
    db=$1
    shift
    psql -X -v ON_ERROR_STOP=1 --no-password --dbname "$db" "$@"
}

run_init_files() {
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh)
                echo "entrypoint: running $f"
                if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
            *.sql)
                echo "entrypoint: running $f"
                psql_in "$POSTGRES_DB" < "$f" ;;
            *.sql.gz)
                echo "entrypoint: running $f"
                gzip -dc "$f" | psql_in "$POSTGRES_DB" ;;
            *)
                echo "entrypoint: ignoring $f" ;;
        esac
    done
}

initialize() {
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
        cat >&2 <<'MSG'
entrypoint: the database is uninitialized and POSTGRES_PASSWORD is not set.
  Set POSTGRES_PASSWORD to the superuser's password (docker run -e POSTGRES_PASSWORD=...),
  or POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without one.
MSG
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
    # shellcheck disable=SC2086
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
        --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-} >/dev/null
    rm -f "$pwfile"
    echo "host all all all $auth" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"

    # Set-up runs against a server no one else can reach yet.
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
    if [ "$POSTGRES_DB" != postgres ]; then
        echo "create database :\"db\";" | psql_in postgres -v db="$POSTGRES_DB" >/dev/null
    fi
    run_init_files
    pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
    echo "entrypoint: initialization done; starting PostgreSQL"
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    initialize
fi
exec "$@"
