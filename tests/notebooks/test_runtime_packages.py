"""The notebooks against the Synapse Spark 3.5 runtime's published Python environment.

Every import of a notebook is in the runtime or installed by the notebook's own
`%pip` cell, and `%pip` installs only what the runtime lacks: `%pip` restarts the
interpreter, needs internet access and does not run in pipeline runs. The AutoML
runtime (azureml-automl-runtime and its old pins) never enters a notebook.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
import shlex
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.fakes.notebook_runner import NOTEBOOKS_DIR, ROOT, load_notebook, translate_cell

# A copy of ../shared/lab's list (its source and commit are in its header), so a
# clean clone tests against it too; test_runtime_list_is_the_shared_one keeps them equal.
RUNTIME_YML = ROOT / "tests" / "fixtures" / "synapse-spark35-python311.yml"
SHARED_RUNTIME_YML = ROOT.parent / "shared" / "lab" / "synapse-spark35-python311.yml"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
# Modules that exist only inside Synapse, and the runtime package that ships each.
SYNAPSE_ONLY = {"notebookutils": "notebookutils", "com": "sqlanalyticsconnectorpy"}


def runtime_packages(text: str) -> dict[str, str]:
    """Package -> version of a conda environment file: conda `name=version=build` and pip `name==version`."""
    packages = {}
    for line in text.splitlines():
        conda = re.match(r"^  - ([A-Za-z0-9_.\-]+)=([^=\s]+)=\S+$", line)
        pip = re.match(r"^      - ([A-Za-z0-9_.\-]+)==(\S+)$", line)
        found = conda or pip
        if found:
            packages[canonicalize_name(found.group(1))] = found.group(2)
    return packages


def notebook_imports(path: Path) -> set[str]:
    """Every module (dotted name) a notebook's Python cells import."""
    names = set()
    for cell in load_notebook(path)["cells"]:
        if cell["cell_type"] != "code":
            continue
        kind, body = translate_cell(cell)
        if kind != "python":
            continue
        for node in ast.walk(ast.parse(body)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module)
    return names


def pip_installs(path: Path) -> list[Requirement]:
    """The requirements of the notebook's `%pip install` lines."""
    magics: list[str] = []
    for cell in load_notebook(path)["cells"]:
        if cell["cell_type"] == "code":
            translate_cell(cell, magics)
    requirements = []
    for magic in magics:
        words = shlex.split(magic)
        if words[:2] == ["%pip", "install"]:
            requirements += [Requirement(w) for w in words[2:] if not w.startswith("-")]
    return requirements


@functools.lru_cache(maxsize=1)
def _owners() -> dict[str, str]:
    """Installed file (relative to its site-packages) -> the package that installed it."""
    owners = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])  # parsed once, not once per file
        for file in dist.files or ():
            owners[Path(file).as_posix()] = name
    return owners


def distribution_of(module: str) -> str | None:
    """The package that provides a module (None for the standard library).

    By the file the module loads from: `azure` alone is a namespace many packages share.
    """
    top = module.split(".")[0]
    if top in sys.stdlib_module_names:
        return None
    if top in SYNAPSE_ONLY:
        return SYNAPSE_ONLY[top]
    # By the installed files first: find_spec would import every parent package (azure.ai.ml,
    # mlflow: tens of seconds); the longest dotted prefix that is a file decides.
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        stem = "/".join(parts[:n])
        for candidate in (f"{stem}/__init__.py", f"{stem}.py"):
            if candidate in _owners():
                return _owners()[candidate]
    spec = importlib.util.find_spec(module)
    assert spec is not None, (
        f"'{module}' is not installed: add its package to requirements-notebooks.txt"
    )
    origin = Path(spec.origin)
    for parent in origin.parents:
        if parent.name in ("site-packages", "dist-packages"):
            return _owners()[origin.relative_to(parent).as_posix()]
    raise AssertionError(f"'{module}' loads from {origin}, outside site-packages")


@pytest.fixture(scope="module")
def runtime():
    return runtime_packages(RUNTIME_YML.read_text())


@pytest.mark.skipif(
    not SHARED_RUNTIME_YML.exists(), reason=f"no shared copy at {SHARED_RUNTIME_YML}"
)
def test_runtime_list_is_the_shared_one():
    assert RUNTIME_YML.read_text() == SHARED_RUNTIME_YML.read_text()


def test_runtime_list_reads_as_published(runtime):
    # The facts the notebooks rely on (docs/lab-notebooks.md).
    assert runtime["python"].startswith("3.11")
    assert runtime["azure-ai-ml"] == "1.28.1"
    assert runtime["mlflow-skinny"] == "2.18.0"
    assert runtime["onnx"] == "1.18.0"
    assert runtime["pyarrow"].startswith("19.")
    assert "onnxruntime" not in runtime and "mlflow" not in runtime
    assert "azureml-automl-runtime" not in runtime


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_import_is_in_the_runtime_or_installed_by_pip(path, runtime):
    installed = {canonicalize_name(r.name) for r in pip_installs(path)}
    for module in sorted(notebook_imports(path)):
        package = distribution_of(module)
        if package is None:
            continue
        # mlflow-skinny and mlflow provide the same module; the runtime has the skinny one.
        assert package in runtime or package in installed, (
            f"{path.name} imports '{module}' ({package}): neither in the Spark 3.5 runtime nor %pip installed"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pip_installs_only_what_the_runtime_lacks(path, runtime):
    for requirement in pip_installs(path):
        name = canonicalize_name(requirement.name)
        assert name not in runtime, (
            f"{path.name} installs {name}, which the runtime has ({runtime[name]})"
        )
        assert not name.startswith("azureml-automl"), f"{path.name} installs the AutoML runtime"


def test_the_notebooks_need_only_onnxruntime_beyond_the_runtime():
    """Notebook 1 installs nothing; 2 and 3 install onnxruntime, nothing else (no full mlflow)."""
    installs = {p.stem: [str(r) for r in pip_installs(p)] for p in NOTEBOOKS}
    assert installs == {
        "01-prepare-data": [],
        "02-train-automl": ["onnxruntime<1.27,>=1.20"],
        "03-predict": ["onnxruntime<1.27,>=1.20"],
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pip_leaves_the_runtimes_packages_alone(path, runtime):
    """What %pip installs (as tested here) needs no newer version of a package the runtime has.

    Else %pip would upgrade it under the runtime's other packages (onnxruntime 1.27+
    wants protobuf >= 4.25.8; the runtime has 4.25.3).
    """
    for requirement in pip_installs(path):
        installed = metadata.distribution(requirement.name)
        assert requirement.specifier.contains(installed.version), (
            f"the tests run {requirement.name} {installed.version}, outside the notebook's {requirement}"
        )
        for line in installed.requires or ():
            dependency = Requirement(line)
            if dependency.marker is not None and not dependency.marker.evaluate({"extra": ""}):
                continue
            have = runtime.get(canonicalize_name(dependency.name))
            if have is not None:
                assert dependency.specifier.contains(have, prereleases=True), (
                    f"{requirement.name} {installed.version} needs {dependency}; the runtime has {have}"
                )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_notebook_imports_the_automl_runtime(path):
    imports = notebook_imports(path)
    text = "".join(
        "".join(c["source"]) for c in load_notebook(path)["cells"] if c["cell_type"] == "code"
    )
    assert not any(m.split(".")[0] == "azureml" for m in imports)
    assert "mlflow.pyfunc.load_model" not in text and not imports & {
        "pickle",
        "cloudpickle",
        "joblib",
    }


def test_imports_resolve_against_a_small_environment():
    """The check itself: a missing package and an extra %pip are caught."""
    runtime = runtime_packages("  - python=3.11.8=h1\n  - pip:\n      - onnx==1.18.0\n")
    assert runtime == {"python": "3.11.8", "onnx": "1.18.0"}
    assert distribution_of("onnxruntime") == "onnxruntime"
    assert distribution_of("azure.ai.ml.entities") == "azure-ai-ml"
    assert distribution_of("azure.core.credentials") == "azure-core"
    assert distribution_of("json") is None
    assert distribution_of("com") == "sqlanalyticsconnectorpy"
