"""DynamoDB read answers taken as `json.loads` gives them, not by botocore's shape walk.

botocore turns every response into Python by walking the operation's output shape
member by member. For an export's Query pages that walk is most of the worker's CPU
per record (bench/bench_scale.py measures it), and for DynamoDB's read operations
it changes nothing but binary attributes (base64 text -> bytes). So a read answer
with no binary attribute in it is used as parsed JSON; anything else (a body that
might hold `B`/`BS` values, any other operation, every error) goes through botocore
unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.parsers import JSONParser, ResponseParserFactory

# The output shapes whose only non-JSON member type is the AttributeValue's binary.
_READS = frozenset({"QueryOutput", "GetItemOutput", "BatchGetItemOutput", "ScanOutput"})
# `"B": ` or `"BS": ` keys; a false positive (an attribute or text starting with B)
# only costs the slow path.
_BINARY_MARK = b'"B'


class DynamoDBReadParser(JSONParser):
    def _do_parse(self, response: dict[str, Any], shape: Any) -> dict[str, Any]:
        body = response["body"]
        if shape is None or shape.name not in _READS or not body or _BINARY_MARK in body:
            return super()._do_parse(response, shape)  # type: ignore[misc, no-any-return]
        try:
            parsed = json.loads(body)
        except ValueError:
            return super()._do_parse(response, shape)  # type: ignore[misc, no-any-return]
        self._inject_response_metadata(parsed, response["headers"])  # type: ignore[attr-defined]
        return parsed  # type: ignore[no-any-return]


class DynamoDBParserFactory(ResponseParserFactory):
    """For a session that makes only DynamoDB clients ("json" is DynamoDB's protocol)."""

    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name == "json":
            return DynamoDBReadParser(**self._defaults)  # type: ignore[attr-defined]
        return super().create_parser(protocol_name)
