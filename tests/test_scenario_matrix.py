"""Precision, measured: every scenario of tests/scenarios.py in real namespaces, real traffic.

For every namespace of every scenario, the exact set of finding ids and of proposed sysctl
keys: nothing extra, nothing missing. The random-loss scenario runs 5 times (loss is random).
Each scenario waits on counters until its incident is far past the rules' thresholds, so the
outcome does not depend on timing luck; `sudo .venv/bin/python tests/scenarios.py` prints the
same matrix as the README's table.
"""

from __future__ import annotations

import pytest
from nethelpers import require_root
from scenarios import SCENARIOS, random_loss, run

CASES = [pytest.param(name, id=name.split(" ", 1)[0]) for name in SCENARIOS if SCENARIOS[name] is not random_loss]
CASES += [pytest.param(name, id=f"5-run{i}") for name in SCENARIOS if SCENARIOS[name] is random_loss
          for i in range(1, 6)]


@pytest.mark.parametrize("name", CASES)
def test_scenario_gives_exactly_the_expected_findings_and_sysctls(name):
    require_root()
    outcomes = run(name)
    assert outcomes, name
    wrong = [o.explain() for o in outcomes if not o.ok]
    assert not wrong, "\n".join(wrong)
