"""IngestFunction: SES event-publishing records (SNS -> SQS) into the marketing data."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailexports.ingest.processor import SesEventIngest
from mailexports.observability import logger, metrics

# A batch whose every record failed is reported like any other, not raised: SQS retries
# the listed records and the DLQ alarm, not the error alarm, speaks for poison messages.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    outcome = SesEventIngest().ingest(SQSRecord(raw) for raw in event.get("Records", []))
    return process_partial_response(
        event=event, record_handler=outcome.verdict, processor=processor, context=context
    )
