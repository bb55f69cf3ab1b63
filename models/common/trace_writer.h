// Chrome/Perfetto trace writer (JSON Trace Event Format, object form), plain C++.
// Events are streamed to the file as they come, never held in memory, so a run
// with millions of events keeps a flat RSS. Load the file in ui.perfetto.dev or
// chrome://tracing.
#pragma once

#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pnm {

class TraceWriter {
public:
  // Opens path for writing; refuses (std::runtime_error naming the path) if it exists and
  // overwrite is false. The refusal is atomic (O_EXCL): an existing file is never touched.
  TraceWriter(const std::string& path, bool overwrite);
  ~TraceWriter(); // finishes the file (closing brackets) if close() wasn't called; never throws
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Writes the footer and closes the file; throws std::runtime_error if any write failed.
  // Idempotent. Recording after close() is a std::logic_error.
  void close();

  // One timeline row: a thread of a process. The same names give the same id; the
  // process_name/thread_name metadata is written once, on first use.
  int track(const std::string& process, const std::string& thread);

  // Timestamps and durations are in ns; the file holds µs with 1 ps resolution.
  // args must be an object (or null/empty for none). Non-finite times or values and negative
  // durations are std::invalid_argument: they would make the file invalid JSON.
  void complete(int track, const std::string& name, double start_ns, double dur_ns,
                const nlohmann::json& args = {});                                  // "X" event
  void instant(int track, const std::string& name, double t_ns,
               const nlohmann::json& args = {});                                   // "i", thread scope
  void counter(int track, const std::string& name, double t_ns,
               const std::map<std::string, double>& values);                       // "C" event

  // Events written (complete/instant/counter; track metadata is not counted and never dropped).
  uint64_t events() const { return events_; }
  // Beyond n events, further events are dropped and counted; the file stays valid JSON and its
  // "otherData" footer records how many were dropped.
  void set_max_events(uint64_t n) { max_events_ = n; }
  uint64_t dropped() const { return dropped_; }
  const std::string& path() const { return path_; }

private:
  struct Track {
    int pid;
    int tid;
  };
  bool admit();                                   // counts the event against max_events
  const Track& lookup(int track) const;
  void write_event(const char* ph, const Track& t, const std::string& name, double ts_ns,
                   const std::string& extra);     // extra: pre-rendered ,"key":value pairs
  void write_raw(const std::string& s);
  void finish() noexcept;                         // footer + fclose; records write errors

  std::string path_;
  std::FILE* file_ = nullptr;
  std::vector<char> buffer_;                      // stdio buffer: large writes, few syscalls
  bool first_ = true;                             // no comma before the first array element
  bool write_error_ = false;
  uint64_t events_ = 0;
  uint64_t dropped_ = 0;
  uint64_t max_events_ = std::numeric_limits<uint64_t>::max();
  std::map<std::string, int> pids_;
  std::map<std::pair<int, std::string>, int> track_ids_;
  std::vector<Track> tracks_;
};

} // namespace pnm
