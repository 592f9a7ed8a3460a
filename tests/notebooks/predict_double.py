"""A local test double of the dedicated SQL pool's T-SQL PREDICT (RUNTIME = ONNX).

It enforces PREDICT's documented rules before scoring with onnxruntime:
- every model input is matched by name to a column of DATA (names compare
  case-insensitively, as under the lab database's CI collation);
- that column has a type PREDICT accepts (int, bigint, real, float, char,
  varchar, nvarchar) and the one the input's tensor type stands for;
- every column of the WITH clause is a model output, of a supported type.
The result is DATA's rows with the WITH columns appended, values as SQL holds them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

SUPPORTED_COLUMN_TYPES = ("int", "bigint", "real", "float", "char", "varchar", "nvarchar")
# The ONNX tensor type each SQL column type reaches the model as, and back.
TENSOR_OF_COLUMN = {
    "int": "tensor(int32)",
    "bigint": "tensor(int64)",
    "real": "tensor(float)",
    "float": "tensor(double)",
    "char": "tensor(string)",
    "varchar": "tensor(string)",
    "nvarchar": "tensor(string)",
}
NUMPY_OF_TENSOR = {
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(string)": np.object_,
}


class PredictError(Exception):
    """What the SQL pool would refuse, with the reason."""


@dataclass
class SqlTable:
    name: str
    columns: Mapping[str, str]  # column -> SQL type (lower case, no length), in table order
    rows: Sequence[Sequence]


def base_type(sql_type: str) -> str:
    return sql_type.strip().lower().split("(")[0]


def predict(model: bytes, data: SqlTable, with_columns: Sequence[tuple[str, str]]) -> list[tuple]:
    """PREDICT(MODEL = model, DATA = data AS d, RUNTIME = ONNX) WITH (with_columns): d.* plus outputs."""
    import onnxruntime

    if not isinstance(model, (bytes, bytearray)) or not model:
        raise PredictError("MODEL must be a non-empty varbinary")
    try:
        session = onnxruntime.InferenceSession(bytes(model), providers=["CPUExecutionProvider"])
    except Exception as exc:  # what the pool reports for bytes that are no ONNX model
        raise PredictError(f"MODEL is not a valid ONNX model: {exc}") from exc

    by_name = {name.lower(): (position, name) for position, name in enumerate(data.columns)}
    feed = {}
    for model_input in session.get_inputs():
        if model_input.name.lower() not in by_name:
            raise PredictError(f"model input '{model_input.name}' matches no column of {data.name}")
        position, column = by_name[model_input.name.lower()]
        column_type = base_type(data.columns[column])
        if column_type not in SUPPORTED_COLUMN_TYPES:
            raise PredictError(
                f"column '{column}' of {data.name} has type {column_type}, which PREDICT does not take"
            )
        if TENSOR_OF_COLUMN[column_type] != model_input.type:
            raise PredictError(
                f"column '{column}' ({column_type}) does not fit model input "
                f"'{model_input.name}' ({model_input.type})"
            )
        values = np.array(
            [row[position] for row in data.rows], dtype=NUMPY_OF_TENSOR[model_input.type]
        )
        feed[model_input.name] = values.reshape(-1, 1) if len(model_input.shape) == 2 else values

    outputs = {o.name: o for o in session.get_outputs()}
    for name, sql_type in with_columns:
        if name not in outputs:
            raise PredictError(
                f"WITH column '{name}' is not an output of the model ({', '.join(outputs)})"
            )
        if base_type(sql_type) not in SUPPORTED_COLUMN_TYPES:
            raise PredictError(f"WITH column '{name}' has unsupported type {sql_type}")

    results = session.run([name for name, _ in with_columns], feed)
    scored = []
    for index, row in enumerate(data.rows):
        extra = tuple(
            _as_sql(result.reshape(len(data.rows), -1)[index][0], sql_type)
            for result, (_, sql_type) in zip(results, with_columns, strict=True)
        )
        scored.append(tuple(row) + extra)
    return scored


def _as_sql(value, sql_type: str):
    kind = base_type(sql_type)
    if kind == "real":
        return float(np.float32(value))
    if kind == "float":
        return float(value)
    if kind in ("int", "bigint"):
        return int(value)
    return str(value)


# ---------------------------------------------------------------------------
# Reading the lab's SQL scripts
# ---------------------------------------------------------------------------
def create_table_columns(sql: str, table: str) -> dict[str, str]:
    """Column -> type of the CREATE TABLE of `table` in a script."""
    match = re.search(
        rf"CREATE TABLE {re.escape(table)}\s*\((.*?)\)\s*(?:WITH|;)", sql, re.S | re.I
    )
    if not match:
        raise ValueError(f"no CREATE TABLE {table} in the script")
    columns = {}
    for line in match.group(1).split(","):
        name, sql_type, *_ = line.split()
        columns[name] = sql_type.lower()
    return columns


@dataclass
class PredictCall:
    model_table: str
    data_table: str
    with_columns: list[tuple[str, str]]


def predict_call(sql: str) -> PredictCall:
    """Where the PREDICT of a script takes its model from, its DATA and its WITH clause."""
    call = re.search(
        r"PREDICT\(MODEL = @model, DATA = ([\w.]+) AS d, RUNTIME = ONNX\)\s*WITH \(([^)]*)\)", sql
    )
    model = re.search(r"DECLARE @model varbinary\(max\) = \(\s*SELECT model FROM ([\w.]+)", sql)
    if not (call and model):
        raise ValueError(
            "no PREDICT(MODEL = @model, DATA = ... AS d, RUNTIME = ONNX) WITH (...) in the script"
        )
    with_columns = [tuple(part.split()) for part in call.group(2).split(",")]
    return PredictCall(model.group(1), call.group(1), with_columns)
