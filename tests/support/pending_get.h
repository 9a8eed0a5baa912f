// PendingGet: an HTTP GET sent on a thread and a client of its own, so
// that a test can go on while the request waits for its response.

#ifndef SRCONNECT_TESTS_SUPPORT_PENDING_GET_H_
#define SRCONNECT_TESTS_SUPPORT_PENDING_GET_H_

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <httplib.h>

namespace srconnect::testing {

class PendingGet {
 public:
  // Sends GET `path` to `origin` ("http://127.0.0.1:PORT") at once. The
  // connection timeout is 10 s.
  PendingGet(std::string origin, std::string path,
             std::chrono::seconds read_timeout)
      : thread_([this, origin = std::move(origin), path = std::move(path),
                 read_timeout] {
          httplib::Client client(origin);
          client.set_connection_timeout(std::chrono::seconds(10));
          client.set_read_timeout(read_timeout);
          result_.emplace(client.Get(path.c_str()));
          done_.store(true);
        }) {}

  // Waits for the response, bounded by the read timeout.
  ~PendingGet() {
    if (thread_.joinable()) thread_.join();
  }

  PendingGet(const PendingGet&) = delete;
  PendingGet& operator=(const PendingGet&) = delete;

  // True once the response, or the client's error, has arrived.
  bool done() const { return done_.load(); }

  // Waits for the response and returns it.
  const httplib::Result& Wait() {
    if (thread_.joinable()) thread_.join();
    return *result_;
  }

 private:
  std::atomic<bool> done_{false};
  std::optional<httplib::Result> result_;
  std::thread thread_;
};

}  // namespace srconnect::testing

#endif  // SRCONNECT_TESTS_SUPPORT_PENDING_GET_H_
