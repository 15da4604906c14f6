"""One exception hierarchy; each class carries its JSON-RPC code (mapped once, at the protocol edge)."""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ChamberlainError",
    "ClientGone",
    "ClientRequestTimedOut",
    "ConfigFileError",
    "ConfigModelError",
    "ConfigWriteError",
    "InternalError",
    "InvalidRequest",
    "ModelProviderNotConfigured",
    "Overloaded",
    "RequirementsError",
    "TomlParseError",
]

INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603
OVERLOADED = -32001


class ChamberlainError(Exception):
    """An error that becomes a JSON-RPC error response: ``code``, ``message`` and optional ``data``."""

    code: ClassVar[int] = INTERNAL_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def data(self) -> Any | None:
        return None


class InvalidRequest(ChamberlainError):
    """Every client mistake (the reference uses -32600 for all of them)."""

    code = INVALID_REQUEST


class InternalError(ChamberlainError):
    """Failures that are not the client's fault: unreadable files, I/O errors."""

    code = INTERNAL_ERROR


class Overloaded(ChamberlainError):
    code = OVERLOADED

    def __init__(self, message: str = "Server overloaded; retry later.") -> None:
        super().__init__(message)


class ConfigWriteError(InvalidRequest):
    """A refused config write; ``data`` is ``{"config_write_error_code": <code>}``."""

    def __init__(self, write_code: str, message: str) -> None:
        super().__init__(message)
        self.write_code = write_code

    @property
    def data(self) -> Any | None:
        return {"config_write_error_code": self.write_code}


class ModelProviderNotConfigured(InvalidRequest):
    """model/list for a provider the server's config does not have."""

    def __init__(self, provider: str) -> None:
        super().__init__(
            f"This chat uses model provider \u201c{provider}\u201d, which is no longer configured. "
            "Restore this provider\u2019s configuration to continue."
        )
        self.provider = provider

    @property
    def data(self) -> Any | None:
        return {"type": "modelProviderNotConfigured", "modelProvider": self.provider}


class ClientRequestTimedOut(ChamberlainError):
    """A server -> client request that got no response by its deadline."""

    def __init__(self, method: str, request_id: int) -> None:
        super().__init__(f"client did not answer {method} (request {request_id}) in time")
        self.method = method
        self.request_id = request_id


class ClientGone(ChamberlainError):
    """A server -> client request whose connection closed before the client answered."""


class ConfigModelError(Exception):
    """A TOML value that does not fit the config model.

    ``detail`` is the serde-style reason (``invalid type: integer `5`, expected a string``) and
    ``path`` the dotted location (``model``), or ``None`` when the error is not tied to a key.
    ``str()`` renders the reference's text: ``<detail>\\nin `<path>`\\n``, or ``detail`` alone when
    ``path`` is None (for instance ``approval_policy = "untrusted" is no longer supported; ...``).
    """

    def __init__(self, detail: str, path: str | None) -> None:
        super().__init__(detail, path)
        self.detail = detail
        self.path = path

    def __str__(self) -> str:
        if self.path is None:
            return self.detail
        return f"{self.detail}\nin `{self.path}`\n"


class TomlParseError(Exception):
    """A file that is not valid TOML. ``str()`` is ``<path>:<line>:<col>: <reason>`` (1-based)."""

    def __init__(self, path: str, line: int, column: int, reason: str) -> None:
        super().__init__(path, line, column, reason)
        self.path = path
        self.line = line
        self.column = column
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.reason}"


class ConfigFileError(Exception):
    """A config file that exists but cannot be read (a directory, no permission, not UTF-8)."""


class RequirementsError(Exception):
    """Invalid requirements: the server refuses to start and prints ``Error: <message>``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
