"""Azurite, Microsoft's Storage emulator, for the lake listings (not a fake: the real Blob API).

scripts/test.sh installs it from npm into .tools/ (``npm install --prefix .tools azurite``); a
machine without node or without that install skips the tests that need it, saying why.

Started here on 127.0.0.1 on a free port with the test CA's certificate (``--cert/--key``) and
``--oauth basic``, so the program's own path runs unchanged: a bearer token over HTTPS. Azurite's
basic OAuth checks the token's ``iat``/``nbf``/``exp``, an ``iss`` under https://sts.windows.net/ and an
``aud`` of https://storage.azure.com (azurite src/blob/authentication/BlobTokenAuthenticator.ts,
VALID_BLOB_AUDIENCES and VALID_ISSUE_PREFIXES), and requires HTTPS; it does not check a signature,
so :func:`storage_jwt` makes an unsigned token with those claims. The accounts are the students'
lake names (``AZURITE_ACCOUNTS``, azurite README "Customized Storage Accounts & Keys"), reached
path-style (``https://127.0.0.1:<port>/<account>``, how Azurite names the account of an IP host).
``--skipApiVersionCheck``: the installed azure-storage-blob may send a newer x-ms-version than
this Azurite knows; ``--inMemoryPersistence``: nothing is written to disk.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
AZURITE_BLOB = PROJECT / ".tools" / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT_KEY = base64.b64encode(b"azurite-test-key-of-the-lab-lakes").decode()


def unavailable() -> str | None:
    """Why Azurite cannot run here (None: it can)."""
    if shutil.which("node") is None:
        return "node is not installed (Azurite runs on node)"
    if not AZURITE_BLOB.exists():
        return "Azurite is not installed: npm install --no-save --prefix .tools azurite (scripts/test.sh does)"
    return None


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def storage_jwt(tenant: str = "00000000-0000-0000-0000-0000000000aa") -> tuple[str, int]:
    """An unsigned token with the claims Azurite's basic OAuth checks, and its expiry."""
    now = int(time.time())
    expires = now + 3600
    claims = {
        "aud": "https://storage.azure.com",
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": expires,
        "oid": "11111111-2222-3333-4444-555555555555",
    }
    # Azurite never checks the signature ("Validate signature, skip in basic check"); one is there
    # for parsers that want three non-empty parts.
    return f"{_b64({'typ': 'JWT', 'alg': 'RS256'})}.{_b64(claims)}.c2lnbmF0dXJl", expires


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Azurite:
    """One Azurite blob service for the given account names."""

    def __init__(self, accounts: Sequence[str], cert: str, key: str, workdir: Path):
        self.accounts = list(accounts)
        self.port = _free_port()
        self.cert, self.key, self.workdir = cert, key, workdir
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        """The Blob endpoint template the program takes (``{account}`` filled per student)."""
        return f"https://127.0.0.1:{self.port}/{{account}}"

    def start(self) -> Azurite:
        env = dict(os.environ)
        env["AZURITE_ACCOUNTS"] = ";".join(f"{a}:{ACCOUNT_KEY}" for a in self.accounts)
        self.process = subprocess.Popen(
            [
                str(AZURITE_BLOB),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.port),
                "--cert",
                self.cert,
                "--key",
                self.key,
                "--oauth",
                "basic",
                "--skipApiVersionCheck",
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--silent",
            ],
            cwd=self.workdir,  # with in-memory persistence Azurite takes no --location
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Azurite exited: {self.process.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("Azurite did not start listening within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def container(self, account: str, container: str, credential: Any) -> Any:
        from azure.storage.blob import ContainerClient

        return ContainerClient(
            account_url=self.endpoint.format(account=account),
            container_name=container,
            credential=credential,
        )
