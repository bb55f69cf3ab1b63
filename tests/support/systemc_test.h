// Gives every test a fresh SystemC kernel, so tests in one executable can each
// elaborate and run their own model (a kernel cannot elaborate twice).
#pragma once

#include <gtest/gtest.h>
#include <systemc>

namespace pnm::test {

class SystemCTest : public ::testing::Test {
protected:
  void SetUp() override {
    // The previous context is leaked on purpose: tearing down a finished
    // simulation's objects is not supported by the kernel.
    sc_core::sc_curr_simcontext = new sc_core::sc_simcontext();
    sc_core::sc_default_global_context = sc_core::sc_curr_simcontext;
  }
};

} // namespace pnm::test
