#include "serving/device_cost.h"

#include "common/output_guard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace pnm::serving {

const std::vector<std::pair<const char*, double DeviceEnergyPj::*>>& DeviceEnergyPj::classes() {
  static const std::vector<std::pair<const char*, double DeviceEnergyPj::*>> c = {
      {"dram_act_pre", &DeviceEnergyPj::dram_act_pre},   {"dram_rd_wr", &DeviceEnergyPj::dram_rd_wr},
      {"dram_background", &DeviceEnergyPj::dram_background}, {"dram_refresh", &DeviceEnergyPj::dram_refresh},
      {"dram_io", &DeviceEnergyPj::dram_io},             {"link", &DeviceEnergyPj::link},
      {"engine", &DeviceEnergyPj::engine},               {"sram", &DeviceEnergyPj::sram},
      {"controller", &DeviceEnergyPj::controller},       {"host_cpu", &DeviceEnergyPj::host_cpu}};
  return c;
}

double DeviceEnergyPj::total() const {
  double t = 0;
  for (const auto& [name, m] : classes()) t += this->*m;
  return t;
}

DeviceEnergyPj& DeviceEnergyPj::operator+=(const DeviceEnergyPj& o) {
  for (const auto& [name, m] : classes()) this->*m += o.*m;
  return *this;
}

DeviceEnergyPj DeviceEnergyPj::scaled(double f) const {
  DeviceEnergyPj e = *this;
  for (const auto& [name, m] : classes()) e.*m *= f;
  return e;
}

std::map<std::string, double> DeviceEnergyPj::by_class() const {
  std::map<std::string, double> r;
  for (const auto& [name, m] : classes()) r[name] = this->*m;
  return r;
}

namespace {
// Weighted sum of costs (interpolation weights may be negative outside the grid).
DeviceStepCost mix(const std::vector<std::pair<double, const DeviceStepCost*>>& terms) {
  DeviceStepCost r;
  for (const auto& [w, c] : terms) {
    r.ns += w * c->ns;
    r.link_bytes += w * c->link_bytes;
    r.energy += c->energy.scaled(w);
  }
  r.ns = std::max(0.0, r.ns);
  r.link_bytes = std::max(0.0, r.link_bytes);
  for (const auto& [name, m] : DeviceEnergyPj::classes()) r.energy.*m = std::max(0.0, r.energy.*m);
  return r;
}

// The segment of sorted `axis` to interpolate `x` on (the first or last
// one outside the axis: linear extrapolation) and x's weight on its upper end.
std::pair<size_t, double> segment(const std::vector<uint32_t>& axis, double x) {
  size_t i = 0;
  while (i + 2 < axis.size() && x > axis[i + 1]) ++i;
  const double lo = axis[i], hi = axis[i + 1];
  return {i, (x - lo) / (hi - lo)};
}
} // namespace

CalibratedDeviceCost::CalibratedDeviceCost(CalibrationIdentity id, std::vector<Point> grid, Bulk write, Bulk read)
    : id_(std::move(id)), grid_(std::move(grid)), write_(write), read_(read) {
  std::sort(grid_.begin(), grid_.end(),
            [](const Point& a, const Point& b) { return std::tie(a.batch, a.context) < std::tie(b.batch, b.context); });
  std::set<uint32_t> bs, cs;
  for (const Point& p : grid_) {
    if (p.batch < 1 || p.context < 1)
      throw std::invalid_argument(fmt::format("calibration grid: batch {} and context {} must be >= 1", p.batch, p.context));
    bs.insert(p.batch);
    cs.insert(p.context);
  }
  batches_.assign(bs.begin(), bs.end());
  contexts_.assign(cs.begin(), cs.end());
  if (batches_.size() < 2 || contexts_.size() < 2)
    throw std::invalid_argument(fmt::format("calibration grid: {} batch size(s) and {} context(s); at least two of "
                                            "each are needed to interpolate", batches_.size(), contexts_.size()));
  if (grid_.size() != batches_.size() * contexts_.size())
    throw std::invalid_argument(fmt::format("calibration grid: {} points, but {} batch sizes x {} contexts need {} "
                                            "(every batch size at every context, once)",
                                            grid_.size(), batches_.size(), contexts_.size(),
                                            batches_.size() * contexts_.size()));
  for (size_t b = 0; b < batches_.size(); ++b)
    for (size_t c = 0; c < contexts_.size(); ++c) {
      const Point& p = grid_[b * contexts_.size() + c];
      if (p.batch != batches_[b] || p.context != contexts_[c])
        throw std::invalid_argument(fmt::format("calibration grid: batch {} at context {} is missing or given twice",
                                                batches_[b], contexts_[c]));
    }
  if (!(write_.gbps > 0) || !(read_.gbps > 0))
    throw std::invalid_argument("calibration: bulk write and read rates must be > 0");
}

DeviceStepCost CalibratedDeviceCost::at(double batch, double context) const {
  if (grid_.empty()) throw std::logic_error("calibrated device cost: no table (load or calibrate one)");
  const auto [bi, bw] = segment(batches_, batch);
  const auto [ci, cw] = segment(contexts_, context);
  return mix({{(1 - bw) * (1 - cw), &cell(bi, ci)},
              {(1 - bw) * cw, &cell(bi, ci + 1)},
              {bw * (1 - cw), &cell(bi + 1, ci)},
              {bw * cw, &cell(bi + 1, ci + 1)}});
}

DeviceStepCost CalibratedDeviceCost::step(const std::vector<uint32_t>& contexts) const {
  // Each sequence costs its share of a batch of its own context: the mean
  // over the sequences of the table at (batch size, its context). Equal to
  // the table at the mean context where the cost is linear in the context,
  // and still right where it is not (the top-k kernels) as long as the
  // sequences' costs add up, as they do on the VP for host-fetch and
  // pnm-dense (not for pnm-select: docs/SERVING_CALIBRATION.md).
  if (contexts.empty()) return {};
  const double n = double(contexts.size());
  DeviceStepCost r;
  for (uint32_t c : contexts) {
    const DeviceStepCost x = at(n, c);
    r.ns += x.ns / n;
    r.link_bytes += x.link_bytes / n;
    r.energy += x.energy.scaled(1.0 / n);
  }
  return r;
}

namespace {
DeviceStepCost bulk_cost(const CalibratedDeviceCost::Bulk& b, uint64_t bytes) {
  DeviceStepCost r;
  if (!bytes) return r;
  r.ns = double(bytes) / b.gbps;
  r.link_bytes = double(bytes) * b.link_bytes_per_byte;
  r.energy = b.pj_per_byte.scaled(double(bytes));
  return r;
}
} // namespace

DeviceStepCost CalibratedDeviceCost::write_kv(uint64_t bytes) const { return bulk_cost(write_, bytes); }
DeviceStepCost CalibratedDeviceCost::read_kv(uint64_t bytes) const { return bulk_cost(read_, bytes); }

bool CalibratedDeviceCost::matches(const std::string& system, const std::string& system_hash, const std::string& model,
                                   const std::string& kernel, uint32_t topk) const {
  return id_.system == system && id_.system_hash == system_hash && id_.model == model && id_.kernel == kernel &&
         id_.topk == topk;
}

namespace {
nlohmann::ordered_json energy_json(const DeviceEnergyPj& e) {
  nlohmann::ordered_json j;
  for (const auto& [name, m] : DeviceEnergyPj::classes()) j[name] = e.*m;
  return j;
}

// Reading with errors that name the file and the key path.
struct Reader {
  std::string where;
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw std::runtime_error(fmt::format("{}: {}: {}", where, key, what));
  }
  const nlohmann::json& at(const nlohmann::json& j, const std::string& path, const char* key) const {
    if (!j.is_object()) fail(path, "must be an object");
    auto it = j.find(key);
    if (it == j.end()) fail(path.empty() ? key : path + "/" + key, "missing");
    return *it;
  }
  std::string str(const nlohmann::json& j, const std::string& path, const char* key) const {
    const nlohmann::json& v = at(j, path, key);
    if (!v.is_string()) fail(path + "/" + key, "must be a string");
    return v.get<std::string>();
  }
  double num(const nlohmann::json& j, const std::string& path, const char* key, double lo, double hi) const {
    const nlohmann::json& v = at(j, path, key);
    if (!v.is_number()) fail(path + "/" + key, "must be a number");
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < lo || x > hi) fail(path + "/" + key, fmt::format("{} is outside [{}, {}]", x, lo, hi));
    return x;
  }
  DeviceEnergyPj energy(const nlohmann::json& j, const std::string& path, const char* key) const {
    const nlohmann::json& e = at(j, path, key);
    const std::string p = path + "/" + key;
    if (!e.is_object()) fail(p, "must be an object of energy classes");
    DeviceEnergyPj r;
    for (const auto& [name, m] : DeviceEnergyPj::classes()) r.*m = num(e, p, name, 0, 1e30);
    for (const auto& [k, v] : e.items()) {
      bool known = false;
      for (const auto& [name, m] : DeviceEnergyPj::classes()) known = known || k == name;
      if (!known) fail(p + "/" + k, "unknown energy class");
    }
    return r;
  }
};
} // namespace

nlohmann::ordered_json CalibratedDeviceCost::to_json() const {
  nlohmann::ordered_json j;
  j["schema"] = kCalibrationSchema;
  j["vp_version"] = vp_version;
  j["vp_commit"] = vp_commit;
  j["system"] = {{"name", id_.system}, {"hash", id_.system_hash}};
  j["model"] = {{"name", id_.model}, {"layers", id_.layers}};
  j["kernel"] = id_.kernel;
  j["topk"] = id_.topk;
  j["layers"] = id_.layers;
  j["layers_simulated"] = layers_simulated;
  nlohmann::ordered_json g = nlohmann::ordered_json::array();
  for (const Point& p : grid_)
    g.push_back({{"batch", p.batch},
                 {"context", p.context},
                 {"ns", p.cost.ns},
                 {"link_bytes", p.cost.link_bytes},
                 {"energy_pj", energy_json(p.cost.energy)}});
  j["grid"] = g;
  j["bulk"] = {{"write_gbps", write_.gbps},
               {"read_gbps", read_.gbps},
               {"write_link_bytes_per_byte", write_.link_bytes_per_byte},
               {"read_link_bytes_per_byte", read_.link_bytes_per_byte},
               {"write_energy_pj_per_byte", energy_json(write_.pj_per_byte)},
               {"read_energy_pj_per_byte", energy_json(read_.pj_per_byte)}};
  j["created"] = created;
  j["wall_s"] = wall_s;
  return j;
}

CalibratedDeviceCost CalibratedDeviceCost::from_json(const nlohmann::json& j, const std::string& where) {
  const Reader r{where};
  if (!j.is_object()) r.fail("(top level)", "must be a JSON object");
  const std::string schema = r.str(j, "", "schema");
  if (schema != kCalibrationSchema) r.fail("schema", fmt::format("'{}' is not {}", schema, kCalibrationSchema));
  CalibrationIdentity id;
  const nlohmann::json& sys = r.at(j, "", "system");
  id.system = r.str(sys, "system", "name");
  id.system_hash = r.str(sys, "system", "hash");
  const nlohmann::json& model = r.at(j, "", "model");
  id.model = r.str(model, "model", "name");
  id.kernel = r.str(j, "", "kernel");
  if (id.kernel != "host-fetch" && id.kernel != "pnm-dense" && id.kernel != "pnm-topk" && id.kernel != "pnm-select")
    r.fail("kernel", fmt::format("'{}' is not one of host-fetch, pnm-dense, pnm-topk, pnm-select", id.kernel));
  id.topk = static_cast<uint32_t>(r.num(j, "", "topk", 0, 1u << 24));
  id.layers = static_cast<unsigned>(r.num(j, "", "layers", 1, 100000));
  if (r.num(model, "model", "layers", 1, 100000) != id.layers)
    r.fail("model/layers", "differs from the top-level layers");
  const nlohmann::json& grid = r.at(j, "", "grid");
  if (!grid.is_array() || grid.empty()) r.fail("grid", "must be a non-empty array of points");
  std::vector<Point> pts;
  for (size_t i = 0; i < grid.size(); ++i) {
    const std::string p = fmt::format("grid/{}", i);
    Point pt;
    pt.batch = static_cast<uint32_t>(r.num(grid[i], p, "batch", 1, 1u << 20));
    pt.context = static_cast<uint32_t>(r.num(grid[i], p, "context", 1, 1u << 24));
    pt.cost.ns = r.num(grid[i], p, "ns", 0, 1e18);
    pt.cost.link_bytes = r.num(grid[i], p, "link_bytes", 0, 1e18);
    pt.cost.energy = r.energy(grid[i], p, "energy_pj");
    pts.push_back(pt);
  }
  const nlohmann::json& bulk = r.at(j, "", "bulk");
  Bulk w, rd;
  w.gbps = r.num(bulk, "bulk", "write_gbps", 1e-9, 1e9);
  rd.gbps = r.num(bulk, "bulk", "read_gbps", 1e-9, 1e9);
  w.link_bytes_per_byte = r.num(bulk, "bulk", "write_link_bytes_per_byte", 0, 1e6);
  rd.link_bytes_per_byte = r.num(bulk, "bulk", "read_link_bytes_per_byte", 0, 1e6);
  w.pj_per_byte = r.energy(bulk, "bulk", "write_energy_pj_per_byte");
  rd.pj_per_byte = r.energy(bulk, "bulk", "read_energy_pj_per_byte");
  CalibratedDeviceCost c;
  try {
    c = CalibratedDeviceCost(id, pts, w, rd);
  } catch (const std::invalid_argument& e) {
    r.fail("grid", e.what());
  }
  c.vp_version = r.str(j, "", "vp_version");
  if (j.contains("vp_commit")) c.vp_commit = r.str(j, "", "vp_commit");
  c.created = r.str(j, "", "created");
  if (j.contains("layers_simulated")) c.layers_simulated = static_cast<unsigned>(r.num(j, "", "layers_simulated", 1, id.layers));
  if (j.contains("wall_s")) c.wall_s = r.num(j, "", "wall_s", 0, 1e9);
  return c;
}

CalibratedDeviceCost CalibratedDeviceCost::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("calibration '{}': cannot open", path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(fmt::format("calibration '{}': not valid JSON: {}", path, e.what()));
  }
  return from_json(j, path);
}

bool is_calibration_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return false;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    return j.is_object() && j.value("schema", std::string()) == kCalibrationSchema;
  } catch (const std::exception&) {
    return false;
  }
}

void CalibratedDeviceCost::save(const std::string& path, bool force, const std::string& flag) const {
  // A calibration (or another pnmvp report) may be replaced, never an input or a file pnmvp did not write.
  check_output(path, flag, force, /*replace_report=*/true);
  // A temporary of this process: two processes calibrating into the same
  // cache file at once each rename a whole file into place (the last wins).
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw std::runtime_error(fmt::format("calibration '{}': cannot open for writing", tmp));
    out << to_json().dump(2) << "\n";
    if (!out) throw std::runtime_error(fmt::format("calibration '{}': write failed", tmp));
  }
  // Renamed into place so a serve running alongside never reads half a file.
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error(fmt::format("calibration '{}': cannot rename {} onto it", path, tmp));
}

} // namespace pnm::serving
