"""From the path ``params.image`` matched to the ``LocalImage`` to push.

- a directory is an OCI image layout;
- a tar file with ``manifest.json`` is a ``docker save`` tarball (Docker 25
  and later also write ``index.json`` into it; ``manifest.json`` wins, as for
  the Go resource);
- a tar file with ``index.json`` and no ``manifest.json`` is an OCI layout
  as a tar (``skopeo copy ... oci-archive:``, buildkit ``type=oci``), which
  the Go resource refuses.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ImageError
from .dockersave import read_docker_save
from .filetree import DirTree, TarTree
from .image import LocalImage
from .ocilayout import read_layout


def open_image(path: Path) -> LocalImage:
    """The image at ``path``; close it (or use ``with``) to drop temporary files."""
    if path.is_dir():
        return read_layout(DirTree(path))
    if not path.is_file():
        raise ImageError(f"{path} is neither a directory nor a file")
    tree = TarTree(path)
    if tree.find("manifest.json") is not None:
        return read_docker_save(tree)
    if tree.find("index.json") is not None:
        return read_layout(tree)
    raise ImageError(
        f"{path} is neither a docker save tarball (no manifest.json) "
        "nor an OCI layout tarball (no index.json)"
    )
