"""Test harness: real registries, a token server, a fault-injecting proxy.

Modules, one job each:

- :mod:`.ports` picks free TCP ports on 127.0.0.1.
- :mod:`.certs` makes the keys and certificates the others need.
- :mod:`.token_server` is a Docker token-protocol server for ``auth: token``.
- :mod:`.registry` starts and stops the CNCF ``docker-registry``.
- :mod:`.skopeo` and :mod:`.umoci` wrap those tools for pushing and unpacking.
- :mod:`.proxy` records and breaks the traffic between a client and a registry.
- :mod:`.fixtures` holds pytest fixtures a ``conftest.py`` can import.

Byte-exact OCI images, tree snapshots and the layer model live in the
package, :mod:`registry_image.testing`, where plugins can use them too.
"""
