"""`--param KEY=VALUE`: typed from the API's own models, so the API gets what it validates."""

from __future__ import annotations

import pytest

from mailexports.exports.requests import PARAMS_MODEL, ExportType
from mailexports_cli.client.errors import UsageError
from mailexports_cli.client.params import parse_params


def test_lists_booleans_and_all_are_typed_as_the_api_expects() -> None:
    params = parse_params(
        "segment_contacts",
        ["segment_ids=seg-1", "include_membership=true", "custom_fields=all", "status=active"],
    )
    assert params == {
        "segment_ids": ["seg-1"],
        "include_membership": True,
        "custom_fields": "all",
        "status": "active",
    }
    # And the API's own validation accepts exactly that.
    PARAMS_MODEL[ExportType.SEGMENT_CONTACTS].model_validate(params)


def test_commas_make_lists_and_names_may_have_spaces() -> None:
    params = parse_params(
        "segment_contacts", ["segment_ids=a,b", "custom_fields=First Name, City", "include_membership=no"]
    )
    assert params == {
        "segment_ids": ["a", "b"],
        "custom_fields": ["First Name", "City"],
        "include_membership": False,
    }
    activity = parse_params("campaign_activity", ["stat_id=981", "events=open", "start_date=2025-01-01"])
    assert activity == {"stat_id": "981", "events": ["open"], "start_date": "2025-01-01"}


def test_an_unknown_name_is_passed_on_for_the_api_to_name() -> None:
    assert parse_params("campaign_activity", ["colour=red,blue", "shade=dark"]) == {
        "colour": ["red", "blue"],
        "shade": "dark",
    }


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["stat_id"], "--param 'stat_id': expected KEY=VALUE"),
        (["=981"], "--param '=981': expected KEY=VALUE"),
        (["stat_id=1", "stat_id=2"], "--param stat_id: given twice"),
    ],
)
def test_malformed_params_are_usage_errors_naming_them(pairs: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_params("campaign_activity", pairs)
    assert caught.value.message.startswith(message)
