// Crash-safe file writes and the clean-up of what a killed writer leaves behind.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/output_file.h"
#include "core/util/process.h"
#include "tests/support/temp_dir.h"

namespace r2q {
namespace {

using namespace std::chrono_literals;

}  // namespace

namespace testing {
namespace {

// Waits (up to 10 s) until the child has exited and is not reaped yet.
bool wait_until_zombie(pid_t child) {
  for (int i = 0; i < 1000; ++i) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == child)
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace
}  // namespace testing

namespace {

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

// Issue 15, item 1: an output that is one of the command's inputs, by any name, is refused before any work.
TEST(OutputFile, AnInputByAnyNameIsRefused) {
  testing::TempDir dir;
  const auto store = dir.write("s.db", "store");
  std::filesystem::create_hard_link(store, dir / "hard.db");
  std::filesystem::create_symlink(store, dir / "soft.db");
  for (const auto& name : {store, dir / "hard.db", dir / "soft.db", dir / "." / "s.db"})
    EXPECT_THROW(OutputFile("-o", name, {store}), InputError) << name;
  for (const char* suffix : {"-wal", "-shm", "-journal"})
    EXPECT_THROW(OutputFile("-o", store.string() + suffix, {store}), InputError) << suffix;
  EXPECT_EQ(testing::read_text(store), "store");
  EXPECT_NO_THROW(OutputFile("-o", dir / "report.md", {store}));
}

TEST(OutputFile, BadPathsAreNamedBeforeAnyWork) {
  testing::TempDir dir;
  auto message = [](const std::filesystem::path& p) {
    try {
      OutputFile("-o", p);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(""), "-o: the output path is empty");
  EXPECT_EQ(message(dir.path()), "-o " + dir.path().string() + ": is a directory; give a file name");
  EXPECT_EQ(message(dir / "sub/"),
            "-o " + (dir / "sub/").string() + ": names a directory (it ends in '/'); give a file name");
  EXPECT_EQ(message(dir / "missing/f"), "-o " + (dir / "missing/f").string() + ": the directory " +
                                            (dir / "missing").string() + " does not exist");
}

TEST(OutputFile, WritesThroughLinksAndIntoStreams) {
  testing::TempDir dir;
  const auto target = dir.write("target.md", "old");
  std::filesystem::create_symlink(target, dir / "link.md");
  OutputFile("-o", dir / "link.md").write([](std::ostream& out) { out << "new"; });
  EXPECT_TRUE(std::filesystem::is_symlink(dir / "link.md"));
  EXPECT_EQ(testing::read_text(target), "new");
  OutputFile fresh("-o", dir / "fresh.md");
  fresh.write([](std::ostream& out) { out << "fresh"; });
  EXPECT_EQ(testing::read_text(dir / "fresh.md"), "fresh");
  OutputFile("-o", "/dev/null").write([](std::ostream& out) { out << "gone"; });
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
  EXPECT_TRUE(OutputFile("-o", "-").is_stdout());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 3);  // no temporaries left
}

TEST(Files, ReadInputFileNamesWhatIsWrong) {
  testing::TempDir dir;
  EXPECT_EQ(read_input_file(dir.write("f", "bytes"), "a file"), "bytes");
  for (const auto& bad : {dir.path(), dir / "missing"}) try {
      read_input_file(bad, "a model file");
      ADD_FAILURE() << bad;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(bad.string() + ": "), std::string::npos) << e.what();
    }
}

// Issue 15, item 5: a holder's process is judged by its state, not its heartbeat: alive, a zombie, gone.
TEST(Process, StateOfLiveZombieAndMissingProcesses) {
  const ProcessState self = process_state(::getpid());
  EXPECT_TRUE(self.exists);
  EXPECT_FALSE(self.zombie);
  ASSERT_TRUE(self.started.has_value());
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(*self.started, now + 2);
  EXPECT_GT(*self.started, now - 3600);  // this test binary started moments ago
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_TRUE(testing::wait_until_zombie(child));
  EXPECT_TRUE(process_state(child).exists);
  EXPECT_TRUE(process_state(child).zombie);
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(process_state(child).exists);
  EXPECT_FALSE(process_state(0).exists);
}

}  // namespace
}  // namespace r2q
