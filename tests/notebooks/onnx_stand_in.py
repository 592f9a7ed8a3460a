"""A stand-in for AutoML's ONNX regression model, built offline.

Same shape as the `outputs/model.onnx` of an AutoML trial with ONNX compatibility
on: one named input per training column, shape [None, 1] (int64 for the six
integer columns, float for the four real ones) and one output `variable_out1`.
Behind it: a scikit-learn pipeline (one-hot categories, scaled weather, gradient
boosting) trained on the lab's training rows and exported with skl2onnx.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tests.notebooks.lab_data import DOUBLE_COLUMNS, FEATURES, INTEGER_COLUMNS

OUTPUT = "variable_out1"
CATEGORICAL = ["season", "mnth", "weekday", "weathersit"]
FLAGS = ["holiday", "workingday"]


def feature_frame(rows: Sequence[tuple]):
    """The features of rows (lab column order) as the model's input types: int64 and float32."""
    import pandas as pd

    frame = pd.DataFrame([tuple(r[:10]) for r in rows], columns=FEATURES)
    return frame.astype(
        {**{c: "int64" for c in INTEGER_COLUMNS}, **{c: "float32" for c in DOUBLE_COLUMNS}}
    )


# Stand-ins of the sizes AutoML's best model takes (measured on the lab's 731 rows, and
# within a few per cent on generated rows of the same shape): a single boosted model,
# an ensemble like AutoML's VotingEnsemble, and a random forest of deep trees.
SIZES = ("small", "ensemble", "large")


def regressor(size: str):
    """The model behind a stand-in of `size`: ~50 KB, ~1.5 MB or ~5.3 MB of ONNX."""
    from sklearn.ensemble import (
        GradientBoostingRegressor,
        RandomForestRegressor,
        VotingRegressor,
    )

    if size == "small":
        return GradientBoostingRegressor(n_estimators=90, max_depth=3, random_state=0)
    if size == "ensemble":
        return VotingRegressor(
            [
                (
                    "boosted",
                    GradientBoostingRegressor(n_estimators=100, max_depth=5, random_state=0),
                ),
                ("forest", RandomForestRegressor(n_estimators=37, random_state=0, n_jobs=1)),
            ]
        )
    if size == "large":
        return RandomForestRegressor(n_estimators=150, random_state=0, n_jobs=1)
    raise ValueError(f"size is one of {SIZES}, not {size!r}")


def fit_pipeline(rows: Sequence[tuple], model=None):
    """A scikit-learn regressor of rentals (the last value of each row) on the 10 features.

    `model` is the final regressor (a small gradient boosting by default).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prepare = ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("weather", StandardScaler(), DOUBLE_COLUMNS),
            ("flags", "passthrough", FLAGS),
        ]
    )
    pipeline = Pipeline(
        [
            ("prepare", prepare),
            (
                "regress",
                model
                if model is not None
                else GradientBoostingRegressor(n_estimators=60, max_depth=3, random_state=0),
            ),
        ]
    )
    return pipeline.fit(feature_frame(rows), np.array([r[-1] for r in rows], dtype="float64"))


def export_onnx(pipeline) -> bytes:
    """The pipeline as ONNX with AutoML's interface: one input per column, output variable_out1."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType

    inputs = [(c, Int64TensorType([None, 1])) for c in INTEGER_COLUMNS]
    inputs += [(c, FloatTensorType([None, 1])) for c in DOUBLE_COLUMNS]
    model = convert_sklearn(
        pipeline,
        initial_types=inputs,
        final_types=[(OUTPUT, FloatTensorType([None, 1]))],
        target_opset=17,
    )
    return model.SerializeToString()


def rename_input(model_bytes: bytes, old: str, new: str) -> bytes:
    """The same model with one input renamed (a model that no longer fits the table)."""
    import onnx

    model = onnx.load_model_from_string(model_bytes)
    for value in model.graph.input:
        if value.name == old:
            value.name = new
    for node in model.graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
    onnx.checker.check_model(model)
    return model.SerializeToString()


def score(model_bytes: bytes, rows: Sequence[tuple]) -> list[float]:
    """onnxruntime's predictions for rows, fed the way AutoML's model takes them."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    frame = feature_frame(rows)
    feed = {c: frame[c].to_numpy().reshape(-1, 1) for c in FEATURES}
    return [float(v) for v in session.run([OUTPUT], feed)[0].reshape(-1)]


def retype_input(model_bytes: bytes, name: str, onnx_type: str) -> bytes:
    """The same model taking input `name` as another type (cast inside to what it was)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_model_from_string(model_bytes)
    (value,) = [v for v in model.graph.input if v.name == name]
    original = value.type.tensor_type.elem_type
    inner = f"{name}_as_before"
    for node in model.graph.node:
        node.input[:] = [inner if i == name else i for i in node.input]
    value.type.tensor_type.elem_type = getattr(TensorProto, onnx_type.upper())
    model.graph.node.insert(0, helper.make_node("Cast", [name], [inner], to=original))
    onnx.checker.check_model(model)
    return model.SerializeToString()


def with_text_input(model_bytes: bytes, name: str = "note", shape=(1, 1)) -> bytes:
    """The same model with one more input, a string tensor of fixed `shape` (how AutoML exports a text column)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_model_from_string(model_bytes)
    model.graph.input.append(helper.make_tensor_value_info(name, TensorProto.STRING, list(shape)))
    onnx.checker.check_model(model)
    return model.SerializeToString()


def with_opset_import(model_bytes: bytes, domain: str, version: int) -> bytes:
    """The same model declaring one more operator domain (as AutoML's com.microsoft ones)."""
    import onnx
    from onnx import helper

    model = onnx.load_model_from_string(model_bytes)
    model.opset_import.append(helper.make_opsetid(domain, version))
    return model.SerializeToString()
