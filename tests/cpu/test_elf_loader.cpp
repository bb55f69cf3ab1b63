// Bad firmware inputs: each must fail with an ElfError naming the file and
// the problem, and leave the core usable.
#include <gtest/gtest.h>

#include "../support/temp_path.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cpu/elf_loader.h"
#include "cpu/riscv_core.h"
#include "fake_bus.h"

namespace pnm::cpu {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string write_temp(const std::string& name, const std::vector<uint8_t>& bytes) {
  const fs::path p = pnm::test::temp_path("cpu_" + name);
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return p.string();
}

void put32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  for (unsigned i = 0; i < 4; ++i) {
    b[off + i] = static_cast<uint8_t>(v >> (8 * i));
  }
}

uint32_t get32(const std::vector<uint8_t>& b, size_t off) {
  return b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (static_cast<uint32_t>(b[off + 3]) << 24);
}

// Loads `path` and expects an ElfError whose message names the file and
// contains `problem`.
void expect_load_error(const std::string& path, const std::string& problem) {
  test::FakeBus bus;
  RiscvCore core(bus);
  try {
    core.load_elf(path);
    FAIL() << "loaded " << path << " without error";
  } catch (const ElfError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path, 0), 0u) << "message must start with the path: " << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << msg;
  }
  // the core is still usable afterwards
  core.load_elf(PNM_FW_HELLO_ELF);
  RunResult r;
  do {
    r = core.run(100'000);
  } while (r.reason == StopReason::quantum);
  EXPECT_EQ(r.reason, StopReason::exit);
}

TEST(cpuElf, LoadsHelloSegmentsAtTheirLoadAddresses) {
  const ElfImage img = read_elf32_riscv(PNM_FW_HELLO_ELF);
  EXPECT_EQ(img.entry, PNM_ITCM_BASE);
  ASSERT_GE(img.segments.size(), 2u);
  bool data_in_itcm_runs_in_dtcm = false;
  for (const ElfSegment& s : img.segments) {
    if (s.vaddr >= PNM_DTCM_BASE && s.paddr < PNM_ITCM_BASE + PNM_ITCM_SIZE_BYTES && !s.data.empty()) {
      data_in_itcm_runs_in_dtcm = true; // .data: stored in ITCM, copied by start-up
    }
  }
  EXPECT_TRUE(data_in_itcm_runs_in_dtcm);
}

TEST(cpuElf, MissingFile) {
  expect_load_error((fs::path(testing::TempDir()) / "no_such_firmware.elf").string(), "not found");
}

TEST(cpuElf, Directory) { expect_load_error(testing::TempDir(), "directory"); }

TEST(cpuElf, GarbageFile) {
  std::vector<uint8_t> junk(4096);
  for (size_t i = 0; i < junk.size(); ++i) {
    junk[i] = static_cast<uint8_t>(i * 131 + 7);
  }
  expect_load_error(write_temp("garbage.elf", junk), "not an ELF file");
}

TEST(cpuElf, EmptyFile) { expect_load_error(write_temp("empty.elf", {}), "not an ELF file"); }

TEST(cpuElf, Elf64File) {
  // Our own firmware with EI_CLASS set to ELFCLASS64: no host binary needed.
  std::vector<uint8_t> b = read_file(PNM_FW_HELLO_ELF);
  ASSERT_GT(b.size(), 64u);
  b[4] = 2; // ELFCLASS64
  expect_load_error(write_temp("elf64.elf", b), "wrong ELF class: ELF64");
}

TEST(cpuElf, WrongMachine) {
  std::vector<uint8_t> b = read_file(PNM_FW_HELLO_ELF);
  ASSERT_GT(b.size(), 64u);
  b[18] = 40; // e_machine = EM_ARM
  b[19] = 0;
  expect_load_error(write_temp("arm.elf", b), "wrong machine: ARM");
}

TEST(cpuElf, NotAnExecutable) {
  std::vector<uint8_t> b = read_file(PNM_FW_HELLO_ELF);
  b[16] = 1; // ET_REL
  expect_load_error(write_temp("rel.elf", b), "not an executable");
}

TEST(cpuElf, HardFloatAbi) {
  std::vector<uint8_t> b = read_file(PNM_FW_HELLO_ELF);
  put32(b, 36, get32(b, 36) | 0x4); // EF_RISCV_FLOAT_ABI_DOUBLE
  expect_load_error(write_temp("hardfloat.elf", b), "hard-float");
}

TEST(cpuElf, TruncatedFile) {
  std::vector<uint8_t> b = read_file(PNM_FW_HELLO_ELF);
  b.resize(40);
  expect_load_error(write_temp("truncated_header.elf", b), "truncated ELF header");
  b = read_file(PNM_FW_HELLO_ELF);
  b.resize(0x1100); // program headers fit, the text segment does not
  expect_load_error(write_temp("truncated_segment.elf", b), "past the end of the file");
}

TEST(cpuElf, SegmentOutsideTheTcms) {
  std::vector<uint8_t> b = read_file(PNM_FW_HELLO_ELF);
  const uint32_t phoff = get32(b, 28);
  const uint16_t phentsize = static_cast<uint16_t>(b[42] | (b[43] << 8));
  const uint16_t phnum = static_cast<uint16_t>(b[44] | (b[45] << 8));
  bool patched = false;
  for (unsigned i = 0; i < phnum && !patched; ++i) {
    const size_t ph = phoff + static_cast<size_t>(i) * phentsize;
    if (get32(b, ph) == 1 /* PT_LOAD */ && get32(b, ph + 16) > 0) {
      put32(b, ph + 12, 0x20000000); // p_paddr in the peripheral space
      patched = true;
    }
  }
  ASSERT_TRUE(patched);
  expect_load_error(write_temp("outside.elf", b), "lies outside the TCMs");
}

} // namespace
} // namespace pnm::cpu
