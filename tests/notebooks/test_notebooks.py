"""The lab's notebooks: their shape, and runs on local pyspark 3.5 with fakes for Azure.

Spark tests share one local session (module fixture) and are marked `spark`.
Azure ML is replaced by a fake MLClient that records what the notebooks ask of
it; the jobs they build are real azure-ai-ml objects.
"""

from __future__ import annotations

import base64
import csv
import json
import shutil
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
from notebooks.model_rows import encode_model_rows
from tests.conftest import missing_tool
from tests.fakes.notebook_runner import (
    NOTEBOOKS_DIR,
    NotebookCellError,
    cell_tags,
    java_home,
    load_notebook,
    make_spark,
    run_notebook,
    translate_cell,
)
from tests.notebooks import onnx_stand_in
from tests.notebooks.lab_data import (
    BIKE_COLUMNS,
    DOUBLE_COLUMNS,
    FEATURES,
    INTEGER_COLUMNS,
    LAB_FORECAST_CSV,
    LAB_TRAINING_CSV,
    SHARED_DATA,
    read_lab_rows,
    write_forecast_csv,
    write_training_csv,
)
from tests.notebooks.part2 import run_predict_rentals
from tests.notebooks.predict_double import create_table_columns

PREPARE = NOTEBOOKS_DIR / "01-prepare-data.ipynb"
TRAIN = NOTEBOOKS_DIR / "02-train-automl.ipynb"
PREDICT = NOTEBOOKS_DIR / "03-predict.ipynb"
NOTEBOOKS = [PREPARE, TRAIN, PREDICT]

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
    "sql_model_path": "",
}
DECLARED = {
    PREPARE.name: {"data_lake_account", "data_lake_container", "training_data_path", "table_name"},
    TRAIN.name: {
        "data_lake_account",
        "data_lake_container",
        "table_name",
        "subscription_id",
        "resource_group",
        "aml_workspace",
        "compute_name",
        "aml_datastore",
        "mltable_folder",
        "experiment_name",
        "model_name",
    },
    PREDICT.name: {
        "data_lake_account",
        "data_lake_container",
        "forecast_data_path",
        "predictions_table",
        "subscription_id",
        "resource_group",
        "aml_workspace",
        "model_name",
        "synapse_workspace",
        "sql_pool",
        "sql_model_path",
    },
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
        missing_tool("no Java for local Spark (install openjdk-17-jre-headless)")
    import pyspark

    assert pyspark.__version__.startswith("3.5."), "the notebooks target Synapse's Spark 3.5"
    session = make_spark(tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()


# ---------------------------------------------------------------------------
# A fake Azure ML client: records calls, answers like the SDK would
# ---------------------------------------------------------------------------
class FakeJobs:
    def __init__(self, statuses, best_child_run_id, onnx_bytes=None):
        self.statuses = list(statuses)
        self.best_child_run_id = best_child_run_id
        self.onnx_bytes = onnx_bytes
        self.submitted = []
        self.gets = []
        self.downloads = []

    def create_or_update(self, job):
        self.submitted.append(job)
        return SimpleNamespace(
            name="quiet_bike_42",
            status="NotStarted",
            studio_url="https://ml.azure.com/runs/quiet_bike_42",
        )

    def get(self, name):
        self.gets.append(name)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        tags = (
            {"automl_best_child_run_id": self.best_child_run_id} if self.best_child_run_id else {}
        )
        return SimpleNamespace(name=name, status=status, tags=tags, properties={})

    def download(self, name, *, download_path=".", output_name=None, all=False):
        """A trial's default artifacts, as the SDK lays them out: <download_path>/artifacts/outputs/..."""
        self.downloads.append(name)
        outputs = Path(download_path) / "artifacts" / "outputs"
        (outputs / "mlflow-model").mkdir(parents=True)
        (outputs / "mlflow-model" / "MLmodel").write_text(
            "flavors: {}\n"
        )  # AutoML's own, not wanted
        if self.onnx_bytes is not None:
            (outputs / "model.onnx").write_bytes(self.onnx_bytes)


class FakeWorkspaces:
    """MLClient.workspaces: the workspace's MLflow tracking URI (a local MLflow store in tests)."""

    def __init__(self, mlflow_tracking_uri=None):
        self.mlflow_tracking_uri = mlflow_tracking_uri
        self.gets = []

    def get(self, name=None):
        self.gets.append(name)
        if self.mlflow_tracking_uri is None:
            raise RuntimeError("this fake workspace has no MLflow tracking store")
        return SimpleNamespace(name=name, mlflow_tracking_uri=self.mlflow_tracking_uri)


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
        shutil.copytree(self.source_dir, Path(download_path) / name / Path(self.source_dir).name)


class FakeMLClient:
    def __init__(
        self,
        statuses=("Completed",),
        best_child_run_id="quiet_bike_42_7",
        model_source=None,
        onnx_bytes=None,
        mlflow_tracking_uri=None,
    ):
        self.jobs = FakeJobs(statuses, best_child_run_id, onnx_bytes)
        self.models = FakeModels(model_source)
        self.workspaces = FakeWorkspaces(mlflow_tracking_uri)
        self.workspace_name = "amlabc1234"
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

    def make_client(
        credential, subscription_id=None, resource_group_name=None, workspace_name=None, **kwargs
    ):
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
            assert isinstance(value, expected) and value, (
                f"{name} needs a placeholder {expected.__name__}"
            )
        else:
            assert value == expected, (
                f"{name} defaults to {value!r}, the contract says {expected!r}"
            )
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
                alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.Import)
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
        assert on_disk == make_notebooks.render(nb), (
            f"notebooks/{name} is stale: run notebooks/make_notebooks.py"
        )


# ---------------------------------------------------------------------------
# 01-prepare-data
# ---------------------------------------------------------------------------
@pytest.mark.spark
def test_prepare_data_saves_bike_data(spark, training_csv):
    csv_path, expected = training_csv
    run = run_notebook(
        PREPARE, spark, student_parameters(PREPARE, training_data_path=str(csv_path))
    )

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
        assert by_season[season]["avg_rentals"] == pytest.approx(
            sum(rentals) / len(rentals), abs=0.05
        )
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
    run = run_notebook(
        PREPARE, spark, student_parameters(PREPARE, training_data_path=str(LAB_TRAINING_CSV))
    )
    expected = read_lab_rows(LAB_TRAINING_CSV)
    assert len(expected) == 731
    assert run["row_count"] == 731
    assert table_rows(spark, "bike_data") == sorted(expected)
    assert [r["days"] for r in run["rentals_by_season"].collect()] == [181, 184, 188, 178]


# ---------------------------------------------------------------------------
# 02-train-automl
# ---------------------------------------------------------------------------
TRAINING_URI = "azureml://datastores/datalake/paths/ml/bike_data"
# The one package the Spark 3.5 runtime lacks (tests/notebooks/test_runtime_packages.py).
ONNXRUNTIME_PIP = '%pip install "onnxruntime>=1.20,<1.27"'


@pytest.fixture(scope="module")
def onnx_model(training_csv):
    """(bytes, scikit-learn pipeline) of a stand-in with the shape of AutoML's outputs/model.onnx."""
    pipeline = onnx_stand_in.fit_pipeline(training_csv[1])
    return onnx_stand_in.export_onnx(pipeline), pipeline


def assert_onnx_mlflow_model(folder: Path, onnx_bytes: bytes):
    """An MLflow model of flavor onnx around exactly these ONNX bytes, its signature naming the inputs."""
    import onnx
    import yaml

    spec = yaml.safe_load((folder / "MLmodel").read_text())
    assert spec["flavors"]["onnx"]["data"] == "model.onnx"
    assert spec["flavors"]["python_function"]["loader_module"] == "mlflow.onnx"
    inputs = json.loads(spec["signature"]["inputs"])
    assert [(i["name"], i["tensor-spec"]["dtype"], i["tensor-spec"]["shape"]) for i in inputs] == (
        [(c, "int64", [-1, 1]) for c in INTEGER_COLUMNS]
        + [(c, "float32", [-1, 1]) for c in DOUBLE_COLUMNS]
    )
    assert [o["name"] for o in json.loads(spec["signature"]["outputs"])] == ["variable_out1"]
    # One self-contained file (PREDICT takes the model as one varbinary), the same model.
    assert sorted(p.name for p in folder.iterdir() if p.suffix not in (".yaml", ".txt")) == [
        "MLmodel",
        "model.onnx",
    ]
    assert onnx.load_model_from_string(
        (folder / "model.onnx").read_bytes()
    ) == onnx.load_model_from_string(onnx_bytes)


@pytest.fixture(scope="module")
def train_namespace():
    """Notebook 2 run without its Azure cells: the helpers it defines."""
    run = run_notebook(TRAIN, None, student_parameters(TRAIN), skip_tags={"azure"})
    assert run.skipped == ["write-mltable", "submit", "wait", "register"]
    assert run.magics == [ONNXRUNTIME_PIP]
    return run.namespace


def assert_lab_automl_job(job, compute):
    from azure.ai.ml.automl import RegressionJob, RegressionPrimaryMetrics
    from azure.ai.ml.entities import ManagedIdentityConfiguration

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

    job = train_namespace["build_automl_job"](
        TRAINING_URI, "automl-abc1234", "mslearn-bike-rentals"
    )
    assert_lab_automl_job(job, "automl-abc1234")

    path = tmp_path / "job.yml"
    job.dump(path)
    dumped = path.read_text()
    assert "primary_metric: spearman_correlation" in dumped
    assert "enable_onnx_compatible_models: true" in dumped
    assert_lab_automl_job(load_job(path), "automl-abc1234")


def test_register_best_model_registers_the_best_trials_onnx_model(
    train_namespace, onnx_model, tmp_path, capsys
):
    client = FakeMLClient(best_child_run_id="quiet_bike_42_7", onnx_bytes=onnx_model[0])
    registered = train_namespace["register_best_model"](
        client, "quiet_bike_42", "rental-prediction-model", str(tmp_path)
    )

    assert client.jobs.gets == ["quiet_bike_42"]
    assert client.jobs.downloads == ["quiet_bike_42_7"]
    assert client.workspaces.gets == []  # the job's own artifacts had it: no MLflow
    (model,) = client.models.registered
    assert model.name == registered.name == "rental-prediction-model"
    assert model.type == "mlflow_model"
    assert model.tags == {
        "automl_job": "quiet_bike_42",
        "best_child_run": "quiet_bike_42_7",
        "format": "onnx",
    }
    assert "quiet_bike_42" in model.description
    assert Path(model.path).parent == tmp_path
    assert_onnx_mlflow_model(Path(model.path), onnx_model[0])
    assert "inputs [('season', 'int64')" in capsys.readouterr().out

    with pytest.raises(RuntimeError, match="no best child run"):
        train_namespace["register_best_model"](
            FakeMLClient(best_child_run_id=None), "j", "m", str(tmp_path)
        )


def mlflow_store_with_trial(root: Path, onnx_bytes: bytes | None, monkeypatch) -> tuple[str, str]:
    """A local MLflow tracking store holding one run (an AutoML trial) with outputs/model.onnx.

    The real MLflow client and artifact download run against it; only the store is local
    (Azure ML's is reached through azureml-mlflow's tracking URI)."""
    from mlflow.tracking import MlflowClient

    # MLflow 3 keeps its file store for those who ask (the runtime's 2.18 takes it as is).
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    tracking_uri = (root / "mlruns").as_uri()
    client = MlflowClient(tracking_uri=tracking_uri)
    run = client.create_run(client.create_experiment("mslearn-bike-rentals"))
    if onnx_bytes is not None:
        (root / "model.onnx").write_bytes(onnx_bytes)
        client.log_artifact(run.info.run_id, str(root / "model.onnx"), artifact_path="outputs")
    return tracking_uri, run.info.run_id


def failing_download(name, download_path=".", **kwargs):
    from azure.core.exceptions import HttpResponseError

    raise HttpResponseError(message="(UserError) artifacts of this run cannot be listed")


@pytest.mark.parametrize("job_download", ["without-onnx", "fails"])
def test_register_best_model_falls_back_to_mlflow(
    train_namespace, onnx_model, tmp_path, capsys, monkeypatch, job_download
):
    tracking_uri, run_id = mlflow_store_with_trial(tmp_path, onnx_model[0], monkeypatch)
    client = FakeMLClient(best_child_run_id=run_id, mlflow_tracking_uri=tracking_uri)
    if job_download == "fails":
        client.jobs.download = failing_download

    registered = train_namespace["register_best_model"](
        client, "quiet_bike_42", "rental-prediction-model", str(tmp_path / "work")
    )

    if job_download == "without-onnx":
        assert client.jobs.downloads == [run_id]
    assert client.workspaces.gets == ["amlabc1234"]
    (model,) = client.models.registered
    assert model.name == registered.name == "rental-prediction-model"
    assert model.tags["best_child_run"] == run_id
    assert_onnx_mlflow_model(Path(model.path), onnx_model[0])
    out = capsys.readouterr().out
    assert f"No outputs/model.onnx in the artifacts of {run_id}: downloading it with MLflow" in out
    if job_download == "fails":
        assert f"jobs.download of {run_id} failed: HttpResponseError" in out


def test_register_best_model_refuses_a_trial_without_onnx_model(
    train_namespace, onnx_model, tmp_path, capsys, monkeypatch
):
    # Neither the job's artifacts nor MLflow's have outputs/model.onnx.
    tracking_uri, run_id = mlflow_store_with_trial(tmp_path, None, monkeypatch)
    client = FakeMLClient(best_child_run_id=run_id, mlflow_tracking_uri=tracking_uri)
    with pytest.raises(
        FileNotFoundError, match="has no outputs/model.onnx: was ONNX compatibility on"
    ):
        train_namespace["register_best_model"](client, "j", "m", str(tmp_path / "work"))
    assert client.models.registered == []
    assert f"MLflow could not download outputs/model.onnx of {run_id}" in capsys.readouterr().out


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
    credential.get_token("https://database.windows.net/.default")
    credential.get_token("https://dev.azuresynapse.net/.default")
    credential.get_token("https://ml.azure.com/.default")
    assert asked == ["AzureManagement", "Storage", "DW", "Synapse", "https://ml.azure.com"]
    # Only the short names mssparkutils documents (there is no "Vault").
    documented = {
        "Audience",
        "Storage",
        "DW",
        "AzureManagement",
        "DataLakeStore",
        "AzureOSSDB",
        "Synapse",
        "ADF",
    }
    assert set(train_namespace["SYNAPSE_AUDIENCES"].values()) <= documented

    # Inside Synapse (notebookutils importable) get_credential wraps mssparkutils.
    fake_notebookutils = types.ModuleType("notebookutils")
    fake_notebookutils.mssparkutils = SimpleNamespace(credentials=credentials_utils)
    monkeypatch.setitem(sys.modules, "notebookutils", fake_notebookutils)
    inside = train_namespace["get_credential"]()
    assert isinstance(inside, train_namespace["SynapseTokenCredential"])
    assert inside.get_token("https://management.azure.com/.default").token == token


def test_azure_cells_submit_wait_and_register(
    fake_azure, onnx_model, monkeypatch, tmp_path, capsys
):
    """The notebook's own submit/wait/register cells, against the fake client."""
    sleeps = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    fake_azure.jobs.statuses = ["Queued", "Running", "Completed"]
    fake_azure.jobs.onnx_bytes = onnx_model[0]

    run = run_notebook(
        TRAIN,
        None,
        student_parameters(TRAIN),
        skip_tags={"data-lake"},
        extra_globals={"training_data_uri": TRAINING_URI},
    )

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
    assert fake_azure.jobs.downloads == ["quiet_bike_42_7"]
    assert_onnx_mlflow_model(Path(model.path), onnx_model[0])
    assert tmp_path in Path(model.path).parents


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
def registered_model_dir(onnx_model, tmp_path_factory):
    """The folder notebook 2 registers (its own save_onnx_mlflow_model), as Azure ML gives it back."""
    namespace = run_notebook(TRAIN, None, student_parameters(TRAIN), skip_tags={"azure"}).namespace
    target = tmp_path_factory.mktemp("registered") / "onnx-mlflow-model"
    return Path(namespace["save_onnx_mlflow_model"](onnx_model[0], str(target)))


def expected_predictions(pipeline, features: list[tuple]) -> list[float]:
    return [float(v) for v in pipeline.predict(onnx_stand_in.feature_frame(features))]


def scored_rows(spark, table="rental_predictions") -> list[tuple]:
    return sorted(
        (tuple(r[c] for c in FEATURES), r["predicted_rentals"])
        for r in spark.table(table).collect()
    )


def run_predict(spark, monkeypatch, fake_azure, model_dir, forecast_path, tmp_path, **params):
    # The notebook downloads the model into a fresh temporary folder: keep it in the test's.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    fake_azure.models.source_dir = model_dir
    return run_notebook(
        PREDICT, spark, student_parameters(PREDICT, forecast_data_path=str(forecast_path), **params)
    )


@pytest.mark.spark
def test_predict_scores_the_forecast_with_the_registered_onnx_model(
    spark, monkeypatch, fake_azure, registered_model_dir, onnx_model, forecast_csv, tmp_path, capsys
):
    forecast_path, features = forecast_csv
    run = run_predict(spark, monkeypatch, fake_azure, registered_model_dir, forecast_path, tmp_path)

    # The latest version of the registered model was downloaded: its model.onnx, nothing unpickled.
    assert fake_azure.models.gets == [("rental-prediction-model", None, "latest")]
    assert fake_azure.models.downloads == [("rental-prediction-model", "3")]
    assert run["model_version"] == "3"
    assert (
        Path(run["model_path"]).name == "model.onnx" and tmp_path in Path(run["model_path"]).parents
    )
    assert run["model_inputs"] == [(c, "int64") for c in INTEGER_COLUMNS] + [
        (c, "float") for c in DOUBLE_COLUMNS
    ]
    assert run["model_outputs"] == [("variable_out1", "float")]
    assert run.magics == [ONNXRUNTIME_PIP]

    table = spark.table("rental_predictions")
    assert table.columns == FEATURES + ["predicted_rentals"]
    assert dict(table.dtypes)["predicted_rentals"] == "double"
    got = scored_rows(spark)
    want = sorted(zip(features, expected_predictions(onnx_model[1], features), strict=True))
    assert [g[0] for g in got] == [w[0] for w in want]
    # onnxruntime in Spark's Python workers, float32 inside: scikit-learn's values within 1e-4.
    assert [g[1] for g in got] == pytest.approx([w[1] for w in want], rel=1e-4, abs=1e-3)
    by_onnxruntime = sorted(
        zip(features, onnx_stand_in.score(onnx_model[0], features), strict=True)
    )
    assert [g[1] for g in got] == pytest.approx([p for _, p in by_onnxruntime], rel=1e-6)
    assert any(shown is run["predictions"] for shown in run.displayed)
    assert "No dedicated SQL pool" in capsys.readouterr().out

    # Re-running replaces the table.
    run_predict(spark, monkeypatch, fake_azure, registered_model_dir, forecast_path, tmp_path)
    assert spark.table("rental_predictions").count() == 10


@pytest.fixture(scope="module")
def predict_run(spark, onnx_model, forecast_csv):
    """Notebook 3 without its Azure cells, scoring the model bytes handed to it."""
    run = run_notebook(
        PREDICT,
        spark,
        student_parameters(PREDICT, forecast_data_path=str(forecast_csv[0])),
        skip_tags={"azure"},
        extra_globals={"model_bytes": onnx_model[0], "model_version": "3"},
    )
    assert run.skipped == ["load-model"]
    assert run.magics == [ONNXRUNTIME_PIP]
    return run


@pytest.mark.spark
def test_score_forecast_needs_a_column_for_every_model_input(predict_run, onnx_model):
    renamed = onnx_stand_in.rename_input(onnx_model[0], "hum", "humidity")
    with pytest.raises(
        ValueError, match=r"model input 'humidity' \(float\) has no column in the forecast"
    ):
        predict_run["score_forecast"](predict_run["forecast_df"], renamed)


@pytest.mark.spark
def test_predict_prepares_the_sql_pool_and_the_model_round_trips_through_hex(
    spark,
    monkeypatch,
    fake_azure,
    registered_model_dir,
    onnx_model,
    forecast_csv,
    tmp_path,
    sql_pool_writes,
):
    forecast_path, features = forecast_csv
    model_csv = tmp_path / "lake" / "models" / "rental-prediction-model.csv"
    run = run_predict(
        spark,
        monkeypatch,
        fake_azure,
        registered_model_dir,
        forecast_path,
        tmp_path,
        sql_pool="sqlabc1234",
        sql_model_path=str(model_csv),
    )

    ((table, df),) = sql_pool_writes.writes
    assert table == "sqlabc1234.dbo.weather_forecast"
    assert ("Constants.SERVER", "synapseabc1234.sql.azuresynapse.net") in sql_pool_writes.options
    # The setup's column types: bigint for the categories, real (float) for the weather.
    assert df.dtypes == [(c, "bigint") for c in INTEGER_COLUMNS] + [
        (c, "float") for c in DOUBLE_COLUMNS
    ]
    # ... the columns the SQL script "Load weather forecast" creates, as the notebook checks them.
    from providers.synapse.artifacts import render_sql_template

    weather_sql = render_sql_template(
        "weather_forecast.sql",
        {"data_lake_account_name": "datalakeabc1234", "data_lake_filesystem": "files"},
    )
    columns = create_table_columns(weather_sql, "dbo.weather_forecast")
    assert run["sql_pool_columns"](df) == columns

    # The model rows (model_id,part_no,part_count,description,hex_part): one part for this model.
    text = model_csv.read_text()
    assert text == encode_model_rows(run["model_bytes"], 3, "rental-prediction-model version 3")
    ((model_id, part_no, part_count, description, model_hex),) = list(csv.reader(text.splitlines()))
    assert (model_id, part_no, part_count) == ("3", "1", "1")
    assert description == "rental-prediction-model version 3"
    model_bytes = bytes.fromhex(model_hex)
    assert model_bytes == run["model_bytes"] == (registered_model_dir / "model.onnx").read_bytes()

    # The "Predict rentals" script in the SQL pool double, on the table the connector loaded and
    # the file the notebook wrote: PREDICT gives Spark's values.
    pool, results = run_predict_rentals(
        model_csv.read_bytes(), columns, [tuple(r) for r in df.collect()]
    )
    assert pool.table("dbo.rental_prediction_model").rows == [
        (3, "rental-prediction-model version 3", model_bytes)
    ]
    loaded, predicted = results
    assert loaded.rows == [(3, "rental-prediction-model version 3", len(model_bytes))]
    assert predicted.columns == [*FEATURES, "predicted_rentals"]
    in_pool = sorted((row[:10], row[10]) for row in predicted.rows)
    in_spark = scored_rows(spark)
    assert [p for _, p in in_pool] == pytest.approx([p for _, p in in_spark], rel=1e-6)
    assert len(in_pool) == 10


@pytest.mark.spark
def test_predict_checks_the_model_before_loading_the_sql_pool(
    spark, monkeypatch, onnx_model, forecast_csv, tmp_path, sql_pool_writes
):
    """A model taking an int32 'season' scores in Spark, but PREDICT would refuse it on the bigint column."""
    int32_season = onnx_stand_in.retype_input(onnx_model[0], "season", "int32")
    model_csv = tmp_path / "model.csv"
    with pytest.raises(NotebookCellError) as raised:
        run_notebook(
            PREDICT,
            spark,
            student_parameters(
                PREDICT,
                forecast_data_path=str(forecast_csv[0]),
                sql_pool="sqlabc1234",
                sql_model_path=str(model_csv),
            ),
            skip_tags={"azure"},
            extra_globals={"model_bytes": int32_season, "model_version": "3"},
        )
    assert (
        "(sql-pool) failed: ValueError: column 'season' of dbo.weather_forecast is bigint, "
        "model input 'season' is int32: PREDICT needs int" in str(raised.value)
    )
    # Checked before anything was loaded; Spark had scored it.
    assert sql_pool_writes.writes == [] and not model_csv.exists()
    assert spark.table("rental_predictions").count() == 10


@pytest.mark.spark
def test_predict_stops_a_one_row_text_model_before_writing_anything(
    spark, onnx_model, forecast_csv, tmp_path, sql_pool_writes
):
    """AutoML exports a text column as a string input of shape [1, 1]: no batch scoring, no PREDICT."""
    text_model = onnx_stand_in.with_text_input(onnx_model[0], "weather_note", (1, 1))
    model_csv = tmp_path / "model.csv"
    with pytest.raises(NotebookCellError) as raised:
        run_notebook(
            PREDICT,
            spark,
            student_parameters(
                PREDICT,
                forecast_data_path=str(forecast_csv[0]),
                predictions_table="text_model_predictions",
                sql_pool="sqlabc1234",
                sql_model_path=str(model_csv),
            ),
            skip_tags={"azure"},
            extra_globals={"model_bytes": text_model, "model_version": "3"},
        )
    assert (
        "(check-model) failed: ValueError: This model cannot be used here: input 'weather_note' "
        "is a string of fixed shape [1, 1]" in str(raised.value)
    )
    assert sql_pool_writes.writes == [] and not model_csv.exists()
    assert "text_model_predictions" not in [t.name for t in spark.catalog.listTables()]


@pytest.mark.spark
@pytest.mark.skipif(not LAB_FORECAST_CSV.exists(), reason=f"lab data not present at {SHARED_DATA}")
def test_predict_on_the_lab_forecast(
    spark, monkeypatch, fake_azure, registered_model_dir, onnx_model, tmp_path
):
    run_predict(spark, monkeypatch, fake_azure, registered_model_dir, LAB_FORECAST_CSV, tmp_path)
    features = read_lab_rows(LAB_FORECAST_CSV)
    assert len(features) == 10
    got = scored_rows(spark)
    want = sorted(zip(features, expected_predictions(onnx_model[1], features), strict=True))
    assert [g[0] for g in got] == [w[0] for w in want]
    assert [g[1] for g in got] == pytest.approx([w[1] for w in want], rel=1e-4, abs=1e-3)
