// DRAM model speed and memory: simulated requests per wall second and peak
// RSS, each workload in its own child process so RSS is its own.
//   bench_dram [--platform NAME] [--requests N]
// Workloads: 1M sequential reads, 1M random reads (synthetic), and the same
// random reads streamed from a Ramulator 2 trace file (flat memory however
// long the trace).
#include "common/log.h"
#include "common/rss.h"
#include "dram/dram_replay.h"
#include "platform.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace pnm;
using namespace pnm::dram;

extern "C" int sc_main(int, char**) { return 1; } // libsystemc needs the symbol

namespace {
struct Figures {
  double mreq_per_s, rss_mib, gbps, pct_peak;
};

Figures run(const PlatformConfig& pc, const std::string& kind, uint64_t n, const std::string& trace) {
  DramSystem dram(pc.dram);
  std::unique_ptr<RequestSource> src;
  if (kind == "trace") src = std::make_unique<TraceFileSource>(trace, dram.capacity_bytes());
  else src = std::make_unique<SyntheticSource>(parse_pattern(kind), n, dram.capacity_bytes(), 64);
  ReplayResult r = replay(dram, *src);
  const double gbps = r.requests * 64.0 / (r.end_cycle * dram.tck_ns());
  return {r.requests / r.wall_s * 1e-6, peak_rss_mib(), gbps, 100 * gbps / dram.peak_gbps()};
}

// Runs `run` in a child so peak RSS belongs to that workload alone.
bool in_child(const PlatformConfig& pc, const std::string& kind, uint64_t n,
              const std::string& trace, Figures& out) {
  int fd[2];
  if (pipe(fd) != 0) return false;
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    Figures f = run(pc, kind, n, trace);
    ssize_t w = write(fd[1], &f, sizeof f);
    _exit(w == sizeof f ? 0 : 1);
  }
  close(fd[1]);
  ssize_t got = read(fd[0], &out, sizeof out);
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return got == sizeof out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
} // namespace

int main(int argc, char** argv) {
  pnm::log::install_report_handler(); // pnmvp's one-line reports on stderr
  std::string platform = "ddr5-3200an-1ch";
  uint64_t n = 1000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--platform")) platform = argv[i + 1];
    else if (!std::strcmp(argv[i], "--requests")) n = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: bench_dram [--platform NAME] [--requests N]\n");
      return 2;
    }
  }
  if (argc % 2 == 0 || n == 0) {
    std::fprintf(stderr, "usage: bench_dram [--platform NAME] [--requests N]\n");
    return 2;
  }
  try {
    PlatformConfig pc = load_platform(resolve_platform(platform));
    // The trace file: the random workload written out, then streamed back.
    std::string trace = fmt::format("/tmp/pnmvp_bench_{}.trace", getpid());
    {
      DramSystem dram(pc.dram);
      SyntheticSource src(Pattern::random, n, dram.capacity_bytes(), 64);
      std::ofstream out(trace);
      TraceRequest r;
      while (src.next(r)) out << fmt::format("LD 0x{:x}\n", r.addr);
    }
    std::printf("platform %s, %llu requests per workload, one core\n", platform.c_str(),
                static_cast<unsigned long long>(n));
    std::printf("%-22s %14s %14s %12s %10s\n", "workload", "M requests/s", "peak RSS MiB",
                "GB/s", "% peak");
    for (const char* kind : {"seq", "random", "trace"}) {
      Figures f{};
      if (!in_child(pc, kind, n, trace, f)) {
        std::fprintf(stderr, "bench_dram: workload %s failed\n", kind);
        std::remove(trace.c_str());
        return 1;
      }
      std::printf("%-22s %14.2f %14.1f %12.2f %10.1f\n",
                  std::string(kind) == "trace" ? "random, from trace file" : kind, f.mreq_per_s,
                  f.rss_mib, f.gbps, f.pct_peak);
    }
    std::remove(trace.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_dram: %s\n", e.what());
    return 1;
  }
  return 0;
}
