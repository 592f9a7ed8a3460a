"""Writes the lab's three notebooks beside this file from the cell sources below.

The .ipynb files are committed; tests/notebooks/test_notebooks.py checks that
they match this script, so edit here and run `python notebooks/make_notebooks.py`.

Kept as Python (not hand-edited JSON, nor jupytext pairs) so the code shared by
notebooks 2 and 3 (the Azure ML credential and client) is written once, and so
cell ids are stable (nbformat 4.5 wants ids; nbformat.v4 would draw random ones).
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

NOTEBOOKS_DIR = Path(__file__).resolve().parent

METADATA = {
    "kernelspec": {"name": "synapse_pyspark", "display_name": "Synapse PySpark"},
    "language_info": {"name": "python"},
}

# Cells tagged "azure" need a live Azure workspace, "data-lake" the student's
# data lake: the local tests skip or fake them. Synapse ignores tags.
AZURE = ["azure"]
DATA_LAKE = ["azure", "data-lake"]

# The one package notebooks 2 and 3 need beyond the Spark 3.5 runtime. Below 1.27:
# onnxruntime 1.27 and later require protobuf >= 4.25.8, and the runtime has
# 4.25.3, which %pip would upgrade under the runtime's other packages.
ONNXRUNTIME_PIP = '%pip install "onnxruntime>=1.20,<1.27"\n'

FEATURES_CODE = """\
# The lab's 10 features and its label, in this order, with the types AutoML trains on.
INTEGER_COLUMNS = ["season", "mnth", "holiday", "weekday", "workingday", "weathersit"]
DOUBLE_COLUMNS = ["temp", "atemp", "hum", "windspeed"]
FEATURE_COLUMNS = INTEGER_COLUMNS + DOUBLE_COLUMNS
LABEL_COLUMN = "rentals"
"""

CREDENTIAL_CODE = '''\
import base64
import json
import time

from azure.core.credentials import AccessToken

# mssparkutils.credentials.getToken takes short names for the well-known audiences
# (documented: Audience, Storage, DW, AzureManagement, DataLakeStore, AzureOSSDB,
# Synapse, ADF); any other resource, such as Azure ML's, is passed as its URL.
SYNAPSE_AUDIENCES = {
    "https://management.azure.com": "AzureManagement",
    "https://management.core.windows.net": "AzureManagement",
    "https://storage.azure.com": "Storage",
    "https://database.windows.net": "DW",
    "https://datalake.azure.net": "DataLakeStore",
    "https://dev.azuresynapse.net": "Synapse",
    "https://ossrdbms-aad.database.windows.net": "AzureOSSDB",
}


def jwt_expiry(token):
    """The 'exp' claim of a JWT, or five minutes from now when it cannot be read."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return int(json.loads(base64.urlsafe_b64decode(payload))["exp"])
    except (IndexError, KeyError, ValueError, TypeError):
        return int(time.time()) + 300


class SynapseTokenCredential:
    """An azure-core TokenCredential over mssparkutils.credentials.getToken.

    In an interactive Synapse session that is the signed-in student's token (in a
    pipeline run, the workspace managed identity's).
    """

    def __init__(self, credentials_utils):
        self._credentials = credentials_utils

    def get_token(self, *scopes, claims=None, tenant_id=None, **kwargs):
        if not scopes:
            raise ValueError("get_token needs a scope")
        resource = scopes[0]
        if resource.endswith("/.default"):
            resource = resource[: -len("/.default")]
        audience = SYNAPSE_AUDIENCES.get(resource.rstrip("/"), resource)
        token = self._credentials.getToken(audience)
        return AccessToken(token, jwt_expiry(token))


def get_credential():
    """The signed-in user's token inside Synapse, DefaultAzureCredential elsewhere."""
    try:
        from notebookutils import mssparkutils  # only exists in Synapse Spark
    except ImportError:
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()
    return SynapseTokenCredential(mssparkutils.credentials)


def get_ml_client(subscription_id, resource_group, aml_workspace, credential=None):
    from azure.ai.ml import MLClient

    return MLClient(credential or get_credential(), subscription_id, resource_group, aml_workspace)
'''


ONNX_CODE = '''\
from onnx import TensorProto, load_model_from_string

# AutoML's ONNX regression model: one input per training column, this one output.
ONNX_FILE = "model.onnx"
ONNX_OUTPUT = "variable_out1"


def onnx_graph_values(model_bytes):
    """The graph inputs (initialisers left out) and outputs of an ONNX model."""
    graph = load_model_from_string(model_bytes).graph
    constants = {tensor.name for tensor in graph.initializer}
    return [v for v in graph.input if v.name not in constants], list(graph.output)


def onnx_model_io(model_bytes):
    """[(name, element type)] of the model's inputs and of its outputs; types in lower case (int64, float)."""
    def described(values):
        return [(v.name, TensorProto.DataType.Name(v.type.tensor_type.elem_type).lower()) for v in values]

    inputs, outputs = onnx_graph_values(model_bytes)
    return described(inputs), described(outputs)
'''

FILES_CODE = '''\
def write_text_file(spark, path, text):
    """Write a small file through Spark's Hadoop file system (abfss:// here, file:// locally)."""
    hadoop_path = spark._jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark._jsc.hadoopConfiguration())
    stream = fs.create(hadoop_path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()
'''


def _module_body(path: Path) -> str:
    """A module's code below its docstring and `from __future__` import, for a notebook cell."""
    text = path.read_text(encoding="utf-8")
    marker = "from __future__ import annotations\n"
    if marker not in text:
        raise ValueError(f"{path.name} must import annotations from __future__ (the cut point)")
    return text.split(marker, 1)[1].strip("\n") + "\n"


# The model's CSV rows for the SQL pool: notebooks/model_rows.py, which the tests import.
MODEL_ROWS_CODE = _module_body(NOTEBOOKS_DIR / "model_rows.py")


def _lines(text: str) -> list[str]:
    return textwrap.dedent(text).strip("\n").splitlines(keepends=True)


# The lab steps each notebook completes, numbered and named as the instructor's progress view
# (`python -m classroom progress`) and the handout show them. The notebooks import nothing of the
# program (tests/test_layout.py): tests/lab/test_steps.py checks these equal lab/steps.py.
LAB_STEPS = {
    "01-prepare-data": ((1, "Prepare the data"),),
    "02-train-automl": (
        (2, "Submit the AutoML job"),
        (3, "Train a model"),
        (4, "Register the model"),
    ),
    "03-predict": ((5, "Write the model for the SQL pool"),),
}


def steps_note(notebook_name: str) -> str:
    """The intro's last line: the lab steps the notebook completes (indented like the intros)."""
    done = ", ".join(f"{n}. *{title}*" for n, title in LAB_STEPS[notebook_name])
    return f"\n            Lab steps this notebook completes: {done}.\n"


def markdown(cell_id: str, text: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": _lines(text)}


def code(cell_id: str, *parts: str, tags: list[str] | None = None) -> dict:
    """A code cell from one or more parts, each dedented on its own, two blank lines between."""
    text = "\n\n\n".join(textwrap.dedent(part).strip("\n") for part in parts)
    metadata = {"tags": list(tags)} if tags else {}
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": metadata,
        "outputs": [],
        "source": _lines(text),
    }


def notebook(cells: list[dict]) -> dict:
    return {"cells": cells, "metadata": METADATA, "nbformat": 4, "nbformat_minor": 5}


# --------------------------------------------------------------------------
# 01-prepare-data
# --------------------------------------------------------------------------
def prepare_data() -> dict:
    return notebook(
        [
            markdown(
                "intro",
                """
            # 1. Prepare the bike rental data

            Lab *Use Azure Machine Learning with Azure Synapse Analytics*, part 1.
            Loads `data/bike-rentals-training.csv` from the data lake, keeps the 10
            features and the label `rentals`, saves them as the table `bike_data` in
            the `default` lake database (overwriting it, so the notebook can be run
            again), and profiles the data before training.
        """
                + steps_note("01-prepare-data"),
            ),
            code(
                "parameters",
                """
            # Filled in for each student when the notebook is uploaded.
            data_lake_account = "datalakexxxxxxx"
            data_lake_container = "files"
            # Empty: data/bike-rentals-training.csv in the data lake container.
            training_data_path = ""
            table_name = "bike_data"
        """,
                tags=["parameters"],
            ),
            code(
                "load-csv",
                """
            %%pyspark
            if not training_data_path:
                training_data_path = (
                    f"abfss://{data_lake_container}@{data_lake_account}.dfs.core.windows.net"
                    "/data/bike-rentals-training.csv"
                )
            df = spark.read.load(training_data_path, format="csv", header=True, inferSchema=True)
            display(df.limit(10))
        """,
            ),
            markdown(
                "select-md",
                """
            Keep the columns the model uses. The explicit casts pin the types that
            AutoML and the scoring notebook expect (whole numbers for the
            categorical columns, doubles for the normalised weather values).
        """,
            ),
            code(
                "save-table",
                FEATURES_CODE,
                """
            from pyspark.sql import functions as F

            bike_df = df.select(
                *[F.col(c).cast("int").alias(c) for c in INTEGER_COLUMNS],
                *[F.col(c).cast("double").alias(c) for c in DOUBLE_COLUMNS],
                F.col(LABEL_COLUMN).cast("int").alias(LABEL_COLUMN),
            )
            # Overwrite: running the notebook again replaces the table instead of failing.
            bike_df.write.mode("overwrite").format("parquet").saveAsTable(table_name)
        """,
            ),
            markdown("query-md", "Query the table from the lake database:"),
            code(
                "query",
                """
            %%sql
            SELECT * FROM bike_data
        """,
            ),
            markdown(
                "profile-md",
                """
            ## Profile before training

            Row count, missing values, summary statistics, rentals by season and the
            correlation of each feature with `rentals`.
        """,
            ),
            code(
                "profile",
                """
            bike = spark.table(table_name)
            row_count = bike.count()
            print(f"{table_name}: {row_count} rows, {len(bike.columns)} columns")
            bike.printSchema()

            # AutoML imputes missing values; better to know how many there are.
            null_counts = bike.select(
                [F.count(F.when(F.col(c).isNull(), 1)).alias(c) for c in bike.columns]
            ).first().asDict()
            print("Missing values per column:", null_counts)

            # count, mean, stddev, min, quartiles and max of every column
            display(bike.summary())

            rentals_by_season = (
                bike.groupBy("season")
                .agg(
                    F.count("*").alias("days"),
                    F.round(F.avg(LABEL_COLUMN), 1).alias("avg_rentals"),
                    F.min(LABEL_COLUMN).alias("min_rentals"),
                    F.max(LABEL_COLUMN).alias("max_rentals"),
                )
                .orderBy("season")
            )
            display(rentals_by_season)

            correlations = bike.select(
                [F.round(F.corr(c, LABEL_COLUMN), 3).alias(c) for c in FEATURE_COLUMNS]
            ).first().asDict()
            print("Correlation with rentals:", correlations)
        """,
            ),
        ]
    )


# --------------------------------------------------------------------------
# 02-train-automl
# --------------------------------------------------------------------------
def train_automl() -> dict:
    return notebook(
        [
            markdown(
                "intro",
                """
            # 2. Train a model with automated machine learning

            Lab *Use Azure Machine Learning with Azure Synapse Analytics*. The Synapse
            "Train a new model" wizard only ran on Spark 2.4, which Synapse has retired,
            so this notebook does the same with the Azure ML Python SDK v2:

            1. writes the `bike_data` table (notebook 1) to the data lake as an MLTable folder;
            2. submits an AutoML regression job: experiment `mslearn-bike-rentals`, target
               `rentals`, primary metric Spearman correlation, 15 minutes (0.25 h),
               2 concurrent trials, ONNX-compatible models only;
            3. waits for it, then registers the best trial's ONNX model (`outputs/model.onnx`)
               as `rental-prediction-model`: an MLflow model of flavor `onnx` whose signature
               names the model's inputs, which is what the SQL pool's "Predict with a model"
               wizard lists and maps to table columns.

            Run notebook 1 first. The job runs on the Azure ML compute cluster, whose
            managed identity reads the lake through the identity-based datastore.
        """
                + steps_note("02-train-automl"),
            ),
            markdown(
                "install-md",
                """
            The Spark 3.5 runtime already has the Azure ML SDK v2 (`azure-ai-ml`),
            `mlflow-skinny` and `onnx`. It lacks `onnxruntime`, which MLflow's ONNX
            flavor needs to save the model: install it for this session (`%pip` restarts
            Python, so it comes first; it needs internet access and does not run in
            pipeline runs).
        """,
            ),
            code("install", ONNXRUNTIME_PIP),
            code(
                "parameters",
                """
            # Filled in for each student when the notebook is uploaded.
            data_lake_account = "datalakexxxxxxx"
            data_lake_container = "files"
            table_name = "bike_data"
            subscription_id = "00000000-0000-0000-0000-000000000000"
            resource_group = "dp000-xxxxxxx"
            aml_workspace = "amlxxxxxxx"
            # Azure ML compute cluster that runs the AutoML trials.
            compute_name = "automl-cluster"
            # Azure ML datastore on the data lake's files container (identity-based access).
            aml_datastore = "datalake"
            # Folder inside the container for the MLTable.
            mltable_folder = "ml/bike_data"
            experiment_name = "mslearn-bike-rentals"
            model_name = "rental-prediction-model"
        """,
                tags=["parameters"],
            ),
            markdown(
                "functions-md",
                "Helpers: credential, MLTable, AutoML job, waiting and registration.",
            ),
            code(
                "functions",
                CREDENTIAL_CODE,
                ONNX_CODE,
                FILES_CODE,
                '''

            import os
            import shutil

            from azure.ai.ml import Input, automl
            from azure.ai.ml.constants import AssetTypes
            from azure.ai.ml.entities import ManagedIdentityConfiguration, Model

            TARGET_COLUMN = "rentals"
            PRIMARY_METRIC = "spearman_correlation"
            TIMEOUT_MINUTES = 15  # the lab's maximum training job time of 0.25 hours
            MAX_CONCURRENT_TRIALS = 2  # the lab's 2 concurrent iterations
            TERMINAL_STATUSES = {"Completed", "Failed", "Canceled", "NotResponding"}

            # An MLTable folder: this file plus the parquet files Spark writes beside it.
            MLTABLE_YAML = """\\
            # The bike_data table, written by the notebook 02-train-automl.
            type: mltable
            paths:
              - pattern: ./*.parquet
            transformations:
              - read_parquet:
                  include_path_column: false
            """


            def write_mltable(df, folder_uri):
                """Write df as an MLTable folder: parquet data files and the MLTable file."""
                folder_uri = folder_uri.rstrip("/")
                # 731 rows fit one file; overwrite clears the folder, an older MLTable file too.
                df.coalesce(1).write.mode("overwrite").parquet(folder_uri)
                write_text_file(df.sparkSession, f"{folder_uri}/MLTable", MLTABLE_YAML)
                return folder_uri


            def build_automl_job(training_data_uri, compute_name, experiment_name):
                """The lab's AutoML regression job on the MLTable at training_data_uri."""
                job = automl.regression(
                    compute=compute_name,
                    experiment_name=experiment_name,
                    training_data=Input(type=AssetTypes.MLTABLE, path=training_data_uri),
                    target_column_name=TARGET_COLUMN,
                    primary_metric=PRIMARY_METRIC,
                    # The cluster's managed identity reads the lake (identity-based datastore).
                    identity=ManagedIdentityConfiguration(),
                    tags={"lab": "mslearn-synapse-12", "notebook": "02-train-automl"},
                )
                job.set_limits(timeout_minutes=TIMEOUT_MINUTES, max_concurrent_trials=MAX_CONCURRENT_TRIALS)
                # ONNX-compatible models only, as in the lab: each trial also writes outputs/model.onnx,
                # which the dedicated SQL pool (T-SQL PREDICT) and onnxruntime can score.
                job.set_training(enable_onnx_compatible_models=True)
                return job


            def wait_for_job(ml_client, job_name, poll_seconds=30, timeout_minutes=120,
                             sleep=time.sleep, clock=time.monotonic):
                """Poll the job, printing its status, until it ends; raise unless it completed."""
                start = clock()
                while True:
                    status = ml_client.jobs.get(job_name).status
                    elapsed = (clock() - start) / 60
                    print(f"[{elapsed:5.1f} min] {job_name}: {status}", flush=True)
                    if status in TERMINAL_STATUSES:
                        break
                    if elapsed > timeout_minutes:
                        raise TimeoutError(f"{job_name} still {status} after {timeout_minutes} minutes")
                    sleep(poll_seconds)
                if status != "Completed":
                    raise RuntimeError(f"AutoML job {job_name} ended {status}: open it in Azure ML studio")
                return status


            def best_child_run_id(ml_client, job_name):
                """The id of the AutoML job's best trial, which AutoML records on the parent job."""
                job = ml_client.jobs.get(job_name)
                for where in (job.tags, job.properties):
                    run_id = (where or {}).get("automl_best_child_run_id")
                    if run_id:
                        return run_id
                raise RuntimeError(f"AutoML job {job_name} names no best child run (did it complete?)")


            def find_outputs_onnx(folder):
                """The path of outputs/model.onnx somewhere under folder, or None."""
                for parent, _dirs, files in sorted(os.walk(folder)):
                    if os.path.basename(parent) == "outputs" and ONNX_FILE in files:
                        return os.path.join(parent, ONNX_FILE)
                return None


            def download_onnx_with_mlflow(ml_client, run_id, target):
                """The run's outputs/model.onnx through MLflow (the workspace's tracking URI), or None.

                The runtime ships azureml-mlflow, the MLflow plugin for Azure ML's tracking URI;
                an AutoML trial's job name is its MLflow run id.
                """
                import mlflow.artifacts

                shutil.rmtree(target, ignore_errors=True)
                try:
                    tracking_uri = ml_client.workspaces.get(ml_client.workspace_name).mlflow_tracking_uri
                    path = mlflow.artifacts.download_artifacts(
                        run_id=run_id, artifact_path=f"outputs/{ONNX_FILE}", dst_path=target,
                        tracking_uri=tracking_uri,
                    )
                except Exception as error:  # whatever MLflow or the plugin raise: report, then give up
                    print(f"MLflow could not download outputs/{ONNX_FILE} of {run_id}: {type(error).__name__}: {error}")
                    return None
                return path if os.path.isfile(path) else find_outputs_onnx(target)


            def download_best_onnx_model(ml_client, run_id, download_root):
                """The path of the trial's outputs/model.onnx: from its job artifacts, else through MLflow."""
                target = os.path.join(download_root, run_id)
                shutil.rmtree(target, ignore_errors=True)
                try:
                    ml_client.jobs.download(run_id, download_path=target)
                except Exception as error:  # a failed download is one more reason to try MLflow
                    print(f"jobs.download of {run_id} failed: {type(error).__name__}: {error}")
                found = find_outputs_onnx(target)
                if found:
                    return found
                print(f"No outputs/{ONNX_FILE} in the artifacts of {run_id}: downloading it with MLflow")
                found = download_onnx_with_mlflow(ml_client, run_id, os.path.join(download_root, f"{run_id}-mlflow"))
                if found:
                    return found
                raise FileNotFoundError(f"trial {run_id} has no outputs/{ONNX_FILE}: was ONNX compatibility on?")


            def onnx_signature(model_bytes):
                """The MLflow signature of an ONNX model: one named tensor per input and output."""
                from mlflow.models import ModelSignature
                from mlflow.types.schema import Schema, TensorSpec
                from onnx import helper

                def tensors(values):
                    specs = []
                    for value in values:
                        tensor = value.type.tensor_type
                        shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim)
                        specs.append(TensorSpec(helper.tensor_dtype_to_np_dtype(tensor.elem_type), shape, value.name))
                    return Schema(specs)

                inputs, outputs = onnx_graph_values(model_bytes)
                return ModelSignature(inputs=tensors(inputs), outputs=tensors(outputs))


            def save_onnx_mlflow_model(model_bytes, target):
                """An MLflow model folder of flavor onnx around the model, with its signature."""
                import mlflow.onnx

                shutil.rmtree(target, ignore_errors=True)
                mlflow.onnx.save_model(
                    load_model_from_string(model_bytes),
                    target,
                    signature=onnx_signature(model_bytes),
                    pip_requirements=["onnxruntime"],
                    onnx_execution_providers=["CPUExecutionProvider"],
                    # One self-contained model.onnx: T-SQL PREDICT takes the model as one varbinary.
                    save_as_external_data=False,
                )
                return target


            def register_best_model(ml_client, job_name, model_name, download_root):
                """Register the best trial's ONNX model as model_name (an MLflow model of flavor onnx)."""
                run_id = best_child_run_id(ml_client, job_name)
                with open(download_best_onnx_model(ml_client, run_id, download_root), "rb") as onnx_file:
                    model_bytes = onnx_file.read()
                inputs, outputs = onnx_model_io(model_bytes)
                if ONNX_OUTPUT not in [name for name, _ in outputs]:
                    raise ValueError(f"the ONNX model of {run_id} has no output {ONNX_OUTPUT!r}: {outputs}")
                print(f"ONNX model of trial {run_id}: inputs {inputs}, outputs {outputs}")
                model = Model(
                    name=model_name,
                    path=save_onnx_mlflow_model(model_bytes, os.path.join(download_root, "onnx-mlflow-model")),
                    type=AssetTypes.MLFLOW_MODEL,
                    description=f"ONNX model of the best trial of AutoML job {job_name} (lab mslearn-bike-rentals)",
                    tags={"automl_job": job_name, "best_child_run": run_id, "format": "onnx"},
                )
                return ml_client.models.create_or_update(model)
        ''',
            ),
            markdown(
                "mltable-md",
                """
            Write `bike_data` to the lake as an MLTable folder, which AutoML reads through
            the `datalake` datastore.
        """,
            ),
            code(
                "write-mltable",
                """
            mltable_uri = write_mltable(
                spark.table(table_name),
                f"abfss://{data_lake_container}@{data_lake_account}.dfs.core.windows.net/{mltable_folder}",
            )
            training_data_uri = f"azureml://datastores/{aml_datastore}/paths/{mltable_folder}"
            print(f"Wrote {mltable_uri}, which Azure ML reads as {training_data_uri}")
        """,
                tags=DATA_LAKE,
            ),
            markdown("submit-md", "Submit the AutoML job and follow it in Azure ML studio:"),
            code(
                "submit",
                """
            ml_client = get_ml_client(subscription_id, resource_group, aml_workspace)
            job = build_automl_job(training_data_uri, compute_name, experiment_name)
            returned_job = ml_client.jobs.create_or_update(job)
            print(f"Submitted {returned_job.name}: {returned_job.studio_url}")
            displayHTML(f'<a href="{returned_job.studio_url}" target="_blank">Open the AutoML job in Azure ML studio</a>')
        """,
                tags=AZURE,
            ),
            markdown(
                "wait-md",
                "Wait for the job: at least 15 minutes, as AutoML uses its whole time budget.",
            ),
            code(
                "wait",
                """
            wait_for_job(ml_client, returned_job.name)
        """,
                tags=AZURE,
            ),
            markdown(
                "register-md",
                """
            Register the best trial's ONNX model. Notebook 3 scores it in Spark and
            prepares it for the SQL pool; the pool's "Predict with a model" wizard lists it too.
        """,
            ),
            code(
                "register",
                """
            import tempfile

            registered = register_best_model(ml_client, returned_job.name, model_name, tempfile.mkdtemp(prefix="automl-"))
            print(f"Registered {registered.name} version {registered.version}")
        """,
                tags=AZURE,
            ),
        ]
    )


# --------------------------------------------------------------------------
# 03-predict
# --------------------------------------------------------------------------
def predict() -> dict:
    return notebook(
        [
            markdown(
                "intro",
                """
            # 3. Predict rentals with the registered model

            Lab *Use Azure Machine Learning with Azure Synapse Analytics*, part 2. Loads
            `data/weather-forecast.csv` (the forecast for the next 10 days), downloads the
            ONNX model `rental-prediction-model` that notebook 2 registered in Azure ML,
            predicts the rentals for each day in Spark with onnxruntime and saves features
            and predictions as the table `rental_predictions`.

            With a dedicated SQL pool it also prepares the lab's T-SQL part: it loads the
            forecast into `dbo.weather_forecast`, checks that every model input has a
            column of that name and type there, and writes the model as hexadecimal text to
            `models/rental-prediction-model.csv` in the data lake, in rows of at most 900,000
            characters (the pool loads rows of at most 1,000,000 bytes; a model of several MB
            takes several rows). The SQL script **Predict rentals** loads those rows, joins
            them into `dbo.rental_prediction_model` and scores with `PREDICT`. Resume the SQL
            pool before running this notebook.

            The AutoML model itself (a pickle of `azureml-automl-runtime` objects) cannot be
            loaded on this runtime; its ONNX export can, here and in the SQL pool.
        """
                + steps_note("03-predict"),
            ),
            markdown(
                "install-md",
                """
            The Spark 3.5 runtime has `onnx` but not `onnxruntime`, which scores the model:
            install it for this session (`%pip` restarts Python, so it comes first; it
            needs internet access and does not run in pipeline runs).
        """,
            ),
            code("install", ONNXRUNTIME_PIP),
            code(
                "parameters",
                """
            # Filled in for each student when the notebook is uploaded.
            data_lake_account = "datalakexxxxxxx"
            data_lake_container = "files"
            # Empty: data/weather-forecast.csv in the data lake container.
            forecast_data_path = ""
            predictions_table = "rental_predictions"
            subscription_id = "00000000-0000-0000-0000-000000000000"
            resource_group = "dp000-xxxxxxx"
            aml_workspace = "amlxxxxxxx"
            model_name = "rental-prediction-model"
            synapse_workspace = "synapsexxxxxxx"
            # Empty: there is no dedicated SQL pool.
            sql_pool = ""
            # Empty: models/rental-prediction-model.csv in the data lake container, where
            # the SQL script "Predict rentals" loads the model from.
            sql_model_path = ""
        """,
                tags=["parameters"],
            ),
            code(
                "functions",
                FEATURES_CODE,
                CREDENTIAL_CODE,
                ONNX_CODE,
                FILES_CODE,
                MODEL_ROWS_CODE,
                '''

            import os
            import shutil

            from pyspark.sql import functions as F
            from pyspark.sql.types import DoubleType, StructField, StructType

            PREDICTION_COLUMN = "predicted_rentals"
            # The numpy type onnxruntime wants for each ONNX input type.
            NUMPY_TYPES = {"int64": "int64", "int32": "int32", "float": "float32", "double": "float64", "string": "object"}
            # T-SQL PREDICT matches model inputs to columns by name; the column types it
            # takes (int, bigint, real, float, char, varchar, nvarchar) against the ONNX types.
            PREDICT_COLUMN_TYPES = {
                "int32": {"int"},
                "int64": {"bigint"},
                "float": {"real"},
                "double": {"float"},
                "string": {"char", "varchar", "nvarchar"},
            }
            # What the dedicated SQL pool connector makes of each Spark type.
            SQL_POOL_TYPES = {"int": "int", "bigint": "bigint", "float": "real", "double": "float", "string": "nvarchar"}


            def download_registered_model(ml_client, model_name, download_root, version=None):
                """Download a registered model (latest version by default); (path of its .onnx file, version)."""
                if version is None:
                    version = ml_client.models.get(name=model_name, label="latest").version
                target = os.path.join(download_root, f"{model_name}-{version}")
                shutil.rmtree(target, ignore_errors=True)
                ml_client.models.download(name=model_name, version=version, download_path=target)
                for folder, _dirs, files in sorted(os.walk(target)):
                    if ONNX_FILE in files:
                        return os.path.join(folder, ONNX_FILE), version
                raise FileNotFoundError(f"{model_name}:{version} has no {ONNX_FILE}: register it with notebook 2")


            def check_model_inputs(model_inputs, columns, table):
                """Raise unless every model input has a column of that name (and a type PREDICT maps to it).

                columns: name -> SQL type, or None where only the name matters.
                """
                by_name = {name.lower(): (name, kind) for name, kind in columns.items()}
                for name, onnx_type in model_inputs:
                    if name.lower() not in by_name:
                        raise ValueError(
                            f"model input '{name}' ({onnx_type}) has no column in {table} "
                            f"(columns: {', '.join(columns)})"
                        )
                    column, sql_type = by_name[name.lower()]
                    allowed = PREDICT_COLUMN_TYPES.get(onnx_type, set())
                    if sql_type is not None and sql_type not in allowed:
                        raise ValueError(
                            f"column '{column}' of {table} is {sql_type}, model input '{name}' is {onnx_type}: "
                            f"PREDICT needs {' or '.join(sorted(allowed)) or 'a supported type'}"
                        )


            def score_forecast(forecast_df, model_bytes):
                """forecast_df's features with the ONNX model's prediction in PREDICTION_COLUMN.

                Scored by onnxruntime in the executors, a batch of rows at a time.
                """
                features = forecast_df.select(
                    *[F.col(c).cast("int").alias(c) for c in INTEGER_COLUMNS],
                    *[F.col(c).cast("double").alias(c) for c in DOUBLE_COLUMNS],
                )
                inputs, outputs = onnx_model_io(model_bytes)
                check_model_inputs(inputs, {c: None for c in features.columns}, "the forecast")
                if ONNX_OUTPUT not in [name for name, _ in outputs]:
                    raise ValueError(f"the model has no output {ONNX_OUTPUT!r}: {outputs}")

                def predict_batches(frames):
                    import onnxruntime

                    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
                    for frame in frames:
                        feed = {}
                        for name, onnx_type in inputs:
                            values = frame[name].to_numpy().astype(NUMPY_TYPES[onnx_type])
                            feed[name] = values.reshape(-1, 1)
                        predicted = session.run([ONNX_OUTPUT], feed)[0].reshape(-1)
                        yield frame.assign(**{PREDICTION_COLUMN: predicted.astype("float64")})

                schema = StructType(features.schema.fields + [StructField(PREDICTION_COLUMN, DoubleType(), False)])
                return features.mapInPandas(predict_batches, schema)


            def sql_pool_columns(df):
                """The SQL types of df's columns once written to the dedicated SQL pool."""
                return {name: SQL_POOL_TYPES.get(kind, kind) for name, kind in df.dtypes}


            # The operator domains of the ONNX standard itself; others (ai.onnx.ml, com.microsoft)
            # need a runtime that implements them.
            DEFAULT_ONNX_DOMAINS = {"", "ai.onnx"}


            def model_summary(model_bytes):
                """Size, parts for the SQL pool, ONNX opset and the operator domains beyond the default one."""
                model = load_model_from_string(model_bytes)
                opsets = {("" if o.domain in DEFAULT_ONNX_DOMAINS else o.domain): o.version for o in model.opset_import}
                domains = {node.domain for node in model.graph.node} | set(opsets)
                return {
                    "bytes": len(model_bytes),
                    "sql_pool_rows": -(-2 * len(model_bytes) // HEX_CHARS_PER_PART),
                    "opset": opsets.get(""),
                    "other_domains": {d: opsets.get(d) for d in sorted(domains - DEFAULT_ONNX_DOMAINS)},
                }


            def model_problems(model_bytes, max_bytes=MAX_MODEL_BYTES):
                """Why the model cannot be scored in many-row batches or kept by the SQL pool (empty: it can)."""
                problems = []
                if len(model_bytes) > max_bytes:
                    problems.append(
                        f"the model is {len(model_bytes):,} bytes, more than the {max_bytes:,} bytes of a "
                        "varbinary(max) value, where the SQL pool keeps the model for PREDICT (Transact-SQL "
                        "'binary and varbinary'; the PREDICT documentation names no other size limit)"
                    )
                inputs, _ = onnx_graph_values(model_bytes)
                for value in inputs:
                    tensor = value.type.tensor_type
                    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
                    if tensor.elem_type == TensorProto.STRING and dims[:1] == [1]:
                        problems.append(
                            f"input '{value.name}' is a string of fixed shape {dims}: the model takes one row "
                            "at a time, and PREDICT and the Spark scoring pass many (AutoML exports text "
                            "columns so; train without text columns)"
                        )
                return problems


            def check_model(model_bytes, max_bytes=MAX_MODEL_BYTES):
                """Print what the model is; raise, before anything is written, when it cannot be used here."""
                summary = model_summary(model_bytes)
                others = ", ".join(f"{d} (opset {v})" for d, v in summary["other_domains"].items()) or "none"
                print(
                    f"Model: {summary['bytes']:,} bytes ({summary['sql_pool_rows']} rows for the SQL pool), "
                    f"ONNX opset {summary['opset']}, other operator domains: {others}"
                )
                if "com.microsoft" in summary["other_domains"]:
                    print(
                        "Note: com.microsoft operators are onnxruntime's own; the SQL pool's ONNX runtime "
                        "may not have them, which only running PREDICT there shows."
                    )
                problems = model_problems(model_bytes, max_bytes)
                if problems:
                    raise ValueError("This model cannot be used here: " + "; ".join(problems))
                return summary
        ''',
            ),
            code(
                "load-csv",
                """
            %%pyspark
            if not forecast_data_path:
                forecast_data_path = (
                    f"abfss://{data_lake_container}@{data_lake_account}.dfs.core.windows.net"
                    "/data/weather-forecast.csv"
                )
            forecast_df = spark.read.load(forecast_data_path, format="csv", header=True, inferSchema=True)
            display(forecast_df)
        """,
            ),
            markdown(
                "model-md",
                """
            Download the latest version of the registered model from Azure ML: its
            `model.onnx`, with one input per feature and the output `variable_out1`.
        """,
            ),
            code(
                "load-model",
                """
            import tempfile

            ml_client = get_ml_client(subscription_id, resource_group, aml_workspace)
            model_path, model_version = download_registered_model(ml_client, model_name, tempfile.mkdtemp(prefix="model-"))
            with open(model_path, "rb") as model_file:
                model_bytes = model_file.read()
            print(f"Downloaded {model_name} version {model_version}: {len(model_bytes)} bytes")
        """,
                tags=AZURE,
            ),
            code(
                "check-model",
                """
            # Size, opset and operator domains; stops here, before anything is written, when the
            # model cannot be scored in batches or kept by the SQL pool.
            model_summary_info = check_model(model_bytes)
        """,
            ),
            code(
                "score",
                """
            model_inputs, model_outputs = onnx_model_io(model_bytes)
            print("Model inputs:", model_inputs)
            print("Model outputs:", model_outputs)
            predictions = score_forecast(forecast_df, model_bytes)
            display(predictions)
            # Overwrite: running the notebook again replaces the table.
            predictions.write.mode("overwrite").format("parquet").saveAsTable(predictions_table)
        """,
            ),
            markdown(
                "sql-md",
                """
            ## The SQL pool (lab part 2)

            Resume the pool first (Manage > SQL pools). This cell (re)loads
            `dbo.weather_forecast` with the setup's column types, checks the model's inputs
            against its columns, and writes the model, in parts, for the SQL script
            **Predict rentals** (Develop > SQL scripts), which joins the parts into
            `dbo.rental_prediction_model`, creates the stored procedure `dbo.predict_rentals`
            and runs it. Pause the pool when you are done.
        """,
            ),
            code(
                "sql-pool",
                """
            if sql_pool:
                weather_forecast = forecast_df.select(
                    *[F.col(c).cast("bigint").alias(c) for c in INTEGER_COLUMNS],
                    *[F.col(c).cast("float").alias(c) for c in DOUBLE_COLUMNS],
                )
                # Before anything is loaded: PREDICT fails on a model input without its column.
                check_model_inputs(model_inputs, sql_pool_columns(weather_forecast), "dbo.weather_forecast")
                # In parts of at most 900,000 hexadecimal characters: COPY INTO loads rows of at most
                # 1,000,000 bytes, and the script joins the parts back into one varbinary(max).
                model_rows = encode_model_rows(
                    model_bytes, int(model_version), f"{model_name} version {model_version}")

                # The dedicated SQL pool connector ships with the Synapse Spark runtime.
                import com.microsoft.spark.sqlanalytics  # noqa: F401  adds DataFrameWriter.synapsesql
                from com.microsoft.spark.sqlanalytics.Constants import Constants

                (
                    weather_forecast.write
                    .option(Constants.SERVER, f"{synapse_workspace}.sql.azuresynapse.net")
                    .mode("overwrite")
                    .synapsesql(f"{sql_pool}.dbo.weather_forecast")
                )
                print(f"Loaded {weather_forecast.count()} rows into {sql_pool}.dbo.weather_forecast")

                if not sql_model_path:
                    sql_model_path = (
                        f"abfss://{data_lake_container}@{data_lake_account}.dfs.core.windows.net"
                        "/models/rental-prediction-model.csv"
                    )
                write_text_file(spark, sql_model_path, model_rows)
                print(f"Wrote the model to {sql_model_path} in {len(model_rows.splitlines())} rows: "
                      f"run the SQL script 'Predict rentals' on {sql_pool}")
            else:
                print("No dedicated SQL pool: the predictions above come from Spark only.")
        """,
            ),
        ]
    )


NOTEBOOKS = {
    "01-prepare-data.ipynb": prepare_data,
    "02-train-automl.ipynb": train_automl,
    "03-predict.ipynb": predict,
}


def build() -> dict[str, dict]:
    return {name: make() for name, make in NOTEBOOKS.items()}


def render(nb: dict) -> str:
    # The layout nbformat.write uses (indent 1, sorted keys), so the files diff well.
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    NOTEBOOKS_DIR.mkdir(exist_ok=True)
    for name, nb in build().items():
        (NOTEBOOKS_DIR / name).write_text(render(nb), encoding="utf-8")
        print(f"wrote notebooks/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
