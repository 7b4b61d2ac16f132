// The well-log U-Net's training step, ember vs LibTorch in the same run: the same model
// (nn/unet.h, base width 16), loss (weighted cross-entropy + soft Dice), AdamW, batch and
// threads. Shapes:
//   batch 1 at 1,600 x 80    the binary set's widest raster at the CPU scale (1/8)
//   batch 16 at 800 x 64     a bucketed batch of the multiclass set at the CPU scale
//   --full-scale: batch 1 at 12,800 x 640, the widest full-scale raster: time and peak memory
// Each measurement runs in a child process of its own (this program again), so its peak memory
// (the kernel's high-water mark of resident memory, VmHWM) and the allocators' caches belong to
// one library and one shape alone; ember's child also reports the peak bytes its tensors held.
//
//   ./build/bench/unet_vs_peer [--steps N] [--threads N] [--full-scale]
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/ember.h"
#include "core/host_allocator.h"
#include "unet_step_peer.h"

using namespace ember;

namespace {

struct Settings {
  int steps = -1;  // -1: 5, or 1 at full scale
  int threads = 2;
  bool full_scale = false;
  // In a child: which library and shape to measure.
  std::string child;
  UNetStepShape shape{1, 80, 1600, 2};
};

// The command line (CLI11): --help prints it and exits 0. --child and the shape flags are how
// the program starts its own measuring children.
Settings parse(int argc, char** argv) {
  Settings s;
  CLI::App app{"The well-log U-Net's training step, ember vs LibTorch", "unet_vs_peer"};
  app.add_option("--steps", s.steps, "timed steps per shape (default 5, 1 at full scale)");
  app.add_option("--threads", s.threads, "compute threads")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_flag("--full-scale", s.full_scale, "batch 1 at 12,800 x 640, with peak memory");
  app.add_option("--child", s.child, "(internal) measure one library: ember or torch")->group("");
  app.add_option("--batch", s.shape.batch)->group("");
  app.add_option("--height", s.shape.height)->group("");
  app.add_option("--width", s.shape.width)->group("");
  app.add_option("--classes", s.shape.classes)->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    std::exit(app.exit(error));
  }
  return s;
}

// The kernel's high-water mark of this process's resident memory, in MiB.
double peak_resident_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024;
  }
  return 0;
}

// A child: `steps` steps after one warm-up step (the first touch of every buffer); prints the
// median step time and the peaks on one line for the parent.
int run_child(const Settings& s) {
  const UNetStepShape& shape = s.shape;
  Generator generator(7);
  const Tensor images = rand({shape.batch, 1, shape.height, shape.width}, {}, generator);
  Tensor labels = (rand({shape.batch, shape.height, shape.width}, {}, generator) * static_cast<double>(shape.classes))
                      .to(DType::i64);
  labels.slice(2, shape.width - 16, shape.width).fill_(-100);  // the right edge is padding
  std::unique_ptr<UNetStep> step;
  if (s.child == "ember") step = make_ember_unet_step(shape, s.threads);
#ifdef EMBER_BENCH_HAVE_TORCH
  if (s.child == "libtorch") step = make_torch_unet_step(shape, s.threads);
#endif
  EMBER_CHECK(step != nullptr, "unet_vs_peer: no implementation '", s.child, "' in this build");
  std::vector<double> times;
  for (int i = 0; i <= s.steps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    step->run(images.data<float>(), labels.data<std::int64_t>());
    if (i > 0)
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  const double tensors =
      s.child == "ember" ? static_cast<double>(host_memory_stats().peak_allocated_bytes) / (1 << 20) : 0;
  std::printf("RESULT %.3f %.1f %.1f\n", times[times.size() / 2], peak_resident_mib(), tensors);
  return 0;
}

struct Measured {
  bool ok = false;
  double ms = 0, resident_mib = 0, tensor_mib = 0;
};

Measured measure(const char* library, const UNetStepShape& shape, const Settings& s) {
  const std::string command = "/proc/" + std::to_string(::getpid()) + "/exe --child " + library + " --batch " +
                              std::to_string(shape.batch) + " --height " + std::to_string(shape.height) + " --width " +
                              std::to_string(shape.width) + " --classes " + std::to_string(shape.classes) +
                              " --steps " + std::to_string(s.steps) + " --threads " + std::to_string(s.threads) +
                              " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  EMBER_CHECK(pipe != nullptr, "unet_vs_peer: cannot start '", command, "'");
  Measured m;
  char line[4096];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    if (std::sscanf(line, "RESULT %lf %lf %lf", &m.ms, &m.resident_mib, &m.tensor_mib) == 3) {
      m.ok = true;
    } else {
      std::fprintf(stderr, "[%s] %s", library, line);
    }
  }
  pclose(pipe);
  return m;
}

void print_row(const char* name, const UNetStepShape& shape, const Measured& ember, const Measured& torch,
               bool memory) {
  const double pixels = static_cast<double>(shape.batch * shape.height * shape.width);
  auto rate = [&](const Measured& m) { return static_cast<double>(shape.batch) * 1000 / m.ms; };
  std::printf("| %s | %lld x %lld x %lld | %.1f | %.2f |", name, static_cast<long long>(shape.batch),
              static_cast<long long>(shape.height), static_cast<long long>(shape.width), ember.ms, rate(ember));
  if (torch.ok) {
    std::printf(" %.1f | %.2f | %.2fx |", torch.ms, rate(torch), rate(ember) / rate(torch));
  } else {
    std::printf(" %s | | |", torch.ms == 0 ? "not measured" : "failed");
  }
  if (memory) {
    std::printf(" %.0f (tensors %.0f) | %s |", ember.resident_mib, ember.tensor_mib,
                torch.ok ? std::to_string(static_cast<long long>(torch.resident_mib)).c_str() : "-");
  }
  std::printf(" %.2f |\n", ember.ms * 1000 / pixels);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Settings s = parse(argc, argv);
    if (s.steps < 0) s.steps = s.full_scale ? 1 : 5;
    if (!s.child.empty()) return run_child(s);
#ifdef EMBER_BENCH_HAVE_TORCH
    const bool peer = true;
#else
    const bool peer = false;
    std::printf("LibTorch: peer not installed (apt-get install libtorch-dev, then reconfigure)\n");
#endif
    std::printf(
        "U-Net (base 16) training step: cross-entropy + Dice, AdamW; %d threads; median of %d steps after one "
        "warm-up; each in a fresh process\n\n",
        s.threads, s.steps);
    std::printf(
        "| shape | batch x H x W | ember ms/step | ember samples/s | LibTorch ms/step | LibTorch samples/s | "
        "ember / LibTorch |%s ember us/pixel |\n",
        s.full_scale ? " ember peak RSS MiB | LibTorch peak RSS MiB |" : "");
    std::printf("|---|---|---|---|---|---|---|%s---|\n", s.full_scale ? "---|---|" : "");
    struct Row {
      const char* name;
      UNetStepShape shape;
    };
    const std::vector<Row> rows = s.full_scale ? std::vector<Row>{{"binary, full scale", {1, 640, 12800, 2}}}
                                               : std::vector<Row>{{"binary, CPU scale", {1, 80, 1600, 2}},
                                                                  {"multiclass, CPU scale", {16, 64, 800, 6}}};
    for (const Row& row : rows) {
      const Measured ember = measure("ember", row.shape, s);
      const Measured torch = peer ? measure("libtorch", row.shape, s) : Measured{};
      EMBER_CHECK(ember.ok, "unet_vs_peer: the ember step failed for ", row.name);
      print_row(row.name, row.shape, ember, torch, s.full_scale);
    }
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "unet_vs_peer: %s\n", error.what());
    return 2;
  }
}
