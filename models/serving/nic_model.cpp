#include "serving/nic_model.h"

#include "common/config.h"
#include "common/resources.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <stdexcept>
#include <system_error>

namespace pnm::serving {

namespace {
constexpr const char* kSchema = "pnmvp.nic.v1";
// Bytes left below this count as delivered (floating-point residue).
constexpr double kEpsBytes = 1e-6;
} // namespace

std::string nics_dir() {
  if (const char* env = std::getenv("PNMVP_NICS"); env && *env) return env;
  return resources::platforms_dir() + "/nics";
}

std::vector<std::string> available_nics() {
  return resources::names_in(nics_dir());
}

NicSpec load_nic(const std::string& name_or_path) {
  const std::string file = resources::resolve_named(name_or_path, nics_dir(), "NIC");
  ConfigNode n = ConfigNode::load_file(file);
  const std::string schema = n.text("schema", "NIC file format");
  if (schema != kSchema) n.fail("schema", fmt::format("'{}' is not a NIC file (expected {})", schema, kSchema));
  NicSpec s;
  s.file = file;
  s.name = n.text("name", "NIC name");
  if (s.name.empty()) n.fail("name", "must not be empty");
  s.source = n.require_source();
  auto section = [&](const char* key) {
    ConfigNode c = n.child(key);
    c.require_source();
    return c;
  };
  ConfigNode rate = section("bandwidth");
  s.line_rate_gbps = rate.number("line_rate_gbps", {0.1, 1e5}, "Gb/s", "line rate of the port");
  s.efficiency = rate.number("efficiency", {0.01, 1}, "", "achieved fraction of the line rate for large transfers");
  rate.finish();
  ConfigNode lat = section("latency");
  s.latency_us = lat.number("per_message_us", {0, 1e4}, "us", "latency paid once at a transfer's start");
  s.message_bytes = uint64_t(lat.integer("message_bytes", {64, 1ull << 34}, "bytes", "bytes per RDMA message"));
  lat.finish();
  ConfigNode en = section("energy");
  s.pj_per_bit = en.number("pj_per_bit", {0, 1e5}, "pJ", "energy per bit moved");
  en.finish();
  n.finish();
  return s;
}

NicModel::NicModel(const NicSpec& spec) : spec_(spec) {
  if (spec_.bytes_per_ns() <= 0) throw std::invalid_argument(fmt::format("NIC {}: no bandwidth", spec_.name));
  if (spec_.message_bytes == 0) throw std::invalid_argument(fmt::format("NIC {}: zero message size", spec_.name));
}

void NicModel::run_to(double t) {
  const double rate = spec_.bytes_per_ns();
  collect();
  while (now_ < t) {
    size_t flowing = 0;
    double next = t;
    for (const Transfer& x : active_) {
      if (x.ready_ns <= now_) ++flowing;
      else next = std::min(next, x.ready_ns); // a latency phase ends
    }
    if (flowing) {
      const double share = rate / double(flowing);
      for (const Transfer& x : active_)
        if (x.ready_ns <= now_) next = std::min(next, now_ + x.remaining / share);
      const double dt = next - now_;
      for (Transfer& x : active_)
        if (x.ready_ns <= now_) {
          // A transfer whose end (computed as `next` was) is not after `next`
          // ends here, with no residue. Comparing end times rather than bytes
          // keeps this exact when `now_` is so large that a time step cannot
          // resolve the last fraction of a byte (dt may then be 0).
          const double d = now_ + x.remaining / share <= next ? x.remaining : std::min(x.remaining, share * dt);
          x.remaining -= d;
          moved_ += d;
        }
      busy_ns_ += dt;
    }
    now_ = next;
    collect();
  }
}

void NicModel::collect() {
  // Finished: data all delivered (ties keep start order).
  for (auto it = active_.begin(); it != active_.end();)
    if (it->ready_ns <= now_ && it->remaining <= kEpsBytes) {
      moved_ += it->remaining;
      done_.push_back(it->id);
      it = active_.erase(it);
    } else ++it;
}

uint64_t NicModel::start(double now_ns, uint64_t bytes) {
  if (now_ns < now_)
    throw std::invalid_argument(fmt::format("NIC {}: transfer started at {} ns, before the NIC's time {} ns",
                                            spec_.name, now_ns, now_));
  run_to(now_ns);
  const uint64_t id = next_id_++;
  messages_ += std::max<uint64_t>(1, (bytes + spec_.message_bytes - 1) / spec_.message_bytes);
  active_.push_back({id, now_ns + spec_.latency_us * 1e3, double(bytes)});
  collect(); // an empty transfer with no latency finishes at once
  return id;
}

double NicModel::next_completion_ns() const {
  if (!done_.empty()) return now_;
  if (active_.empty()) return std::numeric_limits<double>::infinity();
  NicModel copy = *this;
  copy.collect();
  // Step event by event until the first completion.
  while (copy.done_.empty()) {
    double next = std::numeric_limits<double>::infinity();
    size_t flowing = 0;
    for (const Transfer& x : copy.active_)
      if (x.ready_ns <= copy.now_) ++flowing;
      else next = std::min(next, x.ready_ns);
    if (flowing) {
      const double share = spec_.bytes_per_ns() / double(flowing);
      for (const Transfer& x : copy.active_)
        if (x.ready_ns <= copy.now_) next = std::min(next, copy.now_ + x.remaining / share);
    }
    copy.run_to(next);
  }
  return copy.now_;
}

std::vector<uint64_t> NicModel::advance_to(double now_ns) {
  if (now_ns > now_) run_to(now_ns);
  std::vector<uint64_t> out;
  out.swap(done_);
  return out;
}

} // namespace pnm::serving
