// StopSignal: wakes request handlers that sleep in an injected delay when
// the server stops, so that a delay never delays a clean exit.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_STOP_SIGNAL_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_STOP_SIGNAL_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace srconnect::fake {

// Thread-safe.
class StopSignal {
 public:
  // Wakes every SleepFor() and makes later calls return at once.
  void Stop();

  // Sleeps for `duration` unless Stop() is called first. Returns false when
  // woken by Stop().
  bool SleepFor(std::chrono::milliseconds duration);

 private:
  std::mutex mutex_;
  std::condition_variable stopped_changed_;
  bool stopped_ = false;
};

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_STOP_SIGNAL_H_
