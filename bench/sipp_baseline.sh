#!/usr/bin/env bash
# SIPp-vs-SIPp baseline on loopback: how many calls per second SIPp's builtin
# UAC can place against SIPp's builtin UAS on this machine, with zero failed
# calls, and what it costs in CPU.
#
# For each rate R in $RATES a fresh `sipp -sn uas` is started in the
# background (PID recorded, killed by PID afterwards), then
#   sipp -sn uac 127.0.0.1:$UAS_PORT -r R -m N -d $HOLD_MS ...
# places N = R * SECONDS_PER_STEP calls (capped at MAX_CALLS) and exits.
# The UAC runs under /usr/bin/time (user+sys CPU seconds); the UAS's CPU is
# read from /proc/PID/stat before it is killed. Call counts come from the
# UAC's -trace_stat file (-fd 100ms).
#
# A step has zero failures when every one of the N calls succeeded (no
# failed call, none left unfinished when the step's -timeout hit).
#
# Output: CSV rows `scenario,step,metric,value` (e.g.
# `sipp_uac,rate_2000,failed,0`) on stdout and in $OUT, summary rows with
# step "summary"; progress on stderr.
#
# Env (defaults):
#   RATES="500 1000 2000 4000 8000 12000 16000"  target calls per second, in order
#   SECONDS_PER_STEP=5    N = rate * SECONDS_PER_STEP calls per step
#   MAX_CALLS=100000      upper bound on N
#   HOLD_MS=0             call hold time (-d; the builtin uac's <pause/>)
#   UAS_PORT=5060  UAC_PORT=UAS_PORT+1  UAS_MP=16500  UAC_MP=16600 (RTP ports)
#   BUFF_SIZE=4194304     -buff_size for both (4 MiB socket buffers)
#   STEP_TIMEOUT=2*SECONDS_PER_STEP+15  seconds; the UAC's -timeout
#   STOP_ON_FAILURE=0     1: stop stepping after the first step with failures
#   SIPP=sipp  SIPP_UAS_EXTRA=  SIPP_UAC_EXTRA=  (extra flags, word-split)
#   OUT=bench/results/sipp_baseline.csv   KEEP_LOGS=0
set -u -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
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
STOP_ON_FAILURE=${STOP_ON_FAILURE:-0}
SIPP=${SIPP:-sipp}
SIPP_UAS_EXTRA=${SIPP_UAS_EXTRA:-}
SIPP_UAC_EXTRA=${SIPP_UAC_EXTRA:-}
OUT=${OUT:-$root/bench/results/sipp_baseline.csv}
KEEP_LOGS=${KEEP_LOGS:-0}

die() { echo "sipp_baseline.sh: $*" >&2; exit 2; }
log() { echo "[sipp_baseline] $*" >&2; }

command -v "$SIPP" >/dev/null 2>&1 || die "$SIPP not found (Debian/Ubuntu: apt-get install sip-tester)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
for v in SECONDS_PER_STEP MAX_CALLS HOLD_MS UAS_PORT UAC_PORT STEP_TIMEOUT BUFF_SIZE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, got '${!v}'"
done
for r in $RATES; do [[ $r =~ ^[1-9][0-9]*$ ]] || die "RATES: bad rate '$r'"; done

clk_tck=$(getconf CLK_TCK)
work=$(mktemp -d "${TMPDIR:-/tmp}/sipp_baseline.XXXXXX")
mkdir -p "$(dirname "$OUT")"
: >"$OUT"

uas_pid=
cleanup() {
    if [ -n "$uas_pid" ] && kill -0 "$uas_pid" 2>/dev/null; then
        kill "$uas_pid" 2>/dev/null; wait "$uas_pid" 2>/dev/null
    fi
    if [ "$KEEP_LOGS" = 1 ]; then log "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

emit() { # scenario step metric value
    echo "$1,$2,$3,$4" | tee -a "$OUT"
}
echo "scenario,step,metric,value" | tee -a "$OUT"

udp_port_busy() { ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; }

# CPU seconds (user+sys) of a live process, from /proc/PID/stat.
proc_cpu() {
    awk -v t="$clk_tck" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo NA
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

# Reads a SIPp -trace_stat file; prints "key=value" lines:
# attempted successful failed retrans setup_ms achieved_cps + failure causes.
parse_stat() { # file calls_requested
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
            printf "failed_max_udp_retrans=%d\n", f[col["FailedMaxUDPRetrans(C)"]]
            printf "failed_unexpected_msg=%d\n", f[col["FailedUnexpectedMessage(C)"]]
            printf "failed_timeout_on_recv=%d\n", f[col["FailedTimeoutOnRecv(C)"]]
            printf "failed_cannot_send=%d\n", f[col["FailedCannotSendMessage(C)"]]
            printf "dead_call_msgs=%d\n", f[col["DeadCallMsgs(C)"]]
            # Creation rate up to the N-th call (or over the whole run if
            # N was never reached).
            if (!reached) rate = f[col["CallRate(C)"]]
            printf "achieved_cps=%.1f\n", rate
        }' "$1"
}

time_cpu() { # /usr/bin/time -f '%U %S %e %M' file -> "cpu_seconds wall_seconds max_rss_mib"
    # a killed child makes time(1) write "Command terminated by signal" first
    awk 'NF >= 4 && $1 ~ /^[0-9.]+$/ { c = $1 + $2; w = $3; r = $4 / 1024; f = 1 }
         END { if (f) printf "%.2f %s %.1f\n", c, w, r; else print "NA NA NA" }' "$1" 2>/dev/null || echo "NA NA NA"
}
per1k() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0 && c != "NA") printf "%.3f", c * 1000 / n; else print "NA" }'; }

best=0; best_sustained=0
for rate in $RATES; do
    n=$((rate * SECONDS_PER_STEP))
    [ "$n" -gt "$MAX_CALLS" ] && n=$MAX_CALLS
    d="$work/rate_$rate"; mkdir -p "$d"
    log "rate $rate cps: $n calls (hold ${HOLD_MS} ms, timeout ${STEP_TIMEOUT}s)"

    start_uas "$d"
    udp_port_busy "$UAC_PORT" && die "UDP port $UAC_PORT is in use (set UAC_PORT)"
    # shellcheck disable=SC2086
    /usr/bin/time -f '%U %S %e %M' -o "$d/uac_time.txt" \
        "$SIPP" -sn uac 127.0.0.1:"$UAS_PORT" -i 127.0.0.1 -ci 127.0.0.1 -p "$UAC_PORT" -mp "$UAC_MP" \
        -r "$rate" -m "$n" -d "$HOLD_MS" -buff_size "$BUFF_SIZE" \
        -timeout "${STEP_TIMEOUT}s" -nostdin \
        -trace_stat -stf "$d/uac_stat.csv" -fd 100ms \
        -trace_screen -screen_file "$d/uac_screen.log" $SIPP_UAC_EXTRA \
        >"$d/uac_stdout.log" 2>&1
    uac_rc=$?
    stop_uas

    [ -s "$d/uac_stat.csv" ] || die "no stat file from the UAC at rate $rate (rc $uac_rc; see $d)"
    declare -A m=()
    while IFS='=' read -r k v; do m[$k]=$v; done < <(parse_stat "$d/uac_stat.csv" "$n")
    read -r uac_cpu wall uac_rss < <(time_cpu "$d/uac_time.txt")
    incomplete=$((n - m[successful] - m[failed]))

    step="rate_$rate"
    emit sipp_uac "$step" target_cps "$rate"
    emit sipp_uac "$step" calls_requested "$n"
    emit sipp_uac "$step" attempted "${m[attempted]}"
    emit sipp_uac "$step" successful "${m[successful]}"
    emit sipp_uac "$step" failed "${m[failed]}"
    emit sipp_uac "$step" incomplete "$incomplete"
    emit sipp_uac "$step" achieved_cps "${m[achieved_cps]}"
    emit sipp_uac "$step" retransmissions "${m[retransmissions]}"
    emit sipp_uac "$step" setup_ms_avg "${m[setup_ms_avg]}"
    for k in failed_max_udp_retrans failed_unexpected_msg failed_timeout_on_recv failed_cannot_send dead_call_msgs; do
        [ "${m[$k]}" != 0 ] && emit sipp_uac "$step" "$k" "${m[$k]}"
    done
    emit sipp_uac "$step" exit_status "$uac_rc"
    emit sipp_uac "$step" wall_seconds "$wall"
    emit sipp_uac "$step" cpu_seconds "$uac_cpu"
    emit sipp_uac "$step" cpu_seconds_per_1000_calls "$(per1k "$uac_cpu" "${m[attempted]}")"
    emit sipp_uac "$step" max_rss_mib "$uac_rss"
    emit sipp_uas "$step" cpu_seconds "$uas_cpu"
    emit sipp_uas "$step" cpu_seconds_per_1000_calls "$(per1k "$uas_cpu" "${m[attempted]}")"
    emit sipp_uas "$step" max_rss_mib "$uas_rss"

    if [ "${m[successful]}" -eq "$n" ] && [ "${m[failed]}" -eq 0 ]; then
        [ "$rate" -gt "$best" ] && best=$rate
        if awk -v a="${m[achieved_cps]}" -v r="$rate" 'BEGIN { exit !(a >= 0.95 * r) }'; then
            [ "$rate" -gt "$best_sustained" ] && best_sustained=$rate
        fi
        log "rate $rate: OK, ${m[successful]}/$n calls, ${m[achieved_cps]} cps achieved, UAC ${uac_cpu}s CPU"
    else
        log "rate $rate: FAILURES: ${m[successful]}/$n successful, ${m[failed]} failed, $incomplete unfinished"
        [ "$STOP_ON_FAILURE" = 1 ] && break
    fi
    unset m
done

emit sipp_uac summary max_zero_failure_cps "$best"
emit sipp_uac summary max_zero_failure_sustained_cps "$best_sustained"
log "highest rate with zero failed calls: $best cps (achieving >=95% of target: $best_sustained cps)"
log "results in $OUT"
