#!/bin/sh
# PID 1 of the tsbpf test guest (busybox sh, from the initramfs).
# Loads the 9p/virtio modules, mounts the host root (read-only) and the
# scratch share, sets up /proc, /sys, /dev, tracefs, bpffs, debugfs and a
# tmpfs /tmp inside it, then runs /scratch/cmd.sh chrooted into the host
# root with stdout/stderr on two virtio serial ports. The exit status goes
# to /scratch/exitcode; then the guest reboots, which ends qemu (-no-reboot).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

log() { echo "tsbpf-init: $*" > /dev/ttyS0; }
finish() {
  echo "$1" > /scratch/exitcode.tmp && mv /scratch/exitcode.tmp /scratch/exitcode
  sync
  reboot -f
}
die() { log "FATAL: $*"; finish 125; }

# loopback up: tests open TCP connections to 127.0.0.1
ip link set lo up || log "cannot bring up lo"

for m in $(cat /etc/modules.load); do
  insmod "/lib/modules/$m.ko" || die "insmod $m failed"
done

mount -t 9p -o trans=virtio,version=9p2000.L,msize=@MSIZE@,cache=none scratch /scratch \
  || { log "FATAL: cannot mount the scratch share"; reboot -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,msize=@MSIZE@,ro,@ROOT_CACHE@ hostroot /host \
  || die "cannot mount the host root"

H=/host
mount -t proc proc $H/proc || die "mount proc"
mount -t sysfs sysfs $H/sys || die "mount sysfs"
mount -t devtmpfs devtmpfs $H/dev || die "mount devtmpfs"
mkdir -p $H/dev/pts $H/dev/shm
mount -t devpts devpts $H/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $H/dev/shm
ln -sf /proc/self/fd $H/dev/fd
ln -sf /proc/self/fd/0 $H/dev/stdin
ln -sf /proc/self/fd/1 $H/dev/stdout
ln -sf /proc/self/fd/2 $H/dev/stderr
mount -t tracefs tracefs $H/sys/kernel/tracing || die "mount tracefs"
mount -t debugfs debugfs $H/sys/kernel/debug || die "mount debugfs"
mount -t bpf bpf $H/sys/fs/bpf || die "mount bpffs"
# The guest gets its own tmpfs /tmp. A repo that lives under the host's /tmp
# (CI may clone there) would vanish under it: hold it by a bind mount first,
# then put it back at the same path inside the new /tmp.
REPO=$(cat /scratch/repo 2>/dev/null)
case "$REPO" in
  /tmp/*) mkdir -p /repo-keep && mount -o bind "$H$REPO" /repo-keep || die "bind the repo" ;;
esac
mount -t tmpfs -o mode=1777 tmpfs $H/tmp || die "mount /tmp"
case "$REPO" in
  /tmp/*) mkdir -p "$H$REPO" && mount -o bind /repo-keep "$H$REPO" || die "re-bind the repo under /tmp" ;;
esac
[ -d $H/run ] && mount -t tmpfs -o mode=755 tmpfs $H/run
# The kernel has no /proc/config.gz: offer /boot/config-$(uname -r) instead.
[ -d $H/boot ] && mount -t tmpfs -o mode=755 tmpfs $H/boot && cp /boot/* $H/boot/
mkdir -p $H/tmp/tsbpf-vm && mount -o bind /scratch $H/tmp/tsbpf-vm || die "bind scratch"

out=; err=
for d in /sys/class/virtio-ports/*; do
  case "$(cat "$d/name" 2>/dev/null)" in
    tsbpf.out) out=/dev/${d##*/} ;;
    tsbpf.err) err=/dev/${d##*/} ;;
  esac
done
[ -n "$out" ] && [ -n "$err" ] || die "virtio serial ports not found"

# Each port is opened exactly once, here, and kept open until the end.
exec 3>"$out" 4>"$err"
chroot $H /bin/sh /tmp/tsbpf-vm/cmd.sh </dev/null >&3 2>&4
rc=$?
exec 3>&- 4>&-
finish $rc
