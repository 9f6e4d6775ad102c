"""The one place that builds Powertools Logger and Metrics (tracing: see README, "Cold starts").

The service name and the metrics namespace come from the environment
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE: template.yaml Globals, which
the local stack and the tests read too), so they are written down once.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()

# Reads and duplicates legitimately emit no metric; Powertools would warn on each.
warnings.filterwarnings("ignore", message="No application metrics to publish")


@contextmanager
def task_logging(task_uuid: str) -> Iterator[None]:
    """Every log line inside names the task; the key goes at the end, so it cannot
    leak into the next SQS record of the same batch."""
    logger.append_keys(task_uuid=task_uuid)
    try:
        yield
    finally:
        logger.remove_keys(["task_uuid"])


__all__ = ["MetricUnit", "logger", "metrics", "task_logging"]
