// What a serving iteration's device work costs: one decode step's attention
// over the CXL-resident KV of a device's sequences (with one of the four
// decode kernels), and bulk KV moves over CXL.mem. Plain C++: the VP-backed
// builders live in platforms/serve_device.h.
//
// CalibratedDeviceCost is a table the VP measured (`pnmvp calibrate`) over
// batch x context for one kernel, plus the measured bulk write and read
// rates, interpolated; its file format, pnmvp.calibration.v1, is documented
// in docs/SERVING_CALIBRATION.md.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pnm::serving {

// Energy by class, pJ.
struct DeviceEnergyPj {
  double dram_act_pre = 0, dram_rd_wr = 0, dram_background = 0, dram_refresh = 0, dram_io = 0;
  double link = 0, engine = 0, sram = 0, controller = 0;
  double host_cpu = 0; // host-side attention arithmetic of host-fetch / pnm-select
  double total() const;
  DeviceEnergyPj& operator+=(const DeviceEnergyPj& o);
  DeviceEnergyPj scaled(double f) const;
  std::map<std::string, double> by_class() const; // keys as classes() names them
  // The classes in a fixed order: their names (the calibration file's keys) and members.
  static const std::vector<std::pair<const char*, double DeviceEnergyPj::*>>& classes();
};

struct DeviceStepCost {
  double ns = 0;
  double link_bytes = 0; // CXL payload bytes both ways
  DeviceEnergyPj energy;
};

// One decode step of the model's WHOLE depth (all layers; simulated layers
// scaled up) for the sequences of one device.
class DeviceCostModel {
public:
  virtual ~DeviceCostModel() = default;
  // `contexts`: KV tokens of each sequence before the step (it appends one).
  virtual DeviceStepCost step(const std::vector<uint32_t>& contexts) const = 0;
  // Bulk KV over CXL.mem for all layers (prefill writing a prompt's KV;
  // reading a prefix back): time, link bytes, energy.
  virtual DeviceStepCost write_kv(uint64_t bytes) const = 0;
  virtual DeviceStepCost read_kv(uint64_t bytes) const = 0;
};

inline constexpr const char* kCalibrationSchema = "pnmvp.calibration.v1";

// What a calibration was measured on; a file is reused only when it matches.
struct CalibrationIdentity {
  std::string system;      // system name
  std::string system_hash; // of the resolved system config ("fnv1a64:...")
  std::string model;       // model name
  unsigned layers = 0;     // the model's layers (the table is for all of them)
  std::string kernel;      // host-fetch, pnm-dense, pnm-topk, pnm-select
  uint32_t topk = 0;       // pnm-topk / pnm-select; 0 for the dense kernels
};

class CalibratedDeviceCost : public DeviceCostModel {
public:
  struct Point {
    uint32_t batch = 0, context = 0;
    DeviceStepCost cost;
  };
  // Bulk rates: bytes/ns (= GB/s) and, per byte moved, link bytes and pJ by class.
  struct Bulk {
    double gbps = 0;
    double link_bytes_per_byte = 0;
    DeviceEnergyPj pj_per_byte;
  };

  CalibratedDeviceCost() = default;
  // The grid must be full: every batch with every context, at least two of
  // each (std::invalid_argument otherwise).
  CalibratedDeviceCost(CalibrationIdentity id, std::vector<Point> grid, Bulk write, Bulk read);

  // A batch of mixed contexts: the mean over its sequences of the table at
  // (batch size, each one's context); the same as the table at the mean
  // context where the cost is linear in the context. at(): bilinear inside
  // the grid, linear extrapolation from the nearest grid segment outside it
  // (each figure clamped at 0).
  DeviceStepCost step(const std::vector<uint32_t>& contexts) const override;
  DeviceStepCost at(double batch, double context) const;
  DeviceStepCost write_kv(uint64_t bytes) const override;
  DeviceStepCost read_kv(uint64_t bytes) const override;

  const CalibrationIdentity& identity() const { return id_; }
  const std::vector<Point>& grid() const { return grid_; }
  const std::vector<uint32_t>& batches() const { return batches_; }
  const std::vector<uint32_t>& contexts() const { return contexts_; }
  const Bulk& bulk_write() const { return write_; }
  const Bulk& bulk_read() const { return read_; }
  bool matches(const std::string& system, const std::string& system_hash, const std::string& model,
               const std::string& kernel, uint32_t topk) const;

  // Provenance, recorded in the file.
  std::string vp_version; // pnm::version_string()
  std::string vp_commit;  // pnm::git_commit()
  std::string created;    // UTC, ISO 8601
  unsigned layers_simulated = 1;
  double wall_s = 0;      // calibration wall time

  nlohmann::ordered_json to_json() const;
  // `where` names the source in errors (a file name).
  static CalibratedDeviceCost from_json(const nlohmann::json& j, const std::string& where);
  // Errors name the file and the key (std::runtime_error).
  static CalibratedDeviceCost load(const std::string& path);
  // Through the output guard (common/output_guard.h, named `flag` in its
  // refusals): never an input of the run nor a file pnmvp did not write; a
  // calibration (another pnmvp report) is replaced, other pnmvp outputs with `force`.
  void save(const std::string& path, bool force = false, const std::string& flag = "calibration file") const;

private:
  const DeviceStepCost& cell(size_t bi, size_t ci) const { return grid_[bi * contexts_.size() + ci].cost; }
  CalibrationIdentity id_;
  std::vector<Point> grid_; // sorted by batch, then context
  std::vector<uint32_t> batches_, contexts_;
  Bulk write_, read_;
};

// True when `path` holds a calibration file (its schema key says so).
bool is_calibration_file(const std::string& path);

} // namespace pnm::serving
