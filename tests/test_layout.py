"""The layout's rule: imports point down only.

``__main__`` -> components -> providers -> lab; classroom uses lab (and runs the
program) but nothing imports classroom. A folder that reaches up (a provider
importing a component, the lab model importing Pulumi resources) breaks what the
tree says about where code runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

# package -> packages of the project it may import
ALLOWED = {
    "lab": set(),
    "providers": {"lab"},
    "components": {"lab", "providers"},
    "notebooks": set(),
    "classroom": {"lab", "components", "providers", "notebooks", "classroom"},
}
PROJECT_PACKAGES = set(ALLOWED)


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & PROJECT_PACKAGES


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down_only(package):
    wrong = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        reached = imported_packages(path) - ALLOWED[package] - {package}
        if reached:
            wrong[str(path.relative_to(ROOT))] = sorted(reached)
    assert wrong == {}


def test_the_lab_model_declares_no_resources():
    for path in sorted((ROOT / "lab").rglob("*.py")):
        text = path.read_text()
        assert (
            "pulumi_azure_native" not in text
            and "pulumi_random" not in text
            and "pulumi.dynamic" not in text
        ), path


def test_the_program_imports_no_tool():
    assert imported_packages(ROOT / "__main__.py") <= {"lab", "components"}


# classroom/ by job: planning before class, running it, checking it. A job may use the
# jobs before it (checking reads sections and prices), never one after it, so there are
# no import cycles between them; stackfile is the one reader of Pulumi.<stack>.yaml;
# arguments (the command line's errors, help and value types) and signin (the Azure
# sign-in of the commands) are shared by every job and import none.
SHARED = {"stackfile", "arguments", "signin"}
CLASSROOM_JOBS = {
    "planning": SHARED,
    "running": SHARED | {"planning"},
    "checking": SHARED | {"planning", "running"},
    "stackfile": set(),
    "arguments": set(),
    "signin": set(),
}


def classroom_parts_imported(path: Path) -> set[str]:
    """The classroom subpackages (and modules) one file imports, relative imports resolved."""
    package = path.relative_to(ROOT / "classroom").parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                names = [".".join(["classroom", *base, *([node.module] if node.module else [])])]
            elif node.module:
                names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "classroom" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("job", sorted(CLASSROOM_JOBS))
def test_classroom_jobs_import_only_earlier_jobs(job):
    where = ROOT / "classroom" / job
    files = sorted(where.rglob("*.py")) if where.is_dir() else [where.with_suffix(".py")]
    assert files and all(f.is_file() for f in files)
    wrong = {}
    for path in files:
        reached = classroom_parts_imported(path) - CLASSROOM_JOBS[job] - {job}
        if reached:
            wrong[str(path.relative_to(ROOT))] = sorted(reached)
    assert wrong == {}


def test_one_reader_of_the_stack_file(tmp_path, monkeypatch):
    """plan, sections and status read Pulumi.<stack>.yaml through classroom.stackfile."""
    from classroom import stackfile
    from classroom.checking import environments
    from classroom.planning import plan
    from classroom.running import sections

    (tmp_path / "Pulumi.broken.yaml").write_text("config: [not, a, mapping]\n")
    readers = []
    real = stackfile.read_stack_file

    def spy(path, *args):
        readers.append(path.name)
        return real(path, *args)

    for module in (plan, sections, environments):
        monkeypatch.setattr(module, "read_stack_file", spy)
    calls = (
        lambda: plan.load_stack_config("broken", tmp_path / "Pulumi.broken.yaml"),
        lambda: sections.load_class("broken", tmp_path),
        lambda: environments._yaml_config(tmp_path / "Pulumi.broken.yaml"),
    )
    for call in calls:
        with pytest.raises(
            Exception, match="Pulumi.broken.yaml is not a Pulumi stack settings file"
        ):
            call()
    assert readers == ["Pulumi.broken.yaml"] * 3


# The readiness check (classroom/checking/readiness/) by what each part reads. Every part
# stands on model (what is checked, the verdicts) and base (findings, SDK errors in words);
# no part imports another, so checks.py alone decides their order, and none imports the
# rest of checking/ but access.py (the roles the lab needs), which reaches nothing back.
# Each part may use the read-only client factories (readonly.py: no part builds an SDK client
# that could register a namespace or write); the data-plane part runs the cost guard's check.
READINESS_PARTS = {
    "model": set(),
    "base": {"model", "readonly"},
    "provisioning": {"model", "base", "readonly"},
    "data_plane": {"model", "base", "readonly", "guard"},
    "roles": {"model", "base", "access", "readonly"},
    "cost": {"model", "base"},
}


def checking_modules_imported(path: Path) -> set[str]:
    """The modules of classroom/checking/ (or of its readiness/) that one file imports."""
    package = path.relative_to(ROOT).parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
                names = [f"{module}.{alias.name}" for alias in node.names] + [module]
            else:
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.replace("/", ".").split(".")
            if parts[:2] == ["classroom", "checking"] and len(parts) > 2:
                found.add(parts[3] if parts[2] == "readiness" and len(parts) > 3 else parts[2])
    return found


def test_the_readiness_parts_import_only_model_and_base():
    where = ROOT / "classroom" / "checking" / "readiness"
    assert sorted(p.stem for p in where.glob("*.py")) == sorted([*READINESS_PARTS, "__init__"])
    wrong = {}
    for part, allowed in READINESS_PARTS.items():
        reached = checking_modules_imported(where / f"{part}.py") - allowed - {"readiness", part}
        if reached:
            wrong[part] = sorted(reached)
    assert wrong == {}
    assert checking_modules_imported(ROOT / "classroom" / "checking" / "access.py") == set()


def test_no_big_class_in_the_tools_and_providers():
    """No class of 300 lines or more in classroom/ or providers/ (split by what each part does)."""
    big = {}
    for folder in ("classroom", "providers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno >= 300:
                    big[f"{path.relative_to(ROOT)}:{node.name}"] = node.end_lineno - node.lineno
    assert big == {}
