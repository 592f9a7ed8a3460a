"""Fixtures shared by the notebook tests."""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace

import pytest


@pytest.fixture
def sql_pool_writes(monkeypatch):
    """The synapsesql connector faked at DataFrameWriter: [(table, DataFrame)] and the options set."""
    from pyspark.sql.readwriter import DataFrameWriter

    writes, options = [], []
    constants = types.ModuleType("com.microsoft.spark.sqlanalytics.Constants")
    constants.Constants = SimpleNamespace(SERVER="Constants.SERVER")
    for name in ("com", "com.microsoft", "com.microsoft.spark", "com.microsoft.spark.sqlanalytics"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, constants.__name__, constants)
    original_option = DataFrameWriter.option

    def option(self, key, value):
        options.append((key, value))
        return original_option(self, key, value)

    monkeypatch.setattr(DataFrameWriter, "option", option)
    monkeypatch.setattr(
        DataFrameWriter,
        "synapsesql",
        lambda self, table: writes.append((table, self._df)),
        raising=False,
    )
    return SimpleNamespace(writes=writes, options=options)
