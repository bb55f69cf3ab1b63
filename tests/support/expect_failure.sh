#!/usr/bin/env bash
# expect_failure.sh REGEX CMD [ARGS...]: passes when CMD exits non-zero (and
# does not crash) and its output matches REGEX. For bad-input CLI tests.
set -u
regex=$1
shift
out=$("$@" 2>&1)
rc=$?
if ((rc == 0)); then echo "expected failure, got exit 0; output:"; echo "$out"; exit 1; fi
if ((rc >= 128)); then echo "crashed with signal $((rc - 128)); output:"; echo "$out"; exit 1; fi
if ! grep -Eq -- "$regex" <<<"$out"; then echo "exit $rc but output does not match '$regex':"; echo "$out"; exit 1; fi
echo "ok: exit $rc, message: $(grep -E -m1 -- "$regex" <<<"$out")"
