"""What the Lambda layer ships is what the tests ran: its pins match uv.lock."""

from __future__ import annotations

import re
import tomllib

from mailexports_dev.local.template import PROJECT_ROOT


def test_layer_requirements_pin_the_locked_versions() -> None:
    locked = {
        p["name"]: p["version"] for p in tomllib.loads((PROJECT_ROOT / "uv.lock").read_text())["package"]
    }
    pins = re.findall(
        r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s#]+)",
        (PROJECT_ROOT / "layers/requirements.txt").read_text(),
        re.M,
    )
    assert pins, "layers/requirements.txt pins nothing"
    for name, version in pins:
        assert locked.get(name.lower()) == version, (
            f"{name}=={version} but uv.lock has {locked.get(name.lower())}"
        )


def test_every_runtime_dependency_is_in_the_layer() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    wanted = {re.split(r"[\[<>=]", d)[0].lower() for d in project["dependencies"]}
    shipped = {
        m.lower()
        for m in re.findall(
            r"^([A-Za-z0-9_.-]+)", (PROJECT_ROOT / "layers/requirements.txt").read_text(), re.M
        )
    }
    assert wanted <= shipped


def test_the_notify_handler_hands_the_notifier_every_dialects_payload() -> None:
    """In AWS each function runs alone: what the notify handler passes the notifier is all
    it has. Every dialect that submits tasks must be in it (Constant Contact only lists)."""
    from tests.conftest import load_handler

    from mailexports.dialects import copernica_webhook, pinpointe_webhook, selzy_webhook

    expected = {
        "copernica": copernica_webhook.copernica_payload,
        "pinpointe": pinpointe_webhook.pinpointe_payload,
        "selzy": selzy_webhook.selzy_payload,
    }
    assert expected == load_handler("notify").PAYLOADS
