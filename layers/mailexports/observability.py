"""The one place that builds Powertools Logger, Tracer and Metrics.

The service name and the metrics namespace come from the environment
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE: template.yaml Globals, which
the local stack and the tests read too), so they are written down once.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# Reads and duplicates legitimately emit no metric; Powertools would warn on each.
warnings.filterwarnings("ignore", message="No application metrics to publish")

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
