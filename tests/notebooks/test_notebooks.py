"""The lab's notebooks: their shape, and runs on local pyspark 3.5 with fakes for Azure.

Spark tests share one local session (module fixture) and are marked `spark`.
Azure ML is replaced by a fake MLClient that records what the notebooks ask of
it; the jobs they build are real azure-ai-ml objects.
"""
from __future__ import annotations

import base64
import csv
import datetime as dt
import importlib.util
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from lab.notebook_params import (
    PARAMETERS_TAG,
    parameters_cell_index,
    read_parameters,
)
from notebooks import make_notebooks
from tests.fakes.notebook_runner import (
    NOTEBOOKS_DIR,
    ROOT,
    cell_tags,
    java_home,
    load_notebook,
    make_spark,
    run_notebook,
    translate_cell,
)

PREPARE = NOTEBOOKS_DIR / "01-prepare-data.ipynb"
TRAIN = NOTEBOOKS_DIR / "02-train-automl.ipynb"
PREDICT = NOTEBOOKS_DIR / "03-predict.ipynb"
NOTEBOOKS = [PREPARE, TRAIN, PREDICT]

SHARED_DATA = ROOT.parent / "shared" / "data"
LAB_TRAINING_CSV = SHARED_DATA / "bike-rentals-training.csv"
LAB_FORECAST_CSV = SHARED_DATA / "weather-forecast.csv"

INTEGER_COLUMNS = ["season", "mnth", "holiday", "weekday", "workingday", "weathersit"]
DOUBLE_COLUMNS = ["temp", "atemp", "hum", "windspeed"]
FEATURES = INTEGER_COLUMNS + DOUBLE_COLUMNS
BIKE_COLUMNS = FEATURES + ["rentals"]
CSV_COLUMNS = ["instant", "dteday", "season", "yr", "mnth", "holiday", "weekday",
               "workingday", "weathersit", "temp", "atemp", "hum", "windspeed", "rentals"]

# The parameters-cell contract: a type means "any value of that type" (filled
# per student), a value is the exact default every notebook must use.
CONTRACT = {
    "data_lake_account": str,
    "data_lake_container": "files",
    "training_data_path": "",
    "forecast_data_path": "",
    "table_name": "bike_data",
    "predictions_table": "rental_predictions",
    "subscription_id": str,
    "resource_group": str,
    "aml_workspace": str,
    "compute_name": str,
    "aml_datastore": "datalake",
    "mltable_folder": "ml/bike_data",
    "experiment_name": "mslearn-bike-rentals",
    "model_name": "rental-prediction-model",
    "synapse_workspace": str,
    "spark_pool": str,
    "sql_pool": "",
}
DECLARED = {
    PREPARE.name: {"data_lake_account", "data_lake_container", "training_data_path", "table_name"},
    TRAIN.name: {"data_lake_account", "data_lake_container", "table_name", "subscription_id",
                 "resource_group", "aml_workspace", "compute_name", "aml_datastore",
                 "mltable_folder", "experiment_name", "model_name"},
    PREDICT.name: {"data_lake_account", "data_lake_container", "forecast_data_path",
                   "predictions_table", "subscription_id", "resource_group", "aml_workspace",
                   "model_name", "synapse_workspace", "sql_pool"},
}
# What the upload component would fill in for one student.
STUDENT = {
    "data_lake_account": "datalakeabc1234",
    "subscription_id": "11111111-2222-3333-4444-555555555555",
    "resource_group": "dp000-abc1234",
    "aml_workspace": "amlabc1234",
    "compute_name": "automl-abc1234",
    "synapse_workspace": "synapseabc1234",
    "spark_pool": "sparkabc1234",
}


def student_parameters(notebook: Path, **overrides) -> dict:
    declared = read_parameters(load_notebook(notebook))
    values = {k: v for k, v in {**STUDENT, **overrides}.items() if k in declared}
    return values


# ---------------------------------------------------------------------------
# Test data, generated with the lab's layout
# ---------------------------------------------------------------------------
def write_training_csv(path: Path, rows: int, seed: int) -> list[tuple]:
    """A CSV shaped like bike-rentals-training.csv; returns the expected bike_data rows."""
    rng = random.Random(seed)
    expected = []
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for i in range(rows):
            day = dt.date(2011, 1, 1) + dt.timedelta(days=9 * i)
            season = (day.month % 12) // 3 + 1
            weekday = (day.weekday() + 1) % 7
            holiday = 1 if rng.random() < 0.05 else 0
            workingday = int(weekday not in (0, 6) and not holiday)
            weathersit = rng.choice([1, 1, 2, 3])
            temp, atemp = round(rng.uniform(0.05, 0.86), 6), round(rng.uniform(0.07, 0.84), 6)
            hum, windspeed = round(rng.uniform(0.0, 0.97), 6), round(rng.uniform(0.02, 0.5), 6)
            rentals = rng.randint(2, 3410)
            writer.writerow([i + 1, f"{day.month}/{day.day}/{day.year}", season, day.year - 2011,
                             day.month, holiday, weekday, workingday, weathersit,
                             temp, atemp, hum, windspeed, rentals])
            expected.append((season, day.month, holiday, weekday, workingday, weathersit,
                             temp, atemp, hum, windspeed, rentals))
    return expected


def write_forecast_csv(path: Path, training_rows: list[tuple]) -> list[tuple]:
    """Like weather-forecast.csv: the features of the last 10 training days."""
    features = [row[:10] for row in training_rows[-10:]]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(FEATURES)
        writer.writerows(features)
    return features


def read_lab_rows(path: Path) -> list[tuple]:
    with path.open(newline="") as f:
        return [
            tuple(int(r[c]) for c in INTEGER_COLUMNS)
            + tuple(float(r[c]) for c in DOUBLE_COLUMNS)
            + ((int(r["rentals"]),) if "rentals" in r else ())
            for r in csv.DictReader(f)
        ]


def table_rows(spark, table: str) -> list[tuple]:
    return sorted(tuple(row) for row in spark.table(table).collect())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def training_csv(data_dir) -> tuple[Path, list[tuple]]:
    path = data_dir / "bike-rentals-training.csv"
    return path, write_training_csv(path, rows=40, seed=7)


@pytest.fixture(scope="module")
def forecast_csv(data_dir, training_csv) -> tuple[Path, list[tuple]]:
    path = data_dir / "weather-forecast.csv"
    return path, write_forecast_csv(path, training_csv[1])


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    pytest.importorskip("pyspark")
    if not (java_home() or shutil.which("java")):
        pytest.skip("no Java for local Spark (install openjdk-17-jre-headless)")
    import pyspark

    assert pyspark.__version__.startswith("3.5."), "the notebooks target Synapse's Spark 3.5"
    session = make_spark(tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()


# ---------------------------------------------------------------------------
# A fake Azure ML client: records calls, answers like the SDK would
# ---------------------------------------------------------------------------
class FakeJobs:
    def __init__(self, statuses, best_child_run_id):
        self.statuses = list(statuses)
        self.best_child_run_id = best_child_run_id
        self.submitted = []
        self.gets = []

    def create_or_update(self, job):
        self.submitted.append(job)
        return SimpleNamespace(name="quiet_bike_42", status="NotStarted",
                               studio_url="https://ml.azure.com/runs/quiet_bike_42")

    def get(self, name):
        self.gets.append(name)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        tags = {"automl_best_child_run_id": self.best_child_run_id} if self.best_child_run_id else {}
        return SimpleNamespace(name=name, status=status, tags=tags, properties={})


class FakeModels:
    def __init__(self, source_dir=None, latest_version="3"):
        self.source_dir = source_dir
        self.latest_version = latest_version
        self.registered = []
        self.gets = []
        self.downloads = []

    def create_or_update(self, model):
        self.registered.append(model)
        return SimpleNamespace(name=model.name, version="1", path=model.path, type=model.type)

    def get(self, name, version=None, label=None):
        self.gets.append((name, version, label))
        return SimpleNamespace(name=name, version=self.latest_version)

    def download(self, name, version, download_path="."):
        self.downloads.append((name, version))
        # The layout MLClient.models.download leaves: <download_path>/<name>/<folder>/...
        shutil.copytree(self.source_dir, Path(download_path) / name / "mlflow-model")


class FakeMLClient:
    def __init__(self, statuses=("Completed",), best_child_run_id="quiet_bike_42_7",
                 model_source=None):
        self.jobs = FakeJobs(statuses, best_child_run_id)
        self.models = FakeModels(model_source)
        self.constructed_with = None


class FakeDefaultCredential:
    def get_token(self, *scopes, **kwargs):  # pragma: no cover - never called offline
        raise AssertionError("no token may be requested in tests")


@pytest.fixture
def fake_azure(monkeypatch):
    """azure.ai.ml.MLClient and DefaultAzureCredential replaced; returns the client."""
    import azure.ai.ml
    import azure.identity

    client = FakeMLClient()

    def make_client(credential, subscription_id=None, resource_group_name=None,
                    workspace_name=None, **kwargs):
        client.constructed_with = (credential, subscription_id, resource_group_name, workspace_name)
        return client

    monkeypatch.setattr(azure.ai.ml, "MLClient", make_client)
    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", FakeDefaultCredential)
    return client


# ---------------------------------------------------------------------------
# Shape: every notebook
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_valid_synapse_pyspark_notebook(path):
    nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.kernelspec.name == "synapse_pyspark"
    assert nb.metadata.kernelspec.display_name == "Synapse PySpark"
    assert nb.metadata.language_info.name == "python"
    tagged = [c for c in nb.cells if PARAMETERS_TAG in cell_tags(c)]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    assert tagged[0].metadata.tags == [PARAMETERS_TAG]
    assert nb.cells[parameters_cell_index(nb)] is tagged[0]
    # Committed without outputs: nothing from a local run leaks into the lab.
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_follow_the_contract(path):
    nb = load_notebook(path)
    params = read_parameters(nb)
    assert set(params) == DECLARED[path.name]
    for name, value in params.items():
        expected = CONTRACT[name]
        if isinstance(expected, type):
            assert isinstance(value, expected) and value, f"{name} needs a placeholder {expected.__name__}"
        else:
            assert value == expected, f"{name} defaults to {value!r}, the contract says {expected!r}"
    # Each line is 'name = literal' or a comment, so the upload can fill it.
    source = "".join(nb["cells"][parameters_cell_index(nb)]["source"])
    for line in source.splitlines():
        assert line.startswith("#") or " = " in line, line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_code_cell_compiles(path):
    """Also the cells the local runs skip (they need Azure)."""
    import ast

    for cell in load_notebook(path)["cells"]:
        if cell["cell_type"] != "code":
            continue
        kind, body = translate_cell(cell)
        if kind == "python":
            tree = ast.parse(body, filename=f"{path.name}:{cell['id']}")
            imported = {
                alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names
            } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
            # pyspark.pandas is the part of pyspark that breaks on pandas/numpy upgrades.
            assert not any(m and m.startswith("pyspark.pandas") for m in imported)
        else:
            assert kind == "sql" and body.strip()


def test_notebooks_match_their_generator():
    built = make_notebooks.build()
    assert sorted(built) == sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))
    for name, nb in built.items():
        on_disk = (NOTEBOOKS_DIR / name).read_text(encoding="utf-8")
        assert on_disk == make_notebooks.render(nb), f"notebooks/{name} is stale: run notebooks/make_notebooks.py"


# ---------------------------------------------------------------------------
# 01-prepare-data
# ---------------------------------------------------------------------------
@pytest.mark.spark
def test_prepare_data_saves_bike_data(spark, training_csv):
    csv_path, expected = training_csv
    run = run_notebook(PREPARE, spark, student_parameters(PREPARE, training_data_path=str(csv_path)))

    table = spark.table("bike_data")
    assert table.columns == BIKE_COLUMNS
    assert [t for _, t in table.dtypes] == ["int"] * 6 + ["double"] * 4 + ["int"]
    assert table_rows(spark, "bike_data") == sorted(expected)
    assert spark.catalog.getTable("bike_data").database == "default"

    # The %%sql cell queried the table.
    assert len(run.sql_results) == 1
    assert sorted(tuple(r) for r in run.sql_results[0].collect()) == sorted(expected)
    # The profile.
    assert run["row_count"] == len(expected)
    assert run["null_counts"] == {c: 0 for c in BIKE_COLUMNS}
    by_season = {r["season"]: r for r in run["rentals_by_season"].collect()}
    for season in {row[0] for row in expected}:
        rentals = [row[-1] for row in expected if row[0] == season]
        assert by_season[season]["days"] == len(rentals)
        assert by_season[season]["max_rentals"] == max(rentals)
        assert by_season[season]["avg_rentals"] == pytest.approx(sum(rentals) / len(rentals), abs=0.05)
    assert set(run["correlations"]) == set(FEATURES)
    assert run.magics == []


@pytest.mark.spark
def test_prepare_data_reruns_replace_the_table(spark, training_csv, data_dir):
    csv_path, expected = training_csv
    params = student_parameters(PREPARE, training_data_path=str(csv_path))
    run_notebook(PREPARE, spark, params)
    run_notebook(PREPARE, spark, params)
    assert table_rows(spark, "bike_data") == sorted(expected)

    # Other data: the table holds exactly the new rows, nothing of the old.
    other = data_dir / "other-training.csv"
    other_rows = write_training_csv(other, rows=12, seed=99)
    run_notebook(PREPARE, spark, student_parameters(PREPARE, training_data_path=str(other)))
    assert table_rows(spark, "bike_data") == sorted(other_rows)


@pytest.mark.spark
@pytest.mark.skipif(not LAB_TRAINING_CSV.exists(), reason=f"lab data not present at {SHARED_DATA}")
def test_prepare_data_on_the_lab_file(spark):
    run = run_notebook(PREPARE, spark, student_parameters(PREPARE, training_data_path=str(LAB_TRAINING_CSV)))
    expected = read_lab_rows(LAB_TRAINING_CSV)
    assert len(expected) == 731
    assert run["row_count"] == 731
    assert table_rows(spark, "bike_data") == sorted(expected)
    assert [r["days"] for r in run["rentals_by_season"].collect()] == [181, 184, 188, 178]


# ---------------------------------------------------------------------------
# 02-train-automl
# ---------------------------------------------------------------------------
TRAINING_URI = "azureml://datastores/datalake/paths/ml/bike_data"


@pytest.fixture(scope="module")
def train_namespace():
    """Notebook 2 run without its Azure cells: the helpers it defines."""
    run = run_notebook(TRAIN, None, student_parameters(TRAIN), skip_tags={"azure"})
    assert run.skipped == ["write-mltable", "submit", "wait", "register"]
    assert run.magics == ['%pip install "azure-ai-ml>=1.20,<2"']
    return run.namespace


def assert_lab_automl_job(job, compute):
    from azure.ai.ml.automl import RegressionPrimaryMetrics
    from azure.ai.ml.entities import ManagedIdentityConfiguration
    from azure.ai.ml.automl import RegressionJob

    assert isinstance(job, RegressionJob)
    assert job.task_type.lower() == "regression"
    assert job.experiment_name == "mslearn-bike-rentals"
    assert job.target_column_name == "rentals"
    assert job.primary_metric == RegressionPrimaryMetrics.SPEARMAN_CORRELATION
    assert job.limits.timeout_minutes == 15
    assert job.limits.max_concurrent_trials == 2
    assert job.training.enable_onnx_compatible_models is True
    assert job.compute == compute
    assert job.training_data.type == "mltable"
    assert job.training_data.path == TRAINING_URI
    assert isinstance(job.identity, ManagedIdentityConfiguration)


def test_automl_job_has_the_lab_settings_and_survives_yaml(train_namespace, tmp_path):
    from azure.ai.ml import load_job

    job = train_namespace["build_automl_job"](TRAINING_URI, "automl-abc1234", "mslearn-bike-rentals")
    assert_lab_automl_job(job, "automl-abc1234")

    path = tmp_path / "job.yml"
    job.dump(path)
    dumped = path.read_text()
    assert "primary_metric: spearman_correlation" in dumped
    assert "enable_onnx_compatible_models: true" in dumped
    assert_lab_automl_job(load_job(path), "automl-abc1234")


def test_register_best_model_registers_the_best_child_runs_mlflow_model(train_namespace):
    client = FakeMLClient(best_child_run_id="quiet_bike_42_7")
    registered = train_namespace["register_best_model"](client, "quiet_bike_42", "rental-prediction-model")

    assert client.jobs.gets == ["quiet_bike_42"]
    (model,) = client.models.registered
    assert model.name == "rental-prediction-model"
    assert model.type == "mlflow_model"
    assert model.path == "azureml://jobs/quiet_bike_42_7/outputs/artifacts/paths/outputs/mlflow-model/"
    assert registered.name == "rental-prediction-model"

    with pytest.raises(RuntimeError, match="no best child run"):
        train_namespace["register_best_model"](FakeMLClient(best_child_run_id=None), "j", "m")


def test_wait_for_job_polls_until_the_end(train_namespace, capsys):
    wait = train_namespace["wait_for_job"]
    sleeps = []
    client = FakeMLClient(statuses=["Queued", "Running", "Running", "Completed"])
    assert wait(client, "quiet_bike_42", poll_seconds=7, sleep=sleeps.append) == "Completed"
    assert sleeps == [7, 7, 7]
    assert capsys.readouterr().out.count("quiet_bike_42: Running") == 2

    with pytest.raises(RuntimeError, match="ended Failed"):
        wait(FakeMLClient(statuses=["Running", "Failed"]), "j", sleep=lambda s: None)


def _jwt(claims: dict) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


def test_synapse_credential_uses_mssparkutils_tokens(train_namespace, monkeypatch):
    asked = []
    token = _jwt({"exp": 1900000000, "aud": "https://management.azure.com"})
    credentials_utils = SimpleNamespace(getToken=lambda audience: asked.append(audience) or token)

    credential = train_namespace["SynapseTokenCredential"](credentials_utils)
    access = credential.get_token("https://management.azure.com/.default")
    assert (access.token, access.expires_on) == (token, 1900000000)
    credential.get_token("https://storage.azure.com/.default")
    credential.get_token("https://ml.azure.com/.default")
    assert asked == ["AzureManagement", "Storage", "https://ml.azure.com"]

    # Inside Synapse (notebookutils importable) get_credential wraps mssparkutils.
    fake_notebookutils = types.ModuleType("notebookutils")
    fake_notebookutils.mssparkutils = SimpleNamespace(credentials=credentials_utils)
    monkeypatch.setitem(sys.modules, "notebookutils", fake_notebookutils)
    inside = train_namespace["get_credential"]()
    assert isinstance(inside, train_namespace["SynapseTokenCredential"])
    assert inside.get_token("https://management.azure.com/.default").token == token


def test_azure_cells_submit_wait_and_register(fake_azure, monkeypatch, capsys):
    """The notebook's own submit/wait/register cells, against the fake client."""
    sleeps = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    fake_azure.jobs.statuses = ["Queued", "Running", "Completed"]

    run = run_notebook(TRAIN, None, student_parameters(TRAIN), skip_tags={"data-lake"},
                       extra_globals={"training_data_uri": TRAINING_URI})

    credential, *workspace = fake_azure.constructed_with
    assert isinstance(credential, FakeDefaultCredential)  # outside Synapse
    assert workspace == [STUDENT["subscription_id"], "dp000-abc1234", "amlabc1234"]
    (job,) = fake_azure.jobs.submitted
    assert_lab_automl_job(job, "automl-abc1234")
    assert "https://ml.azure.com/runs/quiet_bike_42" in capsys.readouterr().out
    assert run.html and "https://ml.azure.com/runs/quiet_bike_42" in run.html[0]
    assert sleeps == [30, 30]
    (model,) = fake_azure.models.registered
    assert model.name == "rental-prediction-model"
    assert "quiet_bike_42_7" in model.path


@pytest.mark.spark
def test_mltable_folder_reads_back_as_bike_data(spark, training_csv, tmp_path):
    import yaml

    csv_path, expected = training_csv
    run_notebook(PREPARE, spark, student_parameters(PREPARE, training_data_path=str(csv_path)))
    run = run_notebook(TRAIN, spark, student_parameters(TRAIN), skip_tags={"azure"})
    folder = tmp_path / "files" / "ml" / "bike_data"
    for _ in range(2):  # re-running overwrites
        assert run["write_mltable"](spark.table("bike_data"), str(folder)) == str(folder)

    spec = yaml.safe_load((folder / "MLTable").read_text())
    assert spec == {
        "type": "mltable",
        "paths": [{"pattern": "./*.parquet"}],
        "transformations": [{"read_parquet": {"include_path_column": False}}],
    }
    data_files = sorted(folder.glob(spec["paths"][0]["pattern"]))
    assert len(data_files) == 1
    back = spark.read.parquet(*[str(f) for f in data_files])
    assert back.columns == BIKE_COLUMNS
    assert [t for _, t in back.dtypes] == ["int"] * 6 + ["double"] * 4 + ["int"]
    assert sorted(tuple(r) for r in back.collect()) == sorted(expected)


# ---------------------------------------------------------------------------
# 03-predict
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stand_in_model(training_csv, tmp_path_factory):
    """A scikit-learn regressor saved as an MLflow model, as AutoML registers its best one."""
    import warnings

    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression

    _, rows = training_csv
    frame = pd.DataFrame([r[:10] for r in rows], columns=FEATURES).astype(
        {**{c: "int32" for c in INTEGER_COLUMNS}, **{c: "float64" for c in DOUBLE_COLUMNS}})
    labels = np.array([r[-1] for r in rows], dtype="float64")
    model = LinearRegression().fit(frame, labels)
    path = tmp_path_factory.mktemp("model") / "mlflow-model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mlflow's hint about integer columns
        mlflow.sklearn.save_model(
            model, str(path), signature=infer_signature(frame, model.predict(frame)),
            pip_requirements=["scikit-learn"], serialization_format="cloudpickle",
        )
    return path, model


def expected_predictions(model, features: list[tuple]) -> list[float]:
    import pandas as pd

    frame = pd.DataFrame(features, columns=FEATURES)
    return [float(v) for v in model.predict(frame)]


def run_predict(spark, monkeypatch, fake_azure, model_dir, forecast_path, **params):
    installs = []
    monkeypatch.setattr(subprocess, "check_call", installs.append)
    # The notebook downloads the model into a fresh temporary folder: keep it in the test's.
    monkeypatch.setattr(tempfile, "tempdir", str(Path(forecast_path).parent))
    fake_azure.models.source_dir = model_dir
    run = run_notebook(PREDICT, spark,
                       student_parameters(PREDICT, forecast_data_path=str(forecast_path), **params))
    return run, installs


@pytest.mark.spark
def test_predict_scores_the_forecast_with_the_registered_model(
        spark, monkeypatch, fake_azure, stand_in_model, forecast_csv, capsys):
    model_dir, model = stand_in_model
    forecast_path, features = forecast_csv
    run, installs = run_predict(spark, monkeypatch, fake_azure, model_dir, forecast_path)

    # The latest version of the registered model was downloaded and loaded with MLflow.
    assert fake_azure.models.gets == [("rental-prediction-model", None, "latest")]
    assert fake_azure.models.downloads == [("rental-prediction-model", "3")]
    assert type(run["model"]).__module__.startswith("mlflow.pyfunc")
    assert installs == []  # everything the model needs is installed already

    table = spark.table("rental_predictions")
    assert table.columns == FEATURES + ["predicted_rentals"]
    assert dict(table.dtypes)["predicted_rentals"] == "double"
    rows = table.collect()
    assert len(rows) == 10
    got = sorted((tuple(r[c] for c in FEATURES), r["predicted_rentals"]) for r in rows)
    want = sorted(zip(features, expected_predictions(model, features)))
    assert [g[0] for g in got] == [w[0] for w in want]
    assert [g[1] for g in got] == pytest.approx([w[1] for w in want], rel=1e-9)
    assert any(shown is run["predictions"] for shown in run.displayed)
    assert "No dedicated SQL pool" in capsys.readouterr().out

    # Re-running replaces the table.
    run_predict(spark, monkeypatch, fake_azure, model_dir, forecast_path)
    assert spark.table("rental_predictions").count() == 10


@pytest.fixture(scope="module")
def predict_run(spark, stand_in_model, forecast_csv):
    """Notebook 3 without its Azure cells, scoring with a model handed to it."""
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(str(stand_in_model[0]))
    run = run_notebook(PREDICT, spark,
                       student_parameters(PREDICT, forecast_data_path=str(forecast_csv[0])),
                       skip_tags={"azure"}, extra_globals={"model": model})
    assert run.skipped == ["load-model"]
    assert run.magics == ['%pip install "azure-ai-ml>=1.20,<2" "mlflow>=2.9,<4"']
    return run


@pytest.mark.spark
def test_score_forecast_takes_any_model_with_predict(predict_run, forecast_csv):
    class Doubler:
        def predict(self, frame):
            assert list(frame.columns) == FEATURES
            assert [str(t) for t in frame.dtypes] == ["int32"] * 6 + ["float64"] * 4
            return frame["temp"] * 2

    forecast_df = predict_run["forecast_df"]
    scored = predict_run["score_forecast"](forecast_df, Doubler()).collect()
    assert [r["predicted_rentals"] for r in scored] == pytest.approx([r["temp"] * 2 for r in scored])
    assert sorted(tuple(r[c] for c in FEATURES) for r in scored) == sorted(forecast_csv[1])


@pytest.mark.spark
def test_predict_installs_only_the_missing_model_requirements(predict_run, stand_in_model, tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(stand_in_model[0], model_dir)
    (model_dir / "requirements.txt").write_text(
        "mlflow==2.9.2\nscikit-learn\nazureml-automl-runtime==1.60.0  # the AutoML runtime\n"
        "pywin32==306; sys_platform == 'win32'\n")
    assert predict_run["missing_requirements"](str(model_dir)) == ["azureml-automl-runtime==1.60.0"]


@pytest.mark.spark
def test_predict_loads_dbo_weather_forecast_when_there_is_a_sql_pool(
        spark, monkeypatch, fake_azure, stand_in_model, forecast_csv):
    from pyspark.sql.readwriter import DataFrameWriter

    writes, options = [], []
    constants = types.ModuleType("com.microsoft.spark.sqlanalytics.Constants")
    constants.Constants = SimpleNamespace(SERVER="Constants.SERVER")
    for name in ("com", "com.microsoft", "com.microsoft.spark", "com.microsoft.spark.sqlanalytics"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, constants.__name__, constants)
    original_option = DataFrameWriter.option

    def option(self, key, value):
        options.append((key, value))
        return original_option(self, key, value)

    monkeypatch.setattr(DataFrameWriter, "option", option)
    monkeypatch.setattr(DataFrameWriter, "synapsesql",
                        lambda self, table: writes.append((table, self._df)), raising=False)

    forecast_path, features = forecast_csv
    run_predict(spark, monkeypatch, fake_azure, stand_in_model[0], forecast_path, sql_pool="sqlabc1234")

    (table, df), = writes
    assert table == "sqlabc1234.dbo.weather_forecast"
    assert ("Constants.SERVER", "synapseabc1234.sql.azuresynapse.net") in options
    # The setup's column types: bigint for the categories, real (float) for the weather.
    assert df.dtypes == [(c, "bigint") for c in INTEGER_COLUMNS] + [(c, "float") for c in DOUBLE_COLUMNS]
    assert df.count() == 10


@pytest.mark.spark
@pytest.mark.skipif(not LAB_FORECAST_CSV.exists(), reason=f"lab data not present at {SHARED_DATA}")
def test_predict_on_the_lab_forecast(spark, monkeypatch, fake_azure, stand_in_model):
    model_dir, model = stand_in_model
    run_predict(spark, monkeypatch, fake_azure, model_dir, LAB_FORECAST_CSV)
    features = read_lab_rows(LAB_FORECAST_CSV)
    assert len(features) == 10
    got = sorted((tuple(r[c] for c in FEATURES), r["predicted_rentals"])
                 for r in spark.table("rental_predictions").collect())
    want = sorted(zip(features, expected_predictions(model, features)))
    assert [g[0] for g in got] == [w[0] for w in want]
    assert [g[1] for g in got] == pytest.approx([w[1] for w in want], rel=1e-9)
