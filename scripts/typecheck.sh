#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping, so give it a view of the
# `registry_image` namespace made of symlinks to the root folders.
set -euo pipefail
cd "$(dirname "$0")/.."
view=.typecheck/registry_image
rm -rf .typecheck
mkdir -p "$view"
for folder in api core plugins resource testing; do
  ln -s "../../$folder" "$view/$folder"
done
MYPYPATH=.typecheck exec .venv/bin/mypy --namespace-packages --explicit-package-bases -p registry_image "$@"
