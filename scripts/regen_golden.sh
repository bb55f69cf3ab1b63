#!/usr/bin/env bash
# Rewrites the golden DRAM results (tests/golden/dram/expected/) from the
# current model and prints what changed. Only for an intended change: say in
# the commit why each changed file changed.
#   scripts/regen_golden.sh [BUILD_DIR] [CASE_REGEX...]   (BUILD_DIR: build)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
if (($#)) && [[ -d $1 ]]; then dir=$1; shift; fi
cmake --build "$dir" --target pnmvp >/dev/null
python3 tests/golden/golden_dram.py regen --pnmvp "$dir/pnmvp" "$@"
