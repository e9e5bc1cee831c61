"""Repo-level pytest configuration: pytester for the plugin tests (the conformance plugin itself stays inactive without its flags)."""

pytest_plugins = ("pytester",)
