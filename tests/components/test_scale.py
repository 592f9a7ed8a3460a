"""A full section in one stack: the whole program declares every student alike, and leaves the pickler as found.

A class runs in section stacks of at most ``lab:sectionSize`` students (default 25,
lab/config.py); this runs the real program for a section of the default size under
mocks (about 1,200 resources, 200 of them dynamic). Every student must declare the same
resources, and the program must leave ``pickle``'s patched methods as it found them:
pulumi 3.272 wraps them once more for every dynamic resource, and past ~300-480
wrappers the next one raised RecursionError (providers/base.py, the pickler guard).
Unchanged methods after 200 dynamic resources mean no depth accumulates, whatever the
count; tests/providers/test_engine_path.py declares 1,500 of them in one program, and
bench/bench_plan.py runs this program for 200 students in one stack (two minutes under
mocks, so a benchmark rather than a test).
"""

from __future__ import annotations

import pickle
from collections import Counter

import pytest

from classroom.planning.simulate import run_program
from lab.config import DEFAULT_SECTION_SIZE

pytestmark = pytest.mark.slow


def _student_of(name: str) -> str | None:
    parts = name.split("-")
    return "-".join(parts[:2]) if name.startswith("student-") else None


def test_a_full_section_declares_every_student_alike(base_config):
    before = (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict, pickle.Pickler)
    size = DEFAULT_SECTION_SIZE
    students = [
        {"id": f"student-{i:03d}", "objectId": f"0a1b2c3d-0000-4000-8000-{i:012d}"}
        for i in range(size)
    ]
    sim = run_program({**base_config, "lab:students": students}, preview=True)
    assert not [w for w in sim.warnings if "more than lab:sectionSize" in w]

    dynamic = [
        r
        for r in sim.resources
        if r.type.startswith("pulumi-python:dynamic")
        and not r.name.startswith("default-subscription")
    ]
    # per student: linked service, artifacts, pause, pause schedule, Synapse RBAC and three
    # teardown purges;
    # and once for the class, its subscription's namespace registration.
    assert len(dynamic) == size * 8
    assert (
        len(sim.of_type("pulumi-python:dynamic/synapse-ml-lab:ResourceProviderRegistration")) == 1
    )
    assert Counter(_student_of(r.name) for r in dynamic) == {s["id"]: 8 for s in students}

    # Every student declares the same resources, type for type: none is left out or doubled.
    kinds: dict[str, Counter] = {}
    for r in sim.resources:
        student = _student_of(r.name)
        if student is not None:
            kinds.setdefault(student, Counter())[r.type] += 1
    assert sorted(kinds) == [s["id"] for s in students]
    first = kinds[students[0]["id"]]
    assert sum(first.values()) > 40 and first["azure-native:synapse:Workspace"] == 1
    assert all(kinds[s["id"]] == first for s in students)
    # ... and no two role assignments share a name (a GUID Azure keeps once per scope and
    # refuses to reuse for another principal or role).
    assignments = [
        r.inputs["roleAssignmentName"]
        for r in sim.of_type("azure-native:authorization:RoleAssignment")
    ]
    assert len(assignments) >= size * first["azure-native:authorization:RoleAssignment"]
    assert len(set(assignments)) == len(assignments)

    assert sorted(sim.exports["environments"].value) == [s["id"] for s in students]
    assert (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict, pickle.Pickler) == before
