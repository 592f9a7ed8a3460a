"""The parameters-cell contract shared by the notebooks and the uploader."""

from __future__ import annotations

import pytest

from lab.notebook_params import NotebookParametersError, fill_parameters, read_parameters


def notebook(source, tags=("parameters",), extra_cells=()):
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# title"]},
            {
                "cell_type": "code",
                "metadata": {"tags": list(tags)},
                "source": source,
                "outputs": [],
                "execution_count": None,
            },
            *extra_cells,
        ],
    }


SOURCE = [
    "# Filled per student at upload\n",
    'data_lake_account = "datalakexxxxxxx"\n',
    "max_rows = 10\n",
    "use_sql = False\n",
    'sql_pool = ""',
]


def test_read_parameters():
    assert read_parameters(notebook(SOURCE)) == {
        "data_lake_account": "datalakexxxxxxx",
        "max_rows": 10,
        "use_sql": False,
        "sql_pool": "",
    }


def test_fill_replaces_known_names_keeps_comments_and_ignores_others():
    original = notebook(SOURCE)
    filled = fill_parameters(
        original,
        {"data_lake_account": "datalakeab12cd3", "sql_pool": "sqlab12cd3", "not_declared": "x"},
    )
    assert filled["cells"][1]["source"] == [
        "# Filled per student at upload\n",
        "data_lake_account = 'datalakeab12cd3'\n",
        "max_rows = 10\n",
        "use_sql = False\n",
        "sql_pool = 'sqlab12cd3'",
    ]
    assert read_parameters(filled)["data_lake_account"] == "datalakeab12cd3"
    assert original["cells"][1]["source"] == SOURCE  # the input is not modified
    assert filled["cells"][0] == original["cells"][0]


def test_string_source_and_quotes_are_safe():
    filled = fill_parameters(notebook('name = "a"\n'), {"name": 'it\'s "quoted"\nnewline'})
    assert read_parameters(filled) == {"name": 'it\'s "quoted"\nnewline'}


@pytest.mark.parametrize(
    "nb, message",
    [
        (notebook(SOURCE, tags=()), "found 0"),
        (notebook(SOURCE, extra_cells=[notebook(SOURCE)["cells"][1]]), "found 2"),
        (notebook(["import os\n"]), "only 'name = literal'"),
        (notebook(["x = os.getcwd()\n"]), "is not a literal"),
        (notebook(["x = (\n"]), "not valid Python"),
    ],
)
def test_bad_parameters_cells(nb, message):
    with pytest.raises(NotebookParametersError, match=message):
        read_parameters(nb)


def test_type_mismatch_is_refused():
    with pytest.raises(NotebookParametersError, match="declares int, got str"):
        fill_parameters(notebook(SOURCE), {"max_rows": "ten"})
    with pytest.raises(NotebookParametersError, match="not a literal"):
        fill_parameters(notebook(SOURCE), {"data_lake_account": ["a"]})
