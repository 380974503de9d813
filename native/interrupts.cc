// Ctrl-C (SIGINT) and SIGTERM, noted while a long synchronous loop runs. A training loop never
// gives Node's event loop a turn, so process.on('SIGINT') would fire only after it ends; these
// handlers just note the signal, and the loop polls it between steps (lib/train/interrupts.ts).
//
// The first signal is noted. Another within a second of it counts as the same interrupt (the
// terminal sends Ctrl-C to every process of the group, and a launcher passes it on). A later one
// means "now": the handler that was there before (Node's, which resets the
// terminal and ends the process) or the default action takes it.
#include <signal.h>
#include <time.h>

#include <atomic>

#include "common.h"

namespace tstorch {
namespace {

const int kSignals[2] = {SIGINT, SIGTERM};
std::atomic<int> pending{0};          // the first signal noted, 0 before one
std::atomic<long long> firstAtNs{0};  // when it came (CLOCK_MONOTONIC)
struct sigaction previous[2];
bool watching = false;

long long monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // (async-signal-safe)
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

void onSignal(int sig) {
  int none = 0;
  if (pending.compare_exchange_strong(none, sig)) {
    firstAtNs.store(monotonicNs());
    return;
  }
  if (monotonicNs() - firstAtNs.load() < 1000000000LL) return;
  // A second interrupt: hand it to what was there before; it is delivered when this returns.
  for (int k = 0; k < 2; k++) {
    if (kSignals[k] == sig) sigaction(sig, &previous[k], nullptr);
  }
  raise(sig);
}

// watchInterrupts(on): note SIGINT and SIGTERM from now on (true), or give them back to the
// handlers they had before (false). Turning it on clears what was noted.
Napi::Value watchInterrupts(const Napi::CallbackInfo& info) {
  bool on = info[0].ToBoolean().Value();
  if (on && !watching) {
    pending.store(0);
    struct sigaction mine = {};
    mine.sa_handler = onSignal;
    mine.sa_flags = SA_RESTART;  // (a read or a socket wait in progress goes on)
    sigemptyset(&mine.sa_mask);
    for (int k = 0; k < 2; k++) {
      if (sigaction(kSignals[k], &mine, &previous[k]) != 0) throw std::runtime_error("watchInterrupts: sigaction failed");
    }
    watching = true;
  } else if (!on && watching) {
    for (int k = 0; k < 2; k++) sigaction(kSignals[k], &previous[k], nullptr);
    watching = false;
  }
  return info.Env().Undefined();
}

// pendingInterrupt(): the signal number noted since watchInterrupts(true), or 0.
Napi::Value pendingInterrupt(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), pending.load());
}

}  // namespace

void registerInterrupts(Registrar& r) {
  r.add<watchInterrupts>("watchInterrupts");
  r.add<pendingInterrupt>("pendingInterrupt");
}

}  // namespace tstorch
