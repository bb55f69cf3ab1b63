// The decode session: one persistent simulation across admit, step and
// release; sequences of mixed lengths in one step, each growing by a token
// per step with its outputs equal to the reference over every token so far;
// memory handed back on release; bad calls refused with a clear error.
#include "decode_session.h"

#include <gtest/gtest.h>

using namespace pnm;
using kernels::Kernel;

namespace {
DecodeSessionConfig tiny(Kernel k) {
  DecodeSessionConfig c;
  c.model = kernels::load_model_shape("tiny");
  c.kernel = k;
  c.topk = 64;
  c.functional = true;
  c.verify = true;
  return c;
}
} // namespace

TEST(DecodeSession, MixedLengthsGrowEveryStepAndMatchTheReference) {
  for (Kernel k : kernels::all_kernels()) {
    DecodeSession s(tiny(k));
    const auto a = s.admit(300, 310), b = s.admit(777, 780);
    double t = s.now_ns();
    for (int step = 0; step < 3; ++step) {
      const DecodeSession::StepResult r = s.step({a, b});
      // The kernel is paused between steps, never stopped: time carries on.
      EXPECT_EQ(sc_core::sc_get_status(), sc_core::SC_PAUSED);
      EXPECT_GE(r.start_ns, t);
      EXPECT_GT(r.end_ns, r.start_ns);
      t = r.end_ns;
      EXPECT_EQ(r.checked, 2u) << kernels::kernel_name(k);
      EXPECT_LT(r.max_abs_error, 1e-4 * std::max(1.0, r.max_abs_reference)) << kernels::kernel_name(k);
      EXPECT_EQ(r.jobs, k == Kernel::host_fetch ? 0u : 2u);
    }
    EXPECT_EQ(s.context(a), 303u);
    EXPECT_EQ(s.context(b), 780u);
    // b has used its reservation; a has room.
    EXPECT_THROW(s.step({a, b}), std::length_error);
    EXPECT_NO_THROW(s.step({a}));
    EXPECT_EQ(s.context(a), 304u);
  }
}

// step() is append() then attend(); attend() again runs the layers at the
// same contexts (more samples of a layer), its outputs still the reference.
TEST(DecodeSession, AppendThenAttendIsAStepAndAttendKeepsTheContext) {
  DecodeSession s(tiny(Kernel::pnm_dense));
  const auto a = s.admit(300, 302);
  const DecodeSession::StepResult w = s.append({a});
  EXPECT_GT(w.end_ns, w.start_ns);
  EXPECT_EQ(w.jobs, 0u);
  EXPECT_EQ(s.context(a), 301u);
  for (int pass = 0; pass < 2; ++pass) {
    const DecodeSession::StepResult r = s.attend({a});
    EXPECT_GT(r.end_ns, r.start_ns);
    EXPECT_EQ(r.jobs, 1u);
    EXPECT_EQ(r.checked, 1u);
    EXPECT_LT(r.max_abs_error, 1e-4 * std::max(1.0, r.max_abs_reference));
    EXPECT_EQ(s.context(a), 301u);
  }
  EXPECT_THROW(s.attend({a + 1}), std::invalid_argument); // not admitted
  EXPECT_THROW(s.attend({a, a}), std::invalid_argument);
  EXPECT_THROW(s.attend({}), std::invalid_argument);
  s.append({a});
  EXPECT_THROW(s.append({a}), std::length_error); // reservation used
  EXPECT_NO_THROW(s.attend({a}));
  // Rows written again would change values the outputs were checked on.
  EXPECT_THROW(s.append({a}, true), std::logic_error);
}

// Timing-only: append(batch, true) writes the last rows again, the context
// unchanged, in about the time the first append took.
TEST(DecodeSession, AppendAgainRewritesTheLastRows) {
  DecodeSessionConfig c = tiny(Kernel::pnm_dense);
  c.functional = false;
  c.verify = false;
  DecodeSession s(c);
  const auto a = s.admit(100, 101);
  const DecodeSession::StepResult first = s.append({a});
  EXPECT_EQ(s.context(a), 101u); // the reservation is used up...
  const DecodeSession::StepResult again = s.append({a}, true); // ...and rewriting needs no room
  EXPECT_EQ(s.context(a), 101u);
  // About the same cost; either may meet a DRAM refresh (tRFC 295 ns at 16 Gb).
  EXPECT_NEAR(again.end_ns - again.start_ns, first.end_ns - first.start_ns,
              0.2 * (first.end_ns - first.start_ns) + 300.0);
  EXPECT_THROW(s.append({a}), std::length_error);
}

TEST(DecodeSession, DeviceStateCarriesAcrossSteps) {
  DecodeSession s(tiny(Kernel::pnm_dense));
  const auto a = s.admit(256, 300);
  s.step({a});
  const uint64_t jobs1 = s.system().dev.engine->core().jobs_done();
  const uint64_t instr1 = s.system().dev.controller->core().stats().instructions;
  s.step({a});
  // The same firmware, queue and engine served both steps.
  EXPECT_EQ(s.system().dev.engine->core().jobs_done(), jobs1 + 1);
  EXPECT_GT(s.system().dev.controller->core().stats().instructions, instr1);
}

TEST(DecodeSession, ReleaseHandsMemoryBack) {
  DecodeSession s(tiny(Kernel::pnm_topk));
  const uint64_t free0 = s.free_bytes();
  const auto a = s.admit(1000, 2000), b = s.admit(500, 600);
  EXPECT_LT(s.free_bytes(), free0);
  s.release(a);
  s.step({b});
  s.release(b);
  EXPECT_EQ(s.free_bytes(), free0);
  EXPECT_EQ(s.sequences(), 0u);
  // The freed extent serves the next sequence, whose outputs are right.
  const auto c = s.admit(1500, 1600);
  const DecodeSession::StepResult r = s.step({c});
  EXPECT_LT(r.max_abs_error, 1e-4 * std::max(1.0, r.max_abs_reference));
}

TEST(DecodeSession, BadCallsAreRefused) {
  DecodeSession s(tiny(Kernel::pnm_dense));
  const auto a = s.admit(100, 200);
  EXPECT_THROW(s.admit(0, 10), std::invalid_argument);
  EXPECT_THROW(s.admit(100, 99), std::invalid_argument);
  EXPECT_THROW(s.admit(100, (1u << 24) + 1), std::invalid_argument);
  EXPECT_THROW(s.step({}), std::invalid_argument);
  EXPECT_THROW(s.step({a, a}), std::invalid_argument);
  EXPECT_THROW(s.step({a + 100}), std::invalid_argument);
  EXPECT_THROW(s.release(a + 100), std::invalid_argument);
  // Still usable after refused calls.
  EXPECT_NO_THROW(s.step({a}));
  // Llama-3.1-8B's KV is 4 KiB a token a layer: 16M tokens do not fit in
  // the reference device's 64 GiB (timing-only: nothing is written).
  DecodeSessionConfig big = tiny(Kernel::pnm_dense);
  big.model = kernels::load_model_shape("llama-3.1-8b");
  big.functional = false;
  DecodeSession l(big);
  try {
    l.admit(1u << 24, 1u << 24);
    ADD_FAILURE() << "an admission larger than device memory was accepted";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("extent"), std::string::npos) << e.what();
  }
  DecodeSessionConfig bad = tiny(Kernel::pnm_dense);
  bad.queue_entries = 100;
  EXPECT_THROW(DecodeSession{bad}, std::invalid_argument);
}
