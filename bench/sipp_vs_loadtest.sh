#!/usr/bin/env bash
# outdial's load generator vs SIPp's builtin UAC, on loopback, against the
# same kind of callee: SIPp's builtin UAS (`sipp -sn uas`: 180, then 200 OK
# with an SDP answer, expects ACK and BYE, no 100 Trying).
#
# For each rate R in $RATES (N = R * SECONDS_PER_STEP calls, capped at
# MAX_CALLS) it runs BOTH
#   sipp -sn uac 127.0.0.1:$UAS_PORT -r R -m N -d $HOLD_MS ...
#   $OUTDIAL loadtest --target 127.0.0.1:$UAS_PORT --rate R --calls N --json
# each against a freshly started `sipp -sn uas` (started in the background,
# PID recorded, killed by PID after the run), alternating which goes first
# from one rate to the next so that drift (thermal, other load) hits both.
# Both run under /usr/bin/time for user+sys CPU seconds; the UAS's CPU is
# read from /proc/PID/stat.
#
# A run has zero failures when all N calls were answered/successful and
# none failed or was left unfinished.
#
# Output: CSV rows `scenario,step,metric,value` in $OUT (scenario is
# sipp_uac, outdial, uas_vs_sipp_uac or uas_vs_outdial; step rate_R or
# summary) and a human summary on stdout: highest zero-failure rate of each
# tool and CPU seconds per 1000 calls of each at each rate.
#
# outdial's --json output (last JSON object on its stdout) must have:
#   attempted, answered, failed {code|"timeout": count}, cps,
#   setup_ms {p50, p90, p99, max}, retransmissions, cpu_seconds
#
# Env (defaults):
#   OUTDIAL=target/release/outdial   OUTDIAL_ARGS=  (extra loadtest flags)
#   RATES="500 1000 2000 4000 8000 12000 16000"   SECONDS_PER_STEP=5
#   MAX_CALLS=100000   HOLD_MS=0 (SIPp -d; outdial gets no hold flag: pass
#   it in OUTDIAL_ARGS if it has one)
#   UAS_PORT=5060  UAC_PORT=UAS_PORT+1 (SIPp UAC only)  UAS_MP=16500 UAC_MP=16600
#   BUFF_SIZE=4194304   STEP_TIMEOUT=2*SECONDS_PER_STEP+15 (seconds)
#   SIPP=sipp  SIPP_UAS_EXTRA=  SIPP_UAC_EXTRA=
#   OUT=bench/results/sipp_vs_loadtest.csv   KEEP_LOGS=0
set -u -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
OUTDIAL=${OUTDIAL:-$root/target/release/outdial}
OUTDIAL_ARGS=${OUTDIAL_ARGS:-}
RATES=${RATES:-"500 1000 2000 4000 8000 12000 16000"}
SECONDS_PER_STEP=${SECONDS_PER_STEP:-5}
MAX_CALLS=${MAX_CALLS:-100000}
HOLD_MS=${HOLD_MS:-0}
UAS_PORT=${UAS_PORT:-5060}
UAC_PORT=${UAC_PORT:-$((UAS_PORT + 1))}
UAS_MP=${UAS_MP:-16500}
UAC_MP=${UAC_MP:-16600}
BUFF_SIZE=${BUFF_SIZE:-4194304}
STEP_TIMEOUT=${STEP_TIMEOUT:-$((2 * SECONDS_PER_STEP + 15))}
SIPP=${SIPP:-sipp}
SIPP_UAS_EXTRA=${SIPP_UAS_EXTRA:-}
SIPP_UAC_EXTRA=${SIPP_UAC_EXTRA:-}
OUT=${OUT:-$root/bench/results/sipp_vs_loadtest.csv}
KEEP_LOGS=${KEEP_LOGS:-0}

die() { echo "sipp_vs_loadtest.sh: $*" >&2; exit 2; }
log() { echo "[sipp_vs_loadtest] $*" >&2; }

# --- preconditions, before anything is started -------------------------------
if [ ! -e "$OUTDIAL" ]; then
    die "outdial binary not found at $OUTDIAL
  build it first (cargo build --release) or point OUTDIAL=/path/to/outdial"
fi
[ -x "$OUTDIAL" ] || die "$OUTDIAL is not executable"
command -v "$SIPP" >/dev/null 2>&1 || die "$SIPP not found (Debian/Ubuntu: apt-get install sip-tester)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to read outdial's JSON"
for v in SECONDS_PER_STEP MAX_CALLS HOLD_MS UAS_PORT UAC_PORT STEP_TIMEOUT BUFF_SIZE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, got '${!v}'"
done
for r in $RATES; do [[ $r =~ ^[1-9][0-9]*$ ]] || die "RATES: bad rate '$r'"; done

clk_tck=$(getconf CLK_TCK)
work=$(mktemp -d "${TMPDIR:-/tmp}/sipp_vs_loadtest.XXXXXX")
mkdir -p "$(dirname "$OUT")"
echo "scenario,step,metric,value" >"$OUT"

uas_pid=
cleanup() {
    if [ -n "$uas_pid" ] && kill -0 "$uas_pid" 2>/dev/null; then
        kill "$uas_pid" 2>/dev/null; wait "$uas_pid" 2>/dev/null
    fi
    if [ "$KEEP_LOGS" = 1 ]; then log "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

emit() { echo "$1,$2,$3,$4" >>"$OUT"; }
per1k() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0 && c != "NA") printf "%.3f", c * 1000 / n; else print "NA" }'; }
udp_port_busy() { ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; }
proc_cpu() { awk -v t="$clk_tck" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo NA; }
time_cpu() { # /usr/bin/time -f '%U %S %e %M' file -> "cpu_seconds wall_seconds max_rss_mib"
    # a killed child makes time(1) write "Command terminated by signal" first
    awk 'NF >= 4 && $1 ~ /^[0-9.]+$/ { c = $1 + $2; w = $3; r = $4 / 1024; f = 1 }
         END { if (f) printf "%.2f %s %.1f\n", c, w, r; else print "NA NA NA" }' "$1" 2>/dev/null || echo "NA NA NA"
}

# Peak resident set size of a live process, MiB.
proc_rss_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024; f = 1 } END { if (!f) print "NA" }' "/proc/$1/status" 2>/dev/null || echo NA; }

start_uas() { # dir
    udp_port_busy "$UAS_PORT" && die "UDP port $UAS_PORT is in use (set UAS_PORT)"
    # shellcheck disable=SC2086
    "$SIPP" -sn uas -i 127.0.0.1 -ci 127.0.0.1 -p "$UAS_PORT" -mp "$UAS_MP" -buff_size "$BUFF_SIZE" \
        -nostdin -trace_screen -screen_file "$1/uas_screen.log" $SIPP_UAS_EXTRA \
        >"$1/uas_stdout.log" 2>&1 &
    uas_pid=$!
    local i
    for i in $(seq 50); do
        udp_port_busy "$UAS_PORT" && return 0
        kill -0 "$uas_pid" 2>/dev/null || break
        sleep 0.1
    done
    die "sipp UAS did not start on port $UAS_PORT (see $1/uas_stdout.log)"
}
stop_uas() { # sets uas_cpu (CPU seconds) and uas_rss (peak RSS, MiB); kills the UAS by PID
    uas_cpu=$(proc_cpu "$uas_pid")
    uas_rss=$(proc_rss_mb "$uas_pid")
    kill "$uas_pid" 2>/dev/null; wait "$uas_pid" 2>/dev/null
    uas_pid=
}

parse_sipp_stat() { # file calls_requested -> key=value lines
    awk -F';' -v n="$2" '
        function ms(t,   a) { split(t, a, ":"); return ((a[1]*60 + a[2])*60 + a[3])*1000 + a[4]/1000 }
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        $1 == "" { next }
        {
            last = $0
            if (!reached && $col["TotalCallCreated"] + 0 >= n) { reached = 1; rate = $col["CallRate(C)"] }
        }
        END {
            split(last, f, ";")
            printf "attempted=%d\n", f[col["TotalCallCreated"]]
            printf "successful=%d\n", f[col["SuccessfulCall(C)"]]
            printf "failed=%d\n", f[col["FailedCall(C)"]]
            printf "retransmissions=%d\n", f[col["Retransmissions(C)"]]
            printf "setup_ms_avg=%.3f\n", ms(f[col["ResponseTime1(C)"]])
            if (!reached) rate = f[col["CallRate(C)"]]
            printf "achieved_cps=%.1f\n", rate
        }' "$1"
}

# outdial --json -> key=value lines (failed = sum over codes, plus failed_<code>)
parse_outdial_json() { # file
    python3 - "$1" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
obj = None
try:
    obj = json.loads(text)
except ValueError:
    # the last line that parses as a JSON object
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
                break
            except ValueError:
                pass
if not isinstance(obj, dict):
    print("parse_error=1")
    sys.exit(0)
def num(v, default="NA"):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else default
failed = obj.get("failed", {})
if isinstance(failed, dict):
    total = sum(v for v in failed.values() if isinstance(v, (int, float)))
    for code, count in sorted(failed.items()):
        if count:
            print(f"failed_{code}={count}")
else:
    total = num(failed, 0)
print(f"attempted={num(obj.get('attempted'))}")
print(f"answered={num(obj.get('answered'))}")
print(f"failed={total}")
print(f"cps={num(obj.get('cps'))}")
print(f"retransmissions={num(obj.get('retransmissions'))}")
print(f"cpu_seconds_self={num(obj.get('cpu_seconds'))}")
setup = obj.get("setup_ms") or {}
for k in ("p50", "p90", "p99", "max"):
    print(f"setup_ms_{k}={num(setup.get(k)) if isinstance(setup, dict) else 'NA'}")
PY
}

declare -A zero_fail_best=([sipp_uac]=0 [outdial]=0)
declare -A cpu1k=()   # "$tool,$rate" -> CPU s / 1000 calls
declare -A verdict=() # "$tool,$rate" -> OK / FAIL

run_sipp() { # rate n dir
    local rate=$1 n=$2 d=$3 rc cpu wall rss uas_cpu uas_rss step="rate_$1"
    start_uas "$d"
    udp_port_busy "$UAC_PORT" && die "UDP port $UAC_PORT is in use (set UAC_PORT)"
    # shellcheck disable=SC2086
    /usr/bin/time -f '%U %S %e %M' -o "$d/time.txt" \
        "$SIPP" -sn uac 127.0.0.1:"$UAS_PORT" -i 127.0.0.1 -ci 127.0.0.1 -p "$UAC_PORT" -mp "$UAC_MP" \
        -r "$rate" -m "$n" -d "$HOLD_MS" -buff_size "$BUFF_SIZE" \
        -timeout "${STEP_TIMEOUT}s" -nostdin \
        -trace_stat -stf "$d/uac_stat.csv" -fd 100ms \
        -trace_screen -screen_file "$d/uac_screen.log" $SIPP_UAC_EXTRA \
        >"$d/uac_stdout.log" 2>&1
    rc=$?
    stop_uas
    [ -s "$d/uac_stat.csv" ] || die "no stat file from the SIPp UAC at rate $rate (rc $rc; see $d)"
    local -A m=()
    local k v
    while IFS='=' read -r k v; do m[$k]=$v; done < <(parse_sipp_stat "$d/uac_stat.csv" "$n")
    read -r cpu wall rss < <(time_cpu "$d/time.txt")
    local incomplete=$((n - m[successful] - m[failed]))
    emit sipp_uac "$step" target_cps "$rate"
    emit sipp_uac "$step" calls_requested "$n"
    emit sipp_uac "$step" attempted "${m[attempted]}"
    emit sipp_uac "$step" answered "${m[successful]}"
    emit sipp_uac "$step" failed "${m[failed]}"
    emit sipp_uac "$step" incomplete "$incomplete"
    emit sipp_uac "$step" achieved_cps "${m[achieved_cps]}"
    emit sipp_uac "$step" retransmissions "${m[retransmissions]}"
    emit sipp_uac "$step" setup_ms_avg "${m[setup_ms_avg]}"
    emit sipp_uac "$step" exit_status "$rc"
    emit sipp_uac "$step" wall_seconds "$wall"
    emit sipp_uac "$step" cpu_seconds "$cpu"
    emit sipp_uac "$step" cpu_seconds_per_1000_calls "$(per1k "$cpu" "${m[attempted]}")"
    emit sipp_uac "$step" max_rss_mib "$rss"
    emit uas_vs_sipp_uac "$step" cpu_seconds "$uas_cpu"
    emit uas_vs_sipp_uac "$step" max_rss_mib "$uas_rss"
    cpu1k[sipp_uac,$rate]=$(per1k "$cpu" "${m[attempted]}")
    if [ "${m[successful]}" -eq "$n" ] && [ "${m[failed]}" -eq 0 ]; then
        verdict[sipp_uac,$rate]=OK
        [ "$rate" -gt "${zero_fail_best[sipp_uac]}" ] && zero_fail_best[sipp_uac]=$rate
    else
        verdict[sipp_uac,$rate]=FAIL
    fi
    log "  sipp_uac: ${m[successful]}/$n ok, ${m[failed]} failed, $incomplete unfinished, ${m[achieved_cps]} cps, ${cpu}s CPU"
}

run_outdial() { # rate n dir
    local rate=$1 n=$2 d=$3 rc cpu wall rss uas_cpu uas_rss step="rate_$1"
    start_uas "$d"
    # shellcheck disable=SC2086
    /usr/bin/time -f '%U %S %e %M' -o "$d/time.txt" \
        timeout -k 5 "$((STEP_TIMEOUT + 10))" \
        "$OUTDIAL" loadtest --target "127.0.0.1:$UAS_PORT" --rate "$rate" --calls "$n" --json $OUTDIAL_ARGS \
        >"$d/outdial_stdout.json" 2>"$d/outdial_stderr.log" </dev/null
    rc=$?
    stop_uas
    local -A m=()
    local k v
    while IFS='=' read -r k v; do m[$k]=$v; done < <(parse_outdial_json "$d/outdial_stdout.json")
    read -r cpu wall rss < <(time_cpu "$d/time.txt")
    if [ -n "${m[parse_error]:-}" ]; then
        log "  outdial: exit $rc, no JSON object on stdout (see $d/outdial_stdout.json, $d/outdial_stderr.log)"
        emit outdial "$step" exit_status "$rc"
        emit outdial "$step" json_parse_error 1
        verdict[outdial,$rate]=FAIL; cpu1k[outdial,$rate]=NA
        [ "$KEEP_LOGS" = 1 ] || { KEEP_LOGS=1; log "  keeping logs in $work"; }
        return
    fi
    local answered=${m[answered]} failed=${m[failed]} incomplete=NA
    [[ $answered =~ ^[0-9]+$ && $failed =~ ^[0-9]+$ ]] && incomplete=$((n - answered - failed))
    emit outdial "$step" target_cps "$rate"
    emit outdial "$step" calls_requested "$n"
    emit outdial "$step" attempted "${m[attempted]}"
    emit outdial "$step" answered "$answered"
    emit outdial "$step" failed "$failed"
    for k in "${!m[@]}"; do
        [[ $k == failed_* ]] && emit outdial "$step" "$k" "${m[$k]}"
    done
    emit outdial "$step" incomplete "$incomplete"
    emit outdial "$step" achieved_cps "${m[cps]}"
    emit outdial "$step" retransmissions "${m[retransmissions]}"
    for k in p50 p90 p99 max; do emit outdial "$step" "setup_ms_$k" "${m[setup_ms_$k]}"; done
    emit outdial "$step" exit_status "$rc"
    emit outdial "$step" wall_seconds "$wall"
    emit outdial "$step" cpu_seconds "$cpu"
    emit outdial "$step" cpu_seconds_self_reported "${m[cpu_seconds_self]}"
    emit outdial "$step" cpu_seconds_per_1000_calls "$(per1k "$cpu" "${m[attempted]}")"
    emit outdial "$step" max_rss_mib "$rss"
    emit uas_vs_outdial "$step" cpu_seconds "$uas_cpu"
    emit uas_vs_outdial "$step" max_rss_mib "$uas_rss"
    cpu1k[outdial,$rate]=$(per1k "$cpu" "${m[attempted]}")
    if [ "$incomplete" = 0 ] && [ "$failed" = 0 ] && [ "$answered" = "$n" ]; then
        verdict[outdial,$rate]=OK
        [ "$rate" -gt "${zero_fail_best[outdial]}" ] && zero_fail_best[outdial]=$rate
    else
        verdict[outdial,$rate]=FAIL
    fi
    log "  outdial:  $answered/$n answered, $failed failed, $incomplete unfinished, ${m[cps]} cps, ${cpu}s CPU (self-reported ${m[cpu_seconds_self]}), exit $rc"
}

i=0
for rate in $RATES; do
    n=$((rate * SECONDS_PER_STEP))
    [ "$n" -gt "$MAX_CALLS" ] && n=$MAX_CALLS
    if [ $((i % 2)) = 0 ]; then order="sipp outdial"; else order="outdial sipp"; fi
    i=$((i + 1))
    log "rate $rate cps, $n calls each; order: $order"
    for tool in $order; do
        d="$work/rate_${rate}_$tool"; mkdir -p "$d"
        "run_$tool" "$rate" "$n" "$d"
    done
done

emit sipp_uac summary max_zero_failure_cps "${zero_fail_best[sipp_uac]}"
emit outdial summary max_zero_failure_cps "${zero_fail_best[outdial]}"

# --- human summary -------------------------------------------------------------
echo
echo "SIPp builtin UAC vs outdial loadtest, against sipp -sn uas on 127.0.0.1:$UAS_PORT"
echo "($SECONDS_PER_STEP s per step, hold ${HOLD_MS} ms; CPU = user+sys of the caller process)"
echo
printf '%8s | %-24s | %-24s\n' "rate" "sipp_uac" "outdial"
printf '%8s | %-24s | %-24s\n' "(cps)" "result  CPU s/1000 calls" "result  CPU s/1000 calls"
printf -- '---------+--------------------------+--------------------------\n'
for rate in $RATES; do
    printf '%8s | %-6s  %-16s | %-6s  %-16s\n' "$rate" \
        "${verdict[sipp_uac,$rate]:--}" "${cpu1k[sipp_uac,$rate]:--}" \
        "${verdict[outdial,$rate]:--}" "${cpu1k[outdial,$rate]:--}"
done
echo
echo "highest zero-failure rate: sipp_uac ${zero_fail_best[sipp_uac]} cps, outdial ${zero_fail_best[outdial]} cps"
echo "CSV: $OUT"
