// Mailbox script parser (sw/mbox/mbox_script.h): the accepted forms, and every error naming the
// right origin:line and what is wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../support/temp_path.h"
#include "mbox/mbox_script.h"

using pnm::sw::mbox::kMaxPayloadBytes;
using pnm::sw::mbox::load_script;
using pnm::sw::mbox::parse_script;
using pnm::sw::mbox::ScriptCommand;
using pnm::sw::mbox::ScriptError;
using Bytes = std::vector<uint8_t>;

namespace {

std::vector<ScriptCommand> parse(const std::string& text) {
  std::istringstream in(text);
  return parse_script(in, "test.mbx");
}

// The error of parsing `text`: fails the test if it parses.
ScriptError parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const ScriptError& e) {
    return e;
  }
  ADD_FAILURE() << "parsed without error: " << text;
  return ScriptError("none");
}

} // namespace

TEST(mboxScript, AcceptsEveryDocumentedForm) {
  const auto cmds = parse("# whole-line comment\n"
                          "\n"
                          "4000\n"                          // 3: no payload, no 0x
                          "0x4200   # trailing comment\n"   // 4
                          "  0X0301 0000100000000000\n"     // 5: contiguous payload
                          "4301 00 10 00 00 00 00 00 00\n"  // 6: bytes
                          "c001\t0700 0000 0000 0000 0000 4000 0000 0000 0000 8000 0000 0000\n"
                          "   \t  \n"                        // 8: blank
                          "0xFFFF 0a#comment right after the payload\n" // 9
                          "00004000\n");                                // 10: leading zeros
  ASSERT_EQ(cmds.size(), 7u);
  EXPECT_EQ(cmds[0].line, 3u);
  EXPECT_EQ(cmds[0].opcode, 0x4000);
  EXPECT_TRUE(cmds[0].payload.empty());
  EXPECT_EQ(cmds[1].line, 4u);
  EXPECT_EQ(cmds[1].opcode, 0x4200);
  EXPECT_TRUE(cmds[1].payload.empty());
  EXPECT_EQ(cmds[2].line, 5u);
  EXPECT_EQ(cmds[2].opcode, 0x0301);
  // the hex is the wire byte order: little-endian 0x100000 is 00 00 10 00 ...
  EXPECT_EQ(cmds[2].payload, (Bytes{0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00}));
  EXPECT_EQ(cmds[3].line, 6u);
  EXPECT_EQ(cmds[3].opcode, 0x4301);
  EXPECT_EQ(cmds[3].payload, (Bytes{0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
  EXPECT_EQ(cmds[4].line, 7u);
  EXPECT_EQ(cmds[4].opcode, 0xC001);
  ASSERT_EQ(cmds[4].payload.size(), 0x18u);
  EXPECT_EQ(cmds[4].payload[0], 0x07);
  EXPECT_EQ(cmds[4].payload[0x0A], 0x40);
  EXPECT_EQ(cmds[4].payload[0x12], 0x80);
  EXPECT_EQ(cmds[5].line, 9u);
  EXPECT_EQ(cmds[5].opcode, 0xFFFF);
  EXPECT_EQ(cmds[5].payload, Bytes{0x0A});
  EXPECT_EQ(cmds[6].line, 10u);
  EXPECT_EQ(cmds[6].opcode, 0x4000);
}

TEST(mboxScript, CrlfAndMissingFinalNewline) {
  const auto cmds = parse("4000\r\n0300 # x\r\n\r\n4301 AbCdEf01\r\n0200");
  ASSERT_EQ(cmds.size(), 4u);
  EXPECT_EQ(cmds[2].line, 4u);
  EXPECT_EQ(cmds[2].payload, (Bytes{0xAB, 0xCD, 0xEF, 0x01}));
  EXPECT_EQ(cmds[3].line, 5u);
  EXPECT_EQ(cmds[3].opcode, 0x0200);
}

TEST(mboxScript, EmptyOrCommentOnlyScriptHasNoCommands) {
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse("# nothing\n\n   # here\n").empty());
}

TEST(mboxScript, BadOpcodeNamesTokenCharacterAndColumn) {
  const ScriptError e = parse_error("4000\n# ok\n0x1G0000 00\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_STREQ(e.what(), "test.mbx:3: bad opcode \"0x1G0000\": 'G' at column 4 is not a hex digit");
  EXPECT_EQ(parse_error("  4z00\n").what(),
            std::string("test.mbx:1: bad opcode \"4z00\": 'z' at column 4 is not a hex digit"));
  EXPECT_EQ(parse_error("0x\n").what(), std::string("test.mbx:1: bad opcode \"0x\": no hex digits"));
  EXPECT_EQ(parse_error("4000\n-1\n").line(), 2u);
  // a control byte is shown escaped, not copied into the message
  EXPECT_NE(std::string(parse_error("40\x01" "0\n").what()).find("'\\x01' at column 3"),
            std::string::npos);
}

TEST(mboxScript, OpcodeAbove16BitsIsRejected) {
  const ScriptError e = parse_error("4000\n4000\n0x10000\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_STREQ(e.what(), "test.mbx:3: opcode \"0x10000\" is larger than 0xFFFF (opcodes are 16 bits)");
  EXPECT_EQ(parse_error("123456789abcdef0123\n").line(), 1u) << "no overflow on long tokens";
  EXPECT_EQ(parse("0000000000ffff\n").at(0).opcode, 0xFFFF) << "value, not digit count, counts";
}

TEST(mboxScript, OddNumberOfHexDigits) {
  EXPECT_STREQ(parse_error("4000 000\n").what(),
               "test.mbx:1: odd number of hex digits (3) in payload group \"000\" at column 6");
  // every group is checked on its own
  const ScriptError e = parse_error("4000\n\n4301 00 0 00\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_NE(std::string(e.what()).find("odd number of hex digits (1)"), std::string::npos);
  EXPECT_NE(std::string(e.what()).find("column 9"), std::string::npos);
  // groups of odd length are wrong even when the line's total is even
  EXPECT_EQ(parse_error("4301 000 0\n").line(), 1u);
}

TEST(mboxScript, NonHexPayloadCharacterAndItsColumn) {
  EXPECT_STREQ(parse_error("4000\n4301 00 1g\n").what(),
               "test.mbx:2: non-hex character 'g' at column 10 in payload");
  // a 0x-prefixed group gets a hint: payloads are bytes in wire order, not numbers
  const std::string msg = parse_error("4301 0x1000\n").what();
  EXPECT_NE(msg.find("non-hex character 'x' at column 7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("wire order"), std::string::npos) << msg;
  EXPECT_NE(std::string(parse_error("4301 00,01\n").what()).find("',' at column 8"),
            std::string::npos);
}

TEST(mboxScript, PayloadUpTo1MiB) {
  const std::string max_hex(kMaxPayloadBytes * 2, 'a');
  const auto cmds = parse("4000\n4301 " + max_hex + "\n");
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[1].payload.size(), kMaxPayloadBytes);
  EXPECT_EQ(cmds[1].payload.back(), 0xAA);
  // one byte more, even split over groups
  const ScriptError e = parse_error("4000\n4000\n4301 " + max_hex + " 00\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_STREQ(e.what(),
               "test.mbx:3: payload longer than 1048576 bytes (1 MiB, the largest CXL mailbox payload)");
}

TEST(mboxScript, BadLineFortyStopsTheWholeScript) {
  std::string text;
  for (int i = 1; i < 40; ++i) {
    text += "4000\n";
  }
  text += "4000 0\n4000\n";
  // parse_script returns all commands or none: a runner that parses first runs nothing
  const ScriptError e = parse_error(text);
  EXPECT_EQ(e.line(), 40u);
  EXPECT_EQ(std::string(e.what()).rfind("test.mbx:40: ", 0), 0u);
}

TEST(mboxScript, LoadScriptFromFile) {
  const std::string path = pnm::test::temp_path("script.mbx");
  {
    std::ofstream f(path, std::ios::binary);
    f << "# identify, then health\r\n4000\r\n4200\r\n";
  }
  const auto cmds = load_script(path);
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0].line, 2u);
  EXPECT_EQ(cmds[1].opcode, 0x4200);
  {
    std::ofstream f(path, std::ios::binary);
    f << "4000\nnope\n";
  }
  try {
    load_script(path);
    ADD_FAILURE() << "bad script loaded";
  } catch (const ScriptError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ":2: bad opcode \"nope\"", 0), 0u) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(mboxScript, LoadScriptErrorsNameThePath) {
  const std::string missing = pnm::test::temp_path("no_such_script.mbx");
  try {
    load_script(missing);
    ADD_FAILURE() << "missing file loaded";
  } catch (const ScriptError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cannot open mailbox script '" + missing + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
    EXPECT_EQ(e.line(), 0u);
  }
  const std::string dir = pnm::test::temp_path("script_dir");
  std::filesystem::create_directory(dir);
  try {
    load_script(dir);
    ADD_FAILURE() << "a directory loaded as an empty script";
  } catch (const ScriptError& e) {
    EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
  }
  std::filesystem::remove(dir);
}

TEST(mboxScript, AByteOrderMarkIsNotACommand) {
  std::istringstream in("\xEF\xBB\xBF" "4000\n# a comment\n4200\n");
  const auto cmds = parse_script(in, "bom.mbox");
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0].opcode, 0x4000);
  EXPECT_EQ(cmds[1].opcode, 0x4200);
}
