#!/usr/bin/env bash
# The main job: set up, build, and run pnmvp on the built-in default platform
# and workload. Extra arguments go to pnmvp (default: `pnmvp run`, the decode
# comparison of the four kernels on the reference device).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build
if (($#)); then exec ./build/pnmvp "$@"; else exec ./build/pnmvp run; fi
