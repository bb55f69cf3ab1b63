// CXL.mem messages and their packing into link-layer flits.
//
// Two flit geometries (FlitFormat), both parameters with their sources:
//  - 68B (CXL 1.1/2.0): 2 B protocol ID + 4 x 16 B slots + 2 B CRC. Slot 0
//    is the header slot (it also holds the 4 B flit header, which carries
//    credit returns), slots 1..3 are generic. A 64 B line takes 4 slots.
//    Source: REFERENCE D.2 (gem5-based cxl_protocol.hh FLIT_SIZE 528 bits,
//    hawk90 "CXL 4.0 Internals" ch. 9). Which headers share a slot comes
//    from the H/G slot formats of SamVOIntel/pyCXL src/structs/
//    {H2D_M2S,D2H_S2M}_formats.py (CXL 2.0), CXL.mem part only.
//    "All-data flits" (4 data slots, no header slot) are assumed: unverified.
//  - 256B (CXL 3.x standard flit): 2 B flit header, 14 B header slot,
//    14 x 16 B generic slots, 2 B credit return, 8 B CRC, 6 B FEC. The split
//    is UNVERIFIED (REFERENCE D.2: "from memory"); so are its slot formats,
//    which this model derives by packing header bit widths (OpenCXL
//    widths, HeaderWidths) into 112-bit header / 128-bit generic slots.
//
// Headers per slot (the capacity table; mixing formats in the FlitFormat):
//   class      68B slot0  68B generic   256B slot0  256B generic
//   M2S Req        1          1             1            1
//   M2S RwD        1          1             1            1      (+4 data slots)
//   S2M NDR        2          2             3            4
//   S2M DRS        2          3             2            3      (+4 data slots)
//
// Packing policy (FlitPacker), the same in the closed form and the link:
//  - a header goes to the earliest slot (oldest open flit first) whose format
//    can take it, never before the previous header of its own channel;
//  - its 64 B of data takes the next 4 free generic slots after both the
//    header and the previous data (data stays in order); when data spills
//    into new flits, a 68B flit with >= 4 data slots left becomes an
//    all-data flit, otherwise a normal flit whose header slot stays free;
//  - slot 0 of a normal flit never carries data.
//
// Bit-level header layout: OpenCXL field order (REFERENCE D.1), as a
// little-endian bit vector (bit i is bit i%8 of byte i/8).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace pnm::cxl {

// Simulated time of the CXL cores: integer picoseconds.
using Picos = uint64_t;

inline constexpr uint32_t cache_line_bytes = 64;

// Channels of CXL.mem for a Type-3 device; also the credit classes.
enum class MsgClass : uint8_t { m2s_req = 0, m2s_rwd = 1, s2m_ndr = 2, s2m_drs = 3 };
inline constexpr unsigned msg_class_count = 4;
enum class Direction : uint8_t { m2s, s2m };

Direction direction_of(MsgClass c);
bool carries_data(MsgClass c); // RwD and DRS carry one 64 B line
const char* to_string(MsgClass c);
const char* to_string(Direction d);

// ---------------------------------------------------------------------------
// Message headers (REFERENCE D.1, OpenCXL transaction.py)

enum class M2SReqOp : uint8_t {
  mem_inv = 0b0000, mem_rd = 0b0001, mem_rd_data = 0b0010, mem_rd_fwd = 0b0011,
  mem_wr_fwd = 0b0100, mem_spec_rd = 0b1000, mem_inv_nt = 0b1001, mem_cln_evct = 0b1010,
};
enum class M2SRwDOp : uint8_t { mem_wr = 0b0001, mem_wr_ptl = 0b0010 };
enum class S2MNdrOp : uint8_t { cmp = 0b000, cmp_s = 0b001, cmp_e = 0b010, cmp_m = 0b011, bi_conflict_ack = 0b100 };
enum class S2MDrsOp : uint8_t { mem_data = 0b000, mem_data_nxm = 0b001 };

struct MemHeader {
  MsgClass cls = MsgClass::m2s_req;
  bool valid = true;
  uint8_t opcode = 0;     // 4 bits (M2S) or 3 bits (S2M)
  uint8_t snp_type = 0;   // 3 bits, M2S only
  uint8_t meta_field = 0; // 2 bits
  uint8_t meta_value = 0; // 2 bits
  uint16_t tag = 0;
  uint64_t addr = 0;      // byte address, 64 B aligned, < 2^52 (Addr[51:6]); M2S only
  bool poison = false;    // RwD, DRS
  bool bep = false;       // RwD: byte enables present (MemWrPtl)
  uint8_t ld_id = 0;      // 4 bits
  uint8_t dev_load = 0;   // 2 bits, NDR/DRS
  uint8_t tc = 0;         // 2 bits, M2S
  bool operator==(const MemHeader& o) const;
};

using HeaderBits = std::array<uint8_t, 16>; // 128 bits, enough for any header

// Header widths of the OpenCXL layout: Req 100, RwD 104, NDR 30, DRS 31.
uint32_t header_bits(MsgClass c);
// Throws std::invalid_argument if a field does not fit its width, the address
// is not 64 B aligned or not below 2^52, or a field the class lacks is set.
HeaderBits encode_header(const MemHeader& h);
// nullopt if the valid bit is clear or any reserved / beyond-width bit is set.
std::optional<MemHeader> decode_header(MsgClass c, const HeaderBits& bits);

// ---------------------------------------------------------------------------
// Flit geometry

enum class FlitMode : uint8_t { flit68, flit256 };
const char* to_string(FlitMode m);

// Headers of each class one slot can hold together (one allowed combination).
struct SlotFormat {
  std::string name;
  std::array<uint8_t, msg_class_count> headers{};
};

// Header sizes used to derive the 256B slot formats (bits). Defaults: OpenCXL
// widths for Req/RwD/NDR; DRS padded to 40 bits as in pyCXL's CXL 2.0 DRS.
struct HeaderWidths {
  uint32_t req = 100, rwd = 104, ndr = 30, drs = 40;
};

struct FlitFormat {
  FlitMode mode = FlitMode::flit68;
  uint32_t flit_bytes = 68;          // what one flit costs on the link (before PHY encoding)
  uint32_t protocol_id_bytes = 2;    // 68B: Flex Bus protocol ID
  uint32_t flit_header_bytes = 0;    // outside the slots (256B: 2); 68B keeps its 4 B in slot 0
  uint32_t header_slot_bytes = 16;   // slot 0
  uint32_t generic_slots = 3;
  uint32_t generic_slot_bytes = 16;
  uint32_t credit_bytes = 0;         // 256B: 2 B credit return field
  uint32_t crc_bytes = 2;
  uint32_t fec_bytes = 0;
  uint32_t data_slots_per_line = 4;  // 64 B / 16 B
  bool all_data_flits = true;        // 68B only: a flit of data slots without a header slot
  std::vector<SlotFormat> header_slot_formats;
  std::vector<SlotFormat> generic_slot_formats;

  uint32_t slots_per_flit() const { return 1 + generic_slots; }
  // Most headers of class c one slot of that kind can hold (homogeneous).
  uint32_t header_slot_capacity(MsgClass c) const;
  uint32_t generic_slot_capacity(MsgClass c) const;
  // Throws std::invalid_argument if the bytes do not add up to flit_bytes or
  // a class of CXL.mem has no header-slot format.
  void validate() const;

  static FlitFormat cxl68();
  static FlitFormat cxl256(const HeaderWidths& w = {});
  static FlitFormat for_mode(FlitMode m) { return m == FlitMode::flit68 ? cxl68() : cxl256(); }
};

// ---------------------------------------------------------------------------
// Closed form

struct MessageMix {
  std::array<uint64_t, msg_class_count> count{};
  uint64_t& operator[](MsgClass c) { return count[size_t(c)]; }
  uint64_t operator[](MsgClass c) const { return count[size_t(c)]; }
};

struct FlitEstimate {
  uint64_t flits = 0;
  uint64_t data_slots = 0;
  uint64_t header_slots = 0; // slots holding headers (slot 0 or generic)
  uint64_t wire_bytes = 0;   // flits * flit_bytes
  uint64_t data_bytes = 0;   // 64 B per RwD/DRS
  double slot_utilisation = 0; // (data + header slots) / all slots
  double data_efficiency = 0;  // data_bytes / wire_bytes
};

// Fewest flits that can carry `mix` in direction `dir` under the packing
// policy above, counting slots: data slots plus header slots (slot 0 first,
// the rest in generic slots; the slot demand of a mix is a covering LP over
// the slot formats), with 68B all-data flits wherever a flit needs no header
// slot. Equal to the FlitPacker for any single-class stream and for M2S
// mixes; S2M NDR+DRS mixes agree within ~4 % (docs/CXL.md). Classes of the
// other direction are ignored.
// E.g. 68B: N reads -> ceil(N/4) flits down, ceil((4N + ceil(N/2))/4) up;
//           N writes -> ceil(5N/4) down, ceil(N/8) up.
FlitEstimate estimate_flits(const FlitFormat& f, Direction dir, const MessageMix& mix);

// ---------------------------------------------------------------------------
// Stateful packer

struct SlotContent {
  enum class Kind : uint8_t { empty, header, data };
  Kind kind = Kind::empty;
  std::array<uint8_t, msg_class_count> headers{}; // header slot: count per class
  std::vector<uint64_t> ids;                      // header ids in order; data: its message
  uint8_t chunk = 0;                              // data: 16 B chunk of the line (0..3)
};

struct Flit {
  uint64_t seq = 0;
  bool all_data = false;
  Picos first_ps = 0; // when its first content was placed
  std::vector<SlotContent> slots;
  uint32_t used_slots() const;
  uint32_t header_count() const;
};

struct Placement {
  uint64_t header_flit = 0; // seq of the flit holding the header
  uint64_t last_flit = 0;   // seq of the flit holding its last slot (arrival)
};

struct PackerStats {
  uint64_t flits = 0, all_data_flits = 0;
  uint64_t slots_total = 0, header_slots = 0, data_slots = 0;
  uint64_t wire_bytes = 0;
  std::array<uint64_t, msg_class_count> messages{};
  double slot_utilisation() const {
    return slots_total ? double(header_slots + data_slots) / double(slots_total) : 0.0;
  }
};

// Packs one direction's messages into flits as they arrive. Flit emission:
//  - a flit that can take nothing more is emitted by poll();
//  - a partially filled flit is emitted once hold_ps has passed since its
//    first content (poll(now) with now >= first + hold_ps; add() closes the
//    flits whose hold expired strictly before the new arrival first), so a
//    lone message waits at most hold_ps. hold_ps = 0: messages of the same
//    instant share flits, nothing waits for a later instant;
//  - flush() emits everything (end of a burst / simulation).
// Flits are always emitted in sequence order.
class FlitPacker {
public:
  FlitPacker(FlitFormat fmt, Direction dir, Picos hold_ps = 0);

  std::vector<Flit> add(MsgClass c, uint64_t id, Picos now, Placement* where = nullptr);
  std::vector<Flit> poll(Picos now);
  std::vector<Flit> flush();
  std::optional<Picos> next_deadline() const;

  // Lower level, used by the link (which closes flits when they start).
  // Throws std::invalid_argument if c belongs to the other direction.
  Placement place(MsgClass c, uint64_t id, Picos now);
  // Closes open flits with seq < `seq`; appends them to `out` if given.
  void close_before(uint64_t seq, std::vector<Flit>* out = nullptr);
  uint64_t next_seq() const { return next_seq_; }
  uint64_t first_open_seq() const { return open_.empty() ? next_seq_ : open_.front().flit.seq; }
  size_t open_flits() const { return open_.size(); }

  const PackerStats& stats() const { return stats_; }
  const FlitFormat& format() const { return fmt_; }
  Direction direction() const { return dir_; }

private:
  struct Pos {
    uint64_t seq = 0;
    uint32_t slot = 0;
  };
  struct Open {
    Flit flit;
    uint32_t empty_slots = 0;
  };
  bool fits(bool header_slot, const std::array<uint8_t, msg_class_count>& n) const;
  bool can_accept(const Open& o) const;
  Open& new_flit(bool all_data, Picos now);
  Open& open_at(uint64_t seq) { return open_[seq - open_.front().flit.seq]; }
  void close_front(std::vector<Flit>* out);
  void touch(Open& o, Picos now);

  FlitFormat fmt_;
  Direction dir_;
  Picos hold_ps_;
  std::deque<Open> open_;
  uint64_t next_seq_ = 0;
  std::optional<Pos> data_last_;
  std::array<std::optional<Pos>, msg_class_count> last_header_{};
  std::vector<MsgClass> dir_classes_;
  PackerStats stats_;
};

} // namespace pnm::cxl
