#!/bin/sh
# First start of the database container only (/docker-entrypoint-initdb.d): the application's login
# role, a member of firewarden_app (docs/operations.md, "Roles"). The tables' owner is POSTGRES_USER,
# which runs `firewarden db migrate`; the processes log in as `firewarden` and cannot alter the audit log.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v app_password="$FIREWARDEN_APP_PASSWORD" <<'SQL'
CREATE ROLE firewarden_app NOLOGIN;
CREATE ROLE firewarden LOGIN PASSWORD :'app_password' IN ROLE firewarden_app;
SQL
