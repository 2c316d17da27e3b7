"""What the client raises: the API's error body as an exception, a transport failure, a wait that ran out."""

from __future__ import annotations

from typing import Any


class AttestError(Exception):
    """Anything the client raises."""


class ApiError(AttestError):
    """An HTTP error answer, carrying the API's body ``{"error": {"code", "message", "fields"}}`` (and the
    ``details`` some refusals add, e.g. the ``missing`` prerequisites of an approval)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, list[str]] | None = None,
        details: dict[str, Any] | None = None,
    ):
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.details = details or {}
        super().__init__(self.describe())

    @classmethod
    def from_response(cls, status: int, body: Any, fallback: str) -> ApiError:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):  # not the API's body (a proxy's page, an empty answer)
            return cls(status, f"http_{status}", fallback or f"HTTP {status}")
        return cls(
            status,
            str(error.get("code", "")),
            str(error.get("message", "")),
            error.get("fields") or {},
            error.get("details") or {},
        )

    def describe(self) -> str:
        lines = [f"{self.status} {self.code}: {self.message}"]
        lines += [f"  {field}: {'; '.join(problems)}" for field, problems in self.fields.items()]
        for name, value in self.details.items():
            items = value if isinstance(value, list) else [value]
            lines += [f"  {name}: {item}" for item in items]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        body = {"status": self.status, "code": self.code, "message": self.message, "fields": self.fields}
        return {**body, "details": self.details} if self.details else body


class TransportError(AttestError):
    """The server could not be reached (after the connect retries)."""


class WaitTimeout(AttestError):
    """A job was still not finished when the wait's timeout ran out."""
