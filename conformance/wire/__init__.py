"""Wire layer: bounded recording HTTP client, SSE parser and secret redaction."""

from conformance.wire.client import Budget, Exchange, Limits, RawClient, RecordedRequest, TransportError
from conformance.wire.redact import REDACTED, SENSITIVE_HEADERS, Redactor
from conformance.wire.sse import FramingFacts, SSEEvent, SSEParser, parse_sse

__all__ = [
    "REDACTED",
    "SENSITIVE_HEADERS",
    "Budget",
    "Exchange",
    "FramingFacts",
    "Limits",
    "RawClient",
    "RecordedRequest",
    "Redactor",
    "SSEEvent",
    "SSEParser",
    "TransportError",
    "parse_sse",
]
