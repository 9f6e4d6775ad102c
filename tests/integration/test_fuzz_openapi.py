"""The canonical API fuzzed from its own OpenAPI document, over HTTP against the local stack:
a bounded schemathesis run (`make fuzz` runs longer). No 5xx, and every answer's status,
content type, headers and body conform to the document."""

from __future__ import annotations

from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method

from tests.integration.conftest import RunningStack

# What the document cannot say, so these two checks would report the API being right:
# - positive_data_acceptance: a schema-valid request can still be refused on purpose (an
#   opaque `cursor` the API never issued, an `end_date` before `start_date`, an unknown
#   `stat_id` is 422);
# - unsupported_method: API Gateway answers an undeclared method 403, not 405.
EXCLUDED_CHECKS = [positive_data_acceptance, unsupported_method]


# Examples per operation: enough to reach every error path in a bounded `make test`.
MAX_EXAMPLES = 25


def test_the_api_answers_as_its_document_says(local_stack: RunningStack) -> None:
    document = requests.get(f"{local_stack.api_url}/v1/openapi.json", timeout=10).json()
    headers = {"Authorization": f"Bearer {local_stack.demo['api_key']}"}
    operations = [result.ok() for result in schemathesis.openapi.from_dict(document).get_all_operations()]
    assert len(operations) >= 7, "the document lost operations"
    for operation in operations:
        # Valid requests, and requests that break the document (which must be 4xx, never 5xx).
        cases = operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE)

        @given(case=cases)
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case: Any) -> None:
            case.call_and_validate(
                base_url=local_stack.api_url, headers=headers, excluded_checks=EXCLUDED_CHECKS
            )

        answers_as_documented()
