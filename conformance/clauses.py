"""The contract, clause by clause.

Every check names one clause; every defect of the reference server names the clause it breaks.
This table is the shared vocabulary between checks, defects, reports and docs.  Levels follow
RFC 2119: violating a MUST clause is a FAIL, violating a SHOULD clause is a WARN.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Level(str, Enum):
    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


@dataclass(frozen=True)
class Clause:
    id: str
    level: Level
    area: str
    title: str


_M, _S, _Y = Level.MUST, Level.SHOULD, Level.MAY

_TABLE: list[tuple[str, Level, str, str]] = [
    # --- transport ---------------------------------------------------------------------------
    ("HTTP-01", _M, "transport", "The target answers with a well-formed HTTP response within the timeout"),
    ("HTTP-02", _M, "transport", "A JSON response declares Content-Type application/json and its body is one JSON value"),
    ("HTTP-04", _S, "transport", "A connection left open after a response (no Connection: close) takes the next request"),
    ("HTTP-05", _M, "transport", "Concurrent requests do not disturb each other's answers"),
    # --- non-stream response envelope --------------------------------------------------------
    ("ENV-01", _M, "envelope", "A non-stream response validates against the response schema of the profile"),
    ("ENV-02", _M, "envelope", "object is 'chat.completion' (non-stream) / 'chat.completion.chunk' (stream)"),
    ("ENV-03", _M, "envelope", "created is an integer Unix timestamp in seconds, close to now"),
    ("ENV-04", _M, "envelope", "id is a non-empty string"),
    ("ENV-05", _S, "envelope", "model is a non-empty string naming the model that answered"),
    ("ENV-06", _M, "envelope", "message.role is 'assistant' and message.content is a string or null"),
    ("ENV-07", _M, "envelope", "A successful payload never carries an 'error' key, not even null"),
    ("ENV-08", _S, "envelope", "The answer text is in content, not only in a non-standard field"),
    ("ENV-09", _S, "envelope", "Answers to the same request, streamed or not, name the same model (a snapshot suffix aside)"),
    # --- models ------------------------------------------------------------------------------
    ("MOD-01", _S, "models", "GET /models lists the model under test and every model the manifest claims"),
    # --- choices -----------------------------------------------------------------------------
    ("CHO-01", _M, "choices", "len(choices) equals n (default 1)"),
    ("CHO-02", _M, "choices", "choice indices are the integers 0..n-1, each once"),
    # --- finish_reason -----------------------------------------------------------------------
    ("FIN-01", _M, "finish_reason", "finish_reason is one of stop/length/tool_calls/content_filter/function_call (never '' or null when final)"),
    ("FIN-02", _M, "finish_reason", "finish_reason is 'length' when the token cap cut the answer"),
    ("FIN-03", _M, "finish_reason", "finish_reason is 'tool_calls' when tools were called under tool_choice auto/required"),
    ("FIN-04", _S, "finish_reason", "finish_reason is 'tool_calls' or 'stop' when a named tool_choice forced the call"),
    ("FIN-05", _M, "finish_reason", "finish_reason 'tool_calls' only when the message has tool calls"),
    # --- usage -------------------------------------------------------------------------------
    ("USE-01", _S, "usage", "A non-stream response carries usage with prompt/completion/total token integers"),
    ("USE-02", _M, "usage", "total_tokens == prompt_tokens + completion_tokens"),
    ("USE-03", _M, "usage", "prompt_tokens > 0, and completion_tokens >= 1 when content is non-empty"),
    ("USE-04", _S, "usage", "Stream usage equals non-stream usage for the same deterministic request"),
    ("USE-05", _M, "usage", "With n choices, completion_tokens counts the tokens of every choice"),
    ("USE-06", _M, "usage", "A token detail count (cached, audio, prediction tokens) does not exceed the count it details"),
    ("USE-07", _M, "usage", "Answers to the same prompt on the same model count the same prompt_tokens, streamed or not"),
    # --- errors ------------------------------------------------------------------------------
    ("ERR-01", _M, "errors", "A non-2xx answer has the body {error: {message, type, param, code}} as JSON"),
    ("ERR-02", _M, "errors", "An invalid request is answered 400 (not 2xx, not 422, not 5xx)"),
    ("ERR-03", _M, "errors", "A client error is never answered with 5xx"),
    ("ERR-04", _S, "errors", "The error names the offending parameter in error.param"),
    ("ERR-05", _M, "errors", "A missing or wrong API key is answered 401 when the target enforces auth"),
    ("ERR-06", _S, "errors", "An unknown model is answered 404 (code model_not_found)"),
    ("ERR-08", _S, "errors", "An invalid request is answered 400 rather than 422"),
    # --- request acceptance ------------------------------------------------------------------
    ("REQ-01", _M, "requests", "A valid request is answered 200"),
    ("REQ-02", _M, "requests", "Content given as an array of text parts is accepted like a string"),
    ("REQ-03", _M, "requests", "An assistant message with tool_calls and content null is accepted"),
    ("REQ-04", _S, "requests", "Message orders OpenAI accepts (system after user, repeated user turns, developer role) are accepted"),
    ("REQ-05", _M, "requests", "Documented optional parameters at their boundary values are accepted"),
    ("REQ-06", _S, "requests", "An unknown top-level parameter is rejected with 400 (openai-strict) or accepted"),
    ("REQ-07", _M, "requests", "stream_options with include_usage is accepted when stream is true"),
    # --- parameter semantics -----------------------------------------------------------------
    ("PAR-01", _M, "parameters", "max_tokens caps completion_tokens"),
    ("PAR-02", _M, "parameters", "max_completion_tokens caps completion_tokens"),
    ("PAR-03", _M, "parameters", "The output never contains a stop sequence, and generation ends there"),
    ("PAR-04", _M, "parameters", "n > 1 returns n complete choices (distinct when sampled at temperature > 0)"),
    ("PAR-05", _M, "parameters", "response_format json_object yields a JSON object as content"),
    ("PAR-06", _M, "parameters", "response_format json_schema (strict) yields content valid for the schema"),
    ("PAR-07", _M, "parameters", "logprobs:true returns one logprob entry per token, logprob <= 0, tokens concatenate to the content"),
    ("PAR-08", _M, "parameters", "top_logprobs:k returns exactly k alternatives per token (k <= 20)"),
    ("PAR-09", _S, "parameters", "logprobs is null or absent when not requested"),
    ("PAR-10", _S, "parameters", "The same seed at temperature 0 gives the same output"),
    ("PAR-11", _S, "parameters", "temperature > 0 without a seed varies the output"),
    ("PAR-12", _S, "parameters", "Vendor parameters top_k / repetition_penalty are accepted and honoured"),
    # --- tool calling ------------------------------------------------------------------------
    ("TOOL-01", _M, "tools", "tool_choice 'required' yields at least one tool call"),
    ("TOOL-02", _M, "tools", "tool_choice 'none' yields no tool call"),
    ("TOOL-03", _M, "tools", "A named tool_choice calls exactly that function"),
    ("TOOL-04", _M, "tools", "function.arguments is a string holding a JSON object valid for the tool's parameters"),
    ("TOOL-05", _M, "tools", "tool-call ids are non-empty and unique within a response"),
    ("TOOL-06", _M, "tools", "A round trip feeding the tool result back (matching tool_call_id) is answered 200"),
    ("TOOL-07", _M, "tools", "Parallel tool calls carry distinct indices 0..k-1 and distinct ids"),
    ("TOOL-08", _M, "tools", "tool_choice without tools is rejected with 400"),
    ("TOOL-09", _M, "tools", "parallel_tool_calls false yields at most one tool call"),
    # --- stream framing (docs/contract.md, stream) --------------------------------------------------
    ("SSE-01", _M, "stream", "stream:true is answered 200 with Content-Type text/event-stream"),
    ("SSE-02", _M, "stream", "Every data event carries exactly one JSON chunk (or [DONE])"),
    ("SSE-03", _M, "stream", "The stream ends with data: [DONE], nothing after it"),
    ("SSE-04", _S, "stream", "Framing is canonical: 'data: ' with a space, LF line ends, no comments or event: lines"),
    ("SSE-05", _M, "stream", "Every chunk carries the same id, created and model"),
    ("SSE-06", _M, "stream", "The first delta of each choice has role 'assistant'; later deltas have no role (never '')"),
    ("SSE-07", _M, "stream", "Every choice carries finish_reason; exactly one non-null value per choice index"),
    ("SSE-08", _S, "stream", "The finishing chunk does not carry content"),
    ("SSE-09", _M, "stream", "Tool-call deltas carry an integer index; the first per index has id, type, name; fragments concatenate to JSON"),
    ("SSE-10", _M, "stream", "finish_reason 'tool_calls' closes a stream in which tools were called (auto/required)"),
    ("SSE-11", _M, "stream", "include_usage: one final chunk with choices [] and usage; otherwise no usage at all"),
    ("SSE-12", _M, "stream", "With n > 1 each choice index gets its own role delta and finish chunk"),
    ("SSE-13", _M, "stream", "Errors known before the first byte are HTTP errors, not 200 streams"),
    ("SSE-14", _M, "stream", "An in-band error event is {error:{...}} and is the last event"),
    ("SSE-15", _M, "stream", "A non-stream request is answered with application/json, no SSE framing"),
    ("SSE-16", _M, "stream", "With logprobs:true each chunk's choices carry that delta's logprobs"),
    ("SSE-17", _M, "stream", "A stream carries at least one chunk with a choice before [DONE]"),
    ("SSE-18", _M, "stream", "The reassembled stream equals the non-stream answer for a deterministic request"),
    ("SSE-19", _M, "stream", "Every chunk validates against the stream chunk schema of the profile"),
    # --- official SDK (openai-python) ----------------------------------------------------------
    ("SDK-01", _M, "sdk", "The official SDK returns a readable ChatCompletion for a 200 non-stream answer"),
    ("SDK-02", _M, "sdk", "The official SDK iterates a 200 stream to the end without raising"),
    ("SDK-03", _M, "sdk", "The SDK stream helper (chat.completions.stream) with tools yields its events and final completion"),
    ("SDK-04", _M, "sdk", "What the SDK parsed (content, finish_reason, tool calls, usage) equals the raw answer"),
    ("SDK-05", _S, "sdk", "An invalid request raises openai.BadRequestError carrying the server's error message"),
    # --- semantics (issue 6) ---
    ("PAR-13", _S, "parameters", "A tiny top_p makes sampled output as stable as temperature 0"),
    ("PAR-14", _S, "parameters", "At temperature > 0 the same seed reproduces the output and different seeds vary it"),
    ("CAP-01", _Y, "capabilities", "What the capability manifest (or the profile) claims matches what the target does"),
    ("PAR-15", _M, "parameters", "logit_bias -100 bans the given token"),
    ("PAR-16", _M, "parameters", "Logprob entries agree with their own top_logprobs lists and bytes"),
    # --- streaming over time (issue 17) ---
    ("TIM-01", _S, "timing", "A stream delivers its chunks as they are generated, not buffered into one burst at the end"),
    ("TIM-02", _S, "timing", "Time to first token and the gaps between chunks stay within the limits the user sets"),
    ("TIM-03", _S, "timing", "A stream the client abandons stops being generated"),
    ("TIM-04", _S, "timing", "A stream read slowly is delivered whole: nothing dropped, not closed early"),
]

CLAUSES: dict[str, Clause] = {cid: Clause(cid, level, area, title) for cid, level, area, title in _TABLE}


def clause(cid: str) -> Clause:
    """Look a clause up; an unknown id is a programming error, so it raises KeyError."""
    return CLAUSES[cid]
