"""The permission proof: what each lab step needs, what a student is granted, what they must not have.

The proof itself is data, ``lab/permissions.yaml``; this module reads it and
evaluates it with Azure's rules, as Microsoft documents them
(https://learn.microsoft.com/azure/role-based-access-control/role-definitions):

- an action string matches a pattern case-insensitively; ``*`` matches any run
  of characters, ``/`` included ("The wildcard (*) extends a permission to
  everything that matches the string you provide");
- a role allows an action when one of its ``Actions`` matches it and none of
  its ``NotActions`` does. ``NotActions`` are not a deny: they only subtract
  from that role's own ``Actions``, and another role can still grant the action;
- control-plane ``Actions`` never grant data-plane ``DataActions`` (Owner's
  ``*`` reads no blob); those are evaluated against ``DataActions`` and
  ``NotDataActions`` alone;
- a role assigned at a scope reaches that scope and everything below it, and a
  principal's access is the union of all their assignments.

What a student can do is more than their own roles: they act as every identity
they can reach (the Synapse workspace identity when their Synapse role lets them
use its credential, the Azure ML compute cluster's identity through the jobs they
submit, and whatever those can reach in turn). :meth:`Proof.reach` works that
out from ``identities`` in the proof, and every forbidden operation is checked
against each of them.

Synapse RBAC (Synapse Administrator, ...) is a separate system with its own
action names (which overlap ARM's, e.g. ``Microsoft.Synapse/workspaces/read``):
a need says which system it is checked in. Access to a SQL pool's data (T-SQL)
has no action name: the Synapse RBAC role page grants it in words (Synapse
Administrator: "Full Synapse access to serverless and dedicated SQL pools";
Synapse SQL Administrator: serverless only), so the fixture carries that
sentence (``sqlPools``) and a ``sqlPools`` need or forbidden entry is met by a
Synapse RBAC role whose sentence names it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .roles import CUSTOM_ROLES, CustomRole

PROOF_PATH = Path(__file__).with_name("permissions.yaml")
SYSTEMS = ("azure-rbac", "synapse-rbac")
KINDS = ("action", "dataAction", "sqlPools")


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else re.escape(c) for c in pattern), re.IGNORECASE | re.DOTALL
    )


def matches(pattern: str, action: str) -> bool:
    """Does an Actions/NotActions entry match an operation? (Azure's wildcard, case-insensitive)."""
    return _pattern(pattern).fullmatch(action) is not None


@dataclass(frozen=True)
class Role:
    """A role definition as the proof needs it: its system and its four action lists."""

    name: str
    system: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()
    # Synapse RBAC roles only: the role page's words on SQL pool access, or None.
    sql_pools: str | None = None

    @classmethod
    def from_definition(cls, name: str, definition: Mapping[str, Any]) -> Role:
        return cls(
            name=name,
            system=definition.get("system", "azure-rbac"),
            actions=tuple(definition.get("actions") or ()),
            not_actions=tuple(definition.get("notActions") or ()),
            data_actions=tuple(definition.get("dataActions") or ()),
            not_data_actions=tuple(definition.get("notDataActions") or ()),
            sql_pools=definition.get("sqlPools"),
        )

    def allows(self, kind: str, operation: str) -> bool:
        if kind == "action":
            allowed, removed = self.actions, self.not_actions
        elif kind == "dataAction":
            allowed, removed = self.data_actions, self.not_data_actions
        elif kind == "sqlPools":
            return self.sql_pools is not None and operation.lower() in self.sql_pools.lower()
        else:
            raise ValueError(f"unknown kind of permission {kind!r}; one of {KINDS}")
        return any(matches(p, operation) for p in allowed) and not any(
            matches(p, operation) for p in removed
        )


@dataclass(frozen=True)
class Need:
    """One permission: in which system, what kind, which operation, at which scope."""

    system: str
    kind: str
    operation: str
    scope: str
    why: str = ""

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Need:
        kinds = [k for k in KINDS if k in raw]
        if len(kinds) != 1:
            raise ValueError(f"a permission names exactly one of {KINDS}: {dict(raw)}")
        system = raw.get("system", "azure-rbac")
        if system not in SYSTEMS:
            raise ValueError(f"unknown system {system!r} in {dict(raw)}; one of {SYSTEMS}")
        return cls(system, kinds[0], str(raw[kinds[0]]), str(raw["scope"]), raw.get("why", ""))


@dataclass(frozen=True)
class Grant:
    role: str
    scope: str

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Grant:
        return cls(raw["role"], raw["scope"])


def exception_key(entry: Mapping[str, Any]) -> tuple[str, str, str, str, str]:
    """A ``not_prevented`` entry's (system, kind, operation, scope, principal): it names
    its operation as a forbidden entry does (``system``; ``action`` or ``sqlPools``)."""
    need = Need.parse({k: v for k, v in entry.items() if k in (*KINDS, "system", "scope")})
    return (
        need.system,
        need.kind,
        need.operation.lower(),
        need.scope,
        entry.get("principal", STUDENT),
    )


STUDENT = "student"


@dataclass(frozen=True)
class Identity:
    """An identity the program creates that a student can act as, and how."""

    name: str
    reached_by: Need  # the permission that lets a principal act as it
    grants: tuple[Grant, ...]
    how: str = ""
    doc: str = ""


@dataclass
class Proof:
    """``lab/permissions.yaml`` read: scopes, grants, steps, forbidden operations and the known exceptions."""

    parents: dict[str, str | None]
    grants: list[Grant]
    steps: list[dict[str, Any]]
    forbidden: list[Need]
    not_prevented: list[dict[str, Any]] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path = PROOF_PATH) -> Proof:
        raw = yaml.safe_load(path.read_text())
        return cls(
            parents=dict(raw["scopes"]),
            grants=[Grant.parse(g) for g in raw["grants"]],
            steps=[{**s, "needs": [Need.parse(n) for n in s["needs"]]} for s in raw["steps"]],
            forbidden=[Need.parse(f) for f in raw["forbidden"]],
            not_prevented=list(raw.get("not_prevented") or ()),
            identities=[
                Identity(
                    name=name,
                    reached_by=Need.parse(i["reached_by"]),
                    grants=tuple(Grant.parse(g) for g in i["grants"]),
                    how=i.get("how", ""),
                    doc=i.get("doc", ""),
                )
                for name, i in (raw.get("identities") or {}).items()
            ],
        )

    def reach(self, roles: Mapping[str, Role]) -> dict[str, list[Grant]]:
        """The student and every identity they can act as, directly or through another.

        An identity is reached when a principal already reached holds its
        ``reached_by`` permission (repeated until nothing new is reached).
        """
        reached: dict[str, list[Grant]] = {STUDENT: list(self.grants)}
        changed = True
        while changed:
            changed = False
            for identity in self.identities:
                if identity.name in reached:
                    continue
                if any(
                    self.granting(identity.reached_by, roles, grants)
                    for grants in list(reached.values())
                ):
                    reached[identity.name] = list(identity.grants)
                    changed = True
        return reached

    def reaches(self, granted_at: str, scope: str) -> bool:
        """Does a role assigned at ``granted_at`` apply at ``scope`` (itself or below it)?"""
        for known in (granted_at, scope):
            if known not in self.parents:
                raise ValueError(f"unknown scope {known!r}; known: {sorted(self.parents)}")
        current: str | None = scope
        while current is not None:
            if current == granted_at:
                return True
            current = self.parents[current]
        return False

    def granting(
        self, need: Need, roles: Mapping[str, Role], grants: Iterable[Grant] | None = None
    ) -> list[str]:
        """The granted roles (the student's, or ``grants``) that allow ``need`` where it is needed."""
        found = []
        for grant in self.grants if grants is None else grants:
            role = roles[grant.role]
            if role.system != need.system or not self.reaches(grant.scope, need.scope):
                continue
            if role.allows(need.kind, need.operation):
                found.append(grant.role)
        return found

    def uncovered(self, roles: Mapping[str, Role]) -> list[tuple[str, Need]]:
        """Every (step, need) that no granted role allows: empty when the lab can be done."""
        return [
            (step["step"], need)
            for step in self.steps
            for need in step["needs"]
            if not self.granting(need, roles)
        ]

    def excess(self, roles: Mapping[str, Role]) -> list[tuple[Need, str, list[str]]]:
        """Every forbidden operation the student, or an identity they reach, can do:
        (operation, who, the roles that allow it).

        An operation listed in ``not_prevented`` is expected there, for that
        principal (``principal``, the student when absent), with exactly its role;
        anything else allowed, or allowed by another role too, is excess.
        """
        known = {exception_key(e): [e["role"]] for e in self.not_prevented}
        found = []
        for who, grants in self.reach(roles).items():
            for need in self.forbidden:
                granting = self.granting(need, roles, grants)
                key = (need.system, need.kind, need.operation.lower(), need.scope, who)
                if granting and known.get(key) != granting:
                    found.append((need, who, granting))
        return found

    def stale_exceptions(self, roles: Mapping[str, Role]) -> list[dict[str, Any]]:
        """``not_prevented`` entries that are not forbidden, not reached, or no longer allowed by their role."""
        forbidden = {(f.system, f.kind, f.operation.lower(), f.scope): f for f in self.forbidden}
        reached = self.reach(roles)
        stale = []
        for entry in self.not_prevented:
            system, kind, operation, scope, who = exception_key(entry)
            need = forbidden.get((system, kind, operation, scope))
            grants = reached.get(who)
            if (
                need is None
                or grants is None
                or self.granting(need, roles, grants) != [entry["role"]]
            ):
                stale.append(entry)
        return stale

    def roles(
        self,
        definitions: Mapping[str, Mapping[str, Any]],
        custom: Iterable[CustomRole] = CUSTOM_ROLES,
    ) -> dict[str, Role]:
        """The roles the proof is evaluated with (``roles_from``)."""
        return roles_from(definitions, custom)


def roles_from(
    definitions: Mapping[str, Mapping[str, Any]], custom: Iterable[CustomRole] = CUSTOM_ROLES
) -> dict[str, Role]:
    """Role objects for the built-in definitions given and the project's custom roles (by role name)."""
    roles = {name: Role.from_definition(name, d) for name, d in definitions.items()}
    for c in custom:
        roles[c.role_name] = Role(
            name=c.role_name,
            system="azure-rbac",
            actions=c.actions,
            not_actions=c.not_actions,
            data_actions=c.data_actions,
            not_data_actions=c.not_data_actions,
        )
    return roles
