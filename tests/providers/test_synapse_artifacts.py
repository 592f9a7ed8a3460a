"""Linked service, notebooks and SQL scripts: the real providers against the fake service over HTTPS.

Every provider call goes through the engine's wire format (``to_wire``: JSON, ints
as floats, None keys dropped) the way ``pulumi up`` would drive it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from providers import client as _client
from providers.synapse.artifacts import (
    SMALL_NODE_SESSION,
    ArtifactDefinitionError,
    WorkspaceArtifactsProvider,
    content_sha256,
    notebook_body,
    sql_script_body,
    studio_content_sha256,
)
from providers.synapse.linked_service import AzureMLLinkedServiceProvider
from tests.fakes import synapse as fs
from tests.fakes.synapse import FAST, to_wire, write_notebook

WORKSPACE = "synapsetest01"
SYNAPSE_SCOPE = ("https://dev.azuresynapse.net/.default",)


# ----------------------------------------------------------------------------- helpers


def linked_service_inputs(server, **overrides):
    inputs = {
        "workspace_name": WORKSPACE,
        "linked_service_name": "AzureML",
        "subscription_id": "00000000-1111-2222-3333-444444444444",
        "resource_group_name": "dp000-abc1234",
        "ml_workspace_name": "amlabc1234",
        "description": "Azure Machine Learning service",
        "endpoint": server.url,
    }
    inputs.update(overrides)
    return inputs


LS_OUTPUT_KEYS = ("properties_sha256",)
ARTIFACT_OUTPUT_KEYS = ("studio_sha256", "edited", "kept_copies")


def input_part(outs, extra_keys):
    """The outputs without the output-only keys (those are checked where they matter)."""
    assert set(extra_keys) <= set(outs), f"missing output keys {set(extra_keys) - set(outs)}"
    return {k: v for k, v in outs.items() if k not in extra_keys}


def with_hashes(inputs):
    """What the resource computes in the program: each entry's sha256 of the body to upload."""
    inputs = json.loads(json.dumps(inputs))
    for entry in (inputs.get("notebooks") or {}).values():
        entry["sha256"] = content_sha256(notebook_body(entry, inputs))
    for entry in (inputs.get("sql_scripts") or {}).values():
        entry.pop("sha256", None)
        entry["sha256"] = content_sha256(sql_script_body(entry, inputs))
    return inputs


def artifacts_inputs(server, tmp_path: Path, **overrides):
    write_notebook(
        tmp_path / "notebooks" / "01-load-data.ipynb",
        {"data_lake_account": "datalakexxxxxxx", "file_system": "files"},
    )
    write_notebook(
        tmp_path / "notebooks" / "02-train-automl.ipynb",
        {
            "data_lake_account": "datalakexxxxxxx",
            "ml_workspace": "amlxxxxxxx",
            "max_trials": 4,
            "enable_onnx": False,
            "max_hours": 0.25,
        },
        body="train()\n",
        description="Train with AutoML",
    )
    inputs = {
        "workspace_name": WORKSPACE,
        "endpoint": server.url,
        "spark_pool_name": "sparkabc1234",
        "session": dict(SMALL_NODE_SESSION),
        "parameters": {
            "data_lake_account": "datalakeabc1234",
            "ml_workspace": "amlabc1234",
            "max_trials": 8,
            "enable_onnx": True,
            "max_hours": 1,
            "unused": "ignored",
        },
        "notebooks": {
            "01-load-data": {"path": "notebooks/01-load-data.ipynb"},
            "02-train-automl": {"path": "notebooks/02-train-automl.ipynb"},
        },
        "sql_scripts": {
            "Load weather forecast": {
                "template": "weather_forecast.sql",
                "values": {
                    "data_lake_account_name": "datalakeabc1234",
                    "data_lake_filesystem": "files",
                },
                "sql_pool_name": "sqlabc1234",
                "description": "weather forecast",
            }
        },
    }
    inputs.update(overrides)
    return with_hashes(inputs)


# ----------------------------------------------------------------------------- linked service


@pytest.mark.parametrize("lro", ["location", "async", "sync"])
def test_linked_service_create_sends_the_exact_body(fake, credential, lro):
    fake.lro = lro
    provider = AzureMLLinkedServiceProvider(FAST)
    inputs = linked_service_inputs(fake)

    result = provider.create(to_wire(inputs))

    puts = fake.calls("PUT")
    assert len(puts) == 1
    assert puts[0].path == "/linkedservices/AzureML"
    assert puts[0].query == {"api-version": "2020-12-01"}
    # The SDK wraps the LinkedService model once: {"properties": {...}}, never twice.
    assert puts[0].body == {
        "properties": {
            "type": "AzureMLService",
            "description": "Azure Machine Learning service",
            "typeProperties": {
                "subscriptionId": "00000000-1111-2222-3333-444444444444",
                "resourceGroupName": "dp000-abc1234",
                "mlWorkspaceName": "amlabc1234",
                "authentication": "MSI",
            },
            "connectVia": {
                "referenceName": "AutoResolveIntegrationRuntime",
                "type": "IntegrationRuntimeReference",
            },
        }
    }
    assert list(fake.artifacts["linkedservices"]) == ["AzureML"]
    # Every request (PUT and its polling) carries the token of the data-plane audience.
    assert {r.authorization for r in fake.requests} == {f"Bearer {fs.SYNAPSE_TOKEN}"}
    assert credential.scopes and set(credential.scopes) == {SYNAPSE_SCOPE}
    # create returns every input key, so the next diff sees nothing new.
    assert input_part(result.outs, LS_OUTPUT_KEYS) == inputs
    assert result.id == f"workspaces/{WORKSPACE}/linkedservices/AzureML"


def test_linked_service_unchanged_second_run_sends_nothing(fake):
    provider = AzureMLLinkedServiceProvider(FAST)
    inputs = linked_service_inputs(fake)
    created = provider.create(to_wire(inputs))
    fake.reset_log()

    diff = provider.diff(created.id, to_wire(created.outs), to_wire(inputs))
    updated = provider.update(created.id, to_wire(created.outs), to_wire(inputs))

    assert diff.changes is False and diff.replaces is None and diff.diffs == []
    assert fake.requests == []
    assert input_part(updated.outs, LS_OUTPUT_KEYS) == inputs


def test_linked_service_changed_ml_workspace_is_updated_in_place(fake):
    provider = AzureMLLinkedServiceProvider(FAST)
    created = provider.create(to_wire(linked_service_inputs(fake)))
    news = linked_service_inputs(fake, ml_workspace_name="amlother99")

    diff = provider.diff(created.id, to_wire(created.outs), to_wire(news))
    assert diff.changes is True and diff.diffs == ["ml_workspace_name"] and diff.replaces is None

    fake.reset_log()
    provider.update(created.id, to_wire(created.outs), to_wire(news))
    assert [r.path for r in fake.writes()] == ["/linkedservices/AzureML"]
    stored = fake.artifacts["linkedservices"]["AzureML"]["properties"]
    assert stored["typeProperties"]["mlWorkspaceName"] == "amlother99"


@pytest.mark.parametrize(
    "key,value",
    [
        ("workspace_name", "synapseother"),
        ("linked_service_name", "AzureML2"),
        ("endpoint", "https://elsewhere.example"),
    ],
)
def test_linked_service_identity_change_needs_replacement(fake, key, value):
    provider = AzureMLLinkedServiceProvider(FAST)
    olds = linked_service_inputs(fake)
    diff = provider.diff("id", to_wire(olds), to_wire({**olds, key: value}))
    assert diff.changes is True and diff.replaces == [key] and diff.delete_before_replace is True


def test_linked_service_delete_and_404_is_done(fake):
    provider = AzureMLLinkedServiceProvider(FAST)
    created = provider.create(to_wire(linked_service_inputs(fake)))

    provider.delete(created.id, to_wire(created.outs))
    assert fake.artifacts["linkedservices"] == {}
    provider.delete(created.id, to_wire(created.outs))  # already gone: 404 counts as done

    deletes = fake.calls("DELETE", "/linkedservices/AzureML")
    assert len(deletes) == 2


def test_linked_service_default_endpoint_is_the_workspace_dev_endpoint():
    assert (
        _client.synapse_endpoint("synapseabc1234") == "https://synapseabc1234.dev.azuresynapse.net"
    )
    assert _client.synapse_endpoint("x", "https://127.0.0.1:1/") == "https://127.0.0.1:1"
    assert _client.arm_endpoint() == "https://management.azure.com"


# ----------------------------------------------------------------------------- notebooks and SQL scripts


def test_artifacts_create_uploads_bound_and_filled_notebooks_and_the_sql_script(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)

    result = provider.create(to_wire(inputs))

    assert sorted(fake.artifacts["notebooks"]) == ["01-load-data", "02-train-automl"]
    assert list(fake.artifacts["sqlScripts"]) == ["Load weather forecast"]
    assert len(fake.calls("PUT")) == 3

    put = fake.calls("PUT", "/notebooks/02-train-automl")[0].body
    assert put["name"] == "02-train-automl"
    notebook = put["properties"]
    assert notebook["bigDataPool"] == {
        "referenceName": "sparkabc1234",
        "type": "BigDataPoolReference",
    }
    assert notebook["sessionProperties"] == {
        "driverMemory": "28g",
        "driverCores": 4,
        "executorMemory": "28g",
        "executorCores": 4,
        "numExecutors": 2,
    }
    assert notebook["metadata"]["kernelspec"]["name"] == "synapse_pyspark"
    assert notebook["metadata"]["language_info"] == {"name": "python"}
    assert notebook["description"] == "Train with AutoML"
    markdown, parameters, code = notebook["cells"]
    assert markdown["source"] == ["# Lab notebook\n", "Uses the student's resources."]
    # The student's values, typed as the notebook declares them (max_hours is a float there).
    assert parameters["metadata"] == {"tags": ["parameters"]}
    assert parameters["source"] == [
        "# filled per student at upload\n",
        "data_lake_account = 'datalakeabc1234'\n",
        "ml_workspace = 'amlabc1234'\n",
        "max_trials = 8\n",
        "enable_onnx = True\n",
        "max_hours = 1.0",
    ]
    assert parameters["outputs"] == [] and "execution_count" not in parameters  # uploaded clean
    assert code["source"] == ["train()\n"]

    first = fake.artifacts["notebooks"]["01-load-data"]["properties"]["cells"][1]["source"]
    assert first == [
        "# filled per student at upload\n",
        "data_lake_account = 'datalakeabc1234'\n",
        "file_system = 'files'",
    ]

    script = fake.calls("PUT", "/sqlScripts/")[0].body["properties"]
    assert script["type"] == "SqlQuery"
    assert script["content"]["currentConnection"] == {
        "name": "sqlabc1234",
        "type": "SqlPool",
        "poolName": "sqlabc1234",
        "databaseName": "sqlabc1234",
    }
    query = script["content"]["query"]
    assert "IF OBJECT_ID(N'dbo.weather_forecast', N'U') IS NOT NULL" in query
    assert "DROP TABLE dbo.weather_forecast" in query
    for column in ("season", "mnth", "holiday", "weekday", "workingday", "weathersit"):
        assert f"    {column} bigint" in query
    for column in ("temp", "atemp", "hum", "windspeed"):
        assert f"    {column} real" in query
    assert (
        "FROM 'https://datalakeabc1234.dfs.core.windows.net/files/data/weather-forecast.csv'"
    ) in query
    assert "FILE_TYPE = 'CSV'" in query and "FIRSTROW = 2" in query
    assert "CREDENTIAL = (IDENTITY = 'Managed Identity')" in query
    assert "{{" not in query

    # State: hashes of exactly what the service stored, no notebook text.
    outs = result.outs
    for name, entry in outs["notebooks"].items():
        assert entry["sha256"] == content_sha256(fake.artifacts["notebooks"][name]["properties"])
        assert set(entry) == {"path", "sha256"}
    assert outs["sql_scripts"]["Load weather forecast"]["sha256"] == content_sha256(
        fake.artifacts["sqlScripts"]["Load weather forecast"]["properties"]
    )
    # the program's hashes were right, so outputs == inputs (and the hashes drift is read against)
    assert input_part(outs, ARTIFACT_OUTPUT_KEYS) == inputs
    assert outs["studio_sha256"]["notebooks"]["01-load-data"] == studio_content_sha256(
        "notebook", fake.artifacts["notebooks"]["01-load-data"]["properties"]
    )
    assert outs["edited"] == [] and outs["kept_copies"] == []
    assert len(json.dumps(outs)) < 2500


def test_artifacts_unchanged_second_run_sends_nothing(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    created = provider.create(to_wire(inputs))
    fake.reset_log()

    diff = provider.diff(created.id, to_wire(created.outs), to_wire(inputs))
    updated = provider.update(created.id, to_wire(created.outs), to_wire(inputs))

    assert diff.changes is False and diff.diffs == []
    assert fake.requests == []
    assert input_part(updated.outs, ARTIFACT_OUTPUT_KEYS) == inputs


def test_a_changed_notebook_updates_only_that_notebook(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    created = provider.create(to_wire(inputs))
    etags = {n: a["etag"] for n, a in fake.artifacts["notebooks"].items()}
    write_notebook(
        tmp_path / "notebooks" / "02-train-automl.ipynb",
        {
            "data_lake_account": "x",
            "ml_workspace": "y",
            "max_trials": 4,
            "enable_onnx": False,
            "max_hours": 0.25,
        },
        body="train(better=True)\n",
        description="Train with AutoML",
    )
    news = with_hashes(inputs)
    fake.reset_log()

    diff = provider.diff(created.id, to_wire(created.outs), to_wire(news))
    assert (
        diff.changes is True
        and diff.diffs == ["notebooks.02-train-automl"]
        and diff.replaces is None
    )

    updated = provider.update(created.id, to_wire(created.outs), to_wire(news))
    assert [(r.method, r.path) for r in fake.writes()] == [("PUT", "/notebooks/02-train-automl")]
    assert fake.artifacts["notebooks"]["01-load-data"]["etag"] == etags["01-load-data"]
    assert fake.artifacts["notebooks"]["02-train-automl"]["properties"]["cells"][2]["source"] == [
        "train(better=True)\n"
    ]
    assert input_part(updated.outs, ARTIFACT_OUTPUT_KEYS) == news


def test_a_changed_parameter_updates_the_notebooks_that_declare_it(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    created = provider.create(to_wire(inputs))
    news = with_hashes(
        {**inputs, "parameters": {**inputs["parameters"], "ml_workspace": "amlnew0001"}}
    )
    fake.reset_log()

    diff = provider.diff(created.id, to_wire(created.outs), to_wire(news))
    assert diff.diffs == ["parameters.ml_workspace", "notebooks.02-train-automl"]

    provider.update(created.id, to_wire(created.outs), to_wire(news))
    assert [r.path for r in fake.writes()] == ["/notebooks/02-train-automl"]
    source = fake.artifacts["notebooks"]["02-train-automl"]["properties"]["cells"][1]["source"]
    assert "ml_workspace = 'amlnew0001'\n" in source


def test_a_removed_notebook_is_deleted_and_a_new_one_created(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    created = provider.create(to_wire(inputs))
    write_notebook(tmp_path / "notebooks" / "03-predict.ipynb", {"data_lake_account": "x"})
    notebooks = {
        "02-train-automl": inputs["notebooks"]["02-train-automl"],
        "03-predict": {"path": "notebooks/03-predict.ipynb"},
    }
    news = with_hashes({**inputs, "notebooks": notebooks, "sql_scripts": {}})
    fake.reset_log()

    diff = provider.diff(created.id, to_wire(created.outs), to_wire(news))
    assert diff.diffs == [
        "notebooks.01-load-data",
        "notebooks.03-predict",
        "sql_scripts.Load weather forecast",
    ]

    provider.update(created.id, to_wire(created.outs), to_wire(news))
    assert sorted((r.method, r.path) for r in fake.writes()) == [
        ("DELETE", "/notebooks/01-load-data"),
        ("DELETE", "/sqlScripts/Load weather forecast"),
        ("PUT", "/notebooks/03-predict"),
    ]
    assert sorted(fake.artifacts["notebooks"]) == ["02-train-automl", "03-predict"]
    assert fake.artifacts["sqlScripts"] == {}


def test_a_changed_spark_pool_rebinds_every_notebook_in_place(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    created = provider.create(to_wire(inputs))
    news = with_hashes({**inputs, "spark_pool_name": "sparknew"})
    fake.reset_log()

    diff = provider.diff(created.id, to_wire(created.outs), to_wire(news))
    assert diff.replaces is None
    assert diff.diffs == ["spark_pool_name", "notebooks.01-load-data", "notebooks.02-train-automl"]
    provider.update(created.id, to_wire(created.outs), to_wire(news))
    assert sorted(r.path for r in fake.writes()) == [
        "/notebooks/01-load-data",
        "/notebooks/02-train-automl",
    ]
    for item in fake.artifacts["notebooks"].values():
        assert item["properties"]["bigDataPool"]["referenceName"] == "sparknew"


def test_artifacts_delete_removes_everything_and_tolerates_404(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    created = provider.create(to_wire(artifacts_inputs(fake, tmp_path)))
    del fake.artifacts["notebooks"]["01-load-data"]  # someone deleted it in Studio

    provider.delete(created.id, to_wire(created.outs))

    assert fake.artifacts["notebooks"] == {} and fake.artifacts["sqlScripts"] == {}
    assert len(fake.calls("DELETE")) == 3


def test_artifacts_workspace_change_is_a_replacement_and_unknowns_are_changes(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    olds = artifacts_inputs(fake, tmp_path)
    diff = provider.diff("id", to_wire(olds), to_wire({**olds, "workspace_name": "synapseother"}))
    assert diff.replaces == ["workspace_name"] and diff.delete_before_replace is True

    # During preview an input not known yet arrives as the engine's unknown sentinel.
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    diff = provider.diff("id", to_wire(olds), to_wire({**olds, "notebooks": unknown}))
    assert diff.changes is True and diff.diffs == ["notebooks"] and diff.replaces is None
    diff = provider.diff("id", to_wire(olds), to_wire({**olds, "workspace_name": unknown}))
    assert diff.replaces == ["workspace_name"]


def test_notebook_edited_after_preview_is_uploaded_and_recorded_by_its_real_hash(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    write_notebook(
        tmp_path / "notebooks" / "01-load-data.ipynb", {"data_lake_account": "x"}, body="edited\n"
    )

    created = provider.create(to_wire(inputs))

    stored = fake.artifacts["notebooks"]["01-load-data"]["properties"]
    assert stored["cells"][2]["source"] == ["edited\n"]
    assert created.outs["notebooks"]["01-load-data"]["sha256"] == content_sha256(stored)
    # The program, run again, computes that same hash: the next diff is empty.
    assert (
        provider.diff(created.id, to_wire(created.outs), to_wire(with_hashes(inputs))).changes
        is False
    )


def test_inline_notebook_json_is_supported(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    document = json.loads(
        write_notebook(tmp_path / "x.ipynb", {"data_lake_account": "x"}).read_text()
    )
    inputs = artifacts_inputs(
        fake, tmp_path, notebooks={"inline": {"content": json.dumps(document)}}, sql_scripts={}
    )

    provider.create(to_wire(inputs))

    cells = fake.artifacts["notebooks"]["inline"]["properties"]["cells"]
    assert cells[1]["source"][1] == "data_lake_account = 'datalakeabc1234'"


def test_a_missing_notebook_file_or_bad_parameters_fail_clearly_before_any_call(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    (tmp_path / "notebooks" / "01-load-data.ipynb").unlink()
    with pytest.raises(ArtifactDefinitionError, match="01-load-data.*not found"):
        provider.create(to_wire(inputs))

    write_notebook(tmp_path / "notebooks" / "01-load-data.ipynb", {"data_lake_account": "x"})
    bad = {**inputs, "parameters": {"data_lake_account": 5}}
    with pytest.raises(ArtifactDefinitionError, match="data_lake_account"):
        provider.create(to_wire(bad))
    assert fake.requests == []


# ----------------------------------------------------------------------------- the lab's SQL scripts


def lab_script_entry(spec) -> dict:
    """The entry WorkspaceArtifacts keeps for a SqlScriptSpec whose inputs are plain values."""
    entry = {
        "template": spec.template,
        "values": dict(spec.values),
        "sql_pool_name": spec.sql_pool_name,
        "description": spec.description,
    }
    if spec.after:
        entry["after"] = spec.after
    return entry


def test_the_predict_rentals_script_is_uploaded_after_the_weather_forecast(fake, tmp_path):
    from providers.synapse import (
        PREDICT_RENTALS_SCRIPT_NAME,
        WEATHER_FORECAST_SCRIPT_NAME,
        predict_rentals_sql_script,
        weather_forecast_sql_script,
    )

    scripts = {  # declared the other way round: the entry's "after" decides
        PREDICT_RENTALS_SCRIPT_NAME: lab_script_entry(
            predict_rentals_sql_script("sqlabc1234", "datalakeabc1234")
        ),
        WEATHER_FORECAST_SCRIPT_NAME: lab_script_entry(
            weather_forecast_sql_script("sqlabc1234", "datalakeabc1234")
        ),
    }
    inputs = artifacts_inputs(fake, tmp_path, notebooks={}, sql_scripts=scripts)

    WorkspaceArtifactsProvider(FAST).create(to_wire(inputs))

    assert [r.path for r in fake.writes()] == [
        "/sqlScripts/Load weather forecast",
        "/sqlScripts/Predict rentals",
    ]
    script = fake.artifacts["sqlScripts"]["Predict rentals"]["properties"]
    assert script["content"]["currentConnection"]["poolName"] == "sqlabc1234"
    assert script["description"].startswith("Load the ONNX model into dbo.rental_prediction_model")
    query = script["content"]["query"]
    assert "{{" not in query
    assert (
        "CREATE TABLE dbo.rental_prediction_model\n(\n    id int NOT NULL,\n    description varchar(200),\n"
        "    model varbinary(max)\n)" in query
    )
    assert (
        "FROM 'https://datalakeabc1234.dfs.core.windows.net/files/models/rental-prediction-model.csv'"
        in query
    )
    assert "CREATE PROCEDURE dbo.predict_rentals" in query
    assert (
        "FROM PREDICT(MODEL = @model, DATA = dbo.weather_forecast AS d, RUNTIME = ONNX)\n"
        "    WITH (variable_out1 real) AS p;"
    ) in query
    assert "1. Resume the pool: Manage > SQL pools > sqlabc1234 > Resume." in query
    assert "pause the pool (Manage > SQL pools > sqlabc1234 > Pause)" in query
    assert query.rstrip().endswith("EXEC dbo.predict_rentals;")


def test_upload_order_follows_after_then_names():
    from providers.synapse.artifacts import upload_order

    assert upload_order({"A uses Z": {"after": "Z base"}, "Z base": {}, "M": {}}) == [
        "Z base",
        "A uses Z",
        "M",
    ]
    assert upload_order({"b": {"after": "gone"}, "a": {}}) == [
        "a",
        "b",
    ]  # a script no longer declared
    with pytest.raises(ArtifactDefinitionError, match="wait for each other: a -> b -> a"):
        upload_order({"a": {"after": "b"}, "b": {"after": "a"}})
