// Attention engine speed, memory and bandwidth: timing-only decode steps
// (one layer's attention for one new token) on the reference device, each
// in its own child process so peak RSS is its own.
//   bench_engine [--platform NAME] [--engine FILE] [--tokens N]
// Workloads (head_dim 128, BF16, 32 query heads, 8 KV heads):
//   top-k 2048 tokens, dense, and select, at 256K tokens and at --tokens
//   (default 1M). Prints simulated time, DRAM read bandwidth (% of peak),
//   engine and DRAM energy, wall time, simulated bursts per wall second and
//   peak RSS.
#include "common/log.h"
#include "common/rss.h"
#include "common/stats.h"
#include "platform.h"
#include "pnm/datapath_twin.h"
#include "pnm/engine.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace pnm;
using namespace pnm::engine;

extern "C" int sc_main(int, char**) { return 1; } // libsystemc needs the symbol

namespace {

struct Figures {
  double sim_ms, gbps, pct_peak, engine_uj, dram_uj, wall_s, mbursts_per_s, rss_mib;
  int error;
};

AttentionJob make_job(uint8_t op, uint32_t tokens) {
  AttentionJob j;
  j.opcode = op;
  j.heads = 32;
  j.kv_heads = 8;
  j.head_dim = 128;
  j.seq_len = tokens;
  j.scale = 0.088f;
  if (op != PNM_JOB_OP_DENSE) j.k = 2048;
  j.q_addr = 0;
  j.k_addr = 1 << 20;
  j.v_addr = j.k_addr + j.kv_bytes();
  j.o_addr = j.v_addr + j.kv_bytes();
  j.idx_addr = j.o_addr + (1 << 20);
  return j;
}

Figures run(const PlatformConfig& pc, const EngineConfig& ec, uint8_t op, uint32_t tokens) {
  dram::DramSystem dram(pc.dram);
  dram::SparseStore store(dram.capacity_bytes());
  dram::MemoryFrontEnd fe(dram);
  dram::MemoryPort mem(fe, store, "engine");
  datapath::DatapathTwin dp(16);
  AttentionEngine engine(ec, mem, dp);
  const auto t0 = std::chrono::steady_clock::now();
  const JobResult r = engine.run(make_job(op, tokens), 0, Mode::timing_only);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  StatGroup g("dram");
  dram.report(g, r.end_dram_cycle);
  const double dram_pj = g.find_group("energy_pj")->value("total");
  return {r.elapsed_ns * 1e-6,
          r.read_gbps(),
          100 * r.read_gbps() / dram.peak_gbps(),
          r.energy_pj.total() * 1e-6,
          dram_pj * 1e-6,
          wall,
          r.counters.dram_read_bursts / wall * 1e-6,
          peak_rss_mib(),
          static_cast<int>(r.error)};
}

bool in_child(const PlatformConfig& pc, const EngineConfig& ec, uint8_t op, uint32_t tokens, Figures& out) {
  int fd[2];
  if (pipe(fd) != 0) return false;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    Figures f{};
    try {
      f = run(pc, ec, op, tokens);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_engine: %s\n", e.what());
      _exit(1);
    }
    const ssize_t w = write(fd[1], &f, sizeof f);
    _exit(w == sizeof f ? 0 : 1);
  }
  close(fd[1]);
  const ssize_t got = read(fd[0], &out, sizeof out);
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return got == sizeof out && WIFEXITED(status) && WEXITSTATUS(status) == 0 && out.error == 0;
}

int usage() {
  std::fprintf(stderr, "usage: bench_engine [--platform NAME] [--engine FILE] [--tokens N (1..16777216)]\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  pnm::log::install_report_handler(); // pnmvp's one-line reports on stderr
  std::string platform = "ddr5-4800-8ch", engine_file = default_engine_file();
  unsigned long long tokens = 1 << 20;
  if (argc % 2 == 0) return usage();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--platform")) platform = argv[i + 1];
    else if (!std::strcmp(argv[i], "--engine")) engine_file = argv[i + 1];
    else if (!std::strcmp(argv[i], "--tokens")) tokens = std::strtoull(argv[i + 1], nullptr, 10);
    else return usage();
  }
  if (tokens == 0 || tokens > kMaxSeqLen) return usage();
  try {
    const PlatformConfig pc = load_platform(resolve_platform(platform));
    const EngineConfig ec = load_engine_file(engine_file);
    std::printf("platform %s, engine %s; one decode step of one layer: 32 query heads, 8 KV heads, "
                "head_dim 128, BF16, timing-only\n", platform.c_str(), engine_file.c_str());
    std::printf("%-16s %9s %10s %9s %7s %10s %10s %8s %10s %9s\n", "workload", "tokens", "sim ms",
                "GB/s", "% peak", "engine uJ", "DRAM uJ", "wall s", "Mburst/s", "RSS MiB");
    const struct {
      const char* name;
      uint8_t op;
    } ops[] = {{"top-k 2048", PNM_JOB_OP_TOPK_TOKEN}, {"dense", PNM_JOB_OP_DENSE}, {"select 2048", PNM_JOB_OP_SELECT}};
    for (uint32_t n : {uint32_t{256 * 1024}, static_cast<uint32_t>(tokens)}) {
      for (const auto& o : ops) {
        Figures f{};
        if (!in_child(pc, ec, o.op, n, f)) {
          std::fprintf(stderr, "bench_engine: workload %s at %u tokens failed\n", o.name, n);
          return 1;
        }
        std::printf("%-16s %9u %10.3f %9.2f %7.1f %10.1f %10.1f %8.2f %10.2f %9.1f\n", o.name, n, f.sim_ms,
                    f.gbps, f.pct_peak, f.engine_uj, f.dram_uj, f.wall_s, f.mbursts_per_s, f.rss_mib);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_engine: %s\n", e.what());
    return 1;
  }
  return 0;
}
