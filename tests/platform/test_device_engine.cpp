// The engine inside the device: reached at its device-map address on the
// control bus, working on the same device memory the host writes over
// CXL.mem; its output, read back by the host over CXL.mem, equals a
// standalone engine's on the same data (that engine is checked against an
// Eigen reference in tests/pnm).
#include "../pnm/engine_test_util.h"
#include "../support/systemc_test.h"
#include "host_system.h"
#include "pnm/engine.h"
#include <pnmvp/hw/engine_regs.h>
#include "pnm_device.h"
#include <pnmvp/hw/device_map.h>

#include <cstring>
#include <tlm_utils/simple_initiator_socket.h>

using namespace pnm;
using namespace pnm::engine;
using namespace pnm::engine::test;

namespace {
class DeviceEngineTest : public pnm::test::SystemCTest {};

// Stands in for the controller core on the control bus.
struct Ctrl : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Ctrl> mmio_socket{"mmio_socket"};
  explicit Ctrl(sc_core::sc_module_name n) : sc_module(n) {}
  uint32_t access(bool write, uint32_t addr, uint32_t v) {
    tlm::tlm_generic_payload tx;
    tx.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    tx.set_address(addr);
    tx.set_data_ptr(reinterpret_cast<unsigned char*>(&v));
    tx.set_data_length(4);
    tx.set_streaming_width(4);
    sc_core::sc_time d;
    mmio_socket->b_transport(tx, d);
    sc_core::wait(d);
    EXPECT_EQ(tx.get_response_status(), tlm::TLM_OK_RESPONSE) << std::hex << addr;
    return v;
  }
};
} // namespace

TEST_F(DeviceEngineTest, EngineRunsOnDeviceMemoryAndHostReadsTheResult) {
  PlatformConfig pc = load_platform(std::string(PNM_SOURCE_DIR) + "/platforms/pnm-ref.json");
  ASSERT_TRUE(pc.has_engine);
  HostSystem sys(pc);
  PnmDevice& dev = sys.dev;
  HostBridge& host = sys.host;
  Ctrl ctrl("ctrl");
  ctrl.mmio_socket.bind(dev.ctrl_bus.in_socket);
  ASSERT_TRUE(dev.engine);

  AttentionJob j;
  j.opcode = PNM_JOB_OP_TOPK_TOKEN;
  j.heads = 4;
  j.kv_heads = 1;
  j.head_dim = 64;
  j.seq_len = 300;
  j.k = 32;
  j.scale = 0.125f;
  j.flags = PNM_JOB_FLAG_WRITE_INDICES;
  std::mt19937_64 rng(5);
  fill_job(j, dev.dram.store(), rng); // tensors in device memory
  const uint64_t desc_dpa = 0x40;
  const auto desc = encode(j);
  dev.dram.store().write(desc_dpa, desc.data(), desc.size());

  std::vector<uint8_t> o_host(j.o_bytes());
  uint32_t status = 0, error = 0;
  host.set_program([&](sw::Backend& b) {
    ctrl.access(true, PNM_ENGINE_BASE + PNM_ENG_DESC_LO_OFF, static_cast<uint32_t>(desc_dpa));
    ctrl.access(true, PNM_ENGINE_BASE + PNM_ENG_DESC_HI_OFF, 0);
    ctrl.access(true, PNM_ENGINE_BASE + PNM_ENG_CTRL_OFF, PNM_ENG_CTRL_START);
    sc_core::wait(dev.engine->finished_event());
    status = ctrl.access(false, PNM_ENGINE_BASE + PNM_ENG_STATUS_OFF, 0);
    error = ctrl.access(false, PNM_ENGINE_BASE + PNM_ENG_ERROR_OFF, 0);
    // The host reads O over CXL.mem (O is 64 B aligned by fill_job).
    ASSERT_TRUE(b.mem_read(dev.hpa_base() + j.o_addr, o_host.data(), o_host.size()));
  });
  sc_core::sc_start();
  EXPECT_EQ(status, PNM_ENG_STATUS_DONE);
  EXPECT_EQ(error, 0u);

  // The same job on a standalone engine with the same data.
  dram::DramSystem ref_dram(pc.dram);
  dram::SparseStore ref_store(ref_dram.capacity_bytes());
  dram::MemoryFrontEnd ref_fe(ref_dram);
  dram::MemoryPort ref_mem(ref_fe, ref_store, "engine");
  datapath::DatapathTwin dp(16);
  AttentionEngine ref(pc.engine, ref_mem, dp);
  std::mt19937_64 rng2(5);
  fill_job(j, ref_store, rng2);
  const JobResult rr = ref.run(j, 0, Mode::functional);
  ASSERT_TRUE(rr.ok());
  std::vector<uint8_t> o_ref(j.o_bytes());
  ref_store.read(j.o_addr, o_ref.data(), o_ref.size());
  EXPECT_EQ(o_host, o_ref);
}

// The host's CXL.mem traffic and an engine job meet in the device's DRAM
// channels at the same simulated time: host reads made while the job runs
// take longer than the same reads on an idle device, and the job takes
// longer than it does alone.
TEST_F(DeviceEngineTest, HostTrafficAndEngineJobShareTheChannels) {
  PlatformConfig pc = load_platform(std::string(PNM_SOURCE_DIR) + "/platforms/pnm-ref.json");
  HostSystem sys(pc);
  PnmDevice& dev = sys.dev;
  HostBridge& host = sys.host;
  Ctrl ctrl("ctrl");
  ctrl.mmio_socket.bind(dev.ctrl_bus.in_socket);
  dev.engine->set_mode(Mode::timing_only);

  AttentionJob j;
  j.opcode = PNM_JOB_OP_DENSE;
  j.heads = 32;
  j.kv_heads = 8;
  j.head_dim = 128;
  j.seq_len = 16384;
  j.scale = 0.088f;
  j.q_addr = 1 << 20;
  j.k_addr = 2 << 20;
  j.v_addr = j.k_addr + j.kv_bytes();
  j.o_addr = j.v_addr + j.kv_bytes();
  const uint64_t desc_dpa = 0x40;
  const auto desc = encode(j);
  dev.dram.store().write(desc_dpa, desc.data(), desc.size());

  constexpr size_t kChunk = 256 * 1024;
  std::vector<uint8_t> buf(kChunk);
  double busy_ns = 0, idle_ns = 0, job_ns = 0;
  unsigned busy_reads = 0;
  host.set_program([&](sw::Backend& b) {
    const uint64_t base = dev.hpa_base() + (8ull << 30);
    const double t0 = b.now_ns();
    ctrl.access(true, PNM_ENGINE_BASE + PNM_ENG_DESC_LO_OFF, static_cast<uint32_t>(desc_dpa));
    ctrl.access(true, PNM_ENGINE_BASE + PNM_ENG_DESC_HI_OFF, 0);
    ctrl.access(true, PNM_ENGINE_BASE + PNM_ENG_CTRL_OFF, PNM_ENG_CTRL_START);
    // Reads while the job runs (stop well before its end).
    const double t_busy = b.now_ns();
    for (busy_reads = 0; busy_reads < 8; ++busy_reads)
      ASSERT_TRUE(b.mem_read(base + busy_reads * kChunk, buf.data(), kChunk));
    busy_ns = b.now_ns() - t_busy;
    sc_core::wait(dev.engine->finished_event());
    job_ns = b.now_ns() - t0;
    // The same reads on an idle device.
    const double t_idle = b.now_ns();
    for (unsigned i = 0; i < busy_reads; ++i) ASSERT_TRUE(b.mem_read(base + i * kChunk, buf.data(), kChunk));
    idle_ns = b.now_ns() - t_idle;
  });
  sc_core::sc_start();
  ASSERT_EQ(dev.engine->last_result().error, JobError::kOk) << dev.engine->last_result().message;

  Rig alone; // the same job on a standalone engine
  const JobResult r = alone.engine.run(j, 0, Mode::timing_only);
  ASSERT_TRUE(r.ok());
  std::printf("[ figures  ] 8 x 256 KiB host reads: %.1f us during the job, %.1f us idle; job %.1f us with "
              "the host's reads, %.1f us alone\n",
              busy_ns * 1e-3, idle_ns * 1e-3, job_ns * 1e-3, r.elapsed_ns * 1e-3);
  ASSERT_LT(busy_ns, 0.8 * job_ns) << "the host's reads must fall inside the job";
  EXPECT_GT(busy_ns, 1.1 * idle_ns);
  EXPECT_GT(job_ns, r.elapsed_ns * 1.02);
}
