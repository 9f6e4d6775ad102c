"""DynamoDB's wire form (`{"attr": {"S": ...}}`), both ways, for the whole marketing package.

The low-level client is used rather than boto3's TypeSerializer/Deserializer: it
skips a conversion per item, numbers come back as int/float (not Decimal), and
the writer learns each item's size by DynamoDB's formula while encoding it.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

WireItem = Mapping[str, Any]  # one item as the low-level client returns it
Item = dict[str, Any]  # one item as plain Python, before encoding

# Largest item written; a little under 400 KB because the size here is DynamoDB's formula, estimated.
MAX_ITEM_BYTES: Final = 400_000
MAX_PARTITION_KEY_BYTES: Final = 2048
MAX_SORT_KEY_BYTES: Final = 1024
# DynamoDB numbers: 38 significant digits, magnitudes 1e-130 to 1e126.
_MAX_NUMBER_DIGITS: Final = 38


# ---------------------------------------------------------------- decoding
def string(item: WireItem, name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if value else None


def required(item: WireItem, name: str) -> str:
    value = string(item, name)
    if value is None:
        raise ValueError(f"marketing item {string(item, 'pk')}/{string(item, 'sk')} lacks {name!r}")
    return value


def _parse_number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def plain(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value as plain JSON-ready Python (numbers as int/float, not Decimal)."""
    kind, raw = next(iter(value.items()))
    match kind:
        case "S" | "BOOL":
            return raw
        case "N":
            return _parse_number(raw)
        case "M":
            return {name: plain(v) for name, v in raw.items()}
        case "L":
            return [plain(v) for v in raw]
        case "NULL":
            return None
        case "SS":
            return sorted(raw)
        case "NS":
            return sorted(_parse_number(v) for v in raw)
        case "B":
            return base64.b64encode(raw).decode()
        case _:
            raise ValueError(f"unsupported attribute type {kind}")


def plain_attr(item: WireItem, name: str, default: Any) -> Any:
    value = item.get(name)
    return default if value is None else plain(value)


def projection(*attributes: str) -> tuple[str, dict[str, str]]:
    """A ProjectionExpression over `attributes`, every name aliased (reserved words are many)."""
    aliases = {f"#{name}": name for name in attributes}
    return ", ".join(aliases), aliases


# ---------------------------------------------------------------- encoding
def _number(value: int | float) -> tuple[dict[str, Any], int]:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a number DynamoDB can store")
    number = Decimal(repr(value) if isinstance(value, float) else value)
    # Count significant digits by hand: Decimal.normalize() would round to the context's 28.
    digits = len("".join(map(str, number.as_tuple().digits)).strip("0")) or 1
    if digits > _MAX_NUMBER_DIGITS or (number and not -130 <= number.adjusted() <= 125):
        raise ValueError(f"{value} has more precision or magnitude than DynamoDB numbers (38 digits)")
    return {"N": str(value) if isinstance(value, int) else repr(value)}, digits // 2 + 2


def to_attribute_value(value: Any) -> tuple[dict[str, Any], int]:
    """A Python/JSON value as a DynamoDB AttributeValue, with its size by DynamoDB's formula."""
    if isinstance(value, str):
        return {"S": value}, len(value.encode())
    if isinstance(value, bool):  # before int: bool is an int
        return {"BOOL": value}, 1
    if isinstance(value, int | float):
        return _number(value)
    if value is None:
        return {"NULL": True}, 1
    if isinstance(value, Mapping):
        entries, size = {}, 3
        for name, inner in value.items():
            entries[str(name)], inner_size = to_attribute_value(inner)
            size += len(str(name).encode()) + inner_size + 1
        return {"M": entries}, size
    if isinstance(value, list | tuple):
        elements, size = [], 3
        for inner in value:
            element, inner_size = to_attribute_value(inner)
            elements.append(element)
            size += inner_size + 1
        return {"L": elements}, size
    raise ValueError(f"cannot store a {type(value).__name__}")


def serialize_item(item: Item) -> tuple[dict[str, Any], int]:
    """The item in DynamoDB's wire form and its size; `ValueError` names an attribute it cannot hold."""
    wire, total = {}, 0
    for name, value in item.items():
        try:
            wire[name], size = to_attribute_value(value)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
        total += len(name.encode()) + size
    for name in ("sk", "gsi1sk", "gsi2sk", "gsi3sk"):
        if name in item and len(item[name].encode()) > MAX_SORT_KEY_BYTES:
            raise ValueError(f"ids too long: the {name} key would exceed {MAX_SORT_KEY_BYTES} bytes")
    for name in ("pk", "gsi1pk", "gsi2pk", "gsi3pk"):
        if name in item and len(item[name].encode()) > MAX_PARTITION_KEY_BYTES:
            raise ValueError(f"ids too long: the {name} key would exceed {MAX_PARTITION_KEY_BYTES} bytes")
    return wire, total


def key(pk: str, sk: str) -> dict[str, Any]:
    """A table key in wire form."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}
