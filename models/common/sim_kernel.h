// A fresh SystemC kernel for each simulation a program runs (a kernel
// elaborates once). The previous kernel stays allocated, since SystemC
// cannot tear down a finished simulation's objects, and stays reachable from
// a list here, so LeakSanitizer does not report it (and everything it owns)
// as lost when a program runs several simulations.
#pragma once

#include <systemc>
#include <vector>

namespace pnm {

inline void fresh_sim_kernel() {
  // Never destroyed: a list freed at exit would leave the kernels unreachable
  // just before the leak check runs.
  static auto* earlier = new std::vector<sc_core::sc_simcontext*>;
  if (sc_core::sc_curr_simcontext) earlier->push_back(sc_core::sc_curr_simcontext);
  sc_core::sc_curr_simcontext = new sc_core::sc_simcontext();
  sc_core::sc_default_global_context = sc_core::sc_curr_simcontext;
}

} // namespace pnm
