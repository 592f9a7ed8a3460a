"""synapse-ml-lab-guardrails: the lab's policy pack.

Run with the program: ``pulumi preview --policy-pack policy`` (from the project
root). The rules themselves are plain functions in ``rules.py``; this file only
wraps each one in a ``ResourceValidationPolicy`` at the level ``rules.POLICIES``
gives it (mandatory, except the advisory firewall rule).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

# Pulumi runs this file from the policy folder; the tests run it from the project
# root. Either way ``rules`` is the module next to this file.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import rules  # noqa: E402
from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

LEVELS = {rules.MANDATORY: EnforcementLevel.MANDATORY, rules.ADVISORY: EnforcementLevel.ADVISORY}


def plain(value: Any) -> Any:
    """The policy SDK's props as plain dicts and lists, unknown values as their sentinel string.

    The SDK wraps props in a proxy that raises ``UnknownValueError`` when an
    unknown (preview) value is read, which would abort the whole policy with a
    "can't run policy during preview" note. Reading everything up front keeps the
    sentinel instead, so each rule skips just that value and checks the rest.
    """
    if isinstance(value, Mapping):
        return {key: _read(value, key) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_read(value, index) for index in range(len(value))]
    return value


def _read(container: Any, key: Any) -> Any:
    try:
        return plain(container[key])
    except Exception as exc:  # pulumi_policy.proxy.UnknownValueError
        sentinel = getattr(exc, "unknown_type_sentinel", None)
        if sentinel is None:
            raise
        return sentinel


def resource_validation(rule: rules.Rule):
    """The SDK callback running one plain validator and reporting each of its messages."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule.validate(args.resource_type, plain(args.props)):
            report_violation(message, None)

    validate.rule = rule  # type: ignore[attr-defined]  # which validator it wraps (tests)
    return validate


def stack_validation(rule: rules.StackRule):
    """The SDK callback running one stack validator over every resource of the stack."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [(r.resource_type, plain(r.props)) for r in args.resources]
        for message in rule.validate(resources):
            report_violation(message, None)

    validate.rule = rule  # type: ignore[attr-defined]
    return validate


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    found: list[ResourceValidationPolicy | StackValidationPolicy] = [
        ResourceValidationPolicy(
            name=name,
            description=rule.description,
            enforcement_level=LEVELS[rule.level],
            validate=resource_validation(rule),
        )
        for name, rule in rules.POLICIES.items()
    ]
    found += [
        StackValidationPolicy(
            name=name,
            description=rule.description,
            enforcement_level=LEVELS[rule.level],
            validate=stack_validation(rule),
        )
        for name, rule in rules.STACK_POLICIES.items()
    ]
    return found


PolicyPack(
    name="synapse-ml-lab-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies(),
)
