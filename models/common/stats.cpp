#include "stats.h"

#include <fmt/format.h>
#include <stdexcept>
#include <utility>

namespace pnm {

StatGroup& StatGroup::group(const std::string& name, const std::string& description) {
  for (auto& g : groups_)
    if (g->name_ == name) return *g;
  groups_.push_back(std::make_unique<StatGroup>(name, description));
  return *groups_.back();
}

const StatGroup* StatGroup::find_group(const std::string& name) const {
  for (const auto& g : groups_)
    if (g->name_ == name) return g.get();
  return nullptr;
}

void StatGroup::set(const std::string& name, double value, const std::string& unit,
                    const std::string& description) {
  for (auto& s : stats_)
    if (s.name == name) {
      s = Stat{name, value, unit, description};
      return;
    }
  stats_.push_back(Stat{name, value, unit, description});
}

void StatGroup::add(const std::string& name, double value, const std::string& unit,
                    const std::string& description) {
  for (auto& s : stats_)
    if (s.name == name) {
      s.value += value;
      return;
    }
  stats_.push_back(Stat{name, value, unit, description});
}

const Stat* StatGroup::find(const std::string& name) const {
  for (const auto& s : stats_)
    if (s.name == name) return &s;
  return nullptr;
}

double StatGroup::value(const std::string& name) const {
  const Stat* s = find(name);
  if (!s) throw std::out_of_range(fmt::format("no stat '{}' in group '{}'", name, name_));
  return s->value;
}

namespace {
// Splits "a/b/c" into the group path "a/b" and the last name "c".
std::pair<std::string, std::string> split_last(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}
} // namespace

const StatGroup* StatGroup::find_group_at(const std::string& path) const {
  const StatGroup* g = this;
  size_t from = 0;
  while (g && from < path.size()) {
    size_t slash = path.find('/', from);
    if (slash == std::string::npos) slash = path.size();
    g = g->find_group(path.substr(from, slash - from));
    from = slash + 1;
  }
  return g;
}

const Stat* StatGroup::find_at(const std::string& path) const {
  const auto [dir, leaf] = split_last(path);
  const StatGroup* g = find_group_at(dir);
  return g ? g->find(leaf) : nullptr;
}

double StatGroup::value_at(const std::string& path) const {
  const Stat* s = find_at(path);
  if (!s) throw std::out_of_range(fmt::format("no stat '{}' under group '{}'", path, name_));
  return s->value;
}

StatGroup StatGroup::minus(const StatGroup& earlier) const {
  StatGroup out(name_, description_);
  for (const auto& s : stats_) {
    const Stat* e = earlier.find(s.name);
    out.stats_.push_back(Stat{s.name, s.value - (e ? e->value : 0.0), s.unit, s.description});
  }
  static const StatGroup empty;
  for (const auto& g : groups_) {
    const StatGroup* e = earlier.find_group(g->name_);
    out.groups_.push_back(std::make_unique<StatGroup>(g->minus(e ? *e : empty)));
  }
  return out;
}

double StatGroup::sum_unit(const std::string& unit) const {
  double total = 0;
  for (const auto& s : stats_)
    if (s.unit == unit && s.name != "total") total += s.value; // totals are sums already
  for (const auto& g : groups_) total += g->sum_unit(unit);
  return total;
}

namespace {
nlohmann::ordered_json number(double v) {
  // Integral values print as integers so counts stay counts in JSON.
  if (v == static_cast<double>(static_cast<int64_t>(v)) && v < 9.0e15 && v > -9.0e15)
    return static_cast<int64_t>(v);
  return v;
}
} // namespace

nlohmann::ordered_json StatGroup::to_json() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& s : stats_) j[s.name] = number(s.value);
  for (const auto& g : groups_) j[g->name_] = g->to_json();
  return j;
}

nlohmann::ordered_json StatGroup::to_json_described() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& s : stats_)
    j[s.name] = {{"value", number(s.value)}, {"unit", s.unit}, {"description", s.description}};
  for (const auto& g : groups_) j[g->name_] = g->to_json_described();
  return j;
}

nlohmann::ordered_json stats_document(const StatGroup& root) {
  nlohmann::ordered_json j;
  j["schema"] = kStatsSchema;
  j["stats"] = root.to_json_described();
  return j;
}

void StatGroup::print(std::ostream& os, int indent) const {
  std::string pad(static_cast<size_t>(indent), ' ');
  for (const auto& s : stats_)
    os << pad << fmt::format("{:<28} {:>16.6g} {}", s.name, s.value, s.unit) << "\n";
  for (const auto& g : groups_) {
    os << pad << g->name_ << ":\n";
    g->print(os, indent + 2);
  }
}

} // namespace pnm
