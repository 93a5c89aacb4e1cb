#!/usr/bin/env bash
# Build dist/synscope: one executable holding a Python runtime, synscope and every dependency
# (PyInstaller onefile), for a node that has no Python. tcpdump is not inside: the node's own
# is used, as with any other install.
#   bash scripts/build-onefile.sh
# Environment (all optional):
#   PYTHON               the Python to bundle: >= 3.11, with a shared libpython (default python3)
#   SYNSCOPE_DIST        where synscope is written (default dist/)
#   SYNSCOPE_BUILD_DIR   work files and the build venv (default build/onefile/)
#   SYNSCOPE_COMMIT      the commit to bake in where git cannot tell (default: ask git, else "unknown")
# The build venv holds synscope's dependencies and PyInstaller only; the code bundled is this
# checkout's tui/ and widgets/, as they are on disk. The executable runs where the node's glibc
# is at least the newest version the bundle needs: the script prints it at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
dist=${SYNSCOPE_DIST:-$root/dist}
work=${SYNSCOPE_BUILD_DIR:-$root/build/onefile}
venv="$work/venv"
mkdir -p "$work" "$dist"

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "build-onefile: Python >= 3.11 needed, $python is $("$python" --version 2>&1)" >&2; exit 1; }

# what to install: synscope's dependencies and the `onefile` extra, straight from pyproject.toml
mapfile -t requirements < <("$python" -c '
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(p["dependencies"] + p["optional-dependencies"]["onefile"]))')

log="$work/pip.log"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi
if ! "$venv/bin/pip" install -q --disable-pip-version-check "${requirements[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "build-onefile: pip install failed (log above)" >&2
  exit 1
fi

# the version and commit, baked in: the executable cannot ask git on the node
commit=${SYNSCOPE_COMMIT:-$("$python" -c '
import sys
from tui.version import BUILD_PATHS, git_commit
print(git_commit(sys.argv[1], BUILD_PATHS) or "unknown")' "$root")}
version=$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
gen="$work/gen"
mkdir -p "$gen"
cat >"$gen/_synscope_build.py" <<EOF
"""Written by scripts/build-onefile.sh: what synscope --version says in this build."""
VERSION = "$version"
COMMIT = "$commit"
FORM = "onefile"
EOF

start=$(date +%s)
# --clean: no analysis carried over from an earlier build (of another checkout, perhaps): the
# file is made from what is on disk now, for ~5 s more
SYNSCOPE_ROOT="$root" SYNSCOPE_GEN="$gen" "$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$dist" --workpath "$work/pyinstaller" "$root/scripts/synscope-onefile.spec" \
  >"$work/pyinstaller.log" 2>&1 || { cat "$work/pyinstaller.log" >&2; echo "build-onefile: PyInstaller failed (log above)" >&2; exit 1; }

exe="$dist/synscope"
"$exe" --version >/dev/null || { echo "build-onefile: the built $exe does not start" >&2; exit 1; }
read -r glibc needed_by < <("$exe" -I -S -c "$(cat "$root/scripts/glibc_floor.py")")
size=$(stat -c %s "$exe")
echo "built $exe: $("$exe" --version)"
echo "  $((size / 1000000)) MB ($size bytes) in $(( $(date +%s) - start )) s; needs glibc >= $glibc (for $needed_by)"
