"""One student's Synapse notebooks and SQL scripts, as ONE Pulumi resource.

Why one resource per student, and why the state holds hashes, not notebooks
------------------------------------------------------------------------------
A class of 200 students is a handful of section stacks (``lab:sectionSize``
students each, 25 by default), every one of them holding many students. Every
dynamic resource costs a provider blob, an engine round trip and (in pulumi
3.272) a pickler wrapper, so each student gets a single :class:`WorkspaceArtifacts` holding all of their notebooks
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
import datetime
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
from ..base import PROVIDER_KEY, LabDynamicResource, diff_inputs, from_wire, inputs_of
from ..client import CallContext, RetrySettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The SQL scripts are lab content: they live beside the notebooks.
SQL_TEMPLATE_DIR = PROJECT_ROOT / "notebooks" / "sql"
WEATHER_FORECAST_TEMPLATE = "weather_forecast.sql"
PREDICT_RENTALS_TEMPLATE = "predict_rentals.sql"
# Where notebook 03-predict writes the model for the Predict rentals script: CSV rows of hex
# parts, one row per part, joined again in the pool (notebooks/model_rows.py).
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

# Synapse artifact names, the one rule for the names declared and the copies kept: the REST
# spec's pattern and length for an artifact's new name (azure-rest-api-specs
# specification/synapse/data-plane/Microsoft.Synapse/stable/2020-12-01/artifacts.json,
# definitions.ArtifactRenameRequest.properties.newName: pattern ^[A-Za-z0-9_][^<>*#.%&:\\+?/]*$,
# minLength 1, maxLength 260; the same on linkedServiceName, pipelineName, triggerName; generated
# into azure-synapse-artifacts 0.22.0 azure/synapse/artifacts/models/_models_py3.py line 4554).
# It allows '(' and ')', which copy names use.
ARTIFACT_NAME_RE = re.compile(r"^[A-Za-z0-9_][^<>*#.%&:\\+?/]*$")
ARTIFACT_NAME_MAX = 260
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
    # The workspace's ARM id and an ARM address override: asked when the endpoint cannot be
    # reached (providers.client.WorkspaceProbe); neither changes an artifact.
    "workspace_id",
    "arm_endpoint",
)
REPLACE_KEYS = ("workspace_name", "endpoint")
DETAILED_KEYS = ("notebooks", "sql_scripts", "parameters", "session")
# Outputs beside the inputs (never diffed): the hash of each artifact's content as
# uploaded (see studio_content_sha256), what the last refresh found edited, and the
# copies of a student's edits the last update kept.
STUDIO_HASHES = "studio_sha256"
EDITED = "edited"
KEPT_COPIES = "kept_copies"
# Set (to anything but "" or "0") in the environment of `pulumi up`: every notebook
# and SQL script of the resources the run touches is put back to the course
# version, a student's edited version kept as a copy. `classroom repair
# --reset-notebooks` sets it for a targeted up of the students named.
RESET_ENV = "SYNAPSE_ML_LAB_RESET_NOTEBOOKS"
COLLECTIONS = (("notebooks", "notebook"), ("sql_scripts", "sql script"))

NotebookSource = Union[str, "os.PathLike[str]", Mapping[str, Any]]


class ArtifactDefinitionError(ValueError):
    """A notebook or SQL script cannot be turned into a Synapse artifact."""


# ----------------------------------------------------------------------------- content


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_sha256(properties: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(properties).encode("utf-8")).hexdigest()


def _text(source: Any) -> str:
    text = "".join(str(part) for part in source) if isinstance(source, list) else str(source or "")
    return text.replace("\r\n", "\n")


def studio_content_sha256(kind: str, properties: Mapping[str, Any]) -> str:
    """The hash of what a student can edit in an artifact, as the service returns it.

    Not the body as uploaded: the service adds and rewrites fields of its own
    (``metadata.a365ComputeOptions``, cell metadata, outputs and execution counts
    after a run, ``folder``, the pool binding when the student attaches another
    pool), so only what a person writes is compared: for a notebook the type and
    text of every cell in order (a source given as one string or as lines is the
    same text), for a SQL script its query. Line endings are normalised.
    """
    if kind == "notebook":
        value: Any = [
            [cell.get("cell_type"), _text(cell.get("source"))]
            for cell in properties.get("cells") or []
            if isinstance(cell, Mapping)
        ]
    else:
        value = _text((properties.get("content") or {}).get("query"))
    return content_sha256({"kind": kind, "content": value})


def copy_name(name: str, day: datetime.date, attempt: int = 1) -> str:
    """Where a student's edited version is kept: ``<name> (your copy YYYY-MM-DD)``.

    A name too long for the suffix is shortened so the copy's name stays within
    ``ARTIFACT_NAME_MAX`` (two long names sharing a start then meet at the same
    copy name: ``_keep_copy`` moves on to the next ``attempt``).
    """
    suffix = f" (your copy {day.isoformat()}{'' if attempt == 1 else f' {attempt}'})"
    return name[: ARTIFACT_NAME_MAX - len(suffix)].rstrip() + suffix


def reset_requested() -> bool:
    return os.environ.get(RESET_ENV, "").strip() not in ("", "0")


def validate_artifact_name(kind: str, name: str) -> str:
    """``name`` if Synapse takes it as an artifact's name (``ARTIFACT_NAME_RE``), else a clear error."""
    if (
        not isinstance(name, str)
        or len(name) > ARTIFACT_NAME_MAX
        or not ARTIFACT_NAME_RE.match(name)
    ):
        raise ArtifactDefinitionError(
            f"{kind} name {name!r} is not allowed: 1-{ARTIFACT_NAME_MAX} characters, the first a "
            "letter, digit or '_', none of < > * # . % & : \\ + ? /"
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


class _ArtifactCalls:
    """One artifact's SDK calls (GET, PUT, DELETE by name, each retried on its own), through one
    client per operation; :class:`WorkspaceArtifactsProvider` decides which to make."""

    retry: RetrySettings

    def _target(self, inputs: Mapping[str, Any]) -> str:
        workspace = inputs["workspace_name"]
        return f"Synapse workspace '{workspace}' ({_client.synapse_endpoint(workspace, inputs.get('endpoint'))})"

    @staticmethod
    def _operations(client: Any, kind: str) -> tuple[Any, Any]:
        """(get, put) of the SDK for one kind of artifact."""
        if kind == "notebook":
            return client.notebook.get_notebook, client.notebook.begin_create_or_update_notebook
        return client.sql_script.get_sql_script, client.sql_script.begin_create_or_update_sql_script

    def _get(
        self,
        client: Any,
        inputs: Mapping[str, Any],
        kind: str,
        name: str,
        probe: _client.WorkspaceProbe | None = None,
    ) -> Any:
        """The artifact's ``properties`` as the service returns them, or ``GONE`` (404, or the
        workspace gone: see ``probe``)."""
        get, _ = self._operations(client, kind)

        def call(_seconds_left: float) -> Any:
            raw = get(name, cls=_client.raw_body)
            return (raw or {}).get("properties") or {}

        return _client.read_with_retries(
            call,
            CallContext(f"read {kind} '{name}'", self._target(inputs)),
            self.retry,
            probe=probe,
        )

    def _put(self, client: Any, inputs: Mapping[str, Any], kind: str, name: str, body: Any) -> None:
        from azure.synapse.artifacts import models

        _, put = self._operations(client, kind)

        def call(seconds_left: float) -> None:
            if kind == "notebook":
                resource = models.NotebookResource(
                    name=name, properties=models.Notebook.deserialize(copy.deepcopy(body))
                )
            else:
                resource = models.SqlScriptResource(
                    name=name, properties=models.SqlScript.deserialize(copy.deepcopy(body))
                )
            _client.wait_for_poller(put(name, resource), seconds_left, f"{kind} '{name}'")

        _client.call_with_retries(
            call, CallContext(f"create or update {kind} '{name}'", self._target(inputs)), self.retry
        )

    def _delete(self, client: Any, inputs: Mapping[str, Any], kind: str, name: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        def call(seconds_left: float) -> None:
            try:
                if kind == "notebook":
                    poller = client.notebook.begin_delete_notebook(name)
                else:
                    poller = client.sql_script.begin_delete_sql_script(name)
            except ResourceNotFoundError:
                return  # already gone
            _client.wait_for_poller(poller, seconds_left, f"{kind} '{name}'")

        _client.call_with_retries(
            call, CallContext(f"delete {kind} '{name}'", self._target(inputs)), self.retry
        )

    def _keep_copy(
        self, client: Any, inputs: Mapping[str, Any], kind: str, name: str, current: Any
    ) -> str:
        """PUT the student's version under a copy name that is free (or already holds it)."""
        day = datetime.datetime.now(datetime.UTC).date()
        mine = studio_content_sha256(kind, current)
        for attempt in range(1, 21):
            # Checked before anything is sent: a name Synapse refuses must stop here, clearly.
            candidate = validate_artifact_name(
                f"copy of {kind} '{name}'", copy_name(name, day, attempt)
            )
            existing = self._get(client, inputs, kind, candidate)
            if existing is _client.GONE:
                self._put(client, inputs, kind, candidate, current)
                return candidate
            if studio_content_sha256(kind, existing) == mine:
                return candidate  # kept already (an earlier attempt of this update)
        raise ArtifactDefinitionError(
            f"{kind} '{name}' in {self._target(inputs)}: 20 copies named "
            f"'{copy_name(name, day)}' and following exist already; rename or delete some in "
            "Synapse Studio and run `pulumi up` again"
        )

    def _session(self, inputs: Mapping[str, Any], work: Any) -> Any:
        """Run ``work(client)`` with one credential and one client."""
        endpoint = _client.synapse_endpoint(inputs["workspace_name"], inputs.get("endpoint"))
        credential = _client.make_credential()
        try:
            with _client.artifacts_client(credential, endpoint, self.retry) as client:
                return work(client)
        finally:
            _client.close_quietly(credential)


class WorkspaceArtifactsProvider(_ArtifactCalls, pulumi.dynamic.ResourceProvider):
    """Uploads / updates / deletes / reads one student's notebooks and SQL scripts.

    Each artifact is its own idempotent call (PUT, GET or DELETE by name, retried on
    its own). If one fails for good, the operation raises: the engine then keeps the
    previous state, and the next ``pulumi up`` re-sends whatever still differs,
    so a partial run leaves nothing duplicated and nothing the state forgets.

    Drift (``read``, run by ``pulumi refresh``): an artifact deleted in Studio (or a
    notebook no longer attached to the student's Spark pool) is left out of the
    refreshed state, so the next ``up`` sees it as new and uploads it (and only
    it, the student's text kept as a copy if edited); an artifact the student edited is the student's work, not
    drift: it stays in the state as uploaded and is listed in ``edited``. When
    every artifact is gone (the workspace was deleted or re-created) the resource
    is reported gone: refresh drops it and ``up`` creates it again.

    Nothing a student wrote is lost: before a new course version (or a reset, see
    ``RESET_ENV``) is put over an artifact whose content is not what was uploaded,
    the student's version is kept beside it as ``<name> (your copy YYYY-MM-DD)``,
    listed in the output ``kept_copies`` and in a warning of the ``up`` output.
    """

    serialize_as_secret_always = False  # nothing secret is captured

    def __init__(self, retry: RetrySettings | None = None) -> None:
        super().__init__()
        self.retry = retry or RetrySettings()

    # -- helpers
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
        self,
        inputs: Mapping[str, Any],
        bodies: Mapping[tuple[str, str], Any],
        kept: list[str] | None = None,
    ) -> dict[str, Any]:
        outs = copy.deepcopy(dict(inputs))
        hashes: dict[str, dict[str, str]] = {}
        for collection, kind in COLLECTIONS:
            if collection in outs:
                for name, entry in outs[collection].items():
                    entry["sha256"] = content_sha256(bodies[(kind, name)])
                    hashes.setdefault(collection, {})[name] = studio_content_sha256(
                        kind, bodies[(kind, name)]
                    )
        outs[STUDIO_HASHES] = hashes
        outs[EDITED] = []
        outs[KEPT_COPIES] = list(kept or [])
        return outs

    @staticmethod
    def _uploaded_studio_hash(
        state: Mapping[str, Any], collection: str, kind: str, name: str
    ) -> str | None:
        """The studio hash of what was last uploaded, or None when it cannot be known.

        State written before ``studio_sha256`` existed has only the hash of the
        whole body: the body is rebuilt from the entry, and trusted only if it
        hashes to what the state says was uploaded (the course file unchanged since).
        """
        recorded = ((state.get(STUDIO_HASHES) or {}).get(collection) or {}).get(name)
        if recorded:
            return recorded
        entry = (state.get(collection) or {}).get(name)
        if not entry or not entry.get("sha256"):
            return None
        try:
            body = (
                notebook_body(entry, state) if kind == "notebook" else sql_script_body(entry, state)
            )
        except (OSError, ValueError, KeyError):
            return None
        if content_sha256(body) != entry["sha256"]:
            return None
        return studio_content_sha256(kind, body)

    @staticmethod
    def _attached(kind: str, current: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
        """A notebook is usable only attached to the student's Spark pool (scripts: always)."""
        if kind != "notebook":
            return True
        pool = (current.get("bigDataPool") or {}).get("referenceName")
        return pool == inputs.get("spark_pool_name")

    # -- CRUD
    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        inputs = inputs_of(props, INPUT_KEYS)
        bodies = self._bodies(inputs)
        if bodies:

            def work(client: Any) -> None:
                for (kind, name), body in bodies.items():
                    self._put(client, inputs, kind, name, body)

            self._session(inputs, work)
        return pulumi.dynamic.CreateResult(
            f"workspaces/{inputs['workspace_name']}/lab-artifacts",
            outs=self._outputs(inputs, bodies),
        )

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        state = {k: v for k, v in from_wire(dict(props)).items() if k != PROVIDER_KEY}
        inputs = inputs_of(state, INPUT_KEYS)
        declared = [
            (collection, kind, name)
            for collection, kind in COLLECTIONS
            for name in sorted(inputs.get(collection) or {})
        ]
        if not declared:
            return pulumi.dynamic.ReadResult(id_, state)

        # One question to ARM for all of them, should the endpoint not answer at all.
        probe = _client.workspace_probe(inputs, self.retry)

        def work(client: Any) -> dict[tuple[str, str], Any]:
            return {
                (kind, name): self._get(client, inputs, kind, name, probe)
                for _, kind, name in declared
            }

        found = self._session(inputs, work)
        if all(value is _client.GONE for value in found.values()):
            # Every artifact is gone: the workspace was deleted or re-created. Report the
            # resource gone, so that refresh drops it and `up` creates it again.
            return pulumi.dynamic.ReadResult(None, {})
        outs = copy.deepcopy(state)
        edited: list[str] = []
        for collection, kind, name in declared:
            current = found[(kind, name)]
            if current is _client.GONE or not self._attached(kind, current, inputs):
                # Deleted in Studio (or a notebook detached from the student's Spark pool):
                # out of the state, so the next `up` uploads it again.
                outs[collection].pop(name, None)
                hashes = (outs.get(STUDIO_HASHES) or {}).get(collection) or {}
                hashes.pop(name, None)
                continue
            uploaded = self._uploaded_studio_hash(state, collection, kind, name)
            if uploaded != studio_content_sha256(kind, current):
                edited.append(name)  # the student's work: kept, not drift
        outs[EDITED] = edited
        outs.setdefault(KEPT_COPIES, [])
        return pulumi.dynamic.ReadResult(id_, outs)

    def diff(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.DiffResult:
        result = diff_inputs(olds, news, INPUT_KEYS, REPLACE_KEYS, DETAILED_KEYS)
        if reset_requested() and not result.replaces:
            # An explicit reset to the course version (classroom repair --reset-notebooks).
            result.diffs.append(f"reset ({RESET_ENV})")
            result.changes = True
        return result

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.UpdateResult:
        state = from_wire(dict(olds))
        old, new = inputs_of(olds, INPUT_KEYS), inputs_of(news, INPUT_KEYS)
        bodies = self._bodies(new)
        reset = reset_requested()
        puts: list[tuple[str, str, str, dict[str, Any]]] = []
        for (kind, name), body in bodies.items():
            collection = "notebooks" if kind == "notebook" else "sql_scripts"
            uploaded = (old.get(collection) or {}).get(name, {}).get("sha256")
            if reset or uploaded != content_sha256(body):
                puts.append((collection, kind, name, body))
        deletes = [
            (kind, name)
            for collection, kind in COLLECTIONS
            for name in sorted(set(old.get(collection) or {}) - set(new.get(collection) or {}))
        ]
        kept: list[str] = []

        def work(client: Any) -> None:
            for collection, kind, name, body in puts:
                current = self._get(client, new, kind, name)
                if current is not _client.GONE:
                    mine = studio_content_sha256(kind, current)
                    course = studio_content_sha256(kind, body)
                    uploaded = (old.get(collection) or {}).get(name, {}).get("sha256")
                    if (
                        reset
                        and mine == course
                        and uploaded == content_sha256(body)
                        and self._attached(kind, current, new)
                    ):
                        continue  # already the course version, nothing to put back
                    if mine != course and mine != self._uploaded_studio_hash(
                        state, collection, kind, name
                    ):
                        # Edited by the student (or not known to be ours): keep it first.
                        kept.append(self._keep_copy(client, new, kind, name, current))
                self._put(client, new, kind, name, body)
            for kind, name in deletes:
                self._delete(client, new, kind, name)

        if puts or deletes:
            self._session(new, work)
        if kept:
            pulumi.log.warn(
                f"{self._target(new)}: the student's edited version was kept as "
                + ", ".join(f"'{name}'" for name in kept)
                + " before the course version was uploaded"
            )
        return pulumi.dynamic.UpdateResult(outs=self._outputs(new, bodies, kept))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        inputs = inputs_of(props, INPUT_KEYS)
        names = [
            (kind, name)
            for collection, kind in COLLECTIONS
            for name in sorted(inputs.get(collection) or {})
        ]
        if names:

            def work(client: Any) -> None:
                for kind, name in names:
                    self._delete(client, inputs, kind, name)

            self._session(inputs, work)


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
    :param workspace_id: the workspace's ARM id: a refresh that cannot reach the endpoint
        asks ARM whether the workspace still exists (gone: every artifact is gone).
    :param arm_endpoint: ARM address override (default ``https://management.azure.com``).

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
    workspace_id: pulumi.Output[str | None]

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
        workspace_id: pulumi.Input[str] | None = None,
        arm_endpoint: pulumi.Input[str] | None = None,
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
                "workspace_id": workspace_id,
                "arm_endpoint": arm_endpoint,
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
