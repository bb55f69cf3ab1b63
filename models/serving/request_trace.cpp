#include "serving/request_trace.h"

#include "common/input_file.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <stdexcept>
#include <unordered_set>

namespace pnm::serving {

namespace {

[[noreturn]] void fail(const std::string& path, uint64_t line, const std::string& what) {
  throw std::runtime_error(fmt::format("{}:{}: {}", path, line, what));
}

std::ifstream open_trace(const std::string& path) {
  check_input_file(path, "request trace", kMaxTraceBytes);
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open trace file", path));
  return in;
}

// Fits the request to the model's context, or refuses it.
void fit(Request& r, const WorkloadOptions& opt, const std::string& path) {
  if (!opt.max_context || uint64_t{r.input_tokens} + r.output_tokens <= opt.max_context) return;
  if (!opt.cap_lengths)
    fail(path, r.source_line,
         fmt::format("request of {} prompt + {} output tokens exceeds the context limit of {} tokens (the "
                     "model's or --max-context); `--too-long cap` caps such requests, or choose a model with a "
                     "longer context",
                     r.input_tokens, r.output_tokens, opt.max_context));
  // Keep the output where it fits (the tokens the user waits for); cut the prompt.
  r.output_tokens = std::min<uint32_t>(r.output_tokens, opt.max_context - 1);
  r.input_tokens = opt.max_context - r.output_tokens;
  if (!r.hash_ids.empty())
    r.hash_ids.resize((r.input_tokens + opt.block_tokens - 1) / opt.block_tokens);
  r.capped = true;
}

void check_options(const WorkloadOptions& opt) {
  if (!(opt.rate_scale > 0) || !std::isfinite(opt.rate_scale))
    throw std::invalid_argument(fmt::format("rate scale {} must be a finite number > 0", opt.rate_scale));
  if (opt.block_tokens == 0) throw std::invalid_argument("block tokens must be > 0");
  if (opt.max_context == 1) throw std::invalid_argument("a context of 1 token leaves no room for a prompt");
}

uint32_t tokens(const std::string& path, uint64_t line, const char* key, int64_t v) {
  if (v < 1 || v > (int64_t{1} << 31))
    fail(path, line, fmt::format("{} {} is outside 1..{}", key, v, int64_t{1} << 31));
  return static_cast<uint32_t>(v);
}

void finish(std::vector<Request>& reqs, const WorkloadOptions& opt) {
  for (size_t i = 0; i < reqs.size(); ++i) {
    reqs[i].id = i;
    reqs[i].arrival_ms /= opt.rate_scale;
  }
}

// "YYYY-MM-DD HH:MM:SS[.fraction]" as ms since 1970 (UTC, proleptic
// Gregorian); false if it is not that.
bool parse_time_ms(const std::string& s, double& ms) {
  int y, mo, d, h, mi;
  double sec;
  char tail = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d %2d:%2d:%lf%c", &y, &mo, &d, &h, &mi, &sec, &tail) != 6) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || !(sec >= 0 && sec < 61)) return false;
  // Days from the civil date (Howard Hinnant's algorithm, public domain description).
  const int yy = y - (mo <= 2);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const double days = era * 146097.0 + doe - 719468.0;
  ms = ((days * 24 + h) * 60 + mi) * 60000.0 + sec * 1000.0;
  return true;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == ',') out.emplace_back();
    else if (c != '\r') out.back().push_back(c);
  }
  return out;
}

} // namespace

std::vector<Request> read_mooncake(const std::string& path, const WorkloadOptions& opt) {
  check_options(opt);
  std::ifstream in = open_trace(path);
  std::vector<Request> reqs;
  std::string text;
  uint64_t line = 0;
  double last_ms = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue; // blank lines
    if (opt.first_n && reqs.size() == opt.first_n) break;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      fail(path, line, fmt::format("not a JSON object: {}", e.what()));
    }
    if (!j.is_object()) fail(path, line, "not a JSON object");
    for (auto& [k, v] : j.items())
      if (k != "timestamp" && k != "input_length" && k != "output_length" && k != "hash_ids")
        fail(path, line, fmt::format("unknown key '{}' (a Mooncake trace line has timestamp, input_length, "
                                     "output_length, hash_ids)", k));
    Request r;
    r.source_line = line;
    for (const char* k : {"timestamp", "input_length", "output_length"})
      if (!j.contains(k) || !j[k].is_number()) fail(path, line, fmt::format("'{}' is missing or not a number", k));
    r.arrival_ms = j["timestamp"].get<double>();
    if (!std::isfinite(r.arrival_ms) || r.arrival_ms < 0)
      fail(path, line, fmt::format("timestamp {} must be a finite number of ms >= 0", r.arrival_ms));
    if (r.arrival_ms < last_ms)
      fail(path, line, fmt::format("timestamp {} is earlier than the line before ({}): the trace must be in "
                                   "arrival order", r.arrival_ms, last_ms));
    last_ms = r.arrival_ms;
    if (!j["input_length"].is_number_integer() || !j["output_length"].is_number_integer())
      fail(path, line, "input_length and output_length must be whole numbers of tokens");
    r.input_tokens = tokens(path, line, "input_length", j["input_length"].get<int64_t>());
    r.output_tokens = tokens(path, line, "output_length", j["output_length"].get<int64_t>());
    if (!j.contains("hash_ids") || !j["hash_ids"].is_array()) fail(path, line, "'hash_ids' is missing or not a list");
    for (const auto& h : j["hash_ids"]) {
      if (!h.is_number_unsigned()) fail(path, line, "hash_ids must be non-negative whole numbers");
      r.hash_ids.push_back(h.get<uint64_t>());
    }
    const uint64_t blocks = (uint64_t{r.input_tokens} + opt.block_tokens - 1) / opt.block_tokens;
    if (r.hash_ids.size() != blocks)
      fail(path, line, fmt::format("{} hash_ids for {} prompt tokens: expected one per {}-token block ({})",
                                   r.hash_ids.size(), r.input_tokens, opt.block_tokens, blocks));
    fit(r, opt, path);
    reqs.push_back(std::move(r));
  }
  if (reqs.empty()) throw std::runtime_error(fmt::format("{}: no requests in the trace", path));
  finish(reqs, opt);
  return reqs;
}

std::vector<Request> read_azure_csv(const std::string& path, const WorkloadOptions& opt) {
  check_options(opt);
  std::ifstream in = open_trace(path);
  std::string text;
  uint64_t line = 0;
  if (!std::getline(in, text)) throw std::runtime_error(fmt::format("{}: empty file", path));
  ++line;
  const auto header = split_csv(text);
  if (header.size() != 3 || header[0] != "TIMESTAMP" || header[1] != "ContextTokens" || header[2] != "GeneratedTokens")
    fail(path, line, "header must be TIMESTAMP,ContextTokens,GeneratedTokens (the Azure LLM inference trace)");
  std::vector<Request> reqs;
  double first_ms = 0, last_ms = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (opt.first_n && reqs.size() == opt.first_n) break;
    const auto f = split_csv(text);
    if (f.size() != 3) fail(path, line, fmt::format("{} fields; expected TIMESTAMP,ContextTokens,GeneratedTokens", f.size()));
    double ms = 0;
    if (!parse_time_ms(f[0], ms)) fail(path, line, fmt::format("timestamp '{}' is not YYYY-MM-DD HH:MM:SS[.fraction]", f[0]));
    if (reqs.empty()) first_ms = last_ms = ms;
    if (ms < last_ms) fail(path, line, fmt::format("timestamp '{}' is earlier than the row before", f[0]));
    last_ms = ms;
    Request r;
    r.source_line = line;
    r.arrival_ms = ms - first_ms;
    for (int k = 1; k <= 2; ++k) {
      size_t used = 0;
      long long v = 0;
      try {
        v = std::stoll(f[k], &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != f[k].size())
        fail(path, line, fmt::format("{} '{}' is not a whole number", k == 1 ? "ContextTokens" : "GeneratedTokens", f[k]));
      (k == 1 ? r.input_tokens : r.output_tokens) = tokens(path, line, k == 1 ? "ContextTokens" : "GeneratedTokens", v);
    }
    fit(r, opt, path);
    reqs.push_back(std::move(r));
  }
  if (reqs.empty()) throw std::runtime_error(fmt::format("{}: no requests in the trace", path));
  finish(reqs, opt);
  return reqs;
}

std::vector<Request> read_trace(const std::string& path, const WorkloadOptions& opt) {
  std::ifstream in = open_trace(path);
  std::string first;
  while (std::getline(in, first) && first.find_first_not_of(" \t\r") == std::string::npos) {
  }
  const size_t at = first.find_first_not_of(" \t");
  if (at != std::string::npos && first[at] == '{') return read_mooncake(path, opt);
  if (first.rfind("TIMESTAMP,", 0) == 0) return read_azure_csv(path, opt);
  throw std::runtime_error(fmt::format("{}: neither a Mooncake JSONL trace (lines of {{...}}) nor an Azure CSV "
                                       "(header TIMESTAMP,ContextTokens,GeneratedTokens)", path));
}

std::vector<Request> synthesize(const SyntheticOptions& s, const WorkloadOptions& opt) {
  check_options(opt);
  if (!(s.rate_per_s > 0) || !std::isfinite(s.rate_per_s))
    throw std::invalid_argument(fmt::format("rate {} requests/s must be a finite number > 0", s.rate_per_s));
  if (s.requests == 0) throw std::invalid_argument("a synthetic workload needs at least one request");
  if (s.arrivals == SyntheticOptions::Arrivals::gamma && !(s.gamma_cv > 0 && std::isfinite(s.gamma_cv)))
    throw std::invalid_argument(fmt::format("Gamma coefficient of variation {} must be > 0", s.gamma_cv));
  if (s.lengths_from && s.lengths_from->empty()) throw std::invalid_argument("no requests to draw lengths from");
  if (!s.lengths_from && (s.input_tokens == 0 || s.output_tokens == 0))
    throw std::invalid_argument("synthetic prompt and output lengths must be >= 1 token");
  std::mt19937_64 rng(s.seed);
  const double mean_gap_ms = 1000.0 / s.rate_per_s;
  // Gamma gaps with mean m and cv c: shape 1/c^2, scale m c^2.
  const double shape = s.arrivals == SyntheticOptions::Arrivals::gamma ? 1.0 / (s.gamma_cv * s.gamma_cv) : 1.0;
  std::gamma_distribution<double> gap(shape, mean_gap_ms / shape);
  std::vector<Request> reqs;
  const size_t n = opt.first_n ? std::min(opt.first_n, s.requests) : s.requests;
  double t = 0;
  for (size_t i = 0; i < n; ++i) {
    Request r;
    if (i) t += gap(rng);
    r.arrival_ms = t;
    if (s.lengths_from) {
      const Request& src = (*s.lengths_from)[std::uniform_int_distribution<size_t>(0, s.lengths_from->size() - 1)(rng)];
      r.input_tokens = src.input_tokens;
      r.output_tokens = src.output_tokens;
    } else {
      r.input_tokens = s.input_tokens;
      r.output_tokens = s.output_tokens;
    }
    fit(r, opt, "synthetic workload");
    reqs.push_back(std::move(r));
  }
  finish(reqs, opt);
  return reqs;
}

WorkloadStats summarize(const std::vector<Request>& reqs) {
  WorkloadStats w;
  w.requests = reqs.size();
  std::unordered_set<uint64_t> seen;
  uint64_t blocks = 0, shared = 0;
  for (const Request& r : reqs) {
    w.capped += r.capped;
    w.duration_ms = std::max(w.duration_ms, r.arrival_ms);
    w.mean_input += r.input_tokens;
    w.mean_output += r.output_tokens;
    for (uint64_t h : r.hash_ids) {
      ++blocks;
      shared += !seen.insert(h).second;
    }
  }
  if (w.requests) {
    w.mean_input /= w.requests;
    w.mean_output /= w.requests;
  }
  w.shared_block_fraction = blocks ? double(shared) / blocks : 0.0;
  return w;
}

} // namespace pnm::serving
