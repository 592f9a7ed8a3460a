"""ARM teardown resources: permanent removal of what Azure would keep soft-deleted (see purges.py)."""

from .purges import KeyVaultPurge, LogAnalyticsForceDelete, MlWorkspacePurge

__all__ = ["KeyVaultPurge", "LogAnalyticsForceDelete", "MlWorkspacePurge"]
