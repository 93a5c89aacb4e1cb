"""The command line: options work before or after the subcommand; bad input is a message."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tui.cli import build_parser, main


@pytest.mark.parametrize(
    "argv, interval, ns",
    [
        (["--ns", "web", "snapshot"], 1.0, "web"),
        (["snapshot", "--ns", "web"], 1.0, "web"),
        (["--interval", "5", "snapshot"], 5.0, ""),
        (["snapshot", "--interval", "0.5"], 0.5, ""),
        (["diagnose"], 5.0, ""),
        (["--interval", "2", "diagnose", "--ns", "x"], 2.0, "x"),
    ],
)
def test_options_before_or_after_the_subcommand(argv, interval, ns, monkeypatch):
    seen = {}

    def fake_run(args):  # records what the subcommand would get; runs nothing
        seen.update(interval=args.interval, ns=args.ns)
        return 0

    parser = build_parser()
    args = parser.parse_args(argv)
    monkeypatch.setattr("tui.cli.build_parser", lambda: _with_func(parser, fake_run))
    assert main(argv) == 0
    assert seen == {"interval": interval, "ns": ns}
    assert args.command in ("snapshot", "diagnose")


def _with_func(parser, func):
    for action in parser._subparsers._group_actions:  # every subcommand runs the recorder
        for sub in action.choices.values():
            sub.set_defaults(func=func)
    return parser


def test_bad_interval_is_a_usage_error_not_a_traceback():
    out = subprocess.run([sys.executable, "-m", "tui", "snapshot", "--interval", "0"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "--interval must be positive" in out.stderr and "Traceback" not in out.stderr
