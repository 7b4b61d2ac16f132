#include "trainer/csv_logger.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "trainer/log_directory.h"
#include "trainer/number_text.h"
#include "trainer/trainer.h"

namespace ember::trainer {


namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

}  // namespace

CSVLogger::CSVLogger(std::string root, std::map<std::string, std::string> hparams, int version)
    : directory_(version_directory(root, version)), hparams_(std::move(hparams)) {}

void CSVLogger::on_fit_start(Trainer& trainer, TrainModule&) {
  // Keep what an earlier, checkpointed part of this run wrote before the resumed epoch.
  rows_.clear();
  std::ifstream file(std::filesystem::path(directory_) / "metrics.csv");
  std::string line;
  if (!std::getline(file, line)) return;
  const std::vector<std::string> columns = split(line);
  while (std::getline(file, line)) {
    const std::vector<std::string> fields = split(line);
    EMBER_CHECK(fields.size() == columns.size() && columns.size() >= 2, "CSVLogger: ", directory_,
                "/metrics.csv has a malformed row: '", line, "'");
    Row row{std::stoll(fields[0]), std::stoll(fields[1]), {}};
    if (row.epoch >= trainer.current_epoch()) continue;
    for (std::size_t i = 2; i < fields.size(); ++i) {
      if (!fields[i].empty()) row.metrics[columns[i]] = std::stod(fields[i]);
    }
    rows_.push_back(std::move(row));
  }
}

void CSVLogger::on_train_epoch_end(Trainer& trainer, TrainModule&) {
  rows_.push_back({trainer.current_epoch(), trainer.global_step(), trainer.metrics()});
  if (trainer.is_global_zero()) write();  // the metrics are every rank's already
}

void CSVLogger::write() const {
  std::set<std::string> names;
  for (const Row& row : rows_) {
    for (const auto& entry : row.metrics) names.insert(entry.first);
  }
  std::ostringstream csv;
  csv << "epoch,step";
  for (const std::string& name : names) csv << ',' << name;
  csv << '\n';
  for (const Row& row : rows_) {
    csv << row.epoch << ',' << row.step;
    for (const std::string& name : names) {
      const auto found = row.metrics.find(name);
      csv << ',' << (found == row.metrics.end() ? "" : exact_text(found->second));
    }
    csv << '\n';
  }
  write_log_file((std::filesystem::path(directory_) / "metrics.csv").string(), "CSVLogger", csv.str());
  std::ostringstream yaml;
  for (const auto& [key, value] : hparams_) yaml << key << ": " << value << '\n';
  write_log_file((std::filesystem::path(directory_) / "hparams.yaml").string(), "CSVLogger", yaml.str());
}

}  // namespace ember::trainer
