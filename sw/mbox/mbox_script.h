// Mailbox script files for `pnm mailbox --script FILE`: one command a line,
//
//   OPCODE [PAYLOAD_HEX]     # comment
//
// OPCODE is hex (0x optional, at most 0xFFFF). PAYLOAD_HEX is the input payload as the bytes go on
// the wire (so multi-byte fields are written little-endian), either one contiguous hex string
// ("0000100000000000") or space-separated groups ("00 00 10 00", "0000 1000"); each group has an
// even number of digits. '#' starts a comment anywhere; blank lines are ignored; CRLF is fine.
//
// The whole script is parsed before any command runs, so a bad line 40 stops the script before
// line 1 reaches the device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

namespace pnm::sw::mbox {

// The largest CXL mailbox payload (the payload-size field of the mailbox capabilities register
// allows 2^8..2^20 bytes).
inline constexpr std::size_t kMaxPayloadBytes = std::size_t{1} << 20;

struct ScriptCommand {
  unsigned line = 0; // 1-based line in the script
  uint16_t opcode = 0;
  std::vector<uint8_t> payload; // input payload, wire byte order
};

// what() is "origin:line: message", or "message" alone when no line applies (file not opened).
class ScriptError : public std::runtime_error {
public:
  ScriptError(const std::string& origin, unsigned line, const std::string& message);
  explicit ScriptError(const std::string& message);
  unsigned line() const { return line_; } // 0 when no line applies

private:
  unsigned line_ = 0;
};

// Parses a whole script; `origin` names it in error messages. Throws ScriptError on the first bad
// line (or a read error).
std::vector<ScriptCommand> parse_script(std::istream& in, const std::string& origin);

// Opens and parses `path`; the error for a file that cannot be read names the path.
std::vector<ScriptCommand> load_script(const std::string& path);

} // namespace pnm::sw::mbox
