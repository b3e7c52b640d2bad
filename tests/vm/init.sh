#!/bin/sh
# shellcheck shell=dash
# Guest /init for tests/vm/run-in-vm (runs as PID 1 under busybox sh, static).
#
# Serial ports: ttyS0 = kernel console + these messages (a log on the host),
#               ttyS1 = the command's stdout, ttyS2 = the command's stderr.
# Shares (9p):  hostroot = the host's / (read-only), results = a host temp dir
#               holding config + cmd.sh (written by the host) and status/error
#               (written here).
# This file is packed into the cached initramfs; editing it triggers a rebuild.

PATH=/bin
export PATH
umask 022

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o mode=0755 devtmpfs /dev
exec </dev/console >/dev/console 2>&1

RESULTS_OK=
NR=/newroot

say() { echo "run-in-vm(guest): $*"; }

halt_now() {
	sync
	poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 5
	echo o >/proc/sysrq-trigger
	while :; do sleep 60; done
}

die() {
	say "error: $*"
	if [ -n "$RESULTS_OK" ]; then
		echo "$*" >/results/error
	fi
	halt_now
}

uptime_s() { read -r up _ </proc/uptime && echo "$up"; }

# --- modules, in dependency order (resolved on the host at build time) ------
# cuse waits for the config: a systemd guest leaves it to modprobe@cuse.service.
while read -r mod; do
	case $mod in "" | cuse) continue ;; esac
	insmod "/lib/modules/$mod.ko" || die "insmod $mod failed"
done </modules.list

# --- the results share first, so later failures can be reported -------------
P9OPTS=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$P9OPTS,cache=none" results /results || die "cannot mount the results share"
RESULTS_OK=1
[ -r /results/config ] || die "no /results/config"
# config sets OVERLAY, CACHE9P, SYSTEMD, MODDIR (host-generated)
OVERLAY=0
CACHE9P=loose
SYSTEMD=0
MODDIR=
# shellcheck disable=SC1091 # written by the host at run time
. /results/config
if [ "$SYSTEMD" != 1 ] && [ -e /lib/modules/cuse.ko ]; then
	insmod /lib/modules/cuse.ko || die "insmod cuse failed"
fi

# --- the host's root ---------------------------------------------------------
if [ "$OVERLAY" = 1 ]; then
	mkdir -p /lower /rw
	mount -t 9p -o "$P9OPTS,cache=$CACHE9P,ro" hostroot /lower || die "cannot mount the host root (9p)"
	mount -t tmpfs -o mode=0755 tmpfs /rw || die "tmpfs for overlay"
	mkdir -p /rw/upper /rw/work
	mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay $NR ||
		die "cannot mount the overlay root"
else
	mount -t 9p -o "$P9OPTS,cache=$CACHE9P,ro" hostroot $NR || die "cannot mount the host root (9p)"
fi

mount -t proc -o nosuid,nodev,noexec proc $NR/proc || die "mount proc"
mount -t sysfs -o nosuid,nodev,noexec sysfs $NR/sys || die "mount sysfs"
mount -t devtmpfs -o mode=0755 devtmpfs $NR/dev || die "mount devtmpfs"
mkdir -p $NR/dev/pts $NR/dev/shm
mount -t devpts -o nosuid,noexec,mode=0620,ptmxmode=0666 devpts $NR/dev/pts || die "mount devpts"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs $NR/dev/shm || die "mount /dev/shm"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs $NR/tmp || die "mount /tmp"
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs $NR/run || die "mount /run"
ln -sf /proc/self/fd $NR/dev/fd
ln -sf /proc/self/fd/0 $NR/dev/stdin
ln -sf /proc/self/fd/1 $NR/dev/stdout
ln -sf /proc/self/fd/2 $NR/dev/stderr
# Pseudo file systems a systemd host would have; absence is not fatal.
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 $NR/sys/fs/cgroup 2>/dev/null || say "warning: no cgroup2"
mount -t bpf -o nosuid,nodev,noexec,mode=0700 bpf $NR/sys/fs/bpf 2>/dev/null || say "warning: no bpffs"
mount -t securityfs -o nosuid,nodev,noexec securityfs $NR/sys/kernel/security 2>/dev/null || say "warning: no securityfs"
mount -t debugfs -o nosuid,nodev,noexec debugfs $NR/sys/kernel/debug 2>/dev/null || say "warning: no debugfs"
mount -t tracefs -o nosuid,nodev,noexec tracefs $NR/sys/kernel/tracing 2>/dev/null || true

hostname cusekit-vm
ip link set lo up 2>/dev/null || say "warning: cannot bring up lo"

[ "$SYSTEMD" = 1 ] || [ -c $NR/dev/cuse ] || die "/dev/cuse is missing in the guest (cuse module loaded?)"
[ -c $NR/dev/fuse ] || die "/dev/fuse is missing in the guest"

for t in ttyS1 ttyS2; do
	[ -c /dev/$t ] || die "/dev/$t missing"
	stty -F /dev/$t raw -echo || die "stty $t"
done

mkdir -p $NR/run/cusekit-vm
cp /results/cmd.sh $NR/run/cusekit-vm/cmd.sh || die "cannot copy cmd.sh"

# --- or: boot systemd, which runs the command as a service -------------------
if [ "$SYSTEMD" = 1 ]; then
	[ -x $NR/lib/systemd/systemd ] || die "no /lib/systemd/systemd in the root"
	# A clean system: none of the host's enabled units; then the given tree
	# (units and their enablement links) and the kernel's modules for modprobe.
	rm -rf $NR/etc/systemd/system/*.wants $NR/etc/systemd/system/*.requires
	# A VM, not a container: else systemd takes its "kernel" command line
	# from its own argv and runs container-style units.
	rm -f $NR/.dockerenv
	cp -a /results/root/. $NR/ || die "cannot copy the tree into the root"
	mkdir -p $NR/lib/modules $NR/etc/systemd/system/multi-user.target.wants $NR/run/cusekit-vm/results
	[ -e "$NR/lib/modules/$(uname -r)" ] || ln -s "$MODDIR" "$NR/lib/modules/$(uname -r)"
	cp /results/run-command $NR/run/cusekit-vm/run-command || die "cannot copy run-command"
	cp /results/run-in-vm-command.service $NR/etc/systemd/system/ || die "cannot install the command's unit"
	ln -s ../run-in-vm-command.service $NR/etc/systemd/system/multi-user.target.wants/
	mount --move /results $NR/run/cusekit-vm/results || die "cannot move the results share"
	exec switch_root $NR /lib/systemd/systemd
fi

uptime_s >/results/boot-time

# --- the command -------------------------------------------------------------
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root USER=root LOGNAME=root TERM=dumb CUSEKIT_IN_VM=1 \
	chroot $NR /bin/sh /run/cusekit-vm/cmd.sh </dev/null >/dev/ttyS1 2>/dev/ttyS2
rc=$?

uptime_s >/results/end-time
if [ ! -e $NR/run/cusekit-vm/started ]; then
	die "the command did not start (cmd.sh failed before exec, status $rc; see the stderr above)"
fi

# Processes the command left behind (daemons) are stopped: TERM, then KILL.
others() {
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" != 1 ] && [ -e "$p/exe" ] && return 0 # not a kernel thread or zombie
	done
	return 1
}
if others; then
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" != 1 ] && [ -e "$p/exe" ] && echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline")"
	done >/results/leftovers
	kill -TERM -1
	i=0
	while others && [ $i -lt 30 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL -1 2>/dev/null
fi

# Let whatever is still queued on the output ports reach the host: stty with
# TCSADRAIN (coreutils; busybox stty may not drain) waits for the UART.
for t in ttyS1 ttyS2; do
	chroot $NR stty -F /dev/$t raw -echo 2>/dev/null || stty -F /dev/$t raw -echo
done

echo "$rc" >/results/status.tmp && mv /results/status.tmp /results/status
halt_now
