#!/bin/bash
# plot-fanout.sh RAW.jsonl OUT.png: fan-out publish-to-deliver latency
# percentiles (p50, p99, p99.9) against the number of subscribers, at
# 1000 msg/s, for logwired --sync always and NATS core, with gnuplot.
set -euo pipefail
RAW=$1 PNG=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for run in logwired-always nats; do
	jq -r --arg run "$run" 'select(.run == $run and .scenario == "fanout"
	    and .rate == 1000 and .ok == true) |
	    "\(.subscribers) \(.lat_ms_p50) \(.lat_ms_p99) \(.lat_ms_p999)"' \
	    "$RAW" | sort -n >"$TMP/$run.dat"
done
gnuplot <<GP
set terminal pngcairo size 900,560 font ",11"
set output "$PNG"
set title "Fan-out latency at 1000 msg/s, 100-byte messages, one channel (loopback)"
set xlabel "subscribers"
set ylabel "publish-to-deliver latency (ms)"
set logscale xy
set xrange [7:1500]
set grid
set key top left
plot "$TMP/logwired-always.dat" using 1:2 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "logwired --sync always p50", \
     "$TMP/logwired-always.dat" using 1:3 with linespoints lw 2 pt 5 lc rgb "#1f77b4" dt 2 title "logwired p99", \
     "$TMP/logwired-always.dat" using 1:4 with linespoints lw 1 pt 9 lc rgb "#1f77b4" dt 3 title "logwired p99.9", \
     "$TMP/nats.dat" using 1:2 with linespoints lw 2 pt 7 lc rgb "#d62728" title "NATS core p50", \
     "$TMP/nats.dat" using 1:3 with linespoints lw 2 pt 5 lc rgb "#d62728" dt 2 title "NATS core p99", \
     "$TMP/nats.dat" using 1:4 with linespoints lw 1 pt 9 lc rgb "#d62728" dt 3 title "NATS core p99.9"
GP
