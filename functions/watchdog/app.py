"""WatchdogFunction: every few minutes, re-drive or fail tasks whose heartbeat stopped."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mailexports.exports.watchdog import Watchdog
from mailexports.observability import MetricUnit, logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = Watchdog().sweep()
    metrics.add_metric(name="TasksRedriven", unit=MetricUnit.Count, value=len(report.redriven))
    metrics.add_metric(name="TasksFailedStalled", unit=MetricUnit.Count, value=len(report.failed))
    return {"redriven": report.redriven, "failed": report.failed}
