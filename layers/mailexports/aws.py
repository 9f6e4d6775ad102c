"""boto3 clients, created once per process.

boto3 honours `AWS_ENDPOINT_URL` itself, so the same code talks to AWS, to the
local stack's moto server, and to in-process moto in unit tests.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.loaders import create_loader

from mailexports.dynamodb_parser import DynamoDBParserFactory

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient, DynamoDBServiceResource
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient

# Adaptive retries absorb DynamoDB throttling; a big pool lets shard readers run in parallel.
_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"}, max_pool_connections=64)


# SigV4 presigned URLs work in every region and state their lifetime (X-Amz-Expires).
_S3_CONFIG = _CONFIG.merge(Config(signature_version="s3v4"))


# Service models and endpoint data: pure data, read once per process and shared by every
# session, so clients made after a reset (or a SnapStart restore) skip the JSON parsing.
_LOADER = create_loader()


def _session(service: str) -> boto3.session.Session:
    """A session of its own (credentials are resolved afresh) over the shared loader;
    DynamoDB's sessions take read answers as plain JSON (mailexports.dynamodb_parser)."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    if service == "dynamodb":
        core.register_component("response_parser_factory", DynamoDBParserFactory())
    session = boto3.session.Session(botocore_session=core)
    _LOADER.search_paths[:] = list(dict.fromkeys(_LOADER.search_paths))  # boto3 appends its own
    return session


@cache
def _client(name: str) -> Any:
    config = _S3_CONFIG if name == "s3" else _CONFIG
    return _session(name).client(name, config=config)  # type: ignore[call-overload]


@cache
def _resource(name: str) -> Any:
    return _session(name).resource(name, config=_CONFIG)  # type: ignore[call-overload]


def client(name: str) -> Any:
    """The process's client of AWS service `name` (the typed accessors below name theirs)."""
    return _client(name)


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def dynamodb_resource() -> DynamoDBServiceResource:
    return _resource("dynamodb")  # type: ignore[no-any-return]


def s3() -> S3Client:
    return _client("s3")  # type: ignore[no-any-return]


def sqs() -> SQSClient:
    return _client("sqs")  # type: ignore[no-any-return]


def sesv2() -> SESV2Client:
    return _client("sesv2")  # type: ignore[no-any-return]


def secrets_manager() -> Any:
    return _client("secretsmanager")


def s3_with_credentials(credentials: dict[str, Any]) -> S3Client:
    """An S3 client acting with temporary credentials (an assumed role); never cached, since
    the credentials belong to one task and expire."""
    client: S3Client = _session("s3").client(
        "s3",
        config=_S3_CONFIG,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return client


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints and credentials between cases)."""
    _client.cache_clear()
    _resource.cache_clear()
