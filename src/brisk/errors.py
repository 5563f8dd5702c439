"""Domain errors: what went wrong, in the service's words (no HTTP here)."""

from __future__ import annotations


class BriskError(Exception):
    """Base of every error a service raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(BriskError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


class AlreadyExistsError(BriskError):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} has already been taken")


class InvalidCredentialsError(BriskError):
    def __init__(self) -> None:
        super().__init__("email or password is invalid")


class AuthenticationRequiredError(BriskError):
    """No token, or a token that is malformed, expired, tampered or of the wrong algorithm."""


class ForbiddenError(BriskError):
    def __init__(self, action: str) -> None:
        super().__init__(f"you are not allowed to {action}")


class InvalidInputError(BriskError):
    """Input that passed the schema but breaks a domain rule."""


class ServiceUnavailableError(BriskError):
    """A dependency (the database pool) could not serve in time; the client may retry."""

    def __init__(self, message: str, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class TooManyRequestsError(BriskError):
    """A rate limit is spent; the client may try again after `retry_after_seconds`."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
