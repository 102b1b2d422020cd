"""The layer-stack generator reaches the hard cases, in measured proportions.

Run with ``-s`` to see the table (or ``--hypothesis-show-statistics`` on any
test drawing ``layer_stacks``, which labels each stack with ``event()``).
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from registry_image.testing.strategies import Stack, describe, layer_stacks

EXAMPLES = 400
# Lower bounds, as a share of stacks, well under what the generator gives
# (see the README's table) so that the test fails on a regression, not on luck.
AT_LEAST = {
    "stack: applies": 0.80,
    "hard-link group in the result": 0.05,
    "hard-link group survives a whiteout of one of its paths": 0.005,
    "GNU layer": 0.15,
    "long name or link target (> 100 bytes)": 0.10,
    "non-UTF-8 name": 0.10,
    "xattr user.*": 0.10,
    "xattr security.capability": 0.05,
    "FIFO": 0.15,
    "sparse file": 0.03,
    "uid or gid >= 2**21": 0.15,
    "sub-second mtime": 0.15,
    "whiteout or opaque marker": 0.30,
}


def test_generated_stacks_reach_the_hard_cases() -> None:
    counts: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(layer_stacks())
    def draw(stack: Stack) -> None:
        counts["total"] += 1
        counts.update(describe(stack))

    draw()
    total = counts.pop("total")
    assert total >= EXAMPLES * 0.9, f"only {total} stacks drawn"
    print(f"\n{total} generated stacks:")
    for label, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"  {count / total:6.1%}  {label}")
    low = {
        label: f"{counts[label] / total:.1%} < {share:.0%}"
        for label, share in AT_LEAST.items()
        if counts[label] / total < share
    }
    assert not low, f"the generator under-reaches: {low}"
    fails = total - counts["stack: applies"]
    assert counts["stack: fails, unsafe"] + counts["stack: fails, malformed"] == fails
