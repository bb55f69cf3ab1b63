#include "link.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace pnm::cxl {

namespace {
constexpr uint64_t fs_per_ps = 1000;
Picos to_ps_ceil(uint64_t fs) { return (fs + fs_per_ps - 1) / fs_per_ps; }
} // namespace

LinkConfig LinkConfig::pcie_gen5(unsigned lanes) {
  LinkConfig c;
  c.gtps = 32.0;
  c.lanes = lanes;
  c.encoding_payload_bits = 128;
  c.encoding_block_bits = 130;
  c.flit_mode = FlitMode::flit68;
  return c;
}

LinkConfig LinkConfig::pcie_gen6(unsigned lanes) {
  LinkConfig c;
  c.gtps = 64.0;
  c.lanes = lanes;
  c.encoding_payload_bits = 1;
  c.encoding_block_bits = 1;
  c.flit_mode = FlitMode::flit256;
  return c;
}

void LinkConfig::validate() const {
  if (!(gtps > 0) || !std::isfinite(gtps))
    throw std::invalid_argument("link: gtps must be positive");
  if (lanes != 1 && lanes != 2 && lanes != 4 && lanes != 8 && lanes != 16)
    throw std::invalid_argument("link: lanes must be 1, 2, 4, 8 or 16, not " + std::to_string(lanes));
  if (encoding_payload_bits == 0 || encoding_block_bits < encoding_payload_bits)
    throw std::invalid_argument("link: line code must carry 0 < payload <= block bits");
  for (unsigned c = 0; c < msg_class_count; ++c)
    if (rx_buffer_entries[c] == 0)
      throw std::invalid_argument(std::string("link: ") + to_string(MsgClass(c)) +
                                  " needs at least one receiver buffer entry");
  if (energy_pj_per_bit < 0 || !std::isfinite(energy_pj_per_bit))
    throw std::invalid_argument("link: energy_pj_per_bit must be >= 0");
}

double LinkConfig::flit_time_ns() const {
  double flit_bits = 8.0 * FlitFormat::for_mode(flit_mode).flit_bytes;
  double gbit_per_s = gtps * lanes * encoding_payload_bits / encoding_block_bits;
  return flit_bits / gbit_per_s;
}

double effective_line_gbytes_per_s(const LinkConfig& cfg, Direction dir, const MessageMix& mix) {
  FlitEstimate e = estimate_flits(FlitFormat::for_mode(cfg.flit_mode), dir, mix);
  if (e.flits == 0)
    return 0.0;
  return double(e.data_bytes) / (double(e.flits) * cfg.flit_time_ns()); // B/ns = GB/s
}

LinkDirection::LinkDirection(const LinkConfig& cfg, Direction dir)
    : cfg_(cfg), dir_(dir), packer_(FlitFormat::for_mode(cfg.flit_mode), dir) {
  cfg_.validate();
  flit_fs_ = uint64_t(std::llround(cfg_.flit_time_ns() * 1e6));
  latency_fs_ = cfg_.port_latency_ps * fs_per_ps;
  credit_return_fs_ = cfg_.credit_return_ps * fs_per_ps;
  for (unsigned c = 0; c < msg_class_count; ++c)
    if (direction_of(MsgClass(c)) == dir_)
      for (uint32_t i = 0; i < cfg_.rx_buffer_entries[c]; ++i)
        credits_[c].push(0);
}

std::optional<Delivery> LinkDirection::send(MsgClass c, uint64_t id, Picos ready_ps) {
  if (direction_of(c) != dir_)
    throw std::invalid_argument(std::string(to_string(c)) + " does not travel " + to_string(dir_));
  const size_t ci = size_t(c);
  MinHeap& pool = credits_[ci];
  if (pool.empty()) {
    ++stats_.blocked_sends;
    return std::nullopt;
  }
  const uint64_t credit_fs = pool.top();
  pool.pop();
  const uint64_t ready_fs = ready_ps * fs_per_ps;
  const uint64_t t = std::max(ready_fs, credit_fs);
  if (credit_fs > ready_fs) {
    ++stats_.credit_waits[ci];
    stats_.credit_wait_ps += to_ps_ceil(credit_fs - ready_fs);
  }

  // Flits that started before t are on the wire: nothing more joins them.
  while (!start_fs_.empty() && start_fs_.front() < t) {
    packer_.close_before(packer_.first_open_seq() + 1);
    start_fs_.pop_front();
  }
  const uint64_t first_new = packer_.next_seq();
  const Placement p = packer_.place(c, id, t / fs_per_ps);
  for (uint64_t s = first_new; s < packer_.next_seq(); ++s) {
    uint64_t st = last_start_fs_ ? std::max(t, *last_start_fs_ + flit_fs_) : t;
    start_fs_.push_back(st);
    last_start_fs_ = st;
  }

  uint64_t arrival = start_of(p.last_flit) + flit_fs_ + latency_fs_;
  arrival = std::max(arrival, last_arrival_fs_[ci]); // channel order (holds by construction)
  last_arrival_fs_[ci] = arrival;
  outstanding_[ci].push_back(arrival);
  ++stats_.messages[ci];

  Delivery d;
  d.start_ps = to_ps_ceil(start_of(p.header_flit));
  d.arrival_ps = to_ps_ceil(arrival);
  d.credit_ps = to_ps_ceil(credit_fs);
  d.header_flit = p.header_flit;
  d.last_flit = p.last_flit;
  return d;
}

void LinkDirection::release(MsgClass c, Picos freed_ps) {
  const size_t ci = size_t(c);
  if (direction_of(c) != dir_)
    throw std::invalid_argument(std::string(to_string(c)) + " does not travel " + to_string(dir_));
  std::deque<uint64_t>& q = outstanding_[ci];
  if (q.empty())
    throw std::logic_error(std::string("link: release of ") + to_string(c) +
                           " with no message outstanding");
  const uint64_t freed_fs = freed_ps * fs_per_ps;
  if (freed_fs < q.front())
    throw std::invalid_argument(std::string("link: ") + to_string(c) +
                                " buffer entry freed before its message arrived");
  q.pop_front();
  const uint64_t usable = freed_fs + credit_return_fs_;
  credits_[ci].push(usable);
  if (on_credit)
    on_credit(c, to_ps_ceil(usable));
}

std::optional<Picos> LinkDirection::credit_time(MsgClass c) const {
  const MinHeap& pool = credits_[size_t(c)];
  if (pool.empty())
    return std::nullopt;
  return to_ps_ceil(pool.top());
}

void LinkDirection::finish() {
  packer_.close_before(packer_.next_seq());
  start_fs_.clear();
}

LinkStats LinkDirection::stats() const {
  LinkStats s = stats_;
  s.flits = packer_.next_seq();
  s.wire_bits = double(s.flits) * 8.0 * format().flit_bytes * cfg_.encoding_block_bits /
                cfg_.encoding_payload_bits;
  s.energy_pj = s.wire_bits * cfg_.energy_pj_per_bit;
  s.packer = packer_.stats();
  return s;
}

size_t Link::forward(bool write, std::vector<LineTrip>& lines, size_t first) {
  const MsgClass c = write ? MsgClass::m2s_rwd : MsgClass::m2s_req;
  size_t next = first;
  for (; next < lines.size(); ++next) {
    std::optional<Delivery> d = down.send(c, next_id_, lines[next].ready_ps);
    if (!d) break;
    ++next_id_;
    lines[next].sent_ps = d->start_ps;
    lines[next].arrive_ps = d->arrival_ps;
  }
  return next - first;
}

bool Link::back(bool write, std::vector<LineTrip>& lines, size_t first, size_t n) {
  const MsgClass req = write ? MsgClass::m2s_rwd : MsgClass::m2s_req;
  const MsgClass rsp = write ? MsgClass::s2m_ndr : MsgClass::s2m_drs;
  std::vector<size_t> by_done(n);
  std::iota(by_done.begin(), by_done.end(), first);
  std::sort(by_done.begin(), by_done.end(),
            [&](size_t a, size_t b) { return lines[a].done_ps < lines[b].done_ps; });
  // Entries are freed in the order they were freed, which need not be the
  // order of the responses: behind a switch an entry is freed when its line
  // moves on to the next hop, in arrival order, while the device may answer
  // out of order. (Directly at a device the two orders are the same.)
  std::vector<size_t> by_freed(by_done);
  auto freed = [&](size_t k) { return std::max(lines[k].freed_ps, lines[k].arrive_ps); };
  std::stable_sort(by_freed.begin(), by_freed.end(), [&](size_t a, size_t b) { return freed(a) < freed(b); });
  for (size_t k : by_freed) down.release(req, freed(k));
  for (size_t k : by_done) {
    std::optional<Delivery> u = up.send(rsp, next_id_++, lines[k].done_ps);
    if (!u) return false;
    up.release(rsp, u->arrival_ps);
    lines[k].back_ps = u->arrival_ps;
  }
  return true;
}

} // namespace pnm::cxl
