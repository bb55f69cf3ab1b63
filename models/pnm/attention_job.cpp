#include "pnm/attention_job.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>

namespace pnm::engine {

const char* error_name(JobError e) {
  switch (e) {
  case JobError::kOk: return "ok";
  case JobError::kBadMagic: return "bad_magic";
  case JobError::kBadVersion: return "bad_version";
  case JobError::kBadOpcode: return "bad_opcode";
  case JobError::kBadPrecision: return "bad_precision";
  case JobError::kBadFlags: return "bad_flags";
  case JobError::kReserved: return "reserved_not_zero";
  case JobError::kBadHeads: return "bad_heads";
  case JobError::kBadKvHeads: return "bad_kv_heads";
  case JobError::kBadHeadDim: return "bad_head_dim";
  case JobError::kBadSeqLen: return "bad_seq_len";
  case JobError::kBadK: return "bad_k";
  case JobError::kTopkTooLarge: return "topk_too_large";
  case JobError::kBadPageTokens: return "bad_page_tokens";
  case JobError::kBadScale: return "bad_scale";
  case JobError::kMisaligned: return "misaligned";
  case JobError::kOutOfRange: return "out_of_range";
  case JobError::kOverlap: return "overlap";
  case JobError::kDescAddress: return "descriptor_address";
  case JobError::kInternal: return "internal";
  case JobError::kPeer: return "peer";
  }
  return "unknown";
}

bool AttentionJob::pages() const {
  return op() == Opcode::kTopkPage || (op() == Opcode::kSelect && page_tokens != 0);
}

uint32_t AttentionJob::items() const {
  if (!pages()) return seq_len;
  return page_tokens ? static_cast<uint32_t>((uint64_t{seq_len} + page_tokens - 1) / page_tokens) : 0;
}

uint32_t AttentionJob::k_eff() const {
  return op() == Opcode::kDense || op() == Opcode::kMerge ? 0 : std::min(k, items());
}

bool AttentionJob::writes_o() const {
  return op() != Opcode::kSelect || (flags & PNM_JOB_FLAG_WRITE_SCORES);
}

bool AttentionJob::writes_idx() const {
  return op() == Opcode::kSelect ||
         ((op() == Opcode::kTopkToken || op() == Opcode::kTopkPage) &&
          (flags & PNM_JOB_FLAG_WRITE_INDICES));
}

uint64_t AttentionJob::o_bytes() const {
  if (!writes_o()) return 0;
  if (op() == Opcode::kSelect) return uint64_t{heads} * k_eff() * 4;
  return uint64_t{heads} * head_dim * 4 + (writes_lse() ? uint64_t{heads} * 4 : 0);
}

uint64_t AttentionJob::idx_bytes() const { return writes_idx() ? uint64_t{heads} * k_eff() * 4 : 0; }

namespace {
template <typename T> void put(uint8_t* p, size_t off, T v) {
  // Little-endian whatever the host: byte by byte.
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof v);
  for (size_t i = 0; i < sizeof v; ++i) p[off + i] = static_cast<uint8_t>(bits >> (8 * i));
}
template <typename T> T get(const uint8_t* p, size_t off) {
  uint64_t bits = 0;
  for (size_t i = 0; i < sizeof(T); ++i) bits |= uint64_t{p[off + i]} << (8 * i);
  T v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}
} // namespace

std::array<uint8_t, kDescBytes> encode(const AttentionJob& j) {
  std::array<uint8_t, kDescBytes> b{};
  uint8_t* p = b.data();
  put(p, PNM_JOB_MAGIC_OFF, j.magic);
  put(p, PNM_JOB_VERSION_OFF, j.version);
  put(p, PNM_JOB_SIZE_OFF, j.size_bytes);
  put(p, PNM_JOB_OPCODE_OFF, j.opcode);
  put(p, PNM_JOB_PRECISION_OFF, j.precision);
  put(p, PNM_JOB_FLAGS_OFF, j.flags);
  put(p, PNM_JOB_HEADS_OFF, j.heads);
  put(p, PNM_JOB_KV_HEADS_OFF, j.kv_heads);
  put(p, PNM_JOB_HEAD_DIM_OFF, j.head_dim);
  put(p, PNM_JOB_RESERVED0_OFF, j.reserved0);
  put(p, PNM_JOB_SEQ_LEN_OFF, j.seq_len);
  put(p, PNM_JOB_K_OFF, j.k);
  put(p, PNM_JOB_PAGE_TOKENS_OFF, j.page_tokens);
  put(p, PNM_JOB_SCALE_OFF, j.scale);
  put(p, PNM_JOB_V_SCALE_OFF, j.v_scale);
  put(p, PNM_JOB_Q_ADDR_OFF, j.q_addr);
  put(p, PNM_JOB_K_ADDR_OFF, j.k_addr);
  put(p, PNM_JOB_V_ADDR_OFF, j.v_addr);
  put(p, PNM_JOB_O_ADDR_OFF, j.o_addr);
  put(p, PNM_JOB_IDX_ADDR_OFF, j.idx_addr);
  put(p, PNM_JOB_TAG_OFF, j.tag);
  put(p, PNM_JOB_KV_STRIDE_OFF, j.kv_stride);
  put(p, PNM_JOB_EPOCH_OFF, j.epoch);
  put(p, PNM_JOB_PUSH_ADDR_OFF, j.push_addr);
  put(p, PNM_JOB_FLAG_ADDR_OFF, j.flag_addr);
  std::memcpy(p + PNM_JOB_RESERVED1_OFF, j.reserved1.data(), j.reserved1.size());
  return b;
}

AttentionJob decode(const uint8_t* p) {
  AttentionJob j;
  j.magic = get<uint32_t>(p, PNM_JOB_MAGIC_OFF);
  j.version = get<uint16_t>(p, PNM_JOB_VERSION_OFF);
  j.size_bytes = get<uint16_t>(p, PNM_JOB_SIZE_OFF);
  j.opcode = get<uint8_t>(p, PNM_JOB_OPCODE_OFF);
  j.precision = get<uint8_t>(p, PNM_JOB_PRECISION_OFF);
  j.flags = get<uint16_t>(p, PNM_JOB_FLAGS_OFF);
  j.heads = get<uint16_t>(p, PNM_JOB_HEADS_OFF);
  j.kv_heads = get<uint16_t>(p, PNM_JOB_KV_HEADS_OFF);
  j.head_dim = get<uint16_t>(p, PNM_JOB_HEAD_DIM_OFF);
  j.reserved0 = get<uint16_t>(p, PNM_JOB_RESERVED0_OFF);
  j.seq_len = get<uint32_t>(p, PNM_JOB_SEQ_LEN_OFF);
  j.k = get<uint32_t>(p, PNM_JOB_K_OFF);
  j.page_tokens = get<uint32_t>(p, PNM_JOB_PAGE_TOKENS_OFF);
  j.scale = get<float>(p, PNM_JOB_SCALE_OFF);
  j.v_scale = get<float>(p, PNM_JOB_V_SCALE_OFF);
  j.q_addr = get<uint64_t>(p, PNM_JOB_Q_ADDR_OFF);
  j.k_addr = get<uint64_t>(p, PNM_JOB_K_ADDR_OFF);
  j.v_addr = get<uint64_t>(p, PNM_JOB_V_ADDR_OFF);
  j.o_addr = get<uint64_t>(p, PNM_JOB_O_ADDR_OFF);
  j.idx_addr = get<uint64_t>(p, PNM_JOB_IDX_ADDR_OFF);
  j.tag = get<uint64_t>(p, PNM_JOB_TAG_OFF);
  j.kv_stride = get<uint32_t>(p, PNM_JOB_KV_STRIDE_OFF);
  j.epoch = get<uint32_t>(p, PNM_JOB_EPOCH_OFF);
  j.push_addr = get<uint64_t>(p, PNM_JOB_PUSH_ADDR_OFF);
  j.flag_addr = get<uint64_t>(p, PNM_JOB_FLAG_ADDR_OFF);
  std::memcpy(j.reserved1.data(), p + PNM_JOB_RESERVED1_OFF, j.reserved1.size());
  return j;
}

namespace {
JobCheck fail(JobError e, std::string msg) { return JobCheck{e, std::move(msg)}; }

bool is_pow2(uint32_t v) { return v && !(v & (v - 1)); }

struct Region {
  const char* name;
  uint64_t addr;
  uint64_t bytes;
};
} // namespace

JobCheck validate(const AttentionJob& j, const JobLimits& lim) {
  // Header.
  if (j.magic != PNM_JOB_MAGIC)
    return fail(JobError::kBadMagic, fmt::format("magic 0x{:08x}, expected 0x{:08x} (\"PNMJ\")",
                                                 j.magic, PNM_JOB_MAGIC));
  if (j.version != PNM_JOB_VERSION || j.size_bytes != PNM_JOB_DESC_BYTES)
    return fail(JobError::kBadVersion,
                fmt::format("descriptor version {} size {} B; this engine takes version {} of {} B",
                            j.version, j.size_bytes, PNM_JOB_VERSION, PNM_JOB_DESC_BYTES));
  if (j.opcode < PNM_JOB_OP_DENSE || j.opcode > PNM_JOB_OP_MERGE)
    return fail(JobError::kBadOpcode, fmt::format("opcode {} is not 1 (dense), 2 (top-k tokens), "
                                                  "3 (top-k pages), 4 (select) or 5 (merge)", j.opcode));
  if (j.precision != PNM_JOB_PREC_BF16 && j.precision != PNM_JOB_PREC_INT8)
    return fail(JobError::kBadPrecision,
                fmt::format("precision {} is not 0 (bf16) or 1 (int8)", j.precision));
  if (j.flags & ~PNM_JOB_FLAGS_KNOWN)
    return fail(JobError::kBadFlags, fmt::format("unknown flag bits 0x{:x}", j.flags & ~PNM_JOB_FLAGS_KNOWN));
  const Opcode op = j.op();
  if ((j.flags & PNM_JOB_FLAG_WRITE_INDICES) && op != Opcode::kTopkToken && op != Opcode::kTopkPage)
    return fail(JobError::kBadFlags, "WRITE_INDICES is for TOPK_TOKEN and TOPK_PAGE (SELECT always writes them)");
  if ((j.flags & PNM_JOB_FLAG_WRITE_SCORES) && op != Opcode::kSelect)
    return fail(JobError::kBadFlags, "WRITE_SCORES is for SELECT only");
  if ((j.flags & (PNM_JOB_FLAG_WRITE_LSE | PNM_JOB_FLAG_PUSH)) && op == Opcode::kSelect)
    return fail(JobError::kBadFlags, "WRITE_LSE and PUSH are for DENSE, TOPK_TOKEN, TOPK_PAGE and MERGE");
  if (j.pushes() && (j.push_addr % kAlignBytes || j.flag_addr % kAlignBytes))
    return fail(JobError::kMisaligned, fmt::format("PUSH addresses 0x{:x} and flag 0x{:x} must be {}-byte aligned",
                                                   j.push_addr, j.flag_addr, kAlignBytes));
  if (j.reserved0 != 0 ||
      std::any_of(j.reserved1.begin(), j.reserved1.end(), [](uint8_t b) { return b != 0; }))
    return fail(JobError::kReserved, "reserved descriptor fields must be 0");

  // Dimensions.
  if (j.heads == 0 || j.heads > kMaxHeads)
    return fail(JobError::kBadHeads, fmt::format("heads {} is outside 1..{}", j.heads, kMaxHeads));
  if (j.kv_heads == 0 || j.heads % j.kv_heads != 0)
    return fail(JobError::kBadKvHeads,
                fmt::format("kv_heads {} must be >= 1 and divide heads {}", j.kv_heads, j.heads));
  if (j.head_dim == 0 || j.head_dim > kMaxHeadDim || lim.lanes <= 0 || j.head_dim % lim.lanes != 0)
    return fail(JobError::kBadHeadDim,
                fmt::format("head_dim {} must be a multiple of the datapath's {} lanes and <= {}",
                            j.head_dim, lim.lanes, kMaxHeadDim));
  if (op == Opcode::kMerge) {
    if (j.k < 2 || j.k > PNM_JOB_MERGE_MAX_PARTS)
      return fail(JobError::kBadK, fmt::format("k (parts) {} of a merge is outside 2..{}", j.k, PNM_JOB_MERGE_MAX_PARTS));
  } else if (j.seq_len == 0 || j.seq_len > kMaxSeqLen)
    return fail(JobError::kBadSeqLen,
                fmt::format("seq_len {} is outside 1..{}", j.seq_len, kMaxSeqLen));
  if (op != Opcode::kMerge && j.kv_stride != 0 && (j.kv_stride < j.seq_len || j.kv_stride > kMaxSeqLen))
    return fail(JobError::kBadSeqLen, fmt::format("kv_stride {} must be 0 or in seq_len {}..{}", j.kv_stride,
                                                  j.seq_len, kMaxSeqLen));
  if (op == Opcode::kDense) {
    if (j.k != 0) return fail(JobError::kBadK, "k must be 0 for a dense job");
    if (j.page_tokens != 0) return fail(JobError::kBadPageTokens, "page_tokens must be 0 for a dense job");
  } else if (op != Opcode::kMerge) {
    if (j.k == 0) return fail(JobError::kBadK, "k must be >= 1 for a top-k job");
    if (op == Opcode::kTopkToken && j.page_tokens != 0)
      return fail(JobError::kBadPageTokens, "page_tokens must be 0 for TOPK_TOKEN");
    if ((op == Opcode::kTopkPage || (op == Opcode::kSelect && j.page_tokens != 0)) &&
        (!is_pow2(j.page_tokens) || j.page_tokens > kMaxPageTokens))
      return fail(JobError::kBadPageTokens,
                  fmt::format("page_tokens {} must be a power of two in 1..{}", j.page_tokens,
                              kMaxPageTokens));
    if (j.k_eff() > lim.topk_max_entries)
      return fail(JobError::kTopkTooLarge,
                  fmt::format("min(k={}, {} {}) = {} exceeds the selector's {} entries", j.k,
                              j.items(), j.pages() ? "pages" : "tokens", j.k_eff(),
                              lim.topk_max_entries));
  }
  if (op != Opcode::kMerge && (!std::isfinite(j.scale) || !(j.scale > 0)))
    return fail(JobError::kBadScale, fmt::format("scale {} must be finite and > 0", j.scale));
  if (j.prec() == Precision::kInt8 && j.reads_v() && (!std::isfinite(j.v_scale) || !(j.v_scale > 0)))
    return fail(JobError::kBadScale, fmt::format("v_scale {} must be finite and > 0 for INT8", j.v_scale));

  // Addresses. Sizes cannot overflow: 2^7 heads * 2^24 tokens * 2^8 * 2 B = 2^40.
  // A MERGE reads its parts (in Q's place) and its flag lines (in K's).
  const bool merge = op == Opcode::kMerge;
  Region in[3] = {{merge ? "parts" : "Q", j.q_addr, j.q_bytes()},
                  {merge ? "flags" : "K", merge ? j.idx_addr : j.k_addr, merge ? j.flag_bytes() : j.kv_bytes()},
                  {"V", j.v_addr, j.reads_v() ? j.kv_bytes() : 0}};
  Region out[2] = {{"O", j.o_addr, j.o_bytes()}, {"indices", j.idx_addr, j.idx_bytes()}};
  for (const Region* group : {in, out}) {
    const size_t n = group == in ? 3 : 2;
    for (size_t i = 0; i < n; ++i) {
      const Region& r = group[i];
      if (r.bytes == 0) continue;
      if (r.addr % kAlignBytes)
        return fail(JobError::kMisaligned,
                    fmt::format("{} address 0x{:x} is not {}-byte aligned", r.name, r.addr, kAlignBytes));
      if (r.addr >= lim.capacity_bytes || r.bytes > lim.capacity_bytes - r.addr)
        return fail(JobError::kOutOfRange,
                    fmt::format("{} region 0x{:x} + {} B extends beyond device memory ({} B)",
                                r.name, r.addr, r.bytes, lim.capacity_bytes));
    }
  }
  auto overlaps = [](const Region& a, const Region& b) {
    return a.bytes && b.bytes && a.addr < b.addr + b.bytes && b.addr < a.addr + a.bytes;
  };
  for (const Region& o : out) {
    for (const Region& i : in)
      if (overlaps(o, i))
        return fail(JobError::kOverlap, fmt::format("output {} [0x{:x}, +{}) overlaps input {} [0x{:x}, +{})",
                                                    o.name, o.addr, o.bytes, i.name, i.addr, i.bytes));
  }
  if (overlaps(out[0], out[1]))
    return fail(JobError::kOverlap, "outputs O and indices overlap");
  return {};
}

} // namespace pnm::engine
