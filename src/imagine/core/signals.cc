#include "imagine/core/signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "imagine/core/files.h"

namespace imagine {

namespace {
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
constexpr int kCount = sizeof kSignals / sizeof kSignals[0];
std::atomic<int> g_first{0};
std::atomic<int> g_count{0};
struct sigaction g_previous[kCount];

void on_signal(int sig) {
  int expected = 0;
  g_first.compare_exchange_strong(expected, sig);
  if (g_count.fetch_add(1) >= 1) {  // the second request: leave now, leaving no half file
    remove_pending_temporary();
    _exit(128 + sig);
  }
}
}  // namespace

StopSignals::StopSignals() {
  g_first = 0;
  g_count = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int i = 0; i < kCount; ++i) sigaction(kSignals[i], &action, &g_previous[i]);
}

StopSignals::~StopSignals() {
  for (int i = 0; i < kCount; ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
}

bool StopSignals::requested() { return g_count > 0; }
int StopSignals::signal_number() { return g_first; }
int StopSignals::exit_code() { return g_first ? 128 + g_first : 0; }

const char* StopSignals::signal_name() {
  switch (g_first.load()) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "no signal";
  }
}

}  // namespace imagine
