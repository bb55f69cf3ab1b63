#include "command_trace.h"

#include <fmt/format.h>
#include <stdexcept>

namespace pnm::dram {

CommandTraceWriter::CommandTraceWriter(const std::string& path) : out_(path, std::ios::trunc) {
  if (!out_) throw std::runtime_error(fmt::format("command trace '{}': cannot open", path));
  out_ << "cycle,channel,rank,bankgroup,bank,command,row\n";
}

void CommandTraceWriter::on_command(uint32_t channel, Cycle t, Command c, uint32_t rank,
                                    uint32_t bankgroup, uint32_t bank, uint32_t row) {
  out_ << t << ',' << channel << ',' << rank << ',' << bankgroup << ',' << bank << ','
       << command_name(c) << ',' << row << '\n';
  ++written_;
}

} // namespace pnm::dram
