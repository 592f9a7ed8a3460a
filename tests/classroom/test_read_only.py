"""The read-only commands cannot register a namespace or write anything (classroom/checking/readonly.py).

Each command runs against the fakes with a namespace the subscription has not
registered, which ARM answers with 409 MissingSubscriptionRegistration; the fakes
record every request, and tests.fakes.arm.writes counts those that are not reads
(the lakes are Azurite, which keeps no log: every blob and container is compared
before and after). The commands that need no Azure (plan, handout) run with every
connection refused.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
import socket
from pathlib import Path

import pytest
import yaml

from classroom.__main__ import build_parser
from classroom.__main__ import main as classroom_main
from classroom.checking import preflight as pf
from classroom.checking import progress, readonly, status
from classroom.checking.checks import OUTPUT_KEYS
from lab import steps
from tests.fakes.arm import FakeArm, writes
from tests.fakes.azure import AzureCredential, environment
from tests.fakes.synapse import FakeCredential, make_tls_files, trust_fake

from .azure_fixtures import add, endpoints
from .progress_fixtures import NOW, SUFFIX, env_of, law_id
from .test_status import _args, _output

ROOT = Path(__file__).resolve().parent.parent.parent
ML = "Microsoft.MachineLearningServices"


@pytest.fixture
def no_network(monkeypatch):
    """Every connection attempt is recorded and refused."""
    attempts: list[object] = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise ConnectionRefusedError(f"no network in this test: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.fixture
def fast_registration(monkeypatch):
    """The registration policy waits 10 s before each poll (policies/_base.py): not here."""
    import azure.mgmt.core.policies._base as base

    monkeypatch.setattr(base.time, "sleep", lambda _s: None)


def test_the_fake_arm_makes_the_sdk_register_a_namespace(azure, fast_registration):
    """Without readonly.py the SDK client registers: what the other tests would catch."""
    from azure.mgmt.resource.resources import ResourceManagementClient

    ann = add(azure, "ann")
    azure.registrations.unregister(ann.subscription, ML)
    with ResourceManagementClient(AzureCredential(), ann.subscription, base_url=azure.url) as raw:
        raw.resources.get_by_id(ann.aml_workspace_id, api_version="2025-06-01")
    assert azure.registrations.registered_by_post == [(ann.subscription, ML)]
    assert [(r.method, r.path) for r in writes(azure)] == [
        ("POST", f"/subscriptions/{ann.subscription}/providers/{ML}/register")
    ]


def test_status_with_an_unregistered_namespace_writes_nothing(azure, tmp_path, capsys):
    ann = add(azure, "ann")
    azure.registrations.unregister(ann.subscription, ML)
    (tmp_path / "outputs.json").write_text(json.dumps({"environments": {"ann": _output(ann)}}))
    code = status.main(
        _args(json=True, outputs=[tmp_path / "outputs.json"], config=[tmp_path / "none.yaml"]),
        credential=AzureCredential(),
        endpoints=endpoints(azure),
    )
    data = json.loads(capsys.readouterr().out)
    assert writes(azure) == [] and azure.registrations.registered_by_post == []
    # The reads went on, the spend query too (a POST that only reads), and the student
    # is not ready: the Azure ML workspace could not be read.
    assert azure.calls("POST", "CostManagement/query")
    assert code == 1 and data["summary"]["ready"] == 0
    assert any(
        f["check"].lower().startswith("azure ml") and f["severity"] != "ready"
        for f in data["students"][0]["findings"]
    ), data["students"][0]["findings"]


def test_a_read_only_client_refuses_to_write(azure):
    from azure.mgmt.resource.resources.models import ResourceGroup

    ann = add(azure, "ann")
    with readonly.ResourceManagementClient(
        AzureCredential(), ann.subscription, base_url=azure.url, retry_total=0
    ) as client:
        assert client.resource_groups.get(ann.resource_group).name == ann.resource_group
        with pytest.raises(readonly.WriteRefused, match="PUT /subscriptions/"):
            client.resource_groups.create_or_update("new-group", ResourceGroup(location="x"))
    assert writes(azure) == []
    assert readonly.is_read(
        "POST", f"{azure.url}{ann.resource_group_id}/providers/Microsoft.CostManagement/query"
    )
    assert not readonly.is_read("POST", f"{azure.url}/subscriptions/s/providers/{ML}/register")


def _lakes(world, students) -> dict[str, object]:
    """What a write to a lake would change: its container's ETag and metadata, each blob's
    name, ETag and metadata (a put, a delete, a metadata or tier change all show)."""
    state: dict[str, object] = {}
    for s in students:
        lake = world.lake(s)
        props = lake.get_container_properties()
        blobs = sorted(
            (b.name, b.etag, tuple(sorted((b.metadata or {}).items())))
            for b in lake.list_blobs(include=["metadata"])
        )
        state[s] = (props.etag, tuple(sorted((props.metadata or {}).items())), blobs)
    return state


def test_progress_with_an_unregistered_namespace_writes_nothing(
    world, tmp_path, fast_registration, caplog
):
    """ann's subscription has not registered Azure ML: her row says so, nothing is registered."""
    other = "00000000-0000-0000-0000-0000000000bb"
    ann = dataclasses.replace(env_of("ann"), subscription=other)
    bob = env_of("bob")
    for s in ("ann", "bob"):
        world.fake.add_ml_workspace(f"aml{SUFFIX[s]}")
        world.fake.add_log_workspace(law_id(s))
        world.prepared(s)
    world.fake.add_job(f"aml{SUFFIX['bob']}", steps.experiment_name(), "Running", NOW)
    world.fake.registrations.unregister(other, ML)
    outputs = {
        "environments": {
            e.student: {k: getattr(e, a) for k, a in OUTPUT_KEYS.items() if getattr(e, a)}
            for e in (ann, bob)
        }
    }
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    args = build_parser().parse_args(
        ["progress", "--stack", "dev", "--outputs", str(tmp_path / "outputs.json")]
        + ["--config", str(tmp_path / "none.yaml"), "--json", "--timeout", "10"]
    )
    before = _lakes(world, ("ann", "bob"))
    out, err = io.StringIO(), io.StringIO()
    with caplog.at_level(logging.WARNING):
        code = progress.main(
            args, credential=world.credential, endpoints=world.endpoints, out=out, err=err
        )
    data = json.loads(out.getvalue())
    by = {s["student"]: s for s in data["students"]}
    # ARM did refuse ann's Azure ML reads; nothing was registered or written, the lakes are as
    # they were, and the registration policy never ran ("We are registering for you").
    assert world.fake.calls("GET", rf"^/subscriptions/{other}/.*/workspaces/amlann0000/jobs$")
    assert writes(world.fake) == [] and world.fake.registrations.registered_by_post == []
    assert _lakes(world, ("ann", "bob")) == before
    assert "registering" not in caplog.text.lower()
    # One clear reason on ann's row; her other sources were read, bob's row is whole.
    assert code == 1, err.getvalue()
    assert by["ann"]["problems"] == [
        "cannot read the Azure ML workspace amlann0000: the subscription is not registered with "
        f"{ML}; `az provider register --namespace {ML} --subscription {other}` (or `pulumi up`) "
        "registers it"
    ]
    assert by["ann"]["steps"]["prepared"]["state"] == "done"
    assert by["ann"]["steps"]["predicted"]["state"] == "not yet"
    assert by["bob"]["problems"] == [] and by["bob"]["steps"]["trained"]["state"] == "running"


def test_the_clients_of_progress_refuse_to_write(world):
    """readonly.py's clients of `progress`: a write stops in the process, on every pipeline."""
    from azure.core.pipeline import Pipeline

    ann = env_of("ann")
    world.fake.add_ml_workspace(ann.aml_workspace)
    before = _lakes(world, ("ann",))
    lake = readonly.ContainerClient(
        account_url=world.endpoints.blob.format(account=ann.data_lake),
        container_name=steps.LAKE_CONTAINER,
        credential=world.credential,
        retry_total=0,
    )
    assert lake.exists()
    with pytest.raises(readonly.WriteRefused, match=f"PUT /{ann.data_lake}/"):
        lake.upload_blob("written.txt", b"x")
    assert _lakes(world, ("ann",)) == before
    ml = readonly.MLClient(
        world.credential, ann.subscription, ann.resource_group, ann.aml_workspace, retry_total=0
    )
    with pytest.raises(readonly.WriteRefused, match=r"POST /subscriptions/.*/jobs/some-job/cancel"):
        ml.jobs.begin_cancel("some-job")
    assert writes(world.fake) == []
    # Each pipeline the client holds ends in the read-only transport or policy, none registers,
    # and the clients its job operations build later get the same transport.
    pipelines = {
        name: getattr(getattr(v, "_client", v), "_pipeline", None) for name, v in vars(ml).items()
    }
    pipelines = {k: p for k, p in pipelines.items() if isinstance(p, Pipeline)}
    assert len(pipelines) >= 10, sorted(pipelines)
    for name, p in pipelines.items():
        kinds = [type(x).__name__ for x in p._impl_policies]
        assert "ARMAutoResourceProviderRegistrationPolicy" not in kinds, name
        assert isinstance(p._transport, readonly.ReadOnlyTransport) or kinds[-1] == "ReadOnlyPolicy"
    assert isinstance(ml.jobs._service_client_kwargs["transport"], readonly.ReadOnlyTransport)


@pytest.fixture(scope="module")
def arm_tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("read-only-arm-tls"))


def test_preflight_of_a_fresh_subscription_writes_nothing(arm_tls, tmp_path, monkeypatch):
    trust_fake(monkeypatch, arm_tls[0])
    sub = "5ab5ab5a-0000-4000-8000-0000000000aa"
    document = {
        "config": {
            "azure-native:location": "westeurope",
            "lab:expiresOn": "2099-12-20",
            "lab:students": [{"id": "s0"}, {"id": "s1"}],
        }
    }
    (tmp_path / "Pulumi.spring.yaml").write_text(yaml.safe_dump(document))
    with FakeArm(arm_tls) as arm:
        arm.add_subscription(sub, registered=())
        args = build_parser().parse_args(
            ["preflight", "--stack", "spring", "--subscription", sub, "--retries", "1"]
        )
        pf.main(
            args,
            credential=FakeCredential(),
            endpoints=pf.Endpoints(arm=arm.url),
            root=tmp_path,
            out=io.StringIO(),
            err=io.StringIO(),
        )
        assert arm.calls("GET")  # it did read
        assert writes(arm) == [] and arm.registered_by_post == []


def test_plan_and_handout_send_nothing_at_all(no_network, tmp_path, capsys):
    stack = tmp_path / "Pulumi.class.yaml"
    stack.write_text(
        yaml.safe_dump(
            {
                "config": {
                    "azure-native:location": "westeurope",
                    "lab:expiresOn": "2026-12-20",
                    "lab:students": [{"id": "ann"}, {"id": "bob"}],
                }
            }
        )
    )
    assert classroom_main(["plan", "--config", str(stack), "--stack", "class", "--json"]) == 0
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"environments": {"ann": environment("ann")}}))
    handout_args = ["handout", "--stack", "class", "--outputs", str(outputs)]
    handout_args += ["--config", str(stack), "--text", str(tmp_path / "out")]
    assert classroom_main(handout_args) == 0
    assert (tmp_path / "out" / "ann.txt").is_file()
    assert no_network == []


# Which test above runs each read-only command; a command added to READ_ONLY_COMMANDS and to
# the parser fails test_every_read_only_command_is_run until it is run here too.
RUN_BY = {
    "status": test_status_with_an_unregistered_namespace_writes_nothing,
    "progress": test_progress_with_an_unregistered_namespace_writes_nothing,
    "preflight": test_preflight_of_a_fresh_subscription_writes_nothing,
    "plan": test_plan_and_handout_send_nothing_at_all,
    "handout": test_plan_and_handout_send_nothing_at_all,
}


def test_every_read_only_command_is_run():
    parser = build_parser()
    commands = set(next(a for a in parser._actions if a.choices and "status" in a.choices).choices)
    assert set(readonly.READ_ONLY_COMMANDS) <= commands
    assert set(readonly.READ_ONLY_COMMANDS) == set(RUN_BY)


def test_read_only_commands_build_arm_clients_only_through_readonly():
    """No module of checking/ or planning/ imports a management SDK client, or one of the
    clients `progress` reads with (azure-ai-ml, azure-storage-blob, azure-monitor-query), itself."""
    direct = re.compile(
        r"from azure\.(mgmt\.[\w.]+|ai\.ml|storage\.blob|monitor\.query) import [^\n]*Client\b"
    )
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("classroom/checking", "classroom/planning")
        for path in sorted((ROOT / folder).glob("*.py"))
        if path.name != "readonly.py" and direct.search(path.read_text())
    ]
    assert offenders == []
