// Temp files private to this test process: CTest runs tests in parallel, so
// a fixed name in the shared temp dir would be a race between tests.
#pragma once

#include <gtest/gtest.h>
#include <string>
#include <unistd.h>

namespace pnm::test {

inline std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "pnm_" + std::to_string(::getpid()) + "_" + name;
}

} // namespace pnm::test
