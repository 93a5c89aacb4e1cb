#!/usr/bin/env bash
# A debian:bookworm-slim stand-in, made without a registry: mmdebstrap from the Debian mirror
# this machine's apt uses, trimmed the way the slim image is (no man pages, docs or locales).
#   bash scripts/build-base-rootfs.sh OUT.tar
#   docker import OUT.tar debian:bookworm-slim     # the name deploy/Dockerfile builds FROM
# For a build machine (or a test engine) that cannot pull: the image built on top is the same
# recipe as on a machine that can. Needs root and mmdebstrap (apt-get install mmdebstrap).
set -euo pipefail
out=${1:?usage: build-base-rootfs.sh OUT.tar}
command -v mmdebstrap >/dev/null || { echo "build-base-rootfs: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }
tmp="$out.partial.$$"
trap 'rm -f "$tmp"' EXIT
# merged-usr hook: a merged /usr without the usrmerge package (and the perl it pulls in)
mmdebstrap --variant=minbase --quiet --format=tar \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/apt "$1"/var/log/dpkg.log' \
  bookworm "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "built $out: $(( $(stat -c %s "$out") / 1000000 )) MB"
