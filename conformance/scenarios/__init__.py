"""Scenarios: how the suite obtains evidence from the target, each a few cheap requests.

Prompts are built so that the expected behaviour is provable by construction on any model
(counting, fixed word counts), never by judging answer quality.
"""
