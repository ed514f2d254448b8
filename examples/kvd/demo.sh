#!/bin/bash
# SPDX-License-Identifier: MIT
#
# kvd upgrades live: a memcached-protocol cache goes from release 1.0.0 to
# 1.1.0 while clients keep using it, without losing a key or a connection;
# then baton refuses a downgrade and an unsupported jump before anything
# stops. Assumes a built tree (meson setup build && ninja -C build); set
# BUILD=DIR for another build folder and KEYS=N for more or fewer keys.
# Everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
KEYS=${KEYS:-100000}
KVD=$BUILD/examples/kvd
BATON=$BUILD/tools/baton
CLIENT="python3 examples/kvd/democlient.py"

for f in "$KVD/kvd-0.9.0" "$KVD/kvd-1.0.0" "$KVD/kvd-1.1.0" "$BATON"; do
	if [ ! -x "$f" ]; then
		echo "demo.sh: $f is missing; build first: meson setup $BUILD && ninja -C $BUILD" >&2
		exit 2
	fi
done

TMP=$(mktemp -d /tmp/kvd-demo.XXXXXX)
PIDS=()
CLIENTS_PID=

cleanup() {
	trap - EXIT INT TERM
	if [ -n "$CLIENTS_PID" ]; then
		kill "$CLIENTS_PID" 2>/dev/null || true
	fi
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	# Successors are not our children: wait for them by pid, then insist.
	for p in "${PIDS[@]}"; do
		for _ in $(seq 40); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -9 "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*"; }
section() { printf '\n== %s\n' "$*"; }
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
stat_of() {  # PORT NAME: one stats value
	$CLIENT stats "$1" "$2" | awk '{ print $2 }'
}
start_kvd() {  # RELEASE PORT CONTROL LOG
	"$KVD/kvd-$1" -p "$2" -l 127.0.0.1 -m 256 --control "$3" -v 2>>"$4" &
	PIDS+=($!)
	for _ in $(seq 100); do
		if $CLIENT stats "$2" pid >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	echo "demo.sh: kvd $1 did not start; its log:" >&2
	cat "$4" >&2
	exit 1
}
upgrade() {  # CONTROL PROGRAM: run `baton upgrade`, show its output, return its exit status
	local rc=0
	say "\$ baton upgrade $1 $2"
	"$BATON" upgrade "$1" "$2" >"$TMP/upgrade.out" 2>&1 || rc=$?
	sed 's/^/  /' "$TMP/upgrade.out"
	say "  (exit status $rc)"
	return $rc
}
clients() {  # a command to the background clients, and their answer
	echo "$1" >&"${CLI[1]}"
	read -r -u "${CLI[0]}" line
	say "$line"
}

PORT=$(free_port)
CTL=$TMP/kvd.ctl
LOG=$TMP/kvd.log

section "kvd 1.0.0: start, load, connect clients"
start_kvd 1.0.0 "$PORT" "$CTL" "$LOG"
say "kvd 1.0.0 serves 127.0.0.1:$PORT (pid $(stat_of "$PORT" pid)), control socket $CTL"
$CLIENT load "$PORT" "$KEYS"
coproc CLI { exec $CLIENT clients "$PORT" 4 "$KEYS"; }
CLIENTS_PID=$CLI_PID
read -r -u "${CLI[0]}" _ready
say "4 clients connected and issuing gets without pause; a 5th has sent half of a set"
sleep 1
clients status

section "upgrade, live: kvd 1.0.0 -> 1.1.0"
OLD_PID=$(stat_of "$PORT" pid)
upgrade "$CTL" "$KVD/kvd-1.1.0"
NEW_PID=$(stat_of "$PORT" pid)
PIDS+=("$NEW_PID")
sleep 1
say "checks passed: pre-flight accepted 1.0.0 -> 1.1.0, kvd 1.1.0 restored every object"
say "now served by pid $NEW_PID (was $OLD_PID). What the clients saw:"
clients status
clients finish-half
$CLIENT verify "$PORT" "$KEYS"
say "downtime: $(sed -n 's/^downtime //p' "$TMP/upgrade.out") from freeze to commit (baton);" \
	"$(stat_of "$PORT" baton_last_downtime_us) us from freeze to the first answered request (kvd 1.1.0)"
say "stats now:"
$CLIENT stats "$PORT" version pid baton_generation baton_state_from baton_last_downtime_us \
	curr_items curr_connections region_layout | sed 's/^/  /'

section "refused: kvd 1.1.0 -> 1.0.0 (a downgrade)"
FROZEN=$(grep -c "frozen for an upgrade" "$LOG" || true)
upgrade "$CTL" "$KVD/kvd-1.0.0" || true
[ "$(grep -c "frozen for an upgrade" "$LOG" || true)" = "$FROZEN" ] &&
	say "refused at pre-flight: nothing was frozen, no process was started"
say "still serving: kvd $(stat_of "$PORT" version), pid $(stat_of "$PORT" pid) (unchanged)"
clients status
$CLIENT verify "$PORT" "$KEYS"

section "refused: kvd 0.9.0 -> 1.1.0 (an unsupported jump)"
PORT2=$(free_port)
CTL2=$TMP/kvd-old.ctl
LOG2=$TMP/kvd-old.log
start_kvd 0.9.0 "$PORT2" "$CTL2" "$LOG2"
say "kvd 0.9.0 serves 127.0.0.1:$PORT2 (pid $(stat_of "$PORT2" pid))"
$CLIENT load "$PORT2" 10000
upgrade "$CTL2" "$KVD/kvd-1.1.0" || true
grep -q "frozen for an upgrade" "$LOG2" ||
	say "refused at pre-flight: nothing was frozen, no process was started"
say "still serving: kvd $(stat_of "$PORT2" version), pid $(stat_of "$PORT2" pid) (unchanged)"
$CLIENT verify "$PORT2" 10000

section "done"
echo quit >&"${CLI[1]}"
wait "$CLIENTS_PID" 2>/dev/null || true
CLIENTS_PID=
say "the supported way from 0.9.0 is one hop at a time: $BATON plan, or 0.9.0 -> 1.0.0 -> 1.1.0"
say "stopping kvd (pids ${PIDS[*]}) and removing $TMP"
