#!/usr/bin/env bash
# The test command (README): installs the system packages the end-to-end tests drive when
# they are missing (needs root; otherwise the tests fail naming the package), then runs
# formatting, lints and every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v sipp >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq sip-tester >/dev/null || { apt-get update -qq && apt-get install -y -qq sip-tester >/dev/null; }
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
