#!/bin/bash
# build.sh - build the read-only Python rootfs that every job runs in.
# Usage: rootfs/build.sh OUT_DIR
# Builds Debian trixie (Python 3.13) with mmdebstrap from rootfs/packages.txt,
# strips documentation, prebuilds the matplotlib font cache and bytecode, and
# writes OUT_DIR.manifest.json (Python and package versions). Idempotent: when
# OUT_DIR.stamp matches the package list and this script, it does nothing.
# Needs root (mmdebstrap --mode=root) and Debian's package mirror.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT_DIR}
mirror=${CODERUNNER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=trixie

stamp=$(cat "$here/packages.txt" "$here/build.sh" "$here/manifest.py" | sha256sum | cut -d' ' -f1)
if [ -d "$out" ] && [ -f "$out.stamp" ] && [ "$(cat "$out.stamp")" = "$stamp" ]; then
  echo "rootfs: $out is up to date"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "rootfs: building needs root (mmdebstrap --mode=root); run: sudo make rootfs" >&2
  exit 1
fi

pkgs=$(grep -v '^\s*#' "$here/packages.txt" | grep -v '^\s*$' | paste -sd, -)
tmp="$out.new"
rm -rf "$tmp"
echo "rootfs: building $suite with $pkgs"
# CODERUNNER_MMDEBSTRAP_OPTS adds options, e.g. "--skip=chroot/mount" inside
# an unprivileged container build, where /proc cannot be mounted.
# shellcheck disable=SC2086
mmdebstrap --mode=root --variant=minbase --include="$pkgs" ${CODERUNNER_MMDEBSTRAP_OPTS:-} \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='mkdir -p "$1/workspace" "$1/etc/coderunner/mplconfig"' \
  --customize-hook='rm -f "$1"/usr/lib/python3/dist-packages/distutils-precedence.pth' \
  --customize-hook='chroot "$1" env MPLCONFIGDIR=/etc/coderunner/mplconfig MPLBACKEND=Agg python3 -c "import matplotlib.font_manager"' \
  --customize-hook='chroot "$1" python3 -m compileall -q -j0 /usr/lib/python3/dist-packages /usr/lib/python3.13 >/dev/null || true' \
  --customize-hook="copy-in $here/manifest.py /etc/coderunner" \
  --customize-hook='chroot "$1" python3 /etc/coderunner/manifest.py > "$1/etc/coderunner/manifest.json"' \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
  "$suite" "$tmp" "deb $mirror $suite main"

chmod 0755 "$tmp"
rm -rf "$out"
mv "$tmp" "$out"
cp "$out/etc/coderunner/manifest.json" "$out.manifest.json"
echo "$stamp" > "$out.stamp"
echo "rootfs: built $out ($(du -sh "$out" | cut -f1))"
