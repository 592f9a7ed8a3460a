"""Placing a class's students across subscriptions: deterministic, capacity-aware, stable.

A subscription caps its Synapse workspaces and Spark vCores, so a large class is
spread over several (``lab:subscriptions``). Each student ranks the
subscriptions by a hash of (student id, subscription id) weighted by capacity
(weighted rendezvous hashing), so a student's place depends on their own id
alone: adding or removing another student never moves them. Only when a
subscription is full does anyone go to their next choice, and then the students
with the strongest hash for it keep it (a stable matching, which depends on the
set of students and not on their order in the roster). A student can also be
pinned with ``subscription`` in ``lab:students``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Subscription:
    id: str
    capacity: int


class PlacementError(ValueError):
    pass


def score(student_id: str, subscription: Subscription) -> float:
    """Weighted rendezvous score: higher is preferred; weight = capacity."""
    digest = hashlib.sha256(f"{student_id}|{subscription.id.lower()}".encode()).digest()
    unit = (int.from_bytes(digest[:8], "big") + 1) / (2**64 + 1)  # in (0, 1)
    return -subscription.capacity / math.log(unit)


def place(
    student_ids: Sequence[str],
    subscriptions: Sequence[Subscription],
    pinned: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Student id -> subscription id. Raises PlacementError when the roster does not fit."""
    pinned = dict(pinned or {})
    by_id = {s.id: s for s in subscriptions}
    total = sum(s.capacity for s in subscriptions)
    if len(student_ids) > total:
        raise PlacementError(
            f"{len(student_ids)} students do not fit in the total capacity of lab:subscriptions "
            f"({total}: "
            + ", ".join(f"{s.id} holds {s.capacity}" for s in subscriptions)
            + "); add a subscription or raise a capacity"
        )
    placement: dict[str, str] = {}
    room = {s.id: s.capacity for s in subscriptions}
    for sid, sub in pinned.items():
        if sub not in by_id:
            raise PlacementError(
                f"student '{sid}' is pinned to subscription {sub}, which is not in lab:subscriptions"
            )
        placement[sid] = sub
        room[sub] -= 1
    for sub, left in room.items():
        if left < 0:
            raise PlacementError(
                f"{by_id[sub].capacity - left} students are pinned to subscription {sub}, "
                f"whose capacity is {by_id[sub].capacity}"
            )
    free = [s for s in student_ids if s not in placement]
    # Student-proposing deferred acceptance; each subscription keeps its highest scores.
    preferences = {
        s: sorted(
            (sub for sub in subscriptions if room[sub.id] > 0),
            key=lambda sub: (-score(s, sub), sub.id),
        )
        for s in free
    }
    next_choice = {s: 0 for s in free}
    held: dict[str, list[str]] = {sub.id: [] for sub in subscriptions}
    queue = sorted(free)
    while queue:
        student = queue.pop()
        choices = preferences[student]
        if next_choice[student] >= len(choices):  # cannot happen while the roster fits
            raise PlacementError(f"no subscription has room for student '{student}'")
        chosen = choices[next_choice[student]]
        next_choice[student] += 1
        held[chosen.id].append(student)
        if len(held[chosen.id]) > room[chosen.id]:
            held[chosen.id].sort(key=lambda s, chosen=chosen: (-score(s, chosen), s))
            queue.append(held[chosen.id].pop())
    for sub_id, students in held.items():
        for s in students:
            placement[s] = sub_id
    return {s: placement[s] for s in student_ids}
