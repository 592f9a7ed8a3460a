"""The lab's steps, each with the evidence in Azure that proves a student did it.

One table for the notebooks (which name their steps), the handout (which lists them) and
`python -m classroom progress` (which reads the evidence). The names the evidence is found
by come from the program: the notebooks' parameters cells (the table, the experiment, the
model), lab/naming.py (the lake's container), lab/cost_guard.py (the pause pipeline).

Where the evidence lives (the sources are in docs/lab-progress.md and the pilot checklist):

- the lake (Blob API listing, which ADLS Gen2 serves too): Spark's managed table `bike_data`
  in the workspace's default lake database, and the model rows notebook 03 writes;
- Azure ML (azure-ai-ml ``MLClient.jobs`` and ``MLClient.models``): the AutoML job of the
  experiment, its status, and the registered model;
- Log Analytics (the diagnostic settings' tables, azure-monitor-query): the dedicated pool's
  requests (the `PREDICT`), and the pause pipeline's runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from lab import cost_guard, diagnostics, studio
from lab.naming import DATA_CONTAINER
from lab.notebook_params import read_parameters

PREPARE_NOTEBOOK = "01-prepare-data"
TRAIN_NOTEBOOK = "02-train-automl"
PREDICT_NOTEBOOK = "03-predict"

# The Log Analytics tables the diagnostic settings fill (lab/diagnostics.py declares the
# settings, and names each table with its source): one name in the code for each.
SQL_REQUESTS_TABLE = diagnostics.SQL_POOL_EXEC_REQUESTS_TABLE  # category ExecRequests of sqlPools
PIPELINE_RUNS_TABLE = diagnostics.PIPELINE_RUNS_TABLE  # IntegrationPipelineRuns of workspaces

# The procedure the SQL script "Predict rentals" creates and runs (notebooks/sql/predict_rentals.sql;
# tests/lab/test_steps.py keeps the two equal). ExecRequests.Command holds the submitted text
# (sys.dm_pdw_exec_requests.command, cut at 4,000 characters), so the EXEC is found by its name.
PREDICT_PROCEDURE = "dbo.predict_rentals"

# Azure ML job statuses (azure-ai-ml entities JobStatus / the REST JobStatus enum).
JOB_DONE = frozenset({"Completed"})
JOB_FAILED = frozenset({"Failed", "Canceled", "NotResponding"})

# A step's state for one student.
DONE, RUNNING, FAILED, NOT_YET, UNKNOWN = "done", "running", "failed", "not yet", "unknown"
# A step that does not apply: a student without a dedicated SQL pool (lab:dedicatedSqlPool false)
# has no part 2 in the pool and no pause to run.
NOT_APPLICABLE = "n/a"
SQL_POOL_STEPS = frozenset({"model-rows", "predicted", "paused"})


@cache
def notebook_parameters(notebook: str) -> dict[str, Any]:
    """The parameters cell of one of the lab's notebooks (notebooks/<name>.ipynb)."""
    path = studio.NOTEBOOKS_DIR / f"{notebook}.ipynb"
    return read_parameters(json.loads(path.read_text(encoding="utf-8")))


def table_name() -> str:
    """The Spark table notebook 01 saves (and notebook 02 reads)."""
    return str(notebook_parameters(PREPARE_NOTEBOOK)["table_name"])


def experiment_name() -> str:
    return str(notebook_parameters(TRAIN_NOTEBOOK)["experiment_name"])


def model_name() -> str:
    return str(notebook_parameters(TRAIN_NOTEBOOK)["model_name"])


def model_rows_path() -> str:
    """Where notebook 03 writes the model's rows for the SQL pool, in the lake's container
    (its `sql_model_path` default; the SQL script loads them from there)."""
    return f"models/{model_name()}.csv"


def table_prefix(synapse_workspace: str) -> str:
    """The folder of the managed table in the lake: Synapse's default lake database keeps its
    tables under synapse/workspaces/<workspace>/warehouse/ of the workspace's default
    filesystem (the pilot checklist confirms it on a live workspace)."""
    return f"synapse/workspaces/{synapse_workspace}/warehouse/{table_name()}/"


LAKE_CONTAINER = DATA_CONTAINER
PAUSE_PIPELINE = cost_guard.PAUSE_PIPELINE_NAME


@dataclass(frozen=True)
class Step:
    """One step of the lab and how it is proved."""

    id: str
    title: str  # "Train a model": what the notebooks and the handout call it
    reached: str  # "trained a model": for "18 of 25 trained a model"
    part: int  # the lab's part (1 or 2); 0 for the cost guard, which is no student step
    notebook: str  # the notebook (or SQL script) the student runs for it
    source: str  # "lake" | "aml-jobs" | "aml-models" | "logs"
    evidence: str  # what proves it, in words

    @property
    def is_student_step(self) -> bool:
        return self.part > 0


def steps() -> tuple[Step, ...]:
    """The lab's steps in order, then the cost guard's nightly pause."""
    return (
        Step(
            "prepared",
            "Prepare the data",
            "prepared the data",
            1,
            PREPARE_NOTEBOOK,
            "lake",
            f"notebook {PREPARE_NOTEBOOK} ran on the Spark pool: the files of the table "
            f"`{table_name()}` are in the lake (synapse/workspaces/<workspace>/warehouse/{table_name()}/)",
        ),
        Step(
            "submitted",
            "Submit the AutoML job",
            "submitted the AutoML job",
            1,
            TRAIN_NOTEBOOK,
            "aml-jobs",
            f"a job of the experiment `{experiment_name()}` in the student's Azure ML workspace",
        ),
        Step(
            "trained",
            "Train a model",
            "trained a model",
            1,
            TRAIN_NOTEBOOK,
            "aml-jobs",
            "that job's status is Completed (Failed or Canceled shows as failed)",
        ),
        Step(
            "registered",
            "Register the model",
            "registered the model",
            1,
            TRAIN_NOTEBOOK,
            "aml-models",
            f"the model `{model_name()}` has a version in Azure ML (an MLflow model of flavor onnx)",
        ),
        Step(
            "model-rows",
            "Write the model for the SQL pool",
            "wrote the model to the lake",
            2,
            PREDICT_NOTEBOOK,
            "lake",
            f"notebook {PREDICT_NOTEBOOK} wrote `{model_rows_path()}` to the lake",
        ),
        Step(
            "predicted",
            "Predict rentals in the SQL pool",
            "predicted rentals with PREDICT",
            2,
            studio.PREDICT_RENTALS_SCRIPT_NAME,
            "logs",
            f"the dedicated pool ran `{PREDICT_PROCEDURE}` (its request log, table {SQL_REQUESTS_TABLE})",
        ),
        Step(
            "paused",
            "The SQL pool paused itself last night",
            "had the pool paused last night",
            0,
            PAUSE_PIPELINE,
            "logs",
            f"the latest run of the pipeline `{PAUSE_PIPELINE}` in the last day Succeeded "
            f"(table {PIPELINE_RUNS_TABLE})",
        ),
    )


def student_steps() -> tuple[Step, ...]:
    """The steps a student does (the cost guard's pause left out)."""
    return tuple(s for s in steps() if s.is_student_step)


def step(step_id: str) -> Step:
    for s in steps():
        if s.id == step_id:
            return s
    raise KeyError(step_id)


def steps_of_notebook(notebook: str) -> tuple[Step, ...]:
    return tuple(s for s in student_steps() if s.notebook == notebook)
