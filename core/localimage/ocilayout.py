"""Read an OCI image layout (a directory or a tar of one) for ``out``.

What gets pushed, as the Go resource decides it:

- ``index.json`` is the starting index. While it lists exactly one entry and
  that entry is itself an index, that index is used instead (nested
  one-entry indexes are unwrapped).
- With a ``single-image-digest`` file (what ``in`` writes for a
  single-platform image), the image manifest it names is pushed.
- Otherwise the index is pushed as is, byte for byte, so a multi-arch image
  keeps its digest. Better than upstream: when that index lists exactly one
  entry and it is an image manifest (``skopeo copy ... oci:DIR``, buildkit's
  ``type=oci`` output), the image itself is pushed rather than a one-entry
  index without platform, which pulls would not match.

Every manifest read is checked against its digest and size; every blob must
be present with the size its descriptor gives (foreign layers excepted).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, ImageError
from ..oci import Digest, Manifest, MediaType, media_type_of, parse_json
from ..oci.documents import Descriptor, structure
from ..reference import parse_repository
from ..transport.body import MAX_MANIFEST_BYTES
from .filetree import FileTree
from .image import Blob, LocalImage

SINGLE_IMAGE_DIGEST = "single-image-digest"
BASE_NAME_ANNOTATION = "org.opencontainers.image.base.name"


class _LayoutReader:
    def __init__(self, tree: FileTree) -> None:
        self.tree = tree
        self.where = tree.description
        self.manifests: dict[str, Manifest] = {}
        self.blobs: dict[str, Blob] = {}
        self.origins: list[str] = []

    # -- reading ------------------------------------------------------------

    def _descriptor(self, value: object, what: str) -> tuple[Digest, int, str]:
        descriptor: Descriptor = structure(
            _with_media_type(value), Descriptor, f"{self.where}: {what}"
        )
        return descriptor.digest, descriptor.size, descriptor.media_type

    def manifest(self, descriptor: object, what: str) -> tuple[Manifest, dict[str, Any]]:
        """A manifest blob named by a descriptor, verified."""
        digest, size, declared = self._descriptor(descriptor, what)
        content = self._read_blob(digest, MAX_MANIFEST_BYTES, what)
        if size != len(content):
            raise ImageError(
                f"{self.where}: {what} {digest} has {len(content)} bytes, "
                f"its descriptor says {size}"
            )
        return self._manifest_from(digest, content, declared, what)

    def manifest_by_digest(self, digest: str, declared: str) -> tuple[Manifest, dict[str, Any]]:
        content = self._read_blob(digest, MAX_MANIFEST_BYTES, SINGLE_IMAGE_DIGEST)
        return self._manifest_from(digest, content, declared, SINGLE_IMAGE_DIGEST)

    def _manifest_from(
        self, digest: str, content: bytes, declared: str, what: str
    ) -> tuple[Manifest, dict[str, Any]]:
        expected = Digest(digest)
        if Digest.of(content, expected.algorithm) != digest:
            raise ImageError(f"{self.where}: {what} {digest} does not hash to its digest")
        document = parse_json(content, f"{self.where}: manifest {digest}")
        return Manifest(media_type_of(document, declared), expected, content), document

    def _read_blob(self, digest: str, limit: int, what: str) -> bytes:
        parsed = Digest(digest)
        member = self.tree.find(f"blobs/{parsed.algorithm}/{parsed.hex}")
        if member is None:
            raise ImageError(f"{self.where}: {what} {digest} is missing from blobs/")
        return member.read(limit)

    # -- walking ------------------------------------------------------------

    def walk(self, manifest: Manifest, document: dict[str, Any]) -> None:
        """Collect ``manifest``, everything below it first."""
        if manifest.digest in self.manifests:
            return
        self._note_origin(document)
        if manifest.media_type.is_index or (
            not manifest.media_type.is_manifest and "manifests" in document
        ):
            entries = document.get("manifests")
            if not isinstance(entries, list):
                raise ImageError(f"{self.where}: index {manifest.digest} has no manifests list")
            for number, entry in enumerate(entries):
                child, child_document = self.manifest(
                    entry, f"manifest {number} of index {manifest.digest}"
                )
                self.walk(child, child_document)
        else:
            self._image_blobs(manifest, document)
        self.manifests[manifest.digest] = manifest

    def _image_blobs(self, manifest: Manifest, document: dict[str, Any]) -> None:
        layers = document.get("layers", [])
        if "config" not in document or not isinstance(layers, list):
            raise ImageError(
                f"{self.where}: manifest {manifest.digest} has no config or layers "
                f"(media type {manifest.media_type!r})"
            )
        described = [("config", document["config"])]
        described += [(f"layer {n}", layer) for n, layer in enumerate(layers)]
        for what, descriptor in described:
            digest, size, media_type = self._descriptor(
                descriptor, f"{what} of manifest {manifest.digest}"
            )
            if digest not in self.blobs:
                self.blobs[digest] = self._blob(digest, size, media_type, what, manifest.digest)

    def _blob(self, digest: Digest, size: int, media_type: str, what: str, owner: str) -> Blob:
        member = self.tree.find(f"blobs/{digest.algorithm}/{digest.hex}")
        if MediaType(media_type).is_foreign:
            return Blob(digest, size, media_type)
        if member is None:
            raise ImageError(
                f"{self.where}: {what} {digest} of manifest {owner} is missing from blobs/"
            )
        if member.size != size:
            raise ImageError(
                f"{self.where}: blob {digest} has {member.size} bytes, manifest {owner} says {size}"
            )
        return Blob(digest, size, media_type, member.open)

    def _note_origin(self, document: dict[str, Any]) -> None:
        annotations = document.get("annotations")
        if not isinstance(annotations, dict):
            return
        base = annotations.get(BASE_NAME_ANNOTATION)
        if isinstance(base, str) and base:
            name = repository_of_reference(base)
            if name and name not in self.origins:
                self.origins.append(name)


def repository_of_reference(reference: str) -> str | None:
    """``host/path`` of an image reference with tag or digest, or None."""
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    try:
        return parse_repository(name).name
    except ConfigError:
        return None


def _entries(document: dict[str, Any], what: str) -> list[Any]:
    entries = document.get("manifests")
    if not isinstance(entries, list):
        raise ImageError(f"{what} has no manifests list")
    return entries


def _find_descriptor_type(reader: _LayoutReader, document: dict[str, Any], digest: str) -> str:
    """The media type the index tree gives ``digest``, or ""."""
    for entry in document.get("manifests") or []:
        if not isinstance(entry, dict):
            continue
        if entry.get("digest") == digest:
            media_type = entry.get("mediaType")
            return media_type if isinstance(media_type, str) else ""
        if MediaType(str(entry.get("mediaType"))).is_index:
            try:
                _, child = reader.manifest(entry, "index")
            except ImageError:
                continue
            found = _find_descriptor_type(reader, child, digest)
            if found:
                return found
    return ""


def read_layout(tree: FileTree) -> LocalImage:
    """The image to push from an OCI layout; ``ImageError`` when malformed."""
    reader = _LayoutReader(tree)
    where = tree.description
    index_member = tree.find("index.json")
    if index_member is None:
        raise ImageError(f"{where} is not an OCI image layout: it has no index.json")
    content = index_member.read(MAX_MANIFEST_BYTES)
    document = parse_json(content, f"{where}/index.json")
    index = Manifest(media_type_of(document, MediaType.OCI_INDEX), Digest.of(content), content)
    entries = _entries(document, f"{where}/index.json")
    while len(entries) == 1 and _is_index_entry(entries[0]):
        index, document = reader.manifest(entries[0], "nested index")
        entries = _entries(document, f"{where}: index {index.digest}")
    if not entries:
        raise ImageError(f"{where}: the image index lists no manifests")

    single = tree.find(SINGLE_IMAGE_DIGEST)
    if single is not None:
        digest = single.read(1024).decode("utf-8", "replace").strip()
        try:
            Digest.parse(digest)
        except ImageError:
            raise ImageError(f"{where}/{SINGLE_IMAGE_DIGEST}: invalid digest {digest!r}") from None
        root, root_document = reader.manifest_by_digest(
            digest, _find_descriptor_type(reader, document, digest)
        )
    elif len(entries) == 1:
        root, root_document = reader.manifest(entries[0], "manifest")
    else:
        root, root_document = index, document
    reader.walk(root, root_document)
    return LocalImage(
        root=root,
        manifests=tuple(reader.manifests.values()),
        blobs=tuple(reader.blobs.values()),
        origins=tuple(reader.origins),
    )


def _is_index_entry(entry: object) -> bool:
    return isinstance(entry, dict) and MediaType(str(entry.get("mediaType"))).is_index


def _with_media_type(value: object) -> object:
    """A descriptor whose ``mediaType`` may be missing (layouts in the wild
    leave it out): the empty type, so the rest is still validated."""
    if isinstance(value, dict) and "mediaType" not in value:
        return {**value, "mediaType": ""}
    return value
