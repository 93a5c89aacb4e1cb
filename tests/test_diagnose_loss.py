"""Loss on the path for real: the receiver's namespace drops 10 % of incoming packets.

(netem is not available here; iptables' statistic match makes the loss.) The sender
retransmits; the finding must say "loss on the path, not a sysctl" and propose nothing.
"""

from __future__ import annotations

import subprocess

from tui.core.history import NsHistory
from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.core.rules import diagnose_namespace
from tui.core.sampler import NetnsReader
from tui.core.sysctl import host_netns

SENDER = """
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.1", 6060)); s.listen(4); s.settimeout(10)
print("listening", flush=True)
c, _ = s.accept()
c.settimeout(20)
data = b"x" * 65536
for _ in range(64):                    # bounded: 4 MiB
    c.sendall(data)
c.close()
"""

RECEIVER = """
import socket
c = socket.create_connection(("198.51.100.1", 6060), timeout=20)
n = 0
while n < 4 * 1024 * 1024:             # bounded by what the sender sends
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
print(n, flush=True)
"""


def test_random_loss_is_path_loss_not_a_sysctl(lab):
    snd, rcv = lab.add("ls"), lab.add("lr")
    lab.veth(snd, "198.51.100.1/24", rcv, "198.51.100.2/24")
    subprocess.run(["ip", "netns", "exec", rcv, "iptables", "-A", "INPUT", "-p", "tcp", "-m", "statistic", "--mode", "random",
                    "--probability", "0.1", "-j", "DROP"], check=True)
    path = f"/run/netns/{snd}"
    ns = NetNS(ns_inode_of_path(path) or 0, "netns", snd, path=path)
    reader = NetnsReader()
    try:
        def sample() -> tuple[bytes, ...]:
            got = reader.read_many([(ns.inode, path)], ("netstat", "snmp"))[ns.inode]
            assert not isinstance(got, str), got
            return got

        sender = lab.python(snd, SENDER, stdout=subprocess.PIPE, text=True)
        assert sender.stdout is not None and sender.stdout.readline().strip() == "listening"
        h = NsHistory()
        h.ingest(0.0, sample())
        receiver = lab.python(rcv, RECEIVER, stdout=subprocess.PIPE, text=True)
        receiver.communicate(timeout=60)
        h.ingest(10.0, sample())
        d = diagnose_namespace(ns, h, reader=reader, host=host_netns())
        f = next(f for f in d.findings if f.id == "path-loss")
        assert f.not_a_sysctl and f.proposals == ()
        assert h.total_delta("Tcp.RetransSegs") > 0 and "RetransSegs +" in f.evidence_text()
        assert "no sysctl fixes it" in f.explanation
        assert d.proposals == []  # nothing else in this namespace proposes a sysctl either
    finally:
        reader.close()
