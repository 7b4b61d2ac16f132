#include "trainer/preemption.h"

#include <signal.h>

#include <csignal>
#include <cstring>

namespace ember::trainer {

namespace {

volatile std::sig_atomic_t noted_signal = 0;

void note_signal(int signal) { noted_signal = signal; }

struct sigaction previous_term = {}, previous_int = {};

}  // namespace

Preempted::Preempted(int signal, std::string checkpoint)
    : Error("Trainer: preempted by " + std::string(::strsignal(signal)) + " (signal " + std::to_string(signal) +
            "): the finished steps are saved in " + checkpoint + "; resume from it to continue exactly"),
      signal_(signal),
      checkpoint_(std::move(checkpoint)) {}

PreemptionWatch::PreemptionWatch() {
  noted_signal = 0;
  struct sigaction action = {};
  action.sa_handler = note_signal;
  ::sigaction(SIGTERM, &action, &previous_term);
  ::sigaction(SIGINT, &action, &previous_int);
}

PreemptionWatch::~PreemptionWatch() {
  ::sigaction(SIGTERM, &previous_term, nullptr);
  ::sigaction(SIGINT, &previous_int, nullptr);
}

int PreemptionWatch::received() { return noted_signal; }

}  // namespace ember::trainer
