// Embedding pnmvp's device in a SystemC program of your own: one PNM CXL
// device from a shipped platform file, and this program's own TLM-2.0
// initiator on its CXL.mem port. It writes a few 64 B lines, reads them back,
// checks them and prints each access's latency as the device model timed it.
// The device's CXL.io sockets stay unbound: this host never touches them.
#include <pnmvp/common/resources.h>
#include <pnmvp/pnm_device.h>
#include <pnmvp/platform.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

namespace {

// The program's own report handler: pnmvp must leave it in place.
void my_handler(const sc_core::sc_report& rep, const sc_core::sc_actions& actions) {
  sc_core::sc_report_handler::default_handler(rep, actions);
}

constexpr unsigned kLineBytes = 64; // CXL.mem moves whole, aligned 64 B lines
constexpr unsigned kLines = 4;

struct Host : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Host> socket{"socket"};
  uint64_t base;
  bool ok = true;

  SC_HAS_PROCESS(Host);
  Host(sc_core::sc_module_name name, uint64_t hpa_base) : sc_module(name), base(hpa_base) { SC_THREAD(run); }

  // One blocking access; returns its latency in ns (the annotated delay the
  // device returns, waited for as an in-order host would).
  double access(tlm::tlm_command cmd, uint64_t hpa, unsigned char* data, unsigned len) {
    tlm::tlm_generic_payload tx;
    tx.set_command(cmd);
    tx.set_address(hpa);
    tx.set_data_ptr(data);
    tx.set_data_length(len);
    tx.set_streaming_width(len);
    tx.set_byte_enable_ptr(nullptr);
    tx.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    const sc_core::sc_time start = sc_core::sc_time_stamp();
    socket->b_transport(tx, delay);
    wait(delay);
    if (!tx.is_response_ok()) {
      std::printf("%s at 0x%llx failed: %s\n", cmd == tlm::TLM_WRITE_COMMAND ? "write" : "read",
                  static_cast<unsigned long long>(hpa), tx.get_response_string().c_str());
      ok = false;
    }
    return (sc_core::sc_time_stamp() - start).to_seconds() * 1e9;
  }

  void run() {
    for (unsigned i = 0; i < kLines; ++i) {
      unsigned char line[kLineBytes];
      for (unsigned b = 0; b < kLineBytes; ++b) line[b] = static_cast<unsigned char>(i * 31 + b);
      const uint64_t hpa = base + i * 4096; // a different DRAM page each
      const double ns = access(tlm::TLM_WRITE_COMMAND, hpa, line, kLineBytes);
      std::printf("write line %u at HPA 0x%llx: %.1f ns\n", i, static_cast<unsigned long long>(hpa), ns);
    }
    for (unsigned i = 0; i < kLines; ++i) {
      unsigned char line[kLineBytes] = {};
      const uint64_t hpa = base + i * 4096;
      const double ns = access(tlm::TLM_READ_COMMAND, hpa, line, kLineBytes);
      bool same = true;
      for (unsigned b = 0; b < kLineBytes; ++b) same = same && line[b] == static_cast<unsigned char>(i * 31 + b);
      std::printf("read  line %u at HPA 0x%llx: %.1f ns, %s\n", i, static_cast<unsigned long long>(hpa), ns,
                  same ? "data as written" : "DATA DIFFERS");
      ok = ok && same;
    }
    sc_core::sc_stop(); // the device's controller runs on; this host is done
  }
};

} // namespace

int sc_main(int argc, char** argv) {
  sc_core::sc_report_handler::set_handler(my_handler);
  const std::string platform = argc > 1 ? argv[1] : "pnm-ref";
  std::printf("platforms folder: %s\n", pnm::resources::platforms_dir().c_str());
  const pnm::PlatformConfig cfg = pnm::load_platform(pnm::resolve_platform(platform));
  if (cfg.controller.present && cfg.controller.firmware == "builtin")
    std::printf("controller firmware: %s\n", pnm::resources::firmware_elf().c_str());
  pnm::PnmDevice dev("dev", cfg);
  Host host("host", dev.hpa_base());
  host.socket.bind(dev.cxl_mem.host_socket); // the only socket this host binds
  sc_core::sc_start();
  if (sc_core::sc_report_handler::get_handler() != my_handler) {
    std::printf("the program's sc_report handler was replaced\n");
    return 1;
  }
  std::printf("%s: %s, %llu lines written and read over CXL.mem\n", host.ok ? "ok" : "FAILED",
              cfg.name.c_str(), static_cast<unsigned long long>(dev.cxl_mem.lines_read()));
  return host.ok ? 0 : 1;
}
