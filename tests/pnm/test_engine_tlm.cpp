// EngineTlm end to end: a descriptor in device memory, register writes over
// TLM, the interrupt (level output and callback), status, error codes and
// performance counters; register access errors.
#include "dram/dram_tlm.h"
#include "engine_test_util.h"
#include "pnm/engine_tlm.h"
#include <pnmvp/hw/device_map.h>
#include "support/systemc_test.h"

#include <gtest/gtest.h>

#include <tlm_utils/simple_initiator_socket.h>

namespace {

using namespace pnm::engine;
using namespace pnm::engine::test;

// A register-bus initiator whose test body runs in an SC_THREAD.
struct Host : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Host> socket;
  tlm_utils::simple_initiator_socket<Host> mem; // device memory (data is written to the store directly)
  std::function<void(Host&)> body;

  explicit Host(sc_core::sc_module_name n) : sc_module(n), socket("socket"), mem("mem") {
    SC_HAS_PROCESS(Host);
    SC_THREAD(run);
  }
  void run() {
    body(*this);
    sc_core::sc_stop();
  }
  tlm::tlm_response_status access(bool write, uint64_t off, uint32_t& v, unsigned len = 4) {
    uint8_t buf[8] = {};
    for (int i = 0; i < 4; ++i) buf[i] = static_cast<uint8_t>(v >> (8 * i));
    tlm::tlm_generic_payload tx;
    tx.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    tx.set_address(off);
    tx.set_data_ptr(buf);
    tx.set_data_length(len);
    tx.set_streaming_width(len);
    tx.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(tx, delay);
    sc_core::wait(delay);
    if (!write) v = buf[0] | (buf[1] << 8) | (buf[2] << 16) | (uint32_t{buf[3]} << 24);
    return tx.get_response_status();
  }
  uint32_t rd(uint32_t off) {
    uint32_t v = 0;
    EXPECT_EQ(access(false, off, v), tlm::TLM_OK_RESPONSE) << "read 0x" << std::hex << off;
    return v;
  }
  void wr(uint32_t off, uint32_t v) {
    EXPECT_EQ(access(true, off, v), tlm::TLM_OK_RESPONSE) << "write 0x" << std::hex << off;
  }
  uint64_t rd64(uint32_t lo) { return rd(lo) | (uint64_t{rd(lo + 4)} << 32); }
};

struct Device {
  pnm::dram::DramTlm dram{"dram", dram_config(), pnm::dram::Fidelity::functional};
  pnm::datapath::DatapathTwin dp{16};
  pnm::dram::MemoryPort mem{dram.front_end(), dram.store(), "engine"};
  EngineTlm engine{"engine", default_config(), mem, dp};
  Host host{"host"};
  sc_core::sc_signal<bool> irq{"irq"};
  std::vector<unsigned> lines;
  Device() {
    host.socket.bind(engine.reg_socket);
    host.mem.bind(dram.mem_socket);
    engine.irq.bind(irq);
    engine.set_irq_callback([this](unsigned line) { lines.push_back(line); });
  }
};

AttentionJob topk_job() {
  AttentionJob j;
  j.opcode = PNM_JOB_OP_TOPK_TOKEN;
  j.heads = 8;
  j.kv_heads = 2;
  j.head_dim = 64;
  j.seq_len = 500;
  j.k = 50;
  j.scale = 0.125f;
  j.flags = PNM_JOB_FLAG_WRITE_INDICES;
  j.tag = 0xABCDEF0123456789ull;
  return j;
}

constexpr uint64_t kDesc = 0x40;

class EngineTlm : public pnm::test::SystemCTest {};

TEST_F(EngineTlm, RunsJobFromDescriptorRaisesIrqAndReportsStatus) {
  Device dev;
  std::mt19937_64 rng(1);
  AttentionJob j = topk_job();
  fill_job(j, dev.dram.store(), rng);
  const auto desc = encode(j);
  dev.dram.store().write(kDesc, desc.data(), desc.size());
  // The same job on a plain engine: the reference for O and the cycles.
  Rig ref;
  std::mt19937_64 rng2(1);
  fill_job(j, ref.store, rng2);

  bool checked = false;
  dev.host.body = [&](Host& h) {
    EXPECT_EQ(h.rd(PNM_ENG_ID_OFF), PNM_ENG_ID_VALUE);
    EXPECT_EQ(h.rd(PNM_ENG_VERSION_OFF), 1u);
    EXPECT_EQ(h.rd(PNM_ENG_CAPS_OFF) & 0xFF, 16u);
    EXPECT_EQ(h.rd(PNM_ENG_STATUS_OFF), PNM_ENG_STATUS_IDLE);
    h.wr(PNM_ENG_DESC_LO_OFF, static_cast<uint32_t>(kDesc));
    h.wr(PNM_ENG_DESC_HI_OFF, 0);
    const sc_core::sc_time t_start = sc_core::sc_time_stamp();
    h.wr(PNM_ENG_CTRL_OFF, PNM_ENG_CTRL_START);
    EXPECT_EQ(h.rd(PNM_ENG_STATUS_OFF), PNM_ENG_STATUS_BUSY);
    h.wr(PNM_ENG_CTRL_OFF, PNM_ENG_CTRL_START); // ignored while busy
    sc_core::wait(dev.engine.finished_event());
    EXPECT_EQ(h.rd(PNM_ENG_STATUS_OFF), PNM_ENG_STATUS_DONE);
    EXPECT_TRUE(dev.irq.read()); // the signal settles a delta after the event
    EXPECT_EQ(h.rd(PNM_ENG_ERROR_OFF), 0u);
    EXPECT_EQ(h.rd(PNM_ENG_JOBS_DONE_OFF), 1u);
    EXPECT_EQ(h.rd64(PNM_ENG_JOB_TAG_LO_OFF), j.tag);
    const JobResult& r = dev.engine.last_result();
    EXPECT_EQ(h.rd64(PNM_ENG_CYCLES_LO_OFF), r.engine_cycles);
    EXPECT_EQ(h.rd64(PNM_ENG_BYTES_RD_LO_OFF), r.counters.dram_bytes_read);
    EXPECT_EQ(h.rd64(PNM_ENG_BYTES_WR_LO_OFF), r.counters.dram_bytes_written);
    EXPECT_EQ(h.rd64(PNM_ENG_MACS_LO_OFF), r.counters.macs());
    EXPECT_GE(r.counters.dram_bytes_read, 2 * j.kv_bytes() / 10);
    // Done at the modelled end of the job (it started one register write in).
    const double took_ns = (sc_core::sc_time_stamp() - t_start).to_seconds() * 1e9;
    EXPECT_GT(took_ns, r.elapsed_ns * 0.9);
    EXPECT_LT(took_ns, r.elapsed_ns + 100);
    h.wr(PNM_ENG_STATUS_OFF, 0); // acknowledge
    EXPECT_EQ(h.rd(PNM_ENG_STATUS_OFF), PNM_ENG_STATUS_IDLE);
    sc_core::wait(sc_core::SC_ZERO_TIME);
    EXPECT_FALSE(dev.irq.read());
    checked = true;
  };
  sc_core::sc_start();
  ASSERT_TRUE(checked);
  ASSERT_EQ(dev.lines.size(), 1u);
  EXPECT_EQ(dev.lines[0], unsigned{PNM_IRQ_ENGINE_DONE});
  // Outputs equal the plain engine's (same data, same arithmetic).
  const JobResult rr = ref.engine.run(j, 0, Mode::functional);
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ(read_f32(dev.dram.store(), j.o_addr, j.o_bytes() / 4), read_f32(ref.store, j.o_addr, j.o_bytes() / 4));
  EXPECT_EQ(read_u32(dev.dram.store(), j.idx_addr, j.idx_bytes() / 4),
            read_u32(ref.store, j.idx_addr, j.idx_bytes() / 4));
}

TEST_F(EngineTlm, BadDescriptorsEndInErrorWithCodeAndIrq) {
  Device dev;
  AttentionJob j = topk_job();
  j.q_addr = 0x10000;
  j.k_addr = 0x20000;
  j.v_addr = 0x40000;
  j.o_addr = 0x60000;
  j.idx_addr = 0x70000;
  j.opcode = 7; // bad opcode
  const auto desc = encode(j);
  dev.dram.store().write(kDesc, desc.data(), desc.size());
  bool checked = false;
  dev.host.body = [&](Host& h) {
    h.wr(PNM_ENG_DESC_LO_OFF, static_cast<uint32_t>(kDesc));
    h.wr(PNM_ENG_CTRL_OFF, PNM_ENG_CTRL_START);
    sc_core::wait(dev.engine.finished_event());
    EXPECT_EQ(h.rd(PNM_ENG_STATUS_OFF), PNM_ENG_STATUS_ERROR);
    EXPECT_EQ(h.rd(PNM_ENG_ERROR_OFF), unsigned{PNM_JOB_ERR_BAD_OPCODE});
    EXPECT_TRUE(dev.irq.read());
    h.wr(PNM_ENG_STATUS_OFF, 0);
    // Misaligned descriptor pointer; error interrupt masked this time.
    h.wr(PNM_ENG_IRQ_EN_OFF, PNM_ENG_IRQ_EN_DONE);
    h.wr(PNM_ENG_DESC_LO_OFF, static_cast<uint32_t>(kDesc + 4));
    h.wr(PNM_ENG_CTRL_OFF, PNM_ENG_CTRL_START);
    sc_core::wait(dev.engine.finished_event());
    EXPECT_EQ(h.rd(PNM_ENG_STATUS_OFF), PNM_ENG_STATUS_ERROR);
    EXPECT_EQ(h.rd(PNM_ENG_ERROR_OFF), unsigned{PNM_JOB_ERR_DESC_ADDRESS});
    EXPECT_FALSE(dev.irq.read());
    // Beyond memory.
    h.wr(PNM_ENG_DESC_LO_OFF, 0);
    h.wr(PNM_ENG_DESC_HI_OFF, 0x100); // 1 TiB
    h.wr(PNM_ENG_CTRL_OFF, PNM_ENG_CTRL_START);
    sc_core::wait(dev.engine.finished_event());
    EXPECT_EQ(h.rd(PNM_ENG_ERROR_OFF), unsigned{PNM_JOB_ERR_DESC_ADDRESS});
    EXPECT_EQ(h.rd(PNM_ENG_JOBS_FAILED_OFF), 3u);
    EXPECT_EQ(h.rd(PNM_ENG_JOBS_DONE_OFF), 0u);
    checked = true;
  };
  sc_core::sc_start();
  ASSERT_TRUE(checked);
  ASSERT_EQ(dev.lines.size(), 1u); // the masked error raised no callback
  EXPECT_EQ(dev.lines[0], unsigned{PNM_IRQ_ENGINE_ERROR});
}

TEST_F(EngineTlm, RegisterAccessErrors) {
  Device dev;
  bool checked = false;
  dev.host.body = [&](Host& h) {
    uint32_t v = 1;
    EXPECT_EQ(h.access(false, 0x02, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);      // misaligned
    EXPECT_EQ(h.access(false, 0x00, v, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);   // 64-bit access
    EXPECT_EQ(h.access(false, 0x0C, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);      // hole
    EXPECT_EQ(h.access(false, 0x1000, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);    // past the file
    EXPECT_EQ(h.access(true, PNM_ENG_ID_OFF, v), tlm::TLM_COMMAND_ERROR_RESPONSE); // read-only
    EXPECT_EQ(h.access(true, PNM_ENG_CYCLES_LO_OFF, v), tlm::TLM_COMMAND_ERROR_RESPONSE);
    h.wr(PNM_ENG_DESC_HI_OFF, 0x12345678);
    EXPECT_EQ(h.rd(PNM_ENG_DESC_HI_OFF), 0x12345678u);
    EXPECT_EQ(h.rd(PNM_ENG_IRQ_EN_OFF), 3u);
    checked = true;
  };
  sc_core::sc_start();
  EXPECT_TRUE(checked);
  EXPECT_TRUE(dev.lines.empty());
}

} // namespace
