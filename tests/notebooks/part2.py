"""Lab part 2 in the SQL pool double: the "Predict rentals" script as uploaded, on what notebook 03 wrote."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from providers.synapse import SQL_MODEL_LAKE_PATH, predict_rentals_sql_script
from providers.synapse.artifacts import render_sql_template
from tests.notebooks.sql_pool_double import ResultSet, SqlPool

DATA_LAKE_ACCOUNT = "datalakeabc1234"
# Where the script's COPY INTO reads the model rows notebook 03 writes.
MODEL_URL = f"https://{DATA_LAKE_ACCOUNT}.dfs.core.windows.net/files/{SQL_MODEL_LAKE_PATH}"


def predict_rentals_script(template_text: str | None = None) -> str:
    """The script as uploaded for one student (or another template filled with the same values)."""
    spec = predict_rentals_sql_script("sqlabc1234", DATA_LAKE_ACCOUNT)
    values = dict(spec.values)
    if template_text is None:
        return render_sql_template(spec.template, values)
    for name, value in values.items():
        template_text = template_text.replace("{{" + name + "}}", str(value))
    return template_text


def run_predict_rentals(
    model_csv: bytes,
    weather_columns: Mapping[str, str],
    weather_rows: Sequence[Sequence],
    script: str | None = None,
) -> tuple[SqlPool, list[ResultSet]]:
    """A pool holding dbo.weather_forecast as the Spark connector loaded it, and the model file in
    the lake; the script run on it. Returns the pool and the script's result sets."""
    pool = SqlPool({MODEL_URL: model_csv})
    pool.add_table("dbo.weather_forecast", weather_columns, weather_rows)
    results = pool.run_script(script or predict_rentals_script())
    return pool, results
