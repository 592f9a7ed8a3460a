"""Signing in to Azure for the commands that read or change it (status, preflight, pause).

The credential itself is the program's (``providers/credentials.py``: GitHub OIDC in
CI, else ``DefaultAzureCredential``). What is the command line's business lives
here: one sign-in check before any student is looked at, and an error of one line
that says what to do. ``DefaultAzureCredential`` logs every credential of its chain
that failed, at WARNING, through the ``azure.identity`` logger (about 14 lines
before our own); without ``--verbose`` that logger is silenced, with it the chain's
detail follows our line.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

# Where ARM tokens are asked for: every command's first call is to ARM.
ARM_SCOPE = "https://management.azure.com/.default"
# The loggers azure-identity writes the chain's failures to (azure/identity/_credentials/*.py
# and _internal/decorators.py use logging.getLogger(__name__), all under "azure.identity").
IDENTITY_LOGGER = "azure.identity"
SERVICE_PRINCIPAL_VARIABLES = "AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET"


def add_verbose_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="when signing in fails, show what each of Azure's sign-in methods said "
        "(default: one line)",
    )


def quiet_identity_logging(verbose: bool) -> None:
    """Silence azure-identity's own log unless ``verbose`` (then show it, and only it, on stderr)."""
    logger = logging.getLogger(IDENTITY_LOGGER)
    if verbose:
        logger.setLevel(logging.INFO)
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
            logger.addHandler(handler)
        logger.propagate = False
    else:
        # Above CRITICAL: nothing it logs reaches Python's last-resort handler.
        logger.setLevel(logging.CRITICAL + 1)


def advice() -> str:
    return f"run `az login` (or set {SERVICE_PRINCIPAL_VARIABLES} for a service principal)"


def _last_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:300]


def signed_in(credential: Any, err: Any, verbose: bool = False) -> bool:
    """True when ``credential`` gets an ARM token; else one line on ``err`` (the detail with ``verbose``)."""
    from providers.credentials import describe, github_oidc_available

    try:
        credential.get_token(ARM_SCOPE)
    except Exception as error:
        if github_oidc_available():
            # In CI nobody reruns with --verbose: Entra's own reason (AADSTS...) is on the line.
            print(
                f"error: not signed in to Azure ({type(error).__name__}: {_last_line(error)}); "
                "check the job's `permissions: id-token: write` and the federated credential "
                f"of AZURE_CLIENT_ID (signing in with {describe()})",
                file=err,
            )
        else:
            hint = "" if verbose else "; --verbose shows why"
            print(f"error: not signed in to Azure: {advice()}{hint}", file=err)
        if verbose:
            print(f"{type(error).__name__}: {error}", file=err)
        return False
    return True


def credential(verbose: bool = False) -> Any:
    """The program's credential, with azure-identity's log as ``verbose`` asks."""
    from providers.credentials import make_credential

    quiet_identity_logging(verbose)
    return make_credential()
