"""Unpacking image layers into a root filesystem.

- ``compression``: sniff gzip / zstd / plain tar from magic bytes and
  decompress as a bounded stream.
- ``paths``: clean entry names and resolve parents inside the root without
  ever following a symlink out of it.
- ``applier``: apply tar entries with whiteout, hard link, ownership, mode
  and mtime semantics.
- ``tarstream``: the layer as ``tarfile`` reads it fastest (forward-only
  seeking, common headers parsed in one step).
- ``pipeline``: one thread parses the tar and reads the data, another
  applies the entries, in order.

``apply_layer`` ties them together for one layer stream: decompress, apply,
then read the stream to its very end so that the compression's own checks
(and the caller's digest check) see every byte.
"""

from __future__ import annotations

from .applier import LayerStats, Unpacker
from .compression import LayerFormatError, Readable, decompressed

__all__ = ["LayerFormatError", "LayerStats", "Readable", "Unpacker", "apply_layer"]

DRAIN_CHUNK = 1024 * 1024


def apply_layer(unpacker: Unpacker, blob: Readable, layer: str) -> LayerStats:
    """Apply one (possibly compressed) layer blob with ``unpacker``.

    ``blob`` yields the layer's bytes as stored in the registry; ``layer``
    names the layer in errors. After the tar's end-of-archive marker the rest
    of the decompressed stream is read and discarded, so corrupt or
    truncated compressed data is an error even past the end of the tar.
    """
    _, plain = decompressed(blob)
    stats = unpacker.apply_layer(plain, layer)
    try:
        while plain.read(DRAIN_CHUNK):
            pass
    except LayerFormatError as exc:
        raise LayerFormatError(f"{layer}: after the end of the tar: {exc}") from None
    return stats
