// An observer plugin that writes every DRAM command as CSV, for checking a run
// against a peer (DRAMPower) or by eye:
//   cycle,channel,rank,bankgroup,bank,command,row
#pragma once

#include "dram_channel.h"

#include <fstream>
#include <string>

namespace pnm::dram {

class CommandTraceWriter : public CommandObserver {
public:
  explicit CommandTraceWriter(const std::string& path);
  void on_command(uint32_t channel, Cycle t, Command c, uint32_t rank, uint32_t bankgroup,
                  uint32_t bank, uint32_t row) override;
  uint64_t written() const { return written_; }

private:
  std::ofstream out_;
  uint64_t written_ = 0;
};

} // namespace pnm::dram
