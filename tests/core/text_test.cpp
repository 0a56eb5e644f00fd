// Text helpers: shortest round-trip decimals (metric names), suggestions, hashing, atomic writes.
#include <gtest/gtest.h>

#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/sha256.h"
#include "core/util/text.h"
#include "tests/support/temp_dir.h"

namespace r2q {
namespace {

TEST(Text, ShortestDecimalRoundTrips) {
  EXPECT_EQ(shortest_decimal(0.03), "0.03");
  EXPECT_EQ(shortest_decimal(0.1), "0.1");
  EXPECT_EQ(shortest_decimal(0.0), "0");
  EXPECT_EQ(shortest_decimal(-0.0), "0");
  EXPECT_EQ(shortest_decimal(8.0 / 255.0), "0.03137254901960784");
  EXPECT_EQ(shortest_decimal(0.031373), "0.031373");
  EXPECT_EQ(shortest_decimal(1e-5), "1e-05");
}

TEST(Text, ClosestMatchFindsTyposOnly) {
  EXPECT_EQ(closest_match("resnet2O", {"lenet", "resnet20"}), "resnet20");
  EXPECT_EQ(closest_match("vgg16", {"lenet", "resnet20"}), "");
}

TEST(Text, JsonDepthCountsBracketsOutsideStrings) {
  EXPECT_EQ(json_depth("1"), 0);
  EXPECT_EQ(json_depth(R"({"a": [1, {"b": []}]})"), 4);
  EXPECT_EQ(json_depth(R"({"a": "[[[[\"{{"})"), 1);  // brackets and an escaped quote inside a string
  EXPECT_EQ(json_depth(std::string(100000, '[') + std::string(100000, ']')), 100000);
}

// Issue 20: a value echoed in a message stays one unambiguous piece of one line.
TEST(Text, QuotedValueEscapesAsJsonDoes) {
  EXPECT_EQ(quoted_value("r2q"), "\"r2q\"");
  EXPECT_EQ(quoted_value("a\nb\tc\rd"), R"("a\nb\tc\rd")");
  EXPECT_EQ(quoted_value("say \"hi\" \\ bye"), R"("say \"hi\" \\ bye")");
  EXPECT_EQ(quoted_value(std::string("\x01\x1f\x7f", 3)), R"("\u0001\u001f\u007f")");
  EXPECT_EQ(quoted_value("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 passes through
  EXPECT_EQ(quoted_value(""), "\"\"");
}

// Issue 15: LibTorch's c10::Error appends a stack trace to its message; users and the store see the cause.
TEST(Text, OneLineDropsLibTorchTracesAndJoinsLines) {
  EXPECT_EQ(one_line("plain"), "plain");
  EXPECT_EQ(
      one_line("one of the variables needed for gradient computation has been modified\nException raised "
               "from unpack at ../torch/csrc/autograd/saved_variable.cpp:188 (most recent call first):\n"
               "frame #0: c10::Error::Error(...) + 0x3b (0x7f in /usr/lib/libc10.so)\n"),
      "one of the variables needed for gradient computation has been modified");
  EXPECT_EQ(one_line("first\n\nsecond  \n"), "first; second");
}

TEST(Text, Sha256KnownAnswer) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Files, AtomicWriteReplacesContentAndLeavesNoTemporaries) {
  testing::TempDir dir;
  auto path = dir / "out.txt";
  write_file_atomically(path, "first");
  write_file_atomically(path, "second");
  EXPECT_EQ(testing::read_text(path), "second");
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1);
}

}  // namespace
}  // namespace r2q
