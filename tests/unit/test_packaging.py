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


def test_the_notify_handler_alone_finds_every_dialects_payload() -> None:
    """In AWS each function runs alone: the notifier must find the dialects' payloads by
    itself (the local stack runs every function in one process and would hide the gap)."""
    import subprocess
    import sys

    script = (
        "import importlib.util as u, os; "
        "os.environ.update(TASKS_TABLE='t', TENANTS_TABLE='t', MARKETING_TABLE='t', EXPORTS_BUCKET='b', "
        "DATA_BUCKET='b', AWS_DEFAULT_REGION='us-east-1'); "
        "s = u.spec_from_file_location('h', 'functions/notify/app.py'); m = u.module_from_spec(s); s.loader.exec_module(m); "
        "from mailexports.notify.payloads import builder_for, registered_dialects; before = registered_dialects(); "
        "found = [d for d in ('copernica', 'pinpointe', 'selzy') if builder_for(d) is not None]; print(sorted(before), found)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    # Nothing is loaded up front, and every dialect's builder is found on first use.
    assert out.stdout.strip() == "[] ['copernica', 'pinpointe', 'selzy']"
