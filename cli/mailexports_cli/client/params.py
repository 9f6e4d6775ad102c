"""`--param KEY=VALUE` into the submit body's `params`, typed as the API expects.

The types come from the same pydantic models the API validates with: a list field
always gets a list (`segment_ids=seg-1` is `["seg-1"]`), a bool field `true`/`false`, and
`custom_fields=all` stays the string. Any other value with commas is a list. A name the
models do not know is passed on as given, so the API's answer names it.
"""

from __future__ import annotations

import functools
import operator
import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from mailexports.exports.requests import PARAMS_MODEL, ExportType
from mailexports_cli.client.errors import UsageError

_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def parse_params(export_type: str, pairs: list[str]) -> dict[str, Any]:
    fields = PARAMS_MODEL[ExportType(export_type)].model_fields
    params: dict[str, Any] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        name = name.strip()
        if not equals or not name:
            raise UsageError(f"--param {pair!r}: expected KEY=VALUE, e.g. stat_id=981")
        if name in params:
            raise UsageError(f"--param {name}: given twice (a list is one value with commas: a,b)")
        field = fields.get(name)
        params[name] = typed_value(value, shape_of(field.annotation) if field else Shape())
    return params


@dataclass(frozen=True)
class Shape:
    """What a field accepts: some of "list", "bool", "scalar", and the values of any Literal."""

    kinds: frozenset[str] = frozenset()
    literals: frozenset[object] = frozenset()

    def __or__(self, other: Shape) -> Shape:
        return Shape(self.kinds | other.kinds, self.literals | other.literals)


def typed_value(value: str, shape: Shape) -> Any:
    if value in shape.literals:  # e.g. custom_fields=all
        return value
    if "bool" in shape.kinds and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    if "list" in shape.kinds or "," in value:
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def shape_of(annotation: Any) -> Shape:
    origin = get_origin(annotation)
    if origin is Annotated:
        return shape_of(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return functools.reduce(operator.or_, (shape_of(arg) for arg in get_args(annotation)), Shape())
    if origin is list:
        return Shape(frozenset({"list"}))
    if origin is Literal:
        return Shape(literals=frozenset(get_args(annotation)))
    if annotation is bool:
        return Shape(frozenset({"bool"}))
    return Shape(frozenset({"scalar"}))
