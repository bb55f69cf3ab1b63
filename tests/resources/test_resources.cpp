// Resource lookup at run time: no test here names a source or build path.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "../support/temp_path.h"
#include "common/resources.h"
#include "kernels/model_shape.h"
#include "platform.h"
#include "pnm/engine_config.h"

namespace fs = std::filesystem;
using namespace pnm;

namespace {

// Each TEST is its own process (CTest), so changing the environment here
// cannot leak into another test.
void clear_overrides() {
  ::unsetenv("PNMVP_PLATFORMS");
  ::unsetenv("PNMVP_FIRMWARE");
  ::unsetenv("PNMVP_MODELS");
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const resources::ResourceError& e) {
    return e.what();
  }
  return "(no ResourceError)";
}

} // namespace

TEST(Resources, BuildTreeIsFoundFromTheTestFolder) {
  clear_overrides();
  const fs::path dir = resources::platforms_dir();
  EXPECT_TRUE(fs::is_regular_file(dir / "pnm-ref.json")) << dir;
  EXPECT_TRUE(fs::is_regular_file(dir / "memspec" / "JEDEC_DDR5-4800AN_16Gb_x8.json")) << dir;
  EXPECT_TRUE(fs::is_regular_file(resources::firmware_elf()));
  // The shipped platform loads with its firmware "builtin" (read at run time).
  const PlatformConfig p = load_platform(resolve_platform("pnm-ref"));
  EXPECT_EQ(p.controller.firmware, "builtin");
  EXPECT_EQ(fs::path(engine::default_engine_file()).parent_path().parent_path(), dir);
  EXPECT_FALSE(kernels::available_models().empty());
}

TEST(Resources, ShareRootsRunFromTheExecutableUpward) {
  const std::vector<std::string> in_tests = resources::share_roots("/x/build/tests/dram/test_dram");
  const std::vector<std::string> expect = {"/x/build/tests/dram/share/pnmvp", "/x/build/tests/share/pnmvp",
                                           "/x/build/share/pnmvp", "/x/share/pnmvp"};
  EXPECT_EQ(in_tests, expect);
  const std::vector<std::string> installed = resources::share_roots("/opt/pnmvp/bin/pnmvp");
  ASSERT_GE(installed.size(), 2u);
  EXPECT_EQ(installed[1], "/opt/pnmvp/share/pnmvp");
  EXPECT_EQ(resources::share_roots("/pnmvp").size(), 1u); // stops at the root
}

TEST(Resources, OverridesPointAtATemporaryCopy) {
  clear_overrides();
  const fs::path copy = test::temp_path("platforms_copy");
  fs::remove_all(copy);
  fs::copy(resources::platforms_dir(), copy, fs::copy_options::recursive);
  fs::copy_file(copy / "pnm-ref.json", copy / "only-in-the-copy.json");
  const fs::path elf = test::temp_path("fw_copy.elf");
  fs::copy_file(resources::firmware_elf(), elf, fs::copy_options::overwrite_existing);

  ::setenv("PNMVP_PLATFORMS", copy.c_str(), 1);
  ::setenv("PNMVP_FIRMWARE", elf.c_str(), 1);
  EXPECT_EQ(resources::platforms_dir(), copy.string());
  EXPECT_EQ(resources::firmware_elf(), elf.string());
  EXPECT_EQ(resolve_platform("only-in-the-copy"), (copy / "only-in-the-copy.json").string());
  EXPECT_EQ(load_platform(resolve_platform("only-in-the-copy")).controller.firmware, "builtin");
  EXPECT_EQ(engine::default_engine_file(), (copy / "engine" / "engine_default.json").string());
  EXPECT_EQ(kernels::models_dir(), (copy / "models").string());
  fs::remove_all(copy);
  fs::remove(elf);
}

TEST(Resources, OverrideThatDoesNotExistIsAnError) {
  clear_overrides();
  ::setenv("PNMVP_FIRMWARE", "/nonexistent/pnm_fw.elf", 1);
  EXPECT_NE(message_of([] { resources::firmware_elf(); }).find("PNMVP_FIRMWARE=/nonexistent/pnm_fw.elf is not a file"),
            std::string::npos);
  ::setenv("PNMVP_PLATFORMS", "/nonexistent", 1);
  EXPECT_NE(message_of([] { resolve_platform("pnm-ref"); }).find("PNMVP_PLATFORMS=/nonexistent is not a folder"),
            std::string::npos);
}

TEST(Resources, NothingFoundNamesEveryPlaceLooked) {
  clear_overrides();
  const fs::path exe = fs::path(test::temp_path("nowhere")) / "a" / "b" / "c" / "prog";
  const resources::Resource r{"the platforms folder", "PNMVP_PLATFORMS", "platforms", true};
  const std::string msg = message_of([&] { resources::find(r, exe.string()); });
  EXPECT_NE(msg.find("cannot find the platforms folder"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Set PNMVP_PLATFORMS"), std::string::npos) << msg;
  for (const std::string& root : resources::share_roots(exe.string()))
    EXPECT_NE(msg.find(root + "/platforms"), std::string::npos) << root << "\n" << msg;
}
