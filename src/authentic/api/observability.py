"""Structured logs and business metrics (Powertools), shared by every handler."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "authentic")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Authentic")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
