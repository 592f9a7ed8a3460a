"""What the resources seen cost, priced by planning/costs.py as if they were the program's declared
inputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from classroom.planning.costs import PriceError, estimate_student

from .base import _StudentBase


class _Cost(_StudentBase):
    """The cost of what the other groups saw (they fill ``priced``)."""

    def estimate_cost(self) -> None:
        if self.prices is None or not self.status.region:
            return
        declared = []
        for key, kind in (
            ("spark", "synapse:BigDataPool"),
            ("sql", "synapse:SqlPool"),
            ("compute", "machinelearningservices:Compute"),
        ):
            if key in self.priced:
                declared.append(_Seen(f"azure-native:{kind}", self.priced[key]))
        lakes = int(bool(self.priced.get("lake"))) + int(bool(self.priced.get("ml_storage")))
        declared += [_Seen("azure-native:storage:StorageAccount", {})] * lakes
        try:
            self.status.cost = estimate_student(declared, self.prices, self.status.region)
        except PriceError as error:
            self.warn("cost", str(error))


@dataclass(frozen=True)
class _Seen:
    """A resource as found in Azure, in the shape of the program's declared inputs (for costs.py)."""

    type: str
    inputs: Mapping[str, Any]
