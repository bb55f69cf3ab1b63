// pnmvp sweep: a grid of `pnmvp run` points (platforms x models x kernels x
// context lengths), or with --serve of `pnmvp serve` points (systems x models
// x policies x arrival-rate scales), each in its own process, up to --jobs at
// a time; one JSON report per point and a CSV summary for
// scripts/plot_sweep.py and scripts/plot_serve.py.
#include "commands.h"
#include "common/report.h"
#include "kernels/decode_kernels.h"
#include "serving/serve_sim.h"
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
#include <set>
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
  bool json = false;
  // Serve points (--serve): policies x arrival-rate scales x systems x models.
  bool serve = false;
  std::vector<std::string> policies;
  std::vector<double> rate_scales{1.0};
  size_t requests = 0;
  std::string workload, fidelity = "calibrated";
  double slo_ttft_ms = 0, slo_tbt_ms = 0;
  uint32_t max_context = 0;
  std::string too_long = "refuse";
  double kv_hbm_gib = 0;
  bool sparse_attention = false;
};

struct Point {
  std::vector<std::string> args; // the pnmvp command line after the executable
  std::string label;             // for messages
  std::string report, log;
  pid_t pid = 0;
  int status = -1;
};

// A name or file for point labels: the file name without ".json" (names
// such as llama-3.1-8b keep their dots: a stem would cut them to llama-3).
std::string file_label(const std::string& name_or_path) {
  std::string f = std::filesystem::path(name_or_path).filename().string();
  if (f.size() > 5 && f.compare(f.size() - 5, 5, ".json") == 0) f.resize(f.size() - 5);
  return f;
}

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
  posix_spawn_file_actions_addopen(&fa, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
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

// A report's number as a CSV field; empty when the report lacks it (the
// plots then leave out the reference line it would give).
std::string optional_number(const nlohmann::ordered_json& r, const char* key) {
  return r.contains(key) && r[key].is_number() ? fmt::format("{}", r[key].get<double>()) : std::string();
}

// One row per `run` point that produced a report.
void write_run_summary(std::ostream& csv, const std::vector<Point>& points,
                       const std::vector<nlohmann::ordered_json>& reports) {
  namespace fs = std::filesystem;
  std::vector<std::string> classes;
  for (const auto& r : reports)
    if (!r.is_null())
      for (auto& [k, v] : r["energy_breakdown_uj"].items())
        if (std::find(classes.begin(), classes.end(), k) == classes.end()) classes.push_back(k);
  csv << "system,platform,model,kernel,context,batch,topk,tokens_per_s,step_latency_us,energy_per_token_uj,"
         "link_bytes_per_token,dram_bandwidth_utilization,dram_peak_gbps,dram_refresh_ceiling,link_gbps,wall_s,report";
  for (const auto& c : classes) csv << ",energy_" << c << "_uj";
  csv << "\n";
  for (size_t i = 0; i < points.size(); ++i) {
    const auto& r = reports[i];
    if (r.is_null()) continue;
    csv << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}", csv_field(r["system"].get<std::string>()),
                       csv_field(r["platform"].get<std::string>()), csv_field(r["model"].get<std::string>()),
                       r["kernel"].get<std::string>(), r["context"].get<uint64_t>(), r["batch"].get<uint64_t>(),
                       r["topk"].get<uint64_t>(), r["tokens_per_s"].get<double>(), r["step_latency_us"].get<double>(),
                       r["energy_per_token_uj"].get<double>(), r["link_bytes_per_token"].get<double>(),
                       r["dram_bandwidth_utilization"].get<double>(), optional_number(r, "dram_peak_gbps"),
                       optional_number(r, "dram_refresh_ceiling"), optional_number(r, "link_gbps"),
                       r["wall_s"].get<double>(), csv_field(fs::path(points[i].report).filename().string()));
    for (const auto& c : classes)
      csv << "," << (r["energy_breakdown_uj"].contains(c) ? r["energy_breakdown_uj"][c].get<double>() : 0.0);
    csv << "\n";
  }
}

// One row per `serve` point that produced a report.
void write_serve_summary(std::ostream& csv, const std::vector<Point>& points,
                         const std::vector<nlohmann::ordered_json>& reports) {
  namespace fs = std::filesystem;
  csv << "system,model,policy,rate_scale,offered_requests_per_s,requests,completed,output_tokens_per_s,requests_per_s,"
         "goodput_requests_per_s,ttft_p50_ms,ttft_p99_ms,tbt_p50_ms,tbt_p99_ms,e2e_p50_ms,"
         "energy_per_output_token_mj,link_bytes_per_output_token,nic_bytes_per_output_token,link_gbps,"
         "dram_refresh_ceiling,topk,wall_s,report\n";
  for (size_t i = 0; i < points.size(); ++i) {
    const auto& r = reports[i];
    if (r.is_null()) continue;
    const auto& w = r["workload"];
    const double dur = w["duration_s"].get<double>();
    csv << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                       csv_field(r["system"].get<std::string>()), csv_field(r["model"].get<std::string>()),
                       r["policy"].get<std::string>(), w["rate_scale"].get<double>(),
                       dur > 0 ? w["requests"].get<double>() / dur : 0.0, r["requests"].get<uint64_t>(),
                       r["completed"].get<uint64_t>(), r["output_tokens_per_s"].get<double>(),
                       r["requests_per_s"].get<double>(), r["goodput_requests_per_s"].get<double>(),
                       r["ttft_ms"]["p50"].get<double>(), r["ttft_ms"]["p99"].get<double>(),
                       r["tbt_ms"]["p50"].get<double>(), r["tbt_ms"]["p99"].get<double>(),
                       r["e2e_ms"]["p50"].get<double>(), r["energy_per_output_token_mj"].get<double>(),
                       r["link_bytes_per_output_token"].get<double>(), r["nic_bytes_per_output_token"].get<double>(),
                       optional_number(r, "link_gbps"), optional_number(r, "dram_refresh_ceiling"),
                       optional_number(r, "topk"), r["wall_s"].get<double>(),
                       csv_field(fs::path(points[i].report).filename().string()));
  }
}
} // namespace

std::function<int()> add_sweep(CLI::App& app, const Globals&) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* sub = app.add_subcommand("sweep", "a grid of `pnmvp run` points in parallel processes, with a CSV summary");
  add_list(sub, "--systems,--system", o->systems, "system files or shipped names (comma-separated; default pnm-ref-system)");
  add_list(sub, "--platforms,--platform", o->platforms,
           "device files, each as the one device of the default system (comma-separated)");
  add_list(sub, "--models,--model", o->models, "model shapes (comma-separated)");
  add_list(sub, "--kernels,--kernel", o->kernels, "kernels (comma-separated; default all four)");
  add_list(sub, "--contexts,--context", o->contexts, "context lengths in tokens (comma-separated)");
  sub->add_option("--batch", o->batch, "sequences per point")->capture_default_str();
  sub->add_option("--steps", o->steps, "decode steps per point")->capture_default_str();
  sub->add_option("--topk", o->topk, "top-k budget of pnm-topk / pnm-select")->capture_default_str();
  sub->add_option("--layers-simulated", o->layers_simulated, "layers simulated in detail")->capture_default_str();
  sub->add_option("--data", o->data, "auto, functional or timing (as pnmvp run)")
      ->check(CLI::IsMember({"auto", "functional", "timing"}))
      ->capture_default_str();
  sub->add_option("-j,--jobs", o->jobs, "points run at once (processes)")->check(CLI::Range(1u, 256u))->capture_default_str();
  sub->add_option("--out", o->out, "directory for the reports, logs and summary.csv")->required();
  sub->add_flag("--force", o->force, "replace an existing summary.csv, reports and logs in --out (files pnmvp wrote)");
  sub->add_flag("--json", o->json, "print the sweep's outcome as one JSON object (schema pnmvp.sweep.v1) instead of "
                                   "the summary line");
  sub->add_flag("--serve", o->serve, "sweep `pnmvp serve` points (policies x rate scales x systems x models)");
  add_list(sub, "--policies,--policy", o->policies, "serve: KV policies (comma-separated; default all five)");
  add_list(sub, "--rate-scales,--rate-scale", o->rate_scales, "serve: arrival-rate scales (comma-separated)");
  sub->add_option("--requests", o->requests, "serve: the first N requests of the workload (0: all)");
  sub->add_option("--workload", o->workload, "serve: request trace (default: the shipped Mooncake trace)");
  sub->add_option("--fidelity", o->fidelity, "serve: calibrated | detailed")
      ->check(CLI::IsMember({"calibrated", "detailed"}))->capture_default_str();
  sub->add_option("--slo-ttft-ms", o->slo_ttft_ms, "serve: TTFT objective of goodput")->check(finite_in(0, HUGE_VAL));
  sub->add_option("--slo-tbt-ms", o->slo_tbt_ms, "serve: mean-TBT objective of goodput")->check(finite_in(0, HUGE_VAL));
  sub->add_option("--max-context", o->max_context, "serve: longest prompt + output (default: the model's context)");
  sub->add_option("--too-long", o->too_long, "serve: requests beyond the context: refuse | cap")
      ->check(CLI::IsMember({"refuse", "cap"}));
  sub->add_option("--kv-hbm-gib", o->kv_hbm_gib, "serve: at most this much HBM for KV, GiB")
      ->check(finite_in(0, HUGE_VAL));
  sub->add_flag("--sparse-attention", o->sparse_attention, "serve: top-k sparse attention (--topk tokens per step)");
  return [o]() -> int {
    namespace fs = std::filesystem;
    const std::string csv_path = o->out + "/summary.csv";
    if (fs::exists(o->out) && !fs::is_directory(o->out))
      throw std::invalid_argument(fmt::format("--out {} exists and is not a directory", o->out));
    if (fs::exists(csv_path) && !o->force)
      throw std::invalid_argument(fmt::format("{} exists: pass --force to replace this sweep's results", csv_path));
    for (const auto& f : o->systems) note_cli_input(f, "system file", "--systems");
    for (const auto& f : o->platforms) note_cli_input(f, "platform file", "--platforms");
    for (const auto& f : o->models) note_cli_input(f, "model file", "--models");
    note_cli_input(o->workload, "request trace", "--workload");
    std::vector<std::pair<std::string, std::string>> targets; // (flag, name)
    for (const auto& s : o->systems) targets.emplace_back("--system", s);
    for (const auto& p : o->platforms) targets.emplace_back("--platform", p);
    if (targets.empty()) targets.emplace_back("--system", kDefaultSystem);
    std::vector<Point> points;
    // A point's identity: its arguments, with each file among them by its
    // canonical path (./a.json and a.json are one platform).
    std::set<std::vector<std::string>> seen_points;
    std::map<std::string, unsigned> names; // report stem -> points using it
    auto add_point = [&](std::vector<std::string> args, const std::string& name, std::string label) {
      std::vector<std::string> key;
      for (const std::string& a : args) {
        std::error_code ec;
        const fs::path c = fs::is_regular_file(a, ec) ? fs::canonical(a, ec) : fs::path();
        key.push_back(ec || c.empty() ? a : c.string());
      }
      if (!seen_points.insert(key).second) {
        std::cerr << fmt::format("sweep: {} is given twice in the grid; it runs once\n", label);
        return;
      }
      Point pt;
      // Two points with one name (platforms a/pnm-ref.json and b/pnm-ref.json)
      // get a report each: the second is <name>-2, and so on, in grid order.
      const unsigned n = ++names[safe(name)];
      const std::string stem = o->out + "/" + safe(name) + (n > 1 ? fmt::format("-{}", n) : "");
      pt.report = stem + ".json";
      pt.log = stem + ".log";
      if (fs::exists(pt.report) && !o->force)
        throw std::invalid_argument(fmt::format("{} exists: pass --force to replace it", pt.report));
      for (const Point& q : points)
        if (q.report == pt.report) throw std::invalid_argument(fmt::format("two grid points share {}", pt.report));
      args.insert(args.end(), {"--report", pt.report, "--quiet", "--force"});
      pt.args = std::move(args);
      pt.label = std::move(label);
      points.push_back(std::move(pt));
    };
    if (o->serve) {
      std::vector<std::string> ps = o->policies;
      if (ps.empty())
        for (auto p : serving::all_policies()) ps.push_back(serving::policy_name(p));
      for (const auto& p : ps) serving::parse_policy(p); // a typo fails before anything runs
      if (!o->platforms.empty()) throw std::invalid_argument("--serve takes --systems, not --platforms");
      for (const auto& [flag, t] : targets)
        for (const auto& m : o->models)
          for (const auto& p : ps)
            for (double r : o->rate_scales) {
              std::vector<std::string> a{"serve", "--system", t, "--model", m, "--policy", p, "--rate-scale",
                                         fmt::format("{}", r), "--fidelity", o->fidelity, "--requests",
                                         std::to_string(o->requests), "--slo-ttft-ms", fmt::format("{}", o->slo_ttft_ms),
                                         "--slo-tbt-ms", fmt::format("{}", o->slo_tbt_ms)};
              if (!o->workload.empty()) a.insert(a.end(), {"--workload", o->workload});
              a.insert(a.end(), {"--too-long", o->too_long, "--topk", std::to_string(o->topk)});
              if (o->max_context) a.insert(a.end(), {"--max-context", std::to_string(o->max_context)});
              if (o->kv_hbm_gib > 0) a.insert(a.end(), {"--kv-hbm-gib", fmt::format("{}", o->kv_hbm_gib)});
              if (o->sparse_attention) a.push_back("--sparse-attention");
              add_point(std::move(a), fmt::format("{}_{}_{}_rate{}", file_label(t), file_label(m), p, r),
                        fmt::format("{} {} {} rate x{}", t, m, p, r));
            }
    } else {
      std::vector<std::string> ks = o->kernels;
      if (ks.empty())
        for (auto k : kernels::all_kernels()) ks.push_back(kernels::kernel_name(k));
      for (const auto& k : ks) kernels::parse_kernel(k); // a typo fails before anything runs
      for (const auto& [flag, p] : targets)
        for (const auto& m : o->models)
          for (const auto& k : ks)
            for (uint32_t c : o->contexts)
              add_point({"run", flag, p, "--model", m, "--kernel", k, "--context", std::to_string(c), "--batch",
                         std::to_string(o->batch), "--steps", std::to_string(o->steps), "--topk",
                         std::to_string(o->topk), "--layers-simulated", std::to_string(o->layers_simulated), "--data",
                         o->data},
                        fmt::format("{}_{}_{}_{}", file_label(p), file_label(m), k, c),
                        fmt::format("{} {} {} context {}", p, m, k, c));
    }
    fs::create_directories(o->out);
    // Every output of the sweep (the summary, each point's report and log)
    // is checked before the first point starts: never an input, never a
    // file pnmvp did not write; and two of them never the same file.
    std::vector<OutputFlag> outputs{{"--out", csv_path}};
    for (const Point& pt : points) {
      outputs.push_back({"--out", pt.report, false});
      outputs.push_back({"--out", pt.log, false});
    }
    check_outputs(outputs, o->force);
    const std::string exe = self_exe();
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    size_t next = 0, done = 0, running = 0, failed = 0;
    std::map<pid_t, size_t> live;
    bool progress_shown = false;
    auto fill = [&] {
      while (running < o->jobs && next < points.size()) {
        Point& pt = points[next];
        std::vector<std::string> argv{exe};
        argv.insert(argv.end(), pt.args.begin(), pt.args.end());
        {
          // The log's first line marks it as pnmvp's (output_guard.h), so --force may replace it later.
          std::ofstream log(pt.log, std::ios::trunc);
          log << kSweepLogHeader << pt.label << "\n";
          if (!log) throw std::runtime_error(fmt::format("sweep: cannot write {}", pt.log));
        }
        pt.pid = spawn(argv, pt.log);
        live[pt.pid] = next++;
        ++running;
      }
    };
    fill();
    while (done < points.size()) {
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
      fill(); // the next points start before the line counts what is running
      if (elapsed() > 3 || progress_shown) {
        progress_shown = true;
        std::cerr << fmt::format("\rsweep: {}/{} points done, {} running, {} failed, {:.0f} s   ", done, points.size(),
                                 running, failed, elapsed())
                  << std::flush;
      }
    }
    if (progress_shown) std::cerr << "\n";
    std::vector<nlohmann::ordered_json> reports(points.size());
    for (size_t i = 0; i < points.size(); ++i) {
      if (points[i].status != 0) continue;
      std::ifstream in(points[i].report);
      reports[i] = nlohmann::ordered_json::parse(in);
    }
    check_output(csv_path, "--out", true); // still the summary of a sweep (or nothing) after the run
    std::ofstream csv(csv_path);
    if (o->serve) write_serve_summary(csv, points, reports);
    else write_run_summary(csv, points, reports);
    csv.close();
    if (o->json) {
      // What ran and where each point's numbers are: the reports hold them.
      nlohmann::ordered_json j;
      j["schema"] = "pnmvp.sweep.v1";
      j["kind"] = o->serve ? "serve" : "run";
      j["summary"] = csv_path;
      j["points_total"] = points.size();
      j["failed"] = failed;
      j["wall_s"] = elapsed();
      nlohmann::ordered_json pts = nlohmann::ordered_json::array();
      for (const Point& pt : points)
        pts.push_back({{"label", pt.label}, {"exit", pt.status}, {"report", pt.status == 0 ? pt.report : ""},
                       {"log", pt.log}});
      j["points"] = std::move(pts);
      std::cout << with_provenance(j).dump(2) << "\n";
    } else {
      std::cout << fmt::format("sweep: {} points in {:.1f} s, summary in {}\n", points.size(), elapsed(), csv_path);
    }
    for (const auto& pt : points)
      if (pt.status != 0)
        std::cerr << fmt::format("sweep: {} failed (exit {}); see {}\n", pt.label, pt.status, pt.log);
    return failed ? 1 : 0;
  };
}

} // namespace pnm::cli
