"""The command line: options work before or after the subcommand; bad input is a message."""

from __future__ import annotations

import argparse
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


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "1e308"])
def test_bad_interval_is_a_usage_error_not_a_traceback(value):
    out = subprocess.run([sys.executable, "-m", "tui", "snapshot", "--interval", value], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    errors = [ln for ln in out.stderr.splitlines() if "error:" in ln]
    assert len(errors) == 1 and "argument --interval: must be" in errors[0] and repr(value) in errors[0], out.stderr
    assert "Traceback" not in out.stderr


def _numeric_options() -> list[tuple[list[str], str, bool]]:
    """(argv before the option, option, takes whole numbers) for every option of every
    subcommand that takes a number: walked from the real parser, so a new one is checked too."""
    parser = build_parser()
    found = []
    places: list[tuple[list[str], argparse.ArgumentParser]] = [([], parser)]
    for action in parser._subparsers._group_actions:
        for name, sub in action.choices.items():
            # positional arguments first (capture's NS): a name that matches nothing
            positional = ["no-such-ns" for a in sub._actions if not a.option_strings and a.dest != "help"]
            places.append(([name, *positional], sub))
    for before, p in places:
        for a in p._actions:
            numeric = a.type in (int, float) or getattr(a.type, "__name__", "") in ("seconds", "whole number")
            if a.option_strings and a.type is not None and numeric:  # not exporter's --listen, --fields
                found.append((before, a.option_strings[-1], a.type in (int,) or a.type.__name__ == "whole number"))
    return found


NUMERIC = _numeric_options()


def test_every_numeric_option_is_found():
    names = {(tuple(b[:1]), o) for b, o, _ in NUMERIC}
    assert {((), "--interval"), (("snapshot",), "--interval"), (("diagnose",), "--interval"),
            (("capture",), "--duration"), (("capture",), "--file-mb"), (("capture",), "--files"),
            (("exporter",), "--interval")} <= names, names


@pytest.mark.parametrize("before, option, whole", NUMERIC, ids=[" ".join([*b, o]) for b, o, _ in NUMERIC])
def test_every_numeric_option_refuses_nan_inf_and_huge_values(before, option, whole, capsys):
    bad = ["0", "-5", "nan", "inf", "1e308", "-0", "1e-400"] + (["1.5", str(10**30)] if whole else [])
    for value in bad:
        with pytest.raises(SystemExit) as exc:  # parsing only: nothing is run, whatever the outcome
            build_parser().parse_args([*before, option, value])
        err = capsys.readouterr().err
        assert exc.value.code == 2, (option, value, err)
        errors = [ln for ln in err.splitlines() if "error:" in ln]
        assert len(errors) == 1 and f"argument {option}: must be" in errors[0] and repr(value) in errors[0], (option, value, err)


@pytest.mark.parametrize("argv", [
    ["snapshot", "--ns", "no-such-namespace-q7"],
    ["snapshot", "--json", "--ns", "no-such-namespace-q7"],
    ["--ns", "no-such-namespace-q7", "snapshot"],
    ["diagnose", "--ns", "no-such-namespace-q7"],
    ["diagnose", "--json", "--ns", "no-such-namespace-q7"],
    ["--ns", "no-such-namespace-q7", "diagnose"],
], ids=" ".join)
def test_a_filter_that_matches_nothing_exits_1_in_snapshot_and_diagnose_alike(argv):
    """For scripts: a typo in --ns must not read as "all quiet" (exit 0). Both commands say so
    on stderr and exit 1; stdout carries no record."""
    out = subprocess.run([sys.executable, "-m", "tui", *argv, "--interval", "0.1"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 1, out.stderr
    assert "no namespace matches 'no-such-namespace-q7'" in out.stderr and "Traceback" not in out.stderr
    assert "{" not in out.stdout and "[" not in out.stdout, out.stdout  # no JSON record, no namespace row
