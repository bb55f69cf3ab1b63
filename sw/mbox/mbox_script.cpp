// Mailbox script parser (format in mbox_script.h).
#include "mbox/mbox_script.h"

#include "common/input_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>

#include <fmt/format.h>

namespace pnm::sw::mbox {

ScriptError::ScriptError(const std::string& origin, unsigned line, const std::string& message)
    : std::runtime_error(fmt::format("{}:{}: {}", origin, line, message)), line_(line) {}

ScriptError::ScriptError(const std::string& message) : std::runtime_error(message) {}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// A character for an error message: control and non-ASCII bytes as \xNN so the message stays
// printable whatever the file holds.
std::string show_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7F) {
    return fmt::format("'{}'", c);
  }
  return fmt::format("'\\x{:02x}'", u);
}

std::string show_token(const std::string& t) {
  std::string s;
  for (char c : t) {
    const auto u = static_cast<unsigned char>(c);
    s += (u >= 0x20 && u < 0x7F) ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  return s;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

struct Token {
  std::size_t col; // 1-based column of the first character
  std::string text;
};

class LineParser {
public:
  LineParser(const std::string& origin, unsigned line) : origin_(origin), line_(line) {}

  [[noreturn]] void fail(const std::string& msg) const { throw ScriptError(origin_, line_, msg); }

  uint16_t opcode(const Token& t) const {
    std::size_t i = 0;
    if (t.text.size() >= 2 && t.text[0] == '0' && (t.text[1] == 'x' || t.text[1] == 'X')) {
      i = 2;
    }
    if (i == t.text.size()) {
      fail(fmt::format("bad opcode \"{}\": no hex digits", show_token(t.text)));
    }
    uint32_t v = 0;
    bool too_big = false;
    for (; i < t.text.size(); ++i) {
      const int d = hex_value(t.text[i]);
      if (d < 0) {
        fail(fmt::format("bad opcode \"{}\": {} at column {} is not a hex digit",
                         show_token(t.text), show_char(t.text[i]), t.col + i));
      }
      v = v * 16 + unsigned(d);
      if (v > 0xFFFF) {
        too_big = true; // keep scanning: a bad digit later is the better message
        v = 0x10000;
      }
    }
    if (too_big) {
      fail(fmt::format("opcode \"{}\" is larger than 0xFFFF (opcodes are 16 bits)",
                       show_token(t.text)));
    }
    return uint16_t(v);
  }

  void payload_group(const Token& t, std::vector<uint8_t>& out) const {
    for (std::size_t i = 0; i < t.text.size(); ++i) {
      if (hex_value(t.text[i]) < 0) {
        std::string hint;
        if (i == 1 && t.text[0] == '0' && (t.text[1] == 'x' || t.text[1] == 'X')) {
          // "0x1000" would be ambiguous: a number (LE bytes 00 10) or bytes in order (10 00)?
          hint = " (the payload is bytes in wire order, without 0x)";
        }
        fail(fmt::format("non-hex character {} at column {} in payload{}", show_char(t.text[i]),
                         t.col + i, hint));
      }
    }
    if (t.text.size() % 2 != 0) {
      fail(fmt::format("odd number of hex digits ({}) in payload group \"{}\" at column {}",
                       t.text.size(), t.text, t.col));
    }
    if (out.size() + t.text.size() / 2 > kMaxPayloadBytes) {
      fail(fmt::format("payload longer than {} bytes (1 MiB, the largest CXL mailbox payload)",
                       kMaxPayloadBytes));
    }
    for (std::size_t i = 0; i < t.text.size(); i += 2) {
      out.push_back(uint8_t(hex_value(t.text[i]) << 4 | hex_value(t.text[i + 1])));
    }
  }

private:
  const std::string& origin_;
  unsigned line_;
};

std::vector<Token> tokenize(const std::string& text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) {
      ++i;
    }
    if (i == text.size() || text[i] == '#') {
      break;
    }
    const std::size_t start = i;
    while (i < text.size() && !is_space(text[i]) && text[i] != '#') {
      ++i;
    }
    tokens.push_back({start + 1, text.substr(start, i - start)});
  }
  return tokens;
}

} // namespace

std::vector<ScriptCommand> parse_script(std::istream& in, const std::string& origin) {
  std::vector<ScriptCommand> commands;
  std::string text;
  unsigned line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') {
      text.pop_back();
    }
    // A UTF-8 byte-order mark (editors on Windows write one) is not a command.
    if (line == 1 && text.rfind("\xEF\xBB\xBF", 0) == 0) {
      text.erase(0, 3);
    }
    const std::vector<Token> tokens = tokenize(text);
    if (tokens.empty()) {
      continue;
    }
    const LineParser p(origin, line);
    ScriptCommand cmd;
    cmd.line = line;
    cmd.opcode = p.opcode(tokens[0]);
    for (std::size_t t = 1; t < tokens.size(); ++t) {
      p.payload_group(tokens[t], cmd.payload);
    }
    commands.push_back(std::move(cmd));
  }
  if (in.bad()) {
    throw ScriptError(fmt::format("{}: read error after line {}", origin, line));
  }
  return commands;
}

std::vector<ScriptCommand> load_script(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    // an ifstream opens a directory and then reads nothing: an empty script, silently
    throw ScriptError(fmt::format("cannot read mailbox script \"{}\": is a directory", path));
  }
  try {
    check_input_file(path, "mailbox script", kMaxConfigBytes);
  } catch (const InputFileError& e) {
    throw ScriptError(e.what());
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    throw ScriptError(
        fmt::format("cannot open mailbox script \"{}\": {}", path, std::strerror(errno)));
  }
  return parse_script(f, path);
}

} // namespace pnm::sw::mbox
