"""Differential test on generated layer stacks: ``in`` (rootfs format) of an
image pushed to the real registry equals ``umoci raw unpack`` of the same
image copied back from that registry, in every attribute umoci keeps: type,
mode, content, link target, hard-link identity, mtime (nanoseconds), xattrs,
and, as root, owner (as an ordinary user both give every path to the caller).

Stacks come from :func:`registry_image.testing.strategies.layer_stacks`;
stacks that must fail are the model's business (``test_applier_properties``),
and the intended differences with umoci (README, "Conformance", "Intended
differences from umoci"; as code in :mod:`tests.get.umoci_differences`) are
filtered out of the generator or compared as documented, each counted by a
hypothesis ``event()``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from registry_image.testing.model import failure, predict
from registry_image.testing.oci_builder import Entry, GnuLayer
from registry_image.testing.strategies import Stack, layer_stacks
from registry_image.testing.trees import hardlink_groups

from tests.conftest import PROFILE
from tests.get import umoci_differences as differences
from tests.get.helpers import PRIVILEGED
from tests.get.registry_helpers import TAG, push_image, run_in
from tests.harness import skopeo
from tests.harness.registry import RunningRegistry
from tests.harness.umoci import raw_unpack

# Each example pushes, copies back, runs `in` and umoci: about 1 s.
EXAMPLES = 100 if PROFILE == "long" else 12


def _umoci_comparable(stack: Stack) -> Stack:
    if any(entry.sparse for layer in stack for entry in layer):
        event(f"rewritten: {differences.SPARSE} as a plain file")
    return differences.for_umoci(stack)


def _applies_alike(stack: Stack) -> bool:
    if failure(stack) is not None:
        return False
    met = differences.stack_differences(stack)
    for label in sorted(met):
        event(f"filtered out: {label}")
    return not met


umoci_stacks = layer_stacks().map(_umoci_comparable).filter(_applies_alike)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(stack=umoci_stacks)
def test_generated_stacks_unpack_as_umoci_unpacks_them(
    registry_anonymous: RunningRegistry, stack: Stack
) -> None:
    model = predict(stack)
    assert model is not None
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        repo, image = push_image(registry_anonymous, work, stack)
        run = run_in(registry_anonymous, repo, image.manifest_digest, work / "dest")
        assert run.returncode == 0, run.stderr
        assert run.json()["version"]["digest"] == image.manifest_digest
        ours = work / "dest" / "rootfs"

        copied = work / "copied"
        skopeo.copy_to_layout(registry_anonymous, f"{repo}:{TAG}", copied, ref_name=TAG)
        theirs = work / "umoci"
        raw_unpack(copied, TAG, theirs)

        rootless = not PRIVILEGED
        expected = differences.comparable(
            model.observed(theirs, with_owner=PRIVILEGED),
            model,
            theirs,
            umoci=True,
            rootless=rootless,
        )
        actual = differences.comparable(
            model.observed(ours, with_owner=PRIVILEGED), model, ours, umoci=False, rootless=rootless
        )
        assert actual.keys() == expected.keys()
        for path, node in expected.items():
            assert actual[path] == node, path
        assert hardlink_groups(ours) == hardlink_groups(theirs)
    event("compared as root (owners too)" if PRIVILEGED else "compared rootless (no owners)")


def test_the_documented_differences_are_detected() -> None:
    """Each stack-level intended difference is recognised (the filter works)."""
    sparse = [GnuLayer([Entry.file("s", b"\0a", sparse=((1, 1),))])]
    self_link = [[Entry.file("a", b"a")], [Entry.hardlink("a", "/a")]]
    parent_mtime = [[Entry.dir("d", mtime=5)], [Entry.file("d/new/f")]]
    dir_xattrs = [
        [Entry.dir("d", xattrs=(("user.a", b"1"),))],
        [Entry.dir("d", xattrs=(("user.b", b"2"),))],
    ]
    assert differences.stack_differences(sparse) == {differences.SPARSE}
    assert differences.stack_differences(self_link) == {differences.SELF_LINK}
    assert differences.stack_differences(parent_mtime) == {differences.PARENT_MTIME}
    assert differences.stack_differences(dir_xattrs) == {differences.DIR_XATTRS}
    # ... and not where the difference does not show in the result
    assert not differences.stack_differences([*parent_mtime, [Entry.dir("d", mtime=7)]])
    assert not differences.stack_differences([[Entry.dir("d")], [Entry.file("d/f")]])
    same_keys = [dir_xattrs[0], [Entry.dir("d", xattrs=(("user.a", b"2"),))]]
    assert not differences.stack_differences(same_keys)
    assert not any(e.sparse for layer in differences.for_umoci(sparse) for e in layer)
    assert isinstance(differences.for_umoci(sparse)[0], GnuLayer)
