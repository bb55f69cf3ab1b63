#!/usr/bin/env bash
# guard_case.sh CASE PNMVP SOURCE_DIR: one case of the output guard
# (models/common/output_guard.h; issue 17 item 1). Each case runs pnmvp on
# copies of shipped inputs in a private temp folder and checks that an
# output aimed at an input is refused (exit 2, a message naming the flag and
# the input) and leaves every input byte-identical. Prints "ok" on success.
set -u
case_name=$1
pnmvp=$2
src=$3
d=$(mktemp -d "${TMPDIR:-/tmp}/pnmvp-guard.XXXXXX")
trap 'rm -rf "$d"' EXIT
export XDG_CACHE_HOME=$d/cache
# A platform in a folder of its own: pnm-ref.json and the files it includes.
cp "$src/platforms/pnm-ref.json" "$d/pr.json"
cp -r "$src/platforms/memspec" "$src/platforms/engine" "$d/"
cp "$src/platforms/models/tiny.json" "$d/m.json" 2>/dev/null || true
cp -r "$d" "$d.orig" && trap 'rm -rf "$d" "$d.orig"' EXIT
run_small=(run --model tiny --kernel pnm-dense --context 64)

fail() { echo "FAIL: $*"; exit 1; }
# refused REGEX FILE CMD...: CMD exits 2, its output matches REGEX, FILE is unchanged.
refused() {
  local regex=$1 file=$2
  shift 2
  local before
  before=$(sha256sum <"$file")
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  [[ $rc -eq 2 ]] || fail "expected exit 2, got $rc: $out"
  grep -Eq -- "$regex" <<<"$out" || fail "output does not match '$regex': $out"
  [[ $(sha256sum <"$file") == "$before" ]] || fail "$file was changed"
  echo "refused as expected: $(grep -E -m1 -- "$regex" <<<"$out")"
}
# npy FILE SHAPE...: a float32 .npy of that shape, values 0.01 * i.
npy() {
  python3 - "$@" <<'PY'
import struct, sys
path, shape = sys.argv[1], [int(x) for x in sys.argv[2:]]
n = 1
for s in shape: n *= s
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
hdr += " " * (64 - (10 + len(hdr) + 1) % 64) + "\n"
with open(path, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
    f.write(struct.pack("<%df" % n, *[0.01 * (i % 97) for i in range(n)]))
PY
}

case $case_name in
run_report_is_platform)
  refused "--report .*pr\.json is the platform file given with --platform" "$d/pr.json" \
    "$pnmvp" "${run_small[@]}" --platform "$d/pr.json" --report "$d/pr.json" ;;
run_report_is_platform_force)
  refused "--report .*pr\.json is the platform file given with --platform" "$d/pr.json" \
    "$pnmvp" "${run_small[@]}" --platform "$d/pr.json" --report "$d/pr.json" --force ;;
run_report_via_symlink)
  ln -s pr.json "$d/link.json"
  refused "--report .*link\.json is the platform file given with --platform" "$d/pr.json" \
    "$pnmvp" "${run_small[@]}" --platform "$d/pr.json" --report "$d/link.json" --force ;;
run_report_via_hard_link)
  ln "$d/pr.json" "$d/hard.json"
  refused "--report .*hard\.json is the platform file given with --platform" "$d/pr.json" \
    "$pnmvp" "${run_small[@]}" --platform "$d/pr.json" --report "$d/hard.json" --force ;;
run_report_via_dotdot)
  mkdir "$d/sub"
  refused "--report .*sub/\.\./pr\.json is the platform file given with --platform" "$d/pr.json" \
    "$pnmvp" "${run_small[@]}" --platform "$d/pr.json" --report "$d/sub/../pr.json" --force ;;
run_stats_is_included_memspec)
  f=$(ls "$d"/memspec/JEDEC_DDR5-4800AN_16Gb_x8.json)
  refused "--stats .*JEDEC_DDR5-4800AN_16Gb_x8\.json is .*config file" "$f" \
    "$pnmvp" "${run_small[@]}" --platform "$d/pr.json" --stats "$f" --force ;;
run_report_is_engine)
  refused "--report .*engine_default\.json is .*config file" "$d/engine/engine_default.json" \
    "$pnmvp" "${run_small[@]}" --platform "$d/pr.json" --report "$d/engine/engine_default.json" --force ;;
run_report_is_model)
  [[ -f $d/m.json ]] || fail "no tiny model file to copy"
  refused "--report .*m\.json is the model file given with --model" "$d/m.json" \
    "$pnmvp" run --model "$d/m.json" --kernel pnm-dense --context 64 --report "$d/m.json" --force ;;
run_trace_is_platform_force)
  refused "--trace .*pr\.json is the platform file given with --platform" "$d/pr.json" \
    "$pnmvp" "${run_small[@]}" --platform "$d/pr.json" --trace "$d/pr.json" --force ;;
mlc_report_is_platform)
  refused "--report .*pr\.json is the platform file given with --platform" "$d/pr.json" \
    "$pnmvp" mlc --platform "$d/pr.json" --report "$d/pr.json" ;;
mlc_report_is_platform_force)
  refused "--report .*pr\.json is the platform file given with --platform" "$d/pr.json" \
    "$pnmvp" mlc --platform "$d/pr.json" --report "$d/pr.json" --force ;;
dram_command_trace_is_platform)
  refused "--command-trace .*pr\.json is the platform file given with --platform" "$d/pr.json" \
    "$pnmvp" dram --platform "$d/pr.json" --pattern seq --requests 10 --command-trace "$d/pr.json" --force ;;
attend_out_is_k)
  npy "$d/q.npy" 16 && npy "$d/k.npy" 8 16 && npy "$d/v.npy" 8 16
  refused "--out .*k\.npy is the K file given with --k" "$d/k.npy" \
    "$pnmvp" attend --q "$d/q.npy" --k "$d/k.npy" --v "$d/v.npy" --out "$d/k.npy" --force ;;
serve_report_is_workload)
  cp "$src/platforms/workloads/mooncake_conversation_trace.jsonl" "$d/w.jsonl"
  refused "--report .*w\.jsonl is the request trace given with --workload" "$d/w.jsonl" \
    "$pnmvp" serve --model tiny --policy hbm --requests 3 --too-long cap --workload "$d/w.jsonl" --report "$d/w.jsonl" --force ;;
serve_trace_is_model)
  refused "--trace .*m\.json is the model file given with --model" "$d/m.json" \
    "$pnmvp" serve --model "$d/m.json" --policy hbm --requests 3 --too-long cap --trace "$d/m.json" --force ;;
serve_requests_csv_is_platform_of_system)
  # An included file of the system (its device file) is an input too.
  cp "$src/platforms/pnm-ref-system.json" "$d/sys.json"
  cp "$src/platforms/pnm-ref.json" "$d/pnm-ref.json"
  refused "--requests-csv .*pnm-ref\.json is an input of this run \(the config file" "$d/pnm-ref.json" \
    "$pnmvp" serve --system "$d/sys.json" --model tiny --policy hbm --requests 3 --too-long cap \
    --requests-csv "$d/pnm-ref.json" --force ;;
calibrate_out_is_model)
  refused "--out .*m\.json is the model file given with --model" "$d/m.json" \
    "$pnmvp" calibrate --model "$d/m.json" --batch 1,2 --context 16,32 --out "$d/m.json" --force ;;
sweep_summary_is_input)
  # The sweep's own summary.csv path is the request trace it reads: refused with --force.
  mkdir -p "$d/sw"
  cp "$src/platforms/workloads/mooncake_conversation_trace.jsonl" "$d/sw/summary.csv"
  refused "--out .*summary\.csv is the request trace given with --workload" "$d/sw/summary.csv" \
    "$pnmvp" sweep --serve --models tiny --policies hbm --requests 3 --too-long cap \
    --workload "$d/sw/summary.csv" --out "$d/sw" --force ;;
output_directory_missing_fails_at_once)
  # The default run (Llama-3.1-8B, 32K context, four kernels) takes minutes;
  # a --report into a missing folder must fail before it starts.
  start=$SECONDS
  refused "--report .*no_such_dir/r\.json: the folder .*no_such_dir.* does not exist" "$d/pr.json" \
    "$pnmvp" run --platform "$d/pr.json" --report "$d/no_such_dir/r.json"
  ((SECONDS - start < 20)) || fail "took $((SECONDS - start)) s: the run started before the check" ;;
force_refuses_a_file_pnmvp_did_not_write)
  echo mine >"$d/notes.json"
  refused "--report .*notes\.json exists and is not an output of pnmvp" "$d/notes.json" \
    "$pnmvp" dram --pattern seq --requests 10 --report "$d/notes.json" --force
  echo '{"schema": "pnmvp.system.v1"}' >"$d/sys.json"
  refused "--stats .*sys\.json exists and is not an output of pnmvp" "$d/sys.json" \
    "$pnmvp" dram --pattern seq --requests 10 --stats "$d/sys.json" --force ;;
force_replaces_outputs_pnmvp_wrote)
  "$pnmvp" "${run_small[@]}" --platform "$d/pr.json" --report "$d/r.json" --trace "$d/t.json" --stats "$d/s.json" --quiet ||
    fail "first run"
  "$pnmvp" "${run_small[@]}" --platform "$d/pr.json" --report "$d/r.json" --trace "$d/t.json" --stats "$d/s.json" --quiet --force ||
    fail "second run with --force"
  "$pnmvp" dram --pattern seq --requests 10 --command-trace "$d/c.csv" >/dev/null || fail "dram"
  "$pnmvp" dram --pattern seq --requests 10 --command-trace "$d/c.csv" --force >/dev/null || fail "dram --force"
  npy "$d/q.npy" 16 && npy "$d/k.npy" 8 16 && npy "$d/v.npy" 8 16
  "$pnmvp" attend --q "$d/q.npy" --k "$d/k.npy" --v "$d/v.npy" --out "$d/o.npy" >/dev/null || fail "attend"
  "$pnmvp" attend --q "$d/q.npy" --k "$d/k.npy" --v "$d/v.npy" --out "$d/o.npy" --force >/dev/null || fail "attend --force"
  echo "replaced its own outputs" ;;
two_outputs_one_file)
  refused "--stats .*same\.json and --report name the same file" "$d/pr.json" \
    "$pnmvp" "${run_small[@]}" --report "$d/same.json" --stats "$d/same.json" ;;
sweep_same_platform_names)
  # Two platforms named pnm-ref.json in different folders (the second with
  # a slower engine clock) get a report each, and each row names its report.
  mkdir -p "$d/a" "$d/b"
  cp -r "$src/platforms/pnm-ref.json" "$src/platforms/memspec" "$src/platforms/engine" "$d/a/"
  cp -r "$src/platforms/pnm-ref.json" "$src/platforms/memspec" "$src/platforms/engine" "$d/b/"
  "$pnmvp" sweep --platforms "$d/a/pnm-ref.json,$d/b/pnm-ref.json,$d/b/../b/pnm-ref.json" --models tiny --contexts 512,512 \
    --kernels pnm-dense --out "$d/sw" >"$d/sweep.out" 2>&1 || { cat "$d/sweep.out"; fail "sweep"; }
  python3 - "$d" <<'PY' || fail "summary"
import csv, json, os, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, "sw", "summary.csv"))))
assert len(rows) == 2, rows  # 512 given twice: one point per platform
reports = [r["report"] for r in rows]
assert len(set(reports)) == 2, reports
plats = set()
for r in rows:
    rep = json.load(open(os.path.join(d, "sw", r["report"])))
    assert float(r["tokens_per_s"]) == rep["tokens_per_s"], (r, rep["tokens_per_s"])
    plats.add(rep["platform_file"] if "platform_file" in rep else rep["provenance"]["command_line"])
assert len(plats) == 2, plats
print("two reports, one per platform")
PY
  grep -q "given twice" "$d/sweep.out" || fail "no note about the duplicate point: $(cat "$d/sweep.out")" ;;
*) fail "unknown case $case_name" ;;
esac
# Nothing outside the outputs changed.
for f in pr.json memspec engine; do
  diff -r "$d/$f" "$d.orig/$f" >/dev/null || fail "$f changed"
done
echo ok
