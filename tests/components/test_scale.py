"""A class of 200 students in one stack: the whole program declares without RecursionError.

pulumi 3.272 wraps the pickler once more for every dynamic resource; past ~300-480
of them the next one raised RecursionError. This runs the real program for 200
students (about 7,000 resources, 1,400 of them dynamic) under mocks. It takes
about two minutes on two cores.
"""

from __future__ import annotations

import pickle
from collections import Counter

import pytest

from classroom.planning.simulate import run_program

pytestmark = pytest.mark.slow


def test_two_hundred_students_in_one_stack(base_config):
    before = (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict, pickle.Pickler)
    students = [
        {"id": f"student-{i:03d}", "objectId": f"0a1b2c3d-0000-4000-8000-{i:012d}"}
        for i in range(200)
    ]
    sim = run_program({**base_config, "lab:students": students}, preview=True)
    dynamic = [
        r
        for r in sim.resources
        if r.type.startswith("pulumi-python:dynamic")
        and not r.name.startswith("default-subscription")
    ]
    # per student: linked service, artifacts, pause, pause schedule, Synapse RBAC and three
    # teardown purges;
    # and once for the class, its subscription's namespace registration.
    assert len(dynamic) == 200 * 8
    assert (
        len(sim.of_type("pulumi-python:dynamic/synapse-ml-lab:ResourceProviderRegistration")) == 1
    )
    per_student = Counter(r.name.split("-")[0] + "-" + r.name.split("-")[1] for r in dynamic)
    assert per_student == {s["id"]: 8 for s in students}
    assert sorted(sim.exports["environments"].value) == [s["id"] for s in students]
    assert (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict, pickle.Pickler) == before
