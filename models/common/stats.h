// The one stats/energy registry: a tree of groups holding named values with
// a unit and a description. Blocks keep plain counters on their hot paths and
// publish them here once, at report time; renderers turn the tree into JSON
// or a human table.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace pnm {

struct Stat {
  std::string name;
  double value = 0;
  std::string unit;        // "pJ", "ns", "GB/s", "count", "%"...
  std::string description;
};

class StatGroup {
public:
  explicit StatGroup(std::string name = "", std::string description = "")
      : name_(std::move(name)), description_(std::move(description)) {}

  // Returns the named subgroup, creating it on first use.
  StatGroup& group(const std::string& name, const std::string& description = "");
  const StatGroup* find_group(const std::string& name) const;

  // Sets (or replaces) a value.
  void set(const std::string& name, double value, const std::string& unit,
           const std::string& description);
  // Adds to a value, creating it at 0.
  void add(const std::string& name, double value, const std::string& unit,
           const std::string& description);
  const Stat* find(const std::string& name) const;
  double value(const std::string& name) const; // throws if missing

  // Lookup by slash-separated path from this group, e.g.
  // "dram/energy_pj/act" (groups, then the stat). null / throws if missing.
  const StatGroup* find_group_at(const std::string& path) const;
  const Stat* find_at(const std::string& path) const;
  double value_at(const std::string& path) const;

  // This snapshot less an earlier one of the same tree: every value minus
  // the earlier value at the same path (0 where the earlier tree lacks it),
  // units and descriptions kept. Meant for counts and energies over a
  // measured window; a difference of gauges (weights, means) means nothing.
  StatGroup minus(const StatGroup& earlier) const;

  // Sum of every value with this unit in this subtree (e.g. all "pJ"),
  // skipping stats named "total" (they are sums already).
  double sum_unit(const std::string& unit) const;

  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  const std::vector<Stat>& stats() const { return stats_; }
  const std::vector<std::unique_ptr<StatGroup>>& groups() const { return groups_; }

  // {"name": value, ..., "subgroup": {...}}: values only, stable key order.
  nlohmann::ordered_json to_json() const;
  // Same tree with units and descriptions, for `--describe` style output.
  nlohmann::ordered_json to_json_described() const;
  void print(std::ostream& os, int indent = 0) const;

private:
  std::string name_;
  std::string description_;
  std::vector<Stat> stats_;
  std::vector<std::unique_ptr<StatGroup>> groups_;
};

// The document `--stats FILE` writes (through write_report): the whole tree
// with units and descriptions under "stats", behind a schema key.
inline constexpr const char* kStatsSchema = "pnmvp.stats.v1";
nlohmann::ordered_json stats_document(const StatGroup& root);

} // namespace pnm
