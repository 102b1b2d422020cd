"""Talking to a remote registry over the distribution API.

- ``client``: ``Registry``, the client for one repository: ping, challenge
  and authentication, manifests (hashed and verified), tags, blobs.
- ``connect``: from ``source`` to a ready ``Registry`` (reference,
  credentials, TLS).
- ``mirror``: ``registry_mirror``, asked before Docker Hub.
- ``resolve``: many tags resolved at once over a bounded pool.
- ``push``: a ``LocalImage`` uploaded blob by blob, then its manifests.

``Registry`` and ``ManifestHead`` are exported here (and ``Manifest``, from
``oci``, for older imports).
"""

from ..oci import Manifest
from .client import ManifestHead, Registry

__all__ = ["Manifest", "ManifestHead", "Registry"]
