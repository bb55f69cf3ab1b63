// The host driver (libpnm) on the reference platform: it discovers the
// device through the DVSECs, talks to the firmware on the controller core
// through the mailbox, and submits attention jobs through the queue pairs.
#include "../support/systemc_test.h"
#include "driver/device.h"
#include "driver/queue.h"
#include "host_system.h"
#include "pnm/datapath_twin.h"
#include <pnmvp/hw/jobs.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstring>
#include <random>
#include "common/sim_kernel.h"

using namespace pnm;

namespace {
class DriverTest : public pnm::test::SystemCTest {
protected:
  PlatformConfig pc = load_platform(std::string(PNM_SOURCE_DIR) + "/platforms/pnm-ref.json");
};

constexpr uint64_t MiB = 1ull << 20;

// One BF16 attention problem in a tenant's memory, with its double reference.
struct Problem {
  unsigned heads = 4, kv_heads = 2, d = 64, seq = 300;
  sw::Buffer q, k, v, o;
  std::vector<double> qv, kv, vv;

  void place(sw::Tenant& t, std::mt19937_64& rng) {
    q = t.alloc(uint64_t{heads} * d * 2);
    k = t.alloc(uint64_t{kv_heads} * seq * d * 2);
    v = t.alloc(uint64_t{kv_heads} * seq * d * 2);
    o = t.alloc(uint64_t{heads} * d * 4);
    fill(t.device(), q, qv, rng);
    fill(t.device(), k, kv, rng);
    fill(t.device(), v, vv, rng);
  }
  static void fill(sw::Device& dev, const sw::Buffer& b, std::vector<double>& vals, std::mt19937_64& rng) {
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<uint16_t> raw(b.bytes / 2);
    vals.resize(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      raw[i] = datapath::float_to_bf16(nd(rng));
      vals[i] = datapath::bf16_to_float(raw[i]);
    }
    dev.write(b.dpa, raw.data(), b.bytes);
  }
  pnm_job_desc_t desc(uint8_t opcode = PNM_JOB_OP_DENSE, uint32_t k_top = 0) const {
    pnm_job_desc_t j{};
    j.magic = PNM_JOB_MAGIC;
    j.version = PNM_JOB_VERSION;
    j.size_bytes = PNM_JOB_DESC_BYTES;
    j.opcode = opcode;
    j.precision = PNM_JOB_PREC_BF16;
    j.heads = static_cast<uint16_t>(heads);
    j.kv_heads = static_cast<uint16_t>(kv_heads);
    j.head_dim = static_cast<uint16_t>(d);
    j.seq_len = seq;
    j.k = k_top;
    j.scale = static_cast<float>(1.0 / std::sqrt(double(d)));
    j.q_addr = q.dpa;
    j.k_addr = k.dpa;
    j.v_addr = v.dpa;
    j.o_addr = o.dpa;
    j.tag = 0x1234;
    return j;
  }
  // Dense attention of head h in double.
  Eigen::VectorXd reference(unsigned h) const {
    const unsigned g = h / (heads / kv_heads);
    Eigen::Map<const Eigen::VectorXd> qh(&qv[uint64_t{h} * d], d);
    Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>> K(&kv[uint64_t{g} * seq * d], seq, d);
    Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>> V(&vv[uint64_t{g} * seq * d], seq, d);
    Eigen::VectorXd s = (K * qh) / std::sqrt(double(d));
    Eigen::VectorXd p = (s.array() - s.maxCoeff()).exp();
    return (V.transpose() * p) / p.sum();
  }
  std::vector<float> read_o(sw::Device& dev) const {
    std::vector<float> out(uint64_t{heads} * d);
    dev.read(o.dpa, out.data(), out.size() * 4);
    return out;
  }
};
} // namespace

TEST_F(DriverTest, DiscoversRegistersMemoryAndFirmware) {
  HostSystem sys(pc);
  sw::Identify id;
  sw::PnmCaps caps;
  uint64_t mbox = 0, cap = 0;
  unsigned queues = 0;
  sys.run([&](sw::Backend& b) {
    sw::Device dev(b);
    mbox = dev.mailbox_base();
    cap = dev.capacity_bytes();
    queues = dev.doorbell_queues();
    id = dev.identify();
    caps = dev.pnm_caps();
  });
  EXPECT_EQ(mbox, sys.dev.bar_base(2) + sys.dev.regs.config().mailbox_offset);
  EXPECT_EQ(cap, sys.dev.capacity_bytes());
  EXPECT_EQ(queues, 64u);
  EXPECT_EQ(id.fw_revision, "pnmvp-fw 0.2");
  EXPECT_EQ(id.total_bytes, sys.dev.capacity_bytes());
  EXPECT_EQ(caps.lanes, 16u);
  EXPECT_EQ(caps.max_queues, 64u);
  EXPECT_EQ(caps.tenant_granule_bytes, 2 * MiB);
}

TEST_F(DriverTest, FirmwareRunsQueuedJobsOnTheEngineAndTheyMatchTheReference) {
  HostSystem sys(pc);
  Problem p;
  std::vector<float> o_dense;
  sw::Completion c1, c2;
  sw::PerfCounters perf;
  bool second_by_polling = false;
  sys.run([&](sw::Backend& b) {
    sw::Device dev(b);
    sw::Tenant t(dev, 7, 0, 64 * MiB);
    sw::Queue q(t, 4);
    std::mt19937_64 rng(11);
    p.place(t, rng);
    q.submit(p.desc());
    c1 = q.wait(); // by interrupt
    o_dense = p.read_o(dev);
    q.submit(p.desc(), /*interrupt=*/false);
    c2 = q.wait(1e9, /*use_irq=*/false);
    second_by_polling = true;
    perf = dev.perf();
    q.close();
    t.release();
  });
  ASSERT_TRUE(c1.ok()) << sw::completion_status_name(c1.status);
  EXPECT_EQ(c1.cid, 0u);
  EXPECT_EQ(c2.cid, 1u);
  EXPECT_TRUE(c2.ok());
  EXPECT_TRUE(second_by_polling);
  EXPECT_GT(c1.engine_cycles, 0u);
  // K and V of 2 KV heads x 300 tokens x 128 B, plus Q: at least that many lines
  EXPECT_GE(c1.lines_read, 2u * 2 * 300 * 128 / 64);
  for (unsigned h = 0; h < p.heads; ++h) {
    const Eigen::VectorXd ref = p.reference(h);
    for (unsigned i = 0; i < p.d; ++i)
      EXPECT_NEAR(o_dense[h * p.d + i], ref[i], 1e-4 * (1 + std::abs(ref[i]))) << "head " << h << " elem " << i;
  }
  EXPECT_EQ(perf.jobs_completed, 2u);
  EXPECT_EQ(perf.jobs_failed, 0u);
  EXPECT_GT(perf.engine_busy_cycles, 0u);
  // device-wide figures the firmware reads from the platform's counters
  EXPECT_GT(perf.instructions_retired, 1000u);
  EXPECT_LE(perf.instructions_retired, sys.dev.controller->core().stats().instructions);
  EXPECT_GE(perf.link_bytes_rx, uint64_t{p.heads} * p.d * 2); // Q at least went down
  EXPECT_GE(perf.link_bytes_tx, uint64_t{p.heads} * p.d * 4); // O came back
  for (unsigned cls : {0u, 1u, 2u, 3u, 4u}) EXPECT_GT(perf.energy_pj[cls], 0u) << "class " << cls;
  EXPECT_GT(sys.dev.controller->core().stats().instructions, 0u);
  EXPECT_GE(sys.dev.doorbells.host_irqs(), 1u);
}

TEST_F(DriverTest, CrossTenantJobIsRefusedLoggedAndLeavesTheOtherTenantsDataAlone) {
  HostSystem sys(pc);
  Problem a, b_job;
  std::vector<float> a_before, a_after;
  sw::Completion steal_k, steal_o, steal_desc, own;
  uint64_t engine_jobs_before = 0, engine_jobs_after = 0;
  sys.run([&](sw::Backend& be) {
    sw::Device dev(be);
    sw::Tenant ta(dev, 1, 0, 32 * MiB), tb(dev, 2, 32 * MiB, 32 * MiB);
    sw::Queue qa(ta, 4), qb(tb, 4);
    std::mt19937_64 rng(5);
    a.place(ta, rng);
    b_job.place(tb, rng);
    qa.submit(a.desc());
    ASSERT_TRUE(qa.wait().ok());
    a_before = a.read_o(dev);
    engine_jobs_before = sys.dev.engine->core().jobs_done() + sys.dev.engine->core().jobs_failed();
    // Tenant B names A's K as its input: it would read A's cache.
    pnm_job_desc_t d = b_job.desc();
    d.k_addr = a.k.dpa;
    qb.submit(d);
    steal_k = qb.wait();
    // Tenant B points its output at A's O: it would overwrite A's result.
    d = b_job.desc();
    d.o_addr = a.o.dpa;
    qb.submit(d);
    steal_o = qb.wait();
    // Tenant B's submission entry points at a descriptor in A's memory.
    pnm_sqe s{PNM_SQE_OP_ATTENTION, PNM_SQE_FLAG_IRQ, 77, a.q.dpa};
    uint8_t raw[PNM_SQ_ENTRY_BYTES];
    pnm_sqe_encode(&s, raw);
    qb.submit_raw(raw, nullptr);
    steal_desc = qb.wait();
    // B's own job still runs.
    qb.submit(b_job.desc());
    own = qb.wait();
    engine_jobs_after = sys.dev.engine->core().jobs_done() + sys.dev.engine->core().jobs_failed();
    a_after = a.read_o(dev);
  });
  EXPECT_EQ(steal_k.status, PNM_CQ_ST_ACCESS_DENIED);
  EXPECT_EQ(steal_o.status, PNM_CQ_ST_ACCESS_DENIED);
  EXPECT_EQ(steal_desc.status, PNM_CQ_ST_ACCESS_DENIED);
  EXPECT_EQ(steal_desc.cid, 77u);
  EXPECT_TRUE(own.ok()) << sw::completion_status_name(own.status);
  EXPECT_EQ(engine_jobs_after, engine_jobs_before + 1) << "refused jobs must never reach the engine";
  EXPECT_EQ(a_before, a_after);
  unsigned refusals = 0;
  for (const std::string& line : sys.dev.firmware_log())
    if (line.find("tenant 2") != std::string::npos && line.find("refused") != std::string::npos) ++refusals;
  EXPECT_EQ(refusals, 3u);
}

TEST_F(DriverTest, BadSubmissionsGetTheirStatusAndMailboxErrorsTheirReturnCodes) {
  HostSystem sys(pc);
  sw::Completion bad_sqe, bad_heads;
  uint16_t overlap_rc = 0, reserved_rc = 0;
  sys.run([&](sw::Backend& be) {
    sw::Device dev(be);
    sw::Tenant t(dev, 3, 0, 16 * MiB);
    sw::Queue q(t, 2);
    Problem p;
    std::mt19937_64 rng(1);
    p.place(t, rng);
    pnm_sqe s{PNM_SQE_OP_ATTENTION, PNM_SQE_FLAG_IRQ, 9, 0};
    uint8_t raw[PNM_SQ_ENTRY_BYTES];
    pnm_sqe_encode(&s, raw);
    raw[0x20] = 1; // reserved byte
    q.submit_raw(raw, nullptr);
    bad_sqe = q.wait();
    pnm_job_desc_t d = p.desc();
    d.heads = 3; // does not divide by kv_heads = 2
    q.submit(d);
    bad_heads = q.wait();
    try {
      sw::Tenant clash(dev, 4, 8 * MiB, 16 * MiB); // overlaps tenant 3
    } catch (const sw::MailboxError& e) {
      overlap_rc = e.return_code();
    }
    try { // the top 2 MiB belong to the firmware
      sw::Tenant top(dev, 5, dev.capacity_bytes() - 2 * MiB, 2 * MiB);
    } catch (const sw::MailboxError& e) {
      reserved_rc = e.return_code();
    }
  });
  EXPECT_EQ(bad_sqe.status, PNM_CQ_ST_BAD_SQE);
  EXPECT_EQ(bad_sqe.cid, 9u);
  EXPECT_EQ(bad_heads.status, PNM_JOB_ERR_BAD_KV_HEADS);
  EXPECT_EQ(overlap_rc, 0x02); // Invalid Input
  EXPECT_NE(reserved_rc, 0x00);
}

TEST_F(DriverTest, MailboxWithoutFirmwareTimesOutWithAClearError) {
  pc.controller.present = false;
  HostSystem sys(pc);
  std::string error;
  sys.run([&](sw::Backend& be) {
    sw::Device dev(be);
    dev.mailbox_timeout_ns = 50000;
    try {
      dev.identify();
    } catch (const sw::DriverError& e) {
      error = e.what();
    }
  });
  EXPECT_NE(error.find("timed out"), std::string::npos) << error;
  EXPECT_NE(error.find("0x4000"), std::string::npos) << error;
}

TEST_F(DriverTest, DriverWaitsForTheFirmwareAndSaysSoWhenItNeverComes) {
  // The real firmware: the driver waits for Mailbox Interface Ready (no
  // fixed sleep) and the first command succeeds.
  {
    HostSystem sys(pc);
    double ready_ns = -1;
    sys.run([&](sw::Backend& be) {
      sw::Device dev(be);
      ready_ns = be.now_ns();
      EXPECT_EQ(dev.identify().fw_revision, "pnmvp-fw 0.2");
    });
    EXPECT_GT(ready_ns, 0.0);
  }
  // A firmware that never serves the mailbox: a clear error, not a hang.
  pnm::fresh_sim_kernel();
  pc.controller.firmware = PNM_FW_BENCH_LOOP_ELF;
  HostSystem sys(pc);
  std::string error;
  sys.run([&](sw::Backend& be) {
    try {
      sw::Device dev(be, 200e3);
    } catch (const sw::DriverError& e) {
      error = e.what();
    }
  });
  EXPECT_NE(error.find("mailbox interface not ready after 0.2 ms"), std::string::npos) << error;
}

// Get Performance Counters reads the device's stats tree: with no CXL.mem
// traffic or job between the firmware's read and ours, the figures that do
// not move with time are the tree's exactly; the others are at most it.
TEST_F(DriverTest, PerformanceCountersAreTheStatsTreesValues) {
  HostSystem sys(pc);
  sw::PerfCounters perf;
  StatGroup tree;
  sys.run([&](sw::Backend& b) {
    sw::Device dev(b);
    sw::Tenant t(dev, 3, 0, 64 * MiB);
    sw::Queue q(t, 4);
    Problem p;
    std::mt19937_64 rng(3);
    p.place(t, rng);
    q.submit(p.desc());
    ASSERT_TRUE(q.wait().ok());
    perf = dev.perf();
    tree = sys.dev.stats();
  });
  auto pj = [&](const char* path) { return static_cast<uint64_t>(tree.value_at(path)); };
  EXPECT_GT(perf.link_bytes_rx, 0u);
  EXPECT_EQ(perf.link_bytes_rx, pj("cxl/link/down/payload_bytes"));
  EXPECT_EQ(perf.link_bytes_tx, pj("cxl/link/up/payload_bytes"));
  EXPECT_EQ(perf.energy_pj[1],
            static_cast<uint64_t>(tree.value_at("cxl/link/down/energy_pj") + tree.value_at("cxl/link/up/energy_pj")));
  EXPECT_GT(perf.energy_pj[2], 0u);
  EXPECT_EQ(perf.energy_pj[2],
            static_cast<uint64_t>(tree.value_at("engine/energy_pj/total") - tree.value_at("engine/energy_pj/sram")));
  EXPECT_EQ(perf.energy_pj[3], pj("engine/energy_pj/sram"));
  // DRAM background energy and the core's instructions went on after the read.
  EXPECT_GT(perf.energy_pj[0], 0u);
  EXPECT_LE(perf.energy_pj[0], pj("dram/energy_pj/total"));
  EXPECT_GT(perf.instructions_retired, 0u);
  EXPECT_LE(perf.instructions_retired, pj("controller/instructions"));
  EXPECT_LE(perf.energy_pj[4], pj("controller/energy_pj"));
  EXPECT_GT(pj("controller/energy_pj"), 0u);
}

// MERGE's barrier (issue #14 item 4): the firmware runs the merge only once
// every other part's flag line holds the job's epoch. A flag that never
// comes is BARRIER_TIMEOUT after PNM_BARRIER_TIMEOUT_US, not a hang; with
// the flag set the same job runs. Two jobs staged without a doorbell run
// only when ring() rings it once for both.
TEST_F(DriverTest, MergeWaitsForItsPartsFlagsAndTimesOutWithoutThem) {
  HostSystem sys(pc);
  sw::Completion timed_out, merged, first, second;
  double waited_ns = 0;
  bool ran_before_ring = true;
  sys.run([&](sw::Backend& b) {
    sw::Device dev(b);
    sw::Tenant t(dev, 2, 0, 16 * MiB);
    sw::Queue q(t, 4);
    const unsigned heads = 2, d = 64, parts = 2;
    const uint64_t part = PNM_JOB_PART_BYTES(heads, d);
    sw::Buffer in = t.alloc(parts * part), flags = t.alloc(64), out = t.alloc(part);
    std::vector<float> partial(part / 4, 0.0f); // O = 0, LSE = 0: a valid partial
    for (unsigned p = 0; p < parts; ++p) dev.write(in.dpa + p * part, partial.data(), part);
    std::vector<uint8_t> zero(64, 0);
    dev.write(flags.dpa, zero.data(), zero.size());
    pnm_job_desc_t m{};
    m.magic = PNM_JOB_MAGIC;
    m.version = PNM_JOB_VERSION;
    m.size_bytes = PNM_JOB_DESC_BYTES;
    m.opcode = PNM_JOB_OP_MERGE;
    m.precision = PNM_JOB_PREC_BF16;
    m.heads = heads;
    m.kv_heads = 1;
    m.head_dim = d;
    m.k = parts;
    m.epoch = 5;
    m.q_addr = in.dpa;
    m.idx_addr = flags.dpa;
    m.o_addr = out.dpa;
    const double t0 = b.now_ns();
    q.submit(m);
    timed_out = q.wait();
    waited_ns = b.now_ns() - t0;
    uint32_t epoch = 5;
    dev.write(flags.dpa, &epoch, sizeof epoch);
    q.submit(m);
    merged = q.wait();
    q.submit(m, true, /*ring=*/false);
    q.submit(m, true, /*ring=*/false);
    b.sleep_ns(200e3); // far longer than a merge takes once rung
    ran_before_ring = q.poll().has_value();
    q.ring();
    first = q.wait();
    second = q.wait();
    q.close();
    t.release();
  });
  EXPECT_EQ(timed_out.status, PNM_CQ_ST_BARRIER_TIMEOUT) << sw::completion_status_name(timed_out.status);
  EXPECT_GE(waited_ns, PNM_BARRIER_TIMEOUT_US * 1e3);
  EXPECT_LT(waited_ns, 2 * PNM_BARRIER_TIMEOUT_US * 1e3);
  EXPECT_TRUE(merged.ok()) << sw::completion_status_name(merged.status);
  EXPECT_FALSE(ran_before_ring);
  EXPECT_TRUE(first.ok());
  EXPECT_TRUE(second.ok());
  EXPECT_EQ(second.cid, first.cid + 1);
}
