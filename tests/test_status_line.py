"""The status line says what synscope cannot see: failures in full, absent sources briefly."""

from __future__ import annotations

from tui.core.namespaces import SourceStatus
from widgets.status_line import StatusInfo, StatusLine


def render(**kw) -> str:
    base = dict(interval=1.0, sample_age=0.2, namespaces=12, shown=12)
    return StatusLine.render_info(StatusInfo(**{**base, **kw})).plain


def test_failure_shows_its_reason_and_absence_is_one_word():
    text = render(statuses=(
        SourceStatus("docker", False, "permission denied on /var/run/docker.sock"),
        SourceStatus("kubelet", False, "no kubelet pods on this node (/var/log/pods missing)", absent=True),
    ))
    assert "docker: unavailable (permission denied on /var/run/docker.sock)" in text
    assert "no kubelet" in text and "/var/log/pods" not in text


def test_not_root_and_frozen_come_first():
    text = render(root=False, frozen=True, frozen_behind=3)
    assert text.index("FROZEN") < text.index("not root") < text.index("every 1 s")
    assert "3 new samples not shown" in text


def test_counts_and_age():
    assert "5/12 namespaces" in render(shown=5)
    assert "waiting for the first sample" in render(sample_age=None)
