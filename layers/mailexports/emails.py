"""The one check of an email address, for imports, look-ups and notification targets.

Strict on purpose (a dot-atom mailbox at a dotted domain name, RFC 5321's
lengths): an address that passes is one SES can send to, and nothing that could
smuggle a header or a second recipient (spaces, commas, CR/LF, display names).
"""

from __future__ import annotations

import re

_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")

NOT_AN_ADDRESS = "not an email address"


def email_problem(address: str) -> str | None:
    """Why `address` is not one bare email address, or None. The reason never repeats the address."""
    if len(address) > 254:
        return f"{NOT_AN_ADDRESS}: longer than 254 characters"
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return NOT_AN_ADDRESS
    if len(local) > 64 or not _LOCAL.fullmatch(local):
        return f"{NOT_AN_ADDRESS}: the part before @ is not a valid mailbox name"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return f"{NOT_AN_ADDRESS}: the part after @ is not a valid domain name"
    return None


def normalized_email(address: str) -> str:
    """The address as the store keys it (lower case); ValueError with the reason if it is not one."""
    problem = email_problem(address)
    if problem:
        raise ValueError(problem)
    return address.lower()
