"""`python -m classroom progress`: each step read from its source at the network boundary.

The lakes are Azurite (the real Blob API), Log Analytics and Azure ML the fake in
tests/fakes/progress.py, reached by the real SDK clients (azure-storage-blob, azure-monitor-query,
azure-ai-ml).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json

from classroom.__main__ import build_parser
from classroom.checking import progress
from classroom.checking.checks import OUTPUT_KEYS, Environment
from lab import steps
from tests.classroom.progress_fixtures import NOW, SUFFIX, env_of, law_id
from tests.fakes.progress import JOBS_API_VERSION, MODEL_API_VERSION

LAST_NIGHT = NOW - dt.timedelta(hours=5)
EXPERIMENT = steps.experiment_name()
MODEL = steps.model_name()


def outputs_of(e: Environment, **override: str) -> dict:
    """A student's entry in the stack's `environments` output, as the program exports it
    (an environment deployed before the Log Analytics output has none)."""
    out = {key: getattr(e, attr) for key, attr in OUTPUT_KEYS.items()} | override
    if not out["logAnalyticsWorkspaceId"]:
        del out["logAnalyticsWorkspaceId"]
    return out


def a_class(world) -> list[Environment]:
    """ann finished everything; bob's job runs; cat's failed; dan only prepared; eve has not started."""
    fake = world.fake
    for s in ("ann", "bob", "cat", "dan", "eve"):
        fake.add_ml_workspace(f"aml{SUFFIX[s]}")
        fake.add_log_workspace(law_id(s))
    for s in ("ann", "bob", "cat", "dan"):
        world.prepared(s)
    world.model_rows("ann")
    fake.add_job("amlann0000", "some-other-experiment", "Completed", NOW - dt.timedelta(hours=3))
    fake.add_job("amlann0000", EXPERIMENT, "Failed", NOW - dt.timedelta(hours=2))
    fake.add_job("amlann0000", EXPERIMENT, "Completed", NOW - dt.timedelta(minutes=90))
    fake.add_model("amlann0000", MODEL, 1, NOW - dt.timedelta(minutes=70))
    fake.add_model("amlann0000", MODEL, 2, NOW - dt.timedelta(minutes=60))
    fake.add_sql_request(
        law_id("ann"),
        "CREATE PROCEDURE dbo.predict_rentals AS ...",
        "Completed",
        NOW - dt.timedelta(minutes=31),
    )
    fake.add_sql_request(
        law_id("ann"), "EXEC dbo.predict_rentals;", "Completed", NOW - dt.timedelta(minutes=30)
    )
    fake.add_sql_request(
        law_id("bob"),
        "SELECT COUNT(*) FROM dbo.weather_forecast",
        "Completed",
        NOW - dt.timedelta(minutes=5),
    )
    fake.add_job("amlbob0000", EXPERIMENT, "Running", NOW - dt.timedelta(minutes=10))
    # A job of the same experiment that is no AutoML job (a trial, say) does not count.
    fake.add_job(
        "amlbob0000", EXPERIMENT, "Completed", NOW - dt.timedelta(minutes=2), job_type="Command"
    )
    fake.add_job("amlcat0000", EXPERIMENT, "Failed", NOW - dt.timedelta(minutes=40))
    for s in ("ann", "bob", "cat"):
        fake.add_pipeline_run(law_id(s), steps.PAUSE_PIPELINE, f"run-{s}", "InProgress", LAST_NIGHT)
        fake.add_pipeline_run(
            law_id(s),
            steps.PAUSE_PIPELINE,
            f"run-{s}",
            "Succeeded",
            LAST_NIGHT + dt.timedelta(minutes=1),
        )
    fake.add_pipeline_run(law_id("dan"), steps.PAUSE_PIPELINE, "run-dan", "Failed", LAST_NIGHT)
    # eve's last pause ran three days ago: not last night's.
    fake.add_pipeline_run(
        law_id("eve"), steps.PAUSE_PIPELINE, "run-eve", "Succeeded", NOW - dt.timedelta(days=3)
    )
    return [env_of(s) for s in ("ann", "bob", "cat", "dan", "eve")]


def states(row: progress.StudentProgress) -> dict[str, str]:
    return {s.id: row.state(s.id).state for s in steps.steps()}


def test_each_step_is_read_from_its_source(world):
    envs = a_class(world)
    rows, as_of, queries = progress.read_class(
        envs, world.credential, endpoints=world.endpoints, now=NOW
    )
    by = {r.env.student: r for r in rows}
    assert all(r.readable for r in rows), [r.problems for r in rows]
    assert states(by["ann"]) == dict.fromkeys(
        ("prepared", "submitted", "trained", "registered", "model-rows", "predicted", "paused"),
        "done",
    )
    assert by["ann"].state("registered").detail == "version 2"
    assert by["ann"].state("predicted").at == NOW - dt.timedelta(minutes=30)
    assert by["ann"].state("paused").at == LAST_NIGHT + dt.timedelta(minutes=1)
    # The latest job of the lab's experiment counts (the Failed one before it, and the other experiment, do not).
    assert by["ann"].state("submitted").at == NOW - dt.timedelta(minutes=90)
    assert states(by["bob"]) == {
        "prepared": "done",
        "submitted": "done",
        "trained": "running",
        "registered": "not yet",
        "model-rows": "not yet",
        "predicted": "not yet",
        "paused": "done",
    }
    assert (
        states(by["cat"])["trained"] == "failed" and "Failed" in by["cat"].state("trained").detail
    )
    assert states(by["dan"]) == {
        "prepared": "done",
        "submitted": "not yet",
        "trained": "not yet",
        "registered": "not yet",
        "model-rows": "not yet",
        "predicted": "not yet",
        "paused": "failed",
    }
    assert set(states(by["eve"]).values()) == {"not yet"}
    assert "none since" in by["eve"].state("paused").detail
    # The prepared step's time is the part file's, as Azurite stamped it.
    assert abs(by["dan"].state("prepared").at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=2)

    # One Log Analytics query for the whole class, its rows told apart by TenantId.
    assert queries == 1 and as_of == NOW
    (call,) = world.fake.calls("POST", r"^/v1/workspaces/")
    assert call.path == f"/v1/workspaces/{law_id('ann')}/query"
    assert call.body["workspaces"] == [law_id(s) for s in ("bob", "cat", "dan", "eve")]
    assert (
        call.body["timespan"] == "PT2592000.0S"
    )  # 30 days, as azure-monitor-query writes a timedelta
    # Azure ML: the calls the installed azure-ai-ml makes, at its api-versions.
    jobs = world.fake.calls("GET", r"/workspaces/amlann0000/jobs$")
    assert jobs[0].query == {"api-version": JOBS_API_VERSION, "listViewType": "ActiveOnly"}
    assert len(jobs) == 2  # three jobs, pages of two: the SDK followed nextLink
    (models,) = world.fake.calls("GET", rf"/workspaces/amlann0000/models/{MODEL}/versions$")
    assert models.query["api-version"] == MODEL_API_VERSION

    k = progress.summary(rows)
    reached = {s["id"]: (s["done"], s["running"], s["failed"]) for s in k["steps"]}
    assert reached == {
        "prepared": (4, 0, 0),
        "submitted": (3, 0, 0),
        "trained": (1, 1, 1),
        "registered": (1, 0, 0),
        "model-rows": (1, 0, 0),
        "predicted": (1, 0, 0),
        "paused": (3, 0, 1),
    }
    text = progress.render_table(rows, as_of)
    assert "1 of 5 trained a model, 1 running, 1 failed" in text
    assert "4 of 5 prepared the data" in text
    assert f"data as of {as_of.isoformat()}" in text and "lags" in text


def test_unreadable_sources_are_rows_with_reasons_and_exit_1(world, tmp_path):
    envs = a_class(world)
    world.fake.deleted.add(law_id("bob"))  # bob's Log Analytics workspace was deleted
    world.fake.forbidden.add("amlcat0000")  # the instructor may not read cat's Azure ML workspace
    old = env_of("dan", with_logs=False)  # deployed before the output existed
    outputs = {
        "environments": {
            e.student: outputs_of(e) for e in [*(x for x in envs if x.student != "dan"), old]
        }
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    args = build_parser().parse_args(
        [
            "progress",
            "--stack",
            "dev",
            "--outputs",
            str(path),
            "--config",
            str(tmp_path / "none.yaml"),
            "--json",
        ]
    )
    out, err = io.StringIO(), io.StringIO()
    code = progress.main(
        args, credential=world.credential, endpoints=world.endpoints, out=out, err=err
    )
    assert code == 1, err.getvalue()
    data = json.loads(out.getvalue())
    by = {s["student"]: s for s in data["students"]}
    assert by["bob"]["problems"] == [
        f"the Log Analytics workspace {law_id('bob')} not found (was it deleted?): run "
        "`python -m classroom status` for this student"
    ]
    # bob's other sources were still read.
    assert by["bob"]["steps"]["submitted"]["state"] == "done"
    (cat,) = by["cat"]["problems"]
    assert cat.startswith("cannot read the Azure ML workspace amlcat0000 (403 AuthorizationFailed)")
    assert by["cat"]["steps"]["prepared"]["state"] == "done"
    (dan,) = by["dan"]["problems"]
    assert "no logAnalyticsWorkspaceId" in dan and "up --stack dev --student dan`" in dan
    assert by["ann"]["problems"] == [] and by["ann"]["steps"]["predicted"]["state"] == "done"
    # The batch answered in part (PartialError), then each of its workspaces on its own.
    queries = world.fake.calls("POST", r"^/v1/workspaces/")
    assert len(queries) == 1 + 4
    assert data["summary"]["unreadable"] == 3


def test_a_class_of_230_is_read_in_batches_of_at_most_100(world):
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(230)]
    for wid in ids:
        world.fake.add_log_workspace(wid)
    world.fake.add_sql_request(
        ids[150], "exec dbo.predict_rentals", "Failed", NOW - dt.timedelta(minutes=3)
    )
    from classroom.checking.progress_read import read_logs

    answer = read_logs(
        ids, world.credential, world.endpoints.logs, {}, lambda f, xs: [f(x) for x in xs], NOW
    )
    calls = world.fake.calls("POST", r"^/v1/workspaces/")
    assert [1 + len(c.body["workspaces"] or []) for c in calls] == [100, 100, 30]
    assert answer.evidence[ids[150]].states["predicted"].state == "failed"
    assert answer.evidence[ids[0]].states["predicted"].state == "not yet"
    # --logs-batch 10 (the query API page's limit): 23 queries, the same answer.
    world.fake.reset_log()
    again = read_logs(
        ids, world.credential, world.endpoints.logs, {}, lambda f, xs: [f(x) for x in xs], NOW, 10
    )
    assert len(world.fake.calls("POST", r"^/v1/workspaces/")) == 23
    assert again.evidence[ids[150]].states["predicted"].state == "failed"


def test_stuck_is_no_new_step_while_most_of_the_class_moved_on():
    def row(student: str, done: int, minutes_ago: float) -> progress.StudentProgress:
        r = progress.StudentProgress(env_of("ann"))
        r.env = Environment.undeployed(student, "")  # a name only
        from classroom.checking.progress_read import StepState

        for n, s in enumerate(steps.student_steps()):
            r.states[s.id] = StepState(
                "done" if n < done else "not yet",
                NOW - dt.timedelta(minutes=minutes_ago) if n < done else None,
            )
        return r

    rows = [
        row("a", 3, 5),
        row("b", 3, 8),
        row("c", 2, 10),
        row("d", 1, 45),
        row("e", 1, 10),
        row("f", 0, 0),
        row("g", 2, 3),
    ]
    progress.mark_stuck(rows, dt.timedelta(minutes=20), NOW)
    assert {r.env.student for r in rows if r.stuck} == {"d", "f"}
    # With a longer patience nobody who moved in the last 45 minutes is stuck.
    progress.mark_stuck(rows, dt.timedelta(minutes=60), NOW)
    assert not any(r.stuck for r in rows)
    # A student whose progress could not be read is never called stuck.
    rows[3].problems.append("cannot read")
    progress.mark_stuck(rows, dt.timedelta(minutes=20), NOW)
    assert not rows[3].stuck


def test_without_a_dedicated_sql_pool_part_2_in_the_pool_does_not_apply(world):
    world.fake.add_ml_workspace("amleve0000")
    world.fake.add_log_workspace(law_id("eve"))
    eve = dataclasses.replace(env_of("eve"), sql_pool=None)
    (row,), _, _ = progress.read_class([eve], world.credential, endpoints=world.endpoints, now=NOW)
    assert row.readable
    assert {s: row.state(s).state for s in steps.SQL_POOL_STEPS} == dict.fromkeys(
        steps.SQL_POOL_STEPS, "n/a"
    )
    assert "–" in progress.render_table([row], NOW)


def test_watch_reads_again_and_a_stack_without_outputs_is_exit_2(world, tmp_path, monkeypatch):
    envs = a_class(world)
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"environments": {e.student: outputs_of(e) for e in envs}}))
    monkeypatch.setattr(progress.time, "sleep", lambda s: None)
    html = tmp_path / "progress.html"
    base = ["progress", "--stack", "dev", "--config", str(tmp_path / "none.yaml")]
    args = build_parser().parse_args(
        [*base, "--outputs", str(path), "--watch", "30", "--html", str(html)]
    )
    out, err = io.StringIO(), io.StringIO()
    code = progress.main(
        args, credential=world.credential, endpoints=world.endpoints, out=out, err=err, rounds=2
    )
    assert code == 0, err.getvalue()
    assert out.getvalue().count("data as of") == 2
    assert len(world.fake.calls("POST", r"^/v1/workspaces/")) == 2
    assert '<meta http-equiv="refresh" content="30">' in html.read_text()

    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    args = build_parser().parse_args([*base, "--outputs", str(empty)])
    err = io.StringIO()
    assert progress.main(args, credential=world.credential, out=io.StringIO(), err=err) == 2
    assert (
        err.getvalue() == "error: stack 'dev' has no `environments` output: run `pulumi up` first\n"
    )


def test_status_progress_puts_each_students_progress_in_the_report_and_page(azure, world, tmp_path):
    """`status --progress`: the readiness check, then the progress of the same students."""
    from classroom.checking import status

    from .azure_fixtures import add, endpoints

    envs = {s: add(azure, s) for s in ("ann", "bob")}  # datalakeann0000...: the lakes in Azurite
    for s in envs:
        world.fake.add_ml_workspace(f"aml{SUFFIX[s]}")
        world.fake.add_log_workspace(law_id(s))
    world.prepared("ann")
    world.fake.add_job("amlann0000", EXPERIMENT, "Running", NOW - dt.timedelta(minutes=4))
    outputs = {
        "environments": {
            s: outputs_of(e, logAnalyticsWorkspaceId=law_id(s)) for s, e in envs.items()
        }
    }
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    html = tmp_path / "class.html"
    args = build_parser().parse_args(
        [
            "status",
            "--stack",
            "dev",
            "--outputs",
            str(tmp_path / "outputs.json"),
            "--config",
            str(tmp_path / "none.yaml"),
            "--json",
            "--no-spend",
            "--progress",
            "--html",
            str(html),
            "--timeout",
            "5",
            "--retries",
            "0",
        ]
    )
    out, err = io.StringIO(), io.StringIO()
    status.main(
        args,
        credential=world.credential,
        endpoints=endpoints(azure),
        out=out,
        err=err,
        progress_endpoints=world.endpoints,
    )
    data = json.loads(out.getvalue())
    by = {s["student"]: s for s in data["progress"]["students"]}
    assert by["ann"]["steps"]["prepared"]["state"] == "done"
    assert by["ann"]["steps"]["trained"]["state"] == "running"
    assert by["bob"]["steps"]["prepared"]["state"] == "not yet"
    assert by["ann"]["problems"] == by["bob"]["problems"] == []
    page = html.read_text()
    assert '<th scope="col">Progress</th>' in page and 'id="stuck-only"' in page
    assert "Train a model: running" in page
