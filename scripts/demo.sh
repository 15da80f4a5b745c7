#!/usr/bin/env bash
# `npm run demo`: dependencies if missing, MariaDB/MySQL and Redis, then scripts/demo.ts.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh

if ! bash scripts/ensure-services.sh; then
  cat >&2 <<MSG
[demo] MariaDB/MySQL and Redis must answer on 127.0.0.1 (ports 3306 and 6379), and they could not be started here.
       Start them with Docker:
           docker run -d --name hotline-mysql -p 127.0.0.1:3306:3306 -e MARIADB_ROOT_PASSWORD=choose-one \\
             -e MARIADB_USER=hotline -e MARIADB_PASSWORD=hotline \\
             -v "$PWD/docker/mysql-init.sql:/docker-entrypoint-initdb.d/10-hotline.sql:ro" mariadb:10.11
           docker run -d --name hotline-redis -p 127.0.0.1:6379:6379 redis:7-alpine
       or with the compose file (set the variables it names first: MYSQL_ROOT_PASSWORD, MYSQL_PASSWORD=hotline, ...):
           docker compose -f docker/compose.yml up -d mysql redis
       then run the demo again with:
           HOTLINE_SKIP_SERVICES=1 npm run demo
       (or point DATABASE_URL, KEYSTORE_URL and REDIS_URL at servers you run yourself)
MSG
  exit 1
fi

exec node -r ./scripts/register.js scripts/demo.ts
