// Gives every test a fresh SystemC kernel, so tests in one executable can each
// elaborate and run their own model (a kernel cannot elaborate twice).
#pragma once

#include "common/sim_kernel.h"

#include <gtest/gtest.h>
#include <systemc>

namespace pnm::test {

class SystemCTest : public ::testing::Test {
protected:
  void SetUp() override {
    // The previous kernel stays allocated (SystemC cannot tear down a
    // finished simulation's objects) and reachable (common/sim_kernel.h).
    pnm::fresh_sim_kernel();
  }
};

} // namespace pnm::test
