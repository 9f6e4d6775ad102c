"""LocalApi: routing a request to its function and answering like API Gateway (no sockets)."""

from __future__ import annotations

import json
from typing import Any

from mailexports_dev.local.gateway import LocalApi
from mailexports_dev.local.lambda_runtime import LocalFunction
from mailexports_dev.local.proxy_event import GatewayInfo, HttpRequest
from mailexports_dev.local.template import ApiRoute, FunctionSpec, functions


def _spec(logical_id: str, *routes: ApiRoute) -> FunctionSpec:
    template = next(s for s in functions() if s.logical_id == "StatusFunction")
    return FunctionSpec(logical_id, template.code_uri, template.handler, 3, routes=routes)


def _request(method: str, path: str, query: str = "") -> HttpRequest:
    return HttpRequest(method, path, query, [("Host", "localhost:3000")], b"", "127.0.0.1")


class Recorder:
    def __init__(self, result: Any = None, error: Exception | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.result = result
        self.error = error

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        assert context.get_remaining_time_in_millis() > 0
        if self.error:
            raise self.error
        return self.result


def _api(handler: Recorder) -> LocalApi:
    spec = _spec("EchoFunction", ApiRoute("GET", "/v1/exports/{task_uuid}"))
    return LocalApi([LocalFunction(spec, handler, memory_mb=128)], GatewayInfo(stage="dev"))


def test_unknown_route_is_api_gateways_403() -> None:
    handler = Recorder()
    response, answered_by = _api(handler).handle(_request("GET", "/nowhere"))
    assert response.status == 403
    assert response.body == b'{"message":"Missing Authentication Token"}'
    assert response.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert answered_by == "-"
    # A declared path with an undeclared method is the same 403.
    assert _api(handler).handle(_request("POST", "/v1/exports/abc"))[0].status == 403
    assert handler.events == []


def test_handler_exception_is_a_502_without_details(capsys: Any) -> None:
    handler = Recorder(error=RuntimeError("secret detail"))
    response, answered_by = _api(handler).handle(_request("GET", "/v1/exports/abc"))
    assert response.status == 502
    assert response.body == b'{"message": "Internal server error"}'
    assert b"secret" not in response.body
    assert answered_by == "EchoFunction"
    assert "secret detail" in capsys.readouterr().err  # on the console, for the developer


def test_malformed_result_is_a_502() -> None:
    response, _ = _api(Recorder(result={"statusCode": 200, "body": {"not": "a string"}})).handle(
        _request("GET", "/v1/exports/abc")
    )
    assert response.status == 502


def test_the_handler_gets_the_event_and_its_response_is_sent() -> None:
    handler = Recorder(result={"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "hi"})
    response, _ = _api(handler).handle(_request("GET", "/v1/exports/t%201", "a=1"))
    assert (response.status, response.body, response.header("Content-Type")) == (200, b"hi", "text/plain")
    (event,) = handler.events
    assert event["pathParameters"] == {"task_uuid": "t 1"}
    assert event["queryStringParameters"] == {"a": "1"}
    assert event["requestContext"]["path"] == "/dev/v1/exports/t%201"


def test_stage_prefixed_paths_reach_the_same_route_with_the_same_event() -> None:
    handler = Recorder(result={"statusCode": 204})
    response, _ = _api(handler).handle(_request("GET", "/dev/v1/exports/abc"))
    assert response.status == 204
    (event,) = handler.events
    assert event["path"] == "/v1/exports/abc"
    assert event["requestContext"]["path"] == "/dev/v1/exports/abc"


def test_results_go_through_json_like_lambdas() -> None:
    handler = Recorder(result={"statusCode": 200, "body": json.dumps({"n": 1})})
    response, _ = _api(handler).handle(_request("GET", "/v1/exports/abc"))
    assert json.loads(response.body) == {"n": 1}


def test_access_log_masks_credentials_in_the_query() -> None:
    from urllib.parse import urlsplit

    from mailexports_dev.local.gateway import _loggable

    logged = _loggable(urlsplit("/selzy/en/api/async/getTaskResult?api_key=abc123&task_id=7&access_token=x"))
    assert "abc123" not in logged
    assert logged == "/selzy/en/api/async/getTaskResult?api_key=***&task_id=7&access_token=***"
