#!/usr/bin/env bash
# Makes sure MariaDB/MySQL and Redis answer on this machine: starts local ones where it can,
# installs them with apt-get where absent (as root), and creates the `hotline` (migrator) account;
# each app's own account is made by `npm run migrate` (scripts/db-accounts.ts). Gives each app its own
# Redis ACL user (hotline-gateway, hotline-records, hotline-worker: the rules `npm run -s cli -- redis:acl`
# prints, libs/config/src/redis-acl.ts) with the local development passwords (REDIS_GATEWAY_PASSWORD,
# REDIS_RECORDS_PASSWORD, REDIS_WORKER_PASSWORD override them); Redis's `default` user stays as it is here
# (the tests' set-up and this script use it).
# Set HOTLINE_SKIP_SERVICES=1 when DATABASE_URL/REDIS_URL point at servers you run yourself.
set -euo pipefail
[ "${HOTLINE_SKIP_SERVICES:-0}" = "1" ] && exit 0

say() { printf '[services] %s\n' "$*" >&2; }
SUDO=""
[ "$(id -u)" = "0" ] || SUDO="sudo -n"

db_up() { mysqladmin --protocol=tcp -h127.0.0.1 -P3306 -uhotline -photline ping >/dev/null 2>&1 || mysqladmin -uroot ping >/dev/null 2>&1; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && timeout 2 head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
apt_install() {
  if ! command -v apt-get >/dev/null; then say "cannot install $* here: no apt-get. Start MariaDB 10.11 and Redis 7 yourself (docker compose -f docker/compose.yml up -d mysql redis)."; exit 1; fi
  [ -f /tmp/.hotline-apt-updated ] || { $SUDO apt-get update -qq && touch /tmp/.hotline-apt-updated; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if ! db_up; then
  if ! command -v mariadbd >/dev/null && ! command -v mysqld >/dev/null; then
    say "installing MariaDB (apt-get)"; apt_install mariadb-server mariadb-client
  fi
  say "starting MariaDB"
  $SUDO mkdir -p /run/mysqld && $SUDO chown mysql:mysql /run/mysqld 2>/dev/null || true
  if [ ! -d /var/lib/mysql/mysql ]; then $SUDO mariadb-install-db --user=mysql >/dev/null 2>&1 || true; fi
  # A hand-started mariadbd needs --user=mysql, or it dies silently.
  $SUDO start-stop-daemon --start --oknodo --background --exec "$(command -v mariadbd || command -v mysqld)" -- --user=mysql >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do db_up && break; sleep 0.5; done
  db_up || { say "MariaDB did not come up; see /var/log/mysql"; exit 1; }
fi

# `hotline` is the migrator: every right on the hotline* databases, WITH GRANT OPTION and CREATE USER,
# so that `npm run migrate` (and the tests' globalSetup) can create each app's own account and give it
# only its grants (scripts/db-accounts.sql). The apps never connect as `hotline`.
migrator_ready() {
  local grants
  grants=$(mysql --protocol=tcp -h127.0.0.1 -P3306 -uhotline -photline -N -e 'SHOW GRANTS' 2>/dev/null) || return 1
  grep -q 'CREATE USER' <<<"$grants" && grep -q 'ON `hotline%`.\* TO .* WITH GRANT OPTION' <<<"$grants"
}
if ! migrator_ready; then
  say "creating the hotline (migrator) database account"
  # Debian's root logs in over the socket only; the apps use their own accounts over TCP.
  $SUDO mysql -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'hotline'@'localhost' IDENTIFIED BY 'hotline';
CREATE USER IF NOT EXISTS 'hotline'@'127.0.0.1' IDENTIFIED BY 'hotline';
CREATE USER IF NOT EXISTS 'hotline'@'%' IDENTIFIED BY 'hotline';
GRANT ALL PRIVILEGES ON `hotline%`.* TO 'hotline'@'localhost' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON `hotline%`.* TO 'hotline'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON `hotline%`.* TO 'hotline'@'%' WITH GRANT OPTION;
GRANT CREATE USER ON *.* TO 'hotline'@'localhost';
GRANT CREATE USER ON *.* TO 'hotline'@'127.0.0.1';
GRANT CREATE USER ON *.* TO 'hotline'@'%';
FLUSH PRIVILEGES;
SQL
fi

if ! redis_up; then
  if ! command -v redis-server >/dev/null; then say "installing Redis (apt-get)"; apt_install redis-server; fi
  say "starting Redis"
  $SUDO mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/hotline.log >/dev/null
  for _ in $(seq 1 40); do redis_up && break; sleep 0.25; done
  redis_up || { say "Redis did not come up"; exit 1; }
fi

# The apps' Redis users, every time (ACL SETUSER ... reset: the rules as they are now; a restarted
# redis-server without an ACL file has forgotten them). Needs node_modules (ensure-deps runs first).
cd "$(dirname "$0")/.."
if ! acl_out=$(node -r ./scripts/register.js -e '
  const acl = require("./libs/config/src/redis-acl.ts");
  const Redis = require("ioredis");
  const r = new Redis("redis://127.0.0.1:6379/0", { maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on("error", () => undefined);
  (async () => {
    for (const args of acl.redisAclSetUserArgs(acl.localRedisPasswords())) await r.call("ACL", ...args);
  })().then(
    () => { r.disconnect(); },
    (e) => { process.stderr.write(String(e.message).slice(0, 200)); r.disconnect(); process.exitCode = 1; },
  );' 2>&1); then
  # Redis answers (this script's promise); the apps will name WRONGPASS if their users are really missing.
  say "could not create the apps' Redis users on 127.0.0.1:6379 (${acl_out}). If this Redis is compose's, its users come from its ACL file; otherwise create them as an administrator: npm run -s cli -- redis:acl | redis-cli"
fi
exit 0
