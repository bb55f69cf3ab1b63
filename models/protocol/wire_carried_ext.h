// Marks a line stream (line_stream_ext.h) whose lines have already crossed
// the wire in front of the port it is sent to: a switch's downstream port
// (models/fabric) modelled that wire, so the device's link module passes the
// stream straight to its controller and the wire is counted once.
#pragma once

#include <tlm>

namespace pnm::protocol {

class WireCarriedExtension : public tlm::tlm_extension<WireCarriedExtension> {
public:
  tlm::tlm_extension_base* clone() const override { return new WireCarriedExtension(*this); }
  void copy_from(const tlm::tlm_extension_base&) override {}
};

} // namespace pnm::protocol
