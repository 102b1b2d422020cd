"""Shared pieces of the ``out`` integration tests."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import requests
from registry_image.core.auth import Credentials
from registry_image.core.localimage.image import LocalImage
from registry_image.core.localimage.loader import open_image
from registry_image.core.oci import MANIFEST_ACCEPT
from registry_image.core.plugins import load_plugins
from registry_image.core.reference import Repository
from registry_image.core.registry import Registry
from registry_image.core.transport import RetryPolicy, TransportSettings
from registry_image.testing.oci_builder import Entry, build_image

from tests.harness.registry import RunningRegistry
from tests.harness.resource import run_resource, source_for

# Retries as the transport does them, but quick: tests inject failures on purpose.
FAST_RETRY = RetryPolicy(attempts=4, initial_delay=0.01, max_delay=2.0, total=30.0)


def push_registry(
    host: str,
    repo: str,
    *,
    credentials: tuple[str, str] | None = None,
    retry: RetryPolicy = FAST_RETRY,
) -> Registry:
    """A ``pull,push`` client for ``host/repo`` with quick retries."""
    return Registry(
        Repository(host, repo),
        load_plugins(),
        credentials=Credentials(*credentials) if credentials else None,
        settings=TransportSettings(retry=retry),
        actions=("pull", "push"),
    )


def random_layers(sizes: list[int], seed: str) -> list[list[Entry]]:
    """One layer per size, each a file of incompressible bytes."""
    layers = []
    for number, size in enumerate(sizes):
        data = _noise(size, f"{seed}-{number}")
        layers.append([Entry.file(f"data-{number}.bin", data)])
    return layers


def _noise(size: int, seed: str) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest() * 64
        counter += 1
    return bytes(out[:size])


def layout_image(directory: Path, sizes: list[int], seed: str) -> LocalImage:
    """A single-image OCI layout of incompressible layers, opened for pushing."""
    build_image(directory, random_layers(sizes, seed), compression="none")
    return open_image(directory)


def _authorization(registry: RunningRegistry, repo: str) -> dict[str, str]:
    """Headers that let a plain client read ``repo`` (pull token or Basic)."""
    if registry.token_server is not None:
        response = requests.get(
            registry.token_server.url,
            params={"service": registry.token_server.service, "scope": f"repository:{repo}:pull"},
            auth=registry.credentials,
            timeout=30,
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['token']}"}
    if registry.credentials is not None:
        username, password = registry.credentials
        basic = requests.auth._basic_auth_str(username, password)
        return {"Authorization": basic}
    return {}


def registry_get(
    registry: RunningRegistry, repo: str, path: str, *, method: str = "GET", **headers: str
) -> requests.Response:
    """A request straight to the registry for ``repo``, with its credentials."""
    return requests.request(
        method,
        f"{registry.url}/v2/{repo}/{path}",
        headers={**_authorization(registry, repo), **headers},
        timeout=30,
    )


def blob_sha256(registry: RunningRegistry, repo: str, digest: str) -> str:
    """The sha256 of a blob as the registry serves it."""
    response = registry_get(registry, repo, f"blobs/{digest}")
    response.raise_for_status()
    return "sha256:" + hashlib.sha256(response.content).hexdigest()


def tags_of(registry: RunningRegistry, repo: str) -> list[str] | None:
    """The repository's tags; None when the registry does not know it."""
    response = registry_get(registry, repo, "tags/list")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    tags: list[str] = response.json().get("tags") or []
    return tags


def manifest_digest(registry: RunningRegistry, repo: str, reference: str) -> str | None:
    response = registry_get(
        registry, repo, f"manifests/{reference}", method="HEAD", Accept=MANIFEST_ACCEPT
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


def out_request(source: dict[str, Any], **params: Any) -> dict[str, Any]:
    return {"source": source, "params": params}


def dump(value: Any) -> str:
    return json.dumps(value, indent=2)


def tree_files(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` by relative path."""
    return {
        os.fspath(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def fetch_layout(registry: RunningRegistry, repo: str, version: dict[str, str], dest: Path) -> Path:
    """``in`` with ``format: oci-layout`` through the CLI, as Concourse runs
    it; the ``oci`` layout it wrote (``dest`` also gets ``repository``)."""
    dest.mkdir(parents=True, exist_ok=True)
    source = source_for(registry, repo)
    request = {"source": source, "version": version, "params": {"format": "oci-layout"}}
    result = run_resource("in", request, str(dest))
    assert result.json()["version"] == version
    assert (dest / "repository").read_text() == source["repository"]
    return dest / "oci"
