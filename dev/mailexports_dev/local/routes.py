"""Match an HTTP method and path against template.yaml's API routes, as API Gateway does.

A `{name}` segment matches one non-empty path segment; a greedy `{name+}` (last in its
route) matches one or more, and its parameter is the rest of the path. Where two routes
match, the more specific one at the first place they differ wins: literal, then `{name}`,
then `{name+}` (API Gateway resolves `/v1/exports/stats` before `/v1/exports/{id}` the
same way, and a `{proxy+}` only catches what nothing else does). Method `ANY` matches
every method, after an exact method.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from mailexports_dev.local.template import ApiRoute


@dataclass(frozen=True)
class RouteMatch[T]:
    route: ApiRoute
    target: T
    path_parameters: dict[str, str]  # URL-decoded, like API Gateway's pathParameters


def _segments(path: str) -> list[str]:
    return path.split("/")[1:] if path.startswith("/") else path.split("/")


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _is_greedy(segment: str) -> bool:
    return _is_param(segment) and segment.endswith("+}")


def _rank(segment: str) -> int:
    """How general a template segment is: literal 0, `{name}` 1, `{name+}` 2."""
    return 2 if _is_greedy(segment) else 1 if _is_param(segment) else 0


class RouteTable[T]:
    def __init__(self, routes: Iterable[tuple[ApiRoute, T]]) -> None:
        self._routes = [(route, target, _segments(route.path)) for route, target in routes]

    def match(self, method: str, raw_path: str) -> RouteMatch[T] | None:
        """The best route for METHOD raw_path (still percent-encoded), or None (API Gateway's 403)."""
        method = method.upper()
        requested = _segments(raw_path)
        candidates: list[tuple[tuple[int, ...], int, RouteMatch[T]]] = []
        for route, target, template in self._routes:
            if route.method not in (method, "ANY"):
                continue
            parameters = _bind(template, requested)
            if parameters is None:
                continue
            # Lower ranks first, segment by segment (literal, parameter, greedy); then exact method.
            rank = tuple(_rank(segment) for segment in template)
            candidates.append(
                (rank, 0 if route.method == method else 1, RouteMatch(route, target, parameters))
            )
        if not candidates:
            return None
        return min(candidates, key=lambda item: (item[0], item[1]))[2]

    @property
    def routes(self) -> list[tuple[ApiRoute, T]]:
        return [(route, target) for route, target, _ in self._routes]


def _bind(template: list[str], requested: list[str]) -> dict[str, str] | None:
    if template and _is_greedy(template[-1]):
        head = len(template) - 1
        rest = "/".join(requested[head:])
        if len(requested) <= head or not rest.strip("/"):
            return None  # a greedy segment needs at least one non-empty segment
        bound = _bind(template[:head], requested[:head])
        if bound is not None:
            bound[template[-1][1:-2]] = unquote(rest)
        return bound
    if len(template) != len(requested):
        return None
    parameters: dict[str, str] = {}
    for expected, actual in zip(template, requested, strict=True):
        if _is_param(expected):
            if not actual:
                return None
            parameters[expected[1:-1]] = unquote(actual)
        elif expected != actual:
            return None
    return parameters
