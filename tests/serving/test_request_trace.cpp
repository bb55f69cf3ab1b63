// Serving workloads: the shipped Mooncake trace read whole and in part, the
// Azure CSV, seeded synthetic arrivals with the asked-for rate and
// burstiness, lengths refused or capped against a model's context, and every
// kind of bad line named by file and line.
#include "../support/temp_path.h"
#include "serving/request_trace.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

using namespace pnm::serving;

namespace {
const std::string kMooncake = std::string(PNM_SOURCE_DIR) + "/platforms/workloads/mooncake_conversation_trace.jsonl";

std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = pnm::test::temp_path(name);
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::string& path, WorkloadOptions opt = {}) {
  try {
    read_trace(path, opt);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
} // namespace

TEST(Workload, ShippedMooncakeTraceReadsWhole) {
  const std::vector<Request> r = read_trace(kMooncake);
  ASSERT_EQ(r.size(), 12031u);
  EXPECT_EQ(r[0].input_tokens, 6758u);
  EXPECT_EQ(r[0].output_tokens, 500u);
  EXPECT_EQ(r[0].hash_ids.size(), 14u);
  EXPECT_EQ(r[0].source_line, 1u);
  const WorkloadStats w = summarize(r);
  // The trace's README: 12,031 requests over 3,537 s, 36.6% of blocks repeat.
  EXPECT_NEAR(w.duration_ms / 1000, 3537, 1);
  EXPECT_NEAR(w.shared_block_fraction, 0.366, 0.001);
  EXPECT_EQ(w.capped, 0u);
  for (size_t i = 1; i < r.size(); ++i) ASSERT_GE(r[i].arrival_ms, r[i - 1].arrival_ms);
}

TEST(Workload, FirstNAndRateScale) {
  WorkloadOptions o;
  o.first_n = 100;
  const auto base = read_trace(kMooncake, o);
  o.rate_scale = 4;
  const auto fast = read_trace(kMooncake, o);
  ASSERT_EQ(base.size(), 100u);
  ASSERT_EQ(fast.size(), 100u);
  for (size_t i = 0; i < 100; ++i) {
    EXPECT_DOUBLE_EQ(fast[i].arrival_ms * 4, base[i].arrival_ms);
    EXPECT_EQ(fast[i].input_tokens, base[i].input_tokens);
    EXPECT_EQ(fast[i].id, i);
  }
  o.rate_scale = 0;
  EXPECT_THROW(read_trace(kMooncake, o), std::invalid_argument);
}

TEST(Workload, LongRequestsAreRefusedOrCappedNeverSilentlyCut) {
  WorkloadOptions o;
  o.max_context = 8192;
  const std::string e = error_of(kMooncake, o);
  // Line 7 is the first request beyond 8K tokens of prompt + output.
  EXPECT_NE(e.find("mooncake_conversation_trace.jsonl:"), std::string::npos) << e;
  EXPECT_NE(e.find("exceeds the context limit of 8192 tokens"), std::string::npos) << e;
  o.cap_lengths = true;
  const auto r = read_trace(kMooncake, o);
  ASSERT_EQ(r.size(), 12031u);
  size_t capped = 0;
  for (const Request& q : r) {
    ASSERT_LE(q.input_tokens + q.output_tokens, 8192u);
    if (q.capped) {
      ++capped;
      EXPECT_EQ(q.hash_ids.size(), (q.input_tokens + 511) / 512);
    }
  }
  EXPECT_GT(capped, 1000u);
  EXPECT_EQ(summarize(r).capped, capped);
}

TEST(Workload, BadMooncakeLinesAreNamedByFileAndLine) {
  const std::string ok = R"({"timestamp": 0, "input_length": 600, "output_length": 5, "hash_ids": [1, 2]})";
  struct Case {
    const char* line;
    const char* says;
  } cases[] = {
      {R"({"timestamp": 0, "input_length": 600)", "not a JSON object"},
      {R"([1, 2])", "not a JSON object"},
      {R"({"timestamp": 0, "input_length": 600, "output_length": 5})", "'hash_ids' is missing"},
      {R"({"timestamp": 0, "input_length": 600, "output_length": 5, "hash_ids": [1, 2], "x": 1})", "unknown key 'x'"},
      {R"({"timestamp": -1, "input_length": 600, "output_length": 5, "hash_ids": [1, 2]})", "timestamp -1"},
      {R"({"timestamp": 0, "input_length": 600.5, "output_length": 5, "hash_ids": [1, 2]})", "whole numbers"},
      {R"({"timestamp": 0, "input_length": 0, "output_length": 5, "hash_ids": []})", "input_length 0 is outside"},
      {R"({"timestamp": 0, "input_length": 600, "output_length": 5, "hash_ids": [1]})", "1 hash_ids for 600 prompt tokens"},
      {R"({"timestamp": 0, "input_length": 600, "output_length": 5, "hash_ids": [1, -2]})", "non-negative"},
      {R"({"timestamp": "0", "input_length": 600, "output_length": 5, "hash_ids": [1, 2]})", "'timestamp' is missing or not a number"},
  };
  for (const Case& c : cases) {
    const std::string path = write_text("bad.jsonl", ok + "\n" + c.line + "\n");
    const std::string e = error_of(path);
    EXPECT_NE(e.find("bad.jsonl:2: "), std::string::npos) << c.line << " -> " << e;
    EXPECT_NE(e.find(c.says), std::string::npos) << c.line << " -> " << e;
  }
  const std::string late = write_text("late.jsonl",
      R"({"timestamp": 10, "input_length": 600, "output_length": 5, "hash_ids": [1, 2]})" "\n" + ok + "\n");
  EXPECT_NE(error_of(late).find("late.jsonl:2: timestamp 0 is earlier"), std::string::npos) << error_of(late);
  EXPECT_NE(error_of(write_text("empty.jsonl", "\n\n")).find("neither a Mooncake"), std::string::npos);
  EXPECT_NE(error_of("/nonexistent/trace.jsonl").find("cannot open request trace '/nonexistent/trace.jsonl'"), std::string::npos);
}

TEST(Workload, AzureCsvReadsAndRefusesBadRows) {
  const std::string path = write_text("azure.csv",
                                      "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                      "2023-11-16 18:15:46.6805900,374,44\n"
                                      "2023-11-16 18:15:50.9951690,396,109\n"
                                      "2023-11-17 00:00:00,879,8\n");
  const auto r = read_trace(path);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].arrival_ms, 0);
  EXPECT_NEAR(r[1].arrival_ms, 4314.579, 1e-3);
  EXPECT_NEAR(r[2].arrival_ms, ((5 * 60 + 44) * 60 + 13.3194100) * 1000, 1e-3); // across midnight
  EXPECT_EQ(r[1].input_tokens, 396u);
  EXPECT_EQ(r[1].output_tokens, 109u);
  EXPECT_TRUE(r[0].hash_ids.empty());
  const std::string bad_time = write_text("bad_time.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n18:15:46,374,44\n");
  EXPECT_NE(error_of(bad_time).find("bad_time.csv:2: timestamp '18:15:46'"), std::string::npos) << error_of(bad_time);
  const std::string bad_num = write_text("bad_num.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,37x,44\n");
  EXPECT_NE(error_of(bad_num).find("bad_num.csv:2: ContextTokens '37x'"), std::string::npos) << error_of(bad_num);
  const std::string fields = write_text("fields.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,374\n");
  EXPECT_NE(error_of(fields).find("fields.csv:2: 2 fields"), std::string::npos) << error_of(fields);
  const std::string header = write_text("header.csv", "TIMESTAMP,Context,Generated\n");
  EXPECT_NE(error_of(header).find("header.csv:1: header must be TIMESTAMP,ContextTokens,GeneratedTokens"), std::string::npos) << error_of(header);
  EXPECT_THROW(read_azure_csv(header), std::runtime_error);
}

TEST(Workload, SyntheticArrivalsHaveTheAskedRateAndBurstiness) {
  SyntheticOptions s;
  s.rate_per_s = 5;
  s.requests = 20000;
  s.seed = 3;
  for (double cv : {1.0, 2.0}) {
    s.arrivals = cv == 1.0 ? SyntheticOptions::Arrivals::poisson : SyntheticOptions::Arrivals::gamma;
    s.gamma_cv = cv;
    const auto r = synthesize(s);
    ASSERT_EQ(r.size(), 20000u);
    double sum = 0, sq = 0;
    for (size_t i = 1; i < r.size(); ++i) {
      const double g = r[i].arrival_ms - r[i - 1].arrival_ms;
      sum += g;
      sq += g * g;
    }
    const double n = r.size() - 1, mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
    EXPECT_NEAR(mean, 200.0, 200.0 * 0.04) << "cv " << cv;
    EXPECT_NEAR(sd / mean, cv, cv * 0.08) << "cv " << cv;
  }
  // Seeded: the same workload again; another seed, another one.
  EXPECT_EQ(synthesize(s)[100].arrival_ms, synthesize(s)[100].arrival_ms);
  SyntheticOptions t = s;
  t.seed = 4;
  EXPECT_NE(synthesize(t)[100].arrival_ms, synthesize(s)[100].arrival_ms);
  // Lengths drawn from a trace are pairs that occur in it.
  WorkloadOptions first;
  first.first_n = 50;
  const auto src = read_trace(kMooncake, first);
  s.lengths_from = &src;
  s.requests = 200;
  for (const Request& q : synthesize(s)) {
    const bool found = std::any_of(src.begin(), src.end(), [&](const Request& p) {
      return p.input_tokens == q.input_tokens && p.output_tokens == q.output_tokens;
    });
    EXPECT_TRUE(found);
  }
  SyntheticOptions bad;
  bad.rate_per_s = 0;
  EXPECT_THROW(synthesize(bad), std::invalid_argument);
  bad.rate_per_s = std::nan("");
  EXPECT_THROW(synthesize(bad), std::invalid_argument);
  bad = SyntheticOptions{};
  bad.arrivals = SyntheticOptions::Arrivals::gamma;
  bad.gamma_cv = 0;
  EXPECT_THROW(synthesize(bad), std::invalid_argument);
}

TEST(Workload, DevicesAndFoldersAreRefusedBeforeReading) {
  auto error_of = [](const std::string& path) {
    try {
      pnm::serving::read_trace(path);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // /dev/zero would never end; a folder reads as empty.
  EXPECT_NE(error_of("/dev/zero").find("request trace '/dev/zero': is not a regular file"), std::string::npos);
  EXPECT_NE(error_of("/tmp").find("is a directory"), std::string::npos);
}
