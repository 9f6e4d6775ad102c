"""Pinpointe on the wire: the request body as JSON or as the vendor's `<xmlrequest>`,
and the answer in the same form.

The vendor's clients send JSON only when their configured URL contains `json`
(`.../apijson.php`) and the XML interface otherwise; both carry the same fields and
get the same answer, at the top level: `{"status": "SUCCESS", "data": <job id>}` or
`<response><status>SUCCESS</status><data>...</data></response>`. A refusal is HTTP 400
with status ERROR, a failed login HTTP 401 with status FAILED (vendor release notes
PINPOINTE-1745 and -1747).

XML is read with expat directly and refuses any DOCTYPE, so no entity is ever declared
or expanded (no XXE, no billion laughs) and nothing is fetched.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn
from xml.parsers import expat
from xml.sax.saxutils import escape

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from mailexports.api.bodies import decode_utf8, parse_json
from mailexports.api.errors import with_retry_after
from mailexports.api.http import json_response
from mailexports.dialects.common import describe, headers_of
from mailexports.errors import DomainError, RateLimited, Unauthorized, ValidationFailed

ROOT = "xmlrequest"
# Deep enough for any real request (xmlrequest > details > notify > type); more is an attack.
MAX_XML_DEPTH = 16
LOGIN_FAILED = "Unable to verify user credentials"
XML_CONTENT_TYPE = "text/xml; charset=utf-8"
# Characters XML 1.0 cannot carry at all, even escaped; never echoed into an answer.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Wire(StrEnum):
    JSON = "json"
    XML = "xml"


def body_bytes(event: BaseProxyEvent) -> bytes | None:
    """The request body as sent; None when API Gateway's base64 of it does not decode."""
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    return body.encode("utf-8", "surrogatepass")


def wire_of(event: BaseProxyEvent, raw: bytes | None) -> Wire:
    """XML when the content type says so or the body starts with `<`; JSON otherwise."""
    media_type = headers_of(event).get("content-type", "").split(";")[0].strip().lower()
    if media_type.endswith(("/xml", "+xml")) or (raw or b"").lstrip()[:1] == b"<":
        return Wire.XML
    return Wire.JSON


def parse_body(raw: bytes | None, wire: Wire) -> Any:
    if raw is None:
        raise ValidationFailed("the request body is not valid base64")
    if not raw.strip():
        raise ValidationFailed(f"the request body is empty; send a {wire.value.upper()} request")
    return parse_xml(raw) if wire is Wire.XML else _parse_json(raw)


def _parse_json(raw: bytes) -> Any:
    return parse_json(decode_utf8(raw))


# ---------------------------------------------------------------- XML requests
@dataclass
class _Element:
    name: str
    text: list[str] = field(default_factory=list)
    children: list[_Element] = field(default_factory=list)


class _Refused(Exception):
    """Raised from inside expat's callbacks; stops the parse at once."""


def _refuse_doctype(*_: object) -> NoReturn:
    raise _Refused("a DOCTYPE (and so any entity declaration) is not accepted")


def parse_xml(raw: bytes) -> Any:
    """An `<xmlrequest>` as the same tree a JSON request gives: elements with children
    become objects, a repeated element a list (so is a run of `<item>`s), text the value."""
    stack: list[_Element] = []
    roots: list[_Element] = []

    def start(name: str, _attributes: dict[str, str]) -> None:
        if len(stack) >= MAX_XML_DEPTH:
            raise _Refused(f"elements are nested deeper than {MAX_XML_DEPTH} levels")
        element = _Element(name)
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(_name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text.append(data)

    parser = expat.ParserCreate(encoding=None)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(raw, True)
    except _Refused as refusal:
        raise ValidationFailed(f"the XML request is refused: {refusal}") from None
    except expat.ExpatError as error:
        reason = expat.ErrorString(error.code) if error.code is not None else str(error)
        raise ValidationFailed(
            f"the request body is not well-formed XML ({reason} at line {error.lineno}, "
            f"column {error.offset})"
        ) from None
    root = roots[0]  # expat refuses a document without exactly one root element
    if root.name != ROOT:
        raise ValidationFailed(f"the XML request's root element must be <{ROOT}>, not <{root.name}>")
    return _value(root)


def _value(element: _Element) -> Any:
    if not element.children:
        return "".join(element.text).strip()
    if all(child.name == "item" for child in element.children):
        return [_value(child) for child in element.children]
    grouped: dict[str, list[Any]] = {}
    for child in element.children:
        grouped.setdefault(child.name, []).append(_value(child))
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


# ---------------------------------------------------------------- answers
def success(job_id: str, wire: Wire) -> Response[str]:
    return _answer(200, {"status": "SUCCESS", "data": job_id}, wire)


def failure(error: DomainError, wire: Wire) -> Response[str]:
    """A failed login is the vendor's FAILED (401, one fixed message that says nothing
    about which part was wrong); anything else the caller got wrong is ERROR (400)."""
    if isinstance(error, Unauthorized):
        return _answer(401, {"status": "FAILED", "errormessage": LOGIN_FAILED}, wire)
    if isinstance(error, RateLimited):
        # The vendor's ERROR body (its clients read `status`), on the status every HTTP client
        # knows means "slow down", with Retry-After.
        answer = _answer(429, {"status": "ERROR", "errormessage": describe(error)}, wire)
        return with_retry_after(answer, error)
    return _answer(400, {"status": "ERROR", "errormessage": describe(error)}, wire)


def _answer(status_code: int, fields: dict[str, str], wire: Wire) -> Response[str]:
    if wire is Wire.JSON:
        return json_response(status_code, fields)
    elements = "".join(
        f"<{name}>{escape(_NOT_XML.sub('', value))}</{name}>" for name, value in fields.items()
    )
    return Response(
        status_code=status_code,
        content_type=XML_CONTENT_TYPE,
        body=f'<?xml version="1.0" encoding="UTF-8"?>\n<response>{elements}</response>',
    )
