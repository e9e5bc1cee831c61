"""Conformance suite for OpenAI-compatible Chat Completions servers."""

__version__ = "0.1.0"
