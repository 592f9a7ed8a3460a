"""The lab's steps (lab/steps.py): their names come from the program and match what they name."""

from __future__ import annotations

import json
import re

from lab import cost_guard, steps, studio
from lab.naming import DATA_CONTAINER
from providers.synapse import SQL_MODEL_LAKE_PATH

SQL = (studio.NOTEBOOKS_DIR / "sql" / "predict_rentals.sql").read_text()


def test_the_names_are_the_notebooks_own():
    assert steps.table_name() == "bike_data"
    assert steps.experiment_name() == "mslearn-bike-rentals"
    assert steps.model_name() == "rental-prediction-model"
    # Notebooks 02 and 03 read the same table and the same model as the steps look for.
    assert steps.notebook_parameters(steps.TRAIN_NOTEBOOK)["table_name"] == steps.table_name()
    assert steps.notebook_parameters(steps.PREDICT_NOTEBOOK)["model_name"] == steps.model_name()
    assert steps.PAUSE_PIPELINE == cost_guard.PAUSE_PIPELINE_NAME
    assert steps.LAKE_CONTAINER == DATA_CONTAINER


def test_the_model_rows_path_is_where_the_sql_script_loads_them_from():
    assert steps.model_rows_path() == SQL_MODEL_LAKE_PATH
    assert "{{model_path}}" in SQL


def test_the_predict_procedure_is_the_one_the_script_creates_and_runs():
    assert re.search(rf"^CREATE PROCEDURE {re.escape(steps.PREDICT_PROCEDURE)}$", SQL, re.M)
    assert re.search(rf"^EXEC {re.escape(steps.PREDICT_PROCEDURE)};$", SQL, re.M)
    assert "FROM PREDICT(MODEL" in SQL


def test_every_step_is_in_a_notebook_or_script_and_the_notebooks_name_theirs():
    ids = [s.id for s in steps.steps()]
    assert len(ids) == len(set(ids)) and ids[-1] == "paused"
    notebooks = set(studio.lab_notebooks())
    for s in steps.student_steps():
        assert s.notebook in notebooks | set(studio.SQL_SCRIPT_NAMES), s
        assert s.part in (1, 2) and s.source in ("lake", "aml-jobs", "aml-models", "logs")
    numbers = {s.id: n for n, s in enumerate(steps.student_steps(), 1)}
    # The generator's own copy (notebooks import nothing of the program) equals the table.
    from notebooks.make_notebooks import LAB_STEPS

    assert {
        name: tuple((numbers[s.id], s.title) for s in steps.steps_of_notebook(name))
        for name in notebooks
    } == LAB_STEPS
    for name in notebooks:
        intro = "".join(
            json.loads((studio.NOTEBOOKS_DIR / f"{name}.ipynb").read_text())["cells"][0]["source"]
        )
        for s in steps.steps_of_notebook(name):
            assert f"{numbers[s.id]}. *{s.title}*" in intro, (name, s.id)


def test_the_table_lives_in_the_workspace_default_lake_database():
    assert steps.table_prefix("synapseabc1234") == (
        "synapse/workspaces/synapseabc1234/warehouse/bike_data/"
    )
