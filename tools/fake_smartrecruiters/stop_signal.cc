#include "stop_signal.h"

namespace srconnect::fake {

void StopSignal::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
  }
  stopped_changed_.notify_all();
}

bool StopSignal::SleepFor(std::chrono::milliseconds duration) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !stopped_changed_.wait_for(lock, duration,
                                    [this] { return stopped_; });
}

}  // namespace srconnect::fake
