"""Runs the lab's Synapse notebooks locally, on pyspark, the way a Synapse session would.

- Cells run in order in one namespace that holds `spark`, `sc`, `display` and
  `displayHTML`, as Synapse provides them.
- Parameter values go through lab.notebook_params.fill_parameters, as at
  upload, so the notebook's own parameters cell is what assigns them.
- `%%sql` cells run with spark.sql (each `;`-separated statement) and show the
  last result; a `%%pyspark` first line is dropped (PySpark is the default);
  `%%capture` and `%%configure` are accepted.
- Line magics (`%pip install ...`) are recorded and not run: the test
  environment installs requirements-notebooks.txt instead.
- Cells tagged with one of `skip_tags` (the notebooks tag those that need a live
  Azure workspace "azure") are not run.

make_spark() builds a small local session whose warehouse, Hive metastore and
scratch space are all under a temporary folder, so nothing lands in the repo.
"""

from __future__ import annotations

import glob
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lab.notebook_params import fill_parameters, read_parameters  # noqa: E402

NOTEBOOKS_DIR = ROOT / "notebooks"

_LINE_MAGIC = re.compile(r"^(\s*)%(?!%)(.*)$")


class NotebookCellError(RuntimeError):
    """A cell raised; the message names the notebook and the cell."""


@dataclass
class NotebookRun:
    """What a run left behind."""

    namespace: dict[str, Any]
    executed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    magics: list[str] = field(default_factory=list)
    displayed: list[Any] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    sql_results: list[Any] = field(default_factory=list)

    def __getitem__(self, name: str) -> Any:
        return self.namespace[name]


def java_home() -> str | None:
    """Spark 3.5 runs on Java 8/11/17; prefer a Java 17 when JAVA_HOME is not set."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    candidates = sorted(glob.glob("/usr/lib/jvm/java-17-openjdk-*"))
    return candidates[0] if candidates else None


def make_spark(base_dir: str | os.PathLike[str]):
    """A local[2] SparkSession with Hive catalog, everything it writes under base_dir."""
    base = Path(base_dir).resolve()
    for sub in ("warehouse", "local", "derby"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    home = java_home()
    if home:
        os.environ["JAVA_HOME"] = home
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    from pyspark.sql import SparkSession

    java_options = (
        f"-Dderby.system.home={base / 'derby'} "
        f"-Dderby.stream.error.file={base / 'derby' / 'derby.log'}"
    )
    return (
        SparkSession.builder.master("local[2]")
        .appName("synapse-ml-lab-notebook-tests")
        .config("spark.sql.warehouse.dir", str(base / "warehouse"))
        .config("spark.local.dir", str(base / "local"))
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={base / 'metastore_db'};create=true",
        )
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .enableHiveSupport()
        .getOrCreate()
    )


def load_notebook(path: str | os.PathLike[str]) -> dict[str, Any]:
    return nbformat.read(str(path), as_version=4)


def cell_tags(cell: Mapping[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags") or [])


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _split_sql(text: str) -> list[str]:
    # The lab's SQL cells hold simple statements; no ';' inside string literals.
    return [stmt.strip() for stmt in text.split(";") if stmt.strip()]


def _strip_line_magics(code: str, magics: list[str]) -> str:
    lines = []
    for line in code.splitlines():
        match = _LINE_MAGIC.match(line)
        if match:
            magics.append("%" + match.group(2).strip())
            lines.append(f"{match.group(1)}pass  # magic not run locally")
        else:
            lines.append(line)
    return "\n".join(lines)


def translate_cell(cell: Mapping[str, Any], magics: list[str] | None = None) -> tuple[str, str]:
    """(kind, body) of a code cell: kind "sql" (body: the SQL), "python" or "configure".

    Python bodies have their cell magic line removed and line magics replaced by
    `pass`; the magics found are appended to `magics`.
    """
    text = _source(cell)
    first, _, rest = text.partition("\n")
    magic = first.strip().split()[0] if first.strip().startswith("%%") else ""
    found = magics if magics is not None else []
    if magic == "%%sql":
        return "sql", rest
    if magic == "%%configure":
        found.append(first.strip())
        return "configure", rest
    if magic in ("%%pyspark", "%%capture", ""):
        return "python", _strip_line_magics(rest if magic else text, found)
    raise NotImplementedError(f"cell magic {magic} is not supported by the local runner")


def _display_factory(run: NotebookRun):
    def display(obj: Any, *args: Any, **kwargs: Any) -> None:
        run.displayed.append(obj)
        show = getattr(obj, "show", None)
        if callable(show) and hasattr(obj, "schema"):
            show(n=20, truncate=False)
        else:
            print(obj)

    def display_html(html: str) -> None:
        run.html.append(html)
        print(html)

    return display, display_html


def run_notebook(
    notebook: str | os.PathLike[str] | Mapping[str, Any],
    spark: Any,
    parameters: Mapping[str, Any] | None = None,
    *,
    skip_tags: Iterable[str] = (),
    extra_globals: Mapping[str, Any] | None = None,
) -> NotebookRun:
    """Run a notebook's code cells in order; return the namespace and what it displayed."""
    if isinstance(notebook, Mapping):
        nb, name = dict(notebook), "<notebook>"
    else:
        nb, name = load_notebook(notebook), Path(notebook).name
    if parameters:
        unknown = set(parameters) - set(read_parameters(nb))
        if unknown:
            raise KeyError(f"{name} declares no parameter(s) {sorted(unknown)}")
        nb = fill_parameters(nb, parameters)

    run = NotebookRun(namespace={"__name__": "__main__"})
    display, display_html = _display_factory(run)
    run.namespace.update(display=display, displayHTML=display_html)
    if spark is not None:  # None: only for notebooks whose run cells need no Spark
        run.namespace.update(spark=spark, sc=spark.sparkContext)
    run.namespace.update(extra_globals or {})
    skip = set(skip_tags)

    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        label = f"{name} cell {index} ({cell.get('id', '?')})"
        if skip & set(cell_tags(cell)):
            run.skipped.append(cell.get("id", str(index)))
            continue
        try:
            kind, body = translate_cell(cell, run.magics)
            if kind == "sql":
                result = None
                for statement in _split_sql(body):
                    result = spark.sql(statement)
                if result is not None:
                    result.show(n=20, truncate=False)
                    run.sql_results.append(result)
            elif kind == "python":
                exec(compile(body, label, "exec"), run.namespace)
        except Exception as exc:
            raise NotebookCellError(f"{label} failed: {type(exc).__name__}: {exc}") from exc
        run.executed.append(cell.get("id", str(index)))
    return run
