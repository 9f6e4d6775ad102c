"""Loading handlers from their CodeUri and invoking them with a Lambda-like context."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from mailexports_dev.local.lambda_runtime import (
    FunctionLoadError,
    LocalFunction,
    load_handler,
    memory_size,
    module_name,
)
from mailexports_dev.local.template import FunctionSpec, functions


def _spec(code: Path, logical_id: str = "EchoFunction", timeout: int = 3) -> FunctionSpec:
    return FunctionSpec(logical_id, code, "app.lambda_handler", timeout)


def test_template_functions_get_unique_module_names_and_their_memory_size() -> None:
    specs = {s.logical_id: s for s in functions()}
    assert module_name(specs["SubmitFunction"]) == "mailexports_fn_submit"
    assert len({module_name(s) for s in specs.values()}) == len(specs)
    assert memory_size(specs["WorkerFunction"]) == 1769
    assert memory_size(specs["SubmitFunction"]) == 512  # Globals


def test_handler_loads_from_its_code_uri_and_may_import_files_beside_it(tmp_path: Path) -> None:
    (tmp_path / "helper_for_echo.py").write_text("GREETING = 'hello'\n")
    (tmp_path / "app.py").write_text(
        "from helper_for_echo import GREETING\n"
        "def lambda_handler(event, context):\n"
        "    return {'greeting': GREETING, 'event': event, 'name': context.function_name,\n"
        "            'arn': context.invoked_function_arn, 'memory': context.memory_limit_in_mb,\n"
        "            'request': context.aws_request_id, 'group': context.log_group_name,\n"
        "            'remaining': context.get_remaining_time_in_millis()}\n"
    )
    function = LocalFunction(_spec(tmp_path), memory_mb=256)
    result = function.invoke({"a": 1})
    assert result["greeting"] == "hello"
    assert result["event"] == {"a": 1}
    assert result["name"] == "mailexports-local-EchoFunction"
    assert result["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:mailexports-local-EchoFunction"
    assert result["memory"] == 256
    assert result["group"] == "/aws/lambda/mailexports-local-EchoFunction"
    assert 2000 < result["remaining"] <= 3000
    assert result["request"] != function.invoke({})["request"]
    assert "mailexports_fn_echo" in sys.modules
    assert str(tmp_path) not in sys.path


def test_remaining_time_counts_down() -> None:
    context = LocalFunction(_spec(Path("."), timeout=1), lambda e, c: None, memory_mb=128).new_context()
    first = context.get_remaining_time_in_millis()
    time.sleep(0.05)
    assert 0 < context.get_remaining_time_in_millis() < first <= 1000


def test_results_that_json_cannot_carry_fail_like_in_lambda() -> None:
    function = LocalFunction(_spec(Path(".")), lambda e, c: {"when": object()}, memory_mb=128)
    with pytest.raises(TypeError):
        function.invoke({})


def test_broken_handler_files_raise_a_load_error_naming_the_function(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def lambda_handler(event, context) return 1\n")
    with pytest.raises(FunctionLoadError, match="BrokenFunction"):
        load_handler(_spec(tmp_path, "BrokenFunction"))
    (tmp_path / "app.py").write_text("handler = 1\n")
    with pytest.raises(FunctionLoadError, match="no function 'lambda_handler'"):
        load_handler(_spec(tmp_path, "BrokenFunction"))
