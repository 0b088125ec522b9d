"""The api's client: one pooled HTTP client, typed results, three kinds of failure.

The page tells the reader which of them happened, so they are distinct errors:
the api cannot be reached, the api answers that it is unavailable (its
database is down), or the api answers something unexpected.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError


class ApiError(Exception):
    """Base of the errors the client raises."""


class ApiUnreachableError(ApiError):
    """No answer: connection refused, DNS failure or time-out."""


class ApiUnavailableError(ApiError):
    """The api answered 503: it is up but cannot serve users now."""


class ApiBadResponseError(ApiError):
    """The api answered with a status or body this client does not understand."""


class User(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    name: str
    email: str
    created_at: datetime


class UserPage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    users: list[User]
    limit: int
    offset: int
    next_offset: int | None


class UsersApi:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "simpleweb"},
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        )

    def list_users(self, *, limit: int, offset: int) -> UserPage:
        try:
            response = self._client.get("/users", params={"limit": limit, "offset": offset})
        except httpx.TransportError as exc:  # time-outs included
            raise ApiUnreachableError(type(exc).__name__) from None
        if response.status_code == 503:
            raise ApiUnavailableError("api answered 503")
        if response.status_code != 200:
            raise ApiBadResponseError(f"api answered {response.status_code}")
        try:
            return UserPage.model_validate_json(response.content)
        except ValidationError:
            raise ApiBadResponseError("api answered an unexpected body") from None

    def close(self) -> None:
        self._client.close()
