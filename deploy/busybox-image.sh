#!/usr/bin/env bash
# Builds a one-layer busybox OCI image layout in OUTDIR (tag "latest"): the
# static /bin/busybox from Debian's busybox-static, a symlink per applet in
# /bin, a minimal /etc/passwd and /tmp, and a config with Cmd ["sh"] and PATH.
#
# Usage: busybox-image.sh OUTDIR
#
# `shoal cluster up` preloads its registry with this image; the tests'
# registry fixture (test/support/registry.ts) pushes it too.
#
# Cached: OUTDIR/.busybox-sha256 records which busybox binary it was built
# from; when it matches, nothing is done. The layout is built beside OUTDIR and
# renamed into place, so concurrent callers (parallel test workers) never see
# a half-built layout; the loser of the race throws its copy away.
set -euo pipefail

out=${1:?usage: busybox-image.sh OUTDIR}
busybox=${BUSYBOX:-/bin/busybox}
stamp="$out/.busybox-sha256"

want=$(sha256sum "$busybox" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

parent=$(dirname "$out")
mkdir -p "$parent"
work=$(mktemp -d "$parent/.busybox-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

layout="$work/layout"
bundle="$work/bundle"
umoci init --layout "$layout"
umoci new --image "$layout:latest"
# As root plain unpack works; --rootless would be needed for an unprivileged build.
umoci unpack --image "$layout:latest" "$bundle"

rootfs="$bundle/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/root" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
install -m 0755 "$busybox" "$rootfs/bin/busybox"
# What `busybox --install -s` does, but relative and all in /bin, so the links
# resolve inside any rootfs regardless of where it is mounted.
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] && continue
  ln -sf busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

umoci repack --image "$layout:latest" "$bundle"
umoci config --image "$layout:latest" \
  --config.cmd sh \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.workingdir /
# umoci keeps every intermediate blob; drop the unreferenced ones.
umoci gc --layout "$layout"
echo "$want" >"$layout/.busybox-sha256"

# Replace a stale layout, or lose the race to a concurrent builder gracefully.
if [ -d "$out" ]; then
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
  fi
  rm -rf "$out"
fi
mv -T "$layout" "$out" 2>/dev/null || [ -f "$stamp" ]
