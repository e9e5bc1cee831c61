"""The same question asked twice gets the same bookkeeping.

Scenarios that send one prompt more than once (a repeat, the streamed twin of a non-stream
request, samples at other temperatures or seeds) already hold pairs of answers; these rules judge
what the pair must share whatever the sampling: the model that answered and the prompt's token
count.  The text and the tool calls are shared only where determinism is requested and shown
(PAR-10, SSE-18)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..engine import Outcome, Skip, fail, inconclusive, info, passed
from ..evidence import Evidence
from ..suite import SUITE
from .common import short

check = SUITE.check

# The scenarios whose related exchanges repeat the primary request's prompt.
PAIRED = ("equivalence", "repeatability", "seeded_sampling", "nucleus", "variation", "logit_bias",
          "vendor_top_k", "vendor_repetition")
# Fields that steer sampling or the transport only: requests differing in nothing else ask the same question.
SAMPLING_ONLY = frozenset({"stream", "stream_options", "temperature", "top_p", "seed", "logit_bias", "top_k",
                           "repetition_penalty"})
# A dated or numbered snapshot suffix ("-2024-08-06", "-20241022", "-0613", "-latest"): a right
# server may route one request to several snapshots of a model.
_SNAPSHOT = re.compile(r"[-@](\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$")


@dataclass(frozen=True)
class Books:
    """What one answer says about itself: the model string and usage.prompt_tokens (None when absent)."""

    label: str
    model: str | None
    prompt_tokens: int | None


def _books(label: str, ev: Evidence) -> Books | None:
    """The bookkeeping of a 200 answer, or None when there is no readable answer (other rules judge that)."""
    try:
        if ev.streamed:
            models = {c.payload.get("model") for c in ev.stream.json_chunks}
            model = models.pop() if len(models) == 1 else None  # chunks that disagree: SSE-05's
            usage = ev.stream.final_usage()
        else:
            model, usage = ev.body.get("model"), ev.usage()
    except Skip:
        return None
    tokens = (usage or {}).get("prompt_tokens")
    return Books(label, model if isinstance(model, str) and model else None,
                 tokens if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens > 0 else None)


def _question(request: object) -> object:
    return {k: v for k, v in request.items() if k not in SAMPLING_ONLY} if isinstance(request, dict) else request


def pairs(ev: Evidence) -> list[tuple[Books, Books]]:
    """The primary answer paired with every related answer to the same question, both readable."""
    first = _books("primary", ev)
    if first is None:
        return []
    found = []
    for name in ev.related:
        twin = ev.twin(name)
        if twin is None or _question(twin.request) != _question(ev.request):
            continue
        second = _books(name, twin)
        if second is not None:
            found.append((first, second))
    return found


def snapshot_base(model: str) -> str:
    """The model name without a dated snapshot suffix."""
    return _SNAPSHOT.sub("", model)


@check("USE-07", on=PAIRED, covers=("response.usage.prompt_tokens:value", "chunk.usage.prompt_tokens:value"))
def same_prompt_same_count(ev: Evidence) -> Outcome:
    """Two answers to the same prompt (a repeat, the streamed twin, another temperature or seed) that name the same model count the same prompt_tokens: the prompt's tokens do not depend on sampling or on streaming.  Answers naming different models may tokenize differently (INCONCLUSIVE)."""
    judged, other_models = 0, []
    for a, b in pairs(ev):
        if a.prompt_tokens is None or b.prompt_tokens is None or a.model is None or b.model is None:
            continue  # usage or model missing: USE-01 / USE-03 / SSE-11 / ENV-05 judge that
        if a.model != b.model:
            other_models.append(f"{a.label} {short(a.model)} vs {b.label} {short(b.model)}")
            continue
        if a.prompt_tokens != b.prompt_tokens:
            return fail(f"prompt_tokens {a.prompt_tokens} in every answer to this prompt ({a.label})",
                        f"{b.label}: prompt_tokens {b.prompt_tokens}, model {short(b.model)} in both",
                        note="the same prompt on the same model is counted differently")
        judged += 1
    if judged:
        return passed(pairs=judged)
    if other_models:
        return inconclusive("the answers name different models, which may tokenize differently: " + "; ".join(other_models))
    raise Skip("no two answers with usage and a model to compare; judged by USE-01 / SSE-11 / ENV-05")


@check("ENV-09", on=PAIRED, covers=("response.model:value", "chunk.model:value"))
def same_request_same_model(ev: Evidence) -> Outcome:
    """Two answers to the same question, streamed or not, name the same model.  Names differing only in a dated snapshot suffix ("-2024-08-06") are routing to snapshots of one model (INFO); other differences leave a client unable to tell which model answered."""
    judged, snapshots = 0, []
    for a, b in pairs(ev):
        if a.model is None or b.model is None:
            continue  # judged by ENV-05 / SSE-05
        if a.model != b.model:
            if snapshot_base(a.model) != snapshot_base(b.model):
                return fail(f"model {short(a.model)} in every answer to this request ({a.label})",
                            f"{b.label}: model {short(b.model)}")
            snapshots.append(f"{a.label} {short(a.model)} vs {b.label} {short(b.model)}")
        judged += 1
    if snapshots:
        return info("answers name different snapshots of one model: " + "; ".join(snapshots))
    if judged:
        return passed(pairs=judged)
    raise Skip("no two answers with a model to compare; judged by ENV-05")
