"""Property tests of the unpacker.

1. Any generated layer stack (files, directories, symlinks, hard links,
   FIFOs, whiteouts, opaque markers) gives the tree the in-memory model
   (``registry_image.testing.model``) predicts, or fails exactly when the
   model does.
2. Hostile stacks (``..`` names, absolute names, symlinks and hard links
   pointing out, whiteouts of parents) never change anything outside the
   root, whether they fail or not.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from registry_image.core.errors import ImageError, UnsafeLayerError
from registry_image.testing.model import failure, predict
from registry_image.testing.oci_builder import Entry
from registry_image.testing.strategies import hostile_stacks, layer_stacks
from registry_image.testing.trees import hardlink_groups, sandbox

from tests.get.helpers import PRIVILEGED, unpack

SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


ERROR_KINDS: dict[str, type[Exception]] = {"unsafe": UnsafeLayerError, "malformed": ImageError}


@SETTINGS
@given(stack=layer_stacks(), privileged=st.booleans())
# user.* xattrs need write permission: as an ordinary user they must be set
# before a mode without owner write (found by the unprivileged CI run).
@example(stack=[[Entry.file("f", mode=0, xattrs=(("user.a", b"\0"),))]], privileged=False)
def test_any_layer_stack_matches_the_model(stack: list[list[Entry]], privileged: bool) -> None:
    model = predict(stack)
    expected_failure = failure(stack)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        try:
            unpack(root, stack, privileged=privileged and PRIVILEGED)
        except (ImageError, UnsafeLayerError) as exc:
            assert expected_failure is not None, (
                f"the unpacker failed where the model did not: {exc}"
            )
            kind = ERROR_KINDS[expected_failure]
            assert isinstance(exc, kind), (
                f"a {expected_failure} stack failed with {type(exc).__name__}: {exc}"
            )
            assert str(exc).startswith("layer "), f"error without its layer: {exc}"
            return
        assert model is not None, "the unpacker accepted a stack the model refuses"
        with_owner = privileged and PRIVILEGED
        assert model.observed(root, with_owner=with_owner) == model.expected(with_owner=with_owner)
        assert hardlink_groups(root) == model.link_groups()


@SETTINGS
@given(stack=hostile_stacks())
def test_hostile_stacks_never_touch_anything_outside(stack: list[list[Entry]]) -> None:
    with tempfile.TemporaryDirectory() as directory, sandbox(Path(directory), "root") as root:
        try:
            unpack(root, stack)
        except (ImageError, UnsafeLayerError) as exc:
            assert str(exc).startswith("layer "), f"error without its layer: {exc}"
