"""Part 2 end to end with models of the sizes AutoML picks: ~50 KB, ~1.5 MB (an ensemble), >= 5 MB.

Each stand-in, trained once on the lab's rows, goes through notebook 03 on local
Spark (scoring with onnxruntime, loading dbo.weather_forecast through the faked
connector, writing the model rows), then through the "Predict rentals" script in
the SQL pool double (COPY INTO of the rows under the 1,000,000-byte limit, the
parts joined in T-SQL, PREDICT), which must give Spark's predictions.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import missing_tool
from tests.fakes.notebook_runner import NOTEBOOKS_DIR, java_home, make_spark, run_notebook
from tests.notebooks import onnx_stand_in as stand_in
from tests.notebooks.lab_data import (
    FEATURES,
    LAB_FORECAST_CSV,
    LAB_TRAINING_CSV,
    read_lab_rows,
    write_forecast_csv,
    write_training_csv,
)
from tests.notebooks.part2 import predict_rentals_script, run_predict_rentals
from tests.notebooks.predict_double import create_table_columns
from tests.notebooks.sql_pool_double import CopyError

PREDICT = NOTEBOOKS_DIR / "03-predict.ipynb"
SINGLE_ROW_SCRIPT = Path(__file__).parent / "fixtures" / "predict_rentals_single_row.sql"
# (smallest, largest) ONNX size of each stand-in, and the rows it makes for the pool.
EXPECTED = {
    "small": ((40_000, 60_000), 1),
    "ensemble": ((1_400_000, 1_600_000), 4),
    "large": ((5_000_000, 6_000_000), 12),
}
STUDENT = {
    "data_lake_account": "datalakeabc1234",
    "subscription_id": "11111111-2222-3333-4444-555555555555",
    "resource_group": "dp000-abc1234",
    "aml_workspace": "amlabc1234",
    "synapse_workspace": "synapseabc1234",
}

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(training rows, forecast CSV path, forecast rows): the lab's files, or generated ones."""
    if LAB_TRAINING_CSV.exists() and LAB_FORECAST_CSV.exists():
        return read_lab_rows(LAB_TRAINING_CSV), LAB_FORECAST_CSV, read_lab_rows(LAB_FORECAST_CSV)
    folder = tmp_path_factory.mktemp("lab")
    rows = write_training_csv(folder / "training.csv", rows=731, seed=11)
    forecast = folder / "weather-forecast.csv"
    return rows, forecast, write_forecast_csv(forecast, rows)


@pytest.fixture(scope="module")
def models(lab):
    """size -> ONNX bytes, each stand-in trained once (seeded) for the module."""
    built: dict[str, bytes] = {}

    def get(size: str) -> bytes:
        if size not in built:
            pipeline = stand_in.fit_pipeline(lab[0], stand_in.regressor(size))
            built[size] = stand_in.export_onnx(pipeline)
        return built[size]

    return get


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    pytest.importorskip("pyspark")
    if not (java_home() or shutil.which("java")):
        missing_tool("no Java for local Spark (install openjdk-17-jre-headless)")
    session = make_spark(tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()


def weather_columns() -> dict[str, str]:
    from providers.synapse.artifacts import render_sql_template

    weather_sql = render_sql_template(
        "weather_forecast.sql",
        {"data_lake_account_name": "datalakeabc1234", "data_lake_filesystem": "files"},
    )
    return create_table_columns(weather_sql, "dbo.weather_forecast")


@pytest.mark.parametrize("size", list(EXPECTED))
def test_a_model_of_this_size_goes_from_notebook_03_to_predict(
    size, spark, models, lab, tmp_path, sql_pool_writes, capsys
):
    model = models(size)
    (low, high), row_count = EXPECTED[size]
    assert low <= len(model) <= high

    model_csv = tmp_path / "models" / "rental-prediction-model.csv"
    run = run_notebook(
        PREDICT,
        spark,
        {
            **STUDENT,
            "forecast_data_path": str(lab[1]),
            "sql_pool": "sqlabc1234",
            "sql_model_path": str(model_csv),
        },
        skip_tags={"azure"},
        extra_globals={"model_bytes": model, "model_version": "12"},
    )
    out = capsys.readouterr().out
    assert f"Model: {len(model):,} bytes ({row_count} rows for the SQL pool)" in out
    assert f"in {row_count} rows: run the SQL script 'Predict rentals' on sqlabc1234" in out

    # The rows notebook 03 wrote: each under 1,000,000 bytes with its line end.
    data = model_csv.read_bytes()
    lines = data.split(b"\n")
    assert lines.pop() == b""
    assert len(lines) == row_count
    assert max(len(line) + 1 for line in lines) < 1_000_000
    if size == "large":
        assert len(lines) >= 10

    # Spark's predictions (onnxruntime in the executors) ...
    in_spark = sorted(
        (tuple(r[c] for c in FEATURES), r["predicted_rentals"])
        for r in spark.table("rental_predictions").collect()
    )
    by_onnxruntime = stand_in.score(model, lab[2])
    assert [p for _, p in in_spark] == pytest.approx(
        [p for _, p in sorted(zip([tuple(r[:10]) for r in lab[2]], by_onnxruntime, strict=True))],
        rel=1e-6,
    )
    assert len({round(p) for _, p in in_spark}) > 5  # a real model: the days differ

    # ... are PREDICT's after COPY INTO, the T-SQL reassembly and PREDICT in the pool double.
    ((table, weather),) = sql_pool_writes.writes
    assert table == "sqlabc1234.dbo.weather_forecast"
    pool, (loaded, predicted) = run_predict_rentals(
        data, weather_columns(), [tuple(r) for r in weather.collect()]
    )
    assert pool.copies == [("dbo.rental_prediction_model_parts", row_count)]
    assert pool.table("dbo.rental_prediction_model").rows == [
        (12, "rental-prediction-model version 12", model)
    ]
    assert loaded.rows == [(12, "rental-prediction-model version 12", len(model))]
    in_pool = sorted((row[:10], row[10]) for row in predicted.rows)
    assert len(in_pool) == 10
    assert [p for _, p in in_pool] == pytest.approx([p for _, p in in_spark], rel=1e-6)
    assert np.isfinite([p for _, p in in_pool]).all()
    assert run["model_summary_info"]["sql_pool_rows"] == row_count


def test_the_single_row_script_fails_with_the_ensemble_sized_model(models):
    """The script before parts: one CSV row of the 1.5 MB model's hex is ~3 MB, past COPY's limit."""
    model = models("ensemble")
    one_row = f"12,rental-prediction-model version 12,{model.hex()}\n".encode()
    old_script = predict_rentals_script(SINGLE_ROW_SCRIPT.read_text())
    with pytest.raises(CopyError) as raised:
        run_predict_rentals(one_row, weather_columns(), [], script=old_script)
    assert f"is {len(one_row)} bytes. It exceeds the maximum allowed row size of 1000000 bytes" in (
        str(raised.value)
    )
    print(f"single-row script, {len(model):,}-byte model: {raised.value}")
