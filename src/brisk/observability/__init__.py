"""Measure first: metrics, Server-Timing, JSON logs, traces, the /_perf page and brisk doctor.

Import the parts from their modules (`brisk.observability.setup.Telemetry`, ...): this package
imports nothing itself, so `brisk serve` can set PROMETHEUS_MULTIPROC_DIR before
prometheus_client is first imported.
"""
