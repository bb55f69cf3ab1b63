// The serving simulation's scheduler and KV memory against a backend whose
// costs are simple formulas, so every time can be checked by hand.
#include "serving/kv_cache.h"
#include "serving/serve_sim.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

using namespace pnm::serving;

namespace {

// Iteration = 1 ms fixed + 0.1 ms per new token; attention 1 ns per HBM KV
// token; device 2 ns per KV token; NIC 1 byte/ns, one transfer at a time.
class FakeBackend : public ServeBackend {
public:
  explicit FakeBackend(unsigned devices) : devices_(devices) {}
  unsigned devices() const override { return devices_; }
  GpuPart gpu(const GpuWork& w) override {
    GpuPart g;
    double tokens = w.decode_sequences;
    for (const ChunkWork& c : w.prefill) tokens += c.tokens;
    g.linear_ns = 1e6 + 1e5 * tokens;
    for (uint64_t t : w.decode_hbm_tokens) g.attention_ns += double(t);
    for (const ChunkWork& c : w.prefill) g.attention_ns += double(c.hbm_context);
    g.energy["gpu_compute"] = g.linear_ns;
    ++gpu_calls;
    last_work = w;
    return g;
  }
  DevicePart device_step(unsigned dev, const std::vector<DeviceSeq>& seqs) override {
    DevicePart p;
    for (const DeviceSeq& s : seqs) {
      p.ns += 2.0 * double(s.tokens);
      device_tokens[dev] += s.tokens;
      EXPECT_GE(s.reserve, s.tokens);
    }
    p.energy["engine"] = p.ns;
    ++device_steps;
    return p;
  }
  DevicePart device_bulk(unsigned, uint64_t w, uint64_t r) override {
    DevicePart p;
    p.ns = double(w + r) / 64.0;
    p.link_bytes = double(w + r);
    bulk_written += w;
    bulk_read += r;
    return p;
  }
  void device_release(unsigned dev, uint64_t request) override { released[dev].push_back(request); }
  uint64_t nic_start(double now_ns, uint64_t bytes) override {
    const double start = std::max(now_ns, nic_free_ns);
    nic_free_ns = start + double(bytes);
    pending[next_id] = nic_free_ns;
    nic_total += double(bytes);
    return next_id++;
  }
  double nic_next_ns() const override {
    double t = std::numeric_limits<double>::infinity();
    for (auto& [id, at] : pending) t = std::min(t, at);
    return t;
  }
  std::vector<uint64_t> nic_advance(double now_ns) override {
    std::vector<uint64_t> done;
    for (auto it = pending.begin(); it != pending.end();)
      if (it->second <= now_ns) {
        done.push_back(it->first);
        it = pending.erase(it);
      } else {
        ++it;
      }
    return done;
  }
  Energy nic_energy() const override { return {{"nic", nic_total}}; }
  double nic_bytes() const override { return nic_total; }

  unsigned devices_;
  int gpu_calls = 0, device_steps = 0;
  GpuWork last_work;
  std::map<unsigned, uint64_t> device_tokens;
  std::map<unsigned, std::vector<uint64_t>> released;
  uint64_t bulk_written = 0, bulk_read = 0;
  double nic_free_ns = 0, nic_total = 0;
  std::map<uint64_t, double> pending;
  uint64_t next_id = 1;
};

Request req(uint64_t id, double at_ms, uint32_t in, uint32_t out, std::vector<uint64_t> hashes = {}) {
  Request r;
  r.id = id;
  r.arrival_ms = at_ms;
  r.input_tokens = in;
  r.output_tokens = out;
  r.hash_ids = std::move(hashes);
  return r;
}

ServeConfig config(Policy p, uint64_t hbm_tokens, uint64_t cxl_tokens = 0, unsigned devices = 0) {
  ServeConfig c;
  c.policy = p;
  c.kv_bytes_per_token = 1000;
  c.hbm_kv_bytes = hbm_tokens * 1000;
  for (unsigned d = 0; d < devices; ++d) c.cxl_kv_bytes.push_back(cxl_tokens * 1000);
  return c;
}

} // namespace

TEST(ServeSim, OneRequestTimesByHand) {
  FakeBackend be(0);
  const std::vector<Request> reqs{req(0, 5.0, 100, 4)};
  const ServeResult r = simulate(reqs, config(Policy::hbm, 10000), be);
  ASSERT_EQ(r.requests.size(), 1u);
  const RequestResult& q = r.requests[0];
  EXPECT_TRUE(q.completed);
  EXPECT_EQ(q.tokens_out, 4u);
  EXPECT_EQ(r.output_tokens, 4u);
  // Prefill: 1 ms + 100 x 0.1 ms = 11 ms, starting at the arrival.
  EXPECT_NEAR(q.ttft_ms(), 11.0, 1e-9);
  // Each decode step: 1.1 ms + context ns.
  ASSERT_EQ(r.tbt_ms.size(), 3u);
  EXPECT_NEAR(r.tbt_ms[0], 1.1 + 100e-6, 1e-9);
  EXPECT_NEAR(r.tbt_ms[2], 1.1 + 102e-6, 1e-9);
  EXPECT_NEAR(q.e2e_ms(), 11.0 + 3 * 1.1 + 303e-6, 1e-9);
  EXPECT_EQ(r.iterations, 4u);
  // The decode phase alone: three iterations of one token each, with their
  // time and the GPU energy the fake charges (1 pJ per linear ns).
  EXPECT_EQ(r.decode_only.iterations, 3u);
  EXPECT_EQ(r.decode_only.tokens, 3u);
  EXPECT_NEAR(r.decode_only.ns, 3 * 1.1e6 + 303, 1e-6);
  EXPECT_NEAR(r.decode_only.energy_pj, 3 * 1.1e6, 1e-6);
}

TEST(ServeSim, ContinuousBatchingSharesIterations) {
  FakeBackend be(0);
  // The second arrives during the first's decode and joins its batch.
  const std::vector<Request> reqs{req(0, 0, 100, 20), req(1, 12.0, 10, 5)};
  const ServeResult r = simulate(reqs, config(Policy::hbm, 10000), be);
  EXPECT_TRUE(r.requests[0].completed && r.requests[1].completed);
  EXPECT_EQ(r.output_tokens, 25u);
  // Batched: fewer iterations than the requests run one after the other (20 + 5).
  EXPECT_LT(r.iterations, 25u);
  // Request 1's prefill ran in the same iteration as a decode of request 0:
  // its TTFT is one iteration of 1 + 0.1 x (10 + 1) ms, plus the wait for
  // the iteration in flight at its arrival.
  EXPECT_GT(r.requests[1].ttft_ms(), 2.1 - 1e-9);
  EXPECT_LT(r.requests[1].ttft_ms(), 2.1 + 1.2);
}

TEST(ServeSim, ChunkedPrefillSplitsLongPrompts) {
  FakeBackend be(0);
  ServeConfig c = config(Policy::hbm, 100000);
  c.max_batched_tokens = 1000;
  const ServeResult r = simulate({req(0, 0, 2500, 2)}, c, be);
  ASSERT_EQ(r.requests[0].prefill_slices.size(), 1u); // contiguous iterations merge
  // 3 chunks (1000, 1000, 500): 3 ms + 250 ms... each 1 ms + 0.1 ms/token.
  EXPECT_NEAR(r.requests[0].ttft_ms(), 3.0 + 250.0 + (1000 + 2000) * 1e-6, 1e-6);
  EXPECT_EQ(r.prefill_tokens, 2500u);
}

TEST(ServeSim, MemoryPressurePreemptsAndRecomputes) {
  FakeBackend be(0);
  // HBM for 300 tokens; three requests of 100 + 100 each cannot all fit.
  ServeConfig c = config(Policy::hbm, 300);
  const ServeResult r = simulate({req(0, 0, 100, 100), req(1, 0, 100, 100), req(2, 0, 100, 100)}, c, be);
  for (const RequestResult& q : r.requests) {
    EXPECT_TRUE(q.completed);
    EXPECT_EQ(q.tokens_out, 100u);
  }
  EXPECT_GT(r.preemptions, 0u);
  // Recompute: more prompt tokens prefilled than the prompts hold.
  EXPECT_GT(r.prefill_tokens, 300u);
  // A preempted request's next token waits for its recompute: a long gap.
  double worst = 0;
  for (const RequestResult& q : r.requests) worst = std::max(worst, q.tbt_max_ms);
  EXPECT_GT(worst, 5.0);
}

TEST(ServeSim, RequestThatNeverFitsIsRefusedNotHung) {
  FakeBackend be(0);
  const ServeResult r = simulate({req(0, 0, 1000, 10), req(1, 0, 50, 2)}, config(Policy::hbm, 500), be);
  EXPECT_EQ(r.refused, 1u);
  EXPECT_FALSE(r.requests[0].completed);
  EXPECT_TRUE(r.requests[1].completed);
}

TEST(ServeSim, PrefixCacheSkipsSharedBlocks) {
  FakeBackend be(0);
  ServeConfig c = config(Policy::hbm, 100000);
  c.prefix_block_tokens = 64;
  // Same first two 64-token blocks; the second request arrives later.
  const ServeResult r =
      simulate({req(0, 0, 200, 2, {7, 8, 9}), req(1, 100, 200, 2, {7, 8, 10})}, c, be);
  EXPECT_EQ(r.requests[0].cached_tokens, 0u);
  EXPECT_EQ(r.requests[1].cached_tokens, 128u);
  EXPECT_EQ(r.prefill_tokens, 200u + 72u);
  EXPECT_LT(r.requests[1].ttft_ms(), r.requests[0].ttft_ms());
  // Off: no hits.
  c.prefix_caching = false;
  FakeBackend be2(0);
  const ServeResult r2 = simulate({req(0, 0, 200, 2, {7, 8, 9}), req(1, 100, 200, 2, {7, 8, 10})}, c, be2);
  EXPECT_EQ(r2.prefill_tokens, 400u);
}

TEST(ServeSim, PnmSplitsAttentionBetweenGpuAndDevice) {
  FakeBackend be(1);
  // HBM for 96 tokens: a 200-token prompt spills 104+ tokens to the device.
  const ServeResult r = simulate({req(0, 0, 200, 3)}, config(Policy::pnm, 96, 100000, 1), be);
  EXPECT_TRUE(r.requests[0].completed);
  EXPECT_GT(be.device_steps, 0);
  EXPECT_GT(be.bulk_written, 0u);       // prefill wrote the spilled KV over the link
  EXPECT_EQ(be.released[0].size(), 1u); // the device heard the sequence leave
  EXPECT_LE(be.last_work.decode_hbm_tokens.at(0), 96u);
}

TEST(ServeSim, PnmSelectKeepsKvOnTheDeviceAndReadsTopk) {
  FakeBackend be(1);
  ServeConfig c = config(Policy::pnm_select, 100000, 100000, 1);
  c.topk = 50;
  const ServeResult r = simulate({req(0, 0, 500, 3)}, c, be);
  EXPECT_TRUE(r.requests[0].completed);
  EXPECT_EQ(be.device_tokens[0], 500u + 501u); // two decode steps over the whole context
  EXPECT_EQ(be.last_work.decode_hbm_tokens.at(0), 50u);
}

TEST(ServeSim, CxlRecallReadsBackEveryStep) {
  FakeBackend be(1);
  const ServeResult r = simulate({req(0, 0, 200, 3)}, config(Policy::cxl_recall, 96, 100000, 1), be);
  EXPECT_TRUE(r.requests[0].completed);
  EXPECT_GT(be.device_steps, 0);
  EXPECT_EQ(be.last_work.decode_hbm_tokens.at(0), 201u); // the GPU attends over all of it
}

TEST(ServeSim, RdmaPoolFetchesCachedPrefixOverTheNic) {
  FakeBackend be(0);
  ServeConfig c = config(Policy::rdma_pool, 100000);
  c.prefix_block_tokens = 64;
  // Request 1 shares request 0's first two blocks, which the pool holds by then.
  const ServeResult r =
      simulate({req(0, 0, 200, 2, {7, 8, 9}), req(1, 100, 200, 2, {7, 8, 10})}, c, be);
  EXPECT_EQ(r.requests[1].cached_tokens, 128u);
  // Pool writes: 3 blocks of 64 x 1000 B; fetch: 128 x 1000 B.
  EXPECT_NEAR(r.nic_bytes, 3 * 64000.0 + 2 * 64000.0 + 64000.0, 1e-6); // request 1 writes its new block too
  // Its TTFT includes the 128 us copy before its prefill of 72 tokens.
  EXPECT_NEAR(r.requests[1].ttft_ms(), 0.128 + 1.0 + 7.2 + 128e-6, 1e-6);
}

TEST(ServeSim, BadConfigurationIsRefused) {
  FakeBackend be(0);
  EXPECT_THROW(simulate({req(0, 0, 10, 1)}, config(Policy::pnm, 100), be), std::invalid_argument);
  ServeConfig c = config(Policy::hbm, 100);
  c.max_batched_tokens = 0;
  EXPECT_THROW(simulate({req(0, 0, 10, 1)}, c, be), std::invalid_argument);
  EXPECT_THROW(parse_policy("gpu"), std::invalid_argument);
  EXPECT_EQ(parse_policy("pnm-select"), Policy::pnm_select);
}

TEST(KvCache, EvictsLeastRecentlyUsedCachedBlocksOnlyWhenNeeded) {
  KvCache kv(16, 64, /*hbm blocks*/ 12, {}, Placement::hbm_only, true);
  KvCache::Seq a, b;
  ASSERT_TRUE(kv.grow(a, 128, {1, 2}, 128)); // two prefix entries of 4 blocks
  kv.release(a);
  EXPECT_EQ(kv.cached_blocks(), 8u);
  EXPECT_EQ(kv.hbm_used_blocks(), 8u);
  // 100 private tokens (7 blocks) need 3 more than free: one entry goes.
  ASSERT_TRUE(kv.grow(b, 100, {}, 100));
  EXPECT_EQ(kv.evictions(), 1u);
  EXPECT_EQ(kv.cached_blocks(), 4u);
  // Too big even after evicting everything: refused, nothing changed.
  KvCache::Seq c;
  EXPECT_FALSE(kv.grow(c, 1000, {}, 1000));
  EXPECT_EQ(c.tokens, 0u);
  EXPECT_EQ(kv.hbm_used_blocks(), 7u);
}

TEST(KvCache, HbmThenCxlSplitsBySpace) {
  KvCache kv(16, 512, 4, {100, 100}, Placement::hbm_then_cxl, false);
  KvCache::Seq s;
  kv.place(s);
  ASSERT_TRUE(kv.grow(s, 160, {}, 160));
  const KvSplit k = kv.split(s);
  EXPECT_EQ(k.hbm_tokens, 64u);
  EXPECT_EQ(k.cxl_total(), 96u);
  EXPECT_EQ(k.cxl_tokens[s.device], 96u);
  // The next sequence goes to the emptier device.
  KvCache::Seq t;
  kv.place(t);
  EXPECT_NE(t.device, s.device);
}

// ---- The report, the CSV and the timeline.
#include "serving/serve_report.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

TEST(ServeReport, PercentilesInterpolateLikeNumpy) {
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 0), 1);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 100), 4);
  EXPECT_NEAR(percentile({0, 10}, 99), 9.9, 1e-12);
  EXPECT_EQ(percentile({}, 50), 0);
  const auto d = distribution({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(d["mean"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(d["max"].get<double>(), 4);
}

TEST(ServeReport, GoodputCountsRequestsWithinBothObjectives) {
  FakeBackend be(0);
  // Two requests; the second waits behind the first's long prefill.
  const ServeResult r = simulate({req(0, 0, 1000, 3), req(1, 0, 1000, 3)}, [] {
    ServeConfig c = config(Policy::hbm, 100000);
    c.max_batched_tokens = 1000;
    return c;
  }(), be);
  Slo slo;
  slo.ttft_ms = 150; // the first's TTFT is 101 ms, the second's 202+ ms
  const auto j = serve_report(r, slo, {}, nlohmann::ordered_json{{"schema", "pnmvp.serve.v1"}});
  EXPECT_EQ(j["completed"].get<size_t>(), 2u);
  EXPECT_NEAR(j["slo"]["attained_fraction"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(j["goodput_requests_per_s"].get<double>(), j["requests_per_s"].get<double>() / 2, 1e-9);
  EXPECT_NEAR(j["output_tokens_per_s"].get<double>(), 6.0 / j["span_s"].get<double>(), 1e-9);
  // Energy per token: the fake's GPU energy (pJ = linear ns) over the tokens.
  double pj = 0;
  for (const auto& [k, v] : r.energy_pj) pj += v;
  EXPECT_NEAR(j["energy_per_output_token_mj"].get<double>(), pj * 1e-9 / 6, 1e-12);
  EXPECT_TRUE(j["energy_breakdown_mj"].contains("gpu_compute"));
  for (const char* k : {"ttft_ms", "tbt_ms", "e2e_ms"})
    for (const char* p : {"mean", "p50", "p90", "p99"}) EXPECT_TRUE(j[k].contains(p)) << k << " " << p;
  EXPECT_EQ(j["calibration"]["verified_steps"].get<size_t>(), 0u);
}

TEST(ServeReport, CsvHasOneRowPerRequestAndTraceIsValidJson) {
  FakeBackend be(0);
  const ServeResult r = simulate({req(0, 0, 100, 3), req(1, 1, 2000, 3)}, config(Policy::hbm, 1000), be);
  const std::string csv = ::testing::TempDir() + "serve_requests.csv";
  const std::string trace = ::testing::TempDir() + "serve_trace.json";
  std::remove(csv.c_str());
  std::remove(trace.c_str());
  write_requests_csv(csv, r, Slo{});
  std::ifstream f(csv);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(f, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("id,arrival_ms,input_tokens,output_tokens,cached_tokens,completed,ttft_ms", 0), 0u);
  EXPECT_EQ(lines[1].rfind("0,", 0), 0u);
  EXPECT_NE(lines[2].find(",0,,,,,"), std::string::npos); // request 1 never fits: refused, empty times
  write_serve_trace(trace, false, r, "test");
  std::ifstream t(trace);
  const auto doc = nlohmann::json::parse(t);
  size_t prefill = 0, decode = 0;
  for (const auto& e : doc["traceEvents"]) {
    if (e.value("name", "") == "prefill") ++prefill;
    if (e.value("name", "") == "decode") ++decode;
  }
  EXPECT_EQ(prefill, 1u);
  EXPECT_EQ(decode, 1u);
  EXPECT_THROW(write_serve_trace(trace, false, r, "test"), std::runtime_error); // never replaced without asking
}

TEST(KvCache, LongContextShardsAcrossDevices) {
  KvCache kv(16, 512, 0, {10, 10, 10}, Placement::cxl_only, false);
  KvCache::Seq s;
  kv.place(s);
  ASSERT_TRUE(kv.grow(s, 400, {}, 400)); // 25 blocks: more than one device holds
  const KvSplit k = kv.split(s);
  EXPECT_EQ(k.cxl_total(), 400u);
  for (uint64_t t : k.cxl_tokens) EXPECT_GT(t, 0u);
  EXPECT_TRUE(kv.could_fit(480));
  EXPECT_FALSE(kv.could_fit(481));
  kv.release(s);
  EXPECT_EQ(kv.cxl_used_blocks(), 0u);
}

TEST(ServeSim, SparseAttentionReadsTopkFromHbm) {
  FakeBackend be(0);
  ServeConfig c = config(Policy::hbm, 100000);
  c.sparse_attention = true;
  c.topk = 64;
  simulate({req(0, 0, 500, 3)}, c, be);
  EXPECT_EQ(be.last_work.decode_hbm_tokens.at(0), 64u);
}

// A running sequence's KV takes HBM from idle cached prefix blocks (least
// recently used first) before it spills to CXL: a spilled block slows every
// later step, an evicted one costs one prefill if it is asked for again.
TEST(KvCache, HbmCacheIsEvictedBeforeKvSpillsToCxl) {
  KvCache kv(16, 64, 8, {100}, Placement::hbm_then_cxl, true);
  KvCache::Seq a, b;
  kv.place(a);
  ASSERT_TRUE(kv.grow(a, 128, {1, 2}, 128)); // fills HBM with two prefix blocks
  kv.release(a);
  EXPECT_EQ(kv.cached_blocks(), 8u);
  kv.place(b);
  ASSERT_TRUE(kv.grow(b, 96, {}, 96)); // 6 blocks: both cached blocks go (4 each)
  EXPECT_EQ(kv.evictions(), 2u);
  EXPECT_EQ(kv.split(b).hbm_tokens, 96u);
  EXPECT_EQ(kv.split(b).cxl_total(), 0u);
  ASSERT_TRUE(kv.grow(b, 160, {}, 160)); // HBM is full of b: the rest spills
  EXPECT_EQ(kv.split(b).hbm_tokens, 128u);
  EXPECT_EQ(kv.split(b).cxl_total(), 32u);
  KvCache::Seq c;
  EXPECT_EQ(kv.match_prefix(c, {1, 2, 3}, 3), 0u);
}

// The least recently used cached block goes first; the other still hits.
TEST(KvCache, HbmEvictionTakesOnlyWhatItNeeds) {
  KvCache kv(16, 64, 8, {100}, Placement::hbm_then_cxl, true);
  KvCache::Seq a, b;
  kv.place(a);
  ASSERT_TRUE(kv.grow(a, 128, {1, 2}, 128));
  kv.release(a);
  kv.place(b);
  ASSERT_TRUE(kv.grow(b, 48, {}, 48)); // 3 blocks: one cached block (4) is enough
  EXPECT_EQ(kv.evictions(), 1u);
  EXPECT_EQ(kv.split(b).hbm_tokens, 48u);
}

// Tokens fill blocks in the order they were allocated. A sequence that
// spilled to a device and later gets an HBM block (freed by another one)
// keeps its device tokens: the new block holds its newest tokens. (Counting
// tokens tier by tier moved device tokens to HBM on paper, and the step's
// write to the device went negative: a wrapped 2^64-byte write that stalled
// the whole-trace replay for 420 million simulated seconds.)
TEST(KvCache, TokensStayWhereTheyWereWrittenWhenHbmFreesUp) {
  KvCache kv(16, 512, 4, {100}, Placement::hbm_then_cxl, false);
  KvCache::Seq a, b;
  kv.place(a);
  kv.place(b);
  ASSERT_TRUE(kv.grow(a, 64, {}, 64)); // a fills HBM (4 blocks)
  ASSERT_TRUE(kv.grow(b, 32, {}, 32)); // b spills to the device
  EXPECT_EQ(kv.split(b).hbm_tokens, 0u);
  EXPECT_EQ(kv.split(b).cxl_tokens[0], 32u);
  kv.release(a);                        // HBM frees up
  ASSERT_TRUE(kv.grow(b, 33, {}, 33)); // b's next block is in HBM
  const KvSplit k = kv.split(b);
  EXPECT_EQ(k.cxl_tokens[0], 32u);
  EXPECT_EQ(k.hbm_tokens, 1u);
  ASSERT_TRUE(kv.grow(b, 60, {}, 60));
  EXPECT_EQ(kv.split(b).cxl_tokens[0], 32u);
  EXPECT_EQ(kv.split(b).hbm_tokens, 28u);
}
