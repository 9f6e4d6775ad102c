"""Constant Contact v2 (seed 004): the synchronous opens/clicks listing, on generated data."""

from __future__ import annotations

from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.builders import api_event
from tests.expectations import tracking_rows
from tests.unit.dialects.support import Answer, Dataset, call

from mailexports.config import Settings
from mailexports.tenants.models import CreatedTenant
from mailexports.tenants.service import create_tenant

RESOURCE = "/constantcontact/v2/emailmarketing/campaigns/{campaignId}/tracking/{activity}"
LINK_RESOURCE = (
    f"{RESOURCE}/{{linkId}}"  # one link's clicks (tests/unit/dialects/test_constantcontact_links.py)
)


def listing(
    handlers: dict[str, ModuleType],
    path: str,
    query: dict[str, str],
    headers: dict[str, str] | None = None,
) -> Answer:
    resource = LINK_RESOURCE if path.count("/") == LINK_RESOURCE.count("/") else RESOURCE
    event = api_event("GET", path, resource=resource, query=query or None, headers=headers)
    return call(handlers, "status", event)


def pages(
    handlers: dict[str, ModuleType], key: str, campaign_id: str, activity: str, **query: str
) -> list[Any]:
    """Every page, following next_link as the vendor's SDKs do: the link's path after `/v2/`
    under the base URL they were given (here `/constantcontact/v2`), plus their api_key."""
    path = f"/constantcontact/v2/emailmarketing/campaigns/{campaign_id}/tracking/{activity}"
    answers = []
    params = {"api_key": key, **query}
    while True:
        answer = listing(handlers, path, params)
        assert answer.status == 200, answer.raw
        assert answer.headers["content-type"] == "application/json"
        answers.append(answer.body)
        link = answer.body["meta"]["pagination"].get("next_link")
        if link is None:
            assert answer.body["meta"]["pagination"] == {}
            return answers
        parts = urlsplit(link)
        assert parts.path == path.removeprefix("/constantcontact")  # the vendor's own path
        assert set(parse_qs(parts.query)) == {"next"}  # only the opaque next parameter
        params = {"api_key": key, "next": parse_qs(parts.query)["next"][0]}


def test_seed_example_lists_every_open_newest_first(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    campaign_id = data.of("send")[0]["campaign_id"]
    (page,) = pages(handlers, data.tenant.api_key, campaign_id, "opens")
    want = tracking_rows(data, campaign_id, "opens", None)
    assert 0 < len(want) <= 500
    assert page["results"] == want
    assert all(
        list(row) == ["activity_type", "campaign_id", "contact_id", "email_address", "open_date"]
        for row in page["results"]
    )


@pytest.mark.parametrize(("activity", "limit"), [("opens", "7"), ("clicks", "2"), ("opens", "1")])
def test_pages_follow_next_link_with_created_since(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset, activity: str, limit: str
) -> None:
    campaign_id = data.of("send")[0]["campaign_id"]
    everything = tracking_rows(data, campaign_id, activity, None)
    date_field = "open_date" if activity == "opens" else "click_date"
    since = everything[len(everything) // 2][date_field]
    answers = pages(handlers, data.tenant.api_key, campaign_id, activity, limit=limit, created_since=since)
    want = tracking_rows(data, campaign_id, activity, since)
    assert len(want) > int(limit)
    assert [row for page in answers for row in page["results"]] == want
    assert all(len(page["results"]) <= int(limit) for page in answers)
    assert len(answers) == -(-len(want) // int(limit))


@pytest.mark.parametrize("spelling", ["2025-03-01T10:11:12.345Z", "2025-03-01T11:11:12.345+01:00"])
def test_created_since_is_iso_8601_and_inclusive(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant, spelling: str
) -> None:
    (page,) = pages(handlers, minimal.api_key, "1100394165287", "opens", created_since=spelling)
    assert page["results"] == [
        {
            "activity_type": "EMAIL_OPEN",
            "campaign_id": "1100394165287",
            "contact_id": "51",
            "email_address": "abc@example.com",
            "open_date": "2025-03-01T10:11:12.345Z",
        }
    ]
    (later,) = pages(
        handlers, minimal.api_key, "1100394165287", "opens", created_since="2025-03-01T10:11:12.346Z"
    )
    assert later["results"] == []


@pytest.mark.parametrize("host", ["abc123.execute-api.us-east-1.amazonaws.com", "api.example.test"])
def test_next_link_is_the_vendors_path_whatever_the_host(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset, host: str
) -> None:
    campaign_id = data.of("send")[0]["campaign_id"]
    answer = listing(
        handlers,
        f"/constantcontact/v2/emailmarketing/campaigns/{campaign_id}/tracking/opens",
        {"api_key": data.tenant.api_key, "limit": "1"},
        headers={"Host": host},
    )
    link = answer.body["meta"]["pagination"]["next_link"]
    # No stage, no /constantcontact: the SDKs put their own base URL before what follows /v2/.
    assert link.startswith(f"/v2/emailmarketing/campaigns/{campaign_id}/tracking/opens?next=")


def test_every_click_names_its_link_by_a_stable_id(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    campaign_id = data.of("send")[0]["campaign_id"]
    rows = [
        row
        for page in pages(handlers, data.tenant.api_key, campaign_id, "clicks", limit="3")
        for row in page["results"]
    ]
    assert rows == tracking_rows(data, campaign_id, "clicks", None)
    assert all(
        list(row)
        == [
            "activity_type",
            "campaign_id",
            "contact_id",
            "email_address",
            "link_id",
            "link_uri",
            "click_date",
        ]
        for row in rows
    )
    ids_of = {(row["link_uri"], row["link_id"]) for row in rows}
    uris = {uri for uri, _ in ids_of}
    assert len(uris) > 1
    assert len(ids_of) == len(uris) == len({link for _, link in ids_of})  # one id per link, one link per id
    assert all(link.isdigit() and int(link) < 2**52 for _, link in ids_of)


# ------------------------------------------------------------------ credentials
def test_the_key_as_api_key_as_bearer_or_as_both(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    path = "/constantcontact/v2/emailmarketing/campaigns/1100394165287/tracking/opens"
    key = minimal.api_key
    for query, authorization in [
        ({"api_key": key}, None),
        ({}, f"Bearer {key}"),
        ({"api_key": key}, f"Bearer {key}"),
        ({"api_key": key}, "Bearer "),  # what the SDKs send without a token
        ({"api_key": ""}, f"bearer {key}"),
    ]:
        headers = {"Authorization": authorization} if authorization is not None else None
        answer = listing(handlers, path, query, headers)
        assert answer.status == 200, (query, authorization, answer.raw)
        assert [row["email_address"] for row in answer.body["results"]] == ["abc@example.com"]


def test_two_credentials_must_name_one_tenant(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    path = "/constantcontact/v2/emailmarketing/campaigns/1100394165287/tracking/opens"
    other = create_tenant("other", "other@example.org")
    for query, authorization, message in [
        ({"api_key": minimal.api_key}, f"Bearer {other.api_key}", "belong to different accounts"),
        ({"api_key": other.api_key}, f"Bearer {minimal.api_key}", "belong to different accounts"),
        ({"api_key": minimal.api_key}, "Bearer mxk_wrong", "invalid access token"),
        ({"api_key": "mxk_wrong"}, f"Bearer {minimal.api_key}", "invalid api_key"),
        ({}, "Bearer mxk_wrong", "invalid access token"),
    ]:
        answer = listing(handlers, path, query, {"Authorization": authorization})
        assert answer.status == 401, (query, authorization, answer.raw)
        assert answer.body == [
            {
                "error_key": "http.status.authentication.invalid_token",
                "error_message": answer.body[0]["error_message"],
            }
        ]
        assert message in answer.body[0]["error_message"]


# ------------------------------------------------------------------ errors
ERRORS: list[tuple[str, str, dict[str, str], dict[str, str], int, str, str]] = [
    ("no api_key", "1100394165287/tracking/opens", {}, {}, 401, "http.status.authentication.invalid_token", "api_key is required"),
    ("wrong api_key", "1100394165287/tracking/opens", {"api_key": "mxk_wrong"}, {}, 401, "http.status.authentication.invalid_token", "invalid api_key"),
    ("unknown campaign", "404404/tracking/opens", {"api_key": "KEY"}, {}, 404, "http.status.not_found", "Campaign ID 404404 not found"),
    ("unknown activity", "1100394165287/tracking/bounces", {"api_key": "KEY"}, {}, 404, "http.status.not_found", "use opens or clicks"),
    ("limit 0", "1100394165287/tracking/opens", {"api_key": "KEY", "limit": "0"}, {}, 400, "query.param.invalid", "from 1 to 500"),
    ("limit 501", "1100394165287/tracking/opens", {"api_key": "KEY", "limit": "501"}, {}, 400, "query.param.invalid", "from 1 to 500"),
    ("limit abc", "1100394165287/tracking/opens", {"api_key": "KEY", "limit": "abc"}, {}, 400, "query.param.invalid", "from 1 to 500"),
    ("bad created_since", "1100394165287/tracking/opens", {"api_key": "KEY", "created_since": "last week"}, {}, 400, "query.param.invalid", "created_since must be an ISO-8601 time"),
    ("forged next", "1100394165287/tracking/opens", {"api_key": "KEY", "next": "c3RhcnRBdD0zJmxpbWl0PTI"}, {}, 400, "query.param.invalid", "next parameter"),
    ("html only", "1100394165287/tracking/opens", {"api_key": "KEY"}, {"Accept": "text/html"}, 406, "http.status.not_acceptable", "must be application/json"),
    ("json refused", "1100394165287/tracking/opens", {"api_key": "KEY"}, {"Accept": "application/json;q=0, text/*"}, 406, "http.status.not_acceptable", "must be application/json"),
    ("linkId letters", "1100394165287/tracking/clicks/abc", {"api_key": "KEY"}, {}, 400, "query.param.invalid", "link_id"),
    ("linkId negative", "1100394165287/tracking/clicks/-12", {"api_key": "KEY"}, {}, 400, "query.param.invalid", "link_id"),
    ("linkId not ASCII digits", "1100394165287/tracking/clicks/١٢", {"api_key": "KEY"}, {}, 400, "query.param.invalid", "link_id"),
    ("linkId with a decimal point", "1100394165287/tracking/clicks/12.5", {"api_key": "KEY"}, {}, 400, "query.param.invalid", "digits only"),
    ("opens by link", "1100394165287/tracking/opens/123", {"api_key": "KEY"}, {}, 404, "http.status.not_found", "use clicks/{linkId}"),
    ("unknown campaign, by link", "404404/tracking/clicks/123", {"api_key": "KEY"}, {}, 404, "http.status.not_found", "Campaign ID 404404 not found"),
    ("no api_key, by link", "1100394165287/tracking/clicks/123", {}, {}, 401, "http.status.authentication.invalid_token", "api_key is required"),
    ("wrong api_key, by link", "1100394165287/tracking/clicks/123", {"api_key": "mxk_wrong"}, {}, 401, "http.status.authentication.invalid_token", "invalid api_key"),
    ("limit 0, by link", "1100394165287/tracking/clicks/123", {"api_key": "KEY", "limit": "0"}, {}, 400, "query.param.invalid", "from 1 to 500"),
    ("bad created_since, by link", "1100394165287/tracking/clicks/123", {"api_key": "KEY", "created_since": "soon"}, {}, 400, "query.param.invalid", "created_since"),
    ("forged next, by link", "1100394165287/tracking/clicks/123", {"api_key": "KEY", "next": "e30"}, {}, 400, "query.param.invalid", "next parameter"),
    ("html only, by link", "1100394165287/tracking/clicks/123", {"api_key": "KEY"}, {"Accept": "text/html"}, 406, "http.status.not_acceptable", "must be application/json"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "tail", "query", "headers", "status", "key", "message"), ERRORS, ids=[c[0] for c in ERRORS]
)
def test_errors_are_constant_contact_v2_errors(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    minimal: CreatedTenant,
    case: str,
    tail: str,
    query: dict[str, str],
    headers: dict[str, str],
    status: int,
    key: str,
    message: str,
) -> None:
    filled = {k: minimal.api_key if v == "KEY" else v for k, v in query.items()}
    answer = listing(handlers, f"/constantcontact/v2/emailmarketing/campaigns/{tail}", filled, headers)
    assert answer.status == status, answer.raw
    assert answer.headers["content-type"] == "application/json"
    (error,) = answer.body
    assert error["error_key"] == key
    assert message in error["error_message"]


@pytest.mark.parametrize(
    "accept", ["application/json", "*/*", "application/*", "text/html, application/json;q=0.5", ""]
)
def test_accept_headers_that_allow_json(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant, accept: str
) -> None:
    answer = listing(
        handlers,
        "/constantcontact/v2/emailmarketing/campaigns/1100394165287/tracking/opens",
        {"api_key": minimal.api_key},
        {"Accept": accept},
    )
    assert answer.status == 200


def test_a_next_of_one_campaign_cannot_page_another(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    first, second = sorted({s["campaign_id"] for s in data.of("send")})
    answer = listing(
        handlers,
        f"/constantcontact/v2/emailmarketing/campaigns/{first}/tracking/opens",
        {"api_key": data.tenant.api_key, "limit": "1"},
    )
    token = parse_qs(urlsplit(answer.body["meta"]["pagination"]["next_link"]).query)["next"][0]
    crossed = listing(
        handlers,
        f"/constantcontact/v2/emailmarketing/campaigns/{second}/tracking/opens",
        {"api_key": data.tenant.api_key, "next": token},
    )
    assert crossed.status == 400
    assert crossed.body[0]["error_key"] == "query.param.invalid"
