"""The ONNX path of the lab's part 2, offline: a stand-in with AutoML's shape, T-SQL PREDICT's rules.

- the stand-in scores the 10 forecast days in onnxruntime as scikit-learn does
  (within float32 precision: ONNX computes in float32);
- the "Predict rentals" script's model table, PREDICT call and WITH clause run
  through a test double of PREDICT against the table "Load weather forecast" creates;
- a model whose input has no column of its name is refused, and notebook 03's own
  check (run before anything is loaded) names that input.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.notebook_params import read_parameters
from providers.synapse import (
    SQL_MODEL_LAKE_PATH,
    predict_rentals_sql_script,
    weather_forecast_sql_script,
)
from providers.synapse.artifacts import render_sql_template
from tests.fakes.notebook_runner import NOTEBOOKS_DIR, load_notebook, translate_cell
from tests.notebooks import onnx_stand_in as stand_in
from tests.notebooks.lab_data import (
    DOUBLE_COLUMNS,
    FEATURES,
    INTEGER_COLUMNS,
    LAB_FORECAST_CSV,
    LAB_TRAINING_CSV,
    read_lab_rows,
    write_training_csv,
)
from tests.notebooks.predict_double import (
    TENSOR_OF_COLUMN,
    PredictError,
    SqlTable,
    create_table_columns,
    predict,
    predict_call,
)

PREDICT_NOTEBOOK = NOTEBOOKS_DIR / "03-predict.ipynb"
VALUES = {"data_lake_account_name": "datalakeabc1234", "data_lake_filesystem": "files"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(training rows, the 10 forecast rows): the lab's files, or generated ones when ../shared is absent."""
    if LAB_TRAINING_CSV.exists() and LAB_FORECAST_CSV.exists():
        return read_lab_rows(LAB_TRAINING_CSV), read_lab_rows(LAB_FORECAST_CSV)
    rows = write_training_csv(tmp_path_factory.mktemp("lab") / "training.csv", rows=731, seed=11)
    return rows, [r[:10] for r in rows[-10:]]


@pytest.fixture(scope="module")
def model(lab):
    """(ONNX bytes, the scikit-learn pipeline they were exported from)."""
    pipeline = stand_in.fit_pipeline(lab[0])
    return stand_in.export_onnx(pipeline), pipeline


@pytest.fixture(scope="module")
def scripts():
    weather = weather_forecast_sql_script("sqlabc1234", **VALUES)
    predict_rentals = predict_rentals_sql_script("sqlabc1234", **VALUES)
    return tuple(
        render_sql_template(spec.template, dict(spec.values)) for spec in (weather, predict_rentals)
    )


def weather_forecast_table(weather_sql: str, rows) -> SqlTable:
    columns = create_table_columns(weather_sql, "dbo.weather_forecast")
    return SqlTable("dbo.weather_forecast", columns, [tuple(r[:10]) for r in rows])


def notebook_functions() -> dict:
    """Notebook 03's functions cell, run on its own (no Spark session needed)."""
    nb = load_notebook(PREDICT_NOTEBOOK)
    (cell,) = [c for c in nb["cells"] if c.get("id") == "functions"]
    namespace: dict = {"__name__": "__main__"}
    exec(compile(translate_cell(cell)[1], "03-predict:functions", "exec"), namespace)
    return namespace


# ---------------------------------------------------------------------------
# The stand-in
# ---------------------------------------------------------------------------
def test_stand_in_has_automl_onnx_shape(model):
    import onnxruntime

    session = onnxruntime.InferenceSession(model[0], providers=["CPUExecutionProvider"])
    assert [(i.name, i.type, i.shape) for i in session.get_inputs()] == (
        [(c, "tensor(int64)", [None, 1]) for c in INTEGER_COLUMNS]
        + [(c, "tensor(float)", [None, 1]) for c in DOUBLE_COLUMNS]
    )
    assert [(o.name, o.type) for o in session.get_outputs()] == [("variable_out1", "tensor(float)")]
    assert 5_000 < len(model[0]) < 500_000  # tens of kilobytes: one varbinary(max) value


def test_onnx_scores_the_forecast_like_scikit_learn(model, lab):
    model_bytes, pipeline = model
    forecast = lab[1]
    assert len(forecast) == 10
    onnx_predictions = stand_in.score(model_bytes, forecast)
    sklearn_predictions = pipeline.predict(stand_in.feature_frame(forecast))
    # float32 in ONNX: absolute differences of ~1e-4 on rentals in the hundreds.
    assert onnx_predictions == pytest.approx(list(sklearn_predictions), rel=1e-4, abs=1e-3)
    assert len({round(p) for p in onnx_predictions}) > 5  # a real model: the days differ


# ---------------------------------------------------------------------------
# The "Predict rentals" script through the PREDICT double
# ---------------------------------------------------------------------------
def test_predict_rentals_script_declares_the_model_table_and_the_procedure(scripts):
    weather_sql, predict_sql = scripts
    assert create_table_columns(predict_sql, "dbo.rental_prediction_model") == {
        "id": "int",
        "description": "varchar(200)",
        "model": "varbinary(max)",
    }
    # The model arrives in parts (model_id,part_no,part_count,description,hex_part) in a HEAP
    # staging table: columns of a max type load into HEAP tables only.
    assert create_table_columns(predict_sql, "dbo.rental_prediction_model_parts") == {
        "model_id": "int",
        "part_no": "int",
        "part_count": "int",
        "description": "varchar(200)",
        "hex_part": "varbinary(max)",
    }
    assert predict_sql.count("DISTRIBUTION = ROUND_ROBIN,\n    HEAP\n") == 2
    assert (
        "COPY INTO dbo.rental_prediction_model_parts "
        "(model_id 1, part_no 2, part_count 3, description 4, hex_part 5)\n"
        f"FROM 'https://datalakeabc1234.dfs.core.windows.net/files/{SQL_MODEL_LAKE_PATH}'"
    ) in predict_sql
    # Rows end with \n alone; COPY would read '\n' as \r\n.
    assert "ROWTERMINATOR = '0x0A'" in predict_sql
    assert "CREDENTIAL = (IDENTITY = 'Managed Identity')" in predict_sql
    # Rebuilt with a loop over the parts, every part checked.
    assert "WHILE @part_no <= @part_count" in predict_sql
    assert "SET @model = @model + @part;" in predict_sql
    assert "IF @rows <> @part_count" in predict_sql
    assert "STRING_AGG(" not in predict_sql and "CURSOR FOR" not in predict_sql
    # CREATE PROCEDURE must start its batch; the script then runs it.
    assert "GO\n\nCREATE PROCEDURE dbo.predict_rentals\nAS\nBEGIN" in predict_sql
    assert predict_sql.rstrip().endswith("EXEC dbo.predict_rentals;")
    assert (
        predict_sql.index("CREATE TABLE dbo.rental_prediction_model_parts")
        < predict_sql.index("COPY INTO")
        < predict_sql.index("CREATE TABLE dbo.rental_prediction_model\n")
        < predict_sql.index("INSERT INTO dbo.rental_prediction_model ")
        < predict_sql.index("CREATE PROCEDURE")
        < predict_sql.index("EXEC dbo.predict_rentals")
    )
    # Resume before, pause after: said in the script, for this student's pool.
    assert "Resume the pool: Manage > SQL pools > sqlabc1234 > Resume" in predict_sql
    assert "pause the pool (Manage > SQL pools > sqlabc1234 > Pause)" in predict_sql
    # It scores the table the other script creates.
    assert "CREATE TABLE dbo.weather_forecast" in weather_sql
    assert "CREATE TABLE dbo.weather_forecast" not in predict_sql
    call = predict_call(predict_sql)
    assert (call.model_table, call.data_table, call.with_columns) == (
        "dbo.rental_prediction_model",
        "dbo.weather_forecast",
        [("variable_out1", "real")],
    )


def test_predict_rentals_contract_scores_the_forecast(model, lab, scripts):
    weather_sql, predict_sql = scripts
    call = predict_call(predict_sql)
    data = weather_forecast_table(weather_sql, lab[1])
    assert data.columns == {
        **{c: "bigint" for c in INTEGER_COLUMNS},
        **{c: "real" for c in DOUBLE_COLUMNS},
    }

    scored = predict(model[0], data, call.with_columns)

    assert [row[:10] for row in scored] == [tuple(r[:10]) for r in lab[1]]
    want = model[1].predict(stand_in.feature_frame(lab[1]))
    assert [row[10] for row in scored] == pytest.approx(list(want), rel=1e-4, abs=1e-3)


def test_a_model_input_without_its_column_is_refused_by_predict_and_by_the_notebook(
    model, lab, scripts
):
    weather_sql, predict_sql = scripts
    renamed = stand_in.rename_input(model[0], "hum", "humidity")
    data = weather_forecast_table(weather_sql, lab[1])
    with pytest.raises(
        PredictError, match="model input 'humidity' matches no column of dbo.weather_forecast"
    ):
        predict(renamed, data, predict_call(predict_sql).with_columns)

    # Notebook 03 checks before it loads anything, with a message that names the input.
    ns = notebook_functions()
    inputs, _ = ns["onnx_model_io"](renamed)
    with pytest.raises(ValueError) as raised:
        ns["check_model_inputs"](inputs, data.columns, "dbo.weather_forecast")
    assert str(raised.value) == (
        "model input 'humidity' (float) has no column in dbo.weather_forecast (columns: "
        + ", ".join(FEATURES)
        + ")"
    )
    # The stand-in itself passes both.
    ns["check_model_inputs"](ns["onnx_model_io"](model[0])[0], data.columns, "dbo.weather_forecast")


def test_a_column_of_another_type_is_refused_by_predict_and_by_the_notebook(model, lab, scripts):
    data = weather_forecast_table(scripts[0], lab[1])
    int_season = SqlTable(data.name, {**data.columns, "season": "int"}, data.rows)
    with pytest.raises(
        PredictError, match=r"column 'season' \(int\) does not fit model input 'season'"
    ):
        predict(model[0], int_season, [("variable_out1", "real")])
    ns = notebook_functions()
    with pytest.raises(
        ValueError,
        match="column 'season' of dbo.weather_forecast is int, "
        "model input 'season' is int64: PREDICT needs bigint",
    ):
        ns["check_model_inputs"](
            ns["onnx_model_io"](model[0])[0], int_season.columns, "dbo.weather_forecast"
        )


def test_predict_double_enforces_the_documented_rules(model, lab, scripts):
    data = weather_forecast_table(scripts[0], lab[1])
    decimal_temp = SqlTable(data.name, {**data.columns, "temp": "decimal(9,6)"}, data.rows)
    with pytest.raises(
        PredictError, match="column 'temp' of dbo.weather_forecast has type decimal"
    ):
        predict(model[0], decimal_temp, [("variable_out1", "real")])
    with pytest.raises(PredictError, match="WITH column 'Score' is not an output of the model"):
        predict(model[0], data, [("Score", "float")])
    with pytest.raises(PredictError, match="not a valid ONNX model"):
        predict(b"not a model", data, [("variable_out1", "real")])
    # Column names compare case-insensitively (the lab database's collation is CI).
    upper = SqlTable(data.name, {c.upper(): t for c, t in data.columns.items()}, data.rows)
    assert predict(model[0], upper, [("variable_out1", "real")]) == predict(
        model[0], data, [("variable_out1", "real")]
    )


def test_notebook_and_double_agree_on_predict_types():
    allowed = notebook_functions()["PREDICT_COLUMN_TYPES"]
    for sql_type, tensor in TENSOR_OF_COLUMN.items():
        onnx_type = {
            "tensor(int32)": "int32",
            "tensor(int64)": "int64",
            "tensor(float)": "float",
            "tensor(double)": "double",
            "tensor(string)": "string",
        }[tensor]
        assert sql_type in allowed[onnx_type]
    assert set().union(*allowed.values()) == set(TENSOR_OF_COLUMN)


def test_notebook_writes_the_model_where_the_script_loads_it():
    nb = load_notebook(PREDICT_NOTEBOOK)
    (cell,) = [c for c in nb["cells"] if c.get("id") == "sql-pool"]
    assert f'"/{SQL_MODEL_LAKE_PATH}"' in "".join(cell["source"])
    assert read_parameters(nb)["sql_model_path"] == ""


# ---------------------------------------------------------------------------
# Notebook 03's model check: what it prints, when it stops
# ---------------------------------------------------------------------------
def test_check_model_prints_size_opset_and_other_operator_domains(model, capsys):
    import onnx

    ns = notebook_functions()
    summary = ns["check_model"](model[0])
    declared = {o.domain: o.version for o in onnx.load_model_from_string(model[0]).opset_import}
    assert set(declared) == {"", "ai.onnx.ml"} and 13 <= declared[""] <= 17
    assert summary == {
        "bytes": len(model[0]),
        "sql_pool_rows": 1,
        "opset": declared[""],
        "other_domains": {"ai.onnx.ml": declared["ai.onnx.ml"]},
    }
    assert capsys.readouterr().out == (
        f"Model: {len(model[0]):,} bytes (1 rows for the SQL pool), ONNX opset {declared['']}, "
        f"other operator domains: ai.onnx.ml (opset {declared['ai.onnx.ml']})\n"
    )
    # AutoML's com.microsoft operators: said, not refused (only PREDICT on Azure can tell).
    contrib = stand_in.with_opset_import(model[0], "com.microsoft", 1)
    assert ns["check_model"](contrib)["other_domains"]["com.microsoft"] == 1
    assert "com.microsoft operators are onnxruntime's own" in capsys.readouterr().out


def test_check_model_stops_a_string_input_of_fixed_batch_shape(model):
    ns = notebook_functions()
    text_input = stand_in.with_text_input(model[0], "weather_note", (1, 1))
    with pytest.raises(ValueError) as raised:
        ns["check_model"](text_input)
    assert str(raised.value) == (
        "This model cannot be used here: input 'weather_note' is a string of fixed shape [1, 1]: "
        "the model takes one row at a time, and PREDICT and the Spark scoring pass many (AutoML "
        "exports text columns so; train without text columns)"
    )
    # A string input of free batch size is fine for the check (PREDICT takes varchar columns).
    assert ns["model_problems"](stand_in.with_text_input(model[0], "note", (None, 1))) == []


def test_check_model_stops_a_model_larger_than_varbinary_max(model):
    ns = notebook_functions()
    assert ns["MAX_MODEL_BYTES"] == 2**31 - 1
    with pytest.raises(ValueError, match="more than the 1,000 bytes of a varbinary\\(max\\) value"):
        ns["check_model"](model[0], max_bytes=1_000)
    assert ns["model_problems"](model[0], max_bytes=len(model[0])) == []


def test_notebook_carries_the_model_rows_encoder_of_the_tests():
    from notebooks import model_rows

    ns = notebook_functions()
    source = "".join(
        "".join(c["source"])
        for c in load_notebook(PREDICT_NOTEBOOK)["cells"]
        if c.get("id") == "functions"
    )
    body = Path(model_rows.__file__).read_text().split("from __future__ import annotations\n")[1]
    assert body.strip() in source
    sample = bytes(range(256)) * 4000
    assert ns["encode_model_rows"](sample, 5, "m version 5") == model_rows.encode_model_rows(
        sample, 5, "m version 5"
    )
