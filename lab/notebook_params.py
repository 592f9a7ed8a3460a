"""The lab notebooks' `parameters` cell: one place that reads and fills it.

A notebook carries exactly one code cell tagged ``parameters`` (the papermill /
Synapse convention). Its lines are plain assignments ``name = <python literal>``
plus comments. At upload each student's values replace the literals, so the
notebook a student opens already points at their own data lake and workspaces.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Mapping
from typing import Any

PARAMETERS_TAG = "parameters"


class NotebookParametersError(ValueError):
    """The notebook does not follow the parameters-cell convention."""


def _source_text(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _split_lines(text: str) -> list[str]:
    # nbformat on disk and the Synapse SDK both want a list of lines that keep
    # their newline, all but the last.
    return text.splitlines(keepends=True)


def parameters_cell_index(notebook: Mapping[str, Any]) -> int:
    """Index of the single code cell tagged ``parameters``; raises otherwise."""
    found = [
        i
        for i, cell in enumerate(notebook.get("cells", []))
        if cell.get("cell_type") == "code"
        and PARAMETERS_TAG in (cell.get("metadata", {}).get("tags") or [])
    ]
    if len(found) != 1:
        raise NotebookParametersError(
            f"expected exactly one code cell tagged '{PARAMETERS_TAG}', found {len(found)}"
        )
    return found[0]


def read_parameters(notebook: Mapping[str, Any]) -> dict[str, Any]:
    """The names and literal values assigned in the parameters cell, in order."""
    cell = notebook["cells"][parameters_cell_index(notebook)]
    try:
        tree = ast.parse(_source_text(cell))
    except SyntaxError as exc:
        raise NotebookParametersError(f"parameters cell is not valid Python: {exc}") from exc
    values: dict[str, Any] = {}
    for node in tree.body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            raise NotebookParametersError(
                f"parameters cell line {node.lineno}: only 'name = literal' assignments are allowed"
            )
        try:
            values[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError as exc:
            raise NotebookParametersError(
                f"parameters cell line {node.lineno}: the value of "
                f"'{node.targets[0].id}' is not a literal"
            ) from exc
    return values


def fill_parameters(notebook: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``notebook`` whose parameters cell assigns ``values``.

    Only names the cell already declares are replaced (a notebook takes the
    parameters it needs and ignores the rest); comments and order are kept.
    """
    result = copy.deepcopy(dict(notebook))
    index = parameters_cell_index(result)
    declared = read_parameters(result)
    cell = result["cells"][index]
    tree = ast.parse(_source_text(cell))
    lines = _source_text(cell).splitlines()
    # Replace bottom-up so earlier line numbers stay valid.
    for node in sorted(tree.body, key=lambda n: n.lineno, reverse=True):
        name = node.targets[0].id  # type: ignore[attr-defined]
        if name not in values:
            continue
        value = values[name]
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            raise NotebookParametersError(
                f"parameter '{name}': {type(value).__name__} is not a literal a notebook can hold"
            )
        if type(value) is not type(declared[name]) and declared[name] is not None:
            raise NotebookParametersError(
                f"parameter '{name}': the notebook declares {type(declared[name]).__name__}, "
                f"got {type(value).__name__}"
            )
        start, end = node.lineno - 1, node.end_lineno or node.lineno
        lines[start:end] = [f"{name} = {value!r}"]
    cell["source"] = _split_lines("\n".join(lines))
    return result
