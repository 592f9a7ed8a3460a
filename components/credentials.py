"""The dedicated SQL pool's admin password: configured, or generated; always a secret."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from lab.config import LabSettings

# Symbols that Azure SQL accepts and that survive shells and connection strings
# unquoted (no quotes, backslash, semicolon, dollar, ampersand or at-sign).
PASSWORD_SPECIALS = "!#%*()-_=+[]{}<>:?"


def sql_admin_password(settings: LabSettings) -> pulumi.Output[str]:
    """One password for the class's SQL admin login, as a Pulumi secret.

    Wrapped in ``Output.secret`` explicitly: the engine marks RandomPassword.result
    secret for real deployments, but that marking is not applied under mocks, and
    the configured value must stay secret whatever path it takes.
    """
    if settings.sql_admin_password is not None:
        return pulumi.Output.secret(settings.sql_admin_password)
    generated = random.RandomPassword(
        "sql-admin-password",
        length=24,
        upper=True,
        lower=True,
        numeric=True,
        special=True,
        min_upper=2,
        min_lower=2,
        min_numeric=2,
        min_special=2,
        override_special=PASSWORD_SPECIALS,
    )
    return pulumi.Output.secret(generated.result)
