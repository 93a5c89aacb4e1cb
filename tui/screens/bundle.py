"""``w`` in the capture pane and the sysctl preview: the incident bundle, written off the UI thread.

A screen posts :class:`BundleRequested` for its namespace; the App, which holds the data source
(the history) and the session's captures, answers with :func:`write_bundle_in_worker`: a
thread worker that calls the core (:func:`tui.core.bundle.write_bundle`) and says in a
notification where the file went, or why it could not be written.

With a recorder store (``store``: the directory the TUI was given, ``--store`` or the
recorder's default), the bundle also holds the window's recording of that namespace alone
(:mod:`tui.core.recorded_window`); the counters stay the session's history, as on screen.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from textual.app import App
from textual.message import Message

from tui.core.namespaces import NetNS

if TYPE_CHECKING:
    from tui.core.bundle import BundleResult

__all__ = ["BUNDLE_WINDOW", "BundleRequested", "write_bundle_in_worker"]

BUNDLE_WINDOW = 300.0  # seconds of history a bundle's counters and diagnosis cover (as `--window 5m`)


class BundleRequested(Message):
    """A screen asks for ``ns``'s incident bundle (the App has the history and the captures)."""

    def __init__(self, ns: NetNS) -> None:
        super().__init__()
        self.ns = ns


def write_bundle_in_worker(app: App, source, ns: NetNS, captures, directory: str | None = None,  # type: ignore[no-untyped-def]
                           store: str | None = None) -> None:
    """Write ``ns``'s bundle in a thread worker (it reads inside the namespace and runs ``ip``).
    ``store``: the recorder's store directory, if any: the window's recording comes from it."""
    app.notify(f"writing the incident bundle of {ns.name} …", timeout=3)

    def write() -> BundleResult | None:
        from tui.core.bundle import NO_RECORDER, BundleError, default_bundle_name, recording_from, write_bundle
        from tui.core.recorded_window import NoRecordedWindow, RecordedWindow, find_recorded_window
        from tui.core.sysctl import private_dir

        interval = getattr(source, "interval", 1.0) or 1.0
        window: RecordedWindow | None = None
        trouble: NoRecordedWindow | None = None
        if store is not None:
            try:
                window = find_recorded_window(store, ns, BUNDLE_WINDOW, explicit=False)
            except NoRecordedWindow as exc:
                trouble = exc  # absent: said; any other trouble: a note in the bundle

        def recording():  # type: ignore[no-untyped-def]
            if window is None:
                raise trouble  # type: ignore[misc]
            return recording_from(window)

        try:
            base = os.path.join(directory or private_dir(), default_bundle_name(ns))
            for n in range(1, 100):  # two bundles in one second: -2, -3 …, never over the first
                path = base if n == 1 else base.replace(".tar.gz", f"-{n}.tar.gz")
                try:
                    result = write_bundle(
                        ns, path,
                        counters=lambda: source.counter_window(ns.inode, BUNDLE_WINDOW),
                        counters_missing="synscope has no history of this namespace yet",
                        diagnosis=lambda: source.diagnose(ns, n=max(1, round(BUNDLE_WINDOW / interval))),
                        captures=captures,
                        recording=recording if window is not None or (trouble and not trouble.absent) else None,
                        recording_missing=str(trouble) if trouble is not None else NO_RECORDER,
                    )
                    break
                except BundleError as exc:
                    if not exc.exists:
                        raise
            else:
                raise BundleError(f"{base} and 98 more names exist already")
        except (BundleError, OSError) as exc:
            app.call_from_thread(app.notify, f"bundle of {ns.name} not written: {exc}", severity="error", timeout=10)
            return None
        except Exception as exc:  # never a traceback on screen: say what failed
            app.call_from_thread(app.notify, f"bundle of {ns.name} failed: {type(exc).__name__}: {exc}",
                                 severity="error", timeout=10)
            return None
        finally:
            if window is not None:
                window.close()
        missing = f"; {len(result.notes)} part(s) missing, see its README.txt" if result.notes else ""
        app.call_from_thread(app.notify, f"bundle written: {result.path}{missing}", timeout=12)
        return result

    app.run_worker(write, thread=True, group="bundle", exit_on_error=False, name=f"bundle {ns.name}")
