"""One capture at a glance: namespace, filter, file and bounds, counts, SYN trouble meanwhile."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.core.capture import PRESETS, CaptureStatus
from tui.core.catalog import info
from widgets.formatting import human_bytes

__all__ = ["CaptureSummary", "summary_text"]


def summary_text(st: CaptureStatus | None, syn: dict[str, int]) -> Text:
    if st is None:
        return Text("no capture selected — t on a namespace starts one", style="dim")
    t = Text()
    t.append(f"#{st.id} {st.ns_name}", style="bold")
    t.append(f"  net:[{st.ns_inode}]  ")
    if st.running and st.armed:
        word = st.state if st.listening else "starting"
        t.append(word, style="bold magenta" if word == "triggered" else "bold cyan")
        t.append(f" {st.elapsed:.0f} s of {st.duration:g} s")
    elif st.running:
        t.append("capturing" if st.listening else "starting", style="bold green")
        t.append(f" {st.elapsed:.0f} s of {st.duration:g} s")
    else:
        t.append(st.state, style="bold red" if st.state == "failed" else "bold")
        t.append(f" after {st.elapsed:.0f} s: {st.end_reason}")
    t.append(f"  pid {st.pid}\n" if st.pid else "\n")
    t.append("filter ", style="dim")
    preset = PRESETS.get(st.preset)
    if preset is not None and not preset.needs:
        t.append(preset.title)  # the flag presets' BPF is long and says less than the title
    else:
        t.append(st.filter)
    t.append("  on ", style="dim")
    t.append(f"{st.interface}\n")
    t.append("file   ", style="dim")
    t.append(f"{st.files_text}\n")
    t.append("bounds ", style="dim")
    t.append(f"{st.bounds_text}\n")
    if st.armed:
        _armed_lines(t, st)
    t.append("counts ", style="dim")
    t.append(f"{st.packets} packets, {human_bytes(st.bytes)}", style="bold")
    t.append(f"; on disk {human_bytes(st.bytes_on_disk)} of at most {human_bytes(st.bound_bytes)}\n")
    t.append("SYN trouble meanwhile ", style="dim")
    if syn:
        for key, d in sorted(syn.items(), key=lambda kv: -kv[1]):
            t.append(f"{key.split('.', 1)[-1]} +{d}", style="bold red")
            wording = info(key).wording
            t.append(f" ({wording})  " if wording else "  ")
    else:
        t.append("none moved", style="green")
    if not st.running:
        tail = [m.removeprefix("tcpdump: ") for m in st.messages if not m.startswith("tcpdump: listening on")]
        if tail:
            t.append("\n" + "; ".join(tail[-4:]), style="dim" if st.state != "failed" else "red")
    return t


def _armed_lines(t: Text, st: CaptureStatus) -> None:
    import time

    def clock(ts: float) -> str:
        return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 10) % 10}"

    t.append("armed  ", style="dim")
    t.append(st.when, style="bold cyan")
    t.append(f"; ring {st.ring_packets} packets, {human_bytes(st.ring_bytes)} of {human_bytes(st.ring_bound)} in memory\n")
    for w in st.triggers:
        t.append(f"trigger {w.number} ", style="dim")
        t.append(clock(w.fired_at), style="bold")
        t.append(" " + ", ".join(f"{k} +{d}" for k, d in w.deltas.items()), style="bold red")
        if w.more:
            t.append(" (then " + ", ".join(f"+{d}" for d in w.more.values()) + ")", style="red")
        t.append(f" → {w.state} {w.path} ({w.packets} packets")
        if w.first_ts is not None and w.last_ts is not None:
            t.append(f", {clock(w.first_ts)}–{clock(w.last_ts)}")
        t.append(")")
        if w.note:
            t.append(f" {w.note}", style="yellow")
        t.append("\n")


class CaptureSummary(Static):
    DEFAULT_CSS = """
    CaptureSummary { height: auto; padding: 0 1; }
    """

    def show(self, st: CaptureStatus | None, syn: dict[str, int]) -> None:
        self.update(summary_text(st, syn))
