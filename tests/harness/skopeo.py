"""Thin wrappers around skopeo for putting images into and out of test registries.

Every call runs with ``--insecure-policy`` (no dependence on
/etc/containers/policy.json), explicit credentials or ``--*-no-creds`` (no
dependence on auth files), and TLS verification against the registry's own
CA when it serves HTTPS. Copies use ``--preserve-digests``, so skopeo fails
rather than rewriting a manifest. Failures raise :class:`SkopeoError` with
skopeo's stderr.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Literal

from .registry import RunningRegistry

SKOPEO_BINARY = "skopeo"
TIMEOUT_SECONDS = 120.0

Direction = Literal["src", "dest", ""]


class SkopeoError(RuntimeError):
    """skopeo exited non-zero; the message has the command and its stderr."""


def push_layout(
    layout_dir: Path,
    registry: RunningRegistry,
    repo: str,
    tag: str,
    *,
    ref_name: str | None = None,
    all_images: bool = True,
) -> None:
    """Copy the layout's image (``ref_name``, or its only one) to ``repo:tag``.

    ``all_images`` pushes an index with all its platform manifests; without
    it skopeo picks the image for this machine's platform.
    """
    source = f"oci:{layout_dir}" + (f":{ref_name}" if ref_name else "")
    _copy(source, _docker_ref(registry, f"{repo}:{tag}"), all_images, dest=registry)


def copy_to_layout(
    registry: RunningRegistry,
    ref: str,
    dest_dir: Path,
    *,
    ref_name: str | None = None,
    all_images: bool = True,
    convert: bool = False,
) -> None:
    """Copy ``ref`` (``repo:tag`` or ``repo@digest``) into the OCI layout ``dest_dir``.

    ``ref_name`` tags it in ``index.json`` (umoci needs one); without it the
    descriptor has no ref name annotation. ``convert`` rewrites Docker media
    types as OCI ones (so the digests change), as umoci needs.
    """
    destination = f"oci:{dest_dir}" + (f":{ref_name}" if ref_name else "")
    _copy(_docker_ref(registry, ref), destination, all_images, src=registry, convert=convert)


def copy_local(
    source: str, destination: str, *, all_images: bool = False, convert: bool = False
) -> None:
    """Copy between two local transports (``oci:DIR[:REF]``, ``dir:DIR``,
    ``docker-archive:TAR``): digests preserved, or with ``convert`` the
    manifest rewritten as an OCI one."""
    _copy(source, destination, all_images, convert=convert)


def inspect_raw(registry: RunningRegistry, ref: str) -> bytes:
    """The manifest (or index) bytes exactly as the registry serves them."""
    return _run(["inspect", "--raw", *_registry_flags(registry, ""), _docker_ref(registry, ref)])


def inspect(registry: RunningRegistry, ref: str) -> dict[str, Any]:
    """``skopeo inspect`` of ``ref`` (for an index: this machine's platform)."""
    output = _run(["inspect", *_registry_flags(registry, ""), _docker_ref(registry, ref)])
    result: dict[str, Any] = json.loads(output)
    return result


def inspect_layout(layout_dir: Path) -> dict[str, Any]:
    """``skopeo inspect`` of the image of an OCI layout (for an index: this machine's platform)."""
    result: dict[str, Any] = json.loads(_run(["inspect", f"oci:{layout_dir}"]))
    return result


def inspect_layout_raw(layout_dir: Path, ref_name: str) -> bytes:
    """The manifest (or index) bytes an OCI layout holds under ``ref_name``."""
    return _run(["inspect", "--raw", f"oci:{layout_dir}:{ref_name}"])


def inspect_archive(path: Path) -> dict[str, Any]:
    """``skopeo inspect`` of a ``docker save`` tarball."""
    result: dict[str, Any] = json.loads(_run(["inspect", f"docker-archive:{path}"]))
    return result


def _docker_ref(registry: RunningRegistry, ref: str) -> str:
    return f"docker://{registry.host}/{ref}"


def _copy(
    source: str,
    destination: str,
    all_images: bool,
    *,
    src: RunningRegistry | None = None,
    dest: RunningRegistry | None = None,
    convert: bool = False,
) -> None:
    args = ["copy", "--quiet", *(["--format", "oci"] if convert else ["--preserve-digests"])]
    if all_images:
        args.append("--all")
    if src is not None:
        args += _registry_flags(src, "src")
    if dest is not None:
        args += _registry_flags(dest, "dest")
    _run([*args, source, destination])


def _registry_flags(registry: RunningRegistry, direction: Direction) -> list[str]:
    """TLS and credential flags; ``direction`` is ``src``, ``dest`` or ``""`` (inspect)."""
    prefix = f"--{direction}-" if direction else "--"
    flags = []
    if registry.ca_dir is not None:
        flags += [f"{prefix}tls-verify=true", f"{prefix}cert-dir={registry.ca_dir}"]
    else:
        flags.append(f"{prefix}tls-verify=false")
    if registry.credentials is not None:
        flags.append(f"{prefix}creds={registry.username}:{registry.password}")
    else:
        flags.append(f"{prefix}no-creds")
    return flags


def _run(args: list[str]) -> bytes:
    command = [SKOPEO_BINARY, "--insecure-policy", *args]
    completed = subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    if completed.returncode != 0:
        raise SkopeoError(
            f"{' '.join(command)} exited {completed.returncode}:\n"
            f"{completed.stderr.decode(errors='replace')}"
        )
    return completed.stdout
