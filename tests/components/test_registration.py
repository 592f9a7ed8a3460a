"""Under mocks: each subscription's namespaces are registered once, before its students' resources.

And the list of namespaces covers every resource type the program declares: the
namespace is read from the ARM id each declared resource gets (simulate.py builds
ids the way Azure does), so a new resource type of an unregistered namespace fails here.
"""

from __future__ import annotations

import re

import pytest

from classroom.planning.simulate import FAKE_SUBSCRIPTION, Simulation, run_program
from lab.azure_namespaces import (
    ALWAYS_REGISTERED,
    AZURE_NATIVE_MODULES,
    REQUIRED_NAMESPACES,
    RESOURCE_TYPES,
    namespace_of,
)

REGISTRATION = "pulumi-python:dynamic/synapse-ml-lab:ResourceProviderRegistration"
SETUP = "synapse-ml-lab:subscription:SubscriptionSetup"
ENV = "synapse-ml-lab:lab:LabEnvironment"
SUB_A = "aaaaaaaa-0000-4000-8000-000000000001"
SUB_B = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.fixture(scope="module")
def one_student():
    from tests.conftest import BASE_CONFIG

    return run_program({**BASE_CONFIG, "lab:students": [{"id": "ann"}]})


@pytest.fixture(scope="module")
def two_subscriptions():
    from tests.conftest import BASE_CONFIG

    students = [{"id": f"s{i}"} for i in range(6)] + [{"id": "pinned", "subscription": SUB_B}]
    return run_program(
        {
            **BASE_CONFIG,
            "lab:students": students,
            "lab:subscriptions": [{"id": SUB_A, "capacity": 10}, {"id": SUB_B, "capacity": 10}],
        }
    )


def reaches(sim: Simulation, start: str, target: str) -> bool:
    """Whether ``start`` depends on ``target``, directly or through other resources."""
    seen, frontier = set(), [start]
    while frontier:
        urn = frontier.pop()
        if urn == target:
            return True
        if urn in seen:
            continue
        seen.add(urn)
        r = sim.by_urn(urn)
        frontier += r.dependencies + [u for urns in r.property_dependencies.values() for u in urns]
    return False


def test_a_one_student_stack_registers_the_default_subscription_once(one_student):
    sim = one_student
    (registration,) = sim.of_type(REGISTRATION)
    (setup,) = sim.of_type(SETUP)
    assert registration.parent == setup.urn and setup.name == "default-subscription"
    assert registration.inputs["subscription_id"] == FAKE_SUBSCRIPTION
    assert registration.inputs["namespaces"] == list(REQUIRED_NAMESPACES)
    assert (
        "Microsoft.Synapse" in REQUIRED_NAMESPACES and "Microsoft.Insights" in REQUIRED_NAMESPACES
    )


def test_every_resource_of_the_student_waits_for_the_registration(one_student):
    sim = one_student
    (registration,) = sim.of_type(REGISTRATION)
    env = sim.one(ENV, "ann")
    rg = next(
        r for r in sim.descendants_of(env) if r.type == "azure-native:resources:ResourceGroup"
    )
    assert registration.urn in rg.dependencies  # direct: no value expresses the order
    custom = [r for r in sim.descendants_of(env) if r.custom and not r.type.startswith("random:")]
    assert len(custom) >= 25
    late = [r.name for r in custom if not reaches(sim, r.urn, registration.urn)]
    assert late == []
    for typ in ("azure-native:synapse:Workspace", "azure-native:machinelearningservices:Workspace"):
        workspace = next(r for r in sim.descendants_of(env) if r.type == typ)
        assert reaches(sim, workspace.urn, registration.urn), typ
    # The registration itself depends on nothing of any student.
    assert registration.dependencies == []


def test_one_registration_per_subscription_with_students_and_each_student_waits_for_its_own(
    two_subscriptions,
):
    sim = two_subscriptions
    registrations = {r.inputs["subscription_id"]: r for r in sim.of_type(REGISTRATION)}
    assert sorted(registrations) == [SUB_A, SUB_B]
    assert sorted(s.name for s in sim.of_type(SETUP)) == [
        f"subscription-{SUB_A}",
        f"subscription-{SUB_B}",
    ]
    placed = sim.exports["environments"].value
    assert {e["subscription"] for e in placed.values()} == {SUB_A, SUB_B}
    for student, env_output in placed.items():
        env = next(e for e in sim.of_type(ENV) if e.name == student)
        rg = next(
            r for r in sim.descendants_of(env) if r.type == "azure-native:resources:ResourceGroup"
        )
        own = registrations[env_output["subscription"]]
        other = registrations[SUB_B if own is registrations[SUB_A] else SUB_A]
        assert own.urn in rg.dependencies and other.urn not in rg.dependencies, student


def _declared_namespaces(sim: Simulation) -> dict[str, str]:
    """type token -> the ARM namespace in the id the resource got (``/providers/<ns>/``)."""
    found = {}
    for r in sim.resources:
        if not r.type.startswith("azure-native:") or not r.custom:
            continue
        ids = re.findall(r"/providers/(Microsoft\.[A-Za-z]+)/", str(r.outputs.get("id", "")))
        # The last provider segment names the resource (a role assignment's scope names another).
        found[r.type] = ids[-1] if ids else namespace_of(r.type) or "?"
    return found


def missing_namespaces(sim: Simulation, registered: list[str]) -> list[str]:
    """Namespaces of declared resources that the registration leaves out."""
    needed = set(_declared_namespaces(sim).values()) - ALWAYS_REGISTERED
    return sorted(ns for ns in needed if ns.lower() not in {n.lower() for n in registered})


def test_the_registered_namespaces_cover_every_declared_resource_type(one_student):
    sim = one_student
    (registration,) = sim.of_type(REGISTRATION)
    declared = _declared_namespaces(sim)
    assert len(declared) >= 15  # every azure-native type the program declares
    for token, namespace in declared.items():
        # The lab's table knows the type, with the namespace its ARM id carries.
        assert namespace_of(token) == namespace, token
        assert RESOURCE_TYPES[token][0] == namespace, token
    assert missing_namespaces(sim, registration.inputs["namespaces"]) == []


def test_the_coverage_check_fails_when_a_namespace_is_left_out(one_student):
    sim = one_student
    (registration,) = sim.of_type(REGISTRATION)
    without = [ns for ns in registration.inputs["namespaces"] if ns != "Microsoft.Insights"]
    assert missing_namespaces(sim, without) == ["Microsoft.Insights"]
    assert "applicationinsights" in AZURE_NATIVE_MODULES  # why Insights is needed
