"""A refusal is one line that names the field, without saying the same thing twice."""

from __future__ import annotations

from mailexports_cli.client.errors import refusal_message


def test_details_the_message_already_names_are_not_repeated() -> None:
    body = {
        "error": {
            "code": "validation_error",
            "message": "invalid request (params.stat_id: Field required)",
            "details": [{"field": "params.stat_id", "issue": "Field required"}],
        }
    }
    assert refusal_message(400, body) == (
        "invalid request (params.stat_id: Field required)",
        "validation_error",
    )


def test_details_the_message_leaves_out_lead_the_line() -> None:
    body = {
        "error": {
            "code": "conflict",
            "message": "already finished",
            "details": [{"field": "task", "issue": "done"}],
        }
    }
    assert refusal_message(409, body) == ("task: done (already finished)", "conflict")


def test_api_gateways_own_answer_is_named_by_status() -> None:
    assert refusal_message(403, {"message": "Missing Authentication Token"}) == (
        "HTTP 403: Missing Authentication Token",
        None,
    )
