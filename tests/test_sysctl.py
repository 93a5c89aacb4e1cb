"""Per-namespace sysctls on the real kernel: read, scope, preview commands, guarded apply/revert."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from tui.core.namespaces import ContainerRef, NetNS, ns_inode_of_path
from tui.core.netns import NamespaceGone, NetnsReader
from tui.core.sysctl import (
    KNOWN,
    ApplyPermit,
    ApplyRefused,
    Proposal,
    apply_sysctl,
    commands_for,
    host_netns,
    permit_from_flag,
    preview_text,
    read_sysctls,
    revert_change,
    save_private,
)

# the keys the rules propose; each must be the namespace's own on this kernel
PROPOSABLE = ("net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies", "net.ipv4.tcp_timestamps")


def host_value(key: str) -> str:
    with open("/proc/sys/" + key.replace(".", "/")) as f:
        return " ".join(f.read().split())


def ns_value(name: str, key: str) -> str:
    out = subprocess.run(["ip", "netns", "exec", name, "sysctl", "-n", key], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


def netns(name: str) -> NetNS:
    path = f"/run/netns/{name}"
    return NetNS(ns_inode_of_path(path) or 0, "netns", name, path=path)


def test_reads_namespace_and_host_values_and_scopes(lab):
    name = lab.add("rd")
    subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.core.somaxconn=37"], check=True)
    st = read_sysctls(netns(name))
    assert st.value("net.core.somaxconn") == "37"
    assert st.host("net.core.somaxconn") == host_value("net.core.somaxconn") != "37"
    assert st.scope("net.core.somaxconn") == "namespace"
    # a vector comes back space-separated
    assert st.value("net.ipv4.ip_local_port_range") == ns_value(name, "net.ipv4.ip_local_port_range")
    # netdev_max_backlog is global on this kernel: absent inside a namespace, present on the host
    assert st.value("net.core.netdev_max_backlog") is None and st.host("net.core.netdev_max_backlog") is not None
    assert st.scope("net.core.netdev_max_backlog") == "global"
    # tcp_tw_recycle was removed in 4.12: neither here nor on the host
    assert not st.has("net.ipv4.tcp_tw_recycle") and st.scope("net.ipv4.tcp_tw_recycle") == "absent"
    assert KNOWN["net.ipv4.tcp_tw_recycle"].removed_in == "4.12"
    host = read_sysctls(host_netns(), ["net.core.somaxconn"])
    assert host.is_host and host.scope("net.core.somaxconn") == "host"


def test_proposable_keys_are_per_namespace_on_this_kernel(lab):
    """What the preview claims ("only this namespace") checked by writing in a test namespace."""
    name = lab.add("scope")
    before = {k: host_value(k) for k in PROPOSABLE}
    for key in PROPOSABLE:
        cur = ns_value(name, key)
        new = "0" if cur != "0" else "1"
        if key in ("net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog"):
            new = "37" if cur != "37" else "38"
        subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", f"{key}={new}"], check=True)
        assert ns_value(name, key) == new
    assert {k: host_value(k) for k in PROPOSABLE} == before
    st = read_sysctls(netns(name), PROPOSABLE)
    assert all(st.scope(k) == "namespace" for k in PROPOSABLE)


def test_apply_changes_only_the_namespace_and_revert_restores(lab, tmp_path):
    name = lab.add("ap")
    ns = netns(name)
    permit = permit_from_flag(True)
    host_before = host_value("net.core.somaxconn")
    ns_before = ns_value(name, "net.core.somaxconn")
    new = "1234" if host_before != "1234" else "1235"
    reader = NetnsReader()
    try:
        ch = apply_sysctl(ns, "net.core.somaxconn", new, permit, reader=reader, log_dir=str(tmp_path))
        assert ch.verified and (ch.before, ch.after) == (ns_before, new)
        assert ns_value(name, "net.core.somaxconn") == new
        assert host_value("net.core.somaxconn") == host_before  # the host did not move
        log = tmp_path / "apply.log"
        assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
        entry = json.loads(log.read_text().splitlines()[-1])
        assert entry["key"] == "net.core.somaxconn" and entry["before"] == ns_before and entry["after"] == new
        assert entry["inode"] == ns.inode and entry["action"] == "apply"
        back = revert_change(ch, ns, permit, reader=reader, log_dir=str(tmp_path))
        assert back.verified and back.after == ns_before and back.action == "revert"
        assert ns_value(name, "net.core.somaxconn") == ns_before
        assert host_value("net.core.somaxconn") == host_before
        assert len(log.read_text().splitlines()) == 2
    finally:
        reader.close()


def test_without_the_flag_there_is_no_write_path(lab, tmp_path):
    name = lab.add("noap")
    ns = netns(name)
    before = ns_value(name, "net.core.somaxconn")
    assert permit_from_flag(False) is None
    assert permit_from_flag("yes") is None  # only the flag's True, nothing truthy
    with pytest.raises(ApplyRefused, match="--allow-apply"):
        apply_sysctl(ns, "net.core.somaxconn", "999", None, log_dir=str(tmp_path))
    with pytest.raises(ApplyRefused, match="--allow-apply"):
        apply_sysctl(ns, "net.core.somaxconn", "999", object(), log_dir=str(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(ApplyRefused):
        ApplyPermit(object(), "forged")
    assert ns_value(name, "net.core.somaxconn") == before
    assert not (tmp_path / "apply.log").exists()


def test_apply_refuses_unknown_keys_bad_values_global_keys_and_gone_namespaces(lab, tmp_path):
    name = lab.add("bad")
    ns = netns(name)
    permit = permit_from_flag(True)
    with pytest.raises(ApplyRefused, match="not a sysctl synscope proposes"):
        apply_sysctl(ns, "kernel.panic", "1", permit, log_dir=str(tmp_path))
    with pytest.raises(ApplyRefused, match="not a number"):
        apply_sysctl(ns, "net.core.somaxconn", "1\nnet.core.x=2", permit, log_dir=str(tmp_path))
    host_backlog = host_value("net.core.netdev_max_backlog")
    with pytest.raises(ApplyRefused, match="does not exist"):
        apply_sysctl(ns, "net.core.netdev_max_backlog", "5000", permit, log_dir=str(tmp_path))
    with pytest.raises(ApplyRefused, match="does not exist"):
        apply_sysctl(ns, "net.ipv4.tcp_tw_recycle", "0", permit, log_dir=str(tmp_path))
    assert host_value("net.core.netdev_max_backlog") == host_backlog
    subprocess.run(["ip", "netns", "del", name], check=True)
    lab.names.remove(name)
    with pytest.raises(NamespaceGone, match=name):
        apply_sysctl(ns, "net.core.somaxconn", "100", permit, log_dir=str(tmp_path))
    assert not (tmp_path / "apply.log").exists()


def _prop(key: str = "net.core.somaxconn", scope: str = "namespace") -> Proposal:
    return Proposal(key, "4096", "37", "4096", scope, "ListenOverflows +72", "low", "accept-queue")


def test_commands_per_kind_of_namespace():
    netns_ns = NetNS(5, "netns", "blue", path="/run/netns/blue")
    c = commands_for(_prop(), netns_ns)
    assert c.temporary == "nsenter --net=/run/netns/blue sysctl -w net.core.somaxconn=4096"
    assert c.persistent_content.endswith("net.core.somaxconn = 4096\n")
    assert "ip netns exec blue sysctl -w" in c.persistent_note and not c.k8s_yaml

    pod = NetNS(6, "pod", "web-1", pids=(4242,), pod="web-1", k8s_namespace="shop")
    c = commands_for(_prop(), pod)
    assert c.temporary == "nsenter --net=/proc/4242/ns/net sysctl -w net.core.somaxconn=4096"
    assert "securityContext:\n    sysctls:\n    - name: net.core.somaxconn\n      value: \"4096\"" in c.k8s_yaml
    assert "--allowed-unsafe-sysctls='net.core.somaxconn'" in c.k8s_note and "does NOT reach a pod" in c.persistent_note
    c = commands_for(_prop("net.ipv4.tcp_syncookies"), pod)
    assert "safe sysctl" in c.k8s_note and "unsafe" not in c.k8s_note

    ctr = NetNS(7, "container", "api", pids=(99,), containers=(ContainerRef("api", "abc123"),))
    c = commands_for(Proposal("net.ipv4.ip_local_port_range", "1024 65000", "32768 60999", None, "namespace", "w", "r"), ctr)
    assert c.temporary == "nsenter --net=/proc/99/ns/net sysctl -w 'net.ipv4.ip_local_port_range=1024 65000'"
    assert "docker run --sysctl 'net.ipv4.ip_local_port_range=1024 65000'" in c.runtime

    host = NetNS(1, "host", "host", pids=(1,))
    c = commands_for(_prop(scope="host"), host)
    assert c.temporary == "sysctl -w net.core.somaxconn=4096" and c.persistent_file == "/etc/sysctl.d/90-synscope.conf"
    c = commands_for(_prop("net.core.netdev_max_backlog", scope="global"), netns_ns)
    assert c.temporary.startswith("sysctl -w ") and "every namespace" in c.temporary_note


def test_preview_text_and_private_save(tmp_path, monkeypatch):
    ns = NetNS(5, "pod", "web-1", pids=(4242,), pod="web-1", k8s_namespace="shop")
    text = preview_text(ns, [_prop()], kernel="6.18")
    assert "## net.core.somaxconn: 37 -> 4096   (host: 4096; scope: namespace)" in text
    assert "nsenter --net=/proc/4242/ns/net sysctl -w net.core.somaxconn=4096" in text
    assert "securityContext:" in text
    monkeypatch.setenv("SYNSCOPE_DIR", str(tmp_path / "priv"))
    path = save_private(text, default_name="p.txt")
    assert path == str(tmp_path / "priv" / "p.txt")
    assert stat.S_IMODE(os.stat(tmp_path / "priv").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # an existing world-readable file is tightened; a symlink is never followed
    other = tmp_path / "open.txt"
    other.write_text("x")
    os.chmod(other, 0o644)
    save_private(text, str(other))
    assert stat.S_IMODE(os.stat(other).st_mode) == 0o600 and other.read_text() == text
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "target.txt")
    with pytest.raises(OSError):
        save_private(text, str(link))
    assert not (tmp_path / "target.txt").exists()


def test_preview_text_keeps_every_note_line_a_comment():
    """Defence in depth: even a name with a newline (discovery cleans names) cannot turn into
    a command in the text that 'c' copies and 'w' saves."""
    from tui.core.namespaces import NetNS as _NetNS
    from tui.core.sysctl import Proposal as _Proposal
    from tui.core.sysctl import preview_text as _preview_text

    ns = _NetNS(4026530001, "proc", "x\nreboot -f #", pids=(4242,))
    p = _Proposal("net.core.somaxconn", "8192", "4096", "4096", "namespace", "ListenOverflows +5\nrm -rf /", "low")
    text = _preview_text(ns, [p], header=["a\nb"])
    for line in text.splitlines():
        assert not line.startswith(("reboot", "rm ", "b")), line
