"""An image on local disk, read for ``out``.

- ``loader``: from the path ``params.image`` matched to a ``LocalImage``:
  a directory, a ``docker save`` tarball or an OCI layout tar.
- ``image``: ``LocalImage``, its manifests and lazily opened blobs, what
  ``registry.push`` sends.
- ``ocilayout``: read an OCI image layout (directory or tar).
- ``dockersave``: read a ``docker save`` tarball.
- ``filetree``: one read-only view of the files of a directory or a tar.
"""
