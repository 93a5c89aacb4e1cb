"""The catalog's netstat -s wording is what the real netstat -s prints.

The engineer compares synscope with netstat -s by eye, so the wording must be net-tools'
own, letter for letter, and "" exactly where netstat -s prints the bare name. The check runs
the installed netstat (net-tools) on counter files made for the test: in a private mount
namespace (unshare) a directory holding net/netstat and net/snmp is mounted over /proc, so
every catalog counter, even those this kernel no longer has (PAWSPassive), gets a value of
its own. Nothing outside that short-lived mount namespace sees the mount.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from nethelpers import require, require_root

from tui.core.catalog import CATALOG, netstat_line


def test_catalog_wording_is_what_netstat_s_prints(tmp_path):
    require_root()
    require("netstat (apt-get install net-tools)", shutil.which("netstat") is not None)
    require("unshare (util-linux)", shutil.which("unshare") is not None)
    # the sections netstat -s prints (Conntrack's counters are not among them: their words are ours)
    values = {key: 1000 + i for i, key in enumerate(sorted(CATALOG)) if key.partition(".")[0] in ("TcpExt", "Tcp")}
    (tmp_path / "net").mkdir()
    for file, sections in (("netstat", ("TcpExt",)), ("snmp", ("Tcp",))):
        text = ""
        for section in sections:
            keys = [k for k in sorted(CATALOG) if k.partition(".")[0] == section]
            text += f"{section}: " + " ".join(k.partition(".")[2] for k in keys) + "\n"
            text += f"{section}: " + " ".join(str(values[k]) for k in keys) + "\n"
        (tmp_path / "net" / file).write_text(text)
    assert set(values) == {k for k in CATALOG if k.partition(".")[0] in ("TcpExt", "Tcp")}, "a section not written"
    os.chmod(tmp_path, 0o755)
    out = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         f'mount --bind "{tmp_path}" /proc && exec netstat -s'],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout
    printed = {line.strip() for line in out.splitlines()}
    wrong = {key: netstat_line(CATALOG[key], v) for key, v in values.items() if netstat_line(CATALOG[key], v) not in printed}
    # on failure, what netstat printed for that value instead
    assert not wrong, {k: (want, [p for p in printed if str(values[k]) in p.split()]) for k, want in wrong.items()}
