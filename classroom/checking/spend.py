"""What each student's environment has really cost: the Cost Management Query API.

``classroom status`` (unless ``--no-spend``) asks, per student, for the actual cost
of their resource group since a date (default: the first of this month, where the
budgets start), grouped by service, day by day so that the last day with data
says how fresh the figure is: Cost Management's data lags the usage by hours
(learn.microsoft.com/azure/cost-management-billing/costs/understand-cost-mgt-data,
"Cost and usage data is typically available ... within 8-24 hours").

The call: ``POST {scope}/providers/Microsoft.CostManagement/query`` with scope the
resource group (REST "Query - Usage"; azure-mgmt-costmanagement's
``client.query.usage``). The service answers at most 1000 rows per call; past them
its answer carries ``properties.nextLink`` with a ``$skiptoken``, which the SDK does
not follow (the operation is not x-ms-pageable: Azure/azure-rest-api-specs#22528, the
service team's answer: "invoke the Cost management query API, get the NextLink
marker and enumerate through it until the provided nextLink is null"; REST
"Query - Usage", QueryProperties.nextLink). Each next page is the same POST with
that ``$skiptoken``, on the same client. Throttling is a 429 with Retry-After, retried by
azure-core's policy; what still fails is a sentence on that student's spend, never
a failed check. A subscription whose offer has no Cost Management data (the
service answers 400 "Cost Management supports only Enterprise Agreement, Web
direct and Microsoft Customer Agreement offer types", or 404 "doesn't have valid
WebDirect/AIRS": Azure/azure-powershell#11642, microsoft/AzureTRE#2823) is one
warning for that subscription, not one per student.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from classroom.stackfile import StackFileError, read_stack_file, stack_file

from .checks import CheckSettings, Endpoints, Environment

COST_API_VERSION = "2023-03-01"
# A month of daily rows per service is a few hundred; a bound on a looping nextLink.
MAX_COST_PAGES = 50
_NO_COST_DATA = (
    "supports only enterprise agreement",
    "not associated with a valid offer type",
    "doesn't have valid webdirect",
    "subscriptiontypenotsupported",
)


@dataclass
class Spend:
    """One student's actual cost since ``since`` (``total`` None when it could not be read)."""

    student: str
    subscription: str
    since: dt.date
    total: float | None = None
    currency: str = "USD"
    by_service: dict[str, float] = field(default_factory=dict)
    as_of: dt.date | None = None  # the last day Cost Management has data for
    error: str | None = None
    no_cost_data: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": None if self.total is None else round(self.total, 2),
            "currency": self.currency,
            "since": self.since.isoformat(),
            "asOf": self.as_of.isoformat() if self.as_of else None,
            "byService": {k: round(v, 2) for k, v in sorted(self.by_service.items())},
            "error": self.error,
        }


def default_since(today: dt.date | None = None) -> dt.date:
    return (today or dt.date.today()).replace(day=1)


def query_definition(since: dt.date, until: dt.date) -> Any:
    from azure.mgmt.costmanagement import models

    return models.QueryDefinition(
        type="ActualCost",
        timeframe="Custom",
        time_period=models.QueryTimePeriod(
            from_property=dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC),
            to=dt.datetime.combine(until, dt.time(23, 59, 59), tzinfo=dt.UTC),
        ),
        dataset=models.QueryDataset(
            granularity="Daily",
            aggregation={"totalCost": models.QueryAggregation(name="Cost", function="Sum")},
            grouping=[models.QueryGrouping(type="Dimension", name="ServiceName")],
        ),
    )


def _skiptoken(next_link: str) -> str | None:
    """The ``$skiptoken`` of a Query API nextLink (None when it has none)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(next_link).query)
    return (query.get("$skiptoken") or [None])[0]


def _usage_pages(client: Any, scope: str, definition: Any) -> list[Any]:
    """Every page of one cost query: the first answer, then each nextLink's, in order."""
    pages = [client.query.usage(scope, definition, api_version=COST_API_VERSION)]
    while pages[-1] is not None and pages[-1].next_link:
        token = _skiptoken(pages[-1].next_link)
        if token is None or len(pages) >= MAX_COST_PAGES:
            raise ValueError(
                f"Cost Management's nextLink cannot be followed: {pages[-1].next_link}"
            )
        pages.append(
            client.query.usage(
                scope, definition, api_version=COST_API_VERSION, params={"$skiptoken": token}
            )
        )
    return pages


def _rows(result: Any) -> tuple[float, str, dict[str, float], dt.date | None]:
    """(total, currency, cost per service, last day with data) from a QueryResult."""
    names = [str(c.name).lower() for c in (result.columns or [])]

    def index(*options: str) -> int | None:
        for option in options:
            if option in names:
                return names.index(option)
        return None

    cost_at = index("cost", "pretaxcost", "totalcost")
    service_at = index("servicename")
    date_at = index("usagedate")
    currency_at = index("currency")
    total, currency, by_service, last = 0.0, "USD", {}, None
    for row in result.rows or []:
        cost = float(row[cost_at]) if cost_at is not None else 0.0
        total += cost
        service = str(row[service_at]) if service_at is not None else "all"
        by_service[service] = by_service.get(service, 0.0) + cost
        if currency_at is not None and row[currency_at]:
            currency = str(row[currency_at])
        if date_at is not None and row[date_at]:
            day = dt.datetime.strptime(str(int(row[date_at])), "%Y%m%d").date()
            last = day if last is None or day > last else last
    return total, currency, by_service, last


def _no_cost_data(error: Exception) -> bool:
    text = str(error).lower()
    return any(marker in text for marker in _NO_COST_DATA)


def student_spend(
    env: Environment,
    *,
    credential: Any,
    endpoints: Endpoints,
    settings: CheckSettings,
    since: dt.date,
    until: dt.date,
) -> Spend:
    from azure.core.exceptions import AzureError, HttpResponseError

    from .readonly import CostManagementClient

    spend = Spend(env.student, env.subscription, since)
    if not env.resource_group:
        spend.error = "no resource group in the stack's outputs"
        return spend
    try:
        with CostManagementClient(
            credential, base_url=endpoints.arm, **settings.client_kwargs()
        ) as client:
            pages = _usage_pages(client, env.resource_group_id, query_definition(since, until))
    except HttpResponseError as error:
        if _no_cost_data(error):
            spend.no_cost_data = True
            spend.error = "the subscription has no Cost Management data (its offer type)"
        elif error.status_code == 429:
            spend.error = "Cost Management is throttling: try again in a minute"
        elif error.status_code in (401, 403):
            spend.error = (
                "not allowed to read costs (Cost Management Reader on the group is needed)"
            )
        else:
            spend.error = f"Cost Management answered {error.status_code}: {error.reason}"
        return spend
    except AzureError as error:
        spend.error = f"no answer from Cost Management ({type(error).__name__})"
        return spend
    except ValueError as error:
        spend.error = str(error)
        return spend
    if any(page is None for page in pages):
        spend.error = "Cost Management returned no result"
        return spend
    spend.total, spend.by_service, spend.as_of = 0.0, {}, None
    for page in pages:
        total, spend.currency, by_service, last = _rows(page)
        spend.total += total
        for service, cost in by_service.items():
            spend.by_service[service] = spend.by_service.get(service, 0.0) + cost
        if last is not None and (spend.as_of is None or last > spend.as_of):
            spend.as_of = last
    return spend


def class_spend(
    envs: Sequence[Environment],
    *,
    credential: Any,
    endpoints: Endpoints,
    settings: CheckSettings,
    since: dt.date | None = None,
    today: dt.date | None = None,
    progress: Callable[[Spend], None] | None = None,
) -> dict[str, Spend]:
    """Every student's spend, ``settings.concurrency`` at a time."""
    today = today or dt.date.today()
    since = since or default_since(today)

    def one(env: Environment) -> Spend:
        spend = student_spend(
            env,
            credential=credential,
            endpoints=endpoints,
            settings=settings,
            since=since,
            until=today,
        )
        if progress:
            progress(spend)
        return spend

    with ThreadPoolExecutor(max_workers=max(1, settings.concurrency)) as pool:
        return {s.student: s for s in pool.map(one, envs)}


def warnings(spends: Mapping[str, Spend]) -> list[str]:
    """One line per subscription without cost data; one for the other failures together."""
    lines = []
    for sub in sorted({s.subscription for s in spends.values() if s.no_cost_data}):
        lines.append(
            f"subscription {sub} has no Cost Management data (Cost Management covers Enterprise "
            "Agreement, pay-as-you-go and Microsoft Customer Agreement subscriptions): no spend "
            "for its students; the estimate still applies"
        )
    failed = sorted(s.student for s in spends.values() if s.error and not s.no_cost_data)
    if failed:
        first = next(s for s in spends.values() if s.student == failed[0])
        lines.append(
            f"spend not read for {len(failed)} student(s) ({', '.join(failed[:5])}"
            f"{', ...' if len(failed) > 5 else ''}): {first.error}"
        )
    return lines


def budget_per_student(stacks: Sequence[str]) -> float | None:
    """``lab:budget.amountPerStudent`` of the class config, when it has one."""
    try:
        config = read_stack_file(stack_file(stacks[0])).namespace("lab")
    except (StackFileError, IndexError):
        return None
    budget = config.get("budget")
    if isinstance(budget, str):
        import json

        try:
            budget = json.loads(budget)
        except ValueError:
            return None
    amount = budget.get("amountPerStudent") if isinstance(budget, dict) else None
    return float(amount) if isinstance(amount, (int, float)) else None


def summary(
    spends: Mapping[str, Spend], budget: float | None, estimate_per_day: float | None = None
) -> dict[str, Any]:
    """The class's spend for the report: per student (closest to budget first) and in total."""
    read = [s for s in spends.values() if s.total is not None]
    currency = read[0].currency if read else "USD"

    def share(s: Spend) -> float:
        return (s.total or 0.0) / budget if budget else (s.total or 0.0)

    ordered = sorted(spends.values(), key=lambda s: (s.total is None, -share(s), s.student))
    dates = [s.as_of for s in read if s.as_of]
    return {
        "currency": currency,
        "since": next(iter(spends.values())).since.isoformat() if spends else None,
        "asOf": min(dates).isoformat() if dates else None,
        "total": round(sum(s.total or 0.0 for s in read), 2) if read else None,
        "studentsRead": len(read),
        "budgetPerStudent": budget,
        "budgetTotal": round(budget * len(spends), 2) if budget else None,
        "estimateIdlePerDay": estimate_per_day,
        "students": [
            {
                "student": s.student,
                **s.as_dict(),
                "budgetUsed": round((s.total or 0.0) / budget * 100, 1)
                if budget and s.total is not None
                else None,
            }
            for s in ordered
        ],
        "warnings": warnings(spends),
    }


def render(data: Mapping[str, Any]) -> str:
    """Two lines for the terminal table."""
    if data.get("total") is None:
        lines = ["spend: not available"]
    else:
        budget = (
            f" of a {data['budgetTotal']:.2f} {data['currency']} budget"
            if data.get("budgetTotal")
            else ""
        )
        top = next((s for s in data["students"] if s["total"] is not None), None)
        closest = (
            f"; closest to budget: {top['student']} ({top['budgetUsed']:.0f}%)"
            if top and top.get("budgetUsed") is not None
            else ""
        )
        lines = [
            f"spend since {data['since']}: {data['total']:.2f} {data['currency']}{budget} "
            f"(Cost Management data as of {data['asOf'] or '?'}){closest}"
        ]
    return "\n".join(lines + [f"warning: {w}" for w in data.get("warnings") or []])


def spend_section(
    data: Mapping[str, Any] | None, estimates: Mapping[str, Any] | None = None
) -> str:
    """The class page's "What the class has spent" section (empty without spend data)."""
    import html

    if not data:
        return ""
    e = lambda v: html.escape(str(v), quote=True)  # noqa: E731
    currency = data.get("currency", "USD")
    estimates = estimates or {}

    def money(value: Any) -> str:
        return "-" if value is None else f"{float(value):,.2f} {e(currency)}"

    rows = []
    for s in data.get("students") or []:
        used = s.get("budgetUsed")
        # An SVG bar sized by attributes, coloured by class: the page's Content-Security-Policy
        # allows no inline style attribute, and the percentage is written out beside it.
        level = "over" if (used or 0) >= 100 else "near" if (used or 0) >= 80 else "ok"
        bar = (
            f'<svg class="budget-bar" width="100" height="10" aria-hidden="true">'
            f'<rect class="budget-{level}" width="{min(used, 100):.0f}" height="10"/></svg> '
            f"{used:.0f}%{' (over budget)' if level == 'over' else ''}"
            if used is not None
            else "-"
        )
        estimate = estimates.get(s["student"])
        rows.append(
            f'<tr data-student="{e(s["student"])}"><td>{e(s["student"])}</td>'
            f'<td class="num">{money(s.get("total"))}</td><td>{bar}</td>'
            f'<td class="num">{money(estimate)}</td>'
            f"<td>{e(s.get('asOf') or '')}{e(s.get('error') or '')}</td></tr>"
        )
    warnings = "".join(f'<p class="warn-line">{e(w)}</p>' for w in data.get("warnings") or [])
    budget = (
        f" · budget {money(data.get('budgetPerStudent'))} per student, {money(data.get('budgetTotal'))} for the class"
        if data.get("budgetTotal")
        else ""
    )
    return f"""<section aria-labelledby="spend-h" id="spend">
  <h2 id="spend-h">What the class has spent</h2>
  <p><b id="spend-total">{money(data.get("total"))}</b> since {e(data.get("since") or "?")}{budget}
  · Cost Management data as of {e(data.get("asOf") or "?")} (it lags by hours)</p>
  {warnings}
  <div class="table-wrap"><table id="spend-table">
    <thead><tr><th scope="col">Student</th><th scope="col" class="num">Spent</th>
    <th scope="col">Of budget</th><th scope="col" class="num">Estimate, idle / day</th><th scope="col">Data as of</th></tr></thead>
    <tbody>
{chr(10).join(rows)}
    </tbody>
  </table></div>
</section>"""
