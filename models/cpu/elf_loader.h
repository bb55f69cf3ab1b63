// Minimal ELF32 reader for controller firmware: checks that the file is a
// little-endian RISC-V executable and returns its PT_LOAD segments. Every
// error is an ElfError whose message starts with the file name.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace pnm::cpu {

class ElfError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct ElfSegment {
  uint32_t paddr = 0;  // load address (LMA): where the image is placed
  uint32_t vaddr = 0;  // run address (VMA): differs for .data copied by start-up
  uint32_t memsz = 0;  // bytes in memory; [filesz, memsz) is zero
  uint32_t flags = 0;  // PF_R/PF_W/PF_X
  std::vector<uint8_t> data; // filesz bytes
};

struct ElfImage {
  std::string path;
  uint32_t entry = 0;
  uint32_t flags = 0; // e_flags (RVC, float ABI)
  std::vector<ElfSegment> segments; // PT_LOAD only, in file order
};

// Throws ElfError: missing/unreadable file, not ELF, ELF64, big-endian,
// not an executable, machine other than RISC-V, hard-float ABI, truncated
// headers or segments.
ElfImage read_elf32_riscv(const std::string& path);

} // namespace pnm::cpu
