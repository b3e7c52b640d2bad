# shellcheck shell=bash
# Helpers for the checks that run inside a guest booted with systemd
# (run-in-vm --systemd): TAP-like result lines, bounded waits, unit
# properties, and the node modes and groups of the installed udev rules.
# Source it; FAILURES counts the "not ok" lines.

FAILURES=0
ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	FAILURES=$((FAILURES + 1))
}
# check WHAT COMMAND...: one result line.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# wait_for SECONDS COMMAND...: until COMMAND succeeds (polls every 0.1 s).
# Bound it by what is waited for: a unit property (TimeoutStartUSec,
# RestartUSec, WatchdogUSec, see prop_seconds) after which systemd itself
# gives up, or a step that is done when its command returns; add a few
# seconds for systemd to act on its own verdict.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}
# Diagnostics for a unit, after a failed check.
show() {
	{
		systemctl status --no-pager -l "$1"
		journalctl -b --no-pager -o short-monotonic -n 30 -u "$1"
	} 2>&1 | sed 's/^/#   /'
}
prop() { systemctl show -P "$2" "$1"; }
# A unit's time property in whole seconds, rounded up ("infinity": a day).
prop_seconds() {
	local usec
	usec=$(systemd-analyze timespan "$(prop "$1" "$2")" 2>/dev/null | awk '$1 == "μs:" || $1 == "us:" { print $2 }')
	[[ -n $usec ]] || usec=86400000000
	echo $(((usec + 999999) / 1000000))
}
is_active() { [[ $(systemctl is-active "$1") == active ]]; }
is_inactive() { [[ $(systemctl is-active "$1") == inactive ]]; }
is_enabled() { [[ $(systemctl is-enabled "$1" 2>/dev/null) == enabled ]]; }
is_disabled() { [[ $(systemctl is-enabled "$1" 2>/dev/null) == disabled ]]; }

# load_node_rules FILE: MODE[dev] and GROUP[dev] from the udev rules for
# /dev/cusekit/<dev> (udev's KERNEL is the sysname, CUSE's "cusekit!<dev>",
# with the ! as a /).
declare -A MODE=() GROUP=()
load_node_rules() {
	local line dev
	MODE=()
	GROUP=()
	while IFS= read -r line; do
		[[ $line =~ KERNEL==\"cusekit[!/]([^\"]+)\" ]] || continue
		dev=${BASH_REMATCH[1]}
		[[ $line =~ MODE=\"([0-7]+)\" ]] && MODE[$dev]=${BASH_REMATCH[1]#0}
		[[ $line =~ GROUP=\"([^\"]+)\" ]] && GROUP[$dev]=${BASH_REMATCH[1]}
	done < <(grep -v '^[[:space:]]*#' "$1")
}
# node_ok NODE DEV: a character device with the rules' mode and group.
node_ok() {
	[[ -c $1 ]] || return 1
	[[ $(stat -c '%a %G' "$1") == "${MODE[$2]:-?} ${GROUP[$2]:-?}" ]]
}
# check_node WHAT NODE DEV: node_ok, else say what is there. No wait is
# needed (READY=1 comes after the daemon set mode and group; udevadm --settle
# returns once udev applied them): the 5 s only guard against a slow stat.
check_node() {
	if [[ -n ${MODE[$3]:-} ]] && wait_for 5 node_ok "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1: want a char device $2 mode ${MODE[$3]:-?} group ${GROUP[$3]:-?}, have: $(stat -c '%F %a %G' "$2" 2>&1)"
	fi
}
active_other_pid() { # UNIT PID: active, with a main process other than PID
	local now
	now=$(prop "$1" MainPID)
	is_active "$1" && [[ $now != 0 && $now != "$2" ]]
}
