"""Route matching: API Gateway's rules for {param} segments, literals and methods."""

from __future__ import annotations

from mailexports_dev.local.routes import RouteTable
from mailexports_dev.local.template import ApiRoute, functions


def _table(*routes: tuple[str, str]) -> RouteTable[str]:
    return RouteTable((ApiRoute(method, path), f"{method} {path}") for method, path in routes)


def test_literal_segment_beats_a_parameter_whatever_the_declaration_order() -> None:
    table = _table(("GET", "/v1/exports/{task_uuid}"), ("GET", "/v1/exports/stats"))
    literal = table.match("GET", "/v1/exports/stats")
    assert literal is not None
    assert literal.target == "GET /v1/exports/stats"
    assert literal.path_parameters == {}
    param = table.match("GET", "/v1/exports/abc")
    assert param is not None
    assert param.target == "GET /v1/exports/{task_uuid}"
    assert param.path_parameters == {"task_uuid": "abc"}


def test_the_first_differing_segment_decides() -> None:
    table = _table(("GET", "/a/{x}/c"), ("GET", "/a/b/{y}"))
    match = table.match("GET", "/a/b/c")
    assert match is not None
    assert match.target == "GET /a/b/{y}"


def test_path_parameters_are_url_decoded_but_matched_per_raw_segment() -> None:
    table = _table(("POST", "/copernica/v3/email/{email}/datarequest"))
    match = table.match("POST", "/copernica/v3/email/ann%2Bsale%40example.com/datarequest")
    assert match is not None
    assert match.path_parameters == {"email": "ann+sale@example.com"}
    # An encoded slash stays inside its segment, as in API Gateway.
    slashed = table.match("POST", "/copernica/v3/email/a%2Fb/datarequest")
    assert slashed is not None
    assert slashed.path_parameters == {"email": "a/b"}


def test_no_match_for_other_methods_lengths_empty_params_or_case() -> None:
    table = _table(("GET", "/v1/exports/{task_uuid}"))
    assert table.match("DELETE", "/v1/exports/abc") is None
    assert table.match("GET", "/v1/exports") is None
    assert table.match("GET", "/v1/exports/abc/extra") is None
    assert table.match("GET", "/v1/exports/") is None
    assert table.match("GET", "/V1/exports/abc") is None


def test_any_method_matches_after_an_exact_method() -> None:
    table = _table(("ANY", "/x"), ("POST", "/x"))
    post = table.match("post", "/x")
    assert post is not None
    assert post.target == "POST /x"
    get = table.match("GET", "/x")
    assert get is not None
    assert get.target == "ANY /x"


def test_every_template_route_matches_itself() -> None:
    routes = [(route, spec.logical_id) for spec in functions() for route in spec.routes]
    table = RouteTable(routes)
    for route, function in routes:
        concrete = "/".join("value" if s.startswith("{") else s for s in route.path.split("/"))
        match = table.match(route.method, concrete)
        assert match is not None, route
        assert (match.route, match.target) == (route, function)


def test_a_greedy_segment_takes_the_rest_of_the_path() -> None:
    table = _table(("POST", "/pinpointe"), ("POST", "/pinpointe/{proxy+}"))
    one = table.match("POST", "/pinpointe/apijson.php")
    assert one is not None
    assert one.target == "POST /pinpointe/{proxy+}"
    assert one.path_parameters == {"proxy": "apijson.php"}
    deeper = table.match("POST", "/pinpointe/admin/xml%20api/xml.php")
    assert deeper is not None
    assert deeper.target == "POST /pinpointe/{proxy+}"
    assert deeper.path_parameters == {"proxy": "admin/xml api/xml.php"}
    bare = table.match("POST", "/pinpointe")
    assert bare is not None
    assert bare.target == "POST /pinpointe"


def test_a_greedy_segment_needs_at_least_one_non_empty_segment() -> None:
    table = _table(("POST", "/pinpointe/{proxy+}"))
    assert table.match("POST", "/pinpointe") is None
    assert table.match("POST", "/pinpointe/") is None
    assert table.match("POST", "/other/apijson.php") is None
    assert table.match("GET", "/pinpointe/apijson.php") is None


def test_a_greedy_segment_is_the_least_specific() -> None:
    table = _table(("GET", "/a/{proxy+}"), ("GET", "/a/{x}/c"), ("GET", "/a/b"))
    literal = table.match("GET", "/a/b")
    assert literal is not None
    assert literal.target == "GET /a/b"
    param = table.match("GET", "/a/z/c")
    assert param is not None
    assert param.target == "GET /a/{x}/c"
    assert param.path_parameters == {"x": "z"}
    greedy = table.match("GET", "/a/z/d")
    assert greedy is not None
    assert greedy.target == "GET /a/{proxy+}"
    assert greedy.path_parameters == {"proxy": "z/d"}


def test_parameters_before_a_greedy_segment_are_bound_too() -> None:
    table = _table(("POST", "/t/{tenant}/{proxy+}"))
    match = table.match("POST", "/t/acme/x/y")
    assert match is not None
    assert match.path_parameters == {"tenant": "acme", "proxy": "x/y"}
    assert table.match("POST", "/t//x") is None
