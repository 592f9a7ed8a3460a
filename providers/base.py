"""What every lab dynamic resource shares: the pickler guard, wire-format normalising, diffing.

Pickler guard: pulumi 3.272's ``serialize_provider`` (run by every
``pulumi.dynamic.Resource`` constructor) replaces ``pickle._Pickler._batch_setitems``
and ``save_dict`` with wrappers of the current ones and never puts them back, so
each dynamic resource adds a stack frame to every later dict pickling; after
roughly 300-480 of them the next constructor raises RecursionError. A section of
40 to 60 students reaches that (8 per student; ``lab:sectionSize`` allows up to
1,000), so :class:`LabDynamicResource` saves the pickler
attributes before ``super().__init__`` and restores them afterwards: the depth
stays at one wrapper, however many resources the program declares.

Wire format: the engine hands ``diff``/``update``/``delete`` the old *outputs*,
numbers arrive as floats and keys whose value is None are dropped. :func:`from_wire`
undoes what can be undone (integral floats back to int, None keys dropped on both
sides) so that values compare equal whichever way they travelled.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pulumi
import pulumi.dynamic

# What the engine sends for a value not known yet (preview).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
PROVIDER_KEY = "__provider"

_PICKLER_ATTRIBUTES = ("_batch_setitems", "save_dict")
_MISSING = object()


@contextlib.contextmanager
def pickler_guard() -> Iterator[None]:
    """Restore ``pickle.Pickler`` and ``pickle._Pickler``'s patched methods on exit."""
    saved_pickler = pickle.Pickler
    saved = {name: vars(pickle._Pickler).get(name, _MISSING) for name in _PICKLER_ATTRIBUTES}
    try:
        yield
    finally:
        pickle.Pickler = saved_pickler
        for name, value in saved.items():
            if value is _MISSING:
                if name in vars(pickle._Pickler):
                    delattr(pickle._Pickler, name)
            else:
                setattr(pickle._Pickler, name, value)


class LabDynamicResource(pulumi.dynamic.Resource):
    """``pulumi.dynamic.Resource`` that leaves the pickler as it found it (see module doc)."""

    def __init__(
        self,
        provider: pulumi.dynamic.ResourceProvider,
        name: str,
        props: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        with pickler_guard():
            super().__init__(provider, name, dict(props), opts)


def from_wire(value: Any) -> Any:
    """Normalise a value that may have crossed the engine: integral floats -> int, None keys dropped."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): from_wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [from_wire(v) for v in value]
    return value


def inputs_of(props: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The normalised input keys of ``props`` (None / absent keys left out)."""
    return {k: from_wire(props[k]) for k in keys if props.get(k) is not None}


def contains_unknown(value: Any) -> bool:
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return False


def map_changes(prefix: str, old: Any, new: Any) -> list[str]:
    """``prefix.<key>`` for every key added, removed or changed between two mappings."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return [] if old == new else [prefix]
    return [f"{prefix}.{k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


class LabDiffResult(pulumi.dynamic.DiffResult):
    """``DiffResult`` that also lists the changed inputs as property paths.

    The engine's wire type has no room for them (it renders its own diff of the
    inputs); ``diffs`` is for humans, logs and tests, e.g. ``["notebooks.02-train-automl"]``.
    """

    def __init__(self, diffs: list[str], replaces: list[str], delete_before_replace: bool = True):
        super().__init__(
            changes=bool(diffs),
            replaces=replaces or None,
            delete_before_replace=delete_before_replace if replaces else None,
        )
        self.diffs = diffs


def diff_inputs(
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    keys: Iterable[str],
    replace_keys: Iterable[str] = (),
    detailed_keys: Iterable[str] = (),
) -> LabDiffResult:
    """Compare the input ``keys`` of old outputs and new inputs, robust to the wire format.

    ``detailed_keys`` are mappings reported per entry (``notebooks.<name>``);
    ``replace_keys`` need a new artifact when they change (or are not known yet).
    ``__provider`` is never compared: the provider class is pickled by reference,
    and a new pickle of the same settings must not cause an update.
    """
    replace_keys, detailed_keys = set(replace_keys), set(detailed_keys)
    diffs: list[str] = []
    replaces: list[str] = []
    for key in keys:
        old, new = olds.get(key), news.get(key)
        if contains_unknown(new):
            changed = [key]
        else:
            old, new = from_wire(old), from_wire(new)
            if old == new:
                continue
            changed = map_changes(key, old or {}, new or {}) if key in detailed_keys else [key]
        diffs.extend(changed or [key])
        if key in replace_keys:
            replaces.append(key)
    return LabDiffResult(diffs, replaces)
