#!/bin/bash
# Server CPU time per request under wrk: steadier than req/s when the load
# generator is near its ceiling (Deno.serve, Bun.serve on a 2-core VM).
#
#   bench/cpu_per_request.sh PORT COMMAND...     e.g.
#   bench/cpu_per_request.sh 9100 node_modules/.bin/deno run -A bench/servers/sluice_server.ts
#
# Starts COMMAND with PORT set, pinned to CPU 0; warms up with wrk for 2 s, then
# runs `wrk -t1 -c64 -d5s` pinned to CPU 1 and prints the server's (process
# tree's) user+system CPU microseconds per request and the req/s. PATH_=json
# measures /json. Needs wrk, curl, taskset.
set -u
PORT=$1
shift
PORT=$PORT taskset -c 0 "$@" > /tmp/cpu_per_request_server.log 2>&1 &
PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/${PATH_:-}" && break; sleep 0.2; done
taskset -c 1 wrk -t1 -c64 -d2s "http://127.0.0.1:$PORT/${PATH_:-}" > /dev/null
tree() { echo "$1"; for child in $(ps -o pid= --ppid "$1"); do tree "$child"; done; }
PIDS=$(tree $PID)
cpu() {
  local total=0
  for pid in $PIDS; do
    read -r utime stime < <(cut -d' ' -f14,15 "/proc/$pid/stat" 2>/dev/null || echo "0 0")
    total=$((total + utime + stime))
  done
  echo $total
}
before=$(cpu)
out=$(taskset -c 1 wrk -t1 -c64 -d5s "http://127.0.0.1:$PORT/${PATH_:-}")
after=$(cpu)
requests=$(echo "$out" | awk '/requests in/ {print $1}')
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
python3 -c "print(f'{($after - $before) / $(getconf CLK_TCK) * 1e6 / $requests:.2f} us/req  {float(\"$rps\"):.0f} req/s')"
kill $PID
wait $PID 2> /dev/null
