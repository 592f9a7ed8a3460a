"""The lab's data: where the real files are, and generated files of the same layout.

The lab CSVs live in ../shared/data beside the project; the suite must also pass
without them, so tests generate files shaped like them when they are absent.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from tests.fakes.notebook_runner import ROOT

SHARED_DATA = ROOT.parent / "shared" / "data"
LAB_TRAINING_CSV = SHARED_DATA / "bike-rentals-training.csv"
LAB_FORECAST_CSV = SHARED_DATA / "weather-forecast.csv"

INTEGER_COLUMNS = ["season", "mnth", "holiday", "weekday", "workingday", "weathersit"]
DOUBLE_COLUMNS = ["temp", "atemp", "hum", "windspeed"]
FEATURES = INTEGER_COLUMNS + DOUBLE_COLUMNS
BIKE_COLUMNS = FEATURES + ["rentals"]
CSV_COLUMNS = [
    "instant",
    "dteday",
    "season",
    "yr",
    "mnth",
    "holiday",
    "weekday",
    "workingday",
    "weathersit",
    "temp",
    "atemp",
    "hum",
    "windspeed",
    "rentals",
]


def write_training_csv(path: Path, rows: int, seed: int) -> list[tuple]:
    """A CSV shaped like bike-rentals-training.csv; returns the expected bike_data rows."""
    rng = random.Random(seed)
    expected = []
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for i in range(rows):
            day = dt.date(2011, 1, 1) + dt.timedelta(days=9 * i)
            season = (day.month % 12) // 3 + 1
            weekday = (day.weekday() + 1) % 7
            holiday = 1 if rng.random() < 0.05 else 0
            workingday = int(weekday not in (0, 6) and not holiday)
            weathersit = rng.choice([1, 1, 2, 3])
            temp, atemp = round(rng.uniform(0.05, 0.86), 6), round(rng.uniform(0.07, 0.84), 6)
            hum, windspeed = round(rng.uniform(0.0, 0.97), 6), round(rng.uniform(0.02, 0.5), 6)
            rentals = rng.randint(2, 3410)
            writer.writerow(
                [
                    i + 1,
                    f"{day.month}/{day.day}/{day.year}",
                    season,
                    day.year - 2011,
                    day.month,
                    holiday,
                    weekday,
                    workingday,
                    weathersit,
                    temp,
                    atemp,
                    hum,
                    windspeed,
                    rentals,
                ]
            )
            expected.append(
                (
                    season,
                    day.month,
                    holiday,
                    weekday,
                    workingday,
                    weathersit,
                    temp,
                    atemp,
                    hum,
                    windspeed,
                    rentals,
                )
            )
    return expected


def write_forecast_csv(path: Path, training_rows: list[tuple]) -> list[tuple]:
    """Like weather-forecast.csv: the features of the last 10 training days."""
    features = [row[:10] for row in training_rows[-10:]]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(FEATURES)
        writer.writerows(features)
    return features


def read_lab_rows(path: Path) -> list[tuple]:
    with path.open(newline="") as f:
        return [
            tuple(int(r[c]) for c in INTEGER_COLUMNS)
            + tuple(float(r[c]) for c in DOUBLE_COLUMNS)
            + ((int(r["rentals"]),) if "rentals" in r else ())
            for r in csv.DictReader(f)
        ]
