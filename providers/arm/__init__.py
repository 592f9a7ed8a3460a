"""ARM resources azure-native cannot express.

- purges.py: permanent removal of what Azure would keep soft-deleted (teardown);
- registration.py: a subscription's resource provider registrations (never unregistered).
"""

from .purges import KeyVaultPurge, LogAnalyticsForceDelete, MlWorkspacePurge
from .registration import ResourceProviderRegistration

__all__ = [
    "KeyVaultPurge",
    "LogAnalyticsForceDelete",
    "MlWorkspacePurge",
    "ResourceProviderRegistration",
]
