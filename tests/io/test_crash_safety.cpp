// Saved files survive anything: a writer SIGKILLed at random moments (inside the write, too)
// never leaves a torn or lost file, and a full disk is a clear Error that keeps the old file
// (a Trainer on a full disk: tests/trainer/test_disk_full.cpp).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "distributed/temporary_directory.h"
#include "file_size_limit.h"
#include "helpers.h"
#include "io/safetensors.h"

using namespace ember;
using namespace ember::testing;

namespace {

namespace fs = std::filesystem;

// A 2 MiB payload of one value: a torn file would mix two versions (or not parse at all).
io::NamedTensors version(double value) { return {{"payload", full({512, 1024}, value)}}; }

// The one value of the file at `path`, after checking that every element holds it.
double version_in(const std::string& path) {
  const io::SafetensorsFile file = io::load_safetensors(path);
  REQUIRE(file.tensors.size() == 1);
  const std::vector<float> values = file.tensors[0].second.to_vector<float>();
  REQUIRE(values.size() == 512u * 1024u);
  REQUIRE(std::count(values.begin(), values.end(), values[0]) == static_cast<std::ptrdiff_t>(values.size()));
  return values[0];
}

std::size_t temporaries_in(const std::string& directory) {
  std::size_t count = 0;
  for (const auto& entry : fs::directory_iterator(directory)) count += entry.path().string().find(".tmp.") != std::string::npos;
  return count;
}

}  // namespace

TEST_CASE("a writer SIGKILLed at random moments never leaves a torn or lost checkpoint") {
  const distributed::TemporaryDirectory dir("ember-crash");
  const std::string path = dir.path() + "/last.safetensors";
  io::save_safetensors(path, version(0));
  std::mt19937 random(7);
  double newest = 0;
  constexpr int kTrials = 40;
  int killed_inside_a_write = 0;
  for (int trial = 1; trial <= kTrials; ++trial) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // saves versions newest + 1, newest + 2, ... until killed
      set_num_threads(1);  // no OpenMP team in a forked child
      for (double next = newest + 1;; ++next) io::save_safetensors(path, version(next));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 40000)(random)));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    killed_inside_a_write += temporaries_in(dir.path()) > 0;
    // The file holds one whole version, never an older one than before the trial.
    const double found = version_in(path);
    CHECK(found >= newest);
    newest = found;
  }
  MESSAGE(kTrials << " kills, " << killed_inside_a_write << " inside a write; newest version " << newest);
  // A killed writer's temporary is never read, and the next save removes it.
  io::save_safetensors(path, version(newest + 1));
  CHECK(temporaries_in(dir.path()) == 0);
  CHECK(version_in(path) == newest + 1);
}

TEST_CASE("a full disk (a file-size limit) fails the save with the path and the reason and keeps the old file") {
  const distributed::TemporaryDirectory dir("ember-full");
  const std::string path = dir.path() + "/last.safetensors";
  io::save_safetensors(path, version(1));
  int pipe_ends[2];
  REQUIRE(::pipe(pipe_ends) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    set_num_threads(1);  // no OpenMP team in a forked child
    const FileSizeLimit full(64 * 1024);  // smaller than the 2 MiB payload
    std::string message = "saved without an error";
    try {
      io::save_safetensors(path, version(2));
    } catch (const Error& error) {
      message = error.what();
    }
    (void)!::write(pipe_ends[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(pipe_ends[1]);
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_ends[0], buffer, sizeof buffer)) > 0;) message.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_ends[0]);
  ::waitpid(child, nullptr, 0);
  CHECK(contains(message, "save_safetensors: writing " + path));
  CHECK(contains(message, "File too large"));
  CHECK(contains(message, "any previous " + path + " is untouched"));
  CHECK(version_in(path) == 1);
  CHECK(temporaries_in(dir.path()) == 0);
}
