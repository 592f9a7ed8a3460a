"""`classroom pause` and the spend read against the fake Azure (ARM pools, Cost Management)."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json

from classroom.checking import spend as spend_mod
from classroom.checking.checks import CheckSettings
from classroom.running import pause
from tests.classroom.azure_fixtures import add, endpoints
from tests.classroom.test_status_stack import pulumi_root  # noqa: F401  (fixture)
from tests.fakes.azure import AzureCredential, environment

FAST = {"polling_interval": 0.001}


def pool_id(env) -> str:
    return (
        f"{env.resource_group_id}/providers/Microsoft.Synapse/workspaces/"
        f"{env.synapse_workspace}/sqlPools/{env.sql_pool}"
    )


def outputs_file(tmp_path, students):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"environments": {s: environment(s) for s in students}}))
    return path


def run_pause(azure, tmp_path, students, only=(), parallel=4):
    args = argparse.Namespace(
        stack=["spring"],
        outputs=[outputs_file(tmp_path, students)],
        student=list(only),
        parallel=parallel,
        json=True,
    )
    out, err = io.StringIO(), io.StringIO()
    code = pause.main(
        args,
        credential=AzureCredential(),
        arm_endpoint=azure.url,
        work_dir=tmp_path,
        out=out,
        err=err,
        client_kwargs={"retry_total": 2, "retry_backoff_factor": 0.01},
        **FAST,
    )
    return code, json.loads(out.getvalue()), err.getvalue()


# ----------------------------------------------------------------------------- pause


def test_pause_pauses_online_pools_and_leaves_the_others(azure, tmp_path):
    envs = {s: add(azure, s) for s in ("ann", "ben", "cleo", "dan")}
    azure.set_sql_pool_status(pool_id(envs["ann"]), "Online")
    azure.set_sql_pool_status(pool_id(envs["ben"]), "Online")
    azure.set_sql_pool_status(pool_id(envs["cleo"]), "Resuming")

    code, results, progress = run_pause(azure, tmp_path, list(envs))

    assert code == 0
    outcome = {r["student"]: (r["before"], r["outcome"]) for r in results}
    assert outcome == {
        "ann": ("Online", "paused"),
        "ben": ("Online", "paused"),
        "cleo": ("Resuming", "left alone"),
        "dan": ("Paused", "left alone"),
    }
    assert azure.sql_pool_status(pool_id(envs["ann"])) == "Paused"
    assert azure.sql_pool_status(pool_id(envs["cleo"])) == "Resuming"
    posts = [r.path for r in azure.calls("POST")]
    assert sorted(posts) == sorted(f"{pool_id(envs[s])}/pause" for s in ("ann", "ben"))
    assert "[4/4]" in progress


def test_pause_of_one_student_touches_nobody_else(azure, tmp_path):
    envs = {s: add(azure, s) for s in ("ann", "ben")}
    for env in envs.values():
        azure.set_sql_pool_status(pool_id(env), "Online")
    code, results, _ = run_pause(azure, tmp_path, list(envs), only=["ben"])
    assert code == 0 and [r["student"] for r in results] == ["ben"]
    assert azure.sql_pool_status(pool_id(envs["ann"])) == "Online"
    assert azure.sql_pool_status(pool_id(envs["ben"])) == "Paused"


def test_throttling_is_retried_and_a_refused_pause_fails_the_run(azure, tmp_path):
    envs = {s: add(azure, s) for s in ("ann", "ben")}
    for env in envs.values():
        azure.set_sql_pool_status(pool_id(env), "Online")
    azure.fail(
        "POST",
        f"{envs['ann'].synapse_workspace}/sqlPools/.*/pause",
        status=429,
        headers={"Retry-After": "0"},
    )
    azure.fail(
        "POST",
        f"{envs['ben'].synapse_workspace}/sqlPools/.*/pause",
        count=99,
        status=403,
        body={"error": {"code": "AuthorizationFailed", "message": "no"}},
    )
    code, results, _ = run_pause(azure, tmp_path, list(envs))
    assert code == 1
    by = {r["student"]: r for r in results}
    assert by["ann"]["outcome"] == "paused"
    ann_posts = azure.calls("POST", f"{envs['ann'].synapse_workspace}/sqlPools/.*/pause")
    assert [r.fault for r in ann_posts] == ["status:429", None]  # throttled once, then paused
    assert by["ben"]["outcome"] == "failed"
    assert "403 AuthorizationFailed" in by["ben"]["detail"]
    assert azure.sql_pool_status(pool_id(envs["ben"])) == "Online"


def test_an_unknown_student_is_an_error(azure, tmp_path):
    add(azure, "ann")
    code = pause.main(
        argparse.Namespace(
            stack=["spring"],
            outputs=[outputs_file(tmp_path, ["ann"])],
            student=["zed"],
            parallel=2,
            json=False,
        ),
        credential=AzureCredential(),
        arm_endpoint=azure.url,
        work_dir=tmp_path,
        out=io.StringIO(),
        err=(err := io.StringIO()),
    )
    assert code == 2 and "zed" in err.getvalue()


def test_pause_is_a_classroom_command():
    from classroom.__main__ import build_parser

    args = build_parser().parse_args(["pause", "--stack", "spring", "--student", "ann"])
    assert args.func is pause.main and args.student == ["ann"]


# ----------------------------------------------------------------------------- spend


def spends(azure, envs, today=dt.date(2026, 11, 20)):
    return spend_mod.class_spend(
        envs,
        credential=AzureCredential(),
        endpoints=endpoints(azure),
        settings=CheckSettings(timeout=5, retries=2, backoff=0.01, concurrency=4),
        today=today,
    )


def test_spend_is_read_per_resource_group_grouped_by_service_with_its_date(azure):
    ann, ben = add(azure, "ann"), add(azure, "ben")
    azure.add_cost(ann.resource_group_id, "2026-11-03", "Azure Synapse Analytics", 4.5)
    azure.add_cost(ann.resource_group_id, "2026-11-18", "Azure Synapse Analytics", 1.25)
    azure.add_cost(ann.resource_group_id, "2026-11-18", "Storage", 0.05)
    azure.add_cost(ann.resource_group_id, "2026-10-30", "Storage", 99.0)  # before the class
    azure.add_cost(ben.resource_group_id, "2026-11-17", "Azure Machine Learning", 2.0)

    found = spends(azure, [ann, ben])

    assert found["ann"].total == 5.8
    assert found["ann"].by_service == {"Azure Synapse Analytics": 5.75, "Storage": 0.05}
    assert found["ann"].as_of == dt.date(2026, 11, 18)
    assert found["ann"].since == dt.date(2026, 11, 1)
    assert found["ben"].total == 2.0
    body = azure.cost_queries[0]["body"]
    assert body["type"] == "ActualCost" and body["timeframe"] == "Custom"
    assert body["timePeriod"]["from"].startswith("2026-11-01")
    assert body["dataset"]["grouping"] == [{"type": "Dimension", "name": "ServiceName"}]
    assert {q["scope"] for q in azure.cost_queries} == {
        ann.resource_group_id,
        ben.resource_group_id,
    }

    data = spend_mod.summary(found, budget=5.0)
    assert [s["student"] for s in data["students"]] == ["ann", "ben"]  # closest to budget first
    assert data["students"][0]["budgetUsed"] == 116.0
    assert data["total"] == 7.8 and data["budgetTotal"] == 10.0
    assert data["asOf"] == "2026-11-17"
    assert "spend since 2026-11-01: 7.80 USD of a 10.00 USD budget" in spend_mod.render(data)


def test_spend_follows_next_link_through_every_page(azure):
    """The service pages its rows (nextLink + $skiptoken); the SDK does not follow them."""
    ann = add(azure, "ann")
    for day in range(1, 19):
        azure.add_cost(ann.resource_group_id, f"2026-11-{day:02d}", "Azure Synapse Analytics", 1.0)
        azure.add_cost(ann.resource_group_id, f"2026-11-{day:02d}", "Storage", 0.25)
    azure.cost_page_size = 20  # 36 rows: two pages
    found = spends(azure, [ann])["ann"]
    assert found.error is None
    assert found.total == 22.5
    assert found.by_service == {"Azure Synapse Analytics": 18.0, "Storage": 4.5}
    assert found.as_of == dt.date(2026, 11, 18)  # the last day is on the second page
    assert [q["skiptoken"] for q in azure.cost_queries] == [None, "20"]
    assert azure.cost_queries[1]["body"] == azure.cost_queries[0]["body"]
    # The first page alone (the old behaviour) says 12.5 up to the 10th.
    azure.cost_page_size = 1000
    assert spends(azure, [ann])["ann"].total == 22.5


def test_throttled_cost_queries_are_retried(azure):
    ann = add(azure, "ann")
    azure.add_cost(ann.resource_group_id, "2026-11-18", "Storage", 0.5)
    azure.fail("POST", "CostManagement/query", count=2, status=429, headers={"Retry-After": "0"})
    assert spends(azure, [ann])["ann"].total == 0.5
    assert len(azure.calls("POST", "CostManagement")) == 3


def test_throttling_that_persists_is_a_sentence_not_a_failure(azure):
    ann = add(azure, "ann")
    azure.fail("POST", "CostManagement/query", count=99, status=429, headers={"Retry-After": "0"})
    found = spends(azure, [ann])["ann"]
    assert found.total is None and "throttling" in (found.error or "")
    assert spend_mod.warnings({"ann": found}) == [
        "spend not read for 1 student(s) (ann): Cost Management is throttling: try again in a minute"
    ]


def test_a_subscription_without_cost_data_is_one_warning(azure):
    sub = "33333333-3333-3333-3333-333333333333"
    envs = []
    for student in ("ann", "ben", "cleo"):
        output = environment(student, subscription=sub)
        azure.add_student(output)
        from classroom.checking.checks import Environment

        envs.append(Environment.from_output(student, output, stack="dev"))
    azure.no_cost_data[sub] = "400"
    found = spends(azure, envs)
    assert all(s.no_cost_data and s.total is None for s in found.values())
    warnings = spend_mod.warnings(found)
    assert len(warnings) == 1 and sub in warnings[0] and "no Cost Management data" in warnings[0]
    azure.no_cost_data[sub] = "404"
    assert all(s.no_cost_data for s in spends(azure, envs).values())


def test_pause_reads_the_class_through_the_automation_api(pulumi_root):  # noqa: F811
    from tests.classroom.test_status_stack import _calls, _command

    targets = pause.load_targets(
        ["dev"], work_dir=pulumi_root, pulumi_command=_command(pulumi_root)
    )
    assert [(t.student, t.workspace, t.pool) for t in targets] == [
        ("ann", environment("ann")["synapseWorkspace"], environment("ann")["sqlPool"]),
        ("bob", environment("bob")["synapseWorkspace"], environment("bob")["sqlPool"]),
    ]
    assert "stack output --json --stack dev" in _calls(pulumi_root)


def test_budget_per_student_comes_from_the_class_config(tmp_path, monkeypatch):
    from classroom import stackfile

    (tmp_path / "Pulumi.spring.yaml").write_text(
        "config:\n  lab:budget:\n    amountPerStudent: 45\n    contactEmails: [t@example.org]\n"
    )
    monkeypatch.setattr(stackfile, "PROJECT_DIR", tmp_path)
    monkeypatch.setattr(
        spend_mod, "stack_file", lambda stack: stackfile.stack_file(stack, root=tmp_path)
    )
    assert spend_mod.budget_per_student(["spring"]) == 45.0
    assert spend_mod.budget_per_student(["autumn"]) is None
