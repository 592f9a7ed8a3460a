"""A small runner for the Synapse pipeline expression subset and activities the cost guard uses.

What it covers, and the rules it follows (learn.microsoft.com/azure/data-factory/control-flow-expression-language-functions):

- an expression is a JSON string starting with ``@`` (``@@`` escapes a literal ``@``);
  a value ``{"value": "...", "type": "Expression"}`` is evaluated, a plain string is not;
- string literals in single quotes, ``''`` for a quote; function calls
  ``concat(...)`` (strings only), ``equals(a, b)`` (case-sensitive for strings),
  ``pipeline()`` and ``activity('name')`` followed by ``.property`` access
  (``pipeline().parameters.X``: the parameter's value or its default;
  ``activity('A').output``: A's output, an error when A did not succeed);
  any other function or syntax is an error here, so the pipeline may use no more;
- a Web activity sends its method to its URL with a managed identity token for
  ``authentication.resource``; a status >= 400 fails it; a 202 with ``Location`` is
  polled until it is no longer 202 (the Web activity's async pattern,
  learn.microsoft.com/azure/data-factory/control-flow-web-activity, ``disableAsyncPattern``);
  its output is the JSON body;
- ``dependsOn`` with ``Succeeded`` runs an activity only after its dependency
  succeeded, otherwise it is Skipped; an If Condition runs ``ifTrueActivities`` or
  ``ifFalseActivities``; the run fails when any activity failed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests


class ExpressionError(ValueError):
    pass


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[(),.\[\]]))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ExpressionError(f"cannot read {text[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


@dataclass
class Context:
    parameters: Mapping[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)


def evaluate(value: Any, ctx: Context) -> Any:
    """An activity property: an Expression object or an @-string is evaluated, anything else kept."""
    if isinstance(value, Mapping) and value.get("type") == "Expression":
        return evaluate_text(str(value["value"]), ctx)
    if isinstance(value, str) and value.startswith("@") and not value.startswith("@@"):
        return evaluate_text(value, ctx)
    if isinstance(value, str) and value.startswith("@@"):
        return value[1:]
    return value


def evaluate_text(text: str, ctx: Context) -> Any:
    if not text.startswith("@"):
        raise ExpressionError(f"an expression starts with '@': {text!r}")
    tokens = _tokens(text[1:])
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(expected: str | None = None) -> tuple[str, str]:
        nonlocal pos
        token = peek()
        if token is None or (expected is not None and token[1] != expected):
            raise ExpressionError(f"expected {expected!r} in {text!r}, found {token}")
        pos += 1
        return token

    def primary() -> Any:
        kind, value = take()
        if kind == "str":
            result: Any = value[1:-1].replace("''", "'")
        elif kind == "num":
            result = float(value) if "." in value else int(value)
        elif kind == "name":
            take("(")
            args = []
            if peek() != ("op", ")"):
                args.append(primary())
                while peek() == ("op", ","):
                    take(",")
                    args.append(primary())
            take(")")
            result = call(value, args)
        else:
            raise ExpressionError(f"unexpected {value!r} in {text!r}")
        while peek() == ("op", "."):
            take(".")
            _, prop = take()
            if not isinstance(result, Mapping) or prop not in result:
                raise ExpressionError(f"property {prop!r} not found in {text!r}")
            result = result[prop]
        return result

    def call(name: str, args: list[Any]) -> Any:
        if name == "concat":
            if not all(isinstance(a, str) for a in args):
                raise ExpressionError(f"concat takes strings here: {args!r}")
            return "".join(args)
        if name == "equals":
            if len(args) != 2:
                raise ExpressionError("equals takes two arguments")
            return args[0] == args[1]
        if name == "pipeline" and not args:
            return {
                "parameters": {k: v for k, v in ctx.parameters.items()},
            }
        if name == "activity" and len(args) == 1:
            activity = args[0]
            if ctx.statuses.get(activity) != "Succeeded":
                raise ExpressionError(f"activity {activity!r} has no output (it did not succeed)")
            return {"output": ctx.outputs[activity]}
        raise ExpressionError(f"function {name}() is outside the subset this runner knows")

    result = primary()
    if pos != len(tokens):
        raise ExpressionError(f"trailing text in {text!r}")
    return result


@dataclass
class Run:
    status: str
    statuses: dict[str, str]
    outputs: dict[str, Any]
    errors: dict[str, str]
    requests: list[tuple[str, str]]


def run_pipeline(
    properties: Mapping[str, Any],
    *,
    token_for: Callable[[str], str],
    rewrite_url: Callable[[str], str] = lambda url: url,
    verify: str | bool = True,
    parameters: Mapping[str, Any] | None = None,
    max_polls: int = 20,
) -> Run:
    """Run a pipeline's activities as the service would (the subset above)."""
    values = {
        k: spec.get("defaultValue") for k, spec in (properties.get("parameters") or {}).items()
    }
    values.update(parameters or {})
    ctx = Context(values)
    errors: dict[str, str] = {}
    sent: list[tuple[str, str]] = []

    def web(activity: Mapping[str, Any]) -> Any:
        props = activity["typeProperties"]
        method = str(props["method"]).upper()
        url = evaluate(props["url"], ctx)
        auth = props.get("authentication") or {}
        if auth.get("type") != "MSI":
            raise ExpressionError("only managed identity authentication is modelled")
        headers = {"Authorization": f"Bearer {token_for(str(auth['resource']))}"}
        body = evaluate(props.get("body"), ctx) if "body" in props else None
        if method in ("POST", "PUT") and body is None:
            # The Web activity requires a body for POST/PUT (control-flow-web-activity, "body").
            raise ExpressionError(f"{activity['name']}: a {method} needs a body")
        data = body if isinstance(body, str) else (json.dumps(body) if body is not None else None)
        target = rewrite_url(url)
        sent.append((method, url))
        response = requests.request(
            method, target, headers=headers, data=data, verify=verify, timeout=10
        )
        polls = 0
        while (
            response.status_code == 202 and response.headers.get("Location") and polls < max_polls
        ):
            polls += 1
            time.sleep(0.001)
            response = requests.get(
                rewrite_url(response.headers["Location"]),
                headers=headers,
                verify=verify,
                timeout=10,
            )
        if response.status_code >= 400:
            raise RuntimeError(
                f"{activity['name']}: {method} {url} answered {response.status_code}: {response.text[:200]}"
            )
        return response.json() if response.content else {}

    def run_list(activities: list[Mapping[str, Any]]) -> None:
        for activity in activities:
            name = activity["name"]
            needs = activity.get("dependsOn") or []
            if any(
                ctx.statuses.get(d["activity"]) not in d.get("dependencyConditions", ["Succeeded"])
                for d in needs
            ):
                ctx.statuses[name] = "Skipped"
                continue
            try:
                if activity["type"] == "WebActivity":
                    ctx.outputs[name] = web(activity)
                elif activity["type"] == "IfCondition":
                    props = activity["typeProperties"]
                    chosen = evaluate(props["expression"], ctx)
                    if not isinstance(chosen, bool):
                        raise ExpressionError(
                            f"{name}: the expression is not a boolean: {chosen!r}"
                        )
                    ctx.outputs[name] = {}
                    branch = props.get("ifTrueActivities" if chosen else "ifFalseActivities") or []
                    run_list(list(branch))
                    if any(ctx.statuses.get(a["name"]) == "Failed" for a in branch):
                        raise RuntimeError(f"{name}: an activity of the branch failed")
                else:
                    raise ExpressionError(f"activity type {activity['type']} is not modelled")
                ctx.statuses[name] = "Succeeded"
            except (RuntimeError, ExpressionError, requests.RequestException) as exc:
                ctx.statuses[name] = "Failed"
                errors[name] = str(exc)

    run_list(list(properties.get("activities") or []))
    status = "Failed" if "Failed" in ctx.statuses.values() else "Succeeded"
    return Run(status, dict(ctx.statuses), dict(ctx.outputs), errors, sent)
