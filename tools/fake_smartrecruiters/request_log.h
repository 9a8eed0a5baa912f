// The request log (--request-log): one JSON object per request, and the
// per-request facts that handlers collect for it.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_REQUEST_LOG_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_REQUEST_LOG_H_

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include <httplib.h>

#include "status.h"

namespace srconnect::fake {

// Facts about the request that the current thread serves.
// cpp-httplib runs routing, the handler and the logger on one worker
// thread, so the handler fills this in and the logger reads it.
struct RequestContext {
  std::string endpoint = "other";
  std::string client_id;
  std::string company_id;
  int fault_id = 0;  // the fault that decided the response, 0 for none
  bool dropped = false;
  std::chrono::steady_clock::time_point start;
};

// Returns this thread's context.
RequestContext& CurrentRequestContext();

// Thread-safe; each line is written and flushed under a mutex.
class RequestLog {
 public:
  // Opens `path` for appending.
  static Result<std::unique_ptr<RequestLog>> Open(const std::string& path);
  ~RequestLog();

  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  // Writes the line for one request. Takes only the method, the path
  // without its query, and the status from the request and response, so
  // no credential, token or cookie can reach the file.
  void Write(const httplib::Request& request, const httplib::Response& response,
             const RequestContext& context);

 private:
  explicit RequestLog(std::FILE* file) : file_(file) {}

  std::mutex mutex_;
  std::FILE* file_;
};

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_REQUEST_LOG_H_
