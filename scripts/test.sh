#!/usr/bin/env bash
# The whole test suite: set up, build (Release), run every test; then the same
# suite built with AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)
bash scripts/build.sh build
(cd build && ctest --output-on-failure -j"$jobs")
bash scripts/build.sh build-asan -DPNM_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
# use_stacks=0: LeakSanitizer's exit-time scan can follow a stale pointer to
# a SystemC coroutine stack that is already unmapped and crash (seen in ~5% of
# runs of the host/device tests). Not scanning thread stacks can only add leak
# reports (pointers held only on a stack), never hide one.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=use_stacks=0 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs")
