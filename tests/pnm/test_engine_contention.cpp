// The memory front end shared by the engine and another initiator: a host
// stream and an engine job slow each other down, together stay within the
// channels' peak, and the arbitration weights shift bandwidth between them.
#include "engine_test_util.h"

#include <gtest/gtest.h>

#include <queue>

namespace {

using namespace pnm;
using namespace pnm::engine;
using namespace pnm::engine::test;
using dram::Cycle;
using dram::kNever;

// A host-like initiator: reads `lines` consecutive 64 B lines from `base`,
// keeping `depth` requests in flight; each completion frees a slot at its
// data time, where the next request goes out.
class Stream : public dram::MemoryFrontEnd::Agent {
public:
  Stream(dram::MemoryFrontEnd& fe, dram::SparseStore& store, uint64_t base, uint64_t lines, unsigned depth,
         uint32_t weight)
      : port_(fe, store, "host", weight), base_(base), lines_(lines) {
    for (unsigned i = 0; i < depth; ++i) free_.push(0);
    port_.set_on_done([this](uint64_t, bool, Cycle done) {
      ++done_;
      last_ = std::max(last_, done);
      free_.push(done);
    });
    port_.front_end().attach(this);
  }
  ~Stream() override { port_.front_end().detach(this); }
  Cycle next_event() const override {
    return sent_ < lines_ && !free_.empty() ? free_.top() : kNever;
  }
  void advance(Cycle t) override {
    while (sent_ < lines_ && !free_.empty() && free_.top() <= t) {
      free_.pop();
      port_.submit(base_ + 64 * sent_, false, t, sent_);
      ++sent_;
    }
  }
  bool done() const { return done_ == lines_; }
  Cycle last() const { return last_; }
  dram::MemoryPort& port() { return port_; }

private:
  dram::MemoryPort port_;
  uint64_t base_, lines_, sent_ = 0, done_ = 0;
  Cycle last_ = 0;
  std::priority_queue<Cycle, std::vector<Cycle>, std::greater<Cycle>> free_;
};

AttentionJob dense_job(uint32_t seq_len) {
  AttentionJob j;
  j.opcode = PNM_JOB_OP_DENSE;
  j.heads = 32;
  j.kv_heads = 8;
  j.head_dim = 128;
  j.seq_len = seq_len;
  j.scale = 0.088f;
  j.q_addr = 0;
  j.k_addr = 1 << 20;
  j.v_addr = j.k_addr + j.kv_bytes();
  j.o_addr = j.v_addr + j.kv_bytes();
  return j;
}

constexpr uint64_t kHostBase = 4ull << 30; // far from the job's regions
constexpr uint64_t kHostLines = 200000;    // 12.8 MB
constexpr unsigned kHostDepth = 256;

struct Outcome {
  double job_ns = 0, host_ns = 0;
  double job_gbps = 0, host_gbps = 0;
  double gbps_until_host_done = 0; // everyone's reads, from 0 to the host's last line
};

// Runs the job and/or the host stream from cycle 0 on one front end.
Outcome run(bool with_job, bool with_host, uint32_t host_weight = 1, uint32_t engine_weight = 1) {
  Rig rig;
  rig.fe.set_weight(rig.mem.id(), engine_weight);
  const double tck = rig.dram.tck_ns();
  std::unique_ptr<Stream> host;
  if (with_host) host = std::make_unique<Stream>(rig.fe, rig.store, kHostBase, kHostLines, kHostDepth, host_weight);
  const AttentionJob j = dense_job(32768);
  if (with_job) {
    EXPECT_TRUE(rig.engine.begin(j, 0, Mode::timing_only));
  }
  Outcome o;
  bool job_over = !with_job;
  JobResult r;
  uint64_t reads_when_host_done = 0;
  rig.fe.run([&] {
    if (host && host->done() && !reads_when_host_done)
      for (uint32_t c = 0; c < rig.dram.channel_count(); ++c)
        reads_when_host_done += rig.dram.channel(c).counters().reads_served;
    if (!job_over && rig.engine.job_done()) {
      r = rig.engine.finish();
      job_over = true;
    }
    return job_over && (!host || host->done());
  });
  if (with_job) {
    EXPECT_TRUE(r.ok()) << r.message;
    o.job_ns = r.elapsed_ns;
    o.job_gbps = r.read_gbps();
  }
  if (host) {
    o.host_ns = host->last() * tck;
    o.host_gbps = kHostLines * 64 / o.host_ns;
    o.gbps_until_host_done = reads_when_host_done * 64 / o.host_ns;
  }
  return o;
}

TEST(EngineContention, HostStreamAndEngineJobSlowEachOtherAndStayWithinPeak) {
  const double peak = Rig().dram.peak_gbps();
  const Outcome job = run(true, false), host = run(false, true), both = run(true, true);
  std::printf("[ figures  ] alone: job %.1f us at %.1f GB/s, host %.1f us at %.1f GB/s; together: job %.1f us, "
              "host %.1f us; peak %.1f GB/s\n",
              job.job_ns * 1e-3, job.job_gbps, host.host_ns * 1e-3, host.host_gbps, both.job_ns * 1e-3,
              both.host_ns * 1e-3, peak);
  EXPECT_GT(both.job_ns, 1.05 * job.job_ns) << "the host's stream must slow the engine down";
  EXPECT_GT(both.host_ns, 1.05 * host.host_ns) << "the engine must slow the host's stream down";
  // While both ran, everything read fits in the channels' peak, and the
  // two together keep the channels about as busy as either alone.
  std::printf("[ figures  ] together, until the host's last line: %.1f GB/s\n", both.gbps_until_host_done);
  EXPECT_LE(both.gbps_until_host_done, peak);
  EXPECT_GE(both.gbps_until_host_done, 0.85 * peak);
  // Neither initiator alone exceeds the peak either.
  EXPECT_LE(job.job_gbps, peak);
  EXPECT_LE(host.host_gbps, peak);
}

TEST(EngineContention, WeightsShiftBandwidthBetweenHostAndEngine) {
  const Outcome even = run(true, true, 1, 1), host_first = run(true, true, 8, 1), engine_first = run(true, true, 1, 8);
  std::printf("[ figures  ] host time / job time: even %.1f / %.1f us, host weight 8 %.1f / %.1f us, "
              "engine weight 8 %.1f / %.1f us\n",
              even.host_ns * 1e-3, even.job_ns * 1e-3, host_first.host_ns * 1e-3, host_first.job_ns * 1e-3,
              engine_first.host_ns * 1e-3, engine_first.job_ns * 1e-3);
  EXPECT_LT(host_first.host_ns, 0.9 * even.host_ns);
  EXPECT_GT(engine_first.host_ns, 1.5 * even.host_ns);
  // The engine's job outlasts the host's stream: the weights decide who is
  // served first, not how much gets done, so the job's end barely moves.
  EXPECT_NEAR(host_first.job_ns, even.job_ns, 0.02 * even.job_ns);
  EXPECT_NEAR(engine_first.job_ns, even.job_ns, 0.02 * even.job_ns);
}

TEST(EngineContention, FrontEndRefusesWhatCannotBeServed) {
  Rig rig;
  EXPECT_THROW(rig.fe.add_port("zero", 0, nullptr), std::invalid_argument);
  EXPECT_THROW(rig.fe.set_weight(rig.mem.id(), 0), std::invalid_argument);
  EXPECT_THROW(rig.mem.submit(rig.dram.capacity_bytes(), false, 0, 0), std::out_of_range);
  EXPECT_THROW(rig.mem.submit(65, false, 0, 0), std::out_of_range);
  // Nothing queued and nothing to wait for: a run that cannot finish says so.
  EXPECT_THROW(rig.fe.run([] { return false; }), std::logic_error);
  // Data beyond device memory, with no upstream path, names the address.
  uint8_t b = 0;
  try {
    rig.mem.read(rig.dram.capacity_bytes() + 128, &b, 1);
    ADD_FAILURE() << "read beyond device memory was not refused";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("outside device memory"), std::string::npos) << e.what();
  }
  // An upstream path answers what lies beyond.
  rig.mem.upstream = [](bool, uint64_t, void* p, size_t) {
    *static_cast<uint8_t*>(p) = 0x77;
    return true;
  };
  rig.mem.read(rig.dram.capacity_bytes() + 128, &b, 1);
  EXPECT_EQ(b, 0x77);
}

TEST(EngineContention, CompletionsCarryTheirTagsAndLatency) {
  Rig rig;
  std::vector<std::pair<uint64_t, Cycle>> seen;
  dram::MemoryPort p(rig.fe, rig.store, "probe");
  p.set_on_done([&](uint64_t tag, bool write, Cycle done) {
    EXPECT_FALSE(write);
    seen.emplace_back(tag, done);
  });
  for (uint64_t i = 0; i < 100; ++i) p.submit(i * 64 * 1024, false, 10 * i, 1000 + i);
  rig.fe.run_port(p.id());
  ASSERT_EQ(seen.size(), 100u);
  std::vector<bool> got(100, false);
  for (auto [tag, done] : seen) {
    ASSERT_GE(tag, 1000u);
    ASSERT_LT(tag, 1100u);
    got[tag - 1000] = true;
    EXPECT_GT(done, 10 * (tag - 1000)) << "a request completes after it arrives";
  }
  for (bool g : got) EXPECT_TRUE(g);
  EXPECT_EQ(rig.fe.stats(p.id()).reads, 100u);
  EXPECT_EQ(rig.fe.in_flight(p.id()), 0u);
  EXPECT_GT(rig.fe.stats(p.id()).latency_cycles, 0u);
}

} // namespace
