#!/usr/bin/env bash
# Validate every UAS scenario in tests/sipp/ against a SIPp UAC on loopback
# that behaves like outdial (INVITE with a PCMU/PCMA offer, ACK, CANCEL, BYE,
# digest auth). Each pair runs -m $CALLS -r $RATE on its own ports, with a
# global -timeout and -timeout_error; both SIPp processes must exit with the
# expected status (0, or 1 for the UAS of the wrong-password case).
#
# Usage: tests/sipp/check/run_all.sh [name-filter]
# Env:   SIPP (default sipp), CALLS (3), RATE (10), TIMEOUT (20s),
#        BASE_PORT (5090), KEEP_LOGS=1 to keep the log directory,
#        TRACE_MSG=1 to also log every SIP message (-trace_msg).
# Exit:  0 if every pair passed, 1 otherwise.
set -u

here=$(cd "$(dirname "$0")" && pwd)
scen=$(cd "$here/.." && pwd)
SIPP=${SIPP:-sipp}
CALLS=${CALLS:-3}
RATE=${RATE:-10}
TIMEOUT=${TIMEOUT:-20s}
BASE_PORT=${BASE_PORT:-5090}
filter=${1:-}

command -v "$SIPP" >/dev/null 2>&1 || { echo "run_all.sh: $SIPP not found" >&2; exit 2; }

logdir=$(mktemp -d "${TMPDIR:-/tmp}/outdial-sipp-check.XXXXXX")
uas_pid=
cleanup() {
    # Only the UAS we started, by PID.
    if [ -n "$uas_pid" ] && kill -0 "$uas_pid" 2>/dev/null; then
        kill "$uas_pid" 2>/dev/null
        wait "$uas_pid" 2>/dev/null
    fi
    if [ "${KEEP_LOGS:-0}" = 1 ] || [ "$failures" -gt 0 ]; then
        echo "logs kept in $logdir"
    else
        rm -rf "$logdir"
    fi
}
failures=0
trap cleanup EXIT
trap 'exit 130' INT TERM

# name | UAS scenario (file or -sn builtin) | extra UAS flags | UAC scenario | expected UAS rc | expected UAC rc
pairs=(
  "busy|uas_busy.xml||uac_for_busy.xml|0|0"
  "ring_no_answer|uas_ring_no_answer.xml||uac_for_ring_no_answer.xml|0|0"
  "503_retry_after|uas_503_retry_after.xml||uac_for_503_retry_after.xml|0|0"
  "401_challenge|uas_401_challenge.xml||uac_for_401_challenge.xml|0|0"
  "401_challenge_badpw|uas_401_challenge.xml||uac_for_401_challenge_badpw.xml|1|0"
  "407_challenge|uas_407_challenge.xml||uac_for_407_challenge.xml|0|0"
  "183_early_media|uas_183_early_media.xml||uac_for_183_early_media.xml|0|0"
  "far_end_bye|uas_far_end_bye.xml||uac_for_far_end_bye.xml|0|0"
  "drop_first_invite|uas_drop_first_invite.xml|-nr|uac_for_drop_first_invite.xml|0|0"
  "answer_media|uas_answer_media.xml||uac_for_answer_media.xml|0|0"
  "builtin_uas|-sn uas||uac_for_builtin_uas.xml|0|0"
)

i=0
for p in "${pairs[@]}"; do
    IFS='|' read -r name uas_scn uas_extra uac_scn want_uas want_uac <<<"$p"
    uas_port=$((BASE_PORT + 2 * i))
    uac_port=$((uas_port + 1))
    uas_mp=$((16000 + 20 * i))
    uac_mp=$((uas_mp + 10))
    i=$((i + 1))
    if [ -n "$filter" ] && [[ $name != *$filter* ]]; then continue; fi

    if [[ $uas_scn == -sn* ]]; then
        uas_sf=($uas_scn)
    else
        uas_sf=(-sf "$scen/$uas_scn")
    fi
    d="$logdir/$name"; mkdir -p "$d"
    uas_msg=(); uac_msg=()
    if [ "${TRACE_MSG:-0}" = 1 ]; then
        uas_msg=(-trace_msg -message_file "$d/uas_messages.log")
        uac_msg=(-trace_msg -message_file "$d/uac_messages.log")
    fi

    # shellcheck disable=SC2086
    "$SIPP" "${uas_sf[@]}" $uas_extra -i 127.0.0.1 -ci 127.0.0.1 -p "$uas_port" -mp "$uas_mp" \
        -m "$CALLS" -timeout "$TIMEOUT" -timeout_error -nostdin \
        -trace_err -error_file "$d/uas_errors.log" \
        -trace_screen -screen_file "$d/uas_screen.log" "${uas_msg[@]}" \
        >"$d/uas_stdout.log" 2>&1 &
    uas_pid=$!
    sleep 0.3

    "$SIPP" -sf "$here/$uac_scn" 127.0.0.1:"$uas_port" -i 127.0.0.1 -ci 127.0.0.1 -p "$uac_port" -mp "$uac_mp" \
        -m "$CALLS" -r "$RATE" -timeout "$TIMEOUT" -timeout_error -nostdin \
        -trace_err -error_file "$d/uac_errors.log" \
        -trace_screen -screen_file "$d/uac_screen.log" "${uac_msg[@]}" \
        >"$d/uac_stdout.log" 2>&1
    uac_rc=$?
    wait "$uas_pid"
    uas_rc=$?
    uas_pid=

    if [ "$uas_rc" = "$want_uas" ] && [ "$uac_rc" = "$want_uac" ]; then
        printf 'PASS  %-22s uas rc=%s uac rc=%s\n' "$name" "$uas_rc" "$uac_rc"
    else
        printf 'FAIL  %-22s uas rc=%s (want %s) uac rc=%s (want %s)  logs: %s\n' \
            "$name" "$uas_rc" "$want_uas" "$uac_rc" "$want_uac" "$d"
        failures=$((failures + 1))
    fi
done

if [ "$failures" -gt 0 ]; then
    echo "$failures pair(s) failed"
    exit 1
fi
echo "all pairs passed"
exit 0
