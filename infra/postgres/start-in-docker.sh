#!/bin/sh
# PostgreSQL's container (Docker mode): what native mode does in scalelab/stack/native/commands.py and
# bootstrap.py. On a new volume, initdb, then init.sql (Chirp's role and database) on a server that
# listens on no TCP port; then the server itself, with the rendered config.
set -eu
DATA=/var/lib/postgresql/data
if [ ! -s "$DATA/PG_VERSION" ]; then
  initdb -D "$DATA" -U postgres -A trust -E UTF8 --locale=C
  # The other containers connect from the compose network; the host reaches it on 127.0.0.1 only.
  echo "host all all all trust" >> "$DATA/pg_hba.conf"
  pg_ctl -D "$DATA" -w -o "-c listen_addresses='' -c unix_socket_directories=/tmp" start
  psql -h /tmp -U postgres -d postgres -v ON_ERROR_STOP=1 -q -f /etc/lab/postgres/init.sql
  pg_ctl -D "$DATA" -w -m fast stop
fi
exec postgres -D "$DATA" -c config_file=/etc/lab/postgres/postgresql.conf -c hba_file="$DATA/pg_hba.conf" \
  -c unix_socket_directories=/tmp
