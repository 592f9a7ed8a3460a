"""One student's Synapse notebooks and SQL scripts, as ONE Pulumi resource.

Why one resource per student, and why the state holds hashes, not notebooks
------------------------------------------------------------------------------
A class of 200 students is one stack. Every dynamic resource costs a provider
blob, an engine round trip and (in pulumi 3.272) a pickler wrapper, so each
student gets a single :class:`WorkspaceArtifacts` holding all of their notebooks
and SQL scripts; its update re-uploads only the artifacts whose content changed
and deletes the ones no longer declared.

The engine stores a resource's inputs *and* outputs. Notebooks are tens of
kilobytes each; stored per student they would make the state (and every
checkpoint the engine writes during ``pulumi up``) hundreds of times larger.
So the inputs carry, per notebook, only where its content comes from (a path
relative to the project directory) and the sha256 of the exact body that is
uploaded (the notebook with its ``parameters`` cell filled, bound to the Spark
pool, with its session size): that is everything the engine needs to decide
whether something changed, and the diff names the notebook that did
(``notebooks.02-train-automl``). The provider rebuilds the body from the same
file at create/update time (the provider process runs in the project directory;
as a fallback the path is also resolved against the project root that contains
``providers/``) and records the hash of what it actually uploaded, so a file
edited between preview and update converges on the next run instead of drifting.
Notebooks given as JSON (not a path) are carried inline, canonicalised: fine for
small generated notebooks, use paths for the lab's.

SQL scripts use templates in ``notebooks/sql/*.sql`` (placeholders ``{{name}}``) plus their values, so the same holds for them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import pulumi
import pulumi.dynamic

from lab import notebook_params
from lab.studio import WEATHER_FORECAST_SCRIPT_NAME

from .. import client as _client
from ..base import LabDynamicResource, diff_inputs, from_wire, inputs_of
from ..client import CallContext, RetrySettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The SQL scripts are lab content: they live beside the notebooks.
SQL_TEMPLATE_DIR = PROJECT_ROOT / "notebooks" / "sql"
WEATHER_FORECAST_TEMPLATE = "weather_forecast.sql"
PREDICT_RENTALS_TEMPLATE = "predict_rentals.sql"
# Where notebook 03-predict writes the model (hex, one CSV row) for the Predict rentals script.
SQL_MODEL_LAKE_PATH = "models/rental-prediction-model.csv"

# A Small node (4 vCores / 32 GB): the driver and two executors take one node
# each, which fits the lab pool's 3..4 nodes; 28g leaves room for the overhead.
SMALL_NODE_SESSION: dict[str, Any] = {
    "driverMemory": "28g",
    "driverCores": 4,
    "executorMemory": "28g",
    "executorCores": 4,
    "numExecutors": 2,
}
SESSION_KEYS = ("driverMemory", "driverCores", "executorMemory", "executorCores", "numExecutors")

NOTEBOOK_METADATA: dict[str, Any] = {
    "saveOutput": True,
    "enableDebugMode": False,
    "kernelspec": {"name": "synapse_pyspark", "display_name": "Synapse PySpark"},
    "language_info": {"name": "python"},
    "sessionKeepAliveTimeout": 30,
}

# Synapse artifact names: letters, digits, '_', '-' and inner spaces.
ARTIFACT_NAME_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_ \-]{0,138}[A-Za-z0-9_\-])?$")
# Values substituted into SQL text: names and URLs only, so no quoting issue can arise.
SQL_VALUE_RE = re.compile(r"^[A-Za-z0-9._:/\-]*$")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

INPUT_KEYS = (
    "workspace_name",
    "endpoint",
    "spark_pool_name",
    "session",
    "folder",
    "parameters",
    "notebooks",
    "sql_scripts",
)
REPLACE_KEYS = ("workspace_name", "endpoint")
DETAILED_KEYS = ("notebooks", "sql_scripts", "parameters", "session")

NotebookSource = Union[str, "os.PathLike[str]", Mapping[str, Any]]


class ArtifactDefinitionError(ValueError):
    """A notebook or SQL script cannot be turned into a Synapse artifact."""


# ----------------------------------------------------------------------------- content


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_sha256(properties: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(properties).encode("utf-8")).hexdigest()


def validate_artifact_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not ARTIFACT_NAME_RE.match(name):
        raise ArtifactDefinitionError(
            f"{kind} name {name!r} is not allowed: 1-140 letters, digits, '_', '-' or inner spaces"
        )
    return name


def resolve_project_path(path: str) -> Path:
    """A path relative to the project directory: the cwd, else the root holding ``components/``."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    tried = [Path.cwd() / candidate, PROJECT_ROOT / candidate]
    for option in tried:
        if option.is_file():
            return option
    raise FileNotFoundError(
        f"notebook file {path!r} not found (looked in {', '.join(str(t) for t in tried)})"
    )


def project_relative(path: str | os.PathLike[str]) -> str:
    """The portable form of a notebook path kept in the state (relative, '/' separated)."""
    candidate = Path(path)
    if candidate.is_absolute():
        for root in (Path.cwd(), PROJECT_ROOT):
            try:
                return candidate.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                continue
        return candidate.as_posix()
    return candidate.as_posix()


def _source_lines(source: Any) -> list[str]:
    # The SDK models (and nbformat on disk) want a list of lines, each keeping its newline.
    text: str = "".join(source) if isinstance(source, list) else str(source or "")
    return [str(line) for line in text.splitlines(keepends=True)]


def coerce_parameters(notebook: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Values typed as the notebook declares them (ints arrive from the engine as floats)."""
    declared = notebook_params.read_parameters(notebook)
    result: dict[str, Any] = {}
    for name, value in from_wire(dict(values)).items():
        if name not in declared:
            continue
        kind = declared[name]
        if isinstance(value, bool) or isinstance(kind, bool):
            result[name] = value
        elif isinstance(kind, float) and isinstance(value, int):
            result[name] = float(value)
        else:
            result[name] = value
    return result


def _parameter_cell_count(notebook: Mapping[str, Any]) -> int:
    return sum(
        1
        for cell in notebook.get("cells", [])
        if cell.get("cell_type") == "code"
        and notebook_params.PARAMETERS_TAG in ((cell.get("metadata") or {}).get("tags") or [])
    )


def _synapse_cell(cell: Mapping[str, Any]) -> dict[str, Any]:
    cell_type = cell.get("cell_type")
    if cell_type not in ("code", "markdown", "raw"):
        raise ArtifactDefinitionError(f"unsupported cell type {cell_type!r}")
    out: dict[str, Any] = {
        "cell_type": cell_type,
        "metadata": copy.deepcopy(dict(cell.get("metadata") or {})),
        "source": _source_lines(cell.get("source", "")),
    }
    if cell_type == "code":
        out["outputs"] = []  # uploaded clean: outputs belong to the student's runs
    if cell.get("attachments"):
        out["attachments"] = copy.deepcopy(cell["attachments"])
    return out


def build_notebook_properties(
    notebook: Mapping[str, Any],
    *,
    spark_pool_name: str,
    parameters: Mapping[str, Any] | None = None,
    session: Mapping[str, Any] | None = None,
    folder: str | None = None,
) -> dict[str, Any]:
    """The ``properties`` of a Synapse notebook (REST shape) built from an .ipynb document.

    The single ``parameters`` cell gets the values the notebook declares (a
    notebook without one is uploaded as it is); outputs and execution counts are
    dropped; the notebook is attached to ``spark_pool_name`` with ``session``.
    """
    if not isinstance(notebook, Mapping) or not isinstance(notebook.get("cells"), list):
        raise ArtifactDefinitionError("not a notebook: no 'cells' list")
    if parameters and _parameter_cell_count(notebook) > 0:
        notebook = notebook_params.fill_parameters(
            notebook, coerce_parameters(notebook, parameters)
        )
    session_properties = from_wire(dict(session or SMALL_NODE_SESSION))
    missing = [k for k in SESSION_KEYS if k not in session_properties]
    if missing:
        raise ArtifactDefinitionError(f"session properties miss {', '.join(missing)}")
    properties: dict[str, Any] = {
        "bigDataPool": {"referenceName": spark_pool_name, "type": "BigDataPoolReference"},
        "sessionProperties": {k: session_properties[k] for k in SESSION_KEYS},
        "metadata": copy.deepcopy(NOTEBOOK_METADATA),
        "nbformat": 4,
        "nbformat_minor": 2,
        "cells": [_synapse_cell(cell) for cell in notebook["cells"]],
    }
    description = (notebook.get("metadata") or {}).get("description")
    if description:
        properties["description"] = str(description)
    if folder:
        properties["folder"] = {"name": folder}
    return properties


def render_sql_template(template: str, values: Mapping[str, Any]) -> str:
    """The text of package template ``sql/<template>`` with its ``{{name}}`` placeholders filled."""
    if "/" in template or "\\" in template or not template.endswith(".sql"):
        raise ArtifactDefinitionError(
            f"SQL template {template!r} must be a file name in {SQL_TEMPLATE_DIR}"
        )
    text = (SQL_TEMPLATE_DIR / template).read_text(encoding="utf-8")
    needed = set(PLACEHOLDER_RE.findall(text))
    missing = sorted(needed - set(values))
    if missing:
        raise ArtifactDefinitionError(
            f"SQL template {template!r} needs values for {', '.join(missing)}"
        )
    for name in needed:
        value = str(values[name])
        if not SQL_VALUE_RE.match(value):
            raise ArtifactDefinitionError(
                f"SQL template value {name}={value!r} has characters not allowed in SQL text"
            )
    return PLACEHOLDER_RE.sub(lambda m: str(values[m.group(1)]), text)


def sql_script_properties(
    query: str, *, sql_pool_name: str, description: str | None = None, folder: str | None = None
) -> dict[str, Any]:
    """The ``properties`` of a Synapse SQL script bound to a dedicated SQL pool."""
    properties: dict[str, Any] = {
        "type": "SqlQuery",
        "content": {
            "query": query,
            # Studio opens the script connected to the pool's database.
            "currentConnection": {
                "name": sql_pool_name,
                "type": "SqlPool",
                "poolName": sql_pool_name,
                "databaseName": sql_pool_name,
            },
            "resultLimit": 5000,
            "metadata": {"language": "sql"},
        },
    }
    if description:
        properties["description"] = description
    if folder:
        properties["folder"] = {"name": folder}
    return properties


@dataclass
class SqlScriptSpec:
    """A SQL script from a package template: ``sql/<template>`` filled with ``values``."""

    sql_pool_name: pulumi.Input[str]
    values: Mapping[str, pulumi.Input[str]]
    template: str = WEATHER_FORECAST_TEMPLATE
    description: str | None = None
    # The script this one needs first (it uses what that one creates): uploaded after it.
    after: str | None = None


def weather_forecast_sql_script(
    sql_pool_name: pulumi.Input[str],
    data_lake_account_name: pulumi.Input[str],
    data_lake_filesystem: pulumi.Input[str] = "files",
) -> SqlScriptSpec:
    """The lab's ``dbo.weather_forecast`` DDL + COPY INTO, bound to the dedicated SQL pool."""
    return SqlScriptSpec(
        sql_pool_name=sql_pool_name,
        values={
            "data_lake_account_name": data_lake_account_name,
            "data_lake_filesystem": data_lake_filesystem,
        },
        template=WEATHER_FORECAST_TEMPLATE,
        description="Create dbo.weather_forecast and load it from the data lake (lab part 2)",
    )


def predict_rentals_sql_script(
    sql_pool_name: pulumi.Input[str],
    data_lake_account_name: pulumi.Input[str],
    data_lake_filesystem: pulumi.Input[str] = "files",
) -> SqlScriptSpec:
    """The lab's part 2 in the pool: model table, model load, ``dbo.predict_rentals`` (T-SQL PREDICT).

    Scores ``dbo.weather_forecast``, so it is declared after the weather forecast script.
    """
    return SqlScriptSpec(
        sql_pool_name=sql_pool_name,
        values={
            "sql_pool_name": sql_pool_name,
            "data_lake_account_name": data_lake_account_name,
            "data_lake_filesystem": data_lake_filesystem,
            "model_path": SQL_MODEL_LAKE_PATH,
        },
        template=PREDICT_RENTALS_TEMPLATE,
        description="Load the ONNX model into dbo.rental_prediction_model and predict rentals with PREDICT (lab part 2)",
        after=WEATHER_FORECAST_SCRIPT_NAME,
    )


# ----------------------------------------------------------------------------- entries (program and provider)


def upload_order(scripts: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Script names by name, each moved after the script its entry names in ``after``.

    The engine carries inputs as protobuf maps, whose keys arrive sorted: the order
    a program declares scripts in does not survive the wire, so it is made explicit.
    """
    order: list[str] = []

    def place(name: str, waiting: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in waiting:
            raise ArtifactDefinitionError(
                f"SQL scripts wait for each other: {' -> '.join(waiting + (name,))}"
            )
        after = scripts[name].get("after")
        if isinstance(after, str) and after in scripts:
            place(after, waiting + (name,))
        order.append(name)

    for name in sorted(scripts):
        place(name, ())
    return order


def load_notebook(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The .ipynb document an entry refers to (inline JSON, or a file under the project)."""
    if entry.get("content") is not None:
        return json.loads(entry["content"])
    path = resolve_project_path(str(entry["path"]))
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def notebook_body(entry: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    return build_notebook_properties(
        load_notebook(entry),
        spark_pool_name=inputs["spark_pool_name"],
        parameters=inputs.get("parameters") or {},
        session=inputs.get("session") or SMALL_NODE_SESSION,
        folder=inputs.get("folder"),
    )


def sql_script_body(entry: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    return sql_script_properties(
        render_sql_template(entry["template"], entry.get("values") or {}),
        sql_pool_name=entry["sql_pool_name"],
        description=entry.get("description"),
        folder=inputs.get("folder"),
    )


def _notebook_source_entry(source: NotebookSource) -> tuple[dict[str, Any], dict[str, Any]]:
    if isinstance(source, Mapping):
        document = json.loads(canonical_json(source))
        return {"content": canonical_json(document)}, document
    if isinstance(source, (str, os.PathLike)):
        relative = project_relative(source)
        return {"path": relative}, load_notebook({"path": relative})
    raise ArtifactDefinitionError(f"a notebook is a path or its JSON, not {type(source).__name__}")


# ----------------------------------------------------------------------------- provider


class WorkspaceArtifactsProvider(pulumi.dynamic.ResourceProvider):
    """Uploads / updates / deletes one student's notebooks and SQL scripts.

    Each artifact is its own idempotent call (PUT or DELETE by name, retried on its
    own). If one fails for good, the operation raises: the engine then keeps the
    previous state, and the next ``pulumi up`` re-sends whatever still differs,
    so a partial run leaves nothing duplicated and nothing the state forgets.
    """

    serialize_as_secret_always = False  # nothing secret is captured

    def __init__(self, retry: RetrySettings | None = None) -> None:
        super().__init__()
        self.retry = retry or RetrySettings()

    # -- helpers
    def _target(self, inputs: Mapping[str, Any]) -> str:
        workspace = inputs["workspace_name"]
        return f"Synapse workspace '{workspace}' ({_client.synapse_endpoint(workspace, inputs.get('endpoint'))})"

    def _bodies(self, inputs: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
        bodies: dict[tuple[str, str], dict[str, Any]] = {}
        for name, entry in (inputs.get("notebooks") or {}).items():
            try:
                bodies[("notebook", name)] = notebook_body(entry, inputs)
            except (OSError, ValueError) as exc:
                raise ArtifactDefinitionError(
                    f"notebook '{name}' ({entry.get('path', 'inline JSON')}): {exc}"
                ) from exc
        scripts = inputs.get("sql_scripts") or {}
        for name in upload_order(scripts):
            entry = scripts[name]
            try:
                bodies[("sql script", name)] = sql_script_body(entry, inputs)
            except (OSError, ValueError) as exc:
                raise ArtifactDefinitionError(
                    f"SQL script '{name}' ({entry.get('template')}): {exc}"
                ) from exc
        return bodies

    def _outputs(
        self, inputs: Mapping[str, Any], bodies: Mapping[tuple[str, str], Any]
    ) -> dict[str, Any]:
        outs = copy.deepcopy(dict(inputs))
        for collection, kind in (("notebooks", "notebook"), ("sql_scripts", "sql script")):
            if collection in outs:
                for name, entry in outs[collection].items():
                    entry["sha256"] = content_sha256(bodies[(kind, name)])
        return outs

    def _run(
        self, inputs: Mapping[str, Any], work: list[tuple[str, str, str, dict | None]]
    ) -> None:
        """Do ``(verb, kind, name, body)`` items in order, each retried on its own."""
        if not work:
            return
        from azure.core.exceptions import ResourceNotFoundError
        from azure.synapse.artifacts import models

        endpoint = _client.synapse_endpoint(inputs["workspace_name"], inputs.get("endpoint"))
        credential = _client.make_credential()
        try:
            with _client.artifacts_client(credential, endpoint, self.retry) as client:
                for verb, kind, name, body in work:

                    def call(
                        seconds_left: float, verb=verb, kind=kind, name=name, body=body
                    ) -> None:
                        if verb == "put" and kind == "notebook":
                            resource = models.NotebookResource(
                                name=name,
                                properties=models.Notebook.deserialize(copy.deepcopy(body)),
                            )
                            poller = client.notebook.begin_create_or_update_notebook(name, resource)
                        elif verb == "put":
                            resource = models.SqlScriptResource(
                                name=name,
                                properties=models.SqlScript.deserialize(copy.deepcopy(body)),
                            )
                            poller = client.sql_script.begin_create_or_update_sql_script(
                                name, resource
                            )
                        else:
                            try:
                                if kind == "notebook":
                                    poller = client.notebook.begin_delete_notebook(name)
                                else:
                                    poller = client.sql_script.begin_delete_sql_script(name)
                            except ResourceNotFoundError:
                                return  # already gone
                        _client.wait_for_poller(poller, seconds_left, f"{kind} '{name}'")

                    action = f"{'create or update' if verb == 'put' else 'delete'} {kind} '{name}'"
                    _client.call_with_retries(
                        call, CallContext(action, self._target(inputs)), self.retry
                    )
        finally:
            _client.close_quietly(credential)

    # -- CRUD
    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        inputs = inputs_of(props, INPUT_KEYS)
        bodies = self._bodies(inputs)
        self._run(inputs, [("put", kind, name, body) for (kind, name), body in bodies.items()])
        return pulumi.dynamic.CreateResult(
            f"workspaces/{inputs['workspace_name']}/lab-artifacts",
            outs=self._outputs(inputs, bodies),
        )

    def diff(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.DiffResult:
        return diff_inputs(olds, news, INPUT_KEYS, REPLACE_KEYS, DETAILED_KEYS)

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.UpdateResult:
        old, new = inputs_of(olds, INPUT_KEYS), inputs_of(news, INPUT_KEYS)
        bodies = self._bodies(new)
        work: list[tuple[str, str, str, dict | None]] = []
        for (kind, name), body in bodies.items():
            collection = "notebooks" if kind == "notebook" else "sql_scripts"
            uploaded = (old.get(collection) or {}).get(name, {}).get("sha256")
            if uploaded != content_sha256(body):
                work.append(("put", kind, name, body))
        for collection, kind in (("notebooks", "notebook"), ("sql_scripts", "sql script")):
            for name in sorted(set(old.get(collection) or {}) - set(new.get(collection) or {})):
                work.append(("delete", kind, name, None))
        self._run(new, work)
        return pulumi.dynamic.UpdateResult(outs=self._outputs(new, bodies))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        inputs = inputs_of(props, INPUT_KEYS)
        work: list[tuple[str, str, str, dict | None]] = [
            ("delete", "notebook", name, None) for name in sorted(inputs.get("notebooks") or {})
        ]
        work += [
            ("delete", "sql script", name, None) for name in sorted(inputs.get("sql_scripts") or {})
        ]
        self._run(inputs, work)


# ----------------------------------------------------------------------------- resource


class WorkspaceArtifacts(LabDynamicResource, module="synapse-ml-lab", name="WorkspaceArtifacts"):
    """All of one student's Synapse notebooks and SQL scripts (see the module doc for the design).

    :param workspace_name: the student's Synapse workspace.
    :param spark_pool_name: the Spark pool every notebook is attached to.
    :param notebooks: notebook name -> ``.ipynb`` path (relative to the project
        directory) or the notebook's JSON. Read now, to compute its hash.
    :param parameters: values for the notebooks' ``parameters`` cells (str/bool/int/float);
        each notebook takes the names it declares.
    :param sql_scripts: script name -> :class:`SqlScriptSpec` (see :func:`weather_forecast_sql_script`).
    :param session: Spark session size (``SMALL_NODE_SESSION`` by default).
    :param folder: optional Synapse Studio folder for the artifacts.
    :param endpoint: data-plane URL override (default ``https://<workspace>.dev.azuresynapse.net``).

    Outputs: the same names; ``notebooks`` / ``sql_scripts`` map each name to its
    source and the sha256 of the body uploaded.
    """

    workspace_name: pulumi.Output[str]
    spark_pool_name: pulumi.Output[str]
    parameters: pulumi.Output[dict]
    notebooks: pulumi.Output[dict]
    sql_scripts: pulumi.Output[dict]
    session: pulumi.Output[dict]
    folder: pulumi.Output[str | None]
    endpoint: pulumi.Output[str | None]

    def __init__(
        self,
        name: str,
        workspace_name: pulumi.Input[str],
        spark_pool_name: pulumi.Input[str],
        notebooks: Mapping[str, NotebookSource],
        parameters: pulumi.Input[Mapping[str, pulumi.Input[Any]]] | None = None,
        sql_scripts: Mapping[str, SqlScriptSpec] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        endpoint: pulumi.Input[str] | None = None,
        session: Mapping[str, Any] | None = None,
        folder: str | None = None,
        retry: RetrySettings | None = None,
    ) -> None:
        session_value = dict(session or SMALL_NODE_SESSION)
        sources = {
            validate_artifact_name("notebook", nb_name): _notebook_source_entry(source)
            for nb_name, source in (notebooks or {}).items()
        }
        scripts = {
            validate_artifact_name("SQL script", s): spec for s, spec in (sql_scripts or {}).items()
        }
        parameters_output = pulumi.Output.from_input(parameters or {})

        def notebook_entries(args: list[Any]) -> dict[str, Any]:
            pool, values = args
            entries = {}
            for nb_name, (entry, document) in sources.items():
                try:
                    body = build_notebook_properties(
                        document,
                        spark_pool_name=pool,
                        parameters=values,
                        session=session_value,
                        folder=folder,
                    )
                except ValueError as exc:
                    raise ArtifactDefinitionError(f"notebook '{nb_name}': {exc}") from exc
                entries[nb_name] = {**entry, "sha256": content_sha256(body)}
            return entries

        def script_entry(spec: SqlScriptSpec) -> pulumi.Output[dict]:
            def entry(args: list[Any]) -> dict[str, Any]:
                pool, values = args
                item = {"template": spec.template, "values": dict(values), "sql_pool_name": pool}
                if spec.description:
                    item["description"] = spec.description
                if spec.after:
                    item["after"] = spec.after
                item["sha256"] = content_sha256(sql_script_body(item, {"folder": folder}))
                return item

            return pulumi.Output.all(
                spec.sql_pool_name, pulumi.Output.from_input(dict(spec.values))
            ).apply(entry)

        super().__init__(
            WorkspaceArtifactsProvider(retry),
            name,
            {
                "workspace_name": workspace_name,
                "endpoint": endpoint,
                "spark_pool_name": spark_pool_name,
                "session": session_value,
                "folder": folder,
                "parameters": parameters_output,
                "notebooks": pulumi.Output.all(spark_pool_name, parameters_output).apply(
                    notebook_entries
                ),
                "sql_scripts": {s: script_entry(spec) for s, spec in scripts.items()},
            },
            opts,
        )
