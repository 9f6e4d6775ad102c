"""NotifyFunction: one NotifyQueue message is one email or webhook delivery attempt."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailexports.dialects.copernica_webhook import WEBHOOK as COPERNICA_WEBHOOK
from mailexports.dialects.dialect import payload_builders
from mailexports.dialects.pinpointe_webhook import WEBHOOK as PINPOINTE_WEBHOOK
from mailexports.dialects.selzy_webhook import WEBHOOK as SELZY_WEBHOOK
from mailexports.notify.service import NotificationService
from mailexports.observability import logger, metrics

processor = BatchProcessor(event_type=EventType.SQS)

# The webhook bodies of the dialects that submit tasks (Constant Contact only lists); only
# the webhook declarations: the dialects' HTTP side is the API functions' business.
PAYLOADS = payload_builders((PINPOINTE_WEBHOOK, SELZY_WEBHOOK, COPERNICA_WEBHOOK))

# Enough for one more attempt (a webhook may take 10 s to connect and 10 s to answer).
RESERVE_MS = 25_000


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    service = NotificationService(payloads=PAYLOADS)

    def notify(record: SQSRecord) -> None:
        if context.get_remaining_time_in_millis() < RESERVE_MS:
            service.defer(record.body)  # back on the queue, not counted as a failed receive
            return
        service.handle(record.body)

    return process_partial_response(event=event, record_handler=notify, processor=processor, context=context)
