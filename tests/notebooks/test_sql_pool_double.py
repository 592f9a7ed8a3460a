"""The "Predict rentals" script run by the SQL pool double: loading the model in parts, and the double's rules.

PREDICT itself needs a real ONNX model: the stand-ins of several sizes go through
the whole path in test_model_sizes.py. Here the model is random bytes, checked
after its reassembly in dbo.rental_prediction_model.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from notebooks.model_rows import encode_model_rows
from providers.synapse import SQL_MODEL_LAKE_PATH, predict_rentals_sql_script
from providers.synapse.artifacts import render_sql_template
from tests.notebooks.sql_pool_double import CopyError, SqlPool, SqlPoolError

MODEL_URL = f"https://datalakeabc1234.dfs.core.windows.net/files/{SQL_MODEL_LAKE_PATH}"
SINGLE_ROW_SCRIPT = Path(__file__).parent / "fixtures" / "predict_rentals_single_row.sql"


def rendered(template_text: str | None = None) -> str:
    spec = predict_rentals_sql_script("sqlabc1234", "datalakeabc1234")
    if template_text is None:
        return render_sql_template(spec.template, dict(spec.values))
    values = dict(spec.values)
    for name, value in values.items():
        template_text = template_text.replace("{{" + name + "}}", str(value))
    return template_text


def load_batch(sql: str) -> str:
    """The script's first batch: the model load, before the procedure (which needs PREDICT)."""
    return sql.split("\nGO\n")[0]


def model_table(pool: SqlPool) -> list[tuple]:
    return pool.table("dbo.rental_prediction_model").rows


@pytest.mark.parametrize("size", [40_000, 1_500_000, 5_200_000], ids=["40KB", "1.5MB", "5.2MB"])
def test_the_script_rebuilds_a_model_of_any_size_from_its_rows(size):
    model = random.Random(size).randbytes(size)
    pool = SqlPool(
        {MODEL_URL: encode_model_rows(model, 4, "rental-prediction-model version 4").encode()}
    )

    results = pool.run_script(load_batch(rendered()))

    ((table, rows),) = pool.copies
    assert table == "dbo.rental_prediction_model_parts"
    assert rows == -(-2 * size // 900_000)
    assert model_table(pool) == [(4, "rental-prediction-model version 4", model)]
    (summary,) = results
    assert summary.columns == ["id", "description", "model_bytes"]
    assert summary.rows == [(4, "rental-prediction-model version 4", size)]


def test_the_script_rebuilds_the_parts_in_part_order_whatever_the_file_order():
    model = random.Random(3).randbytes(2_000_000)
    rows = encode_model_rows(model, 9, "m version 9").splitlines(keepends=True)
    random.Random(4).shuffle(rows)
    pool = SqlPool({MODEL_URL: "".join(rows).encode()})
    pool.run_script(load_batch(rendered()))
    assert model_table(pool) == [(9, "m version 9", model)]


def test_a_missing_part_stops_the_script_with_its_number():
    model = random.Random(5).randbytes(2_000_000)  # 5 parts
    rows = encode_model_rows(model, 2, "m version 2").splitlines(keepends=True)
    assert len(rows) == 5
    # A file that lost part 3 but still has five rows: part 4 twice.
    damaged = rows[:2] + rows[3:4] + rows[3:]
    pool = SqlPool({MODEL_URL: "".join(damaged).encode()})
    with pytest.raises(SqlPoolError) as raised:
        pool.run_script(load_batch(rendered()))
    assert raised.value.number == 50003
    assert raised.value.message == (
        f"Part 3 of 5 of model 2 is missing from {SQL_MODEL_LAKE_PATH}: "
        "run the notebook 03-predict again."
    )
    assert model_table(pool) == []

    # Four of five rows: the count says so before the loop.
    pool = SqlPool({MODEL_URL: "".join(rows[:4]).encode()})
    with pytest.raises(SqlPoolError) as raised:
        pool.run_script(load_batch(rendered()))
    assert (raised.value.number, raised.value.message) == (
        50002,
        f"{SQL_MODEL_LAKE_PATH} holds 4 rows for the 5 parts of model 2: "
        "run the notebook 03-predict again.",
    )


def test_an_empty_model_file_stops_the_script():
    pool = SqlPool({MODEL_URL: b""})
    with pytest.raises(SqlPoolError) as raised:
        pool.run_script(load_batch(rendered()))
    assert raised.value.number == 50001
    assert "holds no model: run the notebook 03-predict first" in raised.value.message


def test_the_single_row_script_fails_to_load_a_model_over_500_kb():
    """What the lab shipped before: the model as one hex row, which COPY cannot load past 1,000,000 bytes."""
    old_script = rendered(SINGLE_ROW_SCRIPT.read_text())
    model = random.Random(6).randbytes(600_000)
    one_row = f"4,rental-prediction-model version 4,{model.hex()}\n".encode()
    pool = SqlPool({MODEL_URL: one_row})
    with pytest.raises(CopyError, match="exceeds the maximum allowed row size of 1000000 bytes"):
        pool.run_script(old_script)
    assert model_table(pool) == []


# ---------------------------------------------------------------------------
# The double's own rules
# ---------------------------------------------------------------------------
PARTS_TABLE = """
CREATE TABLE dbo.t (id int NOT NULL, note varchar(5), data varbinary(max)) WITH (HEAP);
"""


def copy(options: str = "ROWTERMINATOR = '0x0A'") -> str:
    return f"COPY INTO dbo.t (id 1, note 2, data 3) FROM 'https://lake/f.csv' WITH (FILE_TYPE = 'CSV', {options});"


def test_copy_refuses_a_row_of_1_000_000_bytes_with_its_line_end():
    just_under = b"1,a," + b"AB" * ((1_000_000 - 6) // 2) + b"\n"
    assert len(just_under) == 999_999
    pool = SqlPool({"https://lake/f.csv": just_under})
    pool.run_script(PARTS_TABLE + copy())
    assert [len(r[2]) for r in pool.table("dbo.t").rows] == [(1_000_000 - 6) // 2]

    at_limit = b"1,ab," + b"AB" * ((1_000_000 - 6) // 2) + b"\n"
    assert len(at_limit) == 1_000_000
    pool = SqlPool({"https://lake/f.csv": at_limit})
    with pytest.raises(CopyError, match="row at ordinal 1 is 1000000 bytes"):
        pool.run_script(PARTS_TABLE + copy())


def test_copy_loads_max_columns_into_heap_tables_only():
    pool = SqlPool({"https://lake/f.csv": b"1,a,00FF\n"})
    with pytest.raises(CopyError, match="CLUSTERED COLUMNSTORE INDEX table: columns of a max type"):
        pool.run_script(
            "CREATE TABLE dbo.t (id int NOT NULL, note varchar(5), data varbinary(max));" + copy()
        )
    pool = SqlPool({"https://lake/f.csv": b"1,a,00FF\n"})
    pool.run_script(PARTS_TABLE + copy())
    assert pool.table("dbo.t").rows == [(1, "a", b"\x00\xff")]


@pytest.mark.parametrize(
    "field, problem",
    [("0x00FF", "without 0x"), ("0F0", "even length"), ("GG", "hexadecimal")],
)
def test_copy_takes_varbinary_from_plain_hex_only(field, problem):
    pool = SqlPool({"https://lake/f.csv": f"1,a,{field}\n".encode()})
    with pytest.raises(CopyError, match=f"column 'data' \\(varbinary\\(max\\)\\): .*{problem}"):
        pool.run_script(PARTS_TABLE + copy())


def test_copy_reads_backslash_n_as_crlf_as_documented():
    lf_file = b"1,a,00\n2,b,01\n"
    pool = SqlPool({"https://lake/f.csv": lf_file})
    # The default, and '\n', end rows at \r\n: the whole file is one row whose last field is not hex.
    for options in ("FIELDQUOTE = '\"'", "ROWTERMINATOR = '\\n'"):
        with pytest.raises(CopyError, match="column 'data'"):
            pool.run_script(PARTS_TABLE + copy(options))
        pool.run_script("DROP TABLE dbo.t;")
    pool.run_script(PARTS_TABLE + copy("ROWTERMINATOR = '0x0A'"))
    assert pool.table("dbo.t").rows == [(1, "a", b"\x00"), (2, "b", b"\x01")]
    crlf = SqlPool({"https://lake/f.csv": b"1,a,00\r\n2,b,01\r\n"})
    crlf.run_script(PARTS_TABLE + copy("FIELDQUOTE = '\"'"))
    assert len(crlf.table("dbo.t").rows) == 2


def test_copy_refuses_a_too_long_varchar_and_a_missing_not_null_value():
    pool = SqlPool({"https://lake/f.csv": b"1,abcdef,00\n"})
    with pytest.raises(CopyError, match=r"column 'note' \(varchar\(5\)\): 6 long"):
        pool.run_script(PARTS_TABLE + copy())
    pool = SqlPool({"https://lake/f.csv": b",abc,00\n"})
    with pytest.raises(SqlPoolError, match="Cannot insert the value NULL into column 'id'"):
        pool.run_script(PARTS_TABLE + copy())


def test_t_sql_semantics_the_script_relies_on():
    pool = SqlPool()
    # NULL + varbinary is NULL: a model started at NULL instead of 0x would stay NULL.
    (result,) = pool.run_script(
        "DECLARE @m varbinary(max); DECLARE @p varbinary(max) = 0x01;"
        "SET @m = @m + @p; SELECT DATALENGTH(@m) AS a, DATALENGTH(0x + @p) AS b;"
    )
    assert result.rows == [(None, 1)]
    # Variables end with their batch.
    with pytest.raises(SqlPoolError, match='Must declare the scalar variable "@x"'):
        pool.run_script("DECLARE @x int = 1;\nGO\nSET @x = 2;")
    # A scalar subquery of two rows fails.
    pool.run_script("CREATE TABLE dbo.u (a int) WITH (HEAP); INSERT INTO dbo.u (a) VALUES (1);")
    pool.run_script("INSERT INTO dbo.u (a) VALUES (1);")
    with pytest.raises(SqlPoolError) as raised:
        pool.run_script("DECLARE @y int = (SELECT a FROM dbo.u WHERE a = 1);")
    assert raised.value.number == 512
    # CREATE PROCEDURE starts its batch; a WHILE condition of NULL ends the loop.
    with pytest.raises(SqlPoolError) as raised:
        pool.run_script("DECLARE @z int = 1; CREATE PROCEDURE dbo.p AS BEGIN SELECT 1 AS one; END;")
    assert raised.value.number == 111
    (result,) = pool.run_script(
        "DECLARE @n int; DECLARE @i int = 0; WHILE @i < @n BEGIN SET @i = @i + 1; END; SELECT @i AS i;"
    )
    assert result.rows == [(0,)]
    # What a dedicated pool does not have is refused, not skipped.
    with pytest.raises(SqlPoolError, match="Cursors are not supported"):
        pool.run_script("DECLARE c CURSOR FOR SELECT a FROM dbo.u;")
    with pytest.raises(SqlPoolError, match="OPENROWSET is not available"):
        pool.run_script("SELECT * FROM OPENROWSET(BULK 'x', SINGLE_BLOB) AS b;")
    with pytest.raises(SqlPoolError, match="not a statement this double runs"):
        pool.run_script("MERGE dbo.u USING dbo.u AS s ON 1 = 1;")


# ----------------------------------------------------------------------------- Load weather forecast


def _forecast_csv() -> bytes:
    """The lab's weather-forecast.csv as the program uploads it (../shared/data when present,
    else a file of the same shape: a header and 10 rows ending in a bare \\n, as the lab's)."""
    from tests.conftest import SHARED_DATA

    shared = SHARED_DATA / "weather-forecast.csv"
    if shared.is_file():
        return shared.read_bytes()
    header = "season,mnth,holiday,weekday,workingday,weathersit,temp,atemp,hum,windspeed\n"
    rows = "".join(f"1,1,0,{d % 7},1,2,0.3,0.31,0.6,0.2\n" for d in range(10))
    return (header + rows).encode()


def test_load_weather_forecast_reads_the_labs_csv_with_its_line_ends():
    from providers.synapse import weather_forecast_sql_script

    spec = weather_forecast_sql_script("sqlabc1234", "datalakeabc1234")
    sql = render_sql_template(spec.template, dict(spec.values))
    data = _forecast_csv()
    assert b"\r\n" not in data  # the lab's file ends its lines with \n alone
    url = "https://datalakeabc1234.dfs.core.windows.net/files/data/weather-forecast.csv"
    pool = SqlPool({url: data})
    pool.run_script(sql)
    rows = pool.table("dbo.weather_forecast").rows
    assert len(rows) == data.count(b"\n") - 1 == 10
    assert all(len(row) == 10 and row[0] is not None and row[9] is not None for row in rows)
