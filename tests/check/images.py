"""Put small images and many tags into a test registry, fast, over HTTP.

Every image is a config blob and a manifest without layers (the registry
accepts it, and ``check`` never looks at layers), so a repository with
hundreds of tags is written in well under a second: one manifest PUT per
tag. Works against the anonymous, basic and token registries of the
harness (tokens are signed directly by the registry's token server).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import requests

from tests.harness.registry import RunningRegistry

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@attrs.frozen
class Pushed:
    """A manifest in the registry."""

    digest: str
    content: bytes = attrs.field(repr=False)
    media_type: str

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": len(self.content),
            **extra,
        }


class Writer:
    """Writes blobs, manifests and tags into one repository."""

    def __init__(self, registry: RunningRegistry, repo: str) -> None:
        self.registry = registry
        self.repo = repo
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        self.session.verify = str(registry.ca_file) if registry.ca_file else True
        if registry.token_server is not None:
            token = registry.token_server.issue_token(
                registry.username or "",
                [{"type": "repository", "name": repo, "actions": ["pull", "push", "delete"]}],
            )
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif registry.credentials is not None:
            self.session.auth = registry.credentials
        self.base = f"{registry.url}/v2/{repo}"

    def close(self) -> None:
        self.session.close()

    def blob(self, data: bytes) -> str:
        """Upload ``data`` (POST then PUT); its digest."""
        digest = digest_of(data)
        started = self.session.post(f"{self.base}/blobs/uploads/", timeout=30)
        started.raise_for_status()
        location = requests.compat.urljoin(self.registry.url, started.headers["Location"])
        done = self.session.put(location, params={"digest": digest}, data=data, timeout=30)
        done.raise_for_status()
        return digest

    def image(
        self,
        name: str,
        *,
        created: str | None = None,
        architecture: str = "amd64",
        os: str = "linux",
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> Pushed:
        """An image whose config names ``name`` (so each name has its own
        digest), stored by digest; tag it with :meth:`tag`."""
        config: dict[str, Any] = {
            "architecture": architecture,
            "os": os,
            "rootfs": {"type": "layers", "diff_ids": []},
            "config": {"Labels": {"test.image": name, **(labels or {})}},
        }
        if created is not None:
            config["created"] = created
        config_bytes = _json(config)
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "digest": self.blob(config_bytes),
                "size": len(config_bytes),
            },
            "layers": [],
        }
        if annotations:
            manifest["annotations"] = dict(annotations)
        return self.manifest(_json(manifest), OCI_MANIFEST)

    def index(self, images: Sequence[tuple[Pushed, Mapping[str, str]]]) -> Pushed:
        """An image index of ``(image, platform)`` pairs, stored by digest."""
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [image.descriptor(platform=dict(p)) for image, p in images],
        }
        return self.manifest(_json(index), OCI_INDEX)

    def manifest(self, content: bytes, media_type: str, reference: str | None = None) -> Pushed:
        """PUT a manifest under ``reference`` (default: its own digest)."""
        digest = digest_of(content)
        response = self.session.put(
            f"{self.base}/manifests/{reference or digest}",
            data=content,
            headers={"Content-Type": media_type},
            timeout=30,
        )
        response.raise_for_status()
        return Pushed(digest, content, media_type)

    def tag(self, tag: str, pushed: Pushed) -> None:
        """Point ``tag`` at ``pushed``."""
        self.manifest(pushed.content, pushed.media_type, tag)

    def delete(self, pushed: Pushed) -> None:
        """Delete a manifest by digest, and with it every tag naming it."""
        response = self.session.delete(f"{self.base}/manifests/{pushed.digest}", timeout=30)
        assert response.status_code == 202, response.text

    def listed_tags(self) -> list[str]:
        """The registry's own ``tags/list`` answer, in its order."""
        response = self.session.get(f"{self.base}/tags/list", timeout=30)
        response.raise_for_status()
        tags: list[str] = response.json()["tags"]
        return tags


def populate(
    writer: Writer,
    tags: Sequence[tuple[str, str]],
    created: Mapping[str, str] | None = None,
) -> dict[str, Pushed]:
    """Push one image per distinct name and tag it; ``tags`` are ``(tag,
    image name)`` pairs. Returns image name -> pushed image."""
    images: dict[str, Pushed] = {}
    for tag, name in tags:
        if name not in images:
            images[name] = writer.image(name, created=(created or {}).get(name))
        writer.tag(tag, images[name])
    return images
