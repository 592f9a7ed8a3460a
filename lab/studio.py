"""What the lab puts in each student's Synapse Studio: the notebooks and the SQL scripts.

One list for the program that uploads them (components.data_plane), the check that
looks for them (classroom.checking.checks) and the handout that names them.
"""

from __future__ import annotations

from pathlib import Path

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"

WEATHER_FORECAST_SCRIPT_NAME = "Load weather forecast"
PREDICT_RENTALS_SCRIPT_NAME = "Predict rentals"
# In upload order (the prediction scores the table the first one creates); only with a dedicated SQL pool.
SQL_SCRIPT_NAMES = (WEATHER_FORECAST_SCRIPT_NAME, PREDICT_RENTALS_SCRIPT_NAME)


def lab_notebooks(directory: Path = NOTEBOOKS_DIR) -> dict[str, str]:
    """Synapse notebook name -> path relative to the project, for every .ipynb in notebooks/."""
    return {p.stem: f"{directory.name}/{p.name}" for p in sorted(directory.glob("*.ipynb"))}
