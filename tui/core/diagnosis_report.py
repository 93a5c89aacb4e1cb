"""A diagnosis as JSON and as text: what ``synscope diagnose`` prints and an incident bundle
holds (one renderer, so the two never say different things)."""

from __future__ import annotations

import io
import os
from typing import TextIO

from .namespaces import NetNS, pod_row_name
from .rules import Diagnosis
from .sysctl import commands_for

__all__ = ["diagnosis_record", "diagnosis_text", "ns_identity", "print_diagnosis"]


def ns_identity(ns: NetNS) -> dict:
    """The fields that say which namespace a JSON record is about (snapshot and diagnose)."""
    return {
        "name": ns.name,
        "kind": ns.kind,
        "inode": ns.inode,
        "pid": ns.pid,
        "path": ns.path,
        "pod": ns.pod or None,
        "k8s_namespace": ns.k8s_namespace or None,
    }


def diagnosis_record(d: Diagnosis, conntrack_max: int | None = None) -> dict:
    """One namespace's diagnosis as the JSON record `synscope diagnose --json` prints."""
    ns = d.ns
    rec: dict = {
        **ns_identity(ns),
        "window_seconds": d.window,
        "kernel": d.sysctls.kernel if d.sysctls else os.uname().release,
        "findings": [f.as_dict() for f in d.findings],
        "notes": list(d.notes),
        # over the window; null: no conntrack in use here. max is global on 6.18
        "conntrack": {**d.conntrack.as_dict(), "max": conntrack_max} if d.conntrack else None,
    }
    for f, fr in zip(d.findings, rec["findings"]):
        for p, pr in zip(f.proposals, fr["proposals"]):
            c = commands_for(p, ns)
            pr["commands"] = {
                "temporary": c.temporary,
                "persistent_file": c.persistent_file,
                "persistent_content": c.persistent_content,
                "persistent_note": c.persistent_note,
                "runtime": c.runtime or None,
                "k8s_yaml": c.k8s_yaml or None,
                "k8s_note": c.k8s_note or None,
            }
    return rec


def print_diagnosis(d: Diagnosis, out: TextIO) -> None:
    """One namespace's diagnosis as `synscope diagnose` prints it."""
    ns = d.ns
    where = [ns.kind, ns.label]
    if ns.pod and pod_row_name(ns.k8s_namespace, ns.pod) != ns.name:  # a pod's row is named after it
        where.append(f"pod {pod_row_name(ns.k8s_namespace, ns.pod)}")
    if ns.pid:
        where.append(f"pid {ns.pid}")
    print(f"{ns.name}  [{', '.join(where)}]", file=out)
    for note in d.notes:
        print(f"  note: {note}", file=out)
    if not d.findings:
        print("  no finding", file=out)
    for f in d.findings:
        print(f"  {f.severity.upper()}: {f.title}", file=out)
        print(f"    evidence: {f.evidence_text()}", file=out)
        print(f"    {f.confidence_text()}", file=out)
        print(f"    {f.explanation}", file=out)
        if f.sockets:
            socks = ", ".join(f"{s.endpoint} queue {s.accept_queue}/{s.backlog}" for s in f.sockets)
            print(f"    listeners at their backlog: {socks}", file=out)
        for p in f.proposals:
            c = commands_for(p, ns)
            cur = "(absent)" if p.current is None else p.current
            host = "(absent)" if p.host is None else p.host
            tag = "  [an option, with trade-offs]" if p.optional else ""
            print(f"    sysctl {p.key}: {cur} -> {p.value}  (host {host}, scope {p.scope}){tag}", file=out)
            print(f"      risk: {p.risk}", file=out)
            print(f"      now:  {c.temporary}", file=out)
            print(f"      keep: {c.persistent_note}", file=out)
            if c.k8s_note:
                print(f"      k8s:  {c.k8s_note}", file=out)
        for a in f.advice:
            print(f"    - {a}", file=out)
        if f.not_a_sysctl:
            print("    (no sysctl proposed: this is not fixed by a kernel setting)", file=out)
    print(file=out)


def diagnosis_text(d: Diagnosis) -> str:
    out = io.StringIO()
    print_diagnosis(d, out)
    return out.getvalue()
