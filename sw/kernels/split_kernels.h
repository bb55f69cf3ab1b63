// Decode attention with each sequence's KV split over several devices by
// token ranges (issue #14 item 4). Every device attends over its own rows
// and leaves a partial: O and, per query head, the log-sum-exp of its
// scores (the engine's WRITE_LSE layout). The partials are merged
//   host: the host reads every partial over CXL.mem (each crosses the host
//         port) and merges them;
//   p2p:  each device pushes its partial to the sequence's root device
//         peer-to-peer through the switch (the engine's PUSH), the root's
//         firmware waits until every part's flag line holds the step's
//         epoch (the barrier), its engine merges (MERGE), and the host
//         reads only the merged O.
// Merging rescales each partial by exp(lse_p - max lse): the same online-
// softmax rule the engine applies per block, so the output equals the
// single-device output to FP32 rounding.
#pragma once

#include "kernels/decode_kernels.h"

#include <string>
#include <vector>

namespace pnm::kernels {

enum class Merge { host, p2p };
const char* merge_name(Merge m);
// "host" | "p2p"; std::invalid_argument otherwise.
Merge parse_merge(const std::string& name);

struct SplitDevice {
  sw::Device* dev = nullptr;
  sw::Queue* queue = nullptr;
};

// One sequence's layer over the devices. parts[p]: device p's share (its
// rows, seq_len >= 1, its own Q buffer and an O buffer of
// PNM_JOB_PART_BYTES). The merge buffers sit on device `root`: the parts'
// partials (root's own in slot 0, then the others in device order), their
// flag lines (one per part but the root's) and the merged O.
struct SplitLayer {
  std::vector<LayerKv> parts;
  unsigned root = 0;
  uint64_t merge_parts_dpa = 0;
  uint64_t merge_flags_dpa = 0;
  uint64_t merge_out_dpa = 0;
};

// Bytes of one partial (O then LSE, FP32), as the engine lays it out.
uint64_t partial_bytes(const AttentionShape& s);

// One decode step of one layer: queries[i] is sequence i's Q. `epoch`
// must differ from the previous step's (p2p flags keep their last value).
// pnm-dense only (a top-k over each device's rows is not the top-k over
// the sequence). Throws DriverError on a failed job or transfer,
// std::invalid_argument on a bad split.
StepResult run_split_step(const std::vector<SplitDevice>& devs, const StepConfig& cfg, Merge merge, uint32_t epoch,
                          const std::vector<SplitLayer>& seqs, const std::vector<std::vector<float>>& queries);

} // namespace pnm::kernels
