// One row per JEDEC timing rule the channel enforces. Each row drives one
// channel until the rule's anchor command has issued and names the dependent
// command and the cycle the rule allows it (the bound, from the memspec's own
// values). The check: advance_to(bound) issues everything due strictly before
// the bound, and the dependent command is not among it (illegal one cycle
// early), is what the scheduler plans for exactly the bound, and issues there
// (legal on time). The row is then run again with its parameter one cycle
// shorter and must issue one cycle earlier at its new bound: proof that this
// parameter, not another rule, set the bound.
#include "dram_test_util.h"

#include <gtest/gtest.h>

#include <cctype>
#include <optional>

using namespace pnm::dram;
using namespace pnm::dram::test;

namespace {

// The command a row waits for, where, and when its rule allows it: `delta`
// after the anchor (the command or cycle the rule counts from). A row about
// data timing (CL, CWL) names a request instead: its data must finish exactly
// at the bound.
struct Expect {
  Command cmd = Command::ACT;
  Cycle anchor = 0, delta = 0;
  uint32_t rank = 0, bg = 0, bank = 0;
  std::optional<uint64_t> data_of; // request id, for the data rows
  Cycle bound() const { return anchor + delta; }
};

struct Row {
  const char* name;
  Cycle DramTiming::*param; // the rule's parameter; nullptr: not a memspec value
  Expect (*run)(Harness&);
  // Lowers (or raises) other parameters that would otherwise tie with this
  // one in some speed bins, so that this one alone is binding.
  void (*adjust)(DramTiming&) = nullptr;
  bool refresh = false;
  uint32_t ranks = 1;
  PagePolicy policy = PagePolicy::open;
};

// Issues commands until one of kind c has issued; returns its cycle.
Cycle step_to(Harness& h, Command c) {
  for (;;) {
    h.ch->issue_next();
    if (h.rec.log.back().c == c) return h.rec.log.back().t;
  }
}

struct Bank {
  uint32_t rank, bg, bank;
};

// Opens row 5 in each bank with a read, serves them all, and lets every
// timing settle; returns the cycle from which the row's own traffic starts.
Cycle open_rows(Harness& h, std::initializer_list<Bank> banks) {
  uint64_t id = 100;
  for (const Bank& b : banks) h.req(id++, false, b.bg, b.bank, 5, 0, 0, b.rank);
  h.ch->drain();
  const DramTiming& T = h.spec.timing;
  const Cycle t0 = h.ch->now() + 4 * (T.tRC + T.CWL + T.nBL + T.tWR);
  h.ch->advance_to(t0);
  return t0;
}

Expect at(Command c, Cycle anchor, Cycle delta, uint32_t bg = 0, uint32_t bank = 0,
          uint32_t rank = 0) {
  return Expect{c, anchor, delta, rank, bg, bank, std::nullopt};
}

// One access to a closed bank: its data must finish CL (CWL) + BL/2 after
// its column command.
Expect data_end(Harness& h, bool write) {
  h.req(1, write, 0, 0, 5);
  h.ch->drain();
  const auto& T = h.spec.timing;
  const Command c = write ? Command::WR : Command::RD;
  Expect e = at(c, h.rec.at(c), (write ? T.CWL : T.CL) + T.nBL);
  e.data_of = 1;
  return e;
}

// Column commands to banks a then b (rows opened beforehand), queued
// together: b's waits `delta` after a's.
Expect back_to_back(Harness& h, bool write, Bank a, Bank b, Cycle delta) {
  const Cycle t0 = open_rows(h, {a, b});
  h.req(1, write, a.bg, a.bank, 5, 1, t0, a.rank);
  h.req(2, write, b.bg, b.bank, 5, 1, t0, b.rank);
  const Command c = write ? Command::WR : Command::RD;
  return at(c, step_to(h, c), delta, b.bg, b.bank, b.rank);
}

// A column command to bank a, then one of the other direction to bank b that
// arrives just after it issued (rows opened beforehand): b's waits `delta`.
Expect turnaround(Harness& h, bool first_write, Bank a, Bank b, Cycle delta) {
  const Cycle t0 = open_rows(h, {a, b});
  h.req(1, first_write, a.bg, a.bank, 5, 1, t0, a.rank);
  const Cycle t = step_to(h, first_write ? Command::WR : Command::RD);
  h.req(2, !first_write, b.bg, b.bank, 5, 1, t + 1, b.rank);
  return at(first_write ? Command::RD : Command::WR, t, delta, b.bg, b.bank, b.rank);
}

const Row kRows[] = {
    {"tRCD", &DramTiming::tRCD,
     [](Harness& h) {
       h.req(1, false, 0, 0, 5);
       return at(Command::RD, step_to(h, Command::ACT), h.spec.timing.tRCD);
     }},
    {"tRCD_write", &DramTiming::tRCD,
     [](Harness& h) {
       h.req(1, true, 0, 0, 5);
       return at(Command::WR, step_to(h, Command::ACT), h.spec.timing.tRCD);
     }},
    {"tRP", &DramTiming::tRP,
     [](Harness& h) { // the conflict arrives late, so tRC has long passed
       const Cycle t0 = open_rows(h, {{0, 0, 0}});
       h.req(1, false, 0, 0, 9, 0, t0);
       return at(Command::ACT, step_to(h, Command::PRE), h.spec.timing.tRP);
     }},
    {"tRAS", &DramTiming::tRAS,
     [](Harness& h) { // a conflict queued at once: PRE waits for tRAS (> tRCD + tRTP)
       h.req(1, false, 0, 0, 5);
       h.req(2, false, 0, 0, 9);
       return at(Command::PRE, step_to(h, Command::ACT), h.spec.timing.tRAS);
     }},
    {"tRC", &DramTiming::tRC,
     [](Harness& h) {
       h.req(1, false, 0, 0, 5);
       h.req(2, false, 0, 0, 9);
       return at(Command::ACT, step_to(h, Command::ACT), h.spec.timing.tRC);
     },
     // The speed bins define tRC = tRAS + tRP, so PRE + tRP ties with tRC;
     // a shorter tRAS leaves tRC alone.
     [](DramTiming& T) { T.tRAS = std::min(T.tRAS, T.tRC - T.tRP - 1); }},
    {"CL", &DramTiming::CL,
     [](Harness& h) { return data_end(h, false); }},
    {"CWL", &DramTiming::CWL,
     [](Harness& h) { return data_end(h, true); }},
    {"tCCD_S", &DramTiming::tCCD_S,
     [](Harness& h) {
       return back_to_back(h, false, {0, 0, 0}, {0, 1, 0}, h.spec.timing.tCCD_S);
     }},
    {"tCCD_L", &DramTiming::tCCD_L,
     [](Harness& h) {
       return back_to_back(h, false, {0, 0, 0}, {0, 0, 1}, h.spec.timing.tCCD_L);
     },
     // 3200AN has tCCD_L = tCCD_S, and a same-group pair obeys both.
     [](DramTiming& T) { T.tCCD_S = std::min(T.tCCD_S, T.tCCD_L - 1); }},
    {"tCCD_S_WR", &DramTiming::tCCD_S_WR,
     [](Harness& h) {
       return back_to_back(h, true, {0, 0, 0}, {0, 1, 0}, h.spec.timing.tCCD_S_WR);
     }},
    {"tCCD_L_WR", &DramTiming::tCCD_L_WR,
     [](Harness& h) {
       return back_to_back(h, true, {0, 0, 0}, {0, 0, 1}, h.spec.timing.tCCD_L_WR);
     }},
    {"tRRD_S", &DramTiming::tRRD_S,
     [](Harness& h) {
       h.req(1, false, 0, 0, 5);
       h.req(2, false, 1, 0, 5);
       return at(Command::ACT, step_to(h, Command::ACT), h.spec.timing.tRRD_S, 1);
     }},
    {"tRRD_L", &DramTiming::tRRD_L,
     [](Harness& h) {
       h.req(1, false, 0, 0, 5);
       h.req(2, false, 0, 1, 5);
       return at(Command::ACT, step_to(h, Command::ACT), h.spec.timing.tRRD_L, 0, 1);
     },
     // 3200AN has tRRD_L = tRRD_S.
     [](DramTiming& T) { T.tRRD_S = std::min(T.tRRD_S, T.tRRD_L - 1); }},
    {"tFAW", &DramTiming::tFAW,
     [](Harness& h) { // five ACTs in five bank groups: the fifth waits for the window
       for (uint32_t g = 0; g < 5; ++g) h.req(g, false, g, 0, 5);
       return at(Command::ACT, step_to(h, Command::ACT), h.spec.timing.tFAW, 4);
     },
     // 3200AN has tFAW = 4 tRRD_S; and the reads must not take the command
     // bus at the bound, so tRCD is stretched past it.
     [](DramTiming& T) {
       T.tRRD_S = std::min(T.tRRD_S, (T.tFAW - 1) / 4);
       T.tRCD = std::max(T.tRCD, T.tFAW + 2);
     }},
    {"tWR", &DramTiming::tWR,
     [](Harness& h) {
       h.req(1, true, 0, 0, 5);
       h.req(2, true, 0, 0, 9);
       const auto& T = h.spec.timing;
       return at(Command::PRE, step_to(h, Command::WR), T.CWL + T.nBL + T.tWR);
     }},
    {"tWTR_S", &DramTiming::tWTR_S,
     [](Harness& h) {
       const auto& T = h.spec.timing;
       return turnaround(h, true, {0, 0, 0}, {0, 1, 0}, T.CWL + T.nBL + T.tWTR_S);
     }},
    {"tWTR_L", &DramTiming::tWTR_L,
     [](Harness& h) {
       const auto& T = h.spec.timing;
       return turnaround(h, true, {0, 0, 0}, {0, 0, 1}, T.CWL + T.nBL + T.tWTR_L);
     }},
    {"tRTP", &DramTiming::tRTP,
     [](Harness& h) { // the read comes long after tRAS
       const Cycle t0 = open_rows(h, {{0, 0, 0}});
       h.req(1, false, 0, 0, 5, 1, t0);
       const Cycle rd = step_to(h, Command::RD);
       h.req(2, false, 0, 0, 9, 0, rd + 1);
       return at(Command::PRE, rd, h.spec.timing.tRTP);
     }},
    {"tRTW", &DramTiming::tRTW,
     [](Harness& h) {
       return turnaround(h, false, {0, 0, 0}, {0, 1, 0}, h.spec.timing.tRTW);
     }},
    {"tPPD", &DramTiming::tPPD,
     [](Harness& h) {
       const Cycle t0 = open_rows(h, {{0, 0, 0}, {0, 1, 0}});
       h.req(1, false, 0, 0, 9, 0, t0);
       h.req(2, false, 1, 0, 9, 0, t0);
       return at(Command::PRE, step_to(h, Command::PRE), h.spec.timing.tPPD, 1);
     }},
    {"tRFC", &DramTiming::tRFC,
     [](Harness& h) {
       const Cycle ref = step_to(h, Command::REF);
       h.req(1, false, 0, 0, 5, 0, ref + 1);
       return at(Command::ACT, ref, h.spec.timing.tRFC);
     },
     nullptr, true},
    {"tREFI", &DramTiming::tREFI,
     [](Harness& h) { return at(Command::REF, 0, h.spec.timing.tREFI); }, nullptr, true},
    // Refresh with a row open: PREA at the due time, REF tRP later.
    {"tRP_PREA_to_REF", &DramTiming::tRP,
     [](Harness& h) {
       h.req(1, false, 0, 0, 5);
       return at(Command::REF, step_to(h, Command::PREA), h.spec.timing.tRP);
     },
     nullptr, true},
    // A row opened just before refresh is due: PREA waits for its tRAS.
    {"tRAS_ACT_to_PREA", &DramTiming::tRAS,
     [](Harness& h) {
       h.req(1, false, 0, 0, 5, 0, h.spec.timing.tREFI - 4);
       return at(Command::PREA, step_to(h, Command::ACT), h.spec.timing.tRAS);
     },
     nullptr, true},
    // Auto-precharge: a closed-page RDA closes the bank tRTP after it, a WRA
    // after write recovery; the next ACT to the bank follows tRP later.
    {"tRTP_RDA_to_ACT", &DramTiming::tRTP,
     [](Harness& h) {
       h.req(1, false, 0, 0, 5);
       h.req(2, false, 0, 0, 9);
       const auto& T = h.spec.timing;
       return at(Command::ACT, step_to(h, Command::RDA), T.tRTP + T.tRP);
     },
     // Natively tRAS and tRC bind here (the read follows the ACT by tRCD).
     [](DramTiming& T) {
       T.tRAS = std::min(T.tRAS, T.tRCD + T.tRTP - 1);
       T.tRC = std::min(T.tRC, T.tRCD + T.tRTP + T.tRP - 1);
     },
     false, 1, PagePolicy::closed},
    {"tWR_WRA_to_ACT", &DramTiming::tWR,
     [](Harness& h) {
       h.req(1, true, 0, 0, 5);
       h.req(2, true, 0, 0, 9);
       const auto& T = h.spec.timing;
       return at(Command::ACT, step_to(h, Command::WRA), T.CWL + T.nBL + T.tWR + T.tRP);
     },
     nullptr, false, 1, PagePolicy::closed},
    // Rank-to-rank switches on the shared data bus: the second rank's burst
    // starts tRTRS after the first one's ends.
    {"tRTRS_RD_to_RD", &DramTiming::tRTRS,
     [](Harness& h) {
       const auto& T = h.spec.timing;
       return back_to_back(h, false, {0, 0, 0}, {1, 0, 0}, T.nBL + T.tRTRS);
     },
     nullptr, false, 2},
    {"tRTRS_WR_to_WR", &DramTiming::tRTRS,
     [](Harness& h) {
       const auto& T = h.spec.timing;
       return back_to_back(h, true, {0, 0, 0}, {1, 0, 0}, T.nBL + T.tRTRS);
     },
     nullptr, false, 2},
    {"tRTRS_RD_to_WR", &DramTiming::tRTRS,
     [](Harness& h) {
       const auto& T = h.spec.timing;
       return turnaround(h, false, {0, 0, 0}, {1, 0, 0}, T.CL + T.nBL + T.tRTRS - T.CWL);
     },
     nullptr, false, 2},
    {"tRTRS_WR_to_RD", &DramTiming::tRTRS,
     [](Harness& h) {
       const auto& T = h.spec.timing;
       return turnaround(h, true, {0, 0, 0}, {1, 0, 0}, T.CWL + T.nBL + T.tRTRS - T.CL);
     },
     nullptr, false, 2},
    // DDR5 ACT takes two command-bus cycles (not a memspec value: nothing to
    // shorten). An ACT and a PRE to other banks are due together.
    {"CA_two_cycle_ACT", nullptr,
     [](Harness& h) {
       const Cycle t0 = open_rows(h, {{0, 0, 0}});
       h.req(1, false, 1, 0, 5, 0, t0); // closed bank: ACT
       h.req(2, false, 0, 0, 9, 0, t0); // conflict: PRE, younger
       return at(Command::PRE, step_to(h, Command::ACT), 2);
     }},
};

struct Case {
  const char* memspec;
  const Row* row;
};
// gtest prints this for a failing case (instead of its bytes).
void PrintTo(const Case& c, std::ostream* os) { *os << c.memspec << " " << c.row->name; }

// Builds the harness for a row, with its parameter shortened by `shorten`.
std::unique_ptr<Harness> make(const Case& c, Cycle shorten) {
  auto h = std::make_unique<Harness>(c.memspec, c.row->refresh, c.row->policy);
  DramTiming& T = h->spec.timing;
  if (c.row->adjust) c.row->adjust(T);
  if (c.row->param) T.*(c.row->param) -= shorten;
  h->cfg.ranks = c.row->ranks;
  h->build();
  return h;
}

// Runs the row; returns the bound's distance from its anchor (kNever after a
// failure).
Cycle check_row(const Case& c, Cycle shorten) {
  auto h = make(c, shorten);
  const Expect e = c.row->run(*h);
  const Cycle bound = e.bound();
  if (e.data_of) {
    EXPECT_EQ(h->done_of(*e.data_of), bound) << "data of request " << *e.data_of;
    return ::testing::Test::HasFailure() ? kNever : e.delta;
  }
  const auto is_dependent = [&](const Issued& i) {
    const bool per_bank = i.c != Command::REF && i.c != Command::PREA;
    return i.c == e.cmd && i.rank == e.rank && (!per_bank || (i.bg == e.bg && i.bank == e.bank));
  };
  const size_t before = h->rec.log.size();
  EXPECT_LT(h->ch->now(), bound) << "the row ran past its own bound";
  h->ch->advance_to(bound); // issues every command due at or before bound - 1
  for (size_t i = before; i < h->rec.log.size(); ++i)
    EXPECT_FALSE(is_dependent(h->rec.log[i]))
        << command_name(e.cmd) << " issued at " << h->rec.log[i].t << ", before its bound " << bound;
  EXPECT_EQ(h->ch->next_command_time(), bound);
  EXPECT_EQ(h->ch->next_command(), e.cmd);
  h->ch->issue_next();
  const Issued& last = h->rec.log.back();
  EXPECT_TRUE(is_dependent(last)) << "issued " << command_name(last.c) << " r" << last.rank << " bg"
                                  << last.bg << " b" << last.bank << " instead";
  EXPECT_EQ(last.t, bound);
  return ::testing::Test::HasFailure() ? kNever : e.delta;
}

class JedecTable : public ::testing::TestWithParam<Case> {};

TEST_P(JedecTable, IllegalOneCycleEarlyLegalOnTime) {
  const Case& c = GetParam();
  const Cycle delta = check_row(c, 0);
  ASSERT_NE(delta, kNever);
  if (!c.row->param) return; // a fixed rule: nothing to shorten
  SCOPED_TRACE(std::string(c.row->name) + " one cycle shorter");
  EXPECT_EQ(check_row(c, 1), delta - 1) << "the parameter does not set the bound";
}

std::vector<Case> all_cases() {
  std::vector<Case> v;
  for (const char* m : {"JEDEC_DDR5-3200AN_16Gb_x8.json", "JEDEC_DDR5-4800AN_16Gb_x8.json",
                        "JEDEC_DDR5-5600AN_16Gb_x8.json"})
    for (const Row& r : kRows) v.push_back({m, &r});
  return v;
}

// DDR5_3200AN_tRCD: the speed bin and the row.
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string bin = info.param.memspec + 5; // past "JEDEC"
  bin = bin.substr(1, bin.find('_', 1) - 1);
  for (char& ch : bin)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return bin + "_" + info.param.row->name;
}

INSTANTIATE_TEST_SUITE_P(Rows, JedecTable, ::testing::ValuesIn(all_cases()), case_name);

} // namespace
