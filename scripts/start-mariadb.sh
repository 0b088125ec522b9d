#!/usr/bin/env bash
# Starts the machine's MariaDB server when nothing listens on 127.0.0.1:3306 and
# waits until it answers. apps/api's tests run against it.
set -euo pipefail
up() { (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; }
if up; then echo "MariaDB already listening on 127.0.0.1:3306"; exit 0; fi
if [ ! -x /usr/sbin/mariadbd ]; then
  echo "MariaDB is not installed (/usr/sbin/mariadbd missing); apps/api's database tests will fail" >&2
  exit 1
fi
start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
for _ in $(seq 1 60); do
  if up; then echo "MariaDB started"; exit 0; fi
  sleep 1
done
echo "MariaDB did not start within 60 s" >&2
exit 1
