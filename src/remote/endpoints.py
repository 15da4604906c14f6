"""Where account traffic goes (spec account.md §18): the reference's environment names and config
key, so one fake issuer can serve Chamberlain and the reference alike.

``Endpoints`` is made once per server from its environment and the effective config; nothing here
does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "CALLBACK_PORTS",
    "CLIENT_ID",
    "DEFAULT_BACKEND",
    "DEFAULT_ISSUER",
    "HOSTED_SUCCESS_PAGE",
    "Endpoints",
    "backend_url",
]

DEFAULT_ISSUER: Final = "https://auth.openai.com"
#: The Codex CLI's OAuth client id.
CLIENT_ID: Final = "app_EMoamEEZ73f0CkXaXp7hrann"
DEFAULT_BACKEND: Final = "https://chatgpt.com/backend-api/"
#: The only redirect ports registered with the issuer: 1455, then 1457 as the fallback.
CALLBACK_PORTS: Final = (1455, 1457)
HOSTED_SUCCESS_PAGE: Final = "https://chatgpt.com/codex/open-app"
_PRODUCTION_REVOKE: Final = f"{DEFAULT_ISSUER}/oauth/revoke"

ENV_ISSUER: Final = "CODEX_APP_SERVER_LOGIN_ISSUER"
ENV_CLIENT_ID: Final = "CODEX_APP_SERVER_LOGIN_CLIENT_ID"
ENV_REFRESH_URL: Final = "CODEX_REFRESH_TOKEN_URL_OVERRIDE"
ENV_REVOKE_URL: Final = "CODEX_REVOKE_TOKEN_URL_OVERRIDE"


@dataclass(frozen=True, slots=True)
class Endpoints:
    issuer: str = DEFAULT_ISSUER
    client_id: str = CLIENT_ID
    #: Full URL replacing every refresh URL (else the issuer recorded with the tokens).
    refresh_override: str | None = None
    revoke_override: str | None = None
    #: ``chatgpt_base_url`` of the effective config.
    backend_base: str = DEFAULT_BACKEND
    #: Ports the browser login's callback server tries in turn; ``(0,)`` = any free port (tests).
    callback_ports: tuple[int, ...] = CALLBACK_PORTS
    hosted_success_page: str = HOSTED_SUCCESS_PAGE

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], backend_base: str | None = None, callback_port: int | None = None
    ) -> Endpoints:
        """``callback_port``: None = the reference's 1455 then 1457; 0 = any free port; N = N only."""
        return cls(
            issuer=(environ.get(ENV_ISSUER) or DEFAULT_ISSUER).rstrip("/"),
            client_id=environ.get(ENV_CLIENT_ID) or CLIENT_ID,
            refresh_override=environ.get(ENV_REFRESH_URL) or None,
            revoke_override=environ.get(ENV_REVOKE_URL) or None,
            backend_base=backend_base or DEFAULT_BACKEND,
            callback_ports=CALLBACK_PORTS if callback_port is None else (callback_port,),
        )

    def with_backend(self, backend_base: str | None) -> Endpoints:
        if (backend_base or DEFAULT_BACKEND) == self.backend_base:
            return self
        return Endpoints(
            self.issuer, self.client_id, self.refresh_override, self.revoke_override,
            backend_base or DEFAULT_BACKEND, self.callback_ports, self.hosted_success_page,
        )

    @property
    def authorize_url(self) -> str:
        return f"{self.issuer}/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/oauth/token"

    @property
    def device_usercode_url(self) -> str:
        return f"{self.issuer}/api/accounts/deviceauth/usercode"

    @property
    def device_token_url(self) -> str:
        return f"{self.issuer}/api/accounts/deviceauth/token"

    @property
    def device_verification_url(self) -> str:
        """Derived from the issuer, never taken from the backend (§6.3)."""
        return f"{self.issuer}/codex/device"

    @property
    def device_redirect_uri(self) -> str:
        return f"{self.issuer}/deviceauth/callback"

    @property
    def platform_url(self) -> str:
        """The ``platform_url`` of the success redirect (§6.2.4)."""
        return "https://platform.openai.com" if self.issuer == DEFAULT_ISSUER else "https://platform.api.openai.org"

    def refresh_url(self, provenance_issuer: str | None) -> str:
        """§14.1: the override, else the issuer the tokens were issued by, else production."""
        if self.refresh_override:
            return self.refresh_override
        return f"{(provenance_issuer or DEFAULT_ISSUER).rstrip('/')}/oauth/token"

    @property
    def revoke_url(self) -> str:
        """§18: the revoke override; else the refresh override's origin with ``/oauth/revoke``;
        else production (it does not follow the recorded issuer)."""
        if self.revoke_override:
            return self.revoke_override
        if self.refresh_override:
            parts = urlsplit(self.refresh_override)
            return urlunsplit((parts.scheme, parts.netloc, "/oauth/revoke", "", ""))
        return _PRODUCTION_REVOKE

    def backend(self, name: str) -> str:
        """The URL of backend resource ``name`` (``usage``, ``accounts/check`` …), see `backend_url`."""
        return backend_url(self.backend_base, name)


def backend_url(base: str, name: str) -> str:
    """§9 path style: a base containing ``/backend-api`` gets ``…/wham/<name>``, any other base
    ``…/api/codex/<name>``; a chatgpt.com or chat.openai.com base without ``/backend-api`` gets it
    appended; trailing slashes are trimmed."""
    base = base.rstrip("/")
    if (base.startswith(("https://chatgpt.com", "https://chat.openai.com"))) and "/backend-api" not in base:
        base = f"{base}/backend-api"
    if "/backend-api" in base:
        return f"{base}/wham/{name}"
    return f"{base}/api/codex/{name}"
