#!/bin/sh
# PostgreSQL in its pod. `setup` (the init container) makes the database cluster the first time, then, on every
# start, each service's role and database with the password that service shares with it (medledger-k8s-secret
# wrote it to /var/run/medledger/passwords/<database>/password), with the server listening on its socket alone.
# `serve` runs the server. The password reaches psql on its standard input, never in a process's arguments.
set -eu
data=/var/lib/medledger/postgresql/data
config=/etc/medledger/postgresql/postgresql.conf
socket=/var/run/medledger/socket

case "$1" in
setup)
    if [ ! -s "$data/PG_VERSION" ]; then
        initdb --pgdata="$data" --username=medledger --auth-local=peer --auth-host=reject \
            --encoding=UTF8 --locale=C.UTF-8 --no-instructions
    fi
    pg_ctl --pgdata="$data" --options="-c config_file=$config -c listen_addresses=''" --silent --wait start
    for database in $DATABASES; do
        {
            printf '\\set name %s\n\\set password %s\n' "$database" "$(cat "/var/run/medledger/passwords/$database/password")"
            cat /etc/medledger/postgresql/databases.sql
        } | psql --host="$socket" --username=medledger --dbname=postgres --no-psqlrc --quiet -v ON_ERROR_STOP=1
        echo "postgresql: database $database and its role are ready"
    done
    pg_ctl --pgdata="$data" --mode=fast --silent --wait stop
    ;;
serve)
    exec postgres -D "$data" -c config_file="$config"
    ;;
*)
    echo "usage: postgresql.sh setup|serve" >&2
    exit 2
    ;;
esac
