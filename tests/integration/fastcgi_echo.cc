// fastcgi_echo: a FastCGI program for fastcgi_loop_test. It returns the
// parsed request as JSON, with the index of the responder thread that
// served it.
//
//   fastcgi_echo [--threads N] [--release-file PATH]
//
// Without --threads it runs RunFastCgi with a single handler; with it,
// RunFastCgi with N threads and one handler per thread. A request to
// /throw makes the handler throw, to exercise the last-resort catch. A
// request to /slow waits until the release file exists, at most 30 s, so
// that a test decides when it ends. Each request logs "thread N serves
// PATH" when it starts, and /slow logs "thread N finished" when it ends.

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "fastcgi.h"
#include "log.h"

namespace {

constexpr auto kMaxSlowWait = std::chrono::seconds(30);

struct Options {
  int threads = 0;  // 0: the single-handler RunFastCgi
  std::string release_file;
};

nlohmann::json PairsToJson(const srconnect::Params& params) {
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& [name, value] : params.pairs()) {
    pairs.push_back({name, value});
  }
  return pairs;
}

// Waits until `path` exists or kMaxSlowWait has passed.
void WaitForFile(const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + kMaxSlowWait;
  while (::access(path.c_str(), F_OK) != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

srconnect::HttpResponse Echo(const srconnect::HttpRequest& request,
                             int thread_index, const Options& options) {
  const std::string thread = "thread " + std::to_string(thread_index);
  srconnect::LogInfo(thread + " serves " + srconnect::Quote(request.path));
  if (request.path == "/throw") {
    throw std::runtime_error("fastcgi_echo handler threw on purpose");
  }
  if (request.path == "/slow") {
    WaitForFile(options.release_file);
    srconnect::LogInfo(thread + " finished " + srconnect::Quote(request.path));
  }
  const nlohmann::json echo = {
      {"method", request.method},
      {"path", request.path},
      {"query_string", request.query_string},
      {"remote_addr", request.remote_addr},
      {"from_loopback", request.FromLoopback()},
      {"scheme", request.scheme},
      {"headers", request.headers},
      {"query", PairsToJson(request.query)},
      {"form", PairsToJson(request.form)},
      {"cookies", request.cookies},
      {"thread", thread_index},
  };
  return srconnect::HttpResponse::Json(
      200, echo.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

bool ParseOptions(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return false;
    if (arg == "--threads") {
      options.threads = std::atoi(argv[++i]);
    } else if (arg == "--release-file") {
      options.release_file = argv[++i];
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, options)) {
    std::cerr << "usage: fastcgi_echo [--threads N] [--release-file PATH]\n";
    return 2;
  }
  const srconnect::RequestLimits limits;
  if (options.threads == 0) {
    return srconnect::RunFastCgi(
        limits, [&options](const srconnect::HttpRequest& request) {
          return Echo(request, 0, options);
        });
  }
  return srconnect::RunFastCgi(
      limits, options.threads,
      [&options](int index) -> srconnect::Result<srconnect::RequestHandler> {
        return srconnect::RequestHandler(
            [index, &options](const srconnect::HttpRequest& request) {
              return Echo(request, index, options);
            });
      });
}
