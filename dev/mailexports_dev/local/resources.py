"""Create template.yaml's tables, queues, buckets, topics and secrets on an emulated AWS.

Works against whatever boto3 points at: in-process moto (unit tests) or the moto
server over HTTP (local stack, integration tests). Only the properties that
change behaviour are applied; alarms, log groups and IAM are not emulated.
"""

from __future__ import annotations

import json
import secrets
from functools import cache
from typing import Any

import boto3

from mailexports_dev.local.template import Resolver, function_environment, load_template, parameter_defaults

REGION = "us-east-1"
ACCOUNT = "123456789012"

# Created in this order so every Fn::GetAtt a resource needs already resolves.
_ORDER = [
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::SecretsManager::Secret",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::SNS::Subscription",
]


@cache
def _client(service: str) -> Any:
    # One client per service: creating a boto3 client costs tens of milliseconds.
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


# The emulator is one process with one clock, and moto's indexes are updated with the write: data
# is exportable at once. The residual risk at L = 0 (a write in flight as an export starts) is
# the README's; pass parameters={"WatermarkLagSeconds": ...} to run with a lag.
LOCAL_PARAMETERS = {"WatermarkLagSeconds": "0"}


def create_resources(
    prefix: str = "mailexports-local",
    parameters: dict[str, str] | None = None,
    template: dict[str, Any] | None = None,
) -> tuple[Resolver, dict[str, str]]:
    """Create every emulated resource; return the resolver and the functions' environment."""
    _client.cache_clear()  # clients are bound to the endpoint and credentials of this call
    template = template or load_template()
    resolver = Resolver(parameters={**parameter_defaults(template), **LOCAL_PARAMETERS, **(parameters or {})})
    resolver.parameters.setdefault("AWS::Region", REGION)
    resolver.parameters.setdefault("AWS::AccountId", ACCOUNT)
    resources = template["Resources"]
    for kind in _ORDER:
        _create_kind(kind, [(lid, r) for lid, r in resources.items() if r["Type"] == kind], prefix, resolver)
    _verify_sender(resolver.parameters.get("SenderEmail"))
    return resolver, function_environment(resolver, template)


def _create_kind(
    kind: str, pending: list[tuple[str, dict[str, Any]]], prefix: str, resolver: Resolver
) -> None:
    """Create resources of one kind, each once the ones it names (a dead-letter queue, an
    access-log bucket) exist."""
    while pending:
        deferred = []
        for logical_id, resource in pending:
            try:
                props = resolver.resolve(resource.get("Properties", {}))
            except KeyError:
                deferred.append((logical_id, resource))
                continue
            _CREATORS[kind](prefix, logical_id, props, resolver)
        if len(deferred) == len(pending):
            raise ValueError(f"template.yaml: unresolvable references in {[lid for lid, _ in deferred]}")
        pending = deferred


def _table(prefix: str, logical_id: str, props: dict[str, Any], resolver: Resolver) -> None:
    name = f"{prefix}-{logical_id}"
    client = _client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    client.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    resolver.refs[logical_id] = name
    resolver.attrs[(logical_id, "Arn")] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _bucket(prefix: str, logical_id: str, props: dict[str, Any], resolver: Resolver) -> None:
    name = f"{prefix}-{logical_id}".lower()[:63]
    client = _client("s3")
    client.create_bucket(Bucket=name)
    if "PublicAccessBlockConfiguration" in props:
        client.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "BucketEncryption" in props:
        client.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                    for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
    if rules:
        client.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration={"Rules": [_lifecycle_rule(r) for r in rules]}
        )
    resolver.refs[logical_id] = name
    resolver.attrs[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule spelling -> the S3 API's."""
    out: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return out


def _secret(prefix: str, logical_id: str, props: dict[str, Any], resolver: Resolver) -> None:
    client = _client("secretsmanager")
    arn = client.create_secret(Name=f"{prefix}-{logical_id}", SecretString=secrets.token_urlsafe(48))["ARN"]
    resolver.refs[logical_id] = arn


def _topic(prefix: str, logical_id: str, props: dict[str, Any], resolver: Resolver) -> None:
    arn = _client("sns").create_topic(Name=f"{prefix}-{logical_id}")["TopicArn"]
    resolver.refs[logical_id] = arn
    resolver.attrs[(logical_id, "TopicName")] = f"{prefix}-{logical_id}"


def _queue(prefix: str, logical_id: str, props: dict[str, Any], resolver: Resolver) -> None:
    name = f"{prefix}-{logical_id}"
    attributes: dict[str, str] = {
        key: str(props[key])
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")
        if key in props
    }
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    client = _client("sqs")
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    resolver.refs[logical_id] = url
    resolver.attrs[(logical_id, "Arn")] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    resolver.attrs[(logical_id, "QueueName")] = name


def _subscription(prefix: str, logical_id: str, props: dict[str, Any], resolver: Resolver) -> None:
    _client("sns").subscribe(
        TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"]
    )


def _verify_sender(sender: str | None) -> None:
    """SES refuses unverified senders; a deployed stack verifies SenderEmail once, by hand."""
    if sender:
        _client("ses").verify_email_identity(EmailAddress=sender)


_CREATORS = {
    "AWS::DynamoDB::Table": _table,
    "AWS::S3::Bucket": _bucket,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::SNS::Topic": _topic,
    "AWS::SQS::Queue": _queue,
    "AWS::SNS::Subscription": _subscription,
}
