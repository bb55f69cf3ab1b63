#include "pnm/datapath_rtl.h"

#include <stdexcept>
#include <string>

#include "Vdot_product_l16.h"
#include "Vdot_product_l32.h"
#include "verilated.h"
#include "verilated_vcd_c.h"

namespace pnm::datapath {
namespace {

constexpr uint64_t kClockPeriodPs = 1000;  // VCD time base only
constexpr int kResetCycles = 2;

// Port access for one Verilated lane count, behind a lane-agnostic interface.
class RtlModel {
public:
  virtual ~RtlModel() = default;
  virtual void drive(const DotChunk* chunk) = 0;  // nullptr: in_valid low
  virtual void set_out_ready(bool ready) = 0;
  virtual void set_reset(bool active) = 0;
  virtual bool in_ready() const = 0;
  virtual bool out_valid() const = 0;
  virtual uint32_t out_result() const = 0;
  // Settles inputs at the falling edge, then one rising edge.
  virtual void settle() = 0;
  virtual void rising_edge() = 0;
  virtual uint64_t cycle() const = 0;
};

template <class Model, int kLanes>
class RtlModelT final : public RtlModel {
public:
  explicit RtlModelT(const std::string& vcd_path) {
    context_.randReset(0);  // deterministic power-up state
    if (!vcd_path.empty()) context_.traceEverOn(true);
    model_ = std::make_unique<Model>(&context_, "dot_product");
    if (!vcd_path.empty()) {
      vcd_ = std::make_unique<VerilatedVcdC>();
      model_->trace(vcd_.get(), 99);
      vcd_->open(vcd_path.c_str());
      if (!vcd_->isOpen()) throw std::runtime_error("DatapathRtl: cannot open VCD " + vcd_path);
    }
    model_->clk = 0;
    model_->rst_n = 1;
    model_->in_valid = 0;
    model_->out_ready = 1;
  }

  ~RtlModelT() override {
    if (vcd_) vcd_->close();
    model_->final();
  }

  void drive(const DotChunk* chunk) override {
    model_->in_valid = chunk != nullptr;
    if (!chunk) return;
    model_->in_mode = static_cast<uint8_t>(chunk->mode);
    for (int w = 0; w < kLanes / 2; ++w) {  // two 16-bit lanes per 32-bit word
      model_->in_a[w] = chunk->a[2 * w] | (static_cast<uint32_t>(chunk->a[2 * w + 1]) << 16);
      model_->in_b[w] = chunk->b[2 * w] | (static_cast<uint32_t>(chunk->b[2 * w + 1]) << 16);
    }
    model_->in_acc = chunk->acc_in;
  }

  void set_out_ready(bool ready) override { model_->out_ready = ready; }
  void set_reset(bool active) override { model_->rst_n = !active; }
  bool in_ready() const override { return model_->in_ready; }
  bool out_valid() const override { return model_->out_valid; }
  uint32_t out_result() const override { return model_->out_result; }

  void settle() override {
    model_->clk = 0;
    model_->eval();
    if (vcd_) vcd_->dump(cycle_ * kClockPeriodPs);
  }

  void rising_edge() override {
    model_->clk = 1;
    model_->eval();
    if (vcd_) vcd_->dump(cycle_ * kClockPeriodPs + kClockPeriodPs / 2);
    ++cycle_;
  }

  uint64_t cycle() const override { return cycle_; }

private:
  VerilatedContext context_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<VerilatedVcdC> vcd_;
  uint64_t cycle_ = 0;
};

}  // namespace

struct DatapathRtl::Impl {
  int lanes;
  std::unique_ptr<RtlModel> model;
};

DatapathRtl::DatapathRtl(int lanes, const std::string& vcd_path) : impl_(new Impl{lanes, nullptr}) {
  if (lanes == 16) {
    impl_->model = std::make_unique<RtlModelT<Vdot_product_l16, 16>>(vcd_path);
  } else if (lanes == 32) {
    impl_->model = std::make_unique<RtlModelT<Vdot_product_l32, 32>>(vcd_path);
  } else {
    throw std::invalid_argument("DatapathRtl: verilated for 16 or 32 lanes, got " +
                                std::to_string(lanes));
  }
  RtlModel& m = *impl_->model;
  m.set_reset(true);
  for (int i = 0; i < kResetCycles; ++i) {
    m.settle();
    m.rising_edge();
  }
  m.set_reset(false);
}

DatapathRtl::~DatapathRtl() = default;

int DatapathRtl::lanes() const { return impl_->lanes; }

uint64_t DatapathRtl::total_cycles() const { return impl_->model->cycle(); }

DotBatch DatapathRtl::run_batch(const DotChunk* chunks, size_t count) {
  RtlModel& m = *impl_->model;
  DotBatch batch;
  batch.results.reserve(count);
  // A correct pipeline needs exactly latency + count cycles; allow slack
  // before declaring the RTL hung.
  const uint64_t cycle_limit = count + static_cast<uint64_t>(latency_cycles()) + 64;
  size_t next_in = 0;
  uint64_t cycles = 0;
  m.set_out_ready(true);
  while (batch.results.size() < count) {
    if (cycles >= cycle_limit) {
      throw std::runtime_error("DatapathRtl: pipeline stalled after " + std::to_string(cycles) +
                               " cycles");
    }
    const bool offering = next_in < count;
    m.drive(offering ? &chunks[next_in] : nullptr);
    m.settle();
    const bool accepted = offering && m.in_ready();
    const bool emitted = m.out_valid();
    const uint32_t result = m.out_result();
    m.rising_edge();
    if (accepted) ++next_in;
    if (emitted) batch.results.push_back(result);
    ++cycles;
  }
  m.drive(nullptr);
  batch.cycles = cycles;
  return batch;
}

}  // namespace pnm::datapath
