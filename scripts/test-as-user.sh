#!/usr/bin/env bash
# Run the README's test command (`make test`) as an ordinary user, from a
# fresh clone that user owns: the rootless paths (no chown, read-only
# directories, umoci --rootless) run for real. Must be started as root, which
# creates the user if missing (TEST_USER, default registry-image-test).
set -euo pipefail
cd "$(dirname "$0")/.."

user=${TEST_USER:-registry-image-test}
if [ "$(id -u)" -ne 0 ]; then
  echo "test-as-user: must run as root (to create and switch to $user)" >&2
  exit 1
fi
id -u "$user" >/dev/null 2>&1 || useradd --create-home --user-group --shell /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)
mkdir -p "$home"
chown "$user:" "$home"

# A fresh clone of this checkout's HEAD, owned by the user; its own .venv,
# .hypothesis and caches are created inside it and under $home.
work="$home/registry-image-resource"
rm -rf "$work"
git clone --quiet --no-hardlinks "$PWD" "$work"
git -C "$work" checkout --quiet --detach "$(git rev-parse HEAD)"
chown -R "$user:" "$work"

echo "test-as-user: make test as $user (uid $(id -u "$user")) in $work" >&2
runuser -u "$user" -- env HOME="$home" USER="$user" LOGNAME="$user" \
  XDG_CACHE_HOME="$home/.cache" TMPDIR=/tmp make -C "$work" test
