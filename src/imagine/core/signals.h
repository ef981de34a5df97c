#pragma once
// Stop requests from outside: Ctrl-C (SIGINT), `kill`/`timeout`/cluster schedulers (SIGTERM)
// and a closed terminal (SIGHUP). While a StopSignals scope is alive the first such signal
// only sets a flag, so long work can save its state and stop cleanly; a second one removes
// the file being written, if any, and exits at once with 128 + the signal number.
namespace imagine {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // True once a stop was asked for since this scope began.
  static bool requested();
  // The first signal received (0 if none), and its name ("SIGINT", ...).
  static int signal_number();
  static const char* signal_name();
  // The exit code the shell expects after that signal (128 + number).
  static int exit_code();
};

}  // namespace imagine
