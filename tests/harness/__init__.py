"""Test harness: real registries, a token server, and byte-exact OCI images.

Modules, one job each:

- :mod:`.ports` picks free TCP ports on 127.0.0.1.
- :mod:`.certs` makes the keys and certificates the others need.
- :mod:`.token_server` is a Docker token-protocol server for ``auth: token``.
- :mod:`.registry` starts and stops the CNCF ``docker-registry``.
- :mod:`.oci_builder` writes OCI layouts and ``docker save`` tarballs in Python.
- :mod:`.skopeo` and :mod:`.umoci` wrap those tools for pushing and unpacking.
- :mod:`.fixtures` holds pytest fixtures a ``conftest.py`` can import.
"""
