"""Plain chat and stream requests: the evidence most structural checks judge."""

from __future__ import annotations

from ..evidence import Evidence
from ..suite import SUITE
from ..target import Context
from .prompts import GREETING

scenario = SUITE.scenario


def _plain(ctx: Context, **fields: object) -> Evidence:
    body = ctx.body(GREETING, **fields)
    return Evidence(ctx, body, ctx.send(body))


@scenario("chat", "valid", marks=("smoke",))
def chat_basic(ctx: Context) -> Evidence:
    """One user message, no options but a small max_tokens."""
    return _plain(ctx)


@scenario("chat", "valid")
def chat_stream_false(ctx: Context) -> Evidence:
    """stream: false given explicitly must behave exactly like an absent stream key."""
    return _plain(ctx, stream=False)


@scenario("stream", "valid", marks=("smoke",))
def stream_basic(ctx: Context) -> Evidence:
    """The same request streamed, without stream_options."""
    return _plain(ctx, stream=True)
