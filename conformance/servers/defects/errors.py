"""Error-answer defects: wrong shape, wrong status (catalogue section I: D57-D61)."""

from __future__ import annotations

from typing import Any

from conformance.servers.reference.pipeline import Context, ErrorReply, Stage, Wire

from .registry import defect


def _error(reply: ErrorReply) -> dict[str, Any]:
    body = reply.body
    return body["error"] if isinstance(body, dict) and isinstance(body.get("error"), dict) else {"message": str(body), "param": None}


@defect("error-flat-vllm", Stage.ERROR, clause="ERR-01", verdict="FAIL", deviations=("D57",),
        summary="Errors are flat {object:'error', message, type:'BadRequestError', param, code:<int>} (old vLLM)")
def error_flat_vllm(reply: ErrorReply, ctx: Context) -> ErrorReply:
    error = _error(reply)
    reply.body = {"object": "error", "message": error["message"], "type": "BadRequestError", "param": error.get("param"), "code": reply.status}
    return reply


@defect("error-fastapi-detail", Stage.ERROR, clause="ERR-01", verdict="FAIL", deviations=("D57",),
        summary="Errors are FastAPI-style {detail: [{loc, msg, type}]}")
def error_fastapi_detail(reply: ErrorReply, ctx: Context) -> ErrorReply:
    error = _error(reply)
    reply.body = {"detail": [{"loc": ["body", error.get("param") or "body"], "msg": error["message"], "type": "value_error"}]}
    return reply


@defect("error-plain-text", Stage.ERROR, clause="ERR-01", verdict="FAIL", deviations=("D57",), collateral=("HTTP-02",),
        summary="Errors are a plain-text message with Content-Type text/plain")
def error_plain_text(reply: ErrorReply, ctx: Context) -> ErrorReply:
    reply.body = _error(reply)["message"]
    return reply


@defect("error-string", Stage.ERROR, clause="ERR-01", verdict="FAIL", deviations=("D57",),
        summary="Errors are {\"error\": \"<message>\"} with a string instead of an object (Ollama native)")
def error_string(reply: ErrorReply, ctx: Context) -> ErrorReply:
    reply.body = {"error": _error(reply)["message"]}
    return reply


@defect("error-code-integer", Stage.ERROR, clause="ERR-01", verdict="FAIL", deviations=("D57",),
        summary="error.code is the HTTP status as an integer (llama.cpp)")
def error_code_integer(reply: ErrorReply, ctx: Context) -> ErrorReply:
    error = _error(reply)
    reply.body = {"error": dict(error, code=reply.status)}
    return reply


@defect("error-message-only", Stage.ERROR, clause="ERR-01", verdict="FAIL", deviations=("D57",),
        summary="Errors are {\"message\": ...} with no error wrapper (AnythingLLM)")
def error_message_only(reply: ErrorReply, ctx: Context) -> ErrorReply:
    reply.body = {"message": _error(reply)["message"]}
    return reply


@defect("error-param-none-string", Stage.ERROR, clause="ERR-01", verdict="FAIL", deviations=("D57",), collateral=("ERR-04",),
        summary="error.param is the string 'None' (a Python None formatted into the envelope)")
def error_param_none_string(reply: ErrorReply, ctx: Context) -> ErrorReply:
    reply.body = {"error": dict(_error(reply), param="None")}
    return reply


@defect("error-code-status-string", Stage.ERROR, clause="ERR-01", verdict="WARN", deviations=("D57",),
        summary="error.code is the HTTP status as a string ('400') instead of a code")
def error_code_status_string(reply: ErrorReply, ctx: Context) -> ErrorReply:
    reply.body = {"error": dict(_error(reply), code=str(reply.status))}
    return reply


@defect("error-param-null", Stage.ERROR, clause="ERR-04", verdict="WARN",
        summary="error.param is always null, even when one field is at fault")
def error_param_null(reply: ErrorReply, ctx: Context) -> ErrorReply:
    reply.body = {"error": dict(_error(reply), param=None)}
    return reply


@defect("validation-422", Stage.ERROR, clause="ERR-08", verdict="WARN", deviations=("D58",), collateral=("ERR-02", "SDK-05"),
        summary="Invalid requests are answered 422 (with a proper OpenAI envelope)")
def validation_422(reply: ErrorReply, ctx: Context) -> ErrorReply:
    if reply.status == 400:
        reply.status = 422
    return reply


@defect("validation-422-detail", Stage.ERROR, clause="ERR-08", verdict="WARN", deviations=("D58", "D57"), collateral=("ERR-01", "ERR-02", "SDK-05"),
        summary="Invalid requests are answered with FastAPI's default 422 {detail: [...]}")
def validation_422_detail(reply: ErrorReply, ctx: Context) -> ErrorReply:
    if reply.status == 400:
        error = _error(reply)
        reply.status = 422
        reply.body = {"detail": [{"type": "value_error", "loc": ["body", error.get("param") or "body"], "msg": error["message"], "input": None}]}
    return reply


@defect("validation-500", Stage.ERROR, clause="ERR-03", verdict="FAIL", deviations=("D59",), collateral=("ERR-02", "SDK-05"),
        summary="Invalid requests are answered 500 (with the envelope)")
def validation_500(reply: ErrorReply, ctx: Context) -> ErrorReply:
    if reply.status == 400:
        reply.status = 500
        reply.body = {"error": dict(_error(reply), type="server_error")}
    return reply


@defect("context-overflow-500", Stage.ERROR, clause="ERR-03", verdict="FAIL", deviations=("D59",), collateral=("ERR-02",),
        summary="A prompt longer than the context window is answered 500 server_error instead of 400 context_length_exceeded")
def context_overflow_500(reply: ErrorReply, ctx: Context) -> ErrorReply:
    if _error(reply).get("code") == "context_length_exceeded":
        reply.status = 500
        reply.body = {"error": dict(_error(reply), type="server_error", code=None)}
    return reply


@defect("500-empty-body-on-bad-role", Stage.ERROR, clause="ERR-03", verdict="FAIL", deviations=("D59",), collateral=("ERR-01", "ERR-02"),
        summary="An unsupported message role crashes the server: HTTP 500 with an empty body (mistral.rs)")
def bad_role_500(reply: ErrorReply, ctx: Context) -> ErrorReply:
    if reply.status == 400 and str(_error(reply).get("param") or "").endswith(".role"):
        reply.status = 500
        reply.body = ""
    return reply


@defect("validation-error-200", Stage.ERROR, clause="ERR-02", verdict="FAIL", deviations=("D60",), collateral=("SSE-13", "TOOL-08"),
        summary="Invalid requests are answered HTTP 200 (the body is the error envelope)")
def validation_error_200(reply: ErrorReply, ctx: Context) -> ErrorReply:
    if reply.status == 400:
        reply.status = 200
    return reply


@defect("auth-not-enforced", Stage.AUTH, clause="ERR-05", verdict="FAIL", deviations=("D61",), profile="certify",
        summary="The configured API key is not enforced: any or no Authorization header is accepted (a FAIL where auth "
                "is required, as certify does; see open-server-given-key for the default profile)")
def auth_not_enforced(authorized: bool, ctx: Context) -> bool:
    return True


@defect("open-server-given-key", Stage.AUTH, clause="ERR-05", verdict="WARN", benign=True,
        summary="An open server (no auth configured) that the user still gives a key: answers without a key are a WARN, "
                "not a FAIL, unless --require-auth")
def open_server_given_key(authorized: bool, ctx: Context) -> bool:
    return True


@defect("auth-error-flat", Stage.ERROR, clause="ERR-01", verdict="FAIL", deviations=("D61",), collateral=("ERR-05",),
        summary="A bad API key is answered 401 {\"message\": \"Invalid API Key\"} without the error envelope")
def auth_error_flat(reply: ErrorReply, ctx: Context) -> ErrorReply:
    if reply.status == 401:
        reply.body = {"message": "Invalid API Key"}
    return reply


@defect("json-content-type-text-plain", Stage.WIRE, clause="HTTP-02", verdict="FAIL",
        summary="Successful JSON bodies are labelled Content-Type text/plain")
def json_content_type_text_plain(wire: Wire, ctx: Context) -> Wire:
    if not wire.sse and wire.status == 200 and wire.headers.get("content-type", "").startswith("application/json"):
        wire.headers["content-type"] = "text/plain; charset=utf-8"
    return wire
