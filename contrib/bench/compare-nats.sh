#!/bin/bash
# compare-nats.sh: logwired side by side with NATS JetStream 2.9 and
# Redis 7 (appendfsync always) on this machine, driven by the same load
# generator (logwire-bench, with --target nats:// for NATS; redis-benchmark
# for Redis).  Prints one table with the ratios and writes the raw JSON
# lines, the table and the fan-out latency plot to $OUT (default
# ./bench-results).
#
# Usage: contrib/bench/compare-nats.sh [quick]
#   quick: small counts, a minute or two (a check that everything runs)
#
# Environment: OUT (results directory), SERVER_CPUS (taskset list for the
# servers, default the last CPU), CLIENT_CPUS (for the load generators,
# default the others; with one CPU nothing is pinned), PLOT (0: no plot),
# BUILD (0: do not rebuild logwire-bench).
#
# Everything listens on 127.0.0.1 only; every server started here is
# stopped on exit; every loop is bounded.
set -euo pipefail

MODE=${1:-full}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$PWD/bench-results}
BENCH=$TOP/src/logwire-bench
LOGWIRED=$TOP/src/logwired
TMP=$(mktemp -d /tmp/compare-nats.XXXXXX)
PIDS=()

cleanup() {
	local f pid
	for f in "$TMP"/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	sleep 0.5
	for f in "$TMP"/*.pid; do
		[ -f "$f" ] || continue
		kill -9 "$(cat "$f")" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

say() { printf '== %s\n' "$*" >&2; }

# ---- what we need -------------------------------------------------------
install_missing() {
	local need=() p
	for p in nats-server libnats-dev redis-server redis-tools gnuplot-nox \
	    jq curl; do
		dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return
	say "installing ${need[*]}"
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
}
install_missing

if [ "${BUILD:-1}" != 0 ]; then
	if [ ! -x "$BENCH" ] || "$BENCH" publish -u nats://127.0.0.1:1 \
	    --timeout 1s 2>&1 | grep -q 'built without libnats'; then
		say "building logwire-bench with libnats"
		(cd "$TOP" && { [ -x configure ] || autoreconf -fi; } &&
		    ./configure -q && make -j"$(nproc)" src/logwired \
		    src/logwire-bench) >"$TMP/build.log" 2>&1 ||
		    { cat "$TMP/build.log"; exit 1; }
	fi
fi

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# Run private copies, so that a rebuild during the run changes nothing.
cp "$LOGWIRED" "$TMP/logwired" && LOGWIRED=$TMP/logwired
cp "$BENCH" "$TMP/logwire-bench" && BENCH=$TMP/logwire-bench

NCPU=$(nproc)
if [ "$NCPU" -gt 1 ]; then
	SERVER_CPUS=${SERVER_CPUS:-$((NCPU - 1))}
	CLIENT_CPUS=${CLIENT_CPUS:-0-$((NCPU - 2))}
	SPIN="taskset -c $SERVER_CPUS"
	CPIN="taskset -c $CLIENT_CPUS"
else
	SERVER_CPUS=all CLIENT_CPUS=all SPIN= CPIN=
fi

if [ "$MODE" = quick ]; then
	PUB_N=20000 PUB50_N=20000 FAN_N=500 FANMAX_N=200 REPLAY_N=100000
	RESUME_K=500 CONN_K=1000 REDIS_N1=2000 REDIS_N50=20000
	FAN_SUBS="10 100"
else
	PUB_N=200000 PUB50_N=200000 FAN_N=3000 FANMAX_N=1000 REPLAY_N=1000000
	RESUME_K=10000 CONN_K=10000 REDIS_N1=10000 REDIS_N50=500000
	FAN_SUBS="10 100 1000"
fi

mkdir -p "$OUT"
RAW=$OUT/raw.jsonl
: >"$RAW"

# Wait (bounded) until a TCP port answers.
wait_port() {
	local i
	for i in $(seq 1 200); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "nothing listens on port $1" >&2
	return 1
}

# Pick a free port at or above $1.
free_port() {
	local p=$1 i
	for i in $(seq 0 200); do
		(exec 3<>/dev/tcp/127.0.0.1/$((p + i))) 2>/dev/null ||
		    { echo $((p + i)); return; }
	done
	echo "no free port near $1" >&2
	exit 1
}

LW_PORT=$(free_port 18180)
NATS_PORT=$(free_port 14322)
REDIS_PORT=$(free_port 16479)

# ---- servers ------------------------------------------------------------
# start_logwired SYNC: a fresh data directory each time.
start_logwired() {
	local sync=$1
	LW_SYNC=$sync
	rm -rf "$TMP/lw-data"
	cat >"$TMP/lw-restart.sh" <<EOF
#!/bin/bash
kill \$(cat $TMP/lw.pid) 2>/dev/null
for i in \$(seq 1 200); do kill -0 \$(cat $TMP/lw.pid) 2>/dev/null || break; sleep 0.05; done
$SPIN "$LOGWIRED" -l 127.0.0.1:$LW_PORT -d "$TMP/lw-data" --sync $sync \
    >>"$TMP/logwired.log" 2>&1 &
echo \$! >$TMP/lw.pid
EOF
	chmod +x "$TMP/lw-restart.sh"
	$SPIN "$LOGWIRED" -l 127.0.0.1:$LW_PORT -d "$TMP/lw-data" \
	    --sync "$sync" >>"$TMP/logwired.log" 2>&1 &
	echo $! >"$TMP/lw.pid"
	wait_port "$LW_PORT"
}
restart_logwired_fresh() {
	stop_logwired
	start_logwired "$LW_SYNC"
	sleep 1
}
stop_logwired() {
	kill "$(cat "$TMP/lw.pid")" 2>/dev/null || true
	local i
	for i in $(seq 1 200); do
		kill -0 "$(cat "$TMP/lw.pid")" 2>/dev/null || break
		sleep 0.05
	done
	rm -f "$TMP/lw.pid"
}

start_nats() {
	rm -rf "$TMP/js"
	cat >"$TMP/nats.conf" <<EOF
listen: 127.0.0.1:$NATS_PORT
max_connections: 100000
jetstream {
	store_dir: "$TMP/js"
	max_file_store: 8G
	max_memory_store: 1G
}
EOF
	cat >"$TMP/nats-restart.sh" <<EOF
#!/bin/bash
kill \$(cat $TMP/nats.pid) 2>/dev/null
for i in \$(seq 1 200); do kill -0 \$(cat $TMP/nats.pid) 2>/dev/null || break; sleep 0.05; done
$SPIN nats-server -c "$TMP/nats.conf" >>"$TMP/nats.log" 2>&1 &
echo \$! >$TMP/nats.pid
for i in \$(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT) 2>/dev/null && break; sleep 0.05; done
sleep 1
EOF
	chmod +x "$TMP/nats-restart.sh"
	$SPIN nats-server -c "$TMP/nats.conf" >>"$TMP/nats.log" 2>&1 &
	echo $! >"$TMP/nats.pid"
	wait_port "$NATS_PORT"
}
restart_nats_fresh() {
	stop_nats
	start_nats
	sleep 1
}
stop_nats() {
	kill "$(cat "$TMP/nats.pid")" 2>/dev/null || true
	local i
	for i in $(seq 1 200); do
		kill -0 "$(cat "$TMP/nats.pid")" 2>/dev/null || break
		sleep 0.05
	done
	rm -f "$TMP/nats.pid"
}

# run NAME TARGET-URL SCENARIO ARGS...: one logwire-bench run, tagged.
run() {
	local name=$1 url=$2; shift 2
	local line
	say "$name: $*"
	if line=$($CPIN "$BENCH" "$@" -u "$url" --json --timeout 300s); then
		:
	else
		echo "   (failed: $line)" >&2
	fi
	[ -n "$line" ] || line='{"ok":false}'
	printf '%s\n' "$line" | jq -c --arg run "$name" --arg case "$*" \
	    '. + {run: $run, case: $case}' >>"$RAW"
	printf '%s\n' "$line" | jq -r '"   " + (
	    if .msgs_per_s then "\(.msgs_per_s) msg/s" else "" end) + (
	    if .deliveries_per_s then " \(.deliveries_per_s) deliveries/s"
	    else "" end) + (if .lat_ms_p99 then " p99 \(.lat_ms_p99) ms"
	    else "" end) + (if .all_caught_up_s then
	    " caught up in \(.all_caught_up_s) s" else "" end) + (
	    if .bytes_per_conn then " \(.bytes_per_conn) B/conn" else "" end)
	    ' >&2 || true
}

# The same workloads for logwired and NATS.
workloads() {
	local name=$1 url=$2 restart=$3 fresh=$4
	run "$name" "$url" publish --connections 1 --window 1 --messages 5000
	run "$name" "$url" publish --connections 1 --window 64 \
	    --messages "$PUB_N"
	run "$name" "$url" publish --connections 50 --window 16 \
	    --messages "$PUB50_N"
	run "$name" "$url" publish --connections 50 --window 16 \
	    --channels 1000 --messages "$PUB50_N"
	if [ "$name" != logwired-none ]; then
		for s in $FAN_SUBS; do
			run "$name" "$url" fanout --subscribers "$s" \
			    --rate 1000 --messages "$FAN_N"
		done
		run "$name" "$url" fanout --subscribers 1000 --rate max \
		    --messages "$FANMAX_N"
		run "$name" "$url" replay --clients 1 --messages "$REPLAY_N"
		run "$name" "$url" resume --clients "$RESUME_K" \
		    --messages 200 --behind 100 --restart-cmd "$restart"
		# Memory freed by the storm is reused without showing in
		# the RSS: measure idle connections on a fresh server.
		"$fresh"
		run "$name" "$url" connections --connections "$CONN_K" \
		    --hold 2s
	fi
}

# Let the disk and the sockets of one server settle before the next.
settle() {
	sync
	sleep 3
}

# ---- the machine --------------------------------------------------------
{
	echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "cpus: $NCPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'))"
	echo "kernel: $(uname -r)"
	echo "servers on CPUs: $SERVER_CPUS, load generators on CPUs: $CLIENT_CPUS"
	echo "logwired: $("$LOGWIRED" --version 2>&1 | head -1)"
	echo "nats-server: $(nats-server --version 2>&1)"
	echo "redis-server: $(redis-server --version | awk '{print $3}')"
	dd if=/dev/zero of="$TMP/dsync" bs=4k count=1000 oflag=dsync 2>&1 |
	    awk '/copied/ { printf "disk: 1000 4k O_DSYNC writes in %s s, %.0f/s\n", $(NF-3), 1000/$(NF-3) }'
	rm -f "$TMP/dsync"
} | tee "$OUT/machine.txt" >&2

# ---- logwired -----------------------------------------------------------
for sync in always none; do
	say "logwired --sync $sync on 127.0.0.1:$LW_PORT"
	start_logwired "$sync"
	workloads "logwired-$sync" "http://127.0.0.1:$LW_PORT" \
	    "$TMP/lw-restart.sh" "restart_logwired_fresh"
	stop_logwired
	settle
done

# ---- NATS ---------------------------------------------------------------
say "nats-server 2.9.10 with JetStream (file storage) on 127.0.0.1:$NATS_PORT"
say "NOTE: nats-server 2.9 acknowledges JetStream publishes BEFORE any fsync"
say "      (sync_interval: always needs 2.10+): its acks are NOT durable."
start_nats
workloads nats "nats://127.0.0.1:$NATS_PORT" "$TMP/nats-restart.sh" \
    "restart_nats_fresh"
stop_nats
settle

# ---- Redis (durable peer) -----------------------------------------------
say "redis-server appendfsync always on 127.0.0.1:$REDIS_PORT"
mkdir -p "$TMP/redis"
$SPIN redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$TMP/redis" \
    --appendonly yes --appendfsync always --save '' --daemonize no \
    >"$TMP/redis.log" 2>&1 &
echo $! >"$TMP/redis.pid"
wait_port "$REDIS_PORT"
VALUE=$(head -c 200 /dev/urandom | base64 -w0 | head -c 100)
redis_run() {
	local clients=$1 pipeline=$2 n=$3 rpid c0 c1 line t
	rpid=$(cat "$TMP/redis.pid")
	c0=$(awk '{print $14 + $15}' "/proc/$rpid/stat")
	TIMEFORMAT='%U %S'
	t=$( { time $CPIN redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" \
	    -c "$clients" -P "$pipeline" -n "$n" --csv XADD bench '*' f \
	    "$VALUE" >"$TMP/redis.csv"; } 2>&1 )
	c1=$(awk '{print $14 + $15}' "/proc/$rpid/stat")
	line=$(grep -i xadd "$TMP/redis.csv" | tail -1 | tr -d '"')
	say "redis XADD $clients clients x pipeline $pipeline: $line"
	jq -nc --arg l "$line" --arg t "$t" --argjson c "$clients" \
	    --argjson p "$pipeline" --argjson n "$n" \
	    --argjson scpu "$(echo "($c1 - $c0) / $(getconf CLK_TCK)" | bc -l)" '
	    ($l | split(",")) as $f | ($t | split(" ")) as $u |
	    {run: "redis-always", scenario: "publish", target: "redis",
	     case: "XADD \($c) clients x pipeline \($p)", connections: $c,
	     window: $p, messages: $n, msgs_per_s: ($f[1] | tonumber),
	     lat_ms_p50: ($f[4] | tonumber), lat_ms_p99: ($f[6] | tonumber),
	     lat_ms_max: ($f[7] | tonumber), server_cpu_s: $scpu,
	     client_cpu_s: (($u[0] | tonumber) + ($u[1] | tonumber)),
	     ok: true}' >>"$RAW"
}
command -v bc >/dev/null || { apt-get install -y -qq bc >/dev/null 2>&1 || true; }
redis_run 1 1 "$REDIS_N1"
redis_run 50 16 "$REDIS_N50"
kill "$(cat "$TMP/redis.pid")" 2>/dev/null || true
rm -f "$TMP/redis.pid"

# ---- the table ----------------------------------------------------------
"$HERE/table.sh" "$RAW" | tee "$OUT/table.md"
if [ "${PLOT:-1}" != 0 ]; then
	"$HERE/plot-fanout.sh" "$RAW" "$OUT/fanout-latency.png" &&
	    say "plot: $OUT/fanout-latency.png"
fi
say "raw results: $RAW"
