"""lab:pauseSqlPoolAt, lab:timeZone and lab:budget: read, defaulted and refused by name at preview."""

from __future__ import annotations

import datetime as dt

import pytest

from lab import cost_guard
from lab.config import ConfigError, LabSettings, parse

GOOD = {"expiresOn": "2026-12-20"}
BUDGET = '{"amountPerStudent": 40, "contactEmails": ["Teacher@Example.org"], "thresholds": [80, 50, 100]}'


def settings(location: str = "westeurope", **raw) -> LabSettings:
    return parse({**GOOD, **raw}, location=location, stack_name="dev")


def problems(location: str = "westeurope", **raw) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings(location, **raw)
    return info.value.problems


def test_defaults_pause_at_23_in_the_regions_time_zone_and_no_budget():
    s = settings()
    assert s.pause_sql_pool_at == ((23, 0),)
    assert s.time_zone == "Europe/Amsterdam"
    assert s.pause_schedule_on is True
    assert s.budget is None
    assert settings("eastus2").time_zone == "America/New_York"
    # A region the table does not know pauses in UTC.
    assert settings("jioindiawest").time_zone == "UTC"


def test_times_are_sorted_and_deduplicated_and_an_empty_list_turns_the_schedule_off():
    s = settings(pauseSqlPoolAt='["23:30", "01:05", "23:30"]')
    assert s.pause_sql_pool_at == ((1, 5), (23, 30))
    off = settings(pauseSqlPoolAt="[]")
    assert off.pause_sql_pool_at == () and off.pause_schedule_on is False
    assert settings(dedicatedSqlPool="false").pause_schedule_on is False


@pytest.mark.parametrize(
    "value, words",
    [
        ('["24:00"]', "'24:00', which is not a 24-hour time"),
        ('["7:00"]', "'7:00', which is not a 24-hour time"),
        ('"23:00"', 'must be a list of "HH:MM" strings'),
        ("[2300]", 'must be a list of "HH:MM" strings'),
    ],
)
def test_bad_times_name_the_key(value, words):
    found = problems(pauseSqlPoolAt=value)
    assert len(found) == 1
    assert found[0].startswith(f"lab:pauseSqlPoolAt = {value} ")
    assert words in found[0]


def test_invalid_json_for_times_is_one_problem():
    found = problems(pauseSqlPoolAt="[23:00]")
    assert found == [
        "lab:pauseSqlPoolAt = '[23:00]' is not valid JSON (a list or object is expected)"
    ]


def test_a_wrong_time_zone_stops_preview_with_a_suggestion():
    found = problems(timeZone="Europe/Amsterdm")
    assert found == [
        "lab:timeZone = 'Europe/Amsterdm' is not an IANA time zone name (like Europe/Amsterdam or "
        "UTC): did you mean 'Europe/Amsterdam'?"
    ]


def test_a_real_time_zone_the_table_cannot_convert_is_refused_naming_the_known_ones():
    found = problems(timeZone="Asia/Kathmandu")
    assert len(found) == 1
    assert found[0].startswith("lab:timeZone = 'Asia/Kathmandu' is an IANA time zone this project")
    assert "Europe/Amsterdam" in found[0]


def test_budget_is_read_with_lower_case_emails_and_sorted_thresholds():
    s = settings(budget=BUDGET)
    assert s.budget == cost_guard.Budget(40.0, ("teacher@example.org",), (50, 80, 100))
    default = settings(budget='{"amountPerStudent": 10, "contactEmails": ["a@b.io"]}')
    assert default.budget is not None and default.budget.thresholds == (50, 80, 100)


@pytest.mark.parametrize(
    "budget, expected",
    [
        (
            '{"amountPerStudent": 0, "contactEmails": ["a@b.io"]}',
            "lab:budget.amountPerStudent = 0 is not allowed",
        ),
        (
            '{"amountPerStudent": "50", "contactEmails": ["a@b.io"]}',
            "lab:budget.amountPerStudent = '50' is not allowed",
        ),
        (
            '{"amountPerStudent": 50, "contactEmails": ["a@b.io", "not an email"]}',
            "lab:budget.contactEmails[1] = 'not an email' is not an e-mail address",
        ),
        ('{"amountPerStudent": 50, "contactEmails": []}', "lab:budget.contactEmails = []"),
        (
            '{"amountPerStudent": 50, "contactEmails": ["a@b.io"], "thresholds": [10, 20, 30, 40, 50]}',
            "at most 4 thresholds",
        ),
        (
            '{"amountPerStudent": 50, "contactEmails": ["a@b.io"], "thresholds": [0, 50]}',
            "lab:budget.thresholds = [0, 50] must be a list of distinct whole percentages",
        ),
        (
            '{"amountPerStudent": 50, "contactEmail": ["a@b.io"]}',
            "lab:budget has unknown key(s) contactEmail (did you mean contactEmail -> "
            "contactEmails?); allowed: amountPerStudent, contactEmails, thresholds",
        ),
        ("[50]", "lab:budget must be an object"),
    ],
)
def test_bad_budgets_stop_preview_naming_the_key(budget, expected):
    found = problems(budget=budget)
    assert any(expected in p for p in found), found


def test_budget_period_starts_on_the_first_of_the_month_and_ends_at_expiry():
    start, end = cost_guard.budget_period(dt.date(2026, 12, 20), dt.date(2026, 11, 17))
    assert (start, end) == ("2026-11-01T00:00:00Z", "2026-12-20T23:59:59Z")


def test_notifications_actual_at_each_threshold_and_forecast_at_the_last():
    budget = cost_guard.Budget(40.0, ("a@b.io",), (50, 80, 100))
    notes = cost_guard.budget_notifications(budget)
    assert sorted(notes) == ["actual-100", "actual-50", "actual-80", "forecast-100"]
    assert notes["forecast-100"]["thresholdType"] == "Forecasted"
    assert notes["actual-50"]["threshold"] == 50
    assert notes["actual-50"]["contactEmails"] == ["a@b.io"]
    assert len(notes) <= cost_guard.MAX_NOTIFICATIONS


def test_preview_warns_when_the_pools_never_pause_themselves():
    warned = [w for w in settings(pauseSqlPoolAt="[]").warnings() if "pauseSqlPoolAt" in w]
    assert len(warned) == 1 and "classroom pause" in warned[0]
    assert not [w for w in settings().warnings() if "pauseSqlPoolAt" in w]
    quiet = settings(pauseSqlPoolAt="[]", dedicatedSqlPool="false").warnings()
    assert not [w for w in quiet if "pauseSqlPoolAt" in w]


# Every Windows time zone WINDOWS_TIME_ZONES uses: its standard UTC offset (minutes) and
# whether it observes daylight saving time under the rules in force now.
# Offsets: Microsoft's "Default Time Zones" (learn.microsoft.com/windows-hardware/
# manufacture/desktop/default-time-zones), the "(UTC±hh:mm)" of each display name.
# Daylight saving: the zone's entry in the Windows time-zone registry (HKLM\SOFTWARE\
# Microsoft\Windows NT\CurrentVersion\Time Zones\<name>\Dynamic DST, the rule of the
# current years; what `Get-TimeZone -ListAvailable` reports): zones whose country
# dropped DST carry it no more (Turkey 2016, Brazil 2019, Mexico 2022 updates).
# The IANA -> Windows pairs themselves follow CLDR's windowsZones.xml
# (unicode-org/cldr common/supplemental/windowsZones.xml).
WINDOWS_ZONE_RULES: dict[str, tuple[int, bool]] = {
    "UTC": (0, False),
    "GMT Standard Time": (0, True),
    "W. Europe Standard Time": (60, True),
    "Romance Standard Time": (60, True),
    "Central European Standard Time": (60, True),
    "Central Europe Standard Time": (60, True),
    "FLE Standard Time": (120, True),
    "GTB Standard Time": (120, True),
    "Turkey Standard Time": (180, False),
    "Eastern Standard Time": (-300, True),
    "Central Standard Time": (-360, True),
    "Mountain Standard Time": (-420, True),
    "US Mountain Standard Time": (-420, False),
    "Pacific Standard Time": (-480, True),
    "E. South America Standard Time": (-180, False),
    "Central Standard Time (Mexico)": (-360, False),
    "Pacific SA Standard Time": (-240, True),
    "Tokyo Standard Time": (540, False),
    "Korea Standard Time": (540, False),
    "Singapore Standard Time": (480, False),
    "China Standard Time": (480, False),
    "India Standard Time": (330, False),
    "Arabian Standard Time": (240, False),
    "Arab Standard Time": (180, False),
    "Israel Standard Time": (120, True),
    "SE Asia Standard Time": (420, False),
    "AUS Eastern Standard Time": (600, True),
    "E. Australia Standard Time": (600, False),
    "New Zealand Standard Time": (720, True),
    "South Africa Standard Time": (120, False),
}


def _zone_mismatch(iana: str, windows: str, year: int) -> str | None:
    """Why the Windows zone keeps another clock than the IANA zone (None: the same clock)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(iana)
    january, july = (
        int(dt.datetime(year, month, 15, 12, tzinfo=zone).utcoffset().total_seconds() // 60)
        for month in (1, 7)
    )
    # The standard offset is the smaller of the two in either hemisphere (Europe/Dublin's
    # "negative DST" of the tz database too: GMT in winter, IST in summer).
    standard, observes = min(january, july), january != july
    if windows not in WINDOWS_ZONE_RULES:
        return f"{windows} is not in the pinned table"
    expected = WINDOWS_ZONE_RULES[windows]
    if (standard, observes) != expected:
        return (
            f"{iana}: UTC{standard:+d} min, DST {observes} (January {january:+d}, July {july:+d}); "
            f"{windows}: UTC{expected[0]:+d} min, DST {expected[1]}"
        )
    return None


@pytest.mark.parametrize("iana", sorted(cost_guard.WINDOWS_TIME_ZONES))
def test_every_time_zone_maps_to_a_windows_zone_with_the_same_clock(iana):
    year = dt.date.today().year
    assert _zone_mismatch(iana, cost_guard.WINDOWS_TIME_ZONES[iana], year) is None


def test_every_pinned_windows_zone_is_used_and_arizona_has_no_summer_time():
    assert set(WINDOWS_ZONE_RULES) == set(cost_guard.WINDOWS_TIME_ZONES.values())
    assert cost_guard.WINDOWS_TIME_ZONES["America/Phoenix"] == "US Mountain Standard Time"
    # The mistake the check exists for: Mountain Standard Time keeps summer time, so a
    # class in Arizona would pause an hour late all summer.
    found = _zone_mismatch("America/Phoenix", "Mountain Standard Time", dt.date.today().year)
    assert found == (
        "America/Phoenix: UTC-420 min, DST False (January -420, July -420); "
        "Mountain Standard Time: UTC-420 min, DST True"
    )
    assert _zone_mismatch("Asia/Tokyo", "Korea Standard Time", 2026) is None  # same clock
    assert "UTC+60" in _zone_mismatch("Europe/London", "W. Europe Standard Time", 2026)
