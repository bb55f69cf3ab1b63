// Helpers for driving one DramChannel directly in tests.
#pragma once

#include "common/config.h"
#include "dram/dram_channel.h"
#include "dram/dram_spec.h"

#include <string>
#include <vector>

namespace pnm::dram::test {

inline DramSpec load_spec(const std::string& file) {
  return load_dram_spec(ConfigNode::load_file(std::string(PNM_SOURCE_DIR) + "/platforms/memspec/" + file));
}

struct Issued {
  Cycle t;
  Command c;
  uint32_t rank, bg, bank, row;
};

class Recorder : public CommandObserver {
public:
  void on_command(uint32_t, Cycle t, Command c, uint32_t rank, uint32_t bg, uint32_t bank,
                  uint32_t row) override {
    log.push_back({t, c, rank, bg, bank, row});
  }
  // Time of the n-th (0-based) command of kind c, or kNever.
  Cycle at(Command c, int n = 0) const {
    for (const auto& i : log)
      if (i.c == c && n-- == 0) return i.t;
    return kNever;
  }
  int count(Command c) const {
    int n = 0;
    for (const auto& i : log) n += i.c == c;
    return n;
  }
  std::vector<Issued> log;
};

struct Harness {
  DramSpec spec;
  ChannelConfig cfg;
  std::unique_ptr<DramChannel> ch;
  Recorder rec;
  std::vector<std::pair<uint64_t, Cycle>> done; // (id, cycle)

  explicit Harness(const std::string& memspec, bool refresh = false,
                   PagePolicy policy = PagePolicy::open) {
    spec = load_spec(memspec);
    cfg.refresh = refresh;
    cfg.page_policy = policy;
    build();
  }
  void build() {
    ch = std::make_unique<DramChannel>(spec, cfg, 0);
    ch->add_observer(&rec);
    ch->set_completion([this](const ChannelRequest& r, Cycle d) { done.push_back({r.id, d}); });
  }
  void req(uint64_t id, bool write, uint32_t bg, uint32_t bank, uint32_t row, uint32_t col = 0,
           Cycle at = 0, uint32_t rank = 0) {
    ChannelRequest r;
    r.id = id;
    r.write = write;
    r.da.rank = rank;
    r.da.bankgroup = bg;
    r.da.bank = bank;
    r.da.row = row;
    r.da.column = col;
    r.addr = (static_cast<uint64_t>(rank) << 40) | (static_cast<uint64_t>(bg) << 36) |
             (static_cast<uint64_t>(bank) << 32) | (static_cast<uint64_t>(row) << 8) | col;
    r.arrive = at;
    ch->enqueue(r);
  }
  Cycle done_of(uint64_t id) const {
    for (auto [i, d] : done)
      if (i == id) return d;
    return kNever;
  }
};

} // namespace pnm::dram::test
