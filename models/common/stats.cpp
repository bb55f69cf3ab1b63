#include "stats.h"

#include <fmt/format.h>
#include <stdexcept>

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
