"""The ChatGPT backend (``chatgpt.com/backend-api``): routing, config bundle, usage, nudge (§9, §12, §17, §19).

Every route wants ``Authorization: Bearer <access token>`` of a live token this fake minted
(``strict_bearer``); a missing, foreign, expired or revoked one gets 401, which is what the
clients' 401 recovery (§14.3, §11) reacts to.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, final

from .claims import Identity
from .grants import Grants
from .script import unauthorized
from .wire import HttpRequest, HttpResponse, json_response

__all__ = ["BackendSettings", "Backend", "default_usage", "default_reset_credits", "NUDGE_CREDIT_TYPES"]

NUDGE_CREDIT_TYPES: Final = frozenset({"credits", "usage_limit"})


def default_usage() -> dict[str, Any]:
    """The usage payload of spec §9.1 (``plan_type`` is replaced by the caller's plan)."""
    return {
        "plan_type": "pro",
        "rate_limit": {
            "allowed": True,
            "limit_reached": False,
            "primary_window": {"used_percent": 42, "limit_window_seconds": 18000,
                               "reset_after_seconds": 1200, "reset_at": 1900000000},
            "secondary_window": {"used_percent": 5, "limit_window_seconds": 604800,
                                 "reset_after_seconds": 86400, "reset_at": 1900600000},
        },
        "credits": {"has_credits": True, "unlimited": False, "balance": "12.50"},
        "additional_rate_limits": [
            {"limit_name": "GPT-5 Codex Spark", "metered_feature": "codex_bengalfox",
             "rate_limit": {"allowed": True, "limit_reached": False,
                            "primary_window": {"used_percent": 7, "limit_window_seconds": 18000,
                                               "reset_after_seconds": 60, "reset_at": 1900000100},
                            "secondary_window": None}},
        ],
        "rate_limit_reached_type": None,
    }


def default_reset_credits() -> dict[str, Any]:
    return {"credits": [], "available_count": 0, "total_earned_count": 0}


@final
@dataclass
class BackendSettings:
    """Backend behaviour tests tune (mutable while the fake runs)."""

    #: 401 for requests without a live access token of this fake; False: answer as the default identity
    strict_bearer: bool = True
    #: the ``wham/usage`` body; ``plan_type`` is set from the caller's plan unless ``keep_plan_type``
    usage: dict[str, Any] = field(default_factory=default_usage)
    keep_plan_type: bool = False
    reset_credits: dict[str, Any] = field(default_factory=default_reset_credits)
    config_bundle: dict[str, Any] = field(default_factory=dict)


@final
class Backend:
    def __init__(self, settings: BackendSettings, grants: Grants, default_identity: Callable[[], Identity]) -> None:
        self.settings = settings
        self.grants = grants
        self._default_identity = default_identity

    def _caller(self, req: HttpRequest, who: Identity | None) -> Identity | None:
        """Whose data to answer with: the scripted identity, the bearer's, or (lenient) the default."""
        if who is not None:
            return who
        found = self.grants.access_identity(req.bearer())
        if found is None and not self.settings.strict_bearer:
            return self._default_identity()
        return found

    def accounts_check(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        """Workspace-routing discovery, list form (§12)."""
        caller = self._caller(req, who)
        if caller is None:
            return unauthorized().response()
        workspaces = caller.workspace_list()
        ids = [ws.id for ws in workspaces]
        default = caller.account_id if caller.account_id in ids else (ids[0] if ids else None)
        body = {"accounts": [ws.to_json() for ws in workspaces], "account_ordering": ids,
                "default_account_id": default}
        return json_response(200, body)

    def config_bundle(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        """Cloud requirements of workspace plans (§6.2.5); ``{}`` means none."""
        if self._caller(req, who) is None:
            return unauthorized().response()
        return json_response(200, self.settings.config_bundle)

    def usage(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        """Rate limits (§9.1)."""
        caller = self._caller(req, who)
        if caller is None:
            return unauthorized().response()
        body = copy.deepcopy(self.settings.usage)
        if not self.settings.keep_plan_type:
            body["plan_type"] = caller.plan if caller.plan is not None else "unknown"
        return json_response(200, body)

    def reset_credits(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        if self._caller(req, who) is None:
            return unauthorized().response()
        return json_response(200, self.settings.reset_credits)

    def nudge(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        """Ask the workspace owner for credits (§19): ``{"credit_type": "credits"|"usage_limit"}``."""
        if self._caller(req, who) is None:
            return unauthorized().response()
        data = req.json()
        if not isinstance(data, dict) or data.get("credit_type") not in NUDGE_CREDIT_TYPES:
            return json_response(400, {"error": {"message": "credit_type must be credits or usage_limit",
                                                 "code": "invalid_request"}})
        return json_response(200, {})
