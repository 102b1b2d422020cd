"""Test helpers shipped with the distribution, for plugins to test themselves.

- :mod:`.oci_builder` writes OCI image layouts and ``docker save`` tarballs,
  byte for byte as described.
- :mod:`.model` states what applying layers means, on a dict of paths.
- :mod:`.strategies` generates layer stacks (hypothesis), benign and hostile.
- :mod:`.trees` snapshots directory trees and checks writes stay confined.
- :mod:`.conformance` is the suite a format plugin runs against itself.

They need the ``test`` extras (pytest, hypothesis)::

    pip install 'registry-image-resource[test]'
"""

try:
    import hypothesis  # noqa: F401
    import pytest  # noqa: F401
except ImportError as missing:
    raise ImportError(
        f"registry_image.testing needs {missing.name or 'pytest and hypothesis'}, "
        "from the test extras: pip install 'registry-image-resource[test]'",
        name=missing.name,
    ) from missing
