"""The cost guard's pipeline and schedule: SDK models, the pipeline run, and the provider's calls."""

from __future__ import annotations

import copy

import pytest

from lab import cost_guard
from providers.client import DataPlaneError
from providers.synapse.pause_schedule import PauseScheduleProvider, check_models, desired
from tests.fakes import synapse as fs
from tests.fakes.pipeline_eval import Context, ExpressionError, evaluate_text, run_pipeline
from tests.fakes.synapse import FAST, to_wire

WORKSPACE = "synapsetest01"
POOL = (
    "/subscriptions/0000/resourceGroups/dp000-abc1234/providers/Microsoft.Synapse/workspaces/"
    "synapsetest01/sqlPools/sqlabc1234"
)
PIPELINE = cost_guard.PAUSE_PIPELINE_NAME
TRIGGER = cost_guard.PAUSE_TRIGGER_NAME


def inputs(server, times=("23:00",), zone="Europe/Amsterdam"):
    return {
        "workspace_name": WORKSPACE,
        "endpoint": server.url,
        "sql_pool_id": POOL,
        "times": list(times),
        "time_zone": zone,
    }


# ----------------------------------------------------------------------------- bodies


def test_bodies_deserialize_into_the_sdk_models_and_serialize_back_unchanged():
    from azure.synapse.artifacts import models

    pipeline = cost_guard.pipeline_body(POOL)
    resource = models.PipelineResource.deserialize({"properties": copy.deepcopy(pipeline)})
    assert resource.serialize()["properties"] == pipeline
    assert [type(a).__name__ for a in resource.activities] == ["WebActivity", "IfConditionActivity"]

    triggers = cost_guard.trigger_bodies(((23, 0),), "UTC")
    trigger = models.Trigger.deserialize(copy.deepcopy(triggers[TRIGGER]))
    assert isinstance(trigger, models.ScheduleTrigger)
    assert trigger.serialize() == {
        **triggers[TRIGGER],
        "typeProperties": {
            "recurrence": {
                **triggers[TRIGGER]["typeProperties"]["recurrence"],
                # The model's one change: its datetime carries milliseconds.
                "startTime": "2024-01-01T00:00:00.000Z",
            }
        },
    }


def test_the_sdk_model_would_put_a_z_on_a_local_start_time_so_triggers_go_as_json():
    from azure.synapse.artifacts import models

    body = cost_guard.trigger_bodies(((23, 0),), "Europe/Amsterdam")[TRIGGER]
    recurrence = body["typeProperties"]["recurrence"]
    assert recurrence["timeZone"] == "W. Europe Standard Time"
    assert recurrence["startTime"] == "2024-01-01T00:00:00"
    assert recurrence["schedule"] == {"hours": [23], "minutes": [0]}
    serialized = models.Trigger.deserialize(copy.deepcopy(body)).serialize()
    assert serialized["typeProperties"]["recurrence"]["startTime"].endswith("Z")
    check_models(cost_guard.pipeline_body(POOL), {TRIGGER: body})  # still valid for the model


def test_times_with_different_minutes_become_separate_triggers():
    bodies = cost_guard.trigger_bodies(((1, 30), (19, 0), (23, 0), (23, 30)), "UTC")
    schedules = {n: b["typeProperties"]["recurrence"]["schedule"] for n, b in bodies.items()}
    assert schedules == {
        TRIGGER: {"hours": [19, 23], "minutes": [0]},
        f"{TRIGGER} 2": {"hours": [1, 23], "minutes": [30]},
    }
    # Times sharing their hours and differing in minutes share one trigger.
    one = cost_guard.trigger_bodies(((8, 0), (8, 30), (23, 0), (23, 30)), "UTC")
    assert [b["typeProperties"]["recurrence"]["schedule"] for b in one.values()] == [
        {"hours": [8, 23], "minutes": [0, 30]}
    ]
    fired = {(h, m) for s in schedules.values() for h in s["hours"] for m in s["minutes"]}
    assert fired == {(1, 30), (19, 0), (23, 0), (23, 30)}


# ----------------------------------------------------------------------------- expressions and runs


def test_the_evaluator_reads_the_subset_and_refuses_anything_else():
    ctx = Context(
        {"SqlPoolId": "/p"}, {"A": {"properties": {"status": "Online"}}}, {"A": "Succeeded"}
    )
    assert evaluate_text("@concat('x', pipeline().parameters.SqlPoolId, 'it''s')", ctx) == "x/pit's"
    assert evaluate_text("@equals(activity('A').output.properties.status, 'Online')", ctx) is True
    assert evaluate_text("@equals(activity('A').output.properties.status, 'online')", ctx) is False
    with pytest.raises(ExpressionError, match="outside the subset"):
        evaluate_text("@toLower('A')", ctx)
    with pytest.raises(ExpressionError, match="did not succeed"):
        evaluate_text("@activity('B').output", ctx)


def run_against(server, tls_ca):
    return run_pipeline(
        cost_guard.pipeline_body(POOL),
        token_for=lambda resource: fs.ARM_TOKEN if resource == cost_guard.ARM_RESOURCE else "x",
        rewrite_url=lambda url: url.replace("https://management.azure.com", server.url),
        verify=tls_ca,
    )


def test_an_online_pool_is_paused(fake, tls_files):
    fake.add_sql_pool(POOL, "Online")
    run = run_against(fake, tls_files[0])
    assert run.status == "Succeeded", run.errors
    assert run.statuses == {
        cost_guard.GET_STATE_ACTIVITY: "Succeeded",
        cost_guard.IF_ONLINE_ACTIVITY: "Succeeded",
        cost_guard.PAUSE_ACTIVITY: "Succeeded",
    }
    assert fake.pool_status(POOL) == "Paused"
    assert run.requests == [
        ("GET", f"https://management.azure.com{POOL}?api-version=2021-06-01"),
        ("POST", f"https://management.azure.com{POOL}/pause?api-version=2021-06-01"),
    ]


@pytest.mark.parametrize("state", ["Paused", "Resuming", "Pausing", "Scaling"])
def test_a_pool_not_online_is_left_alone(fake, tls_files, state):
    fake.add_sql_pool(POOL, state)
    run = run_against(fake, tls_files[0])
    assert run.status == "Succeeded"
    assert cost_guard.PAUSE_ACTIVITY not in run.statuses
    assert fake.calls("POST") == []
    assert fake.pool_status(POOL) == state


def test_a_failed_get_fails_the_run_and_pauses_nothing(fake, tls_files):
    fake.add_sql_pool(POOL, "Online")
    fake.fail("GET", "sqlPools", status=403, body=fs.ARM_403_BODY)
    run = run_against(fake, tls_files[0])
    assert run.status == "Failed"
    assert run.statuses[cost_guard.GET_STATE_ACTIVITY] == "Failed"
    assert run.statuses[cost_guard.IF_ONLINE_ACTIVITY] == "Skipped"
    assert "403" in run.errors[cost_guard.GET_STATE_ACTIVITY]
    assert fake.pool_status(POOL) == "Online"


# ----------------------------------------------------------------------------- provider


def writes(server):
    return [(r.method, r.path) for r in server.writes("^/(pipelines|triggers)")]


@pytest.mark.parametrize("lro", ["location", "async", "sync"])
def test_create_uploads_the_pipeline_then_the_trigger_then_starts_it(fake, lro):
    fake.lro = lro
    result = PauseScheduleProvider(FAST).create(to_wire(inputs(fake)))
    assert writes(fake) == [
        ("PUT", f"/pipelines/{PIPELINE}"),
        ("PUT", f"/triggers/{TRIGGER}"),
        ("POST", f"/triggers/{TRIGGER}/start"),
    ]
    assert fake.trigger_state(TRIGGER) == "Started"
    sent = fake.calls("PUT", "^/triggers/")[0].body["properties"]
    assert sent["typeProperties"]["recurrence"]["startTime"] == "2024-01-01T00:00:00"
    assert sent == cost_guard.trigger_bodies(((23, 0),), "Europe/Amsterdam")[TRIGGER]
    pipeline = fake.artifacts["pipelines"][PIPELINE]["properties"]
    assert pipeline["parameters"]["SqlPoolId"]["defaultValue"] == POOL
    assert result.outs["triggers"] == {TRIGGER: result.outs["triggers"][TRIGGER]}
    assert {r.authorization for r in fake.requests} == {f"Bearer {fs.SYNAPSE_TOKEN}"}


def test_a_changed_time_stops_the_trigger_before_it_is_changed_and_starts_it_again(fake):
    provider = PauseScheduleProvider(FAST)
    created = provider.create(to_wire(inputs(fake)))
    fake.reset_log()
    new = inputs(fake, times=("22:00",))
    diff = provider.diff(created.id, to_wire(created.outs), to_wire(new))
    assert diff.changes is True and diff.replaces is None
    updated = provider.update(created.id, to_wire(created.outs), to_wire(new))
    assert writes(fake) == [
        ("POST", f"/triggers/{TRIGGER}/stop"),
        ("PUT", f"/triggers/{TRIGGER}"),
        ("POST", f"/triggers/{TRIGGER}/start"),
    ]
    assert fake.trigger_state(TRIGGER) == "Started"
    schedule = fake.artifacts["triggers"][TRIGGER]["properties"]["typeProperties"]["recurrence"]
    assert schedule["schedule"] == {"hours": [22], "minutes": [0]}
    # Nothing changed: nothing is sent.
    fake.reset_log()
    provider.update(created.id, to_wire(updated.outs), to_wire(new))
    assert writes(fake) == []


def test_a_trigger_no_longer_needed_is_stopped_and_deleted(fake):
    provider = PauseScheduleProvider(FAST)
    created = provider.create(to_wire(inputs(fake, times=("23:00", "01:30"))))
    assert fake.trigger_state(f"{TRIGGER} 2") == "Started"
    fake.reset_log()
    provider.update(created.id, to_wire(created.outs), to_wire(inputs(fake)))
    # The 23:00 trigger is the same: it keeps running untouched.
    assert writes(fake) == [
        ("POST", f"/triggers/{TRIGGER} 2/stop"),
        ("DELETE", f"/triggers/{TRIGGER} 2"),
    ]
    assert fake.trigger_state(TRIGGER) == "Started"
    assert sorted(fake.artifacts["triggers"]) == [TRIGGER]


def test_delete_stops_and_deletes_the_trigger_then_the_pipeline(fake):
    provider = PauseScheduleProvider(FAST)
    created = provider.create(to_wire(inputs(fake)))
    fake.reset_log()
    provider.delete(created.id, to_wire(created.outs))
    assert writes(fake) == [
        ("POST", f"/triggers/{TRIGGER}/stop"),
        ("DELETE", f"/triggers/{TRIGGER}"),
        ("DELETE", f"/pipelines/{PIPELINE}"),
    ]
    assert fake.artifacts["triggers"] == {} and fake.artifacts["pipelines"] == {}
    # Already gone: a second delete succeeds.
    provider.delete(created.id, to_wire(created.outs))


def test_the_fake_refuses_what_the_service_refuses(fake):
    provider = PauseScheduleProvider(FAST)
    provider.create(to_wire(inputs(fake)))
    import requests

    headers = {"Authorization": f"Bearer {fs.SYNAPSE_TOKEN}"}
    url = f"{fake.url}/triggers/{TRIGGER}?api-version=2020-12-01"
    body = {"properties": cost_guard.trigger_bodies(((22, 0),), "Europe/Amsterdam")[TRIGGER]}
    started = requests.put(url, json=body, headers=headers, verify=fake.ca_file, timeout=5)
    assert started.status_code == 400 and "Started" in started.text
    gone = requests.delete(
        f"{fake.url}/pipelines/{PIPELINE}?api-version=2020-12-01",
        headers=headers,
        verify=fake.ca_file,
        timeout=5,
    )
    assert gone.status_code == 400 and "referenced by trigger" in gone.text
    zulu = copy.deepcopy(body)
    zulu["properties"]["typeProperties"]["recurrence"]["startTime"] = "2024-01-01T00:00:00Z"
    other = requests.put(
        f"{fake.url}/triggers/other?api-version=2020-12-01",
        json=zulu,
        headers=headers,
        verify=fake.ca_file,
        timeout=5,
    )
    assert other.status_code == 400 and "does not match timeZone" in other.text


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429, "headers": {"Retry-After": "0"}},
        {"status": 503},
        {"drop": True},
        {"status": 403, "body": fs.FIREWALL_403_BODY},
    ],
)
def test_faults_on_the_trigger_are_retried(fake, fault):
    fake.fail("PUT", "^/triggers/", count=1, **fault)
    fake.fail("POST", "/start$", count=1, **fault)
    PauseScheduleProvider(FAST).create(to_wire(inputs(fake)))
    assert fake.trigger_state(TRIGGER) == "Started"


def test_a_fault_that_persists_names_the_workspace_and_the_trigger(fake):
    fake.fail("POST", "/start$", count=99, status=500)
    with pytest.raises(DataPlaneError) as info:
        PauseScheduleProvider(FAST).create(to_wire(inputs(fake)))
    message = str(info.value)
    assert f"start trigger '{TRIGGER}'" in message and WORKSPACE in message


def test_desired_refuses_bad_times():
    with pytest.raises(ValueError, match="24-hour"):
        desired({"sql_pool_id": POOL, "times": ["25:00"], "time_zone": "UTC"})


def test_refresh_finds_a_stopped_or_deleted_trigger_and_update_puts_it_back(fake):
    provider = PauseScheduleProvider(FAST)
    created = provider.create(to_wire(inputs(fake)))
    state = to_wire(created.outs)
    assert provider.read(created.id, state).outs["triggers"] == created.outs["triggers"]

    # A student stops the trigger in Studio.
    fake.artifacts["triggers"][TRIGGER]["properties"]["runtimeState"] = "Stopped"
    read = provider.read(created.id, state)
    sha = created.outs["triggers"][TRIGGER]
    assert read.id == created.id and read.outs["triggers"] == {TRIGGER: f"stopped:{sha}"}
    diff = provider.diff(created.id, to_wire(read.outs), to_wire(inputs(fake)))
    assert diff.changes is True and diff.diffs == [f"triggers.{TRIGGER}"]
    fake.reset_log()
    updated = provider.update(created.id, to_wire(read.outs), to_wire(inputs(fake)))
    assert writes(fake) == [
        ("POST", f"/triggers/{TRIGGER}/stop"),
        ("PUT", f"/triggers/{TRIGGER}"),
        ("POST", f"/triggers/{TRIGGER}/start"),
    ]
    assert fake.trigger_state(TRIGGER) == "Started"
    assert updated.outs["triggers"] == created.outs["triggers"]

    # Someone deletes it: recorded as missing, put back and started.
    del fake.artifacts["triggers"][TRIGGER]
    read = provider.read(created.id, to_wire(updated.outs))
    assert read.outs["triggers"] == {TRIGGER: f"missing:{sha}"}
    provider.update(created.id, to_wire(read.outs), to_wire(inputs(fake)))
    assert fake.trigger_state(TRIGGER) == "Started"
    same = provider.diff(created.id, to_wire(updated.outs), to_wire(inputs(fake)))
    assert same.changes is False


def test_refresh_of_a_deleted_pipeline_drops_the_resource(fake):
    provider = PauseScheduleProvider(FAST)
    created = provider.create(to_wire(inputs(fake)))
    fake.artifacts["triggers"].clear()
    fake.artifacts["pipelines"].clear()
    assert not provider.read(created.id, to_wire(created.outs)).id


def test_refresh_finds_a_changed_pipeline_or_trigger_and_update_puts_them_back(fake):
    provider = PauseScheduleProvider(FAST)
    created = provider.create(to_wire(inputs(fake)))
    sha = created.outs["triggers"][TRIGGER]
    # What the service adds to what it stores (runtimeState) is no drift.
    fake.artifacts["pipelines"][PIPELINE]["properties"]["activities"][0]["userProperties"] = []
    same = provider.read(created.id, to_wire(created.outs))
    assert same.outs["triggers"] == {TRIGGER: sha}
    assert same.outs["pipeline_sha256"] == created.outs["pipeline_sha256"]

    # A student edits both in Studio: the pipeline never pauses, the trigger fires at 06:00.
    pipeline = fake.artifacts["pipelines"][PIPELINE]["properties"]
    pipeline["activities"][1]["typeProperties"]["expression"]["value"] = "@equals(1, 2)"
    trigger = fake.artifacts["triggers"][TRIGGER]["properties"]
    trigger["typeProperties"]["recurrence"]["schedule"]["hours"] = [6]
    read = provider.read(created.id, to_wire(created.outs))
    assert read.outs["triggers"] == {TRIGGER: f"changed:{sha}"}
    assert read.outs["pipeline_sha256"] == f"changed:{created.outs['pipeline_sha256']}"
    diff = provider.diff(created.id, to_wire(read.outs), to_wire(inputs(fake)))
    assert diff.changes is True and diff.diffs == [f"triggers.{TRIGGER}", "pipeline_sha256"]
    fake.reset_log()
    updated = provider.update(created.id, to_wire(read.outs), to_wire(inputs(fake)))
    assert writes(fake) == [
        ("POST", f"/triggers/{TRIGGER}/stop"),
        ("PUT", f"/pipelines/{PIPELINE}"),
        ("PUT", f"/triggers/{TRIGGER}"),
        ("POST", f"/triggers/{TRIGGER}/start"),
    ]
    assert fake.artifacts["pipelines"][PIPELINE]["properties"] == cost_guard.pipeline_body(POOL)
    assert fake.trigger_state(TRIGGER) == "Started"
    assert provider.diff(created.id, to_wire(updated.outs), to_wire(inputs(fake))).changes is False


def test_the_fake_answers_the_pipeline_runs_query_as_the_spec_does(fake):
    """POST /queryPipelineRuns through the SDK's own call: filtered by pipeline name and window,
    newest first; a body the spec does not allow is refused."""
    import datetime as dt

    from azure.core.exceptions import HttpResponseError
    from azure.synapse.artifacts import ArtifactsClient, models

    now = dt.datetime.now(dt.UTC)
    fake.pipeline_runs += [
        fs.pipeline_run(PIPELINE, "Succeeded", now - dt.timedelta(days=1, hours=2)),
        fs.pipeline_run(PIPELINE, "Failed", now - dt.timedelta(hours=2), "Forbidden"),
        fs.pipeline_run("Other", "Succeeded", now - dt.timedelta(hours=1)),
        fs.pipeline_run(PIPELINE, "Succeeded", now - dt.timedelta(days=5)),  # outside the window
    ]
    with pytest.raises(ValueError, match="status"):
        fs.pipeline_run(PIPELINE, "Done", now)
    query = models.RunFilterParameters(
        last_updated_after=now - dt.timedelta(days=2),
        last_updated_before=now,
        filters=[
            models.RunQueryFilter(operand="PipelineName", operator="Equals", values=[PIPELINE])
        ],
        order_by=[models.RunQueryOrderBy(order_by="RunStart", order="DESC")],
    )
    with ArtifactsClient(fs.FakeCredential(), fake.url) as client:
        runs = client.pipeline_run.query_pipeline_runs_by_workspace(query).value
        assert [(r.pipeline_name, r.status) for r in runs] == [
            (PIPELINE, "Failed"),
            (PIPELINE, "Succeeded"),
        ]
        assert runs[0].message == "Forbidden" and runs[0].run_end > runs[0].run_start
        [sent] = fake.calls("POST", "^/queryPipelineRuns$")
        assert sent.query == {"api-version": "2020-12-01"}
        assert set(sent.body) == {"lastUpdatedAfter", "lastUpdatedBefore", "filters", "orderBy"}
        bad = models.RunFilterParameters(
            last_updated_after=now,
            last_updated_before=now,
            filters=[models.RunQueryFilter(operand="PipelineName", operator="Like", values=["x"])],
        )
        with pytest.raises(HttpResponseError) as refused:
            client.pipeline_run.query_pipeline_runs_by_workspace(bad)
        assert refused.value.status_code == 400
