"""notebooks/model_rows.py: the model as CSV rows each small enough for COPY INTO."""

from __future__ import annotations

import csv
import random

import pytest

from notebooks.model_rows import (
    HEX_CHARS_PER_PART,
    MAX_ROW_BYTES,
    encode_model_rows,
)


def split_rows(text: str) -> list[str]:
    assert text.endswith("\n") and "\r" not in text
    return text[:-1].split("\n")


@pytest.mark.parametrize("size", [3_000_000, 20_000_000], ids=["3MB", "20MB"])
def test_random_models_split_into_rows_under_the_limit_that_join_back(size):
    model = random.Random(size).randbytes(size)
    text = encode_model_rows(model, 7, "rental-prediction-model version 7")

    rows = split_rows(text)
    hex_chars = 2 * size
    assert len(rows) == -(-hex_chars // HEX_CHARS_PER_PART)  # ceil
    for row in rows:
        # The line end counts: it is part of what COPY reads as the row.
        assert len((row + "\n").encode("utf-8")) < MAX_ROW_BYTES
    fields = [row.split(",") for row in rows]
    assert all(len(f) == 5 for f in fields)
    assert [(f[0], f[1], f[2], f[3]) for f in fields] == [
        ("7", str(n), str(len(rows)), "rental-prediction-model version 7")
        for n in range(1, len(rows) + 1)
    ]
    # Parts in part order (shuffled first: the pool keeps no order) give the model back.
    shuffled = fields[:]
    random.Random(1).shuffle(shuffled)
    joined = "".join(f[4] for f in sorted(shuffled, key=lambda f: int(f[1])))
    assert bytes.fromhex(joined) == model
    assert all(f[4] == f[4].upper() and not f[4].startswith("0X") for f in fields)
    # A CSV reader sees exactly these five fields (nothing needs quoting).
    limit = csv.field_size_limit(MAX_ROW_BYTES)
    try:
        assert list(csv.reader(rows[:1])) == [fields[0]]
    finally:
        csv.field_size_limit(limit)


def test_a_small_model_is_one_row():
    assert encode_model_rows(b"\x00\xab\x10", 3, "m version 3") == "3,1,1,m version 3,00AB10\n"
    exactly_one_part = random.Random(0).randbytes(HEX_CHARS_PER_PART // 2)
    assert len(split_rows(encode_model_rows(exactly_one_part, 1, "m"))) == 1
    assert len(split_rows(encode_model_rows(exactly_one_part + b"\x01", 1, "m"))) == 2


@pytest.mark.parametrize(
    "model, model_id, description, message",
    [
        (b"", 1, "m", "non-empty bytes"),
        (b"x", "3", "m", "model_id must be an int"),
        (b"x", True, "m", "model_id must be an int"),
        (b"x", -1, "m", "does not fit the SQL int column"),
        (b"x", 2**31, "m", "does not fit the SQL int column"),
        (b"x", 1, "model, version 1", "without commas or quotes"),
        (b"x", 1, 'model "1"', "without commas or quotes"),
        (b"x", 1, "model\nversion", "without commas or quotes"),
        (b"x", 1, "modèle", "printable ASCII"),
        (b"x", 1, "m" * 201, r"varchar\(200\)"),
    ],
)
def test_what_the_rows_cannot_carry_is_refused(model, model_id, description, message):
    with pytest.raises(ValueError, match=message):
        encode_model_rows(model, model_id, description)
