"""The histogram route to percentiles gives exactly ``percentile_cont``'s numbers."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from router.reports import percentiles
from router.reports.facts import BUCKETS_PER_E

FRACTIONS = (0.5, 0.9)


def percentile_cont(values: list[int], p: float) -> float:
    """PostgreSQL's definition: linear interpolation between the ranks around (n - 1) * p."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (pos - lo) * (ordered[hi] - ordered[lo])


def bucket(ms: int) -> int:
    return math.floor(math.log(max(ms, 0) + 1) * BUCKETS_PER_E)


def via_histogram(groups: dict[str, list[int]]) -> dict[percentiles.Group, dict[float, float]]:
    """What the database does, played in Python: count per bucket, then rank inside the wanted buckets."""
    histogram: dict[tuple[str, str, str, int], int] = {}
    for name, values in groups.items():
        for v in values:
            at = ("m", "dim", name, bucket(v))
            histogram[at] = histogram.get(at, 0) + 1
    positions = percentiles.plan(((*at, n) for at, n in histogram.items()), FRACTIONS)
    found = {}
    for w in percentiles.wanted(positions):
        inside = sorted(v for v in groups[w.group[2]] if bucket(v) == w.bucket)
        found[w] = float(inside[w.rank - 1])
    return percentiles.finish(positions, found)


@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c"]),
        st.lists(st.one_of(st.integers(-5, 10**10), st.sampled_from([0, 1, 1000, 60_000])), min_size=1, max_size=300),
        min_size=1,
    )
)
def test_same_as_percentile_cont(groups: dict[str, list[int]]) -> None:
    got = via_histogram(groups)
    for name, values in groups.items():
        for p in FRACTIONS:
            assert got[("m", "dim", name)][p] == percentile_cont(values, p)


def test_one_value_and_ties() -> None:
    assert via_histogram({"a": [42]})[("m", "dim", "a")] == {0.5: 42.0, 0.9: 42.0}
    assert via_histogram({"a": [7, 7, 7, 7]})[("m", "dim", "a")] == {0.5: 7.0, 0.9: 7.0}
    # p90 of [900, 1800, 28800] seconds: 1800 + 0.8 * 27000
    assert via_histogram({"a": [900_000, 1_800_000, 28_800_000]})[("m", "dim", "a")][0.9] == 23_400_000.0
