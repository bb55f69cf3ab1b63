// The serving system's KV memory (plain C++): HBM and the CXL devices as
// tiers of fixed-size blocks, as vLLM's block manager keeps them, and the
// prefix cache.
//
// A sequence's KV is a list of prefix blocks (one per full prompt block that
// carries a hash id, e.g. Mooncake's 512-token blocks) followed by private
// blocks (the rest of the prompt and every generated token). A prefix block
// is stored once and reference-counted: a request whose prompt starts with
// the same hash ids references it instead of recomputing it. A prefix block
// no sequence references stays cached until its space is needed (least
// recently used first), as vLLM's automatic prefix caching does.
//
// Placement: each block lives in one tier. The placement of a run (from its
// KV policy) is an ordered list of tiers tried in turn: HBM only, HBM then
// CXL, or CXL only. A sequence's CXL blocks go to its own device, chosen at
// its admission (the one with most free blocks), and spill to the other
// devices in turn when it is full (a context longer than one device holds is
// sharded across devices, each attending over its part); prefix blocks it
// shares may sit on other devices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

namespace pnm::serving {

enum class Placement { hbm_only, hbm_then_cxl, cxl_only };

// Where one sequence's tokens are: the attention of a step reads these.
struct KvSplit {
  uint64_t hbm_tokens = 0;
  std::vector<uint64_t> cxl_tokens; // per device
  uint64_t cxl_total() const;
};

class KvCache {
public:
  // Capacities in blocks of `block_tokens`; prefix blocks hold
  // `prefix_block_tokens` (a multiple of block_tokens). prefix_caching off:
  // every block is private.
  KvCache(uint32_t block_tokens, uint32_t prefix_block_tokens, uint64_t hbm_blocks,
          std::vector<uint64_t> cxl_blocks, Placement placement, bool prefix_caching);

  struct Seq {
    unsigned device = 0;                 // where its private CXL blocks go
    std::vector<uint32_t> prefix;        // prefix-block entries it references, in prompt order
    uint32_t prefix_tokens = 0;          // tokens of those entries
    uint64_t tokens = 0;                 // tokens of KV held (prefix + private)
    std::vector<uint64_t> private_blocks; // per tier (0: HBM, 1 + d: device d)
    // The same blocks in the order they were allocated, as runs of one tier:
    // tokens fill blocks in this order, so a block taken later in HBM (freed
    // meanwhile) holds later tokens than the device blocks before it.
    std::vector<std::pair<int, uint64_t>> private_runs; // (tier, blocks)
    uint64_t private_total() const;
    bool holds = false;                  // has anything allocated
  };

  // Picks the sequence's device (most free CXL blocks).
  void place(Seq& s) const;
  // References the cached prefix blocks matching the start of `hash_ids` (up
  // to `max_blocks`), marks them used; returns the tokens they hold.
  uint64_t match_prefix(Seq& s, const std::vector<uint64_t>& hash_ids, size_t max_blocks);
  // Grows the sequence's KV to `tokens`. Tokens that complete a prompt block
  // whose hash id is in `hash_ids` become prefix entries (prompt_tokens bounds
  // the blocks that may be shared); the rest are private. Evicts unreferenced
  // cached prefix blocks as needed. False, with nothing changed, when there is
  // no room.
  bool grow(Seq& s, uint64_t tokens, const std::vector<uint64_t>& hash_ids, uint64_t prompt_tokens);
  // Frees the private blocks, drops the prefix references (the blocks stay
  // cached).
  void release(Seq& s);

  KvSplit split(const Seq& s) const;

  // Occupancy.
  uint64_t hbm_used_blocks() const { return hbm_used_; }
  uint64_t hbm_blocks() const { return hbm_cap_; }
  uint64_t cxl_used_blocks() const;
  uint64_t cxl_blocks() const;
  uint64_t cached_blocks() const; // blocks of unreferenced prefix entries (evictable)
  uint64_t evictions() const { return evictions_; }
  uint32_t block_tokens() const { return bt_; }
  // Whether a new sequence could ever fit `tokens` (empty memory).
  bool could_fit(uint64_t tokens) const;

private:
  struct Entry {
    uint64_t hash = 0;
    int tier = 0;            // 0: HBM, 1 + d: CXL device d
    uint32_t refs = 0;
    bool indexed = false;    // findable by hash
    std::list<uint32_t>::iterator lru; // valid when refs == 0 and indexed
    bool live = false;
  };
  // Finds room for `blocks` blocks in one tier, in placement order, for a
  // sequence on `device`; evicts cached entries of that tier when needed.
  // Returns the tier or -1.
  int allocate(uint64_t blocks, unsigned device);
  uint64_t free_in(int tier) const;
  bool evict_one(int tier);
  void take(int tier, uint64_t blocks);
  void give(int tier, uint64_t blocks);
  std::vector<int> tiers_for(unsigned device) const;

  uint32_t bt_, pbt_;
  uint64_t hbm_cap_, hbm_used_ = 0;
  std::vector<uint64_t> cxl_cap_, cxl_used_;
  Placement placement_;
  bool prefix_caching_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_entries_;
  std::unordered_map<uint64_t, uint32_t> by_hash_;
  std::vector<std::list<uint32_t>> lru_;   // per tier: unreferenced indexed entries, oldest first
  std::vector<uint64_t> cached_blocks_;    // per tier
  uint64_t evictions_ = 0;
};

} // namespace pnm::serving
