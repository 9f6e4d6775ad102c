"""Which stack a CLI command talks to: the running local stack, or a deployed one.

The local stack writes its endpoint and resource names to a state file when it
starts; commands run from a second terminal read it. `--stack-name` reads a
deployed stack's CloudFormation outputs instead.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import boto3

from mailexports import aws
from mailexports.config import get_settings

# Output name in template.yaml -> environment variable the service reads.
OUTPUT_ENV = {
    "TasksTableName": "TASKS_TABLE",
    "TenantsTableName": "TENANTS_TABLE",
    "MarketingTableName": "MARKETING_TABLE",
    "ExportQueueUrl": "EXPORT_QUEUE_URL",
    "SliceQueueUrl": "SLICE_QUEUE_URL",
    "NotifyQueueUrl": "NOTIFY_QUEUE_URL",
    "ExportsBucketName": "EXPORTS_BUCKET",
    "DataBucketName": "DATA_BUCKET",
}


def state_file() -> Path:
    """Where the local stack records what it started (override with MAILEXPORTS_STATE_FILE)."""
    default = Path.home() / ".mailexports" / "local-stack.json"
    return Path(os.environ.get("MAILEXPORTS_STATE_FILE", default))


def write_local_state(state: dict[str, Any]) -> Path:
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))
    return path


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack-name",
        help="a deployed stack to talk to (default: the running local stack)",
    )
    parser.add_argument("--region", help="AWS region of --stack-name")


def apply_target(args: argparse.Namespace) -> None:
    """Point this process's AWS clients and settings at the chosen stack."""
    if getattr(args, "stack_name", None):
        env = _deployed_env(args.stack_name, args.region)
    else:
        path = state_file()
        if not path.exists():
            raise SystemExit(
                f"no local stack is running ({path} not found): start it with `make run`, "
                "or pass --stack-name for a deployed stack"
            )
        env = json.loads(path.read_text())["env"]
    os.environ.update(env)
    aws.reset_clients()
    get_settings.cache_clear()


def _deployed_env(stack_name: str, region: str | None) -> dict[str, str]:
    cfn = boto3.client("cloudformation", region_name=region)
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    env = {var: outputs[key] for key, var in OUTPUT_ENV.items() if key in outputs}
    if region:
        env["AWS_DEFAULT_REGION"] = region
    return env
