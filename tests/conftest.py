"""Shared test configuration: the harness fixtures come from the `testservices` plugin (an entry point)."""

pytest_plugins = ["pytester"]
