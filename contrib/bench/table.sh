#!/bin/bash
# table.sh RAW.jsonl: the side-by-side Markdown table of compare-nats.sh.
# Each row is one workload; each cell is the figure, then the CPU seconds
# used by the server and by the load generator during the measured phase.
# The ratio is logwired --sync always over the peer named in the row
# (higher is better for rates, lower for latencies, times and bytes).
set -euo pipefail
jq -rs '
def rows: [
  {l: "publish 1 conn x window 1: msg/s", s: "publish", c: "--connections 1 --window 1 ", m: "msgs_per_s", peer: "redis-always", pc: "XADD 1 clients x pipeline 1"},
  {l: "publish 1 conn x window 1: ack p50 ms", s: "publish", c: "--connections 1 --window 1 ", m: "lat_ms_p50", peer: "redis-always", pc: "XADD 1 clients x pipeline 1", low: true},
  {l: "publish 1 conn x window 64: msg/s", s: "publish", c: "--connections 1 --window 64 ", m: "msgs_per_s", peer: "nats"},
  {l: "publish 1 conn x window 64: ack p99 ms", s: "publish", c: "--connections 1 --window 64 ", m: "lat_ms_p99", peer: "nats", low: true},
  {l: "publish 50 conns x window 16: msg/s", s: "publish", c: "--connections 50 --window 16 --messages", m: "msgs_per_s", peer: "redis-always", pc: "XADD 50 clients x pipeline 16"},
  {l: "publish 50 x 16 over 1000 channels: msg/s", s: "publish", c: "--channels 1000", m: "msgs_per_s", peer: "nats"},
  {l: "fanout 10 subs at 1000 msg/s: p99 ms", s: "fanout", c: "--subscribers 10 --rate 1000", m: "lat_ms_p99", peer: "nats", low: true},
  {l: "fanout 100 subs at 1000 msg/s: p50 ms", s: "fanout", c: "--subscribers 100 --rate 1000", m: "lat_ms_p50", peer: "nats", low: true},
  {l: "fanout 100 subs at 1000 msg/s: p99 ms", s: "fanout", c: "--subscribers 100 --rate 1000", m: "lat_ms_p99", peer: "nats", low: true},
  {l: "fanout 1000 subs at 1000 msg/s: p99 ms", s: "fanout", c: "--subscribers 1000 --rate 1000", m: "lat_ms_p99", peer: "nats", low: true},
  {l: "fanout 1000 subs at 1000 msg/s: deliveries/s", s: "fanout", c: "--subscribers 1000 --rate 1000", m: "deliveries_per_s", peer: "nats"},
  {l: "fanout 1000 subs, max rate: deliveries/s", s: "fanout", c: "--subscribers 1000 --rate max", m: "deliveries_per_s", peer: "nats"},
  {l: "replay, 1 client: msg/s", s: "replay", c: "replay", m: "msgs_per_s", peer: "nats"},
  {l: "resume storm after restart: s until all caught up", s: "resume", c: "resume", m: "all_caught_up_s", peer: "nats", low: true},
  {l: "resume storm: resumed clients/s", s: "resume", c: "resume", m: "resumed_per_s", peer: "nats"},
  {l: "idle subscribed connections: server bytes/conn", s: "connections", c: "connections", m: "bytes_per_conn", peer: "nats", low: true}
];
. as $all |
def find($run; $s; $c): [$all[] | select(.run == $run and .scenario == $s and ((.case // "") | contains($c)))] | first;
def num: if . == null then "-" elif (. | type) == "number" then (if . >= 100 then (. | round | tostring) else ((. * 1000 | round) / 1000 | tostring) end) else tostring end;
def cell($r; $m): if $r == null then "-" elif ($r.ok == false) then "failed" else
  ($r[$m] | num) + (if $r.server_cpu_s != null and $r.server_cpu_s >= 0 then " (\($r.server_cpu_s | . * 100 | round / 100)/\($r.client_cpu_s | . * 100 | round / 100))" else "" end) end;
"| workload | logwired always | logwired none | NATS JetStream / core | Redis AOF always | always ÷ peer |",
"|---|---|---|---|---|---|",
(rows[] as $w |
  (find("logwired-always"; $w.s; $w.c)) as $a |
  (find("logwired-none"; $w.s; $w.c)) as $n |
  (find("nats"; $w.s; $w.c)) as $t |
  (if $w.pc then find("redis-always"; "publish"; $w.pc) else null end) as $r |
  (if $w.peer == "redis-always" then $r else $t end) as $p |
  (if $a == null or $p == null or $a[$w.m] == null or $p[$w.m] == null or $p[$w.m] == 0 or $a.ok == false or $p.ok == false then "-"
   else ($a[$w.m] / $p[$w.m] | . * 100 | round / 100 | tostring) + "× " + (if $w.peer == "redis-always" then "Redis" else "NATS" end) end) as $ratio |
  "| \($w.l) | \(cell($a; $w.m)) | \(cell($n; $w.m)) | \(cell($t; $w.m)) | \(cell($r; $w.m)) | \($ratio) |"
)
' "$1"
echo
echo "Cells: value (server CPU s / load generator CPU s in the measured phase)."
