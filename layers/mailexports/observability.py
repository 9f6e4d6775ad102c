"""The one place that builds Powertools Logger, Tracer and Metrics."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "mailexports"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="MailExports", service=SERVICE)

# Reads and duplicates legitimately emit no metric; Powertools would warn on each.
warnings.filterwarnings("ignore", message="No application metrics to publish")

__all__ = ["SERVICE", "MetricUnit", "logger", "metrics"]
