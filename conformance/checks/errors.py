"""Error answers: status codes for bad input and the OpenAI error envelope."""

from __future__ import annotations

from .. import schema
from ..engine import NotApplicable, Outcome, Skip, fail, info, passed, warn
from ..evidence import Evidence
from ..suite import SUITE
from ..wire.client import Exchange
from .common import short

check = SUITE.check


def _status(ev: Evidence, ex: Exchange | None = None) -> int:
    ex = ex or ev.exchange
    if ex.status is None:
        raise Skip("no HTTP response; judged by HTTP-01")
    return ex.status


@check("REQ-01", on="valid", covers=("request.model:set", "request.messages:set"))
def valid_request_accepted(ev: Evidence) -> Outcome:
    """A valid request (every field documented and in range) is answered 200."""
    status = _status(ev)
    if status != 200:
        return fail("HTTP 200", f"HTTP {status}: {short(ev.exchange.body[:300].decode('utf-8', 'replace'))}")
    return passed()


@check("ERR-01", on="any")
def error_envelope(ev: Evidence) -> Outcome:
    """Every non-2xx answer is JSON shaped {"error": {"message", "type", "param", "code"}} with Content-Type application/json.  Read strictly: a param of "None" or "null" is a serialized null (clients test `param is None`), and a code that is the HTTP status as a string ("400") carries no code (a WARN; a FAIL in openai-strict)."""
    for label, ex in [("primary", ev.exchange), *ev.related.items()]:
        if ex.status is None or ex.status < 400:
            continue
        if ex.content_type != "application/json":
            return fail("Content-Type: application/json on errors", f"{label}: HTTP {ex.status}, Content-Type {ex.header('content-type') or '(none)'}")
        try:
            body = ex.json()
        except ValueError:
            return fail("a JSON error body", f"{label}: HTTP {ex.status}, body {short(ex.body[:200].decode('utf-8', 'replace'))}")
        errors = schema.validate("error", body, strict=ev.strict)
        if errors:
            return fail('{"error": {"message", "type", "param", "code"}}', f"{label}: {short(body)}", note="; ".join(errors[:3]))
        error = body["error"] if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
        sent = ev.request if isinstance(ev.request, dict) else {}
        if error.get("param") in ("None", "null", "undefined") and error["param"] not in sent:  # a field may be named so
            return fail("error.param a parameter name or null", f"{label}: error.param = {short(error.get('param'))}",
                        note="a null serialized as a string")
        code = error.get("code")
        if isinstance(code, str) and code == str(ex.status):
            outcome = fail if ev.strict else warn
            return outcome("error.code a machine-readable code (e.g. invalid_value) or null",
                           f"{label}: error.code = {short(code)}, the HTTP status as a string")
    if all(ex.status is not None and ex.status < 400 for ex in [ev.exchange, *ev.related.values()]):
        raise NotApplicable
    return passed()


@check("ERR-02", on="invalid")
def invalid_request_is_400(ev: Evidence) -> Outcome:
    """A request that breaks one documented rule is answered 400 (422 is tolerated outside openai-strict, see ERR-08)."""
    status = _status(ev)
    if status == 400 or (status == 422 and not ev.strict):
        return passed()
    return fail("HTTP 400", f"HTTP {status}")


@check("ERR-03", on=("invalid", "unknown_model", "auth", "unknown_param", "role_orders", "unsettled"))
def no_5xx_for_client_errors(ev: Evidence) -> Outcome:
    """A client mistake, or a request the contract leaves the server free to accept or refuse, is never answered 5xx (SDKs retry 5xx, tripling load and delaying the failure)."""
    for label, ex in [("primary", ev.exchange), *ev.related.items()]:
        if ex.status is not None and ex.status >= 500:
            return fail("a 4xx answer", f"{label}: HTTP {ex.status}")
    return passed()


@check("ERR-04", on="invalid")
def error_names_param(ev: Evidence) -> Outcome:
    """The error names the offending parameter in error.param (the parameter itself or a path inside it, e.g. messages[2].content; for a request breaking several rules, any one of them)."""
    accepted = (ev.param,) if isinstance(ev.param, str) else tuple(ev.param or ())
    if not accepted:
        raise NotApplicable  # the request breaks no single named parameter
    if _status(ev) < 400:
        raise Skip("not an error answer; judged by ERR-02")
    try:
        error = ev.exchange.json()["error"]
        param = error.get("param")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Skip("no error object; judged by ERR-01") from None
    if not any(param == p or (isinstance(param, str) and param.split("[")[0].split(".")[0] == p) for p in accepted):
        return fail(f"error.param naming {' or '.join(map(repr, accepted))}", f"error.param = {short(param)}")
    return passed()


@check("ERR-05", on="auth")
def bad_key_is_401(ev: Evidence) -> Outcome:
    """A missing or wrong API key is answered 401 when the target enforces auth.  An open server (no key given) is recorded, not failed; a server that answers both a missing and a wrong key with 200 although a key was given is open too: a WARN, or a FAIL when auth is required (--require-auth, the certify profile)."""
    if ev.data.get("open_server"):
        return info(f"no API key given: auth not tested (GET /models without a key answered HTTP {ev.exchange.status})")
    statuses = [_status(ev, ev.exchange), _status(ev, ev.related["wrong_key"])]
    if statuses == [200, 200]:
        outcome = fail if ev.ctx.profile.require_auth else warn
        return outcome("HTTP 401 for a missing and for a wrong key", "HTTP 200 for both: the server answers without a key",
                       note="the server does not enforce auth; if it is meant to, this is a FAIL (--require-auth)")
    for label, ex in (("missing key", ev.exchange), ("wrong key", ev.related["wrong_key"])):
        status = _status(ev, ex)
        if status != 401:
            return fail(f"{label}: HTTP 401", f"HTTP {status}")
    return passed()


@check("ERR-06", on="unknown_model", covers=("request.model:invalid",))
def unknown_model_is_404(ev: Evidence) -> Outcome:
    """An unknown model is answered 404 with code model_not_found (servers that serve one model often ignore the field)."""
    status = _status(ev)
    if status == 404:
        return passed()
    if status == 200:
        return fail("HTTP 404 model_not_found", "HTTP 200: the model field is ignored")
    return fail("HTTP 404 model_not_found", f"HTTP {status}")


@check("SSE-13", on="invalid_stream")
def invalid_stream_is_http_error(ev: Evidence) -> Outcome:
    """An invalid request with stream:true is refused with an HTTP error before any stream starts (not 200 + error event)."""
    status = _status(ev)
    if 200 <= status < 300:
        return fail("an HTTP 4xx error", f"HTTP {status} ({ev.exchange.content_type or 'no content type'})")
    return passed()


@check("ERR-08", on="invalid")
def prefers_400_over_422(ev: Evidence) -> Outcome:
    """Validation errors use 400 like OpenAI, not FastAPI's 422 (SDKs raise a different exception class)."""
    if _status(ev) == 422:
        return fail("HTTP 400", "HTTP 422")
    return passed()


@check("REQ-06", on="unknown_param")
def unknown_parameter_handling(ev: Evidence) -> Outcome:
    """openai-strict: an unknown parameter is rejected with 400 naming it; other profiles record whether it is accepted."""
    status = _status(ev)
    if not ev.strict:
        return info(f"unknown parameter answered HTTP {status}")
    if status != 400:
        return fail("HTTP 400 unknown_parameter naming 'temperatur'", f"HTTP {status}")
    return passed()
