// Host-side decoding of CXL mailbox output payloads into JSON, and the JSON line
// `pnm mailbox --script` prints per command.
//
// Field names are the CXL specification's, in snake_case (as Linux cxlmem.h, QEMU and libcxlmi
// name them); the vendor PNM commands (0xC000..0xC006) use the names of docs/FIRMWARE.md. The
// layouts match firmware/lib/mailbox.c byte for byte.
//
// Conventions in a decoded object:
// - every field is its wire value: a number, u64 fields exact, temperatures signed (two's
//   complement); except Get Health Info's life_used / device_temperature, which are null when
//   the device reports "not implemented" (0xFF / 0xFFFF);
// - a bit-field byte X also gets "X_bits": the names of its set bits ("bit<N>" for reserved ones);
// - an enumerated byte X also gets "X_name";
// - capacities in 256 MiB units are X_256mib with X_bytes beside them;
// - ASCII strings (FW revisions) end at the first NUL; other non-printable bytes show as \xNN;
// - a payload shorter than its layout decodes the fields that fit and adds "truncated": true;
//   bytes past a fixed layout are counted in "trailing_bytes".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mbox/mbox_script.h"

namespace pnm::sw::mbox {

// True for the opcodes decode_output() knows: every command the firmware implements.
bool decodable(uint16_t opcode);

// The output payload of a successful `opcode` as a JSON object ({} for commands without output);
// a null json (is_null()) for an opcode it does not know. Get Log's output can only be decoded
// with the request (which log, from which offset): this overload shows it as raw data.
nlohmann::json decode_output(uint16_t opcode, const std::vector<uint8_t>& out);
// As above, with the command's input payload: Get Log from the CEL decodes into entries.
nlohmann::json decode_output(uint16_t opcode, const std::vector<uint8_t>& out,
                             const std::vector<uint8_t>& in);

// One compact JSON object, no newline:
//   {"line":3,"opcode":"0x4000","opcode_name":"Identify Memory Device","return_code":0,
//    "return_name":"Success","payload_hex":"504e4d...","decoded":{...}}
// "decoded" only when return_code is Success and the opcode is decodable. payload_hex is the
// output payload in wire byte order, lowercase.
std::string result_line(const ScriptCommand& cmd, uint16_t return_code,
                        const std::vector<uint8_t>& out);

// The line for a command the device never answered: line, opcode, opcode_name and
// "error": "timeout: no answer within <timeout_ms> ms".
std::string timeout_line(const ScriptCommand& cmd, double timeout_ms);

// "0x4000" style (4 upper-case hex digits), as docs/FIRMWARE.md writes opcodes.
std::string opcode_string(uint16_t opcode);
// Lowercase contiguous hex of `bytes`, in order.
std::string hex_string(const std::vector<uint8_t>& bytes);

} // namespace pnm::sw::mbox
