#include "trainer/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <string>

#include "trainer/trainer.h"

namespace ember::trainer {

ProgressBar::ProgressBar(std::FILE* out) : out_(out), live_(::isatty(::fileno(out)) != 0) {}

void ProgressBar::on_train_batch_end(Trainer& trainer, TrainModule&, std::int64_t batch_index, std::int64_t batches,
                                     const Tensor& loss) {
  if (!trainer.is_global_zero()) return;  // one bar for the whole run
  using Clock = std::chrono::steady_clock;
  const auto now = Clock::now();
  if (batch_index == 0) epoch_start_ = now;
  const std::int64_t done = batch_index + 1;
  const double seconds = std::chrono::duration<double>(now - epoch_start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  const double eta = rate > 0 ? static_cast<double>(batches - done) / rate : 0.0;
  if (live_) {
    // Redraw at most 10 times a second, and always at the end of the epoch.
    if (done != batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / std::max<std::int64_t>(batches, 1));
    std::fprintf(out_, "\rEpoch %lld [%s%s] %lld/%lld %.1f it/s ETA %02d:%02d loss %.4f ",
                 static_cast<long long>(trainer.current_epoch()), std::string(filled, '=').c_str(),
                 std::string(kWidth - filled, ' ').c_str(), static_cast<long long>(done),
                 static_cast<long long>(batches), rate, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60,
                 loss.item<double>());
  } else {
    const std::int64_t quarter = std::max<std::int64_t>(batches / 4, 1);
    if (done % quarter != 0 && done != batches) return;
    std::fprintf(out_, "Epoch %lld: %lld/%lld batches, %.1f it/s, ETA %.0fs, loss %.4f\n",
                 static_cast<long long>(trainer.current_epoch()), static_cast<long long>(done),
                 static_cast<long long>(batches), rate, eta, loss.item<double>());
  }
  std::fflush(out_);
}

void ProgressBar::on_train_epoch_end(Trainer& trainer, TrainModule&) {
  if (!trainer.is_global_zero()) return;
  std::fprintf(out_, "%sEpoch %lld done:", live_ ? "\n" : "", static_cast<long long>(trainer.current_epoch()));
  for (const auto& [name, value] : trainer.metrics()) std::fprintf(out_, " %s=%.4f", name.c_str(), value);
  std::fprintf(out_, "\n");
  std::fflush(out_);
}

}  // namespace ember::trainer
