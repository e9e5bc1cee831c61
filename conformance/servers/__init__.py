"""Servers the suite proves itself against.

``reference`` is a fully conforming, deterministic toy Chat Completions server; ``defects`` is
the mutant zoo that breaks it one clause at a time; ``launcher`` runs it as a subprocess.
"""
