// fastcgi_echo: a FastCGI program for fastcgi_loop_test. It runs
// RunFastCgi with the default limits and returns the parsed request as
// JSON. A request to /throw makes the handler throw, to exercise the
// last-resort catch.

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "fastcgi.h"

namespace {

nlohmann::json PairsToJson(const srconnect::Params& params) {
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& [name, value] : params.pairs()) {
    pairs.push_back({name, value});
  }
  return pairs;
}

srconnect::HttpResponse Echo(const srconnect::HttpRequest& request) {
  if (request.path == "/throw") {
    throw std::runtime_error("fastcgi_echo handler threw on purpose");
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
  };
  return srconnect::HttpResponse::Json(
      200, echo.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

int main() { return srconnect::RunFastCgi(srconnect::RequestLimits(), Echo); }
