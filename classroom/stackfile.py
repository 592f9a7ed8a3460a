"""The one reader of a stack's settings file, ``Pulumi.<stack>.yaml``, for every command.

The plan, the sections and the readiness check each want something different from
the file (stand-ins for secrets, validated settings, the roster), but they read it
here, the same way: a missing file, YAML that does not parse or a document that is
not a mapping is a :class:`StackFileError` naming the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The repository root: the Pulumi project, its stack files and __main__.py.
PROJECT_DIR = Path(__file__).resolve().parent.parent


class StackFileError(Exception):
    """Pulumi.<stack>.yaml is missing or is not a stack settings document."""


def stack_file(stack: str, root: Path = PROJECT_DIR) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def is_secure(value: Any) -> bool:
    """A value encrypted by the stack's secrets provider (``{secure: ...}``)."""
    return isinstance(value, dict) and set(value) == {"secure"}


@dataclass
class StackFile:
    path: Path
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        """``config:`` as written: encrypted values stay ``{secure: ...}``."""
        return self.document.get("config") or {}

    @property
    def secure_keys(self) -> list[str]:
        return [key for key, value in self.config.items() if is_secure(value)]

    def namespace(self, prefix: str) -> dict[str, Any]:
        """The keys of one namespace (``lab``) without their prefix, encrypted ones included."""
        return {
            key.split(":", 1)[1]: value
            for key, value in self.config.items()
            if key.startswith(f"{prefix}:")
        }


def yaml_problem(path: Path, error: yaml.YAMLError) -> str:
    """One line, ``file:line: the problem``, for a YAML syntax error (the parser's own is 4-8 lines)."""
    mark = getattr(error, "problem_mark", None)
    context_mark = getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    if context and context_mark is not None and (mark is None or context_mark.line != mark.line):
        context += f" that starts at line {context_mark.line + 1}"
    mark = mark or context_mark
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
    column = f" (column {mark.column + 1})" if mark is not None else ""
    what = f"{problem}{column} {context}" if context else f"{problem}{column}"
    return (
        f"{where}: {what}: fix the YAML (indent with spaces, not tabs; quote a value "
        "that holds ': ')"
    )


def config_lines(path: Path) -> dict[str, int]:
    """The line (from 1) of each key under ``config:`` in a stack file that parses."""
    try:
        root = yaml.compose(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    lines: dict[str, int] = {}
    for key, value in getattr(root, "value", []) if isinstance(root, yaml.MappingNode) else []:
        if key.value == "config" and isinstance(value, yaml.MappingNode):
            for inner, _ in value.value:
                lines[str(inner.value)] = inner.start_mark.line + 1
    return lines


def locate_problems(path: Path, problems: list[str]) -> list[str]:
    """Each problem that starts with a key of the file (``lab:students[0].id = ...``) as
    ``file:line: problem``; the others as they are."""
    lines = config_lines(path)
    located = []
    for problem in problems:
        key = re.match(r"[A-Za-z-]+:[A-Za-z]+", problem)
        line = lines.get(key.group(0)) if key else None
        located.append(f"{path}:{line}: {problem}" if line else problem)
    return located


def config_errors(path: Path, problems: list[str]) -> str:
    """A ConfigError's problems for the terminal: ``error: file:line: problem``, one line each."""
    return "\n".join(f"error: {line}" for line in locate_problems(path, problems))


def read_stack_file(path: Path, what: str = "stack config") -> StackFile:
    """Read one ``Pulumi.<stack>.yaml``; ``what`` names it in errors ("class config")."""
    if not path.is_file():
        raise StackFileError(f"no {what} {path.name} in {path.parent}")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise StackFileError(yaml_problem(path, error)) from None
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise StackFileError(f"{path.name} is not a Pulumi stack settings file (no config mapping)")
    return StackFile(path, document)
