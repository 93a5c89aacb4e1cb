"""``w`` in the capture pane and the sysctl preview: the incident bundle, written off the UI thread.

A screen posts :class:`BundleRequested` for its namespace; the App, which holds the data source
(the history) and the session's captures, answers with :func:`write_bundle_in_worker`: a
thread worker that calls the core (:func:`tui.core.bundle.write_bundle`) and says in a
notification where the file went, or why it could not be written.
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


def write_bundle_in_worker(app: App, source, ns: NetNS, captures, directory: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Write ``ns``'s bundle in a thread worker (it reads inside the namespace and runs ``ip``)."""
    app.notify(f"writing the incident bundle of {ns.name} …", timeout=3)

    def write() -> BundleResult | None:
        from tui.core.bundle import BundleError, default_bundle_name, write_bundle
        from tui.core.sysctl import private_dir

        interval = getattr(source, "interval", 1.0) or 1.0
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
        missing = f"; {len(result.notes)} part(s) missing, see its README.txt" if result.notes else ""
        app.call_from_thread(app.notify, f"bundle written: {result.path}{missing}", timeout=12)
        return result

    app.run_worker(write, thread=True, group="bundle", exit_on_error=False, name=f"bundle {ns.name}")
