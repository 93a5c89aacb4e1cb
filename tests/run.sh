#!/usr/bin/env bash
# Install what the tests need and run the whole suite (root tests included when root).
#   sudo bash tests/run.sh [pytest args...]
# System packages come from apt when missing; Python packages go into a fresh venv.
# The Docker tests start their own dockerd on a private socket (tests/dockerd.py).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ip >/dev/null || need+=(iproute2)
command -v nstat >/dev/null || need+=(iproute2)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v netstat >/dev/null || need+=(net-tools)  # the catalog's wording is checked against netstat -s
command -v dockerd >/dev/null || need+=(docker.io)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v iptables >/dev/null || need+=(iptables)
command -v nsenter >/dev/null || need+=(util-linux)
command -v setpriv >/dev/null || need+=(util-linux)
command -v tmux >/dev/null || need+=(tmux)
command -v objdump >/dev/null || need+=(binutils)
command -v strip >/dev/null || need+=(binutils)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v prometheus >/dev/null || need+=(prometheus)  # and promtool: the exporter's end-to-end and rule tests
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)  # the names are checked against it
command -v openssl >/dev/null || need+=(openssl)  # the exporter's TLS test makes its certificates
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing system packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
  else
    echo "missing system packages (${need[*]}): root/Docker tests will skip" >&2
  fi
fi

# world-readable: one test runs synscope as nobody (uid 65534) from this venv
venv="${SYNSCOPE_TEST_VENV:-$(mktemp -d /tmp/synscope-test.XXXXXX)/venv}"
chmod 755 "$(dirname "$venv")"
python3 -m venv "$venv"
log="$(dirname "$venv")/pip.log"
if ! { "$venv/bin/pip" install -q --upgrade pip && "$venv/bin/pip" install -q -e '.[test]'; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "pip install failed (log above)" >&2
  exit 1
fi

"$venv/bin/ruff" check tui widgets tests bench scripts
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q -rs "$@"
