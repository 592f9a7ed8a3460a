"""A fake Microsoft Entra token endpoint and a fake GitHub OIDC provider, on one HTTPS port.

For the sign-in of a long GitHub Actions job (providers/credentials.py): GitHub hands
out ID tokens that expire after minutes, Entra exchanges one for an access token
only while it is valid, and Azure's resource endpoints accept an access token only
until it expires. Time is a :class:`SimClock`: tests jump hours ahead without
sleeping, and the credential under test reads the same clock (the test patches
``time.time``), so its token cache ages as Azure's tokens do.

Routes:
- ``GET /github/idtoken?audience=...`` with ``Authorization: Bearer <request token>``:
  ``{"value": <jwt>}``, what the runner's ``ACTIONS_ID_TOKEN_REQUEST_URL`` answers
  (GitHub docs, "About security hardening with OpenID Connect": claims ``iss``
  ``https://token.actions.githubusercontent.com``, ``sub`` ``repo:<owner>/<repo>:...``,
  ``aud`` as asked). Valid ``GITHUB_TOKEN_SECONDS`` (300): the AADSTS700024 reports
  in kata-containers/kata-containers#11758 show "assertion valid from 17:04:47 ...
  expiry time of assertion 17:09:47".
- ``POST /<tenant>/oauth2/v2.0/token`` (form: ``grant_type=client_credentials``,
  ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``,
  ``client_assertion``, ``client_id``, ``scope``): the Microsoft identity platform's
  client-credentials flow with a federated assertion
  (learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow,
  "Third case: Access token request with a federated credential"). Refused as Entra
  refuses: an assertion past its ``exp`` or before its ``nbf`` with AADSTS700024
  (Azure/login#180); a signature, issuer, audience or subject that does not match the
  app's federated credential with AADSTS700213 / AADSTS70021 (learn.microsoft.com/
  entra/identity-platform/reference-error-codes); an unknown client with AADSTS700016.
  Access tokens live ``ACCESS_TOKEN_SECONDS`` (3599, Entra's ``expires_in``).
- ``GET /resource/<audience host>``: a resource (ARM, Synapse, Storage) that accepts
  only an unexpired access token issued for it (401 ``InvalidAuthenticationToken`` /
  ``ExpiredAuthenticationToken`` otherwise, as ARM answers).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "api://AzureADTokenExchange"
GITHUB_TOKEN_SECONDS = 300
ACCESS_TOKEN_SECONDS = 3599
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_REAL_TIME = time.time


class SimClock:
    """Real time plus the jumps a test makes: it never stands still, and it never sleeps."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return _REAL_TIME() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: dict[str, Any], key: bytes) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(mac)}"


def verify(token: str, key: bytes) -> dict[str, Any] | None:
    """The claims of a token this fake signed with ``key``, or None."""
    try:
        header, body, mac = token.split(".")
    except ValueError:
        return None
    expected = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _unb64(mac)):
        return None
    return json.loads(_unb64(body))


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


class FakeEntra:
    """GitHub's OIDC provider, Entra's token endpoint and token-checking resources."""

    def __init__(
        self,
        tls_files: tuple[str, str, str],
        clock: SimClock,
        *,
        tenant: str = "72f988bf-0000-4000-8000-00000000aaaa",
        client_id: str = "5b0c1d2e-0000-4000-8000-00000000bbbb",
        subject: str = "repo:school/synapse-ml-lab:environment:classes",
        request_token: str = "runner-request-token",
    ):
        self.ca_file, self._cert_file, self._key_file = tls_files
        self.clock = clock
        self.tenant, self.client_id = tenant, client_id
        # The subject GitHub puts in the job's ID tokens, and the one the app's federated
        # credential trusts: the same unless a test makes them differ.
        self.subject = self.federated_subject = subject
        self.request_token = request_token
        self._github_key = uuid.uuid4().bytes
        self._entra_key = uuid.uuid4().bytes
        self.lock = threading.Lock()
        self.github_tokens_issued = 0
        self.token_requests: list[dict[str, Any]] = []  # per Entra request: scope, outcome
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle
    def __enter__(self) -> FakeEntra:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._cert_file, self._key_file)
        handler = type("Handler", (_Handler,), {"fake": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"https://127.0.0.1:{self._httpd.server_address[1]}"

    def runner_environment(self) -> dict[str, str]:
        """What a GitHub Actions job with `id-token: write` and the workflow's env holds."""
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.url}/github/idtoken?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
            "AZURE_CLIENT_ID": self.client_id,
            "AZURE_TENANT_ID": self.tenant,
            "AZURE_AUTHORITY_HOST": self.url,
        }

    def resource_url(self, scope: str) -> str:
        return f"{self.url}/resource/{urlsplit(scope).netloc}"

    # -- GitHub
    def github_token(self, audience: str) -> str:
        now = int(self.clock.time())
        with self.lock:
            self.github_tokens_issued += 1
        return sign(
            {
                "iss": GITHUB_ISSUER,
                "sub": self.subject,
                "aud": audience,
                "iat": now,
                "nbf": now,
                "exp": now + GITHUB_TOKEN_SECONDS,
                "jti": str(uuid.uuid4()),
            },
            self._github_key,
        )

    # -- Entra
    def token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        now = self.clock.time()
        scope = form.get("scope", "")

        def refuse(code: int, error: str, text: str, status: int = 400):
            with self.lock:
                self.token_requests.append({"scope": scope, "outcome": f"AADSTS{code}"})
            return status, {
                "error": error,
                "error_description": f"AADSTS{code}: {text} Trace ID: {uuid.uuid4()} "
                f"Correlation ID: {uuid.uuid4()} Timestamp: {_iso(now)}",
                "error_codes": [code],
            }

        if tenant != self.tenant:
            return refuse(90002, "invalid_request", f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return refuse(
                70003, "unsupported_grant_type", "The app requested an unsupported grant type."
            )
        if form.get("client_id") != self.client_id:
            return refuse(
                700016,
                "unauthorized_client",
                f"Application with identifier '{form.get('client_id')}' was not found in the "
                f"directory '{tenant}'.",
            )
        if form.get("client_assertion_type") != JWT_BEARER:
            return refuse(
                7000218,
                "invalid_client",
                "The request body must contain the following "
                "parameter: 'client_assertion' or 'client_secret'.",
                401,
            )
        claims = verify(form.get("client_assertion", ""), self._github_key)
        if claims is None:
            return refuse(
                700213,
                "invalid_client",
                "No matching federated identity record found "
                "for presented assertion. Assertion signature could not be validated.",
                401,
            )
        if not (claims.get("nbf", 0) <= now < claims.get("exp", 0)):
            return refuse(
                700024,
                "invalid_client",
                f"Client assertion is not within its valid time range. Current time: {_iso(now)}, "
                f"assertion valid from {_iso(claims.get('nbf', 0))}, expiry time of assertion "
                f"{_iso(claims.get('exp', 0))}. Review the documentation at "
                "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
            )
        if (claims.get("iss"), claims.get("aud"), claims.get("sub")) != (
            GITHUB_ISSUER,
            GITHUB_AUDIENCE,
            self.federated_subject,
        ):
            return refuse(
                700213,
                "invalid_client",
                f"No matching federated identity record found for presented assertion subject "
                f"'{claims.get('sub')}' (issuer '{claims.get('iss')}', audience "
                f"'{claims.get('aud')}').",
                401,
            )
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return refuse(
                1002012,
                "invalid_scope",
                f"The provided value for scope {scope} is not "
                "valid. Client credential flows must have a scope value with /.default.",
            )
        audience = scopes[0].removesuffix("/.default")
        access = sign(
            {
                "aud": audience,
                "iss": f"https://sts.windows.net/{tenant}/",
                "appid": self.client_id,
                "iat": int(now),
                "nbf": int(now),
                "exp": int(now) + ACCESS_TOKEN_SECONDS,
            },
            self._entra_key,
        )
        with self.lock:
            self.token_requests.append({"scope": scope, "outcome": "issued"})
        return 200, {
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "ext_expires_in": ACCESS_TOKEN_SECONDS,
            "access_token": access,
        }

    # -- resources
    def resource(self, host: str, authorization: str) -> tuple[int, dict[str, Any]]:
        claims = verify(authorization.removeprefix("Bearer ").strip(), self._entra_key)
        if claims is None or urlsplit(claims.get("aud", "")).netloc != host:
            return 401, {
                "error": {
                    "code": "InvalidAuthenticationToken",
                    "message": "The access token is invalid.",
                }
            }
        if self.clock.time() >= claims["exp"]:
            return 401, {
                "error": {
                    "code": "ExpiredAuthenticationToken",
                    "message": "The access token expiry UTC time "
                    f"'{_iso(claims['exp'])}' is earlier than current UTC time "
                    f"'{_iso(self.clock.time())}'.",
                }
            }
        return 200, {"audience": claims["aud"], "expiresOn": claims["exp"]}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeEntra
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/github/idtoken":
            # The runner's request token is the only way in (actions/toolkit core.getIDToken).
            if self.headers.get("Authorization") != f"Bearer {self.fake.request_token}":
                self._send(401, {"message": "Bad credentials"})
                return
            audience = query.get("audience") or "https://github.com/school"
            self._send(200, {"count": 1, "value": self.fake.github_token(audience)})
            return
        if parts.path.startswith("/resource/"):
            self._send(
                *self.fake.resource(
                    parts.path.removeprefix("/resource/"), self.headers.get("Authorization", "")
                )
            )
            return
        self._send(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        segments = parts.path.strip("/").split("/")
        if len(segments) == 4 and segments[1:] == ["oauth2", "v2.0", "token"]:
            self._send(*self.fake.token(segments[0], form))
            return
        self._send(404, {"error": "not found"})
