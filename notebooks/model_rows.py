"""The ONNX model as CSV rows for the dedicated SQL pool, in parts small enough to load.

COPY INTO and PolyBase load rows of at most 1,000,000 bytes into a dedicated SQL
pool, and the model travels as a hexadecimal string (twice its size), so a model
over ~500 KB does not fit one row. Each row carries one part:

    model_id,part_no,part_count,description,hex_part

part_no counts from 1; hex_part is uppercase hexadecimal without `0x` (COPY INTO
loads it into a varbinary column); the description has no commas or quotes, so no
field needs quoting. The SQL script "Predict rentals" loads the rows into a staging
table and joins the parts, in part order, into the one varbinary(max) value PREDICT
takes.

Notebook 03-predict carries the code below this docstring (make_notebooks.py inlines
it), so the notebook and the tests run the same function.
"""

from __future__ import annotations

# COPY INTO / PolyBase: rows of at most 1,000,000 bytes load ("Polybase loads rows that are
# smaller than 1 MB", dedicated SQL pool capacity limits; COPY reports "exceeds the maximum
# allowed row size of 1000000 bytes"). The parts stay well below, with room for the
# other fields: 900,000 hexadecimal characters hold 450,000 bytes of model.
MAX_ROW_BYTES = 1_000_000
HEX_CHARS_PER_PART = 900_000
# dbo.rental_prediction_model.description is varchar(200); model_id and part numbers are int.
MAX_DESCRIPTION_CHARS = 200
MAX_SQL_INT = 2**31 - 1
# varbinary(max) holds at most 2^31-1 bytes ("binary and varbinary (Transact-SQL)"); the
# PREDICT documentation names no other limit on the model's size.
MAX_MODEL_BYTES = 2**31 - 1


def encode_model_rows(model: bytes, model_id: int, description: str) -> str:
    """The model as CSV text, one row per part of at most HEX_CHARS_PER_PART hex characters."""
    if not isinstance(model, (bytes, bytearray)) or not model:
        raise ValueError("the model must be non-empty bytes")
    if len(model) > MAX_MODEL_BYTES:
        raise ValueError(
            f"the model is {len(model):,} bytes; varbinary(max) holds at most {MAX_MODEL_BYTES:,}"
        )
    if isinstance(model_id, bool) or not isinstance(model_id, int):
        raise ValueError(f"model_id must be an int, not {model_id!r}")
    if not 0 <= model_id <= MAX_SQL_INT:
        raise ValueError(f"model_id {model_id} does not fit the SQL int column")
    bad = sorted({c for c in description if c in ',"\r\n' or not (" " <= c <= "~")})
    if bad:
        raise ValueError(
            f"description {description!r} must be printable ASCII without commas or quotes "
            f"(found {', '.join(repr(c) for c in bad)})"
        )
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise ValueError(
            f"description is {len(description)} characters; the column is varchar({MAX_DESCRIPTION_CHARS})"
        )
    hex_text = bytes(model).hex().upper()
    parts = [
        hex_text[start : start + HEX_CHARS_PER_PART]
        for start in range(0, len(hex_text), HEX_CHARS_PER_PART)
    ]
    rows = []
    for part_no, hex_part in enumerate(parts, start=1):
        row = f"{model_id},{part_no},{len(parts)},{description},{hex_part}\n"
        if len(row.encode("ascii")) >= MAX_ROW_BYTES:  # cannot happen with the limits above
            raise ValueError(f"row {part_no} would be {len(row):,} bytes: too long to load")
        rows.append(row)
    return "".join(rows)
