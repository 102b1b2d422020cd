"""The core of the registry-image resource. Core never imports a plugin.

The modules at this level are the framework and the contracts: the pluggy
markers, hook specs and plugin manager; what auth, transport and format
plugins implement (``auth``, ``transport``, ``formats``) and what ``in``
reports progress through (``progress``); the models, their converter and the
errors; the typed OCI model (``oci``: digests, media types, descriptors,
manifests, configs, platforms); references. The subpackages do the work:

- ``transport``: the transport contract, the core wrappers (retry, user
  agent, tracing) and bounded body reads;

- ``registry``: talking to a remote registry (client, connect, mirror,
  concurrent tag resolution, push);
- ``fetch``: what ``in`` reads from a registry (``FetchedImage``) and the
  metadata it reports;
- ``unpack``: layers applied to a root filesystem, confined to it;
- ``localimage``: an image on local disk (OCI layout, ``docker save``), read
  for ``out``;
- ``versions``: semver parsing, constraints, semver-mode selection for
  ``check`` and the tags ``out`` pushes.

Plugins import ``registry_image.api`` only; everything here is internal.
"""

from .markers import hookimpl

__all__ = ["hookimpl"]
