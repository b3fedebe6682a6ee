#!/usr/bin/env bash
# The test command (README): installs the system packages the end-to-end tests drive when
# they are missing (needs root; otherwise the tests fail naming the package), then runs
# formatting, lints and every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

# SIPp (sip-tester) drives the SIP tests; PostgreSQL (postgresql) backs the cluster tests,
# which start their own throwaway server from its binaries; espeak-ng and sox (sox) speak
# and shape the greetings and hellos of the answering-machine tests.
missing=()
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v sox >/dev/null 2>&1 || missing+=(sox)
# Kamailio is the registrar and TLS edge of the trunk tests; openssl makes their certificates.
command -v kamailio >/dev/null 2>&1 || missing+=(kamailio)
ls /usr/lib/*/kamailio/modules/tls.so >/dev/null 2>&1 || missing+=(kamailio-tls-modules)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# Headless Chromium, driven through chromedriver, runs the browser pages' tests.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
