#include "request_log.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "encoding.h"

namespace srconnect::fake {

RequestContext& CurrentRequestContext() {
  thread_local RequestContext context;
  return context;
}

Result<std::unique_ptr<RequestLog>> RequestLog::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "ae");
  if (file == nullptr) {
    return Status::Error("cannot open request log \"" + path +
                         "\": " + std::strerror(errno));
  }
  return std::unique_ptr<RequestLog>(new RequestLog(file));
}

RequestLog::~RequestLog() { std::fclose(file_); }

void RequestLog::Write(const httplib::Request& request,
                       const httplib::Response& response,
                       const RequestContext& context) {
  const auto now = std::chrono::steady_clock::now();
  int64_t duration_ms = 0;
  if (context.start != std::chrono::steady_clock::time_point()) {
    duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      now - context.start)
                      .count();
  }

  nlohmann::json line = {
      {"time", FormatRfc3339(std::chrono::system_clock::now())},
      {"method", request.method},
      {"path", request.path},
      {"status", context.dropped ? 0 : response.status},
      {"endpoint", context.endpoint},
      {"duration_ms", duration_ms},
      {"peer_port", request.remote_port},
  };
  if (!context.client_id.empty()) line["client_id"] = context.client_id;
  if (!context.company_id.empty()) line["company_id"] = context.company_id;
  if (context.fault_id != 0) line["fault"] = context.fault_id;

  // Invalid UTF-8 in a path is replaced, not thrown on.
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
      "\n";
  std::lock_guard<std::mutex> lock(mutex_);
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fflush(file_);
}

}  // namespace srconnect::fake
