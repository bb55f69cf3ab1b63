// An RDMA NIC (plain C++), event-driven with processor sharing: transfers
// in flight share the line rate equally. Each transfer is split into
// RDMA messages of `message_bytes` (counted; they are pipelined) and pays
// the per-message latency once, at its start, before its data flows.
//
// A NIC file (schema pnmvp.nic.v1, platforms/nics/<name>.json) gives the
// line rate, the achievable fraction of it, the latency, the message size
// and the energy per bit, each with its source.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace pnm::serving {

struct NicSpec {
  std::string name;
  std::string file;
  std::string source;
  double line_rate_gbps = 0;  // Gb/s (1e9 bit/s)
  double efficiency = 0;      // achieved fraction of the line rate for large transfers
  double latency_us = 0;      // per-message latency (RDMA READ round trip)
  uint64_t message_bytes = 0; // bytes per RDMA message
  double pj_per_bit = 0;      // energy per bit moved

  double bytes_per_ns() const { return line_rate_gbps * efficiency / 8; } // Gb/s -> B/ns
};

// $PNMVP_NICS if set, else <platforms>/nics.
std::string nics_dir();
std::vector<std::string> available_nics();
// A bare name is nics_dir()/<name>.json; anything with '/' or ending in
// ".json" is a path. Throws pnm::ConfigError naming file, key and range.
NicSpec load_nic(const std::string& name_or_path);

class NicModel {
public:
  explicit NicModel(const NicSpec& spec);
  // Begins a transfer at now_ns (not before the last call's time); returns
  // its id (0, 1, ...).
  uint64_t start(double now_ns, uint64_t bytes);
  // When the next transfer finishes if none starts meanwhile; +inf when idle.
  double next_completion_ns() const;
  // Transfers that finished by now_ns (including any finished before a
  // start() call), in order of finish.
  std::vector<uint64_t> advance_to(double now_ns);

  uint64_t bytes_moved() const { return uint64_t(moved_ + 0.5); } // delivered so far
  double energy_pj() const { return moved_ * 8 * spec_.pj_per_bit; }
  double busy_ns() const { return busy_ns_; } // time with data flowing
  uint64_t messages() const { return messages_; }
  size_t in_flight() const { return active_.size(); }
  const NicSpec& spec() const { return spec_; }

private:
  struct Transfer {
    uint64_t id;
    double ready_ns;  // start + latency: data flows from here
    double remaining; // bytes
  };
  // Moves the state to t, collecting finished transfers into done_.
  void run_to(double t);
  void collect(); // finished transfers -> done_

  NicSpec spec_;
  double now_ = 0;
  double moved_ = 0;
  double busy_ns_ = 0;
  uint64_t next_id_ = 0;
  uint64_t messages_ = 0;
  std::vector<Transfer> active_;
  std::vector<uint64_t> done_;
};

} // namespace pnm::serving
