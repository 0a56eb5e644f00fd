// Crash-safe file writes and the clean-up of what a killed writer leaves behind.
#include <gtest/gtest.h>

#include "core/util/error.h"
#include "core/util/files.h"
#include "tests/support/temp_dir.h"

namespace r2q {
namespace {

using namespace std::chrono_literals;

TEST(Files, AtomicWriteReplacesTheFileAndLeavesNoTemporary) {
  testing::TempDir dir;
  const auto file = dir / "model.r2q";
  write_file_atomically(file, "old");
  write_file_atomically(file, "new content");
  EXPECT_EQ(std::filesystem::file_size(file), 11u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
  // A failing writer leaves the old file and no temporary.
  auto failing = [](const std::filesystem::path&) { throw RunError("disk full"); };
  EXPECT_THROW(write_file_atomically(file, failing), RunError);
  EXPECT_EQ(std::filesystem::file_size(file), 11u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(Files, StaleTemporariesOfKilledWritersAreRemovedOnlyWhenOld) {
  testing::TempDir dir;
  const auto old_time = std::filesystem::file_time_type::clock::now() - 2h;
  auto make = [&](const std::string& name, bool old) {
    const auto p = dir.write(name, "x");
    if (old) std::filesystem::last_write_time(p, old_time);
    return p;
  };
  const auto stale = make(".abc.pt.tmp.4242", true);
  const auto recent = make(".abc.pt.tmp.4243", false);  // perhaps a live writer on another host
  const auto finished = make("abc.pt", true);
  const auto not_pid = make(".abc.pt.tmp.x1", true);
  const auto no_dot = make("abc.pt.tmp.12", true);
  EXPECT_EQ(remove_stale_temporaries(dir.path(), 1h), 1);
  EXPECT_FALSE(std::filesystem::exists(stale));
  for (const auto& kept : {recent, finished, not_pid, no_dot})
    EXPECT_TRUE(std::filesystem::exists(kept)) << kept;
  EXPECT_EQ(remove_stale_temporaries(dir / "missing", 1h), 0);
}

}  // namespace
}  // namespace r2q
