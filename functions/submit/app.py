"""SubmitFunction: every route that creates or cancels an export task."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailexports.api.submit_app import app
from mailexports.observability import logger, metrics
from mailexports.snapstart import install as install_snapstart_hooks

install_snapstart_hooks(services=("dynamodb", "sqs"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
