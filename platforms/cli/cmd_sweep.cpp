// pnmvp sweep: a grid of `pnmvp run` points (platforms x models x kernels x
// context lengths), each in its own process, up to --jobs at a time; one
// JSON report per point and a CSV summary for scripts/plot_sweep.py.
#include "commands.h"
#include "common/report.h"
#include "kernels/decode_kernels.h"
#include "system.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace pnm::cli {

namespace {
struct SweepOptions {
  std::vector<std::string> systems, platforms, models{"llama-3.1-8b"}, kernels;
  std::vector<uint32_t> contexts{4096, 16384, 65536, 131071}; // 131071 + the decoded token = 128K
  unsigned batch = 1, steps = 1, layers_simulated = 1, jobs = 1;
  uint32_t topk = 2048;
  std::string data = "auto", out;
  bool force = false;
};

struct Point {
  std::string flag, target; // "--system" NAME or "--platform" NAME
  std::string model, kernel;
  uint32_t context = 0;
  std::string report, log;
  pid_t pid = 0;
  int status = -1;
};

std::string self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("sweep: cannot find the pnmvp executable (/proc/self/exe)");
  return p.string();
}

std::string safe(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  return s;
}

pid_t spawn(const std::vector<std::string>& args, const std::string& log_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error(fmt::format("sweep: cannot start {}: {}", argv[0], std::strerror(rc)));
  return pid;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
} // namespace

std::function<int()> add_sweep(CLI::App& app, const Globals&) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* sub = app.add_subcommand("sweep", "a grid of `pnmvp run` points in parallel processes, with a CSV summary");
  add_list(sub, "--systems", o->systems, "system files or shipped names (comma-separated; default pnm-ref-system)");
  add_list(sub, "--platforms", o->platforms,
           "device files, each as the one device of the default system (comma-separated)");
  add_list(sub, "--models", o->models, "model shapes (comma-separated)");
  add_list(sub, "--kernels", o->kernels, "kernels (comma-separated; default all four)");
  add_list(sub, "--contexts", o->contexts, "context lengths in tokens (comma-separated)");
  sub->add_option("--batch", o->batch, "sequences per point")->capture_default_str();
  sub->add_option("--steps", o->steps, "decode steps per point")->capture_default_str();
  sub->add_option("--topk", o->topk, "top-k budget of pnm-topk / pnm-select")->capture_default_str();
  sub->add_option("--layers-simulated", o->layers_simulated, "layers simulated in detail")->capture_default_str();
  sub->add_option("--data", o->data, "auto, functional or timing (as pnmvp run)")
      ->check(CLI::IsMember({"auto", "functional", "timing"}))
      ->capture_default_str();
  sub->add_option("-j,--jobs", o->jobs, "points run at once (processes)")->check(CLI::Range(1u, 256u))->capture_default_str();
  sub->add_option("--out", o->out, "directory for the reports, logs and summary.csv")->required();
  sub->add_flag("--force", o->force, "replace an existing summary.csv and reports in --out");
  return [o]() -> int {
    std::vector<std::string> ks = o->kernels;
    if (ks.empty())
      for (auto k : kernels::all_kernels()) ks.push_back(kernels::kernel_name(k));
    for (const auto& k : ks) kernels::parse_kernel(k); // a typo fails before anything runs
    namespace fs = std::filesystem;
    const std::string csv_path = o->out + "/summary.csv";
    if (fs::exists(o->out) && !fs::is_directory(o->out))
      throw std::invalid_argument(fmt::format("--out {} exists and is not a directory", o->out));
    if (fs::exists(csv_path) && !o->force)
      throw std::invalid_argument(fmt::format("{} exists: pass --force to replace this sweep's results", csv_path));
    fs::create_directories(o->out);
    check_output_path(csv_path, "summary", true);
    std::vector<std::pair<std::string, std::string>> targets; // (flag, name)
    for (const auto& s : o->systems) targets.emplace_back("--system", s);
    for (const auto& p : o->platforms) targets.emplace_back("--platform", p);
    if (targets.empty()) targets.emplace_back("--system", kDefaultSystem);
    std::vector<Point> points;
    for (const auto& [flag, p] : targets)
      for (const auto& m : o->models)
        for (const auto& k : ks)
          for (uint32_t c : o->contexts) {
            Point pt;
            pt.flag = flag;
            pt.target = p;
            pt.model = m;
            pt.kernel = k;
            pt.context = c;
            const std::string stem = o->out + "/" + safe(fmt::format("{}_{}_{}_{}", fs::path(p).stem().string(),
                                                                    fs::path(m).stem().string(), k, c));
            pt.report = stem + ".json";
            pt.log = stem + ".log";
            if (fs::exists(pt.report) && !o->force)
              throw std::invalid_argument(fmt::format("{} exists: pass --force to replace it", pt.report));
            points.push_back(pt);
          }
    const std::string exe = self_exe();
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    size_t next = 0, done = 0, running = 0, failed = 0;
    std::map<pid_t, size_t> live;
    bool progress_shown = false;
    while (done < points.size()) {
      while (running < o->jobs && next < points.size()) {
        Point& pt = points[next];
        pt.pid = spawn({exe, "run", pt.flag, pt.target, "--model", pt.model, "--kernel", pt.kernel, "--context",
                        std::to_string(pt.context), "--batch", std::to_string(o->batch), "--steps",
                        std::to_string(o->steps), "--topk", std::to_string(o->topk), "--layers-simulated",
                        std::to_string(o->layers_simulated), "--data", o->data, "--report", pt.report, "--quiet",
                        "--force"},
                       pt.log);
        live[pt.pid] = next++;
        ++running;
      }
      int status = 0;
      const pid_t pid = waitpid(-1, &status, 0);
      if (pid < 0) throw std::runtime_error(fmt::format("sweep: waitpid: {}", std::strerror(errno)));
      auto it = live.find(pid);
      if (it == live.end()) continue;
      Point& pt = points[it->second];
      live.erase(it);
      pt.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      --running;
      ++done;
      if (pt.status != 0) ++failed;
      if (elapsed() > 3 || progress_shown) {
        progress_shown = true;
        std::cerr << fmt::format("\rsweep: {}/{} points done, {} running, {} failed, {:.0f} s   ", done, points.size(),
                                 running, failed, elapsed())
                  << std::flush;
      }
    }
    if (progress_shown) std::cerr << "\n";
    // The summary: one row per point that produced a report.
    std::vector<std::string> classes;
    std::vector<nlohmann::ordered_json> reports(points.size());
    for (size_t i = 0; i < points.size(); ++i) {
      if (points[i].status != 0) continue;
      std::ifstream in(points[i].report);
      reports[i] = nlohmann::ordered_json::parse(in);
      for (auto& [k, v] : reports[i]["energy_breakdown_uj"].items())
        if (std::find(classes.begin(), classes.end(), k) == classes.end()) classes.push_back(k);
    }
    std::ofstream csv(csv_path);
    csv << "system,platform,model,kernel,context,batch,topk,tokens_per_s,step_latency_us,energy_per_token_uj,"
           "link_bytes_per_token,dram_bandwidth_utilization,wall_s,report";
    for (const auto& c : classes) csv << ",energy_" << c << "_uj";
    csv << "\n";
    for (size_t i = 0; i < points.size(); ++i) {
      const auto& r = reports[i];
      if (r.is_null()) continue;
      csv << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{}", csv_field(r["system"].get<std::string>()),
                         csv_field(r["platform"].get<std::string>()),
                         csv_field(r["model"].get<std::string>()), r["kernel"].get<std::string>(),
                         r["context"].get<uint64_t>(), r["batch"].get<uint64_t>(), r["topk"].get<uint64_t>(),
                         r["tokens_per_s"].get<double>(), r["step_latency_us"].get<double>(),
                         r["energy_per_token_uj"].get<double>(), r["link_bytes_per_token"].get<double>(),
                         r["dram_bandwidth_utilization"].get<double>(), r["wall_s"].get<double>(),
                         csv_field(fs::path(points[i].report).filename().string()));
      for (const auto& c : classes)
        csv << "," << (r["energy_breakdown_uj"].contains(c) ? r["energy_breakdown_uj"][c].get<double>() : 0.0);
      csv << "\n";
    }
    csv.close();
    std::cout << fmt::format("sweep: {} points in {:.1f} s, summary in {}\n", points.size(), elapsed(), csv_path);
    for (const auto& pt : points)
      if (pt.status != 0)
        std::cerr << fmt::format("sweep: {} {} {} context {} failed (exit {}); see {}\n", pt.target, pt.model,
                                 pt.kernel, pt.context, pt.status, pt.log);
    return failed ? 1 : 0;
  };
}

} // namespace pnm::cli
