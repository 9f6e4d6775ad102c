"""One SQS batch of SES events -> marketing data, each record succeeding or failing on its own.

The whole batch is parsed and mapped first, then written one tenant group at a
time (one writer call per tenant, not per record). A record that cannot be
ingested is reported by its SQS message id; the handler turns those into
`batchItemFailures`, so SQS retries only them and, after the queue's
maxReceiveCount, moves them to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from mailexports.errors import DomainError
from mailexports.ingest.ses_events import (
    MalformedSesEvent,
    SkippedEvent,
    parse_body,
    to_event_record,
)
from mailexports.marketing.records import EventRecord, ImportRecord
from mailexports.marketing.writer import MarketingWriter, UnknownSend, WriteFailed
from mailexports.observability import logger, metrics
from mailexports.tenants.store import DynamoTenantStore


class EventWriter(Protocol):
    """What the ingest needs of `MarketingWriter`: idempotent writes of import records."""

    def write(self, records: Iterable[ImportRecord]) -> object: ...


WriterFactory = Callable[[str], EventWriter]
TenantCheck = Callable[[str], bool]


def tenant_exists(tenant_id: str) -> bool:
    return DynamoTenantStore().get(tenant_id) is not None


class RecordNotIngested(Exception):
    """Raised for a failed record inside the batch processor, which reports it to SQS."""


@dataclass
class BatchOutcome:
    """What happened to each record of one batch, by SQS message id."""

    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    written: set[str] = field(default_factory=set)

    def verdict(self, record: SQSRecord) -> None:
        """The batch processor's record handler: raises for a record SQS must deliver again."""
        reason = self.failed.get(record.message_id)
        if reason is not None:
            raise RecordNotIngested(reason)


@dataclass
class _Pending:
    record: EventRecord
    message_ids: list[str] = field(default_factory=list)


class SesEventIngest:
    def __init__(
        self,
        writer_for: WriterFactory = MarketingWriter,
        is_known_tenant: TenantCheck = tenant_exists,
    ) -> None:
        self._writer_for = writer_for
        self._is_known_tenant = is_known_tenant

    def ingest(self, records: Iterable[SQSRecord]) -> BatchOutcome:
        outcome = BatchOutcome()
        groups = self._map(records, outcome)
        for tenant_id, group in groups.items():
            self._write_group(tenant_id, group, outcome)
        metrics.add_metric(name="SesEventsWritten", unit=MetricUnit.Count, value=len(outcome.written))
        metrics.add_metric(name="SesEventsSkipped", unit=MetricUnit.Count, value=len(outcome.skipped))
        metrics.add_metric(name="SesEventsFailed", unit=MetricUnit.Count, value=len(outcome.failed))
        return outcome

    def _map(
        self, records: Iterable[SQSRecord], outcome: BatchOutcome
    ) -> dict[str, dict[EventRecord, _Pending]]:
        """Parse and map every record; group what is to be written by tenant, then by record."""
        groups: dict[str, dict[EventRecord, _Pending]] = {}
        known_tenants: dict[str, bool] = {}
        for sqs_record in records:
            message_id = sqs_record.message_id
            try:
                mapped = to_event_record(parse_body(sqs_record.body))
                if isinstance(mapped, SkippedEvent):
                    logger.info(
                        "SES event skipped", extra={"sqs_message_id": message_id, "reason": mapped.reason}
                    )
                    outcome.skipped[message_id] = mapped.reason
                    continue
                tenant_id = mapped.tenant_id
                if tenant_id not in known_tenants:
                    known_tenants[tenant_id] = self._is_known_tenant(tenant_id)
                if not known_tenants[tenant_id]:
                    raise MalformedSesEvent(f"tag mx-tenant names no known tenant ({tenant_id!r})")
            except MalformedSesEvent as error:
                logger.warning(
                    "SES record is malformed; left for the dead-letter queue",
                    extra={"sqs_message_id": message_id, "reason": error.message},
                )
                outcome.failed[message_id] = error.message
                continue
            # Two deliveries of the same SES event in one batch become one write.
            pending = groups.setdefault(tenant_id, {}).setdefault(mapped.record, _Pending(mapped.record))
            pending.message_ids.append(message_id)
        return groups

    def _write_group(self, tenant_id: str, group: dict[EventRecord, _Pending], outcome: BatchOutcome) -> None:
        writer = self._writer_for(tenant_id)
        if len(group) > 1:
            try:
                writer.write([pending.record for pending in group.values()])
            except WriteFailed as error:
                # DynamoDB kept throttling: one record at a time would only throttle again.
                for pending in group.values():
                    self._failed(tenant_id, pending, error, outcome)
                return
            except Exception:
                # Find the failing record(s): writes are idempotent, so writing again is safe.
                logger.info("tenant group failed as a whole; writing its records one by one")
            else:
                for pending in group.values():
                    self._succeeded(pending, outcome)
                return
        for pending in group.values():
            try:
                writer.write([pending.record])
            except Exception as error:
                self._failed(tenant_id, pending, error, outcome)
            else:
                self._succeeded(pending, outcome)

    @staticmethod
    def _succeeded(pending: _Pending, outcome: BatchOutcome) -> None:
        outcome.written.update(pending.message_ids)

    @staticmethod
    def _failed(tenant_id: str, pending: _Pending, error: Exception, outcome: BatchOutcome) -> None:
        record = pending.record
        context = {
            "tenant_id": tenant_id,
            "stat_id": record.stat_id,
            "event_id": record.event_id,
            "event_type": record.type.value,
            "sqs_message_ids": pending.message_ids,
        }
        if isinstance(error, UnknownSend):
            # The send record may simply not be imported yet: SQS retries, then the DLQ keeps it.
            reason = f"stat {record.stat_id!r} has no send record (yet)"
            logger.warning("SES event for an unknown send; will be retried", extra=context)
        elif isinstance(error, DomainError):
            reason = error.message
            logger.warning("SES event refused by the store", extra={**context, "reason": reason})
        else:
            reason = f"could not write the event ({error.__class__.__name__})"
            logger.exception("SES event write failed", extra=context)
        for message_id in pending.message_ids:
            outcome.failed[message_id] = reason
