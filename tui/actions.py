"""One table of the TUI's actions: each key's words live here and nowhere else.

Each :class:`Action` is one entry: its key, its binding id, what the footer says, its line
in the help screen, and its entry in the command palette. From this table come

* the ``BINDINGS`` of the App (global keys) and of the main screen (:func:`bindings`),
* the help screen's key list (:func:`help_rows`),
* the command palette's entries (:func:`palette_entries`, served by
  :class:`tui.screens.palette.ActionsProvider`), each with its key shown from the same entry.

Keys handled inside a widget (the table's and the panel's arrows, enter) keep their bindings
in the widget, which stays reusable; their help and palette words are entries here with
``owner="widget"`` (no binding is made from them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding

from widgets.namespace_table import SORTS

__all__ = ["ACTIONS", "Action", "bindings", "help_rows", "REPLAY_ACTIONS", "key_text", "palette_entries"]

Owner = Literal["app", "main", "widget"]


@dataclass(frozen=True, slots=True)
class Action:
    id: str  # the binding id ("filter"); unique
    key: str  # Textual key names, comma-separated ("up,k"); "" for a palette-only action
    action: str  # the action string run on its owner ("filter", "sort_by('syn')")
    footer: str = ""  # the binding's description: what the footer shows
    help: str = ""  # the help screen's line; "" = not listed there
    palette: str = ""  # the palette's title; "" = not in the palette
    palette_help: str = ""  # the palette's second line (the key is added to it)
    show: bool = True  # in the footer
    priority: bool = False  # global keys only (quit)
    owner: Owner = "main"  # "app": the App's own; "main": the main screen's; "widget": a widget's own key
    keys_shown: str = ""  # how the help writes the key when the key names would not read well
    replay: bool = False  # only in `synscope replay` (the main screen hides it in the live TUI)


_SORT_ORDER = tuple(SORTS)
_MOVE = "move in the table / choose the charted counter in the detail"
_PAGE = "page through the table or the counters"
_ENDS = "the first / the last row (or counter)"

ACTIONS: tuple[Action, ...] = (
    Action("quit", "q", "quit", "Quit", "quit (leaves nothing behind)", priority=True, owner="app"),
    Action("help", "question_mark", "help", "Help", "this help", "Help: keys", "Every key and what is lit", owner="app"),
    Action("filter", "slash", "filter", "Filter",
           "filter by name, pod, k8s namespace or label (key=value); shows 'shown/total'",
           "Filter namespaces", "Filter by name, pod, k8s namespace or label"),
    Action("filter.clear", "", "clear_filter", palette="Clear filter", palette_help="Show every namespace again"),
    Action("back", "escape", "back", "Back / clear filter",
           "leave the filter / the detail panel / the sockets pane; clears an active filter from the table", show=False),
    Action("freeze", "p", "freeze", "Freeze", "freeze the display (sampling and history continue); again to resume",
           "Freeze / resume display", "Sampling continues while frozen"),
    Action("baseline", "b", "baseline", "Baseline",
           "set a baseline for the selected namespace: values read 'since baseline'",
           "Set baseline", "Values of the selected namespace read 'since baseline'"),
    Action("baseline.clear", "B", "clear_baseline", "Clear baseline", "clear the selected namespace's baseline",
           "Clear baseline", "Back to absolute values", show=False),
    Action("all", "a", "all_counters", "All counters", "detail: all counters / only those that moved in the window",
           "All counters / moved only", "Toggle the detail panel's counter set", show=False),
    Action("chart", "c", "chart", "Chart", "show or hide the chart of the focused counter",
           "Show / hide chart", "Chart of the focused counter", show=False),
    Action("sort", "o", "sort_next", "Sort", "next sort order: " + ", ".join(_SORT_ORDER)),
    *(Action(f"sort.{key}", "", f"sort_by('{key}')", palette=f"Sort by {key}", palette_help=text)
      for key, text in SORTS.items()),
    Action("sort.reverse", "r", "sort_reverse", "Reverse sort", "reverse the sort order",
           "Reverse sort", "Reverse the table order", show=False),
    Action("capture", "t", "capture", "Capture", "tcpdump in the selected namespace: presets, live pane, bounded pcap",
           "Capture in namespace", "tcpdump in the selected namespace"),
    Action("capture.list", "T", "capture_list", "Captures",
           "every capture of this session (stop, view, run tcpdump in the terminal)",
           "Captures", "Every capture of this session", show=False),
    Action("sysctl", "s", "sysctl", "Sysctl", "diagnosis and sysctl fix preview for the selected namespace",
           "Diagnose / sysctl fix preview", "Findings and proposed sysctls for the selected namespace"),
    Action("sockets", "l", "sockets", "Sockets",
           "sockets of the selected namespace, read inside it every tick (ss -ltn, -ti): listeners' accept "
           "queue / backlog and SYN-RECV, sockets by state, connections by peer, worst first; again closes",
           "Sockets of namespace", "Listeners' queues, socket states, connections by peer, read inside the "
           "selected namespace every tick"),
    # replay (synscope replay): moving in the recorded time
    Action("replay.back", "comma", "replay_step(-1)", "Back", "replay: one recorded tick back",
           "Replay: one tick back", "Step back one recorded tick", replay=True),
    Action("replay.forward", "full_stop", "replay_step(1)", "Fwd", "replay: one recorded tick forward",
           "Replay: one tick forward", "Step forward one recorded tick", replay=True),
    Action("replay.back_1m", "left_square_bracket", "replay_jump(-60)", "-1m", "replay: jump 1 min back",
           "Replay: 1 min back", "Jump one minute back", show=False, replay=True),
    Action("replay.forward_1m", "right_square_bracket", "replay_jump(60)", "+1m", "replay: jump 1 min forward",
           "Replay: 1 min forward", "Jump one minute forward", show=False, replay=True),
    Action("replay.back_10m", "left_curly_bracket", "replay_jump(-600)", "-10m", "replay: jump 10 min back",
           "Replay: 10 min back", "Jump ten minutes back", show=False, replay=True),
    Action("replay.forward_10m", "right_curly_bracket", "replay_jump(600)", "+10m", "replay: jump 10 min forward",
           "Replay: 10 min forward", "Jump ten minutes forward", show=False, replay=True),
    Action("replay.goto", "g", "replay_goto", "Go to", "replay: go to a time (10m before the end, 01:10, an ISO time)",
           "Replay: go to a time", "Go to a recorded moment", replay=True),
    Action("replay.play", "space", "replay_play", "Play", "replay: play / pause (at the speed x chooses)",
           "Replay: play / pause", "Play or pause the recording", replay=True),
    Action("replay.speed", "x", "replay_speed", "Speed", "replay: play at 1x, 10x, 60x (each press the next)",
           "Replay: next speed", "Play at 1x, 10x or 60x", replay=True),
    # the table's own keys (NamespaceTable.BINDINGS): help words here, bindings in the widget
    Action("table.detail", "enter", "detail", help="open the detail panel of the selected namespace (focus it)",
           palette="Detail panel", palette_help="Focus the selected namespace's counters", owner="widget"),
    # one help line per pair of keys (they were listed once each and once more as a pair)
    Action("table.up", "up,k", "", help=_MOVE, owner="widget", keys_shown="up/down j/k"),
    Action("table.down", "down,j", "", help=_MOVE, owner="widget", keys_shown="up/down j/k"),
    Action("table.pageup", "pageup", "", help=_PAGE, owner="widget", keys_shown="pgup/pgdn"),
    Action("table.pagedown", "pagedown", "", help=_PAGE, owner="widget", keys_shown="pgup/pgdn"),
    Action("table.home", "home", "", help=_ENDS, owner="widget", keys_shown="home/end"),
    Action("table.end", "end", "", help=_ENDS, owner="widget", keys_shown="home/end"),
    Action("focus", "", "", help="move focus: table, detail (shift+tab back)", owner="widget", keys_shown="tab"),
    Action("palette", "", "", help="command palette: every action by name", owner="widget", keys_shown="ctrl+p"),
)

_KEY_NAMES = {"question_mark": "?", "slash": "/", "comma": ",", "full_stop": ".", "left_square_bracket": "[",
              "right_square_bracket": "]", "left_curly_bracket": "{", "right_curly_bracket": "}"}
REPLAY_ACTIONS = frozenset(a.action.partition("(")[0] for a in ACTIONS if a.replay)


def key_text(action: Action) -> str:
    """The key as people read it: ``?`` for question_mark, ``/`` for slash."""
    return action.keys_shown or _KEY_NAMES.get(action.key, action.key)


def bindings(owner: Owner) -> list[Binding]:
    """The ``BINDINGS`` of the App (``"app"``) or of the main screen (``"main"``).

    The main screen's start with the App's own keys, bound to ``app.ACTION``: Textual's footer
    lists the focused widget's keys, then the screen's, then the App's, and the global keys
    (quit, help) read first, as they always have; then the replay keys, then the rest.
    """
    if owner == "main":
        globals_first = [Binding(a.key, f"app.{a.action}", a.footer, show=a.show, id=a.id)
                         for a in ACTIONS if a.owner == "app" and a.key]
        # the replay keys next (hidden in the live TUI): at 80 columns the footer has room for
        # about eight keys, and in replay stepping through time is what it is for
        own = sorted((a for a in ACTIONS if a.owner == "main" and a.key), key=lambda a: not a.replay)
        return globals_first + [Binding(a.key, a.action, a.footer, show=a.show, id=a.id) for a in own]
    return [Binding(a.key, a.action, a.footer, show=a.show, priority=a.priority, id=a.id)
            for a in ACTIONS if a.owner == owner and a.key]


def help_rows(replay: bool = False) -> list[tuple[str, str]]:
    """(key, what it does) for the help screen, in the table's order (the replay keys in replay)."""
    rows = [(key_text(a), a.help) for a in ACTIONS if a.help and (replay or not a.replay)]
    return list(dict.fromkeys(rows))  # a pair of keys shown as one ("up/down j/k"): one line


@dataclass(frozen=True, slots=True)
class PaletteEntry:
    title: str
    help: str
    action: str
    owner: Owner


def palette_entries(replay: bool = False) -> list[PaletteEntry]:
    """The palette's entries, each action's key shown after its help, from the same entry."""
    out = []
    for a in ACTIONS:
        if not a.palette or (a.replay and not replay):
            continue
        help_text = f"{a.palette_help} ({key_text(a)})" if a.key else a.palette_help
        out.append(PaletteEntry(a.palette, help_text, a.action, "main" if a.owner == "widget" else a.owner))
    return out
