// pnm_gen_gpu_ops GPU MODEL OUT.csv: writes the per-operator table the
// roofline predicts for GPU and MODEL (docs/GPU.md, "Operator table"). The
// shipped platforms/gpus/h100-sxm-ops.csv was made with
//   build/pnm_gen_gpu_ops h100-sxm llama-3.1-8b platforms/gpus/h100-sxm-ops.csv
// It is an example of the format, not a measurement.
#include "serving/gpu_model.h"

#include <fmt/format.h>

#include <exception>
#include <iostream>

// The logger sits on SystemC's report handler, so libsystemc is linked and
// needs this symbol; main() below takes precedence and it is never called.
extern "C" int sc_main(int, char**) { return 1; }

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: pnm_gen_gpu_ops GPU MODEL OUT.csv  (GPU, MODEL: names or JSON files)\n";
    return 2;
  }
  try {
    using namespace pnm::serving;
    const GpuSpec g = load_gpu(argv[1]);
    const ModelArch a = load_model_arch(argv[2]);
    write_roofline_table(argv[3], g, a,
                         fmt::format("GPU operator times for {} on {}, GENERATED from the roofline model "
                                     "(not a measurement):\n  pnm_gen_gpu_ops {} {} {}\n"
                                     "Format: docs/GPU.md (times in us per operator instance, per layer for "
                                     "per-layer operators).",
                                     a.shape.name, g.name, argv[1], argv[2], argv[3]));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
