"""Wire layer: bounded recording HTTP client, SSE parser and secret redaction."""

from conformance.wire.client import RawClient
from conformance.wire.model import Budget, Exchange, Limits, RecordedRequest, TransportError
from conformance.wire.redact import REDACTED, SENSITIVE_HEADERS, Redactor
from conformance.wire.retry import parse_retry_after
from conformance.wire.sse import FramingFacts, SSEEvent, SSEParser, parse_sse
from conformance.wire.stall import STALL_KINDS, TargetStalled

__all__ = [
    "REDACTED",
    "SENSITIVE_HEADERS",
    "STALL_KINDS",
    "Budget",
    "Exchange",
    "FramingFacts",
    "Limits",
    "RawClient",
    "RecordedRequest",
    "Redactor",
    "SSEEvent",
    "SSEParser",
    "TargetStalled",
    "TransportError",
    "parse_retry_after",
    "parse_sse",
]
