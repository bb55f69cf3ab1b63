// The CXL.mem port in SystemC: host -> link module(s) -> controller -> a
// line-stream memory. One link is the device's port; two chained links are
// the shape of a switch hop (host -> switch -> device): latency adds one
// more traversal each way, bandwidth stays that of the slower link, and
// both links keep their own credits (all in their Link).
#include "../support/systemc_test.h"
#include "cxl/cxl_link.h"
#include "cxl/cxl_mem_controller.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include "common/sim_kernel.h"

using namespace pnm::cxl;
using pnm::protocol::LineStreamExtension;
using pnm::protocol::StreamLine;

namespace {
constexpr uint64_t base = 4ull << 30;
constexpr Picos ctrl = 5'000, mem_lat = 40'000;

// Device memory that serves every line a fixed time after it arrives
// (no bandwidth limit of its own: the links set the pace).
struct LineMemory : sc_core::sc_module {
  tlm_utils::simple_target_socket<LineMemory> socket{"socket"};
  std::vector<unsigned char> bytes = std::vector<unsigned char>(1 << 24);
  explicit LineMemory(sc_core::sc_module_name n) : sc_module(n) {
    socket.register_b_transport(this, &LineMemory::b_transport);
  }
  void b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time&) {
    auto* ext = tx.get_extension<LineStreamExtension>();
    ASSERT_NE(ext, nullptr);
    for (size_t i = 0; i < ext->lines.size(); ++i) {
      StreamLine& l = ext->lines[i];
      unsigned char* d = tx.get_data_ptr() + 64 * i;
      if (tx.is_write()) std::memcpy(&bytes.at(l.addr), d, 64);
      else std::memcpy(d, &bytes.at(l.addr), 64);
      l.done_ps = l.freed_ps = l.arrive_ps + mem_lat;
    }
    tx.set_response_status(tlm::TLM_OK_RESPONSE);
  }
};

struct Host : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Host> socket{"socket"};
  std::function<void(Host&)> program;
  SC_HAS_PROCESS(Host);
  explicit Host(sc_core::sc_module_name n) : sc_module(n) { SC_THREAD(run); }
  void run() { program(*this); }
  // A blocking access of whole lines; returns its latency in ps.
  Picos access(bool write, uint64_t hpa, std::vector<unsigned char>& buf, tlm::tlm_response_status* st = nullptr) {
    tlm::tlm_generic_payload tx;
    tx.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    tx.set_address(hpa);
    tx.set_data_ptr(buf.data());
    tx.set_data_length(static_cast<unsigned>(buf.size()));
    tx.set_streaming_width(static_cast<unsigned>(buf.size()));
    const sc_core::sc_time t0 = sc_core::sc_time_stamp();
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    socket->b_transport(tx, d);
    sc_core::wait(d);
    if (st) *st = tx.get_response_status();
    else EXPECT_EQ(tx.get_response_status(), tlm::TLM_OK_RESPONSE);
    return static_cast<Picos>((sc_core::sc_time_stamp() - t0).to_seconds() * 1e12 + 0.5);
  }
};

// host -> links[0] -> ... -> links[n-1] -> controller -> memory
struct Chain {
  CxlIoRegs regs{CxlIoConfig{}};
  std::vector<std::unique_ptr<CxlLink>> links;
  CxlMemController controller{"controller", ctrl, regs};
  LineMemory mem{"mem"};
  Host host{"host"};
  explicit Chain(const std::vector<LinkConfig>& cfgs) {
    HdmProgram p;
    p.base = base;
    p.size = 1ull << 30;
    EXPECT_TRUE(regs.hdm().program(0, p));
    for (size_t i = 0; i < cfgs.size(); ++i) {
      links.push_back(std::make_unique<CxlLink>(("link" + std::to_string(i)).c_str(), cfgs[i]));
      if (i) links[i - 1]->down_socket.bind(links[i]->up_socket);
    }
    host.socket.bind(links.front()->up_socket);
    links.back()->down_socket.bind(controller.link_socket);
    controller.dram_socket.bind(mem.socket);
  }
};

// One line's read round trip over a fresh plain Link whose far port answers
// at once: what one more link in the path adds.
Picos one_traversal(const LinkConfig& cfg) {
  Link l(cfg);
  std::vector<LineTrip> t(1);
  l.forward(false, t, 0);
  t[0].freed_ps = t[0].done_ps = t[0].arrive_ps;
  l.back(false, t, 0, 1);
  return t[0].back_ps;
}

// A kernel elaborates once: each simulation in a test gets a fresh one (the
// old one is leaked on purpose, as in SystemCTest).
void fresh_kernel() {
  pnm::fresh_sim_kernel();
}

Picos idle_read(const std::vector<LinkConfig>& cfgs) {
  fresh_kernel();
  Chain c(cfgs);
  Picos lat = 0;
  c.host.program = [&](Host& h) {
    std::vector<unsigned char> buf(64);
    sc_core::wait(1, sc_core::SC_US);
    lat = h.access(false, base + 0x4000, buf);
  };
  sc_core::sc_start();
  return lat;
}

double read_gbps(const std::vector<LinkConfig>& cfgs) {
  fresh_kernel();
  Chain c(cfgs);
  const size_t chunk = 1 << 20, chunks = 4;
  Picos total = 0;
  c.host.program = [&](Host& h) {
    std::vector<unsigned char> buf(chunk);
    for (size_t i = 0; i < chunks; ++i) total += h.access(false, base + i * chunk, buf);
  };
  sc_core::sc_start();
  for (auto& l : c.links) EXPECT_EQ(l->link().down.outstanding(MsgClass::m2s_req), 0u); // all credits back
  return double(chunk * chunks) / (total * 1e-3); // B/ns = GB/s
}

double drs_limit(const LinkConfig& cfg) {
  MessageMix mix;
  mix[MsgClass::s2m_drs] = 1'000'000;
  return effective_line_gbytes_per_s(cfg, Direction::s2m, mix);
}

class CxlLinkChainTest : public pnm::test::SystemCTest {};
} // namespace

TEST_F(CxlLinkChainTest, OneLinkIdleReadIsTheLinkRoundTripPlusTheDevice) {
  const LinkConfig g5 = LinkConfig::pcie_gen5(16);
  EXPECT_EQ(idle_read({g5}), one_traversal(g5) + 2 * ctrl + mem_lat);
}

TEST_F(CxlLinkChainTest, ASwitchHopAddsOneMoreTraversalEachWay) {
  const LinkConfig g5 = LinkConfig::pcie_gen5(16), g5x4 = LinkConfig::pcie_gen5(4);
  const Picos device = 2 * ctrl + mem_lat;
  EXPECT_EQ(idle_read({g5, g5}), 2 * one_traversal(g5) + device);
  EXPECT_EQ(idle_read({g5, g5x4}), one_traversal(g5) + one_traversal(g5x4) + device);
}

TEST_F(CxlLinkChainTest, BandwidthThroughAHopIsThatOfTheSlowerLink) {
  const LinkConfig fast = LinkConfig::pcie_gen5(16), slow = LinkConfig::pcie_gen5(4);
  const double alone = read_gbps({slow}), limit = drs_limit(slow);
  EXPECT_LE(alone, limit * 1.0001);
  EXPECT_GE(alone, 0.9 * limit);
  for (const auto& path : {std::vector<LinkConfig>{fast, slow}, std::vector<LinkConfig>{slow, fast}}) {
    const double g = read_gbps(path);
    EXPECT_LE(g, limit * 1.0001);
    EXPECT_GE(g, 0.95 * alone); // the fast link costs only its latency
  }
  EXPECT_GT(read_gbps({fast}), 3 * limit); // the fast one alone is much faster
}

TEST_F(CxlLinkChainTest, DataPoisonAndErrorsCrossAHop) {
  const LinkConfig g5 = LinkConfig::pcie_gen5(16);
  Chain c({g5, g5});
  c.controller.core().inject_poison(0x2080);
  tlm::tlm_response_status bad_hpa = tlm::TLM_OK_RESPONSE, poisoned = tlm::TLM_OK_RESPONSE;
  std::vector<unsigned char> back(512);
  c.host.program = [&](Host& h) {
    std::vector<unsigned char> data(512);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>(i * 7 + 3);
    h.access(true, base + 0x1000, data);
    h.access(false, base + 0x1000, back);
    EXPECT_EQ(back, data);
    std::vector<unsigned char> two(128);
    h.access(false, base + (1ull << 30) - 64, two, &bad_hpa); // straddles the end: no wrap
    h.access(false, base + 0x2040, two, &poisoned);
  };
  sc_core::sc_start();
  EXPECT_EQ(bad_hpa, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(poisoned, tlm::TLM_GENERIC_ERROR_RESPONSE);
  EXPECT_EQ(c.controller.core().errors(), 1u);
  EXPECT_EQ(c.controller.core().poisoned_reads(), 1u);
  // Each link carried every line once each way: 8 + 8 + 2 requests.
  for (auto& l : c.links) EXPECT_EQ(l->link().down.stats().messages[size_t(MsgClass::m2s_rwd)], 8u);
  for (auto& l : c.links) EXPECT_EQ(l->link().down.stats().messages[size_t(MsgClass::m2s_req)], 10u);
}
