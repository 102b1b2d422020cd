#!/usr/bin/env bash
# CI: build ./Dockerfile for real and run the image the way Concourse runs a
# resource: /opt/resource/check, in and out, JSON on stdin, against a local
# registry on 127.0.0.1. No Docker daemon: buildah (chroot isolation, vfs).
#
# 1. Base image: Debian bookworm with python3, made by debootstrap and turned
#    into an OCI layout by scripts/rootfs_to_layout.py. Cached between runs in
#    $IMAGE_TEST_CACHE, keyed by the package list (and that script), rebuilt
#    after $IMAGE_TEST_MAX_AGE_DAYS days.
# 2. A throwaway docker-registry on 127.0.0.1; the base image is pushed to it
#    with our own `out` (from .venv), and checked against skopeo.
# 3. buildah bud with BASE_IMAGE pointing at it.
# 4. In a container of the built image: check and out as a uid with no passwd
#    entry; in: rootfs as root, oci and oci-layout as that uid; out again with
#    what in wrote. Every digest is compared with what skopeo inspect reports.
# Everything it starts or creates is removed on exit (set IMAGE_TEST_KEEP=1 to
# keep the work directory).
#
# Needs root (debootstrap, buildah). Environment:
#   IMAGE_TEST_CACHE         cache directory (default /var/cache/registry-image-ci)
#   IMAGE_TEST_MIRROR        Debian mirror (default http://deb.debian.org/debian)
#   IMAGE_TEST_MAX_AGE_DAYS  rebuild the cached base image after this (default 7)
#   IMAGE_TEST_KEEP          1: keep the work directory for inspection
set -euo pipefail
cd "$(dirname "$0")/.."

cache_dir=${IMAGE_TEST_CACHE:-/var/cache/registry-image-ci}
mirror=${IMAGE_TEST_MIRROR:-http://deb.debian.org/debian}
max_age_days=${IMAGE_TEST_MAX_AGE_DAYS:-7}
suite=bookworm
include=python3,python3-venv,ca-certificates
image="registry-image-resource:ci"
host_ca_bundle=/etc/ssl/certs/ca-certificates.crt

log() { printf 'image-test: %s\n' "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}

# Timings from bash's own clock, in microseconds.
now_us() { echo "${EPOCHREALTIME/./}"; }
seconds_since() { # microsecond timestamp -> "12.3"
  local elapsed=$(($(now_us) - $1))
  printf '%d.%d' $((elapsed / 1000000)) $((elapsed % 1000000 / 100000))
}
started=$(now_us)
phase_started=$started
timings=()
phase_done() { # record how long the phase that just ended took
  local took
  took=$(seconds_since "$phase_started")
  timings+=("$(printf '%-22s %6ss' "$1" "$took")")
  log "$1: ${took}s"
  phase_started=$(now_us)
}

# A field of a JSON document on stdin: json_get version.digest | 0.digest | length.
json_get() {
  python3 -c '
import json, sys
value = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    if part == "length":
        value = len(value)
        continue
    value = value[int(part)] if isinstance(value, list) else value[part]
print(value if isinstance(value, str) else json.dumps(value))
' "$1"
}

expect_equal() { # what, expected, actual
  [ "$2" = "$3" ] || die "$1: expected '$2', got '$3'"
  log "ok: $1 = $3"
}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and buildah); run it with sudo"

# --- tools -------------------------------------------------------------------
packages=(buildah debootstrap docker-registry skopeo)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
scripts/setup.sh # .venv, for pushing the base image with our own `out`
phase_done "tools"

# --- work directory, cleanup -------------------------------------------------
work=$(mktemp -d /tmp/registry-image-test.XXXXXX)
storage=(--root "$work/storage" --runroot "$work/runroot" --storage-driver vfs)
registry_pid=
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
      log "registry log (tail):"
      tail -n 20 "$work/registry.log" >&2 || true
    fi
  fi
  if [ "${IMAGE_TEST_KEEP:-}" = 1 ]; then
    log "keeping $work (buildah ${storage[*]} ...)"
  else
    buildah "${storage[@]}" rm --all >/dev/null 2>&1 || true
    buildah "${storage[@]}" rmi --all --force >/dev/null 2>&1 || true
    # A debootstrap that failed half-way can leave proc/sys mounted.
    findmnt -rn -o TARGET | grep -F "$work/" | sort -r | xargs -r -n1 umount -l || true
    rm -rf --one-file-system "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# --- 1. base image: debootstrap -> OCI layout, cached ------------------------
arch=$(dpkg --print-architecture)
layout_script_sum=$(sha256sum scripts/rootfs_to_layout.py | cut -c1-64)
key=$(printf '%s\n' "$suite" minbase "$include" "$mirror" "$arch" "$layout_script_sum" \
  | sha256sum | cut -c1-16)
base_layout=$cache_dir/python-base-$key
mkdir -p "$cache_dir"
exec {cache_lock}>"$cache_dir/.lock"
flock "$cache_lock" # one builder of the cache at a time
if [ -f "$base_layout/index.json" ] \
  && [ -z "$(find "$base_layout/index.json" -mtime "+$max_age_days")" ]; then
  log "base image: cached $base_layout"
else
  log "base image: debootstrap $suite ($include) from $mirror"
  rootfs=$work/rootfs
  if ! debootstrap --variant=minbase --include="$include" "$suite" "$rootfs" "$mirror" \
    >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    die "debootstrap failed (log above)"
  fi
  # What an image does not need (as Debian's own slim images): package
  # downloads, apt lists, logs, documentation.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  find "$rootfs/var/log" -type f -delete
  staging=$(mktemp -d "$cache_dir/.python-base.XXXXXX")
  python3 scripts/rootfs_to_layout.py "$rootfs" "$staging/layout" --cmd python3 \
    --created-by "debootstrap --variant=minbase --include=$include $suite" >/dev/null
  rm -rf "$rootfs"
  find "$cache_dir" -mindepth 1 -maxdepth 1 -name 'python-base-*' -exec rm -rf {} +
  mv "$staging/layout" "$base_layout"
  rmdir "$staging"
  log "base image: cached as $base_layout"
fi
flock -u "$cache_lock"
layout_digest=$(json_get manifests.0.digest <"$base_layout/index.json")
phase_done "base image"

# --- 2. registry, push the base with our own `out` ---------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
registry=127.0.0.1:$port
cat >"$work/registry.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: "$registry", secret: "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"}
EOF
(
  # REGISTRY_* variables would override the config.
  while read -r name; do unset "$name"; done < <(compgen -e | grep '^REGISTRY_' || true)
  exec docker-registry serve "$work/registry.yml"
) >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  kill -0 "$registry_pid" 2>/dev/null || die "docker-registry exited"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || die "docker-registry not listening on $registry"
log "registry: $registry"

# skopeo's view of a pushed tag, the oracle for every digest below.
remote_digest() {
  skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$registry/$1"
}

push_src=$work/push-base
mkdir -p "$push_src/base"
cp -al "$base_layout" "$push_src/base/python-base" 2>/dev/null \
  || cp -a "$base_layout" "$push_src/base/python-base"
.venv/bin/registry-image out "$push_src" >"$work/out-base.json" <<EOF \
  || die "registry-image out (host .venv) could not push the base image"
{"source": {"repository": "$registry/ci/python-base", "tag": "latest"},
 "params": {"image": "base/*"}}
EOF
base_digest=$(json_get version.digest <"$work/out-base.json")
expect_equal "pushed base digest (out) vs layout manifest" "$layout_digest" "$base_digest"
expect_equal "pushed base digest (out) vs skopeo" "$(remote_digest ci/python-base:latest)" \
  "$base_digest"
phase_done "registry + push base"

# --- 3. build ----------------------------------------------------------------
build_args=(--build-arg "BASE_IMAGE=$registry/ci/python-base:latest")
if [ -f "$host_ca_bundle" ]; then
  # pip in the builder stage trusts what this host trusts (e.g. a proxy's CA).
  # A build-time mount: it is not part of any layer.
  build_args+=(--volume "$host_ca_bundle:/run/host-ca/ca-certificates.crt:ro"
    --build-arg PIP_CERT=/run/host-ca/ca-certificates.crt)
fi
buildah "${storage[@]}" bud --isolation chroot --tls-verify=false --layers=false \
  "${build_args[@]}" -t "$image" -f Dockerfile . >"$work/build.log" 2>&1 || {
  tail -n 40 "$work/build.log" >&2
  die "buildah bud failed (log above)"
}
image_size=$(buildah "${storage[@]}" images --format '{{.Size}}' "$image")
log "built $image ($image_size)"
phase_done "buildah bud"

# --- 4. run it as Concourse does ---------------------------------------------
container=$(buildah "${storage[@]}" from --pull-never "$image")
run() { # run [buildah run options] -- command...
  buildah "${storage[@]}" run --isolation chroot --network host "$@"
}
# Concourse may run a resource as any uid: one with no passwd entry.
any_uid=4242:4242
source_json="{\"repository\": \"$registry/ci/python-base\", \"tag\": \"latest\"}"

run --user "$any_uid" "$container" -- sh -c \
  'test ! -e /opt/venv/bin/pip && test ! -e /src && test ! -e /build && test ! -e /run/host-ca/ca-certificates.crt' \
  </dev/null || die "the image holds build leftovers (pip, /src, /build or the build CA)"
log "ok: no pip, sources, build tools or build-time CA in the image"
phase_done "image contents"

check_out=$(run --user "$any_uid" "$container" -- /opt/resource/check <<<"{\"source\": $source_json}") \
  || die "check failed"
log "check: $check_out"
expect_equal "check: number of versions" 1 "$(json_get length <<<"$check_out")"
expect_equal "check: digest" "$base_digest" "$(json_get 0.digest <<<"$check_out")"
phase_done "check"

# out, from a task's output: the base layout, copied into the container.
buildah "${storage[@]}" copy "$container" "$push_src/base/python-base" /tmp/put/base/python-base \
  >/dev/null
put_request="{\"source\": {\"repository\": \"$registry/ci/pushed\", \"tag\": \"ci\"}, \"params\": {\"image\": \"base/*\"}}"
out_out=$(run --user "$any_uid" "$container" -- /opt/resource/out /tmp/put <<<"$put_request") \
  || die "out failed"
log "out: $out_out"
pushed_digest=$(json_get version.digest <<<"$out_out")
expect_equal "out: digest vs skopeo" "$(remote_digest ci/pushed:ci)" "$pushed_digest"
expect_equal "out: digest vs layout manifest" "$layout_digest" "$pushed_digest"
phase_done "out"

# in, three formats: rootfs as root (ownership applies), oci and oci-layout as
# an unprivileged uid; what oci and oci-layout wrote goes back out.
# The version exactly as check emitted it, as Concourse passes it.
version_json=$(json_get 0 <<<"$check_out")
in_request() { # format
  printf '{"source": %s, "version": %s, "params": {"format": "%s"}}' \
    "$source_json" "$version_json" "$1"
}
# Concourse creates DEST, owned by the user the resource runs as.
run "$container" -- sh -c "mkdir /tmp/get-rootfs && install -d -o ${any_uid%:*} -g ${any_uid#*:} \
  /tmp/get-oci /tmp/get-oci-layout" </dev/null
in_out=$(run "$container" -- /opt/resource/in /tmp/get-rootfs <<<"$(in_request rootfs)") \
  || die "in (format rootfs) failed"
log "in (rootfs): $in_out"
expect_equal "in (rootfs): version digest" "$base_digest" "$(json_get version.digest <<<"$in_out")"
expect_equal "in (rootfs): digest file" "$base_digest" \
  "$(run "$container" -- cat /tmp/get-rootfs/digest </dev/null)"
run "$container" -- test -x /tmp/get-rootfs/rootfs/usr/bin/python3 </dev/null \
  || die "in (rootfs): no executable rootfs/usr/bin/python3"
log "ok: in (rootfs) wrote rootfs/usr/bin/python3"

for format in oci oci-layout; do
  in_out=$(run --user "$any_uid" "$container" -- /opt/resource/in "/tmp/get-$format" \
    <<<"$(in_request "$format")") || die "in (format $format) failed"
  log "in ($format): $in_out"
  expect_equal "in ($format): version digest" "$base_digest" \
    "$(json_get version.digest <<<"$in_out")"
done
phase_done "in"

# image.tar is docker-save form: out builds a Docker manifest for it, so its
# digest is its own; the OCI layout goes back byte for byte.
for image_path in get-oci/image.tar get-oci-layout/oci; do
  repository=ci/from-${image_path%%/*}
  put_request="{\"source\": {\"repository\": \"$registry/$repository\", \"tag\": \"ci\"}, \"params\": {\"image\": \"$image_path\"}}"
  out_out=$(run --user "$any_uid" "$container" -- /opt/resource/out /tmp <<<"$put_request") \
    || die "out of $image_path failed"
  log "out ($image_path): $out_out"
  pushed_digest=$(json_get version.digest <<<"$out_out")
  expect_equal "out ($image_path): digest vs skopeo" "$(remote_digest "$repository:ci")" \
    "$pushed_digest"
done
expect_equal "in (oci-layout) then out keeps the digest" "$base_digest" \
  "$(remote_digest ci/from-get-oci-layout:ci)"
phase_done "out of what in wrote"

log "PASSED in $(seconds_since "$started")s; image $image: $image_size"
printf '  %s\n' "${timings[@]}" >&2
