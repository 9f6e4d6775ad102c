"""What can go wrong for the API client, each with the exit code a script can rely on."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    OK = 0
    # The export did not give a good file: it failed, was cancelled or expired, has no file,
    # or a downloaded file's sha256 did not match the task's.
    TASK_UNSUCCESSFUL = 1
    # The request was wrong: bad arguments, a 4xx from the API (validation, unknown id, bad key).
    USAGE = 2
    # The API could not be reached or failed: refused connection, timeout, 5xx, unreadable answer.
    UNAVAILABLE = 3


class ClientError(Exception):
    """An error shown to the user as one line on stderr; the process exits with `exit_code`."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # One line, whatever the server or the OS put in the message.
        self.message = " ".join(message.split())


class UsageError(ClientError):
    exit_code = ExitCode.USAGE


class ApiRefused(ClientError):
    """A 4xx answer; the message names the field(s) at fault from the canonical error's details."""

    exit_code = ExitCode.USAGE

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ApiUnavailable(ClientError):
    exit_code = ExitCode.UNAVAILABLE


class TaskUnsuccessful(ClientError):
    exit_code = ExitCode.TASK_UNSUCCESSFUL


def refusal_message(status: int, body: Any) -> tuple[str, str | None]:
    """(one-line message, error code) from a 4xx body: the canonical error, or API Gateway's own."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or f"HTTP {status}")
        details = error.get("details") or []
        fields = [
            f"{d.get('field', '?')}: {d.get('issue', '')}".rstrip(": ")
            for d in details
            if isinstance(d, dict)
        ]
        if fields and not all(field in message for field in fields):  # the message may say it all
            message = f"{'; '.join(fields)} ({message})"
        code = error.get("code")
        return message, str(code) if code else None
    if isinstance(body, dict) and "message" in body:  # API Gateway's own answers: {"message": "..."}
        return f"HTTP {status}: {body['message']}", None
    return f"HTTP {status}", None
