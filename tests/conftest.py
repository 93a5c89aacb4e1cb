import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))  # tests import nethelpers

FIXTURES = TESTS / "fixtures" / "proc"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def lab():
    from nethelpers import NetnsLab, require_root

    require_root()
    with NetnsLab() as lab:
        yield lab


def pytest_report_header(config):
    return f"synscope tests: uid={os.geteuid()} CI={os.environ.get('CI', '')}"
