"""Checks: one function per rule, tagged with its clause; the docstring states the rule."""
