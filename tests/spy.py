"""Record the calls of one method of one object (the first argument of each), for tests that
assert what was (not) repainted or read."""

from __future__ import annotations

from typing import Any


def record_calls(monkeypatch, obj: Any, name: str) -> list[Any]:  # type: ignore[no-untyped-def]
    calls: list[Any] = []
    real = getattr(obj, name)

    def spy(first, *args, **kw):  # type: ignore[no-untyped-def]
        calls.append(first)
        return real(first, *args, **kw)

    monkeypatch.setattr(obj, name, spy)
    return calls
