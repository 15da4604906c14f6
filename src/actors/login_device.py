"""The device-code login's flow (spec account.md §6.3).

Two parts, because the JSON-RPC response needs the user code before the attempt starts:
``request_device_code`` (step 1; its failures are JSON-RPC errors and leave any pending login
alone) and ``DeviceLogin(...).run`` (steps 3-5: poll, exchange, workspace check, persist), started
with ``nursery.start`` in the attempt's cancel scope. ``run`` returns once the credentials are
persisted and raises ``LoginFailed`` with the reference's text (no prefix) otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, final

import trio
from chamberlain.remote import issuer
from chamberlain.remote.errors import LoginFailed
from chamberlain.remote.id_token import id_token_problem

if TYPE_CHECKING:
    import httpx
    from chamberlain.actors.login_browser import Persist
    from chamberlain.remote.endpoints import Endpoints

__all__ = ["DeviceCode", "DeviceLogin", "request_device_code"]


@final
@dataclass(frozen=True, slots=True)
class DeviceCode:
    """What the client is told (``verificationUrl``, ``userCode``) and what the poll needs."""

    verification_url: str
    user_code: str
    issued: issuer.UserCode = field(repr=False)


async def request_device_code(client: httpx.AsyncClient, endpoints: Endpoints) -> DeviceCode:
    """Step 1-2. Raises InvalidRequest (404) or InternalError with the reference's texts; the
    verification URL is derived from the issuer, never taken from the answer."""
    issued = await issuer.request_user_code(client, endpoints)
    return DeviceCode(endpoints.device_verification_url, issued.user_code, issued)


@final
class DeviceLogin:
    """One device-code login attempt (the LoginFlowActor of a ``chatgptDeviceCode`` login)."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        endpoints: Endpoints,
        code: DeviceCode,
        persist: Persist,
        allowed_workspace_ids: Sequence[str] | None = None,
    ) -> None:
        self._client = client
        self._endpoints = endpoints
        self._code = code
        self._persist = persist
        self._allowed = tuple(allowed_workspace_ids) if allowed_workspace_ids is not None else None

    def __repr__(self) -> str:
        return f"DeviceLogin(user_code={self._code.user_code!r})"

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Poll (first poll at once), exchange, check the workspace, persist; see the module text.
        An id_token whose claims cannot be read ends the attempt with the parser's text.

        An exception from ``persist`` propagates unchanged (the AuthActor describes it).
        """
        task_status.started()
        grant = await issuer.poll_device_token(self._client, self._endpoints, self._code.issued)
        tokens = await issuer.exchange_device_code(self._client, self._endpoints, grant)
        issuer.check_workspace(tokens.id_token, self._allowed)
        problem = id_token_problem(tokens.id_token)
        if problem is not None:
            raise LoginFailed(problem)
        await self._persist(tokens)
