// One CXL link, per direction: serialisation of flits at the PHY rate, a
// fixed port latency, and credit-based flow control per CXL.mem channel.
//
// Time: picoseconds (Picos = uint64_t) at the API. Internally femtoseconds,
// so a Gen5 flit (1079.1 ps) does not accumulate rounding; results are
// rounded up to the next picosecond.
//
// Event driven: send() places a message into flits (FlitPacker policy) and
// returns at once when the flit carrying its last slot has arrived; flits
// go back to back while the link is busy and a new flit starts when its
// first message is ready. A message can join a flit only if it is ready
// (and holds a credit) by the time that flit starts.
//
// Credits: the receiver has rx_buffer_entries[c] entries per channel; the
// sender holds one credit per free entry, takes one per message and waits
// for it if none is free. release() is the receiver freeing an entry; the
// credit is usable credit_return_ps later (it rides a flit the other way).
// A slow consumer therefore throttles the sender, and since entries are
// only freed after arrival, nothing is ever dropped; arrivals within a
// channel are in send order.
//
// Calls must come in order of the sender's decisions: flits are committed
// in call order. If a send has to wait for a credit, later sends are still
// placed after the flits it already committed; an adapter that wants
// channels fully independent calls send() once credit_time(c) <= now.
#pragma once

#include "flit_packer.h"

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

namespace pnm::cxl {

struct LinkConfig {
  double gtps = 32.0;                  // transfers per second per lane, in G
  unsigned lanes = 16;                 // 1, 2, 4, 8, 16
  uint32_t encoding_payload_bits = 128; // line code: 128b/130b (Gen5), 1b/1b (Gen6 flit mode)
  uint32_t encoding_block_bits = 130;
  FlitMode flit_mode = FlitMode::flit68;
  // One-way latency a flit adds after its last bit is sent (TX port + RX
  // port + channel). Default 25 ns: with a ~20-40 ns device controller the
  // round trip lands in the 70-90 ns of added CXL latency reported by Pond
  // (ASPLOS'23, REFERENCE D.4). A per-port figure is unverified.
  Picos port_latency_ps = 25'000;
  // Time from the receiver freeing an entry to the sender being able to use
  // the credit (the credit rides a flit in the other direction). Default:
  // one port latency. Unverified.
  Picos credit_return_ps = 25'000;
  // Receiver buffer entries (= credits) per channel: Req, RwD, NDR, DRS.
  // To sustain full rate they must cover the credit loop (flit time + port
  // latency + credit return) at the message rate: ~42 for Gen5 x16 reads,
  // ~90 for Gen6 x16. Default 128 each; not from a source.
  std::array<uint32_t, msg_class_count> rx_buffer_entries{{128, 128, 128, 128}};
  // Energy per bit on the wire (line-coded bits); the source is named in the
  // platform JSON. 0 = not accounted.
  double energy_pj_per_bit = 0.0;

  // PCIe Gen5: 32 GT/s NRZ, 128b/130b, CXL 68B flits.
  static LinkConfig pcie_gen5(unsigned lanes = 16);
  // PCIe Gen6: 64 GT/s PAM4, flit mode (1b/1b), CXL 256B flits.
  static LinkConfig pcie_gen6(unsigned lanes = 16);

  // Throws std::invalid_argument naming the bad parameter.
  void validate() const;
  double raw_gbytes_per_s() const { return gtps * lanes / 8.0; } // "raw_gbps", GB/s
  double encoded_gbytes_per_s() const {
    return raw_gbytes_per_s() * encoding_payload_bits / encoding_block_bits;
  }
  double flit_time_ns() const; // one flit's serialisation time
};

// Cache-line payload bandwidth, GB/s, of a direction carrying `mix` (e.g.
// {DRS: 1e6} for a read stream) after flit packing: 64 B per line over the
// closed-form flit count times the flit time.
double effective_line_gbytes_per_s(const LinkConfig& cfg, Direction dir, const MessageMix& mix);

struct Delivery {
  Picos start_ps = 0;    // the flit carrying the header starts on the wire
  Picos arrival_ps = 0;  // its last slot has arrived at the receiver
  Picos credit_ps = 0;   // when the credit it used became available
  uint64_t header_flit = 0, last_flit = 0;
};

struct LinkStats {
  uint64_t flits = 0;     // flits scheduled so far (including open ones)
  double wire_bits = 0;   // flits * flit bits * line-code expansion
  double energy_pj = 0;   // wire_bits * energy_pj_per_bit
  std::array<uint64_t, msg_class_count> messages{};
  std::array<uint64_t, msg_class_count> credit_waits{}; // sends that waited for a credit
  Picos credit_wait_ps = 0;                             // total such waiting
  uint64_t blocked_sends = 0;                           // send() calls with no credit known
  PackerStats packer;     // slot usage of the closed flits
};

class LinkDirection {
public:
  LinkDirection(const LinkConfig& cfg, Direction dir);

  // Sends one message ready at ready_ps. nullopt if every credit of its
  // channel is held and none has been released yet: retry after release()
  // (on_credit tells when). Throws std::invalid_argument for a class of the
  // other direction.
  std::optional<Delivery> send(MsgClass c, uint64_t id, Picos ready_ps);

  // The receiver freed the oldest buffer entry of channel c at freed_ps.
  // Throws std::logic_error if nothing is outstanding, std::invalid_argument
  // if freed_ps is before that message arrived.
  void release(MsgClass c, Picos freed_ps);

  // Earliest time a credit of c is usable; nullopt if none until a release.
  std::optional<Picos> credit_time(MsgClass c) const;
  // Messages sent whose receiver entry is not yet released.
  uint32_t outstanding(MsgClass c) const { return uint32_t(outstanding_[size_t(c)].size()); }

  // Called by release() with the time the returned credit becomes usable.
  std::function<void(MsgClass, Picos)> on_credit;

  // Closes every open flit (end of simulation), so stats().packer is final.
  void finish();
  LinkStats stats() const;

  const LinkConfig& config() const { return cfg_; }
  Direction direction() const { return dir_; }
  const FlitFormat& format() const { return packer_.format(); }
  double flit_time_ps() const { return double(flit_fs_) / 1000.0; }

private:
  uint64_t start_of(uint64_t seq) const { return start_fs_[seq - packer_.first_open_seq()]; }

  LinkConfig cfg_;
  Direction dir_;
  FlitPacker packer_;
  uint64_t flit_fs_ = 0, latency_fs_ = 0, credit_return_fs_ = 0;
  std::deque<uint64_t> start_fs_; // start times of the packer's open flits
  std::optional<uint64_t> last_start_fs_;
  using MinHeap = std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<uint64_t>>;
  std::array<MinHeap, msg_class_count> credits_; // usable-from times of free credits
  std::array<std::deque<uint64_t>, msg_class_count> outstanding_; // arrival times, FIFO
  std::array<uint64_t, msg_class_count> last_arrival_fs_{};
  LinkStats stats_;
};

// One 64 B line's round trip over a port, as Link::forward and Link::back
// see it. Times are absolute picoseconds.
struct LineTrip {
  Picos ready_ps = 0;  // the request is ready at the near port (input)
  Picos sent_ps = 0;   // its header flit starts on the wire (forward)
  Picos arrive_ps = 0; // it has arrived at the far port (forward)
  Picos freed_ps = 0;  // the far port freed its receive-buffer entry (input to back)
  Picos done_ps = 0;   // its response is ready at the far port (input to back)
  Picos back_ps = 0;   // the response has arrived at the near port (back)
};

// Both directions of one port: down = M2S (host to device), up = S2M. The
// one place where CXL.mem lines meet credits: forward() sends requests under
// the far port's buffer credits, back() frees them and returns responses.
class Link {
public:
  explicit Link(const LinkConfig& cfg) : down(cfg, Direction::m2s), up(cfg, Direction::s2m) {}
  LinkDirection down;
  LinkDirection up;

  // Sends lines[first..] as M2S requests (MemWr in RwD if `write`, else
  // MemRd in Req), each ready at its ready_ps, until the far port's receive
  // buffer is full; fills sent_ps and arrive_ps. Returns how many were sent:
  // 0 only if no credit is free and nothing is outstanding to free one.
  size_t forward(bool write, std::vector<LineTrip>& lines, size_t first);
  // The far port answered lines[first, first + n) (freed_ps, done_ps): their
  // entries free in completion order (FIFO release against sorted times is
  // exact in count over time, which is what credits model) and their S2M
  // responses (NDR Cmp, DRS) leave in that order; the near side sinks them at
  // once. Fills back_ps. False if no upstream credit was free.
  bool back(bool write, std::vector<LineTrip>& lines, size_t first, size_t n);

private:
  uint64_t next_id_ = 0; // message ids, both directions
};

} // namespace pnm::cxl
