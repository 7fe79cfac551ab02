#!/usr/bin/env bash
# The whole test run on a fresh machine, as root: install what the tests need
# (Debian packages, npm packages), then the host suite on this kernel, then the
# VM suite inside Debian's 6.1 and 6.12 kernels under QEMU (one guest after the other).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh: run as root (the tests load BPF programs, mount bpffs/tracefs and boot a VM)" >&2
  exit 1
fi

# Debian packages: the C libbpf oracle and benchmarks (libbpf-dev, libelf-dev,
# zlib1g-dev, gcc), <sys/sdt.h> for the USDT test binary (systemtap-sdt-dev),
# clang/llvm for tests that compile BPF C, iproute2 for the XDP test's veth
# pair, qemu + busybox for the 6.1 guest.
PKGS="libbpf-dev libelf-dev zlib1g-dev gcc make systemtap-sdt-dev clang-19 llvm-19 bpftool iproute2 iputils-ping qemu-system-x86 busybox-static cpio xz-utils zstd"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
# A fresh machine has a stale or empty package list: refresh it when anything
# is to be fetched (packages, or a kernel package of the VM suite).
if [ -n "$missing" ] || [ "$(find .cache/vm -name 'linux-image-*.deb' 2>/dev/null | wc -l)" -lt 2 ]; then
  apt-get update -qq
fi
if [ -n "$missing" ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

npm ci --no-audit --no-fund

# The kernel packages are fetched first: the host suite's cross-kernel CO-RE
# test relocates against the 6.1 BTF too.
npx tsx test/vm/run.ts --prepare

# Each suite's output is kept to add up its counts for the closing line.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
status=0

echo "== host suite (kernel $(uname -r)) =="
npx vitest run 2>&1 | tee "$logs/host.log" || status=1

for k in 6.1 6.12; do
  echo "== VM suite (Debian $k guest) =="
  start=$(date +%s)
  npx tsx test/vm/run.ts --kernel "$k" 2>&1 | tee "$logs/vm-$k.log" || status=1
  echo "== VM suite $k: $(( $(date +%s) - start )) s =="
done

# vitest ends with "Tests  241 passed | 3 skipped (244)"; add both suites up.
count() { { sed 's/\x1b\[[0-9;]*m//g' "$logs"/*.log | grep -E '^ +Tests ' | grep -oE "[0-9]+ $1" || true; } | awk '{ n += $1 } END { print n + 0 }'; }
passed=$(count passed); failed=$(count failed); skipped=$(count skipped)
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1   # a suite that died before counting still fails
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
