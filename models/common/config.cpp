#include "config.h"
#include "input_file.h"

#include "common/report.h"


#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>

namespace pnm {

using nlohmann::json;

bool is_doc_key(const std::string& key) {
  return key == "source" || key == "comment" || key == "description" || key == "name" ||
         key == "schema";
}

namespace {
std::string fmt_num(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}
std::string range_text(Range r) { return fmt::format("[{}, {}]", fmt_num(r.lo), fmt_num(r.hi)); }
std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}
std::string type_name(const json& j) { return j.type_name(); }
std::string dir_of(const std::string& file) {
  auto pos = file.find_last_of('/');
  return pos == std::string::npos ? std::string(".") : file.substr(0, pos);
}
} // namespace

ConfigNode::ConfigNode(std::shared_ptr<ParamLog> params, std::string file, const json* node,
                       std::string path, std::string source, std::shared_ptr<json> owner)
    : params_(std::move(params)), file_(std::move(file)), owner_(std::move(owner)), node_(node),
      path_(std::move(path)), source_(std::move(source)) {
  if (!node_->is_object())
    throw ConfigError(fmt::format("{}: {} must be a JSON object, found {}", file_,
                                  path_.empty() ? "/" : path_, type_name(*node_)));
  auto it = node_->find("source");
  if (it != node_->end()) {
    if (!it->is_string())
      throw ConfigError(fmt::format("{}: {}/source must be a string", file_, path_));
    source_ = it->get<std::string>();
  }
}

ConfigNode ConfigNode::load_file(const std::string& file) {
  try {
    check_input_file(file, "config file", kMaxConfigBytes);
  } catch (const InputFileError& e) {
    throw ConfigError(e.what());
  }
  std::ifstream in(file);
  if (!in) throw ConfigError(fmt::format("{}: cannot open config file", file));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  auto doc = std::make_shared<json>();
  // JSON lets a key repeat in one object and keeps the last: a config file
  // that says a thing twice is refused, naming the key's path.
  struct Scope {
    std::set<std::string> keys;
    std::string path, key;
  };
  std::vector<Scope> scopes;
  auto no_duplicates = [&](int, json::parse_event_t ev, json& parsed) {
    switch (ev) {
    case json::parse_event_t::object_start:
      scopes.push_back({{}, scopes.empty() ? "" : scopes.back().path + "/" + scopes.back().key, ""});
      break;
    case json::parse_event_t::object_end:
      if (!scopes.empty()) scopes.pop_back();
      break;
    case json::parse_event_t::key: {
      Scope& s = scopes.back();
      s.key = parsed.get<std::string>();
      if (!s.keys.insert(s.key).second)
        throw ConfigError(fmt::format("{}: {}/{}: the key appears twice in one object (JSON would keep the last "
                                      "silently)", file, s.path, s.key));
      break;
    }
    default:
      break;
    }
    return true;
  };
  try {
    *doc = json::parse(text, no_duplicates);
  } catch (const json::parse_error& e) {
    // Convert the byte offset to line:column, which people can use.
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string msg = e.what();
    auto p = msg.find("syntax error");
    throw ConfigError(fmt::format("{}:{}:{}: invalid JSON: {}", file, line, col,
                                  p == std::string::npos ? msg : msg.substr(p)));
  }
  const json* root = doc.get();
  auto log = std::make_shared<ParamLog>();
  provenance::note_config(file, log); // reports record what was read (common/report.h)
  return ConfigNode(log, file, root, "", "", doc);
}

ConfigNode ConfigNode::from_json(json doc, const std::string& origin) {
  auto owned = std::make_shared<json>(std::move(doc));
  const json* root = owned.get();
  auto log = std::make_shared<ParamLog>();
  provenance::note_config(origin, log);
  return ConfigNode(log, origin, root, "", "", owned);
}

std::string ConfigNode::where(const std::string& key) const {
  return fmt::format("{}: {}/{}", file_, path_, key);
}

void ConfigNode::fail(const std::string& key, const std::string& what) const {
  throw ConfigError(fmt::format("{}: {}", where(key), what));
}

bool ConfigNode::has(const std::string& key) const { return node_->contains(key); }

const json& ConfigNode::get(const std::string& key) const {
  auto it = node_->find(key);
  if (it == node_->end()) fail(key, "required key is missing");
  return *it;
}

void ConfigNode::record(const std::string& key, const json& value, const std::string& unit,
                        const std::string& range, const std::string& description) {
  used_.insert(key);
  params_->push_back(
      ParamRecord{path_ + "/" + key, value.dump(), unit, range, description, source_});
}

double ConfigNode::number(const std::string& key, Range range, const std::string& unit,
                          const std::string& description) {
  const json& v = get(key);
  if (!v.is_number())
    fail(key, fmt::format("expected a number in {}{}, found {}", range_text(range),
                          unit.empty() ? "" : " " + unit, type_name(v)));
  double d = v.get<double>();
  if (!(d >= range.lo && d <= range.hi))
    fail(key, fmt::format("value {} is out of range {}{}", fmt_num(d), range_text(range),
                          unit.empty() ? "" : " " + unit));
  record(key, v, unit, range_text(range), description);
  return d;
}

int64_t ConfigNode::integer(const std::string& key, Range range, const std::string& unit,
                            const std::string& description) {
  const json& v = get(key);
  if (!v.is_number_integer() &&
      !(v.is_number_float() && v.get<double>() == std::floor(v.get<double>())))
    fail(key, fmt::format("expected an integer in {}, found {}", range_text(range),
                          v.is_number() ? v.dump() : type_name(v)));
  double d = v.get<double>();
  if (!(d >= range.lo && d <= range.hi))
    fail(key, fmt::format("value {} is out of range {}{}", fmt_num(d), range_text(range),
                          unit.empty() ? "" : " " + unit));
  record(key, v, unit, range_text(range), description);
  return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(d);
}

bool ConfigNode::boolean(const std::string& key, const std::string& description) {
  const json& v = get(key);
  if (!v.is_boolean()) fail(key, fmt::format("expected true or false, found {}", type_name(v)));
  record(key, v, "", "true|false", description);
  return v.get<bool>();
}

std::string ConfigNode::choice(const std::string& key, const std::vector<std::string>& allowed,
                               const std::string& description) {
  const json& v = get(key);
  std::string all = join(allowed, "|");
  if (!v.is_string()) fail(key, fmt::format("expected one of {}, found {}", all, type_name(v)));
  std::string s = v.get<std::string>();
  bool ok = false;
  for (const auto& a : allowed) ok = ok || a == s;
  if (!ok) fail(key, fmt::format("'{}' is not a valid choice; valid: {}", s, all));
  record(key, v, "", "one of " + all, description);
  return s;
}

std::string ConfigNode::text(const std::string& key, const std::string& description) {
  const json& v = get(key);
  if (!v.is_string()) fail(key, fmt::format("expected a string, found {}", type_name(v)));
  record(key, v, "", "text", description);
  return v.get<std::string>();
}

double ConfigNode::number_or(const std::string& key, double dflt, Range range,
                             const std::string& unit, const std::string& description) {
  if (has(key)) return number(key, range, unit, description);
  record(key, json(dflt), unit, range_text(range), description + " (default)");
  return dflt;
}

int64_t ConfigNode::integer_or(const std::string& key, int64_t dflt, Range range,
                               const std::string& unit, const std::string& description) {
  if (has(key)) return integer(key, range, unit, description);
  record(key, json(dflt), unit, range_text(range), description + " (default)");
  return dflt;
}

bool ConfigNode::boolean_or(const std::string& key, bool dflt, const std::string& description) {
  if (has(key)) return boolean(key, description);
  record(key, json(dflt), "", "true|false", description + " (default)");
  return dflt;
}

std::string ConfigNode::choice_or(const std::string& key, const std::string& dflt,
                                  const std::vector<std::string>& allowed,
                                  const std::string& description) {
  if (has(key)) return choice(key, allowed, description);
  record(key, json(dflt), "", "one of " + join(allowed, "|"), description + " (default)");
  return dflt;
}

std::string ConfigNode::text_or(const std::string& key, const std::string& dflt,
                                const std::string& description) {
  if (has(key)) return text(key, description);
  record(key, json(dflt), "", "text", description + " (default)");
  return dflt;
}

ConfigNode ConfigNode::child(const std::string& key) {
  const json& v = get(key);
  if (!v.is_object()) fail(key, fmt::format("expected an object, found {}", type_name(v)));
  used_.insert(key);
  return ConfigNode(params_, file_, &v, path_ + "/" + key, source_, owner_);
}

std::optional<ConfigNode> ConfigNode::child_if(const std::string& key) {
  if (!has(key)) return std::nullopt;
  return child(key);
}

std::vector<ConfigNode> ConfigNode::items(const std::string& key, const std::string& description) {
  const json& v = get(key);
  if (!v.is_array() || v.empty())
    fail(key, fmt::format("expected a non-empty array ({}), found {}", description,
                          v.is_array() ? "an empty one" : type_name(v)));
  used_.insert(key);
  std::vector<ConfigNode> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = fmt::format("{}/{}/{}", path_, key, i);
    if (!v[i].is_object())
      throw ConfigError(fmt::format("{}: {}: expected an object, found {}", file_, at, type_name(v[i])));
    out.push_back(ConfigNode(params_, file_, &v[i], at, source_, owner_));
  }
  return out;
}

ConfigNode ConfigNode::child_or_include(const std::string& key) {
  const json& v = get(key);
  if (v.is_object()) return child(key);
  if (!v.is_string())
    fail(key, fmt::format("expected an object or a file name, found {}", type_name(v)));
  used_.insert(key);
  std::string rel = v.get<std::string>();
  std::string file = (!rel.empty() && rel[0] == '/') ? rel : dir_of(file_) + "/" + rel;
  std::ifstream probe(file);
  if (!probe) fail(key, fmt::format("included file '{}' cannot be opened", file));
  ConfigNode inc = load_file(file);
  // The included file's parameters join this document's log, under this key's path.
  return ConfigNode(params_, file, inc.node_, path_ + "/" + key, "", inc.owner_);
}

std::string ConfigNode::require_source() {
  auto it = node_->find("source");
  if (it == node_->end() || !it->is_string() || it->get<std::string>().empty())
    fail("source", "this section holds physical constants and must name their source");
  used_.insert("source");
  return it->get<std::string>();
}

void ConfigNode::finish() {
  std::vector<std::string> unknown;
  for (auto it = node_->begin(); it != node_->end(); ++it)
    if (!used_.count(it.key()) && !is_doc_key(it.key())) unknown.push_back(it.key());
  if (unknown.empty()) return;
  std::vector<std::string> known;
  for (const auto& k : used_) known.push_back(k);
  fail(unknown.front(), fmt::format("unknown key{} ({}); keys read here: {}",
                                    unknown.size() > 1 ? "s" : "", join(unknown, ", "),
                                    known.empty() ? "none" : join(known, ", ")));
}

} // namespace pnm
