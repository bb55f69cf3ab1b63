// The DRAM's TLM face: data, timing returned through b_transport, error
// responses, DMI, and sparse backing for a huge device.
#include "../support/systemc_test.h"
#include "dram/dram_tlm.h"
#include "platform.h"

#include <cmath>
#include <functional>
#include <tlm_utils/simple_initiator_socket.h>

using namespace pnm;
using namespace pnm::dram;

namespace {
struct Host : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Host> mem_socket{"mem_socket"};
  std::function<void(Host&)> body;
  SC_HAS_PROCESS(Host);
  explicit Host(sc_core::sc_module_name n) : sc_module(n) { SC_THREAD(run); }
  void run() { body(*this); }
  // One access; returns the delay b_transport reported.
  sc_core::sc_time access(bool write, uint64_t addr, uint8_t* data, unsigned len,
                          tlm::tlm_response_status* status = nullptr) {
    tlm::tlm_generic_payload tx;
    tx.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    tx.set_address(addr);
    tx.set_data_ptr(data);
    tx.set_data_length(len);
    tx.set_streaming_width(len);
    tx.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    mem_socket->b_transport(tx, delay);
    if (status) *status = tx.get_response_status();
    return delay;
  }
};

DramSystemConfig dram_config(const char* name) {
  return load_platform(std::string(PNM_SOURCE_DIR) + "/platforms/" + name + ".json").dram;
}

class DramTlmTest : public pnm::test::SystemCTest {};
} // namespace

TEST_F(DramTlmTest, ReadReturnsWrittenDataWithCommandLevelDelay) {
  DramSystemConfig cfg = dram_config("ddr5-3200an-1ch");
  DramTlm mem("mem", cfg, Fidelity::command);
  Host host("host");
  host.mem_socket.bind(mem.mem_socket);
  sc_core::sc_time read_delay;
  std::vector<uint8_t> back(64);
  host.body = [&](Host& h) {
    std::vector<uint8_t> data(64);
    for (int i = 0; i < 64; ++i) data[i] = static_cast<uint8_t>(i * 3);
    h.access(true, 0x1000 + 64, data.data(), 64); // opens the row (ACT + WR)
    sc_core::wait(sc_core::sc_time(1, sc_core::SC_US)); // less than tREFI: no refresh closes the row
    read_delay = h.access(false, 0x1000 + 64, back.data(), 64);
    for (int i = 0; i < 64; ++i) EXPECT_EQ(back[i], static_cast<uint8_t>(i * 3));
  };
  sc_core::sc_start();
  const auto& T = cfg.spec.timing;
  // The row written before is still open (open-page policy): a row hit, so
  // data returns CL + BL/2 after the RD, which issues on the first cycle
  // boundary at or after the request (sc_time is not cycle-aligned here).
  const double start_ps = 1e6; // the read is issued at 1 us
  const double issue_ps = std::ceil(start_ps / T.tCK_ps) * T.tCK_ps;
  EXPECT_EQ(read_delay, sc_core::sc_time(issue_ps - start_ps + (T.CL + T.nBL) * T.tCK_ps,
                                         sc_core::SC_PS));
  EXPECT_EQ(mem.core().channel(0).counters().reads_served, 1u);
}

TEST_F(DramTlmTest, FirstReadToClosedBankTakesActivatePlusRead) {
  DramSystemConfig cfg = dram_config("ddr5-3200an-1ch");
  cfg.channel.refresh = false;
  DramTlm mem("mem", cfg, Fidelity::command);
  Host host("host");
  host.mem_socket.bind(mem.mem_socket);
  sc_core::sc_time d;
  host.body = [&](Host& h) {
    uint8_t buf[64];
    d = h.access(false, 0x40, buf, 64);
  };
  sc_core::sc_start();
  const auto& T = cfg.spec.timing;
  EXPECT_EQ(d, sc_core::sc_time((T.tRCD + T.CL + T.nBL) * T.tCK_ps, sc_core::SC_PS));
}

TEST_F(DramTlmTest, BulkReadStreamsNearPeak) {
  DramSystemConfig cfg = dram_config("ddr5-4800-8ch");
  DramTlm mem("mem", cfg, Fidelity::command);
  Host host("host");
  host.mem_socket.bind(mem.mem_socket);
  sc_core::sc_time d;
  const unsigned len = 1 << 20;
  host.body = [&](Host& h) {
    std::vector<uint8_t> buf(len);
    d = h.access(false, 0, buf.data(), len);
  };
  sc_core::sc_start();
  const double gbps = len / (d.to_seconds() * 1e9);
  EXPECT_GT(gbps, 0.85 * mem.core().peak_gbps());
  EXPECT_LE(gbps, mem.core().peak_gbps());
}

TEST_F(DramTlmTest, OutOfRangeAndUnsupportedAccessesGetErrorResponses) {
  DramSystemConfig cfg = dram_config("ddr5-4800-1ch");
  DramTlm mem("mem", cfg, Fidelity::command);
  Host host("host");
  host.mem_socket.bind(mem.mem_socket);
  const uint64_t cap = mem.core().capacity_bytes();
  tlm::tlm_response_status beyond, straddle, empty, be;
  host.body = [&](Host& h) {
    uint8_t buf[128] = {};
    h.access(false, cap, buf, 64, &beyond);
    h.access(true, cap - 64, buf, 128, &straddle);
    h.access(false, 0, buf, 0, &empty);
    tlm::tlm_generic_payload tx;
    uint8_t bytes[4] = {0xff, 0, 0xff, 0};
    tx.set_command(tlm::TLM_WRITE_COMMAND);
    tx.set_address(0);
    tx.set_data_ptr(buf);
    tx.set_data_length(4);
    tx.set_streaming_width(4);
    tx.set_byte_enable_ptr(bytes);
    tx.set_byte_enable_length(4);
    sc_core::sc_time dl;
    h.mem_socket->b_transport(tx, dl);
    be = tx.get_response_status();
  };
  sc_core::sc_start();
  EXPECT_EQ(beyond, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(straddle, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(empty, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(be, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
  EXPECT_EQ(mem.errors(), 4u);
  EXPECT_EQ(mem.store().allocated_pages(), 0u); // nothing was written
}

TEST_F(DramTlmTest, FunctionalModeGrantsDmiAndCommandModeRefuses) {
  DramSystemConfig cfg = dram_config("ddr5-4800-1ch");
  DramTlm fmem("fmem", cfg, Fidelity::functional);
  DramTlm cmem("cmem", cfg, Fidelity::command);
  Host fhost("fhost"), chost("chost");
  fhost.mem_socket.bind(fmem.mem_socket);
  chost.mem_socket.bind(cmem.mem_socket);
  fhost.body = chost.body = [](Host&) {};
  sc_core::sc_start(sc_core::SC_ZERO_TIME); // multi-sockets resolve their bindings at elaboration
  tlm::tlm_generic_payload tx;
  tlm::tlm_dmi dmi;
  tx.set_address(0x12345);
  ASSERT_TRUE(fhost.mem_socket->get_direct_mem_ptr(tx, dmi));
  EXPECT_LE(dmi.get_start_address(), 0x12345u);
  EXPECT_GE(dmi.get_end_address(), 0x12345u);
  dmi.get_dmi_ptr()[0x12345 - dmi.get_start_address()] = 0x5a;
  uint8_t b = 0;
  fmem.store().read(0x12345, &b, 1);
  EXPECT_EQ(b, 0x5a);
  EXPECT_FALSE(chost.mem_socket->get_direct_mem_ptr(tx, dmi));
}

TEST_F(DramTlmTest, HalfTerabyteDeviceIsSparse) {
  DramSystemConfig cfg = dram_config("ddr5-4800-8ch");
  cfg.channels = 64; // 64 x 8 GiB = 512 GiB
  DramTlm mem("mem", cfg, Fidelity::functional);
  ASSERT_EQ(mem.core().capacity_bytes(), 512ull << 30);
  uint8_t v = 7;
  mem.store().write((512ull << 30) - 1, &v, 1);
  mem.store().write(0, &v, 1);
  EXPECT_EQ(mem.store().allocated_pages(), 2u);
  uint8_t r = 0;
  mem.store().read((512ull << 30) - 1, &r, 1);
  EXPECT_EQ(r, 7);
}

// A line stream (protocol/line_stream.h): lines at scattered addresses,
// each entering at its own time, each answered with its own completion.
TEST_F(DramTlmTest, LineStreamLinesGetTheirOwnCompletionTimes) {
  DramSystemConfig cfg = dram_config("ddr5-4800-1ch");
  cfg.channel.refresh = false;
  DramTlm mem("mem", cfg, Fidelity::command);
  Host host("host");
  host.mem_socket.bind(mem.mem_socket);
  protocol::LineStreamExtension ext;
  ext.lines.resize(2);
  ext.lines[0].addr = 0x10000;
  ext.lines[0].arrive_ps = 2'000'000;
  ext.lines[1].addr = 0x800;
  ext.lines[1].arrive_ps = 1'000'000; // the second line arrives first
  std::vector<uint8_t> data(128);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i + 1);
  tlm::tlm_response_status st = tlm::TLM_INCOMPLETE_RESPONSE, bad = tlm::TLM_OK_RESPONSE;
  host.body = [&](Host& h) {
    tlm::tlm_generic_payload tx;
    protocol::set_stream(tx, tlm::TLM_WRITE_COMMAND, data.data(), ext);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    h.mem_socket->b_transport(tx, d);
    tx.clear_extension(&ext);
    st = tx.get_response_status();
    // One line beyond the DRAM refuses the whole stream, nothing written.
    protocol::LineStreamExtension beyond;
    beyond.lines.resize(2);
    beyond.lines[0].addr = 0x20000;
    beyond.lines[1].addr = mem.core().capacity_bytes();
    tlm::tlm_generic_payload tx2;
    protocol::set_stream(tx2, tlm::TLM_WRITE_COMMAND, data.data(), beyond);
    h.mem_socket->b_transport(tx2, d);
    tx2.clear_extension(&beyond);
    bad = tx2.get_response_status();
  };
  sc_core::sc_start();
  ASSERT_EQ(st, tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(bad, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  const auto& T = cfg.spec.timing;
  for (const protocol::StreamLine& l : ext.lines) {
    EXPECT_GE(l.done_ps, l.arrive_ps + (T.tRCD + T.nBL) * T.tCK_ps - T.tCK_ps); // at least ACT then data
    EXPECT_LE(l.done_ps, l.arrive_ps + 200'000);
    EXPECT_EQ(l.freed_ps, l.done_ps);
  }
  EXPECT_LT(ext.lines[1].done_ps, ext.lines[0].done_ps); // served as it arrived, not in index order
  std::vector<uint8_t> got(64);
  mem.store().read(0x800, got.data(), 64);
  EXPECT_EQ(got, std::vector<uint8_t>(data.begin() + 64, data.end()));
  mem.store().read(0x10000, got.data(), 64);
  EXPECT_EQ(got, std::vector<uint8_t>(data.begin(), data.begin() + 64));
  EXPECT_EQ(mem.store().allocated_pages(), 2u); // pages 0 and 1; not 2 (0x20000, refused)
}
