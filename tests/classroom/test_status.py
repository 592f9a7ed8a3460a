"""`classroom status` against a fake Azure on 127.0.0.1: every failure reported, nobody skipped."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json

import pytest

from classroom.checking import checks, status
from classroom.planning.costs import PriceTable
from tests.fakes.azure import AzureCredential
from tests.fakes.synapse import FIREWALL_403_BODY

from .azure_fixtures import add, check, endpoints, ml_id, object_id, synapse_id

PRICES = PriceTable.load().regions["westeurope"]
# A ready student in use: 3 Small Spark nodes (12 vCores), DW100c running, 2 x DS3_v2 training.
IN_USE_HOUR = (
    12 * PRICES["spark_vcore_hour"]
    + PRICES["sql_dw100c_hour"]
    + 2 * PRICES["vm_hour"]["Standard_DS3_v2"]
)


def repair(student: str, stack: str = "dev") -> str:
    """The advice for what a deployed environment lost: the repair command, by name."""
    return (
        f"run `python -m classroom repair --stack {stack} --student {student}` "
        "(refresh, then up: it puts back what is missing)"
    )


def test_a_ready_student_is_ready_with_its_cost(azure):
    ann = add(azure, "ann")
    result = check(azure, [ann])["ann"]
    assert result.state == checks.READY, result.findings
    assert result.problems == [] and result.warnings == []
    assert result.region == "westeurope" and result.expires_on.isoformat() == "2099-12-31"
    assert result.sql_pool_status == "Paused" and result.compute_nodes == 0
    assert result.cost.hourly == pytest.approx(IN_USE_HOUR)
    # Idle: two storage accounts, paused SQL pool storage, Log Analytics - cents a day.
    assert 0.01 < result.cost.daily_idle < 0.2
    assert result.running_per_hour == 0
    # Every kind of call was made, each with the token of its audience.
    paths = [r.path for r in azure.requests]
    for piece in (
        "/resourcegroups/",
        "/bigDataPools/",
        "/sqlPools/",
        "/computes/automl-cluster",
        "/synapse/" + ann.synapse_workspace + "/notebooks/03-predict",
        "/synapse/" + ann.synapse_workspace + "/linkedservices/AzureML",
        "/synapse/" + ann.synapse_workspace + "/roleAssignments",
        "/" + ann.data_lake + "/files",
        "/Microsoft.Authorization/roleAssignments",
    ):
        assert any(piece in p for p in paths), piece
    # The check never changes anything: every call a GET, but the pipeline-runs query (a POST).
    assert {(r.method, r.path) for r in azure.requests if r.method != "GET"} == {
        ("POST", f"/synapse/{ann.synapse_workspace}/queryPipelineRuns")
    }
    assert result.guard["state"] == "on" and result.guard["lastRun"]["status"] == "Succeeded"


def test_a_class_with_every_kind_of_trouble(azure):
    envs = {
        sid: add(azure, sid)
        for sid in ("ready", "half", "online", "nobook", "denied", "slow", "broken")
    }
    # Half deployed: the Spark pool still provisioning, no Azure ML workspace, nothing in the lake or Studio yet.
    half = envs["half"]
    azure.get(synapse_id(half, "bigDataPools", half.spark_pool))["properties"][
        "provisioningState"
    ] = "Provisioning"
    azure.remove(ml_id(half, "computes/automl-cluster"))
    azure.remove(ml_id(half))
    azure.lakes[half.data_lake] = {}
    azure.workspaces[half.synapse_workspace] = {
        "linkedservices": {},
        "notebooks": {},
        "sqlScripts": {},
    }
    # A dedicated SQL pool left running.
    online = envs["online"]
    azure.get(synapse_id(online, "sqlPools", online.sql_pool))["properties"]["status"] = "Online"
    # A notebook missing.
    del azure.workspaces[envs["nobook"].synapse_workspace]["notebooks"]["02-train-automl"]
    # The Synapse firewall refuses this machine; a lake that never answers; Azure ML failing.
    azure.fail(
        "GET",
        rf"^/synapse/{envs['denied'].synapse_workspace}/",
        status=403,
        body=FIREWALL_403_BODY,
        count=99,
    )
    azure.fail("GET", rf"^/{envs['slow'].data_lake}/", delay=3.0, count=99)
    azure.fail("GET", rf"/workspaces/{envs['broken'].aml_workspace}$", status=500, count=99)

    results = check(
        azure, list(envs.values()), checks.CheckSettings(timeout=1.0, retries=0, concurrency=3)
    )
    assert list(results) == list(envs), "every student is checked, in roster order"

    assert results["ready"].state == checks.READY

    half_problems = "\n".join(results["half"].problems)
    assert results["half"].state == checks.NOT_READY
    assert f"Spark pool '{half.spark_pool}' is Provisioning" in half_problems
    assert (
        f"Azure ML workspace '{half.aml_workspace}' does not exist: {repair('half')}"
        in half_problems
    )
    assert "files/data/` folder" in half_problems
    assert "linked service 'AzureML' is missing" in half_problems
    assert all(
        f"notebook '{n}' is missing" in half_problems
        for n in ("01-prepare-data", "02-train-automl", "03-predict")
    )

    on = results["online"]
    assert on.ready and on.state == checks.WARNING and on.sql_pool_status == "Online"
    assert on.running_per_hour == pytest.approx(PRICES["sql_dw100c_hour"])
    assert f"is Online, costing {PRICES['sql_dw100c_hour']:.2f} USD an hour" in on.warnings[0]
    assert f"az synapse sql pool pause --name {on.env.sql_pool} " in on.warnings[0]
    assert "`python -m classroom pause --stack dev --student online`" in on.warnings[0]

    assert results["nobook"].problems == [
        f"notebook '02-train-automl' is missing from Synapse workspace '{envs['nobook'].synapse_workspace}': "
        + repair("nobook")
    ]

    denied = results["denied"].problems
    assert len(denied) == 1, denied  # one refusal, said once: Studio and Synapse RBAC stop there
    assert not any(
        "/roleAssignments" in r.path
        for r in azure.requests
        # the Synapse data plane's (ARM role assignments on the SQL pool are another call)
        if r.path.startswith(f"/synapse/{envs['denied'].synapse_workspace}")
    )
    assert "firewall refuses this machine's address (ClientIpAddressNotAuthorized)" in denied[0]
    assert "lab:allowedIpRanges" in denied[0]

    assert results["slow"].problems == [
        f"data lake '{envs['slow'].data_lake}': no answer from Azure Storage within 1 s; "
        "check again later (`--wait`), or raise `--timeout`"
    ]

    broken = results["broken"].problems
    assert broken == [
        f"Azure ML workspace '{envs['broken'].aml_workspace}': Azure Resource Manager answered with a "
        "server error (500 Fake500); check again in a few minutes (`--wait`)"
    ]
    # What could be read is still there: the other checks of that student ran.
    assert (
        results["broken"].sql_pool_status == "Paused" and results["broken"].expires_on is not None
    )


def test_access_denied_and_missing_roles_are_named(azure):
    ann, bob, cy = add(azure, "ann"), add(azure, "bob"), add(azure, "cy", with_object_id=False)
    azure.fail(
        "GET",
        rf"/resourcegroups/{ann.resource_group}$",
        status=403,
        count=9,
        body={
            "error": {
                "code": "AuthorizationFailed",
                "message": "The client does not have authorization",
            }
        },
    )
    azure.arm_roles = [
        r
        for r in azure.arm_roles
        if not (r["principalId"] == object_id("bob") and r["scope"].endswith(bob.data_lake))
    ]
    azure.synapse_roles = [r for r in azure.synapse_roles if r["principalId"] != object_id("bob")]
    results = check(azure, [ann, bob, cy])
    assert results["ann"].problems[0] == (
        f"resource group '{ann.resource_group}': access denied (AuthorizationFailed); the identity running this "
        "check needs Reader (or more) on the student's resource group"
    )
    assert results["bob"].problems == [
        f"the student lacks Storage Blob Data Contributor on data lake '{bob.data_lake}' "
        f"(needed to read and write the lab's files): {repair('bob')}",
        f"the student lacks Synapse Administrator on Synapse workspace '{bob.synapse_workspace}' "
        f"(needed to run notebooks, the AzureML linked service and the SQL scripts on the "
        f"dedicated pool): {repair('bob')}",
    ]
    assert results["cy"].ready and "no objectId for student 'cy'" in results["cy"].warnings[0]


def test_expiry_and_busy_compute(azure):
    old = add(azure, "old", expires_on="2020-01-31")
    soon = add(
        azure, "soon", expires_on=(checks.dt.date.today() + checks.dt.timedelta(days=1)).isoformat()
    )
    busy = add(azure, "busy")
    azure.get(ml_id(busy, "computes/automl-cluster"))["properties"]["properties"][
        "currentNodeCount"
    ] = 2
    results = check(azure, [old, soon, busy])
    assert results["old"].problems == [
        "expired on 2020-01-31: destroy it (`python -m classroom destroy`) or move lab:expiresOn "
        "and run `python -m classroom up --stack dev --student old`"
    ]
    assert results["old"].days_left() < 0
    assert results["soon"].ready and results["soon"].warnings == [
        f"expires on {soon_date(results)} (1 day left)"
    ]
    assert results["busy"].compute_nodes == 2 and results["busy"].ready
    assert results["busy"].running_per_hour == pytest.approx(
        2 * PRICES["vm_hour"]["Standard_DS3_v2"]
    )


def soon_date(results: dict) -> str:
    return results["soon"].expires_on.isoformat()


def test_a_student_without_a_sql_pool_needs_neither_pool_nor_script(azure):
    ann = add(azure, "ann", sql_pool=None)
    result = check(azure, [ann])["ann"]
    assert result.state == checks.READY, result.findings
    assert result.sql_pool_status is None
    assert not any("/sqlPools/" in r.path or "/sqlScripts/" in r.path for r in azure.requests)
    assert result.cost.hourly == pytest.approx(IN_USE_HOUR - PRICES["sql_dw100c_hour"])


def test_retries_ride_out_a_throttled_or_failing_call(azure):
    ann = add(azure, "ann")
    azure.fail("GET", rf"/bigDataPools/{ann.spark_pool}$", status=503, count=1)
    azure.fail(
        "GET", r"/linkedservices/AzureML$", status=429, headers={"Retry-After": "0"}, count=1
    )
    result = check(azure, [ann], checks.CheckSettings(timeout=5, retries=2, backoff=0.01))["ann"]
    assert result.state == checks.READY, result.findings
    assert [r.fault for r in azure.requests if r.fault] == ["status:503", "status:429"]


def test_wait_rechecks_only_who_is_not_ready_until_ready(azure):
    ann, bob = add(azure, "ann"), add(azure, "bob")
    pool = azure.get(synapse_id(bob, "bigDataPools", bob.spark_pool))["properties"]
    pool["provisioningState"] = "Provisioning"
    rounds = []

    def sleep(seconds: float) -> None:
        pool["provisioningState"] = "Succeeded"  # time passes: the pool is done

    def on_round(n, statuses):
        rounds.append({s.env.student: s.state for s in statuses})

    final = checks.wait_until_ready(
        [ann, bob],
        lambda some: list(check(azure, list(some)).values()),
        deadline_seconds=600,
        interval=1,
        on_round=on_round,
        sleep=sleep,
    )
    assert rounds == [{"ann": "ready", "bob": "not ready"}, {"ann": "ready", "bob": "ready"}]
    assert [s.ready for s in final] == [True, True]
    resource_group_reads = [
        r.path
        for r in azure.requests
        if r.path.endswith(("/" + ann.resource_group, "/" + bob.resource_group))
    ]
    assert len([p for p in resource_group_reads if p.endswith(ann.resource_group)]) == 1
    assert len([p for p in resource_group_reads if p.endswith(bob.resource_group)]) == 2


def test_wait_gives_up_at_the_deadline():
    env = checks.Environment("ann", "s", "rg", "ws", "u", "sp", "dl", "aml", "u2")
    calls = []

    def never_ready(some):
        calls.append(len(some))
        return [
            checks.StudentStatus(e, [checks.Finding("x", checks.NOT_READY, "still broken")])
            for e in some
        ]

    clock = iter(range(0, 10**6, 30))
    final = checks.wait_until_ready(
        [env],
        never_ready,
        deadline_seconds=100,
        interval=30,
        sleep=lambda s: None,
        now=lambda: next(clock),
    )
    assert not final[0].ready and 2 <= len(calls) <= 4


def test_outputs_file_cli_table_json_and_exit_code(azure, tmp_path, capsys):
    ann, bob = add(azure, "ann"), add(azure, "bob")
    del azure.workspaces[bob.synapse_workspace]["notebooks"]["03-predict"]
    outputs = {
        "environments": {e.student: _output(e) for e in (ann, bob)},
        "sqlAdminLogin": "labadmin",
        "sqlAdminPassword": "[secret]",
    }
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  lab:students:\n"
        + "".join(f"    - id: {s}\n      objectId: {object_id(s)}\n" for s in ("ann", "bob"))
    )
    args = _args(
        stack=["dev"], outputs=[tmp_path / "outputs.json"], config=[tmp_path / "Pulumi.dev.yaml"]
    )
    code = status.main(args, credential=_credential(), endpoints=_endpoints(azure))
    table = capsys.readouterr().out
    assert code == 1
    lines = table.splitlines()
    assert (
        lines[2].startswith("bob")
        and "not ready" in lines[2]
        and "notebook '03-predict' is missing" in lines[2]
    )
    assert lines[3].startswith("ann") and " ready " in lines[3]
    assert "1 of 2 students ready, 1 not ready" in table
    # Both students' role assignments were checked: the roster's objectIds were read from the config.
    assert {
        r.query["$filter"]
        for r in azure.requests
        if r.path.endswith("/roleAssignments") and "$filter" in r.query
    } == {
        f"{query}'{object_id(s)}'{end}"
        for s in ("ann", "bob")
        for query, end in (("atScope() and assignedTo(", ")"), ("principalId eq ", ""))
    }

    azure.workspaces[bob.synapse_workspace]["notebooks"]["03-predict"] = {
        "name": "03-predict",
        "properties": {
            "bigDataPool": {"referenceName": bob.spark_pool, "type": "BigDataPoolReference"},
            "cells": [],
        },
    }
    html, handout = tmp_path / "class.html", tmp_path / "handout.html"
    code = status.main(
        _args(
            stack=["dev"],
            outputs=[tmp_path / "outputs.json"],
            config=[tmp_path / "Pulumi.dev.yaml"],
            json=True,
            html=html,
            handout=handout,
        ),
        credential=_credential(),
        endpoints=_endpoints(azure),
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["summary"]["ready"] == 2 and data["summary"]["students"] == 2
    assert data["students"][0]["links"]["portal"].endswith(
        f"/resourceGroups/{ann.resource_group}/overview"
    )
    assert data["students"][0]["cost"]["inUsePerHour"] == pytest.approx(IN_USE_HOUR, abs=1e-3)
    # The JSON carries each student's cost guard, and the class's count of guards off.
    assert data["students"][0]["costGuard"]["state"] == "on"
    assert data["students"][0]["costGuard"]["triggers"] == {"Pause SQL pool schedule": "Started"}
    assert data["summary"]["costGuardsOff"] == 0
    assert "[secret]" not in json.dumps(data)
    assert html.read_text().count('<tr data-state="ready"') == 2
    assert handout.read_text().count('<section class="student"') == 2


def test_unreadable_outputs_exit_2(tmp_path, capsys):
    (tmp_path / "outputs.json").write_text(json.dumps({"sqlAdminLogin": "x"}))
    code = status.main(
        _args(stack=["dev"], outputs=[tmp_path / "outputs.json"], config=[tmp_path / "none.yaml"]),
        credential=object(),
    )
    assert code == 2
    assert "no `environments` output" in capsys.readouterr().err


def _output(env: checks.Environment) -> dict:
    return {key: getattr(env, attr) for key, attr in checks.OUTPUT_KEYS.items()}


def _args(**kwargs) -> argparse.Namespace:
    base = dict(
        stack=["dev"],
        outputs=None,
        config=None,
        json=False,
        html=None,
        handout=None,
        wait=None,
        interval=60.0,
        concurrency=4,
        timeout=5.0,
        retries=0,
        budget=60.0,
    )
    base.update(kwargs)
    return argparse.Namespace(**base)


def _credential():
    from tests.fakes.azure import AzureCredential

    return AzureCredential()


def _endpoints(fake):
    from .azure_fixtures import endpoints

    return endpoints(fake)


def test_not_signed_in_stops_before_checking_anyone(azure, tmp_path, capsys):
    from azure.core.exceptions import ClientAuthenticationError

    ann = add(azure, "ann")
    (tmp_path / "outputs.json").write_text(json.dumps({"environments": {"ann": _output(ann)}}))

    class NoLogin:
        def get_token(self, *scopes, **kwargs):
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")

    code = status.main(
        _args(outputs=[tmp_path / "outputs.json"], config=[tmp_path / "none.yaml"]),
        credential=NoLogin(),
        endpoints=_endpoints(azure),
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: not signed in to Azure: run `az login` (or set AZURE_CLIENT_ID, AZURE_TENANT_ID "
        "and AZURE_CLIENT_SECRET for a service principal); --verbose shows why"
    ]
    assert azure.requests == []
    # With --verbose, the credential's own account of what failed follows the line.
    code = status.main(
        _args(outputs=[tmp_path / "outputs.json"], config=[tmp_path / "none.yaml"], verbose=True),
        credential=NoLogin(),
        endpoints=_endpoints(azure),
    )
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and err[0].startswith("error: not signed in to Azure: run `az login`")
    assert err[1] == "ClientAuthenticationError: DefaultAzureCredential failed to retrieve a token"
    assert azure.requests == []


def test_wait_on_the_command_line_rechecks_until_ready(azure, tmp_path, capsys):
    ann = add(azure, "ann")
    azure.fail(
        "GET", rf"/bigDataPools/{ann.spark_pool}$", status=500, count=1
    )  # the first round sees a 500
    (tmp_path / "outputs.json").write_text(json.dumps({"environments": {"ann": _output(ann)}}))
    code = status.main(
        _args(
            outputs=[tmp_path / "outputs.json"],
            config=[tmp_path / "none.yaml"],
            wait=30.0,
            interval=0.01,
        ),
        credential=_credential(),
        endpoints=_endpoints(azure),
    )
    captured = capsys.readouterr()
    assert code == 0, captured.out
    assert "round 1: 0 of 1 ready" in captured.err and "round 2: 1 of 1 ready" in captured.err
    assert len([r for r in azure.requests if r.path.endswith("/" + ann.resource_group)]) == 2


def test_wrong_pool_and_wrong_linked_service_are_named(azure):
    ann = add(azure, "ann")
    studio = azure.workspaces[ann.synapse_workspace]
    studio["notebooks"]["01-prepare-data"]["properties"]["bigDataPool"]["referenceName"] = (
        "otherpool"
    )
    studio["linkedservices"]["AzureML"]["properties"]["typeProperties"]["mlWorkspaceName"] = (
        "amlsomeoneelse"
    )
    problems = check(azure, [ann])["ann"].problems
    assert problems == [
        "linked service 'AzureML' points at Azure ML workspace 'amlsomeoneelse', not 'amlann0000': "
        + repair("ann"),
        f"notebook '01-prepare-data' is attached to 'otherpool', not '{ann.spark_pool}': "
        + repair("ann"),
    ]


def test_a_student_whose_every_answer_hangs_is_stopped_by_the_budget(azure):
    ann, bob = add(azure, "ann"), add(azure, "bob")
    azure.fail("GET", r"dp000-ann0000", delay=2.0, count=99)  # every ARM call of ann's hangs
    results = check(
        azure, [ann, bob], checks.CheckSettings(timeout=0.5, retries=0, student_budget=0.8)
    )
    assert results["bob"].state == checks.READY
    problems = results["ann"].problems
    assert problems[0].startswith(
        f"resource group '{ann.resource_group}': no answer from Azure Resource Manager within 0.5 s"
    )
    assert problems[-1].startswith("stopped after 0.8 s of slow or failing answers; not checked: ")
    assert "roles" in problems[-1]
    assert len([r for r in azure.requests if "dp000-ann0000" in r.path]) < 4


def test_on_a_terminal_the_progress_bar_counts_students_and_keeps_the_notes():
    import io

    from classroom.checking.status import _progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    bar = _progress(3, screen)
    bar.tick(None)
    bar.note("round 1: 2 students not ready", 2)
    bar.tick(None)
    bar.close()
    shown = screen.getvalue()
    assert "round 1: 2 students not ready" in shown
    assert "1/3" in shown and "1/2" in shown and "students" in shown
    piped = io.StringIO()
    bar = _progress(3, piped)
    bar.tick(None)
    bar.note("round 1: 2 students not ready", 2)
    bar.close()
    assert (
        piped.getvalue() == "round 1: 2 students not ready\n"
    )  # no bar, no escape codes in a file or pipe


def test_both_sql_scripts_of_part_2_are_looked_for(azure):
    """The check looks for what the program uploads (lab/studio.py): the prediction script too."""
    ann, bob = add(azure, "ann"), add(azure, "bob")
    del azure.workspaces[bob.synapse_workspace]["sqlScripts"]["Predict rentals"]
    results = checks.check_class(
        [ann, bob],
        credential=AzureCredential(),
        endpoints=endpoints(azure),
        settings=checks.CheckSettings(timeout=5, retries=0),
        prices=None,
    )
    assert checks.lab_sql_scripts() == ("Load weather forecast", "Predict rentals")
    assert results[0].ready and not results[1].ready
    assert results[1].problems == [
        f"SQL script 'Predict rentals' is missing from Synapse workspace "
        f"'{bob.synapse_workspace}': {repair('bob')}"
    ]


def test_with_wait_the_page_is_rewritten_each_round_and_reloads_only_while_waiting(
    azure, tmp_path, capsys, monkeypatch
):
    """The class can watch itself become ready: a page after round 1 (reloading), a final one (not)."""
    import functools

    ann, bob = add(azure, "ann"), add(azure, "bob")
    del azure.workspaces[bob.synapse_workspace]["notebooks"]["03-predict"]
    (tmp_path / "outputs.json").write_text(
        json.dumps({"environments": {e.student: _output(e) for e in (ann, bob)}})
    )
    html = tmp_path / "class.html"
    seen = []

    def between_rounds(seconds):
        # What a browser would have shown between the rounds; then bob's notebook arrives.
        seen.append((seconds, html.read_text()))
        azure.workspaces[bob.synapse_workspace]["notebooks"]["03-predict"] = dict(
            azure.workspaces[bob.synapse_workspace]["notebooks"]["02-train-automl"],
            name="03-predict",
        )

    monkeypatch.setattr(
        status, "wait_until_ready", functools.partial(checks.wait_until_ready, sleep=between_rounds)
    )
    code = status.main(
        _args(
            outputs=[tmp_path / "outputs.json"],
            config=[tmp_path / "none.yaml"],
            html=html,
            wait=600.0,
            interval=45.0,
        ),
        credential=_credential(),
        endpoints=_endpoints(azure),
    )
    assert code == 0
    assert [s for s, _ in seen] == [45.0]
    during = seen[0][1]
    assert '<meta http-equiv="refresh" content="45">' in during
    assert "Still checking (round 1): this page reloads itself every 45 s" in during
    assert 'data-student="bob"' in during and "notebook &#x27;03-predict&#x27; is missing" in during
    final = html.read_text()
    assert 'http-equiv="refresh"' not in final and "Still checking" not in final
    assert '<div class="big">2 / 2</div>' in final
    assert not list(tmp_path.glob("*.partial"))


def test_the_students_roles_are_the_labs_and_contributor_from_before_is_a_warning(azure):
    from lab.roles import (
        AML_STUDENT,
        CONTRIBUTOR,
        OWNER,
        READER,
        SQL_POOL_OPERATOR,
        custom_role_guid,
    )

    kim, lee, max_ = add(azure, "kim"), add(azure, "lee"), add(azure, "max")
    operator = custom_role_guid(SQL_POOL_OPERATOR, "dev", kim.subscription)
    # lee lost every role the lab needs (a half-done `pulumi up`)
    azure.arm_roles = [
        r
        for r in azure.arm_roles
        if not (
            r["principalId"] == object_id("lee")
            and r["roleDefinitionId"]
            in (READER, custom_role_guid(AML_STUDENT, "dev", kim.subscription), operator)
        )
    ]
    # kim still has the Contributor a stack created before this change granted;
    # max was made Owner of his Spark pool by hand (below the group, still too much)
    azure.grant(kim.resource_group_id, CONTRIBUTOR, object_id("kim"))
    pool = synapse_id(max_, "bigDataPools", max_.spark_pool)
    azure.grant(pool, OWNER, object_id("max"))
    results = check(azure, [kim, lee, max_])

    assert results["max"].ready and results["max"].problems == []
    assert results["max"].warnings == [
        f"the student is Owner on '{pool}': more access than the lab needs (that role can scale pools "
        f"and change or create resources there); remove it with `az role assignment delete --assignee "
        f"{object_id('max')} --role Owner --scope {pool}`"
    ]
    fix = "run `python -m classroom repair --stack dev --student lee` (refresh, then up: it puts back what is missing)"
    assert results["lee"].problems == [
        f"the student lacks Reader on resource group '{lee.resource_group}' (needed to see the "
        f"lab's resources in Studio and the portal): {fix}",
        f"the student lacks the Azure ML student role on Azure ML workspace '{lee.aml_workspace}' "
        f"(needed to run AutoML jobs and register models): {fix}",
        f"the student lacks the SQL pool operator role on dedicated SQL pool '{lee.sql_pool}' "
        f"(needed to resume and pause their SQL pool): {fix}",
    ]
    assert results["kim"].ready and results["kim"].problems == []
    # Contributor on the group satisfies Reader there, the ML workspace and the pool: one warning
    # per access, each naming the command that removes it.
    remove = (
        f"; remove it with `az role assignment delete --assignee {object_id('kim')} "
        f"--role Contributor --scope {kim.resource_group_id}`"
    )
    assert results["kim"].warnings == [
        f"the student has more access than the lab grants ({granted} on {where}): Contributor on "
        f"{on}. Least privilege: remove what the lab does not need unless it is meant{remove}"
        for granted, where, on in (
            (
                "Reader",
                f"resource group '{kim.resource_group}'",
                f"resource group '{kim.resource_group}'",
            ),
            (
                "the Azure ML student role",
                f"Azure ML workspace '{kim.aml_workspace}'",
                f"resource group '{kim.resource_group}' (inherited)",
            ),
            (
                "the SQL pool operator role",
                f"dedicated SQL pool '{kim.sql_pool}'",
                f"resource group '{kim.resource_group}' (inherited)",
            ),
        )
    ]


def test_status_reads_spend_unless_no_spend(azure, tmp_path, capsys):
    ann = add(azure, "ann")
    azure.add_cost(
        ann.resource_group_id, dt.date.today().replace(day=1).isoformat(), "Storage", 1.5
    )
    (tmp_path / "outputs.json").write_text(json.dumps({"environments": {"ann": _output(ann)}}))
    files = {"outputs": [tmp_path / "outputs.json"], "config": [tmp_path / "none.yaml"]}

    code = status.main(
        _args(json=True, **files), credential=_credential(), endpoints=_endpoints(azure)
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["spend"]["total"] == 1.5
    assert data["spend"]["students"][0]["byService"] == {"Storage": 1.5}
    assert len(azure.calls("POST", "CostManagement/query")) == 1

    azure.reset_log()
    code = status.main(
        _args(no_spend=True, **files), credential=_credential(), endpoints=_endpoints(azure)
    )
    out = capsys.readouterr().out
    assert code == 0 and "spend since" not in out
    assert azure.calls("POST", "CostManagement/query") == []

    code = status.main(_args(**files), credential=_credential(), endpoints=_endpoints(azure))
    assert "spend since " in capsys.readouterr().out


# ----------------------------------------------------------------------------- the cost guard

GUARD_PIPELINE, GUARD_TRIGGER = "Pause SQL pool", "Pause SQL pool schedule"


def _studio(azure, env) -> dict:
    return azure.workspaces[env.synapse_workspace]


def test_a_guard_switched_off_deleted_changed_or_failing_is_a_problem_fixed_by_repair(azure):
    from tests.fakes.synapse import pipeline_run

    envs = {s: add(azure, s) for s in ("on", "stopped", "deleted", "nopipe", "edited", "moved")}
    envs.update({s: add(azure, s) for s in ("failed", "cancelled", "running")})
    _studio(azure, envs["stopped"])["triggers"][GUARD_TRIGGER]["properties"]["runtimeState"] = (
        "Stopped"
    )
    del _studio(azure, envs["deleted"])["triggers"][GUARD_TRIGGER]
    _studio(azure, envs["nopipe"])["pipelines"].clear()
    # A student edits the pipeline's If Condition in Studio so that it never pauses.
    edited = _studio(azure, envs["edited"])["pipelines"][GUARD_PIPELINE]["properties"]
    edited["activities"][1]["typeProperties"]["expression"]["value"] = "@equals(1, 2)"
    # ... or moves the schedule to 06:00 (the trigger stays Started).
    moved = _studio(azure, envs["moved"])["triggers"][GUARD_TRIGGER]["properties"]
    moved["typeProperties"]["recurrence"]["schedule"]["hours"] = [6]
    last_night = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    azure.runs[envs["failed"].synapse_workspace] = [
        pipeline_run(GUARD_PIPELINE, "Succeeded", last_night - dt.timedelta(days=1)),
        pipeline_run(GUARD_PIPELINE, "Failed", last_night, "Forbidden: sqlPools/pause/action"),
    ]
    azure.runs[envs["cancelled"].synapse_workspace] = [
        pipeline_run(GUARD_PIPELINE, "Cancelled", last_night)
    ]
    azure.runs[envs["running"].synapse_workspace] = [
        pipeline_run(GUARD_PIPELINE, "InProgress", last_night)
    ]

    results = check(azure, list(envs.values()))
    state = {sid: r.guard["state"] for sid, r in results.items()}
    assert state == {
        "on": "on",
        "stopped": "off",
        "deleted": "off",
        "nopipe": "off",
        "edited": "off",
        "moved": "off",
        "failed": "failing",
        "cancelled": "on",
        "running": "on",
    }
    assert results["on"].ready and results["running"].ready
    guard_problems = {
        sid: [
            f.message for f in r.findings if f.check == "cost guard" and f.severity == "not ready"
        ]
        for sid, r in results.items()
    }
    assert guard_problems["on"] == guard_problems["cancelled"] == guard_problems["running"] == []
    for sid in ("stopped", "deleted", "nopipe", "edited", "moved", "failed"):
        [message] = guard_problems[sid]
        assert message.endswith(repair(sid)), message
    ws = envs["stopped"].synapse_workspace
    assert guard_problems["stopped"][0].startswith(
        f"the cost guard is off: trigger '{GUARD_TRIGGER}' in Synapse workspace '{ws}' is Stopped"
    )
    assert "no longer pauses itself at 23:00 Europe/Amsterdam" in guard_problems["stopped"][0]
    assert results["stopped"].guard["triggers"] == {GUARD_TRIGGER: "Stopped"}
    assert f"trigger '{GUARD_TRIGGER}' is missing" in guard_problems["deleted"][0]
    assert f"pipeline '{GUARD_PIPELINE}' is missing" in guard_problems["nopipe"][0]
    # No pipeline, no runs to ask for.
    assert not azure.calls("POST", rf"/synapse/{envs['nopipe'].synapse_workspace}/")
    assert "activities[1].typeProperties.expression.value" in guard_problems["edited"][0]
    assert "typeProperties.recurrence.schedule.hours" in guard_problems["moved"][0]
    assert "Failed (Forbidden: sqlPools/pause/action)" in guard_problems["failed"][0]
    assert results["failed"].guard["lastRun"]["status"] == "Failed"
    assert (
        results["cancelled"].warnings
        == [w for w in results["cancelled"].warnings if "was Cancelled" in w]
        and results["cancelled"].warnings
    )
    # The JSON report carries the guard.
    report = results["stopped"].as_dict()
    assert report["costGuard"]["state"] == "off" and report["costGuard"]["reasons"] == [
        "trigger stopped"
    ]


def test_no_guard_by_config_is_no_problem_and_is_not_read(azure):
    nopool = add(azure, "nopool", sql_pool=None)
    off = add(azure, "off", pause_times=())
    off = dataclasses.replace(off, pause_times=())  # lab:pauseSqlPoolAt: []
    results = check(azure, [nopool, off])
    for sid in ("nopool", "off"):
        assert results[sid].ready and results[sid].guard["state"] == "not scheduled", sid
        assert not azure.calls(None, rf"/synapse/synapse{sid}\w*/(pipelines|triggers|query)")
    assert results["off"].guard["reason"] == "lab:pauseSqlPoolAt is [] (off)"


def test_the_guard_is_compared_with_the_classes_own_times_and_time_zone(azure):
    from classroom.checking.environments import environments_from_outputs
    from tests.fakes.azure import environment as azure_environment

    config = {
        "lab:pauseSqlPoolAt": '["22:30", "01:30", "23:00"]',
        "lab:timeZone": "America/New_York",
    }
    add(azure, "ny", pause_times=((1, 30), (22, 30), (23, 0)), time_zone="America/New_York")
    add(azure, "utc", pause_times=((1, 30), (22, 30), (23, 0)), time_zone="UTC")
    outputs = {"environments": {sid: azure_environment(sid) for sid in ("ny", "utc")}}
    envs = environments_from_outputs(outputs, "dev", config)
    assert envs[0].pause_times == ("22:30", "01:30", "23:00")
    assert envs[0].time_zone == "America/New_York"
    results = check(azure, envs)
    # Two triggers: 22:30 and 01:30 share their minute, 23:00 has its own (lab/cost_guard.py).
    assert results["ny"].guard["state"] == "on", results["ny"].findings
    assert set(results["ny"].guard["triggers"]) == {GUARD_TRIGGER, GUARD_TRIGGER + " 2"}
    assert results["ny"].guard["schedule"] == "01:30, 22:30, 23:00 America/New_York"
    assert results["utc"].guard["state"] == "off"
    assert any("recurrence.timeZone" in p for p in results["utc"].problems)


def test_a_guard_that_cannot_be_read_is_unknown_and_said_once(azure):
    ann, bob = add(azure, "ann"), add(azure, "bob")
    # bob stopped his trigger: that stays known even though his runs cannot be read.
    _studio(azure, bob)["triggers"][GUARD_TRIGGER]["properties"]["runtimeState"] = "Stopped"
    azure.fail("POST", r"/queryPipelineRuns$", status=500, count=99)
    results = check(azure, [ann, bob])
    assert results["bob"].guard["state"] == "off" and len(results["bob"].problems) == 2
    result = results["ann"]
    assert result.guard["state"] == "unknown"
    [problem] = result.problems
    assert problem.startswith(
        f"the runs of pipeline '{GUARD_PIPELINE}' in Synapse workspace '{ann.synapse_workspace}': "
        "Synapse answered with a server error (500"
    )


def test_the_fake_pipeline_runs_query_is_as_strict_as_the_spec(azure):
    import requests

    from tests.fakes.azure import SYNAPSE_TOKEN

    ann = add(azure, "ann")
    url = f"{azure.url}/synapse/{ann.synapse_workspace}/queryPipelineRuns"
    headers = {"Authorization": f"Bearer {SYNAPSE_TOKEN}"}
    now = dt.datetime.now(dt.UTC)
    window = {
        "lastUpdatedAfter": (now - dt.timedelta(days=2)).isoformat(),
        "lastUpdatedBefore": now.isoformat(),
    }

    def post(body, version="2020-12-01", method="POST"):
        return requests.request(
            method, url, params={"api-version": version}, json=body, headers=headers, timeout=5
        )

    ok = post(
        {
            **window,
            "filters": [
                {"operand": "PipelineName", "operator": "Equals", "values": [GUARD_PIPELINE]}
            ],
        }
    )
    assert ok.status_code == 200 and [r["status"] for r in ok.json()["value"]] == ["Succeeded"]
    other = post(
        {**window, "filters": [{"operand": "PipelineName", "operator": "Equals", "values": ["x"]}]}
    )
    assert other.json()["value"] == []
    assert post({"lastUpdatedBefore": now.isoformat()}).status_code == 400
    assert (
        post(
            {
                **window,
                "filters": [{"operand": "PipelineName", "operator": "Like", "values": ["x"]}],
            }
        ).status_code
        == 400
    )
    assert post({**window, "top": 1}).status_code == 400
    assert post({**window, "orderBy": [{"orderBy": "RunStart"}]}).status_code == 400
    assert post(window, version="2019-06-01-preview").status_code == 400
    assert post(window, method="GET").status_code in (404, 405)


def test_an_object_id_that_is_not_a_guid_stops_before_any_call(azure, tmp_path, capsys):
    ann = add(azure, "ann")
    (tmp_path / "outputs.json").write_text(json.dumps({"environments": {"ann": _output(ann)}}))
    (tmp_path / "Pulumi.dev.yaml").write_text(
        json.dumps({"config": {"lab:students": [{"id": "ann", "objectId": "ann@example.org"}]}})
    )
    code = status.main(
        _args(outputs=[tmp_path / "outputs.json"], config=[tmp_path / "Pulumi.dev.yaml"]),
        credential=_credential(),
        endpoints=_endpoints(azure),
    )
    assert code == 2 and azure.requests == []
    assert capsys.readouterr().err == (
        "error: lab:students: the objectId of 'ann' ('ann@example.org') is not a GUID (the "
        "student's Entra ID object id, e.g. 00000000-0000-0000-0000-000000000000)\n"
    )


def test_a_pool_scaled_away_from_the_lab_sku_is_a_problem_with_its_cost(azure):
    """Defence in depth: nobody a student can act as scales the pool through ARM, but
    whether Synapse Administrator can through T-SQL (ALTER DATABASE ... SERVICE_OBJECTIVE)
    is not documented. A pool at another SKU bills at it from its next resume, so it is a
    problem even while Paused, with its hourly cost and the command that scales it back."""
    ann, bob = add(azure, "ann"), add(azure, "bob")
    pool = azure.get(synapse_id(bob, "sqlPools", bob.sql_pool))
    pool["sku"] = {"name": "DW1000c"}
    results = check(azure, [ann, bob])
    assert results["ann"].state == checks.READY, results["ann"].findings
    assert results["bob"].state == checks.NOT_READY
    assert results["bob"].problems == [
        f"dedicated SQL pool '{bob.sql_pool}' is DW1000c, not the lab's DW100c: it costs "
        f"{10 * PRICES['sql_dw100c_hour']:.2f} USD an hour while Online; scale it back with "
        f"`az synapse sql pool update --name {bob.sql_pool} --workspace-name "
        f"{bob.synapse_workspace} --resource-group {bob.resource_group} "
        "--performance-level DW100c`"
    ]
    # Online at that SKU, it runs at that price too.
    pool["properties"]["status"] = "Online"
    (online,) = check(azure, [bob]).values()
    assert online.running_per_hour == pytest.approx(10 * PRICES["sql_dw100c_hour"])
    assert online.problems[0].startswith(f"dedicated SQL pool '{bob.sql_pool}' is DW1000c")
