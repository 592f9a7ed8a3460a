"""The one reader of a stack's settings file, ``Pulumi.<stack>.yaml``, for every command.

The plan, the sections and the readiness check each want something different from
the file (stand-ins for secrets, validated settings, the roster), but they read it
here, the same way: a missing file, YAML that does not parse or a document that is
not a mapping is a :class:`StackFileError` naming the file.
"""

from __future__ import annotations

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


def read_stack_file(path: Path, what: str = "stack config") -> StackFile:
    """Read one ``Pulumi.<stack>.yaml``; ``what`` names it in errors ("class config")."""
    if not path.is_file():
        raise StackFileError(f"no {what} {path.name} in {path.parent}")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise StackFileError(f"{path.name} is not a Pulumi stack settings file (no config mapping)")
    return StackFile(path, document)
