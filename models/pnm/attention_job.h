// The attention engine's job descriptor: the 128-byte little-endian record
// that firmware (or a host driver) writes into device memory, its decoded
// form, and the checks a job must pass before the engine touches memory.
// Byte layout, opcodes and error codes come from pnmvp/hw/engine_regs.h
// (plain C, shared with the firmware and the driver); docs/ENGINE.md has
// them as tables.
#pragma once

#include <pnmvp/hw/engine_regs.h>

#include <array>
#include <cstdint>
#include <string>

namespace pnm::engine {

constexpr uint32_t kDescBytes = PNM_JOB_DESC_BYTES;
constexpr uint32_t kAlignBytes = PNM_JOB_ALIGN_BYTES;
constexpr uint32_t kMaxHeads = 128;
constexpr uint32_t kMaxHeadDim = 256;
constexpr uint32_t kMaxSeqLen = 1u << 24;
constexpr uint32_t kMaxPageTokens = 1u << 16;

enum class Opcode : uint8_t {
  kDense = PNM_JOB_OP_DENSE,
  kTopkToken = PNM_JOB_OP_TOPK_TOKEN,
  kTopkPage = PNM_JOB_OP_TOPK_PAGE,
  kSelect = PNM_JOB_OP_SELECT,
  kMerge = PNM_JOB_OP_MERGE,
};

// Same values as datapath::Precision (the RTL's mode bit).
enum class Precision : uint8_t { kBf16 = PNM_JOB_PREC_BF16, kInt8 = PNM_JOB_PREC_INT8 };

enum class JobError : uint32_t {
  kOk = PNM_JOB_ERR_OK,
  kBadMagic = PNM_JOB_ERR_BAD_MAGIC,
  kBadVersion = PNM_JOB_ERR_BAD_VERSION,
  kBadOpcode = PNM_JOB_ERR_BAD_OPCODE,
  kBadPrecision = PNM_JOB_ERR_BAD_PRECISION,
  kBadFlags = PNM_JOB_ERR_BAD_FLAGS,
  kReserved = PNM_JOB_ERR_RESERVED,
  kBadHeads = PNM_JOB_ERR_BAD_HEADS,
  kBadKvHeads = PNM_JOB_ERR_BAD_KV_HEADS,
  kBadHeadDim = PNM_JOB_ERR_BAD_HEAD_DIM,
  kBadSeqLen = PNM_JOB_ERR_BAD_SEQ_LEN,
  kBadK = PNM_JOB_ERR_BAD_K,
  kTopkTooLarge = PNM_JOB_ERR_TOPK_TOO_LARGE,
  kBadPageTokens = PNM_JOB_ERR_BAD_PAGE_TOKENS,
  kBadScale = PNM_JOB_ERR_BAD_SCALE,
  kMisaligned = PNM_JOB_ERR_MISALIGNED,
  kOutOfRange = PNM_JOB_ERR_OUT_OF_RANGE,
  kOverlap = PNM_JOB_ERR_OVERLAP,
  kDescAddress = PNM_JOB_ERR_DESC_ADDRESS,
  kInternal = PNM_JOB_ERR_INTERNAL,
  kPeer = PNM_JOB_ERR_PEER,
};
const char* error_name(JobError e);

// The descriptor's fields, decoded (no checks: see validate()). Opcode and
// precision stay raw bytes so that a bad value survives decoding and is
// reported, not lost in a cast.
struct AttentionJob {
  uint32_t magic = PNM_JOB_MAGIC;
  uint16_t version = PNM_JOB_VERSION;
  uint16_t size_bytes = PNM_JOB_DESC_BYTES;
  uint8_t opcode = PNM_JOB_OP_DENSE;
  uint8_t precision = PNM_JOB_PREC_BF16;
  uint16_t flags = 0;
  uint16_t heads = 1;
  uint16_t kv_heads = 1;    // number of KV heads; query head q uses KV head q / (heads / kv_heads)
  uint16_t head_dim = 0;
  uint16_t reserved0 = 0;
  uint32_t seq_len = 0;
  uint32_t k = 0;           // tokens (TOPK_TOKEN, SELECT) or pages (TOPK_PAGE, SELECT with pages)
  uint32_t page_tokens = 0;
  float scale = 1.0f;
  float v_scale = 1.0f;
  uint64_t q_addr = 0, k_addr = 0, v_addr = 0, o_addr = 0, idx_addr = 0;
  uint64_t tag = 0;
  uint32_t kv_stride = 0;   // rows between KV heads (0: seq_len)
  uint32_t epoch = 0;       // PUSH: written to the flag line; MERGE: what each part's flag must hold
  uint64_t push_addr = 0;   // PUSH: HPA the O region is copied to (peer port)
  uint64_t flag_addr = 0;   // PUSH: HPA of the flag line written after the copy
  std::array<uint8_t, 16> reserved1{};

  Opcode op() const { return static_cast<Opcode>(opcode); }
  Precision prec() const { return static_cast<Precision>(precision); }
  uint32_t elem_bytes() const { return precision == PNM_JOB_PREC_INT8 ? 1 : 2; }
  uint32_t group() const { return heads / kv_heads; }  // query heads per KV head
  uint64_t row_bytes() const { return uint64_t{head_dim} * elem_bytes(); }
  bool pages() const;           // selects pages (TOPK_PAGE, or SELECT with page_tokens != 0)
  uint32_t items() const;       // what top-k chooses among: tokens or pages
  uint32_t k_eff() const;       // min(k, items()) for top-k ops, 0 for DENSE
  bool writes_o() const;        // O region used
  bool writes_idx() const;      // index region used
  bool reads_v() const { return op() != Opcode::kSelect && op() != Opcode::kMerge; }
  bool writes_lse() const { return flags & PNM_JOB_FLAG_WRITE_LSE; }
  bool pushes() const { return flags & PNM_JOB_FLAG_PUSH; }
  // MERGE: the parts at q_addr, part_bytes() apart; their flag lines at idx_addr.
  uint32_t parts() const { return op() == Opcode::kMerge ? k : 0; }
  uint64_t part_bytes() const { return PNM_JOB_PART_BYTES(heads, head_dim); }
  uint64_t flag_bytes() const { return op() == Opcode::kMerge ? uint64_t{k - 1} * PNM_JOB_ALIGN_BYTES : 0; }
  // Byte sizes of each region (0 when unused). Valid after validate() passed.
  // Q of a MERGE is its parts.
  uint64_t q_bytes() const { return op() == Opcode::kMerge ? uint64_t{k} * part_bytes() : uint64_t{heads} * row_bytes(); }
  // Rows from one KV head's K (or V) to the next.
  uint64_t kv_stride_rows() const { return kv_stride ? kv_stride : seq_len; }
  // K (or V) region: every head's stride, the last head's used rows only.
  uint64_t kv_bytes() const {
    return op() == Opcode::kMerge ? 0 : ((uint64_t{kv_heads} - 1) * kv_stride_rows() + seq_len) * row_bytes();
  }
  uint64_t o_bytes() const;
  uint64_t idx_bytes() const;
};

// Little-endian encode/decode of the 128-byte record.
std::array<uint8_t, kDescBytes> encode(const AttentionJob& job);
AttentionJob decode(const uint8_t* bytes);

// What a job is checked against: the engine and the memory it runs on.
struct JobLimits {
  int lanes = 16;                       // head_dim must be a multiple
  uint64_t capacity_bytes = 0;          // device memory
  uint32_t topk_max_entries = 2048;     // selector capacity (tokens or pages)
};

struct JobCheck {
  JobError code = JobError::kOk;
  std::string message;
  bool ok() const { return code == JobError::kOk; }
};

// Header, dimensions, then addresses; the first problem found is reported.
JobCheck validate(const AttentionJob& job, const JobLimits& limits);

} // namespace pnm::engine
