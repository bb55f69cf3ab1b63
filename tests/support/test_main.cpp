// Entry point of every test executable. Defining main here (an object file,
// so it always wins) keeps libsystemc's own main out; SystemC still needs an
// sc_main symbol to link, which is never called.
#include "common/log.h"

#include <cstdlib>
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
  pnm::log::install_report_handler(); // the library never installs it itself
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

extern "C" int sc_main(int, char**) { return 1; }
