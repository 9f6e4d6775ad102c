"""template.yaml, read as data: resources, functions, their API routes and queue sources.

The local stack and the tests create their tables, queues and buckets from these
declarations, so the emulated service cannot drift from the deployed one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns short-form intrinsics (`!Ref X`) into their long form."""


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as handle:
        template: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return template


@dataclass(frozen=True)
class ApiRoute:
    method: str  # upper case
    path: str  # with {param} placeholders, as declared


@dataclass(frozen=True)
class QueueSource:
    queue: str  # logical id of the queue
    batch_size: int
    report_batch_item_failures: bool


@dataclass(frozen=True)
class ScheduledEvent:
    name: str  # the event's key under Events
    expression: str  # ScheduleExpression: rate(...) or cron(...)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str  # "module.function"
    timeout: int
    routes: tuple[ApiRoute, ...] = ()
    queues: tuple[QueueSource, ...] = ()
    schedules: tuple[ScheduledEvent, ...] = ()  # ScheduleV2 / Schedule events

    @property
    def handler_file(self) -> Path:
        module, _ = self.handler.rsplit(".", 1)
        return self.code_uri / (module.replace(".", "/") + ".py")


def functions(template: dict[str, Any] | None = None) -> list[FunctionSpec]:
    template = template or load_template()
    globals_ = template.get("Globals", {}).get("Function", {})
    specs = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = {**globals_, **resource["Properties"]}
        routes, queues, schedules = [], [], []
        for name, event in props.get("Events", {}).items():
            ev = event["Properties"]
            if event["Type"] == "Api":
                routes.append(ApiRoute(ev["Method"].upper(), ev["Path"]))
            elif event["Type"] == "SQS":
                queues.append(
                    QueueSource(
                        queue=ev["Queue"]["Fn::GetAtt"][0],
                        batch_size=int(ev.get("BatchSize", 10)),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in ev.get("FunctionResponseTypes", []),
                    )
                )
            elif event["Type"] in ("ScheduleV2", "Schedule"):
                schedules.append(ScheduledEvent(name, ev["ScheduleExpression"]))
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_uri=PROJECT_ROOT / props["CodeUri"],
                handler=props["Handler"],
                timeout=int(props.get("Timeout", 3)),
                routes=tuple(routes),
                queues=tuple(queues),
                schedules=tuple(schedules),
            )
        )
    return specs


def parameter_defaults(template: dict[str, Any] | None = None) -> dict[str, str]:
    template = template or load_template()
    return {name: str(p["Default"]) for name, p in template.get("Parameters", {}).items() if "Default" in p}


@dataclass
class Resolver:
    """Resolves `Ref`/`Fn::GetAtt`/`Fn::Sub` against created resources and parameters."""

    parameters: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)  # (id, attr) -> value

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.parameters[arg] if arg in self.parameters else self.refs[arg]
            if key == "Fn::GetAtt":
                return self.attrs[(arg[0], arg[1])]
            if key == "Fn::Sub" and isinstance(arg, str):
                return self._sub(arg)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _sub(self, text: str) -> str:
        import re

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if "." in name:
                logical, attr = name.split(".", 1)
                return self.attrs[(logical, attr)]
            return str(self.resolve({"Ref": name}))

        return re.sub(r"\$\{([^}]+)\}", one, text)


def function_environment(resolver: Resolver, template: dict[str, Any] | None = None) -> dict[str, str]:
    """The environment variables template.yaml gives every function (Globals), resolved."""
    template = template or load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    return {name: str(resolver.resolve(value)) for name, value in variables.items()}
