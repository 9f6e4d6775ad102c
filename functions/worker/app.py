"""WorkerFunction: turns ExportQueue messages into export files (one task per message)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailexports.dialects.dialect import dialect_layouts
from mailexports.dialects.pinpointe_file import FILES as PINPOINTE_FILES
from mailexports.dialects.selzy_file import FILES as SELZY_FILES
from mailexports.exports.worker import ExportWorker
from mailexports.observability import logger, metrics

processor = BatchProcessor(event_type=EventType.SQS)

# The dialects whose clients read their files in their own shape (only the file
# declarations: the dialects' HTTP side is the API functions' business).
LAYOUTS = dialect_layouts((PINPOINTE_FILES, SELZY_FILES))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    worker = ExportWorker(layouts=LAYOUTS)

    def export(record: SQSRecord) -> None:
        worker.handle(
            record.body,
            receive_count=int(record.attributes.approximate_receive_count),
            remaining_ms=context.get_remaining_time_in_millis,
        )

    return process_partial_response(event=event, record_handler=export, processor=processor, context=context)
