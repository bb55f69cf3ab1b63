#include "elf_loader.h"

#include "common/input_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace pnm::cpu {
namespace {

// ELF constants (System V gABI; RISC-V psABI for e_machine and e_flags).
constexpr uint8_t kElfClass32 = 1;
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfDataLsb = 1;
constexpr uint16_t kElfTypeExec = 2;
constexpr uint16_t kMachineRiscv = 243;
constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kRiscvFloatAbiMask = 0x6;
constexpr size_t kEhdrBytes = 52;
constexpr size_t kPhdrBytes = 32;

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

std::string machine_name(uint16_t m) {
  switch (m) {
  case 3: return "x86";
  case 40: return "ARM";
  case 62: return "x86-64";
  case 183: return "AArch64";
  case 243: return "RISC-V";
  default: return "machine " + std::to_string(m);
  }
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw ElfError(path + ": " + what);
}

} // namespace

ElfImage read_elf32_riscv(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    fail(path, "firmware ELF not found (no such file)");
  }
  if (std::filesystem::is_directory(path, ec)) {
    fail(path, "is a directory, not a firmware ELF");
  }
  try {
    check_input_file(path, "firmware ELF", kMaxElfBytes);
  } catch (const InputFileError& e) {
    fail(path, e.what());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fail(path, std::string("cannot open firmware ELF: ") + std::strerror(errno));
  }
  const std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (file.size() < 16 || std::memcmp(file.data(), "\x7f" "ELF", 4) != 0) {
    fail(path, "not an ELF file (bad magic)");
  }
  if (file[4] == kElfClass64) {
    fail(path, "wrong ELF class: ELF64, but the controller core is RV32 (expected ELF32)");
  }
  if (file[4] != kElfClass32) {
    fail(path, "invalid ELF class " + std::to_string(file[4]));
  }
  if (file[5] != kElfDataLsb) {
    fail(path, "not a little-endian ELF (RISC-V firmware is little-endian)");
  }
  if (file.size() < kEhdrBytes) {
    fail(path, "truncated ELF header");
  }
  const uint8_t* eh = file.data();
  const uint16_t type = le16(eh + 16);
  const uint16_t machine = le16(eh + 18);
  if (machine != kMachineRiscv) {
    fail(path, "wrong machine: " + machine_name(machine) + " (e_machine " +
                   std::to_string(machine) + "), expected RISC-V (243)");
  }
  if (type != kElfTypeExec) {
    fail(path, "not an executable (e_type " + std::to_string(type) +
                   "); link the firmware into a static ELF");
  }
  ElfImage img;
  img.path = path;
  img.entry = le32(eh + 24);
  img.flags = le32(eh + 36);
  if ((img.flags & kRiscvFloatAbiMask) != 0) {
    fail(path, "uses a hard-float ABI; the controller core is rv32imac (ilp32)");
  }
  const uint32_t phoff = le32(eh + 28);
  const uint16_t phentsize = le16(eh + 42);
  const uint16_t phnum = le16(eh + 44);
  if (phnum == 0) {
    fail(path, "no program headers");
  }
  if (phentsize < kPhdrBytes ||
      static_cast<uint64_t>(phoff) + static_cast<uint64_t>(phnum) * phentsize > file.size()) {
    fail(path, "truncated or malformed program header table");
  }
  for (unsigned i = 0; i < phnum; ++i) {
    const uint8_t* ph = eh + phoff + static_cast<size_t>(i) * phentsize;
    if (le32(ph) != kPtLoad) {
      continue;
    }
    const uint32_t offset = le32(ph + 4);
    const uint32_t filesz = le32(ph + 16);
    ElfSegment seg;
    seg.vaddr = le32(ph + 8);
    seg.paddr = le32(ph + 12);
    seg.memsz = le32(ph + 20);
    seg.flags = le32(ph + 24);
    if (filesz > seg.memsz) {
      fail(path, "segment " + std::to_string(i) + " has p_filesz > p_memsz");
    }
    if (static_cast<uint64_t>(offset) + filesz > file.size()) {
      fail(path, "segment " + std::to_string(i) + " extends past the end of the file (truncated?)");
    }
    seg.data.assign(file.begin() + offset, file.begin() + offset + filesz);
    img.segments.push_back(std::move(seg));
  }
  if (img.segments.empty()) {
    fail(path, "no loadable (PT_LOAD) segments");
  }
  return img;
}

} // namespace pnm::cpu
