#!/usr/bin/env bash
# Install what the tests and the demo need, idempotently:
# Debian's docker-registry (the CNCF distribution registry), skopeo and umoci
# (peer oracles), iproute2 (the ECR tests bring loopback up in a private
# network namespace), then this package with its test extras (moto, botocore,
# azure-identity, google-auth) into ./.venv, again whenever pyproject.toml
# changes.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(docker-registry skopeo umoci iproute2)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$python" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing registry-image-resource into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip setuptools
  .venv/bin/python -m pip install -q -e '.[test,dev]'
  touch "$stamp"
fi
