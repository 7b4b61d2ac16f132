// val_check_interval, ReduceLROnPlateau through the Trainer, LearningRateMonitor and the
// TensorBoard event files (decoded here by an independent reader).
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "helpers.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "trainer/learning_rate_monitor.h"
#include "trainer/tensorboard_logger.h"
#include "trainer/tfevents.h"
#include "trainer/trainer.h"

using namespace ember;
using namespace ember::testing;

namespace {

// Logs train_mark = 1 per training batch and the next scripted val_loss per validation.
class Scripted : public trainer::TrainModule {
 public:
  explicit Scripted(std::vector<double> script, bool plateau = false) : script_(std::move(script)), plateau_(plateau) {
    layer = register_module("layer", std::make_shared<nn::Linear>(1, 1));
  }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  std::string type_name() const override { return "Scripted"; }
  Tensor training_step(const data::Batch& batch, std::int64_t) override {
    log("train_mark", 1.0);
    return mean(forward(batch[0]));
  }
  void validation_step(const data::Batch&, std::int64_t) override { log("val_loss", script_.at(validations_++)); }
  trainer::OptimizerConfig configure_optimizers() override {
    auto sgd = std::make_unique<optim::SGD>(parameters(), optim::SGDOptions{.lr = 1.0});
    trainer::OptimizerConfig config;
    if (plateau_) {
      config.plateau = std::make_unique<optim::ReduceLROnPlateau>(*sgd, optim::ReduceLROnPlateau::Mode::min, 0.5, 1);
    }
    config.optimizer = std::move(sgd);
    return config;
  }
  std::shared_ptr<nn::Linear> layer;

 private:
  std::vector<double> script_;
  bool plateau_;
  std::size_t validations_ = 0;
};

// Records the global step of every validation (at its start and its end) and the metrics of
// every epoch end.
class Recorder : public trainer::Callback {
 public:
  void on_validation_start(trainer::Trainer& trainer, trainer::TrainModule&) override {
    validation_start_steps.push_back(trainer.global_step());
  }
  void on_validation_end(trainer::Trainer& trainer, trainer::TrainModule&) override {
    validation_steps.push_back(trainer.global_step());
    CHECK(trainer.validation_metrics().count("train_mark") == 0);
  }
  void on_train_epoch_end(trainer::Trainer& trainer, trainer::TrainModule&) override {
    epoch_metrics.push_back(trainer.metrics());
  }
  std::vector<std::int64_t> validation_start_steps, validation_steps;
  std::vector<trainer::Metrics> epoch_metrics;
};

// 8 examples in batches of 2: 4 training batches per epoch, one validation batch.
std::shared_ptr<Recorder> fit(trainer::TrainModule& module, trainer::TrainerOptions options,
                              std::vector<std::shared_ptr<trainer::Callback>> more = {}) {
  auto recorder = std::make_shared<Recorder>();
  options.callbacks = {recorder};
  for (auto& callback : more) options.callbacks.push_back(callback);
  auto data = std::make_shared<data::TensorDataset>(std::vector<Tensor>{zeros({8, 1})});
  data::DataLoader train(data, {.batch_size = 2}), validation(data, {.batch_size = 8});
  trainer::Trainer trainer(options);
  trainer.fit(module, train, &validation);
  return recorder;
}

std::filesystem::path scratch(const char* name) {
  const auto dir = std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

// --- an independent reader of event files: bitwise CRC-32C and a minimal protobuf decoder ---

std::uint32_t bitwise_crc32c(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

std::uint32_t masked(std::uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }

template <class T>
T read_le(const std::string& bytes, std::size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

std::uint64_t read_varint(const std::string& bytes, std::size_t& at) {
  std::uint64_t value = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(bytes.at(at++));
    value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
}

// Calls field(number, wire_type, at, length) for each field of a message; returns nothing.
template <class Field>
void for_each_field(const std::string& message, Field&& field) {
  std::size_t at = 0;
  while (at < message.size()) {
    const std::uint64_t key = read_varint(message, at);
    const auto number = static_cast<int>(key >> 3), type = static_cast<int>(key & 7);
    std::size_t length = 0;
    if (type == 0) {
      const std::size_t start = at;
      read_varint(message, at);
      length = at - start;
      at = start;
    } else if (type == 1) {
      length = 8;
    } else if (type == 5) {
      length = 4;
    } else {
      REQUIRE(type == 2);
      length = read_varint(message, at);
    }
    field(number, type, message.substr(at, length));
    at += length;
  }
}

struct Event {
  std::int64_t step = 0;
  std::string file_version;
  std::map<std::string, float> scalars;
};

std::vector<Event> read_events(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::vector<Event> events;
  std::size_t at = 0;
  while (at < bytes.size()) {
    const auto length = read_le<std::uint64_t>(bytes, at);
    CHECK(read_le<std::uint32_t>(bytes, at + 8) == masked(bitwise_crc32c(bytes.substr(at, 8))));
    const std::string payload = bytes.substr(at + 12, length);
    CHECK(read_le<std::uint32_t>(bytes, at + 12 + length) == masked(bitwise_crc32c(payload)));
    at += 12 + length + 4;
    Event event;
    for_each_field(payload, [&](int number, int, const std::string& value) {
      if (number == 2) {
        std::size_t zero = 0;
        event.step = static_cast<std::int64_t>(read_varint(value, zero));
      }
      if (number == 3) event.file_version = value;
      if (number != 5) return;
      for_each_field(value, [&](int, int, const std::string& entry) {  // Summary.value
        std::string tag;
        float scalar = 0;
        for_each_field(entry, [&](int field, int, const std::string& part) {
          if (field == 1) tag = part;
          if (field == 2) scalar = read_le<float>(part, 0);
        });
        event.scalars[tag] = scalar;
      });
    });
    events.push_back(event);
  }
  return events;
}

}  // namespace

TEST_CASE("val_check_interval: a fraction or every N batches + and the epoch's end always validates") {
  Scripted halves(std::vector<double>(4, 1.0));
  // 4 batches, fraction 0.5: after batches 2 and 4 of each epoch (global steps 2, 4, 6, 8).
  CHECK(fit(halves, {.max_epochs = 2, .val_check_interval = 0.5})->validation_steps == std::vector<std::int64_t>{2, 4, 6, 8});
  Scripted every3(std::vector<double>(4, 1.0));
  // Every 3 batches: after batch 3, then at the epoch's end (batch 4).
  const auto recorder = fit(every3, {.max_epochs = 2, .val_check_interval = std::int64_t{3}});
  CHECK(recorder->validation_steps == std::vector<std::int64_t>{3, 4, 7, 8});
  CHECK(recorder->validation_start_steps == recorder->validation_steps);  // each start has its end
  // The training metrics are those of all 4 batches, untouched by the validations between them.
  CHECK(recorder->epoch_metrics.at(1).at("train_mark") == 1.0);
  CHECK(recorder->epoch_metrics.at(1).at("val_loss") == 1.0);
  Scripted unused({});
  CHECK(contains(error_of([&] { fit(unused, {.val_check_interval = std::int64_t{5}}); }),
                 "val_check_interval 5 must be between 1 and the number of training batches per epoch, 4"));
  CHECK(contains(error_of([] { trainer::Trainer({.val_check_interval = 1.5}); }), "must be in (0, 1], got 1.5"));
}

TEST_CASE("ReduceLROnPlateau steps on the monitored metric and LearningRateMonitor logs the lr") {
  // Patience 1, factor 0.5: the loss stops improving after epoch 0; the second bad epoch (2)
  // halves the lr, which epoch 3 starts with.
  Scripted module({1.0, 1.0, 1.0, 1.0}, /*plateau=*/true);
  const auto recorder = fit(module, {.max_epochs = 4}, {std::make_shared<trainer::LearningRateMonitor>()});
  std::vector<double> lrs;
  for (const auto& metrics : recorder->epoch_metrics) lrs.push_back(metrics.at("lr-SGD"));
  CHECK(lrs == std::vector<double>{1.0, 1.0, 1.0, 0.5});

  class Unlogged : public Scripted {
   public:
    Unlogged() : Scripted({1.0}, true) {}
    void validation_step(const data::Batch&, std::int64_t) override { log("val_acc", 0.5); }
  } unlogged;
  CHECK(contains(error_of([&] { fit(unlogged, {}); }),
                 "ReduceLROnPlateau monitors 'val_loss', which was not logged this epoch (logged: train_mark, val_acc)"));
}

TEST_CASE("ReduceLROnPlateau's patience count survives a checkpoint") {
  const auto dir = scratch("ember_plateau_");
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "two.safetensors").string();
  auto data = std::make_shared<data::TensorDataset>(std::vector<Tensor>{zeros({8, 1})});
  data::DataLoader train(data, {.batch_size = 2}), validation(data, {.batch_size = 8});
  {
    Scripted first({1.0, 1.0}, true);  // epoch 1 is one bad epoch: within patience
    trainer::Trainer trainer({.max_epochs = 2});
    trainer.fit(first, train, &validation);
    trainer.save_checkpoint(path, first);
  }
  Scripted resumed({1.0}, true);  // a second bad epoch in a row: the lr halves
  trainer::Trainer trainer({.max_epochs = 3});
  trainer.fit(resumed, train, &validation, path);
  CHECK(trainer.optimizer()->param_groups()[0].lr == 0.5);
  std::filesystem::remove_all(dir);
}

TEST_CASE("CRC-32C known answer") {
  // The check value of CRC-32C (Castagnoli) for the ASCII digits 1..9.
  CHECK(trainer::tfevents::crc32c("123456789", 9) == 0xE3069283u);
  CHECK(bitwise_crc32c("123456789") == 0xE3069283u);
  CHECK(trainer::tfevents::masked_crc32c("123456789", 9) == masked(0xE3069283u));
}

TEST_CASE("TensorBoardLogger writes framed events with file_version + validation and epoch scalars") {
  const auto dir = scratch("ember_tensorboard_");
  auto logger = std::make_shared<trainer::TensorBoardLogger>(dir.string());
  Scripted module({0.75, 0.5});
  fit(module, {.max_epochs = 2}, {std::make_shared<trainer::LearningRateMonitor>(), logger});
  CHECK(logger->directory() == (dir / "version_0").string());
  CHECK(contains(std::filesystem::path(logger->path()).filename().string(), "events.out.tfevents."));
  const std::vector<Event> events = read_events(logger->path());
  // file_version, then per epoch: the validation's scalars, then the epoch's other scalars.
  REQUIRE(events.size() == 5);
  CHECK(events[0].file_version == "brain.Event:2");
  CHECK(events[1].step == 4);
  CHECK(events[1].scalars == std::map<std::string, float>{{"val_loss", 0.75f}});
  CHECK(events[2].scalars == std::map<std::string, float>{{"epoch", 0.0f}, {"lr-SGD", 1.0f}, {"train_mark", 1.0f}});
  CHECK(events[3].step == 8);
  CHECK(events[3].scalars.at("val_loss") == 0.5f);
  CHECK(events[4].scalars.at("epoch") == 1.0f);
  std::filesystem::remove_all(dir);
}
