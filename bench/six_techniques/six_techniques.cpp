// The six speed techniques of a widely read account of fast training with a Lightning-style
// trainer, each measured on ember's two workloads on this machine, alone and all together:
//   1. DataLoader workers (and pinned memory on a GPU)   4. early stopping on the validation
//   2. distributed data-parallel (DDP)                       metric, with a patience
//   3. mixed precision (bf16-mixed on the CPU)            5. sharded training (ZeRO-1, ZeRO-2)
//                                                         6. evaluation without the autograd graph
// The baseline: no loader workers, f32, one process with every core, a fixed number of epochs,
// validation that records the graph. Every row is one training run of the example program
// (fashion_mnist, well_log train) in a process of its own, 2-rank rows through ember-run with
// the cores split between the ranks (one compute thread each); each run writes its
// run_report.rank<R>.json, which this program reads. Technique 6 also gets the largest
// evaluation batch within a memory budget, measured here. The table is printed and written as
// markdown; with gnuplot, a bar chart of the speed-ups beside it.
//
//   ./build/bench/six_techniques [--workloads cnn,unet] [--patience 10] [--markdown FILE] [--quick]
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "core/ember.h"
#include "evaluation_memory.h"
#include "io/atomic_file.h"
#include "nn/models.h"
#include "nn/unet.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

struct Settings {
  std::vector<std::string> workloads = {"cnn", "unet"};
  std::int64_t patience = 10;       // the account's example: 10 evaluations
  std::int64_t eval_budget_mib = 1024;
  std::string markdown = "bench/results/six_techniques-cpu.md";
  std::string work = "";            // where the runs write (default: a folder under /tmp)
  std::string build = "";           // the build folder holding examples/ and tools/
  bool quick = false;               // tiny runs: checks that the program works, measures nothing
};

// What one training run is given: flags by name (a row replaces some) and how many ranks.
using Flags = std::map<std::string, std::string>;

struct Row {
  std::string technique;
  Flags flags;     // on top of the workload's baseline flags
  int ranks = 1;   // 2: through ember-run, one compute thread per rank
};

struct Workload {
  std::string key, title;
  std::vector<std::string> program;  // the example and its subcommand
  Flags baseline;
  // Under 2 ranks each rank sees half the examples per epoch (DistributedSampler): the CNN's
  // epochs are cut by a batch count per rank, which is halved so both runs see the same examples.
  std::string per_rank_batches_flag;
  std::string result, result_title;  // the run report's final figure: test accuracy or IoU
};

// One run's figures, from its ranks' reports.
struct Measured {
  nlohmann::json rank0;
  std::vector<double> peak_resident, optimizer_state;  // per rank
};

Settings parse(int argc, char** argv) {
  Settings s;
  CLI::App app{"The six speed techniques measured on the Fashion-MNIST CNN and the well-log U-Net", "six_techniques"};
  app.add_option("--workloads", s.workloads, "cnn, unet or both")->delimiter(',')->check(CLI::IsMember({"cnn", "unet"}))
      ->capture_default_str();
  app.add_option("--patience", s.patience, "early stopping's patience in validations")->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--eval-budget-mib", s.eval_budget_mib, "memory budget of the largest evaluation batch")
      ->check(CLI::Range(16, 1 << 20))->capture_default_str();
  app.add_option("--markdown", s.markdown, "where the markdown table goes (a PNG chart beside it)")->capture_default_str();
  app.add_option("--work", s.work, "folder for the runs' outputs (default: a fresh one under the temp folder)");
  app.add_option("--build", s.build, "build folder with examples/ and tools/ (default: the one this program is in)");
  app.add_flag("--quick", s.quick, "tiny runs that check the program end to end (the figures mean nothing)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    std::exit(app.exit(error));
  }
  return s;
}

std::vector<Workload> workloads(const Settings& s) {
  const std::string examples = s.build + "/examples/";
  Workload cnn{.key = "cnn",
               .title = "Fashion-MNIST CNN, batch 64",
               .program = {examples + "fashion_mnist"},
               .baseline = {{"--max-epochs", s.quick ? "3" : "20"},
                            {"--limit-train-batches", s.quick ? "4" : "50"},
                            {"--limit-val-batches", s.quick ? "1" : "2"},
                            {"--epoch-test", "0"}},
               .per_rank_batches_flag = "--limit-train-batches",
               .result = "test_acc",
               .result_title = "test accuracy"};
  Workload unet{.key = "unet",
                .title = "well-log U-Net, binary, batch 1, scale 1/8",
                .program = {examples + "well_log", "train"},
                .baseline = {{"--task", "binary"},
                             {"--instances", s.quick ? "2" : "16"},
                             {"--max-epochs", s.quick ? "3" : "8"},
                             {"--val-instances", s.quick ? "2" : "8"},
                             {"--test-instances", s.quick ? "2" : "32"},
                             {"--scale", s.quick ? "0.03" : "0.125"},
                             {"--previews", "0"}},
                .per_rank_batches_flag = "",  // its epochs are whole passes over the rasters
                .result = "test_iou_curve",
                .result_title = "test curve IoU"};
  for (Workload* w : {&cnn, &unet}) {
    w->baseline.insert({{"--workers", "0"}, {"--threads", "2"}, {"--patience", "0"}, {"--eval-no-grad", "0"},
                        {"--precision", "32"}, {"--seed", "0"}});
  }
  std::vector<Workload> chosen;
  for (const std::string& key : s.workloads) chosen.push_back(key == "cnn" ? cnn : unet);
  return chosen;
}

constexpr const char* kAllRow = "all: workers 1 per rank";

std::vector<Row> rows(const Settings& s) {
  const std::string patience = std::to_string(s.patience);
  return {{"baseline", {}},
          {"1. loader workers 1", {{"--workers", "1"}}},
          {"1. loader workers 2", {{"--workers", "2"}}},
          {"2. DDP, 2 ranks", {{"--strategy", "ddp"}}, 2},
          {"3. bf16-mixed", {{"--precision", "bf16-mixed"}}},
          {"4. early stopping, patience " + patience, {{"--patience", patience}}},
          {"5. ZeRO-1, 2 ranks", {{"--strategy", "zero1"}}, 2},
          {"5. ZeRO-2, 2 ranks", {{"--strategy", "zero2"}}, 2},
          {"6. no_grad evaluation", {{"--eval-no-grad", "1"}}},
          {std::string(kAllRow) + ", ZeRO-2, bf16-mixed, early stopping, no_grad",
           {{"--workers", "1"}, {"--strategy", "zero2"}, {"--precision", "bf16-mixed"}, {"--patience", patience},
            {"--eval-no-grad", "1"}},
           2},
          // The baseline once more, last: how far two identical runs differ on this machine.
          {"baseline, again (run-to-run noise)", {}}};
}

// The rows whose speed-ups the "all" row should compound, if the account is right (named by
// row_key).
const std::vector<std::string> kCombined = {"1. loader workers 1", "5. ZeRO-2", "3. bf16-mixed",
                                            "4. early stopping", "6. no_grad evaluation"};

// A row's name up to its first comma: "5. ZeRO-2, 2 ranks" -> "5. ZeRO-2".
std::string row_key(const std::string& technique) { return technique.substr(0, technique.find(',')); }

Measured run(const Settings& s, const Workload& w, const Row& row, const std::string& out) {
  Flags flags = w.baseline;
  for (const auto& [name, value] : row.flags) flags[name] = value;
  if (row.ranks > 1) {
    flags["--threads"] = "1";
    if (!w.per_rank_batches_flag.empty()) {
      flags[w.per_rank_batches_flag] = std::to_string(std::stoll(flags[w.per_rank_batches_flag]) / row.ranks);
    }
  }
  flags["--out"] = out;
  std::vector<std::string> command;
  if (row.ranks > 1) command = {s.build + "/tools/ember-run", "--nproc", std::to_string(row.ranks)};
  command.insert(command.end(), w.program.begin(), w.program.end());
  for (const auto& [name, value] : flags) command.insert(command.end(), {name, value});
  fs::remove_all(out);
  fs::create_directories(out);
  const std::string log = out + ".log";
  const int exit_code = six_techniques::run_child(command, log);
  EMBER_CHECK(exit_code == 0, "'", row.technique, "' on the ", w.key, " failed (exit ",
              exit_code, "); the end of ", log, ":\n", six_techniques::log_tail(log, 15));
  Measured measured;
  for (int rank = 0; rank < row.ranks; ++rank) {
    std::ifstream file(out + "/run_report.rank" + std::to_string(rank) + ".json");
    EMBER_CHECK(file.good(), "the run wrote no report for rank ", rank, " in ", out);
    const nlohmann::json report = nlohmann::json::parse(file);
    if (rank == 0) measured.rank0 = report;
    measured.peak_resident.push_back(report.at("peak_resident_bytes").get<double>());
    measured.optimizer_state.push_back(report.at("optimizer_state_bytes").get<double>());
  }
  return measured;
}

// The baseline's command line as a user would type it (programs named relative to the build).
std::string baseline_command(const Workload& w) {
  std::string text = fs::path(w.program.front()).filename().string();
  for (std::size_t k = 1; k < w.program.size(); ++k) text += " " + w.program[k];
  for (const auto& [name, value] : w.baseline) text += " " + name + " " + value;
  return text;
}

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// Per-rank figures in MiB, "a / b" for two ranks.
std::string per_rank_mib(const std::vector<double>& bytes, const char* pattern) {
  std::string text;
  for (double b : bytes) text += (text.empty() ? "" : " / ") + format(pattern, mib(b));
  return text;
}

std::string table_header(const Workload& w) {
  return "| technique | fit s | speed-up | train samples/s | epochs | s to best val | peak RSS MiB / rank | "
         "optimizer state MiB / rank | s / validation | validation peak MiB | " + w.result_title + " |\n"
         "|---|---|---|---|---|---|---|---|---|---|---|\n";
}

std::string table_row(const Row& row, const Measured& m, double baseline_fit, const Workload& w) {
  const nlohmann::json& r = m.rank0;
  const double fit = r.at("fit_seconds").get<double>();
  std::ostringstream line;
  line << "| " << row.technique << " | " << format("%.1f", fit) << " | " << format("%.2fx", baseline_fit / fit)
       << " | " << format(r.at("samples_per_second").get<double>() < 100 ? "%.2f" : "%.0f", r.at("samples_per_second").get<double>()) << " | "
       << format("%.0f", r.at("epochs").get<double>()) << " | " << format("%.1f", r.value("seconds_to_best", 0.0))
       << " | " << per_rank_mib(m.peak_resident, "%.0f") << " | " << per_rank_mib(m.optimizer_state, "%.2f") << " | "
       << format("%.2f", r.at("seconds_per_validation").get<double>()) << " | "
       << format("%.0f", mib(r.at("validation_peak_extra_bytes").get<double>())) << " | "
       << format("%.4f", r.at(w.result).get<double>()) << " |\n";
  return line.str();
}

// Technique 6's budget figure for one workload: the model in eval mode on a batch of the
// workload's examples (random values: memory and time depend only on the shape).
std::string evaluation_batches(const Settings& s, const Workload& w) {
  std::shared_ptr<nn::Module> model;
  Shape example;
  std::int64_t first = 1;
  if (w.key == "cnn") {
    model = nn::models::fashion_mnist_cnn();
    example = {1, 28, 28};
    first = 32;
  } else {
    model = std::make_shared<nn::UNet>(nn::UNetOptions{});
    example = s.quick ? Shape{1, 32, 96} : Shape{1, 80, 1600};  // the widest raster at the scale
  }
  model->eval();
  Generator generator(0);
  auto forward = [&](std::int64_t batch) {
    std::vector<std::int64_t> dims{batch};
    for (std::int64_t d : example) dims.push_back(d);
    return (*model)(rand(Shape(dims), {}, generator));
  };
  const std::int64_t budget = (s.quick ? 64 : s.eval_budget_mib) * 1024 * 1024;
  const auto graph = six_techniques::largest_evaluation_batch(forward, false, budget, first);
  const auto no_grad = six_techniques::largest_evaluation_batch(forward, true, budget, first);
  std::ostringstream text;
  text << "Largest evaluation batch whose forward pass fits " << budget / (1024 * 1024)
       << " MiB of tensors (one example " << to_string(example) << "): recording the graph " << graph.batch << " (peak "
       << format("%.0f", mib(static_cast<double>(graph.peak_bytes))) << " MiB), under no_grad " << no_grad.batch
       << " (peak " << format("%.0f", mib(static_cast<double>(no_grad.peak_bytes))) << " MiB): "
       << format("%.1fx", static_cast<double>(no_grad.batch) / static_cast<double>(graph.batch)) << ".\n";
  return text.str();
}

std::string machine_line() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string model = "unknown CPU";
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores";
}

// A clustered bar chart of every row's speed-up, one colour per workload (gnuplot, when installed).
std::string draw_chart(const std::string& png, const std::vector<std::string>& techniques,
                       const std::vector<std::vector<double>>& speedups, const std::vector<Workload>& chosen) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) return "(install gnuplot for the chart)";
  const std::string data = png + ".dat";
  std::ostringstream table;
  for (std::size_t t = 0; t < techniques.size(); ++t) {
    table << '"' << row_key(techniques[t]) << '"';
    for (const auto& workload : speedups) table << ' ' << workload[t];
    table << '\n';
  }
  io::write_text_atomically(data, "six_techniques", table.str());
  std::ostringstream script;
  script << "set terminal png size 1100,560 noenhanced; set output '" << png << "'; set bmargin 10; set rmargin 14; "
         << "set style data histograms; "
         << "set style histogram clustered; set style fill solid 0.8; set ylabel 'speed-up over the baseline'; "
         << "set xtics rotate by -30; set grid ytics; set key top left; set yrange [0:*]; plot ";
  for (std::size_t k = 0; k < chosen.size(); ++k) {
    script << (k ? ", " : "") << "'" << data << "' using " << k + 2 << (k == 0 ? ":xtic(1)" : "") << " title '"
           << chosen[k].key << "'";
  }
  const int status = std::system(("gnuplot -e \"" + script.str() + "\"").c_str());
  fs::remove(data);
  return status == 0 ? png : "(gnuplot failed)";
}

int run_all(Settings s) {
  if (s.build.empty()) s.build = fs::read_symlink("/proc/self/exe").parent_path().parent_path().string();
  if (s.work.empty()) s.work = (fs::temp_directory_path() / ("six_techniques." + std::to_string(::getpid()))).string();
  const std::vector<Workload> chosen = workloads(s);
  const std::vector<Row> all_rows = rows(s);
  std::ostringstream markdown;
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", std::localtime(&now));
  markdown << "# The six speed techniques on ember's workloads (CPU)\n\n" << machine_line() << ", " << date
           << ". Produced by `./build/bench/six_techniques" << (s.quick ? " --quick" : "")
           << "`; every figure below comes from that one run. 2-rank rows run through ember-run with one compute "
              "thread per rank, so every run uses the same 2 cores.\n\n"
           << "Columns: *fit s*, Trainer::fit from start to end (training and validation; the test pass after it "
              "is not counted); *speed-up*, the mean fit s of the two baseline runs (the first and the last, whose "
              "difference is this machine's run-to-run noise) over the row's; *train samples/s*, examples "
              "trained per second of training batches (loader waits included), over all ranks; *epochs* run; *s "
              "to best val*, from the fit's start to the validation with the best monitored value (val_loss for "
              "the CNN, val curve IoU for the U-Net); *peak RSS*, the process's high-water mark of resident memory; "
              "*optimizer state*, the bytes of Adam's moments the rank holds; *s / validation*, one validation pass; "
              "*validation peak*, the most bytes tensors held during a validation pass above what they held when it "
              "began; the last column is the best checkpoint's figure on the held-out test set.\n";
  std::vector<std::vector<double>> speedups;
  for (const Workload& w : chosen) {
    std::printf("\n%s\n", w.title.c_str());
    std::fflush(stdout);
    markdown << "\n## " << w.title << "\n\nThe baseline: `" << baseline_command(w) << "`; each row changes the flags it "
             << "names" << (w.per_rank_batches_flag.empty() ? "" : " (2-rank rows halve " + w.per_rank_batches_flag +
                                                                       ", so that each epoch sees the same examples)")
             << ".\n\n" << table_header(w);
    // Every run first, then the table: the speed-ups are over the mean of the two baseline runs
    // (the first and the last), whose difference is the machine's run-to-run noise.
    std::vector<Measured> measured;
    double baseline_total = 0;
    int baselines = 0;
    for (const Row& row : all_rows) {
      const std::string out = s.work + "/" + w.key + "_" + std::to_string(&row - all_rows.data());
      measured.push_back(run(s, w, row, out));
      const double fit = measured.back().rank0.at("fit_seconds").get<double>();
      std::printf("  %s: fit %.1f s\n", row.technique.c_str(), fit);
      std::fflush(stdout);
      if (row.technique.rfind("baseline", 0) == 0) {
        baseline_total += fit;
        ++baselines;
      }
    }
    const double baseline_fit = baseline_total / baselines;
    std::map<std::string, double> speedup_of;
    std::vector<double> column;
    for (std::size_t r = 0; r < all_rows.size(); ++r) {
      const std::string line = table_row(all_rows[r], measured[r], baseline_fit, w);
      std::printf("%s", line.c_str());
      markdown << line;
      const double speedup = baseline_fit / measured[r].rank0.at("fit_seconds").get<double>();
      speedup_of[row_key(all_rows[r].technique)] = speedup;
      column.push_back(speedup);
    }
    double product = 1;
    std::string combined;
    for (const std::string& name : kCombined) {
      product *= speedup_of.at(name);
      combined += (combined.empty() ? "" : " x ") + format("%.2f", speedup_of.at(name));
    }
    const std::string compound = "\nThe speed-ups of the rows the \"all\" row combines (" + combined +
                                 ") multiply to " + format("%.2fx", product) + "; all of them together measured " +
                                 format("%.2fx", speedup_of.at(kAllRow)) + ".\n\n" + evaluation_batches(s, w);
    std::printf("%s", compound.c_str());
    markdown << compound;
    speedups.push_back(column);
  }
  std::vector<std::string> techniques;
  for (const Row& row : all_rows) techniques.push_back(row.technique);
  const std::string png = fs::path(s.markdown).replace_extension(".png").string();
  fs::create_directories(fs::path(s.markdown).parent_path().empty() ? "." : fs::path(s.markdown).parent_path());
  const std::string chart = draw_chart(png, techniques, speedups, chosen);
  if (chart == png) markdown << "\n![speed-ups](" << fs::path(png).filename().string() << ")\n";
  io::write_text_atomically(s.markdown, "six_techniques", markdown.str());
  std::printf("\nwritten: %s, chart: %s; the runs' outputs: %s\n", s.markdown.c_str(), chart.c_str(), s.work.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = parse(argc, argv);
  try {
    return run_all(settings);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "six_techniques: %s\n", error.what());
    return 1;
  }
}
