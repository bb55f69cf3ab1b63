// The one config loader: JSON platform files, validated as they are read.
// Every read names its key, unit, allowed range and description, so errors can
// name file + key path + range, and `pnmvp params` can list every parameter.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace pnm {

class ConfigError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// One parameter as it was read: the self-description of a platform.
struct ParamRecord {
  std::string path;   // "/dram/timing/tRCD_nck"
  std::string value;  // as JSON text
  std::string unit;   // "nCK", "ns", "mA", "" for plain counts/choices
  std::string range;  // "[1, 1000]" or "one of open|closed"
  std::string description;
  std::string source; // nearest sibling/ancestor "source" field, if any
};

struct Range {
  double lo;
  double hi;
};

class ConfigNode {
public:
  // Loads and parses a JSON file; parse errors name file, line and column.
  static ConfigNode load_file(const std::string& path);
  // Wraps an in-memory document (tests, built-in defaults); `origin` names it in errors.
  static ConfigNode from_json(nlohmann::json doc, const std::string& origin);

  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  bool has(const std::string& key) const;

  // Required values. Each checks type and range, records the parameter.
  double number(const std::string& key, Range range, const std::string& unit,
                const std::string& description);
  int64_t integer(const std::string& key, Range range, const std::string& unit,
                  const std::string& description);
  bool boolean(const std::string& key, const std::string& description);
  std::string choice(const std::string& key, const std::vector<std::string>& allowed,
                     const std::string& description);
  std::string text(const std::string& key, const std::string& description);

  // Optional values with defaults (the default is recorded too).
  double number_or(const std::string& key, double dflt, Range range, const std::string& unit,
                   const std::string& description);
  int64_t integer_or(const std::string& key, int64_t dflt, Range range, const std::string& unit,
                     const std::string& description);
  bool boolean_or(const std::string& key, bool dflt, const std::string& description);
  std::string choice_or(const std::string& key, const std::string& dflt,
                        const std::vector<std::string>& allowed, const std::string& description);
  std::string text_or(const std::string& key, const std::string& dflt,
                      const std::string& description);

  ConfigNode child(const std::string& key);
  std::optional<ConfigNode> child_if(const std::string& key);
  // A non-empty JSON array of objects, one node per element ("key/0", "key/1", ...).
  std::vector<ConfigNode> items(const std::string& key, const std::string& description);
  // A string naming another JSON file (relative to this file's folder) or an inline object.
  ConfigNode child_or_include(const std::string& key);

  // Physical-constant sections must name where their numbers come from.
  std::string require_source();

  // Errors if any key was not read: catches typos such as "tRDC_nck".
  void finish();

  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  std::string where(const std::string& key) const;

  // Every parameter read so far, across this document and the files it includes.
  const std::vector<ParamRecord>& params() const { return *params_; }

private:
  using ParamLog = std::vector<ParamRecord>;
  ConfigNode(std::shared_ptr<ParamLog> params, std::string file, const nlohmann::json* node,
             std::string path, std::string source, std::shared_ptr<nlohmann::json> owner);
  const nlohmann::json& get(const std::string& key) const;
  void record(const std::string& key, const nlohmann::json& value, const std::string& unit,
              const std::string& range, const std::string& description);

  std::shared_ptr<ParamLog> params_;
  std::string file_;
  std::shared_ptr<nlohmann::json> owner_; // keeps the document alive
  const nlohmann::json* node_;
  std::string path_;
  std::string source_;
  std::set<std::string> used_;
};

// Keys allowed anywhere for documentation.
bool is_doc_key(const std::string& key);

} // namespace pnm
