"""SchedulerFunction: every minute, run each due schedule's slot once (mailexports.schedules.sweep)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mailexports.observability import MetricUnit, logger, metrics
from mailexports.schedules.sweep import ScheduleSweep


class SweepIncomplete(Exception):
    """Some due schedules could not be run (AWS failures): raised so the invocation is retried and alarmed."""


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = ScheduleSweep().sweep()
    metrics.add_metric(name="ScheduledRunsSubmitted", unit=MetricUnit.Count, value=len(report.submitted))
    metrics.add_metric(name="ScheduledRunsRefused", unit=MetricUnit.Count, value=len(report.refused))
    if report.failed:
        raise SweepIncomplete(f"{len(report.failed)} due schedule(s) left for the next sweep")
    return {"submitted": report.submitted, "refused": report.refused, "lost": report.lost}
