"""Build OCI image layouts and ``docker save`` tarballs in pure Python.

Tests control every byte: tar members are described by :class:`Entry`,
layers are made by :func:`layer_tar` and :func:`compress`, and
:func:`build_image` / :func:`build_index` write the blobs, ``index.json``
and ``oci-layout`` of an OCI image layout that skopeo and umoci can read;
:func:`build_raw_image` does it for layers of any bytes, valid or not.
The same inputs always give the same digests.

``index.json`` of a layout holds one descriptor per ref name (the
``org.opencontainers.image.ref.name`` annotation, ``latest`` by default);
building again with the same ref name replaces that descriptor, with another
adds one. For a multi-platform image the descriptor points at the image index
blob (not at the platform manifests): that is what ``skopeo copy --all
oci:DIR:REF docker://...`` needs to push the index itself.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
import zstandard

EntryKind = Literal["file", "dir", "symlink", "hardlink", "fifo", "chardev"]
Compression = Literal["gzip", "zstd", "none"]
MediaTypeFamily = Literal["oci", "docker"]
TarFormat = Literal["pax", "gnu"]

DEFAULT_MTIME = 1_700_000_000  # 2023-11-14T22:13:20Z
DEFAULT_CREATED = "2023-11-14T22:13:20Z"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
# Keys of build_image's ``config`` that belong at the top of the config JSON;
# all others go into its runtime ``config`` object.
TOP_LEVEL_CONFIG_KEYS = frozenset({"created", "author", "history"})

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"

_LAYER_MEDIA_TYPES: dict[tuple[MediaTypeFamily, Compression], str] = {
    ("oci", "none"): "application/vnd.oci.image.layer.v1.tar",
    ("oci", "gzip"): "application/vnd.oci.image.layer.v1.tar+gzip",
    ("oci", "zstd"): "application/vnd.oci.image.layer.v1.tar+zstd",
    ("docker", "none"): "application/vnd.docker.image.rootfs.diff.tar",
    ("docker", "gzip"): "application/vnd.docker.image.rootfs.diff.tar.gzip",
}
_TAR_TYPES: dict[EntryKind, bytes] = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "fifo": tarfile.FIFOTYPE,
    "chardev": tarfile.CHRTYPE,
}
_TAR_FORMATS: dict[TarFormat, int] = {"pax": tarfile.PAX_FORMAT, "gnu": tarfile.GNU_FORMAT}
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@attrs.frozen
class Entry:
    """One tar member, exactly as it will be written (names are not normalised)."""

    name: str
    kind: EntryKind
    content: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: float = DEFAULT_MTIME
    """Seconds; a fraction is written as a PAX ``mtime`` record (PAX layers)."""
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: tuple[tuple[str, bytes], ...] = ()
    """Extended attributes, as ``SCHILY.xattr.`` PAX records (PAX layers only)."""
    sparse: tuple[tuple[int, int], ...] = ()
    """For a file in a GNU layer: the (offset, length) regions holding data,
    at most 4; the rest of ``content`` must be zeros (holes)."""

    @classmethod
    def file(
        cls,
        name: str,
        content: bytes = b"",
        mode: int = 0o644,
        *,
        uid: int = 0,
        gid: int = 0,
        mtime: float = DEFAULT_MTIME,
        xattrs: tuple[tuple[str, bytes], ...] = (),
        sparse: tuple[tuple[int, int], ...] = (),
    ) -> Entry:
        """A regular file (a GNU sparse member when ``sparse`` is given)."""
        return cls(name, "file", content, mode, uid, gid, mtime, xattrs=xattrs, sparse=sparse)

    @classmethod
    def dir(
        cls,
        name: str,
        mode: int = 0o755,
        *,
        uid: int = 0,
        gid: int = 0,
        mtime: float = DEFAULT_MTIME,
        xattrs: tuple[tuple[str, bytes], ...] = (),
    ) -> Entry:
        """A directory."""
        return cls(name, "dir", b"", mode, uid, gid, mtime, xattrs=xattrs)

    @classmethod
    def symlink(
        cls, name: str, target: str, *, uid: int = 0, gid: int = 0, mtime: float = DEFAULT_MTIME
    ) -> Entry:
        """A symbolic link to ``target``."""
        return cls(name, "symlink", b"", 0o777, uid, gid, mtime, linkname=target)

    @classmethod
    def hardlink(cls, name: str, target: str, *, mtime: float = DEFAULT_MTIME) -> Entry:
        """A hard link to the earlier member named ``target``."""
        return cls(name, "hardlink", b"", 0o644, mtime=mtime, linkname=target)

    @classmethod
    def fifo(cls, name: str, mode: int = 0o644, *, mtime: float = DEFAULT_MTIME) -> Entry:
        """A named pipe."""
        return cls(name, "fifo", b"", mode, mtime=mtime)

    @classmethod
    def chardev(
        cls, name: str, major: int, minor: int, mode: int = 0o666, *, mtime: int = DEFAULT_MTIME
    ) -> Entry:
        """A character device."""
        return cls(name, "chardev", b"", mode, mtime=mtime, devmajor=major, devminor=minor)

    @classmethod
    def whiteout(cls, name: str, *, mtime: float = DEFAULT_MTIME) -> Entry:
        """The whiteout deleting ``name`` from lower layers: ``dir/.wh.base``."""
        parent, _, base = name.rstrip("/").rpartition("/")
        return cls.file(f"{parent}/.wh.{base}" if parent else f".wh.{base}", mtime=mtime)

    @classmethod
    def opaque(cls, dirname: str, *, mtime: float = DEFAULT_MTIME) -> Entry:
        """The opaque marker hiding lower layers' contents of ``dirname``."""
        return cls.file(f"{dirname.rstrip('/')}/.wh..wh..opq", mtime=mtime)


@attrs.frozen
class ImageSpec:
    """One image (one platform) to build: its layers and its config."""

    layers: Sequence[Sequence[Entry]]
    architecture: str = "amd64"
    os: str = "linux"
    variant: str | None = None
    compression: Compression = "gzip"
    config: Mapping[str, Any] | None = None
    """Overrides: ``created``/``author``/``history`` go to the top level, the
    rest (``Env``, ``User``, ``Entrypoint``, ``Cmd``, ``Labels``, ...) into ``config``."""
    annotations: Mapping[str, str] | None = None

    @property
    def platform(self) -> dict[str, str]:
        """The OCI platform object of this image."""
        platform = {"architecture": self.architecture, "os": self.os}
        if self.variant is not None:
            platform["variant"] = self.variant
        return platform


@attrs.frozen
class BuiltImage:
    """An image manifest written to a layout, with the digests tests compare."""

    manifest_digest: str
    manifest_bytes: bytes = attrs.field(repr=False)
    media_type: str
    config_digest: str
    config_bytes: bytes = attrs.field(repr=False)
    layer_digests: tuple[str, ...]
    diff_ids: tuple[str, ...]
    """The sha256 of each layer's uncompressed tar, as in the config's rootfs."""
    layout_dir: Path

    @property
    def descriptor(self) -> dict[str, Any]:
        """``{mediaType, digest, size}`` of the manifest."""
        return _descriptor(self.media_type, self.manifest_digest, self.manifest_bytes)


@attrs.frozen
class BuiltIndex:
    """An image index (or Docker manifest list) written to a layout."""

    index_digest: str
    index_bytes: bytes = attrs.field(repr=False)
    media_type: str
    manifests: tuple[BuiltImage, ...]
    layout_dir: Path


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class GnuLayer(list[Entry]):
    """A layer written in GNU tar format (``././@LongLink`` names, base-256
    ids, sparse members) rather than PAX; otherwise a plain list of entries."""


def layer_tar(entries: Sequence[Entry], *, tar_format: TarFormat | None = None) -> bytes:
    """An uncompressed tar of ``entries``, in order; same entries, same bytes.

    The format is PAX, or GNU for a :class:`GnuLayer` (or as ``tar_format`` says).
    """
    if tar_format is None:
        tar_format = "gnu" if isinstance(entries, GnuLayer) else "pax"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=_TAR_FORMATS[tar_format]) as tar:
        for entry in entries:
            if entry.sparse:
                _add_sparse(tar, entry)
                continue
            info = tarfile.TarInfo(entry.name)
            info.type = _TAR_TYPES[entry.kind]
            info.mode = entry.mode
            info.uid, info.gid = entry.uid, entry.gid
            info.uname = info.gname = ""
            info.mtime = entry.mtime
            info.linkname = entry.linkname
            info.devmajor, info.devminor = entry.devmajor, entry.devminor
            info.size = len(entry.content) if entry.kind == "file" else 0
            if entry.xattrs:
                info.pax_headers = {
                    "SCHILY.xattr." + key: value.decode("utf-8", "surrogateescape")
                    for key, value in entry.xattrs
                }
            tar.addfile(info, io.BytesIO(entry.content) if entry.kind == "file" else None)
    return buffer.getvalue()


def _octal(number: int, digits: int, _format: int) -> bytes:
    """A tar header number field: octal, NUL-terminated."""
    return b"%0*o\0" % (digits - 1, number)


def _add_sparse(tar: tarfile.TarFile, entry: Entry) -> None:
    """Append ``entry`` as an old-GNU sparse member (type ``S``): the header
    maps up to 4 data regions, the data holds only those regions."""
    if tar.format != tarfile.GNU_FORMAT or len(entry.sparse) > 4:
        raise ValueError("sparse members need a GNU layer and at most 4 regions")
    data = b"".join(entry.content[offset : offset + length] for offset, length in entry.sparse)
    info = tarfile.TarInfo(entry.name)
    info.type = tarfile.REGTYPE
    info.mode, info.uid, info.gid = entry.mode, entry.uid, entry.gid
    info.uname = info.gname = ""
    info.mtime = int(entry.mtime)
    info.size = len(data)
    header = bytearray(info.tobuf(tarfile.GNU_FORMAT, tar.encoding, tar.errors))
    block = len(header) - tarfile.BLOCKSIZE  # after any ././@LongLink blocks
    header[block + 156 : block + 157] = tarfile.GNUTYPE_SPARSE
    for number, (offset, length) in enumerate(entry.sparse):
        at = block + 386 + 24 * number
        header[at : at + 12] = _octal(offset, 12, tarfile.GNU_FORMAT)
        header[at + 12 : at + 24] = _octal(length, 12, tarfile.GNU_FORMAT)
    header[block + 483 : block + 495] = _octal(len(entry.content), 12, tarfile.GNU_FORMAT)
    header[block + 148 : block + 156] = b"        "
    checksum = sum(header[block : block + tarfile.BLOCKSIZE])
    header[block + 148 : block + 156] = b"%06o\0 " % checksum
    assert tar.fileobj is not None
    tar.fileobj.write(bytes(header) + data + bytes(-len(data) % tarfile.BLOCKSIZE))
    tar.offset += len(header) + len(data) + (-len(data) % tarfile.BLOCKSIZE)


def layer_media_type(compression: Compression, media_types: MediaTypeFamily = "oci") -> str:
    """The media type of a layer compressed with ``compression``."""
    media_type = _LAYER_MEDIA_TYPES.get((media_types, compression))
    if media_type is None:
        raise ValueError(f"{media_types} media types have no {compression} layers")
    return media_type


def compress(data: bytes, compression: Compression) -> bytes:
    """``data`` compressed deterministically (gzip with mtime 0)."""
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    if compression == "none":
        return data
    raise ValueError(f"unknown compression {compression!r}")


def decompress(data: bytes) -> bytes:
    """``data`` uncompressed, recognising gzip and zstd by their magic numbers."""
    if data.startswith(_GZIP_MAGIC):
        return gzip.decompress(data)
    if data.startswith(_ZSTD_MAGIC):
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


def read_blob(layout_dir: Path, digest: str) -> bytes:
    """A blob of the layout by its ``sha256:<hex>`` digest."""
    algorithm, _, hex_ = digest.partition(":")
    return (layout_dir / "blobs" / algorithm / hex_).read_bytes()


def build_image(
    layout_dir: Path,
    layers: Sequence[Sequence[Entry]],
    *,
    compression: Compression = "gzip",
    media_types: MediaTypeFamily = "oci",
    config: Mapping[str, Any] | None = None,
    architecture: str = "amd64",
    os: str = "linux",
    variant: str | None = None,
    annotations: Mapping[str, str] | None = None,
    ref_name: str | None = "latest",
) -> BuiltImage:
    """Write a single-platform image into ``layout_dir`` and tag it ``ref_name``.

    ``ref_name=None`` adds an untagged descriptor to ``index.json``.
    """
    spec = ImageSpec(layers, architecture, os, variant, compression, config, annotations)
    image = write_image(layout_dir, spec, media_types=media_types)
    _add_to_index_json(layout_dir, image.descriptor, ref_name)
    return image


def build_index(
    layout_dir: Path,
    images: Sequence[ImageSpec],
    *,
    media_types: MediaTypeFamily = "oci",
    annotations: Mapping[str, str] | None = None,
    ref_name: str | None = "latest",
) -> BuiltIndex:
    """Write a multi-platform image into ``layout_dir`` and tag it ``ref_name``.

    With ``media_types="oci"`` the index is an OCI image index, with
    ``"docker"`` a Docker manifest list. ``index.json`` gets one descriptor,
    pointing at the index blob.
    """
    manifests = tuple(write_image(layout_dir, spec, media_types=media_types) for spec in images)
    media_type = OCI_INDEX if media_types == "oci" else DOCKER_LIST
    index: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [
            {**image.descriptor, "platform": spec.platform}
            for image, spec in zip(manifests, images, strict=True)
        ],
    }
    if annotations:
        index["annotations"] = dict(annotations)
    index_bytes = _json_bytes(index)
    digest = _write_blob(layout_dir, index_bytes)
    _add_to_index_json(layout_dir, _descriptor(media_type, digest, index_bytes), ref_name)
    return BuiltIndex(digest, index_bytes, media_type, manifests, layout_dir)


def write_image(
    layout_dir: Path, spec: ImageSpec, *, media_types: MediaTypeFamily = "oci"
) -> BuiltImage:
    """Write an image's layer, config and manifest blobs; ``index.json`` is untouched."""
    media_type = layer_media_type(spec.compression, media_types)
    tars = [layer_tar(entries) for entries in spec.layers]  # GnuLayer: GNU format
    layers = [(media_type, compress(tar, spec.compression)) for tar in tars]
    diff_ids = [sha256_digest(tar) for tar in tars]
    return _write_manifest(layout_dir, spec, media_types, layers, diff_ids)


def build_raw_image(
    layout_dir: Path,
    blobs: Sequence[bytes],
    *,
    media_type: str = _LAYER_MEDIA_TYPES[("oci", "gzip")],
    ref_name: str | None = "latest",
) -> BuiltImage:
    """Write an OCI image whose layers are exactly ``blobs``, whatever they
    hold (a cut gzip stream, no tar at all), and tag it ``ref_name``.

    The config's ``diff_ids`` are the blobs' own digests.
    """
    layers = [(media_type, blob) for blob in blobs]
    spec = ImageSpec(layers=())
    image = _write_manifest(layout_dir, spec, "oci", layers, [sha256_digest(b) for b in blobs])
    _add_to_index_json(layout_dir, image.descriptor, ref_name)
    return image


def _write_manifest(
    layout_dir: Path,
    spec: ImageSpec,
    media_types: MediaTypeFamily,
    layers: Sequence[tuple[str, bytes]],
    diff_ids: Sequence[str],
) -> BuiltImage:
    """Write the layer blobs (media type, bytes), the config and the manifest."""
    layer_digests = tuple(_write_blob(layout_dir, blob) for _, blob in layers)
    config_bytes = _json_bytes(_config_json(spec, diff_ids))
    config_digest = _write_blob(layout_dir, config_bytes)
    oci = media_types == "oci"
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
        "config": _descriptor(OCI_CONFIG if oci else DOCKER_CONFIG, config_digest, config_bytes),
        "layers": [
            _descriptor(media_type, digest, blob)
            for digest, (media_type, blob) in zip(layer_digests, layers, strict=True)
        ],
    }
    if spec.annotations:
        manifest["annotations"] = dict(spec.annotations)
    manifest_bytes = _json_bytes(manifest)
    return BuiltImage(
        manifest_digest=_write_blob(layout_dir, manifest_bytes),
        manifest_bytes=manifest_bytes,
        media_type=manifest["mediaType"],
        config_digest=config_digest,
        config_bytes=config_bytes,
        layer_digests=layer_digests,
        diff_ids=tuple(diff_ids),
        layout_dir=layout_dir,
    )


def docker_save_tar(path: Path, image: BuiltImage, repo_tag: str | None) -> None:
    """Write ``image`` as the classic ``docker save`` tarball (Docker < 25).

    Members: ``<config hex>.json``; per layer a ``<v1 id>/`` directory with
    ``VERSION``, ``json`` and the uncompressed ``layer.tar`` (v1 ids are the
    layers' chain ids, so equal layers at different positions stay apart);
    ``manifest.json`` ``[{"Config", "RepoTags", "Layers"}]``; and
    ``repositories`` when ``repo_tag`` (``name:tag``) is given.
    """
    files: list[tuple[str, bytes]] = []
    config_name = image.config_digest.removeprefix("sha256:") + ".json"
    files.append((config_name, image.config_bytes))
    layer_paths: list[str] = []
    chain_id = ""
    parent: str | None = None
    for digest, diff_id in zip(image.layer_digests, image.diff_ids, strict=True):
        tar = decompress(read_blob(image.layout_dir, digest))
        chain_id = diff_id if not chain_id else sha256_digest(f"{chain_id} {diff_id}".encode())
        layer_id = chain_id.removeprefix("sha256:")
        v1_json: dict[str, Any] = {"id": layer_id, "created": DEFAULT_CREATED}
        if parent is not None:
            v1_json["parent"] = parent
        files += [
            (f"{layer_id}/VERSION", b"1.0"),
            (f"{layer_id}/json", _json_bytes(v1_json)),
            (f"{layer_id}/layer.tar", tar),
        ]
        layer_paths.append(f"{layer_id}/layer.tar")
        parent = layer_id
    repo_tags = [repo_tag] if repo_tag else []
    manifest = [{"Config": config_name, "RepoTags": repo_tags, "Layers": layer_paths}]
    files.append(("manifest.json", _json_bytes(manifest)))
    if repo_tag and parent is not None:
        repository, _, tag = repo_tag.rpartition(":")
        files.append(("repositories", _json_bytes({repository: {tag: parent}})))
    path.write_bytes(layer_tar([Entry.file(name, content) for name, content in files]))


def _config_json(spec: ImageSpec, diff_ids: Sequence[str]) -> dict[str, Any]:
    overrides = dict(spec.config or {})
    config: dict[str, Any] = {"created": DEFAULT_CREATED, **spec.platform}
    config.update({k: v for k, v in overrides.items() if k in TOP_LEVEL_CONFIG_KEYS})
    config["config"] = {k: v for k, v in overrides.items() if k not in TOP_LEVEL_CONFIG_KEYS}
    config["rootfs"] = {"type": "layers", "diff_ids": list(diff_ids)}
    return config


def _descriptor(media_type: str, digest: str, content: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest, "size": len(content)}


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _write_blob(layout_dir: Path, data: bytes) -> str:
    digest = sha256_digest(data)
    blob_dir = layout_dir / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    (blob_dir / digest.removeprefix("sha256:")).write_bytes(data)
    return digest


def _add_to_index_json(layout_dir: Path, descriptor: dict[str, Any], ref_name: str | None) -> None:
    """Add ``descriptor`` to ``index.json``, replacing any with the same ref name."""
    (layout_dir / "oci-layout").write_bytes(_json_bytes({"imageLayoutVersion": "1.0.0"}))
    index_path = layout_dir / "index.json"
    manifests: list[dict[str, Any]] = []
    if index_path.exists():
        manifests = json.loads(index_path.read_bytes())["manifests"]
    if ref_name is not None:
        manifests = [
            d for d in manifests if d.get("annotations", {}).get(REF_NAME_ANNOTATION) != ref_name
        ]
        descriptor = {**descriptor, "annotations": {REF_NAME_ANNOTATION: ref_name}}
    manifests.append(descriptor)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    index_path.write_bytes(_json_bytes(index))
