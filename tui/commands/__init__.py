"""Headless subcommands (snapshot, diagnose, capture); tui.cli imports each by name."""
