"""Writes the lab's three notebooks beside this file from the cell sources below.

The .ipynb files are committed; tests/notebooks/test_make_notebooks.py checks that
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

FEATURES_CODE = '''\
# The lab's 10 features and its label, in this order, with the types AutoML trains on.
INTEGER_COLUMNS = ["season", "mnth", "holiday", "weekday", "workingday", "weathersit"]
DOUBLE_COLUMNS = ["temp", "atemp", "hum", "windspeed"]
FEATURE_COLUMNS = INTEGER_COLUMNS + DOUBLE_COLUMNS
LABEL_COLUMN = "rentals"
'''

CREDENTIAL_CODE = '''\
import base64
import json
import time

from azure.core.credentials import AccessToken

# mssparkutils.credentials.getToken takes short names for the well-known audiences.
SYNAPSE_AUDIENCES = {
    "https://management.azure.com": "AzureManagement",
    "https://management.core.windows.net": "AzureManagement",
    "https://storage.azure.com": "Storage",
    "https://vault.azure.net": "Vault",
    "https://database.windows.net": "DW",
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


def _lines(text: str) -> list[str]:
    return textwrap.dedent(text).strip("\n").splitlines(keepends=True)


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
    return notebook([
        markdown("intro", """
            # 1. Prepare the bike rental data

            Lab *Use Azure Machine Learning with Azure Synapse Analytics*, part 1.
            Loads `data/bike-rentals-training.csv` from the data lake, keeps the 10
            features and the label `rentals`, saves them as the table `bike_data` in
            the `default` lake database (overwriting it, so the notebook can be run
            again), and profiles the data before training.
        """),
        code("parameters", """
            # Filled in for each student when the notebook is uploaded.
            data_lake_account = "datalakexxxxxxx"
            data_lake_container = "files"
            # Empty: data/bike-rentals-training.csv in the data lake container.
            training_data_path = ""
            table_name = "bike_data"
        """, tags=["parameters"]),
        code("load-csv", """
            %%pyspark
            if not training_data_path:
                training_data_path = (
                    f"abfss://{data_lake_container}@{data_lake_account}.dfs.core.windows.net"
                    "/data/bike-rentals-training.csv"
                )
            df = spark.read.load(training_data_path, format="csv", header=True, inferSchema=True)
            display(df.limit(10))
        """),
        markdown("select-md", """
            Keep the columns the model uses. The explicit casts pin the types that
            AutoML and the scoring notebook expect (whole numbers for the
            categorical columns, doubles for the normalised weather values).
        """),
        code("save-table", FEATURES_CODE, '''
            from pyspark.sql import functions as F

            bike_df = df.select(
                *[F.col(c).cast("int").alias(c) for c in INTEGER_COLUMNS],
                *[F.col(c).cast("double").alias(c) for c in DOUBLE_COLUMNS],
                F.col(LABEL_COLUMN).cast("int").alias(LABEL_COLUMN),
            )
            # Overwrite: running the notebook again replaces the table instead of failing.
            bike_df.write.mode("overwrite").format("parquet").saveAsTable(table_name)
        '''),
        markdown("query-md", "Query the table from the lake database:"),
        code("query", """
            %%sql
            SELECT * FROM bike_data
        """),
        markdown("profile-md", """
            ## Profile before training

            Row count, missing values, summary statistics, rentals by season and the
            correlation of each feature with `rentals`.
        """),
        code("profile", """
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
        """),
    ])


# --------------------------------------------------------------------------
# 02-train-automl
# --------------------------------------------------------------------------
def train_automl() -> dict:
    return notebook([
        markdown("intro", """
            # 2. Train a model with automated machine learning

            Lab *Use Azure Machine Learning with Azure Synapse Analytics*. The Synapse
            "Train a new model" wizard only ran on Spark 2.4, which Synapse has retired,
            so this notebook does the same with the Azure ML Python SDK v2:

            1. writes the `bike_data` table (notebook 1) to the data lake as an MLTable folder;
            2. submits an AutoML regression job: experiment `mslearn-bike-rentals`, target
               `rentals`, primary metric Spearman correlation, 15 minutes (0.25 h),
               2 concurrent trials, ONNX-compatible models only;
            3. waits for it, then registers the best model as `rental-prediction-model`.

            Run notebook 1 first. The job runs on the Azure ML compute cluster, whose
            managed identity reads the lake through the identity-based datastore.
        """),
        markdown("install-md", """
            The Synapse Spark runtime does not ship the Azure ML SDK v2: install it for
            this session (the Spark pool allows session-level packages).
        """),
        code("install", """
            %pip install "azure-ai-ml>=1.20,<2"
        """),
        code("parameters", """
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
        """, tags=["parameters"]),
        markdown("functions-md", "Helpers: credential, MLTable, AutoML job, waiting and registration."),
        code("functions", CREDENTIAL_CODE, '''

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


            def write_text_file(spark, path, text):
                """Write a small file through Spark's Hadoop file system (abfss:// here, file:// locally)."""
                hadoop_path = spark._jvm.org.apache.hadoop.fs.Path(path)
                fs = hadoop_path.getFileSystem(spark._jsc.hadoopConfiguration())
                stream = fs.create(hadoop_path, True)
                try:
                    stream.write(bytearray(text.encode("utf-8")))
                finally:
                    stream.close()


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
                # ONNX-compatible models only, as in the lab, so the model can be scored with T-SQL PREDICT.
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


            def register_best_model(ml_client, job_name, model_name):
                """Register the MLflow model of the job's best trial as model_name."""
                run_id = best_child_run_id(ml_client, job_name)
                model = Model(
                    name=model_name,
                    path=f"azureml://jobs/{run_id}/outputs/artifacts/paths/outputs/mlflow-model/",
                    type=AssetTypes.MLFLOW_MODEL,
                    description=f"Best model of AutoML job {job_name} (lab mslearn-bike-rentals)",
                    tags={"automl_job": job_name, "best_child_run": run_id},
                )
                return ml_client.models.create_or_update(model)
        '''),
        markdown("mltable-md", """
            Write `bike_data` to the lake as an MLTable folder, which AutoML reads through
            the `datalake` datastore.
        """),
        code("write-mltable", """
            mltable_uri = write_mltable(
                spark.table(table_name),
                f"abfss://{data_lake_container}@{data_lake_account}.dfs.core.windows.net/{mltable_folder}",
            )
            training_data_uri = f"azureml://datastores/{aml_datastore}/paths/{mltable_folder}"
            print(f"Wrote {mltable_uri}, which Azure ML reads as {training_data_uri}")
        """, tags=DATA_LAKE),
        markdown("submit-md", "Submit the AutoML job and follow it in Azure ML studio:"),
        code("submit", """
            ml_client = get_ml_client(subscription_id, resource_group, aml_workspace)
            job = build_automl_job(training_data_uri, compute_name, experiment_name)
            returned_job = ml_client.jobs.create_or_update(job)
            print(f"Submitted {returned_job.name}: {returned_job.studio_url}")
            displayHTML(f'<a href="{returned_job.studio_url}" target="_blank">Open the AutoML job in Azure ML studio</a>')
        """, tags=AZURE),
        markdown("wait-md", "Wait for the job: at least 15 minutes, as AutoML uses its whole time budget."),
        code("wait", """
            wait_for_job(ml_client, returned_job.name)
        """, tags=AZURE),
        code("register", """
            registered = register_best_model(ml_client, returned_job.name, model_name)
            print(f"Registered {registered.name} version {registered.version}")
        """, tags=AZURE),
    ])


# --------------------------------------------------------------------------
# 03-predict
# --------------------------------------------------------------------------
def predict() -> dict:
    return notebook([
        markdown("intro", """
            # 3. Predict rentals with the registered model

            Lab *Use Azure Machine Learning with Azure Synapse Analytics*, part 2. Loads
            `data/weather-forecast.csv` (the forecast for the next 10 days), downloads the
            model `rental-prediction-model` that notebook 2 registered in Azure ML, predicts
            the rentals for each day and saves features and predictions as the table
            `rental_predictions`. With a dedicated SQL pool it also loads the forecast into
            `dbo.weather_forecast`, for the lab's T-SQL "Predict with a model" step.
        """),
        code("install", """
            %pip install "azure-ai-ml>=1.20,<2" "mlflow>=2.9,<4"
        """),
        code("parameters", """
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
        """, tags=["parameters"]),
        code("functions", FEATURES_CODE, CREDENTIAL_CODE, '''

            import os
            import shutil
            import subprocess
            import sys
            import tempfile
            from importlib import metadata

            import numpy as np
            import pandas as pd
            from pyspark.sql import functions as F
            from pyspark.sql.types import DoubleType, StructField, StructType

            PREDICTION_COLUMN = "predicted_rentals"


            def download_registered_model(ml_client, model_name, download_root, version=None):
                """Download a registered MLflow model (latest version by default); its MLmodel folder."""
                if version is None:
                    version = ml_client.models.get(name=model_name, label="latest").version
                target = os.path.join(download_root, f"{model_name}-{version}")
                shutil.rmtree(target, ignore_errors=True)
                ml_client.models.download(name=model_name, version=version, download_path=target)
                for folder, _dirs, files in sorted(os.walk(target)):
                    if "MLmodel" in files:
                        return folder
                raise FileNotFoundError(f"{model_name}:{version} has no MLmodel file: is it an MLflow model?")


            def missing_requirements(model_dir):
                """The model's pip requirements whose package is not installed in this session."""
                import mlflow.pyfunc
                from packaging.requirements import Requirement

                missing = []
                with open(mlflow.pyfunc.get_model_dependencies(model_dir, format="pip")) as lines:
                    for line in lines:
                        line = line.split("#", 1)[0].strip()
                        if not line or line.startswith("-"):
                            continue
                        requirement = Requirement(line)
                        if requirement.name.lower() in ("mlflow", "mlflow-skinny"):
                            continue  # already imported by this session
                        if requirement.marker is not None and not requirement.marker.evaluate():
                            continue
                        try:
                            metadata.version(requirement.name)
                        except metadata.PackageNotFoundError:
                            missing.append(line)
                return missing


            def install_requirements(requirements):
                """pip install on the driver, where the model is scored."""
                if requirements:
                    subprocess.check_call([sys.executable, "-m", "pip", "install", *requirements])


            def load_model(model_dir):
                import mlflow.pyfunc

                return mlflow.pyfunc.load_model(model_dir)


            def score_forecast(forecast_df, model):
                """forecast_df's features with the model's prediction in PREDICTION_COLUMN.

                The forecast is 10 rows: it is scored on the driver, as one pandas frame.
                """
                features = forecast_df.select(
                    *[F.col(c).cast("int").alias(c) for c in INTEGER_COLUMNS],
                    *[F.col(c).cast("double").alias(c) for c in DOUBLE_COLUMNS],
                )
                rows = features.collect()
                frame = pd.DataFrame([row.asDict() for row in rows], columns=FEATURE_COLUMNS)
                frame = frame.astype({**{c: "int32" for c in INTEGER_COLUMNS}, **{c: "float64" for c in DOUBLE_COLUMNS}})
                predicted = np.asarray(model.predict(frame), dtype="float64").ravel()
                if len(predicted) != len(rows):
                    raise ValueError(f"the model returned {len(predicted)} predictions for {len(rows)} rows")
                schema = StructType(features.schema.fields + [StructField(PREDICTION_COLUMN, DoubleType(), False)])
                return features.sparkSession.createDataFrame(
                    [(*row, float(value)) for row, value in zip(rows, predicted)], schema
                )
        '''),
        code("load-csv", """
            %%pyspark
            if not forecast_data_path:
                forecast_data_path = (
                    f"abfss://{data_lake_container}@{data_lake_account}.dfs.core.windows.net"
                    "/data/weather-forecast.csv"
                )
            forecast_df = spark.read.load(forecast_data_path, format="csv", header=True, inferSchema=True)
            display(forecast_df)
        """),
        markdown("model-md", """
            Download the latest version of the registered model from Azure ML and load it
            with MLflow. An AutoML model needs its own packages (such as
            `azureml-automl-runtime`): the ones this session lacks are installed first.
        """),
        code("load-model", """
            ml_client = get_ml_client(subscription_id, resource_group, aml_workspace)
            model_dir = download_registered_model(ml_client, model_name, tempfile.mkdtemp(prefix="model-"))
            print(f"Downloaded {model_name} to {model_dir}")
            install_requirements(missing_requirements(model_dir))
            model = load_model(model_dir)
        """, tags=AZURE),
        code("score", """
            predictions = score_forecast(forecast_df, model)
            display(predictions)
            # Overwrite: running the notebook again replaces the table.
            predictions.write.mode("overwrite").format("parquet").saveAsTable(predictions_table)
        """),
        markdown("sql-md", """
            The lab's part 2 scores `dbo.weather_forecast` in the dedicated SQL pool with
            T-SQL `PREDICT` ("Predict with a model" in Synapse Studio). Resume the pool first;
            this cell (re)loads the table with the setup's column types.
        """),
        code("sql-pool", """
            if sql_pool:
                # The dedicated SQL pool connector ships with the Synapse Spark runtime.
                import com.microsoft.spark.sqlanalytics  # noqa: F401  adds DataFrameWriter.synapsesql
                from com.microsoft.spark.sqlanalytics.Constants import Constants

                weather_forecast = forecast_df.select(
                    *[F.col(c).cast("bigint").alias(c) for c in INTEGER_COLUMNS],
                    *[F.col(c).cast("float").alias(c) for c in DOUBLE_COLUMNS],
                )
                (
                    weather_forecast.write
                    .option(Constants.SERVER, f"{synapse_workspace}.sql.azuresynapse.net")
                    .mode("overwrite")
                    .synapsesql(f"{sql_pool}.dbo.weather_forecast")
                )
                print(f"Loaded {weather_forecast.count()} rows into {sql_pool}.dbo.weather_forecast")
            else:
                print("No dedicated SQL pool: dbo.weather_forecast not loaded.")
        """),
    ])


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
