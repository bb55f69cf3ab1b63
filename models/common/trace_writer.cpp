#include "common/trace_writer.h"

#include "common/report.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <iterator>
#include <stdexcept>

namespace pnm {

namespace {
constexpr size_t kStdioBufferBytes = 1 << 20;
constexpr double kNsPerUs = 1000.0;

// Names and args go through nlohmann so quotes, backslashes, newlines and control characters
// are escaped; invalid UTF-8 is replaced rather than thrown, so a bad name cannot break a run.
std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void require_finite(double v, const char* what) {
  // NaN/inf would be printed as "nan"/"inf": not JSON, and the whole file would be unreadable.
  if (!std::isfinite(v)) throw std::invalid_argument(fmt::format("trace event {} is not finite", what));
}

std::string args_text(const nlohmann::json& args) {
  if (args.is_null() || (args.is_object() && args.empty())) return {};
  if (!args.is_object())
    throw std::invalid_argument(
        fmt::format("trace event args must be a JSON object, got {}", args.type_name()));
  return ",\"args\":" + json_text(args);
}
} // namespace

TraceWriter::TraceWriter(const std::string& path, bool overwrite) : path_(path) {
  // "x" (O_EXCL) makes the refusal atomic: no window in which another process's file is clobbered.
  file_ = std::fopen(path.c_str(), overwrite ? "w" : "wx");
  if (!file_) {
    const int err = errno;
    if (err == EEXIST)
      throw std::runtime_error(fmt::format(
          "trace file '{}' already exists; refusing to overwrite it (allow overwriting to replace it)",
          path));
    throw std::runtime_error(fmt::format("cannot open trace file '{}': {}", path, std::strerror(err)));
  }
  buffer_.resize(kStdioBufferBytes);
  std::setvbuf(file_, buffer_.data(), _IOFBF, buffer_.size());
  write_raw("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
}

TraceWriter::~TraceWriter() { finish(); }

void TraceWriter::write_raw(const std::string& s) {
  if (std::fwrite(s.data(), 1, s.size(), file_) != s.size()) write_error_ = true;
}

void TraceWriter::finish() noexcept {
  if (!file_) return;
  try {
    std::string footer = fmt::format("\n],\n\"otherData\":{{\"writer\":\"pnmvp TraceWriter\",\"events\":{},"
                                     "\"dropped_events\":{}",
                                     events_, dropped_);
    if (dropped_ > 0)
      footer += fmt::format(",\"max_events\":{},\"note\":{}", max_events_,
                            json_text(fmt::format("{} events beyond max_events ({}) were dropped; "
                                                  "the trace ends early",
                                                  dropped_, max_events_)));
    // The run's provenance, as every report records it (common/report.h).
    footer += "},\n\"provenance\":" + provenance::object().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "}\n";
    write_raw(footer);
  } catch (...) {
    write_error_ = true;
  }
  if (std::fflush(file_) != 0 || std::ferror(file_)) write_error_ = true;
  if (std::fclose(file_) != 0) write_error_ = true;
  file_ = nullptr;
}

void TraceWriter::close() {
  const bool was_open = file_ != nullptr;
  finish();
  if (was_open && write_error_)
    throw std::runtime_error(fmt::format("trace file '{}': write failed (disk full?)", path_));
}

int TraceWriter::track(const std::string& process, const std::string& thread) {
  if (!file_) throw std::logic_error(fmt::format("trace file '{}': track() after close()", path_));
  auto [pit, new_process] = pids_.try_emplace(process, static_cast<int>(pids_.size()) + 1);
  const int pid = pit->second;
  if (new_process)
    write_raw(fmt::format("{}{{\"ph\":\"M\",\"pid\":{},\"tid\":0,\"ts\":0,\"name\":\"process_name\","
                          "\"args\":{{\"name\":{}}}}}",
                          first_ ? "\n" : ",\n", pid, json_text(process)));
  first_ = false;
  auto [tit, new_track] = track_ids_.try_emplace({pid, thread}, static_cast<int>(tracks_.size()));
  if (new_track) {
    // tids are unique across processes, so a tid alone names a row.
    const int tid = static_cast<int>(tracks_.size()) + 1;
    tracks_.push_back({pid, tid});
    write_raw(fmt::format(",\n{{\"ph\":\"M\",\"pid\":{},\"tid\":{},\"ts\":0,\"name\":\"thread_name\","
                          "\"args\":{{\"name\":{}}}}}",
                          pid, tid, json_text(thread)));
  }
  return tit->second;
}

const TraceWriter::Track& TraceWriter::lookup(int track) const {
  if (!file_) throw std::logic_error(fmt::format("trace file '{}': event after close()", path_));
  if (track < 0 || static_cast<size_t>(track) >= tracks_.size())
    throw std::out_of_range(fmt::format("trace file '{}': unknown track id {}", path_, track));
  return tracks_[static_cast<size_t>(track)];
}

bool TraceWriter::admit() {
  if (events_ >= max_events_) {
    ++dropped_;
    return false;
  }
  ++events_;
  return true;
}

void TraceWriter::write_event(const char* ph, const Track& t, const std::string& name, double ts_ns,
                              const std::string& extra) {
  fmt::memory_buffer b;
  // µs with 6 decimals: 1 ps resolution, enough for sub-ns DRAM clock edges.
  fmt::format_to(std::back_inserter(b),
                 "{}{{\"ph\":\"{}\",\"pid\":{},\"tid\":{},\"ts\":{:.6f},\"name\":{}{}}}",
                 first_ ? "\n" : ",\n", ph, t.pid, t.tid, ts_ns / kNsPerUs, json_text(name), extra);
  first_ = false;
  if (std::fwrite(b.data(), 1, b.size(), file_) != b.size()) write_error_ = true;
}

void TraceWriter::complete(int track, const std::string& name, double start_ns, double dur_ns,
                           const nlohmann::json& args) {
  const Track& t = lookup(track);
  require_finite(start_ns, "start time");
  require_finite(dur_ns, "duration");
  if (dur_ns < 0) throw std::invalid_argument(fmt::format("trace event '{}' has negative duration", name));
  std::string extra = fmt::format(",\"dur\":{:.6f}", dur_ns / kNsPerUs) + args_text(args);
  if (admit()) write_event("X", t, name, start_ns, extra);
}

void TraceWriter::instant(int track, const std::string& name, double t_ns, const nlohmann::json& args) {
  const Track& t = lookup(track);
  require_finite(t_ns, "time");
  std::string extra = ",\"s\":\"t\"" + args_text(args);
  if (admit()) write_event("i", t, name, t_ns, extra);
}

void TraceWriter::counter(int track, const std::string& name, double t_ns,
                          const std::map<std::string, double>& values) {
  const Track& t = lookup(track);
  require_finite(t_ns, "time");
  if (values.empty())
    throw std::invalid_argument(fmt::format("trace counter '{}' has no values", name));
  nlohmann::json args = nlohmann::json::object();
  for (const auto& [series, v] : values) {
    require_finite(v, "counter value");
    args[series] = v;
  }
  if (admit()) write_event("C", t, name, t_ns, ",\"args\":" + json_text(args));
}

} // namespace pnm
