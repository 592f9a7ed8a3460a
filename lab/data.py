"""The lab's data: which files, where they come from, and the columns the lab reads."""

from __future__ import annotations

from pathlib import Path

# The lab's two CSVs, pinned to the commit of the lab this project provisions so
# every class gets the same bytes. They are public; they are not copied into
# this repository.
LAB_DATA_COMMIT = "424ce70c96416c6cbc6b3573d1e99b1e607340f7"
LAB_DATA_BASE_URL = (
    "https://raw.githubusercontent.com/MicrosoftLearning/mslearn-synapse/"
    f"{LAB_DATA_COMMIT}/Allfiles/Labs/12/files"
)
LAB_DATA_FILES = ("bike-rentals-training.csv", "weather-forecast.csv")
FEATURE_COLUMNS = (
    "season",
    "mnth",
    "holiday",
    "weekday",
    "workingday",
    "weathersit",
    "temp",
    "atemp",
    "hum",
    "windspeed",
)
# The columns the notebooks and the SQL script read from each file.
LAB_DATA_COLUMNS = {
    "bike-rentals-training.csv": FEATURE_COLUMNS + ("rentals",),
    "weather-forecast.csv": FEATURE_COLUMNS,
}


def lab_data_problems(data_dir: Path) -> list[str]:
    """What is wrong with a local copy of the lab's data (missing files or columns)."""
    problems = []
    for name in LAB_DATA_FILES:
        path = data_dir / name
        if not path.is_file():
            problems.append(f"missing {name}")
            continue
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            header = [c.strip() for c in handle.readline().strip().split(",")]
        absent = [c for c in LAB_DATA_COLUMNS[name] if c not in header]
        if absent:
            problems.append(f"{name} has no column(s) {', '.join(absent)}")
    return problems
