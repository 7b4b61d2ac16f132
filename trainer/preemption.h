#pragma once
// Preemption: a cluster scheduler's notice (SIGTERM) or Ctrl-C (SIGINT) during fit. The signal
// is only noted; the Trainer finishes the step it is in, writes a checkpoint that resumes at the
// next batch, and fit throws Preempted. A program exits with kPreemptedExitCode then, so a job
// script can tell "resume me" from a failure. ember-run forwards both signals to every rank.
#include <cstdint>
#include <string>

#include "core/error.h"

namespace ember::trainer {

// EX_TEMPFAIL of sysexits.h: a temporary failure, run again (from the checkpoint).
inline constexpr int kPreemptedExitCode = 75;

// Under a distributed strategy the ranks agree on the step to stop at every this many optimizer
// steps (one host read of an all-reduce each time); a single process checks after every step.
inline constexpr std::int64_t kPreemptionAgreementSteps = 8;

class Preempted : public Error {
 public:
  Preempted(int signal, std::string checkpoint);
  int signal() const { return signal_; }
  const std::string& checkpoint() const { return checkpoint_; }

 private:
  int signal_;
  std::string checkpoint_;
};

// While one exists, SIGTERM and SIGINT are noted instead of ending the process; the handlers
// that were there before come back when it goes.
class PreemptionWatch {
 public:
  PreemptionWatch();
  ~PreemptionWatch();
  PreemptionWatch(const PreemptionWatch&) = delete;
  PreemptionWatch& operator=(const PreemptionWatch&) = delete;
  // The signal received since the watch began, 0 if none.
  static int received();
};

}  // namespace ember::trainer
