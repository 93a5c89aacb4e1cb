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


# -- the UI tests' helpers, as fixtures ------------------------------------------------------
def _widget_host_class():  # type: ignore[no-untyped-def]
    from textual.app import App

    class _WidgetHost(App):
        """An App that holds one widget alone, for that widget's own tests."""

        def __init__(self, widget_type, **kw) -> None:  # type: ignore[no-untyped-def]
            super().__init__()
            self._widget_type, self._kw = widget_type, kw

        def compose(self):  # type: ignore[no-untyped-def]
            yield self._widget_type(**self._kw)

    return _WidgetHost


def _screen_host_class():  # type: ignore[no-untyped-def]
    from textual.app import App

    class _ScreenHost(App[None]):
        """An App that opens one screen on mount (the sysctl preview, a capture form)."""

        def __init__(self, screen) -> None:  # type: ignore[no-untyped-def]
            super().__init__()
            self._screen = screen

        def on_mount(self) -> None:
            self.push_screen(self._screen)

    return _ScreenHost


@pytest.fixture
def widget_host():
    """``widget_host(CounterChart)``: an App holding a fresh widget of that type alone."""
    return _widget_host_class()


@pytest.fixture
def screen_host():
    """``screen_host(SysctlScreen(...))``: an App that pushes that screen on mount."""
    return _screen_host_class()


@pytest.fixture
def scripted_app():
    """``scripted_app(**kw)``: the real SynscopeApp on the scripted node, ticking only when told."""
    from tui.app import SynscopeApp
    from tui.scripted_source import ScriptedSource

    def make(source=None, **kw):  # type: ignore[no-untyped-def]
        return SynscopeApp(source if source is not None else ScriptedSource(), autotick=False, **kw)

    return make


LAB_RECORDING = Path(__file__).parent / "fixtures" / "recordings" / "lab-incidents.synscope"
# 30 s into the lab's recording: the NAT + timestamps namespace, its clients' SYN retransmits
# and the slow reader's delayed ACKs are lit; the web pod's listen overflow was 20 s before
LAB_SCENE_AT = 30.0
# 10 s in: the web pod's accept queue overflowing, its clients retransmitting their SYNs
LAB_OVERFLOW_AT = 10.0
# the lab's odd names (markup, CJK, a long name) and a hostNetwork pod, idle (a file of its own)
LAB_NAMES_RECORDING = Path(__file__).parent / "fixtures" / "recordings" / "lab-names.synscope"
LAB_NAMES_AT = 5.0  # the names recording is idle: any moment of it shows every name


@pytest.fixture
def replayed_app():
    """``replayed_app(at=LAB_SCENE_AT, recording=LAB_RECORDING, **kw)``: the real SynscopeApp
    replaying the lab's recording (the real `synscope record` against the lab's incidents),
    ``at`` seconds after its start, its clock in UTC (the same on every machine), ticking only
    when told."""
    from tui.app import SynscopeApp
    from tui.replay_source import ReplaySource

    def make(at: float = LAB_SCENE_AT, recording: Path = LAB_RECORDING, **kw):  # type: ignore[no-untyped-def]
        from tui.core.store.reader import Store

        store = Store(str(recording))
        span = store.span()
        assert span is not None
        return SynscopeApp(ReplaySource(store, span[0] + at, utc=True), autotick=False, **kw)

    return make


@pytest.fixture
def recorded():
    """``recorded(at=LAB_SCENE_AT, recording=LAB_RECORDING)``: what the recording holds at that
    moment, read from its store (tests/recorded.py), to check the replayed App against."""
    from recorded import RecordedMoment

    opened: list[RecordedMoment] = []

    def make(at: float = LAB_SCENE_AT, recording: Path = LAB_RECORDING) -> RecordedMoment:
        opened.append(RecordedMoment(str(recording), at))
        return opened[-1]

    yield make
    for m in opened:
        m.close()


async def _settle(pilot, *, chart: bool = False, rounds: int = 3) -> None:  # type: ignore[no-untyped-def]
    """Wait for the workers (tick, detail) and the messages they posted, ``rounds`` times;
    with ``chart``, also until the chart's picture (built in a thread) is on screen (bounded)."""
    app = pilot.app
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()
    if not chart:
        return
    from tui.app import SynscopeApp
    from widgets.counter_chart import CounterChart

    widget = app.main.chart if isinstance(app, SynscopeApp) else app.query_one(CounterChart)
    for _ in range(20):
        if not widget.building:
            return
        await app.workers.wait_for_complete()
        await pilot.pause()
    raise AssertionError("the chart never finished building")


@pytest.fixture
def settle():
    """``await settle(pilot)``: the app is idle and painted (see _settle)."""
    return _settle
