"""lab.placement: students onto subscriptions by capacity-weighted rendezvous hashing."""

from __future__ import annotations

from collections import Counter

import pytest

from lab.placement import PlacementError, Subscription, place


def roster(n, prefix="s"):
    return [f"{prefix}{i:03d}" for i in range(n)]


@pytest.mark.parametrize(
    "n, capacities",
    [(1, [5, 5]), (20, [10, 10, 10]), (57, [20, 20, 20]), (200, [80, 80, 80]), (200, [150, 60])],
)
def test_placement_respects_capacity_and_is_deterministic(n, capacities):
    subs = [Subscription(f"sub-{i}", c) for i, c in enumerate(capacities)]
    ids = roster(n)
    first = place(ids, subs)
    assert sorted(first) == sorted(ids)
    counts = Counter(first.values())
    for sub in subs:
        assert counts[sub.id] <= sub.capacity
    assert place(list(reversed(ids)), subs) == first  # order of the roster does not matter
    if n >= 20:
        assert len(counts) == len(subs)  # the class is spread, not piled into one


@pytest.mark.parametrize(
    "n, capacities", [(20, [10, 10, 10]), (57, [25, 25, 25]), (200, [90, 90, 90])]
)
def test_adding_or_removing_a_student_in_the_middle_moves_nobody_else(n, capacities):
    subs = [Subscription(f"sub-{i}", c) for i, c in enumerate(capacities)]
    ids = roster(n)
    before = place(ids, subs)
    middle = n // 2
    added = place(ids[:middle] + ["newcomer"] + ids[middle:], subs)
    assert {s: added[s] for s in ids} == before
    removed_ids = ids[:middle] + ids[middle + 1 :]
    removed = place(removed_ids, subs)
    assert {s: before[s] for s in removed_ids} == removed


def test_roster_larger_than_total_capacity_is_refused():
    subs = [Subscription("sub-a", 20), Subscription("sub-b", 20)]
    with pytest.raises(
        PlacementError, match="41 students do not fit in the total capacity of lab:subscriptions"
    ):
        place(roster(41), subs)
    assert len(place(roster(40), subs)) == 40  # exactly full fits


def test_pinned_students_stay_where_they_are_pinned():
    subs = [Subscription("sub-a", 3), Subscription("sub-b", 30)]
    pins = {"s000": "sub-a", "s001": "sub-a", "s002": "sub-a"}
    placed = place(roster(25), subs, pins)
    assert [placed[s] for s in pins] == ["sub-a"] * 3
    assert Counter(placed.values())["sub-a"] == 3
    with pytest.raises(
        PlacementError, match="4 students are pinned to subscription sub-a, whose capacity is 3"
    ):
        place(roster(25), subs, {**pins, "s003": "sub-a"})
