"""OpenTelemetry tracing: the optional extra `tracing`, off unless the standard OTEL_* variables
ask for it (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, or OTEL_TRACES_EXPORTER=otlp|console;
OTEL_SDK_DISABLED=true wins).

A span per request (SERVER), per query and per cache call (CLIENT). Query and cache spans are
made by the observers after the fact, with their start time set back by the duration they
report: the parent is the span current in the task that ran them, so the dashboard's
concurrent reads appear as overlapping children of the request.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.types import Scope

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

log = logging.getLogger(__name__)
EXTRA_HINT = "pip install '.[tracing]' from the brisk checkout"


def current_trace_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) in hex of the span in progress, or None (no tracing, no span).

    Looked up in sys.modules rather than imported: without tracing OpenTelemetry is never
    loaded, and a log line pays one dict lookup for the question."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _wanted(environ: Mapping[str, str]) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return bool(endpoint) or exporter in {"otlp", "console"}


def tracing_from_env(environ: Mapping[str, str] | None = None) -> Tracing | None:
    """A Tracing exporting where OTEL_* says, or None when tracing is off or not installed."""
    env = os.environ if environ is None else environ
    if not _wanted(env):
        return None
    try:
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        log.warning("OTEL_* asks for tracing but OpenTelemetry is not installed: %s", EXTRA_HINT)
        return None
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        exporter: Any = ConsoleSpanExporter()
    else:
        # Reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) itself.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    return Tracing.with_processor(BatchSpanProcessor(exporter))


class _HeaderGetter:
    """Reads W3C trace context (`traceparent`) from ASGI headers."""

    def get(self, carrier: Scope, key: str) -> list[str] | None:
        wanted = key.lower().encode()
        values = [v.decode("latin-1") for k, v in carrier["headers"] if k == wanted]
        return values or None

    def keys(self, carrier: Scope) -> list[str]:
        return [k.decode("latin-1") for k, _ in carrier["headers"]]


class Tracing:
    def __init__(self, provider: TracerProvider) -> None:
        from opentelemetry import context, propagate, trace

        self.provider = provider
        self.tracer = provider.get_tracer("brisk")
        self._context, self._propagate, self._trace = context, propagate, trace
        self._getter = _HeaderGetter()

    @classmethod
    def with_processor(cls, processor: SpanProcessor) -> Tracing:
        """OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the service (default brisk)."""
        from opentelemetry.sdk.resources import OTELResourceDetector, Resource
        from opentelemetry.sdk.trace import TracerProvider

        resource = Resource.create({"service.name": "brisk"}).merge(OTELResourceDetector().detect())
        if name := os.environ.get("OTEL_SERVICE_NAME"):
            resource = resource.merge(Resource.create({"service.name": name}))
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(processor)
        return cls(provider)

    def start_request(self, scope: Scope) -> tuple[Any, object]:
        parent = self._propagate.extract(scope, getter=self._getter)  # type: ignore[arg-type]
        span = self.tracer.start_span(
            scope["method"],
            context=parent,
            kind=self._trace.SpanKind.SERVER,
            attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
        )
        token = self._context.attach(self._trace.set_span_in_context(span, parent))
        return span, token

    def end_request(self, state: tuple[Any, object], method: str, route: str, status: int) -> None:
        span, token = state
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR))
        span.end()
        self._context.detach(token)  # type: ignore[arg-type]

    def _backdated(self, name: str, seconds: float, attributes: dict[str, Any]) -> None:
        end = time.time_ns()
        span = self.tracer.start_span(
            name,
            kind=self._trace.SpanKind.CLIENT,
            start_time=end - int(seconds * 1e9),
            attributes=attributes,
        )
        span.end(end_time=end)

    def query(self, name: str, seconds: float) -> None:
        attributes = {"db.system.name": "postgresql", "db.query.summary": name}
        self._backdated(name, seconds, attributes)

    def cache(self, layer: str, family: str, result: str, seconds: float) -> None:
        attributes = {"brisk.cache.layer": layer, "brisk.cache.family": family}
        attributes["brisk.cache.result"] = result
        self._backdated(f"cache {layer} {family}", seconds, attributes)

    def shutdown(self) -> None:
        self.provider.shutdown()
