#include "routes.h"

#include <chrono>
#include <exception>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "admin_api.h"
#include "connection.h"
#include "faults.h"
#include "http_util.h"
#include "log.h"
#include "pages.h"
#include "sample_api.h"
#include "setup_endpoint.h"
#include "token_endpoint.h"

namespace srconnect::fake {
namespace {

using EndpointHandler = std::function<void(const httplib::Request&,
                                           httplib::Response&, ServerContext&)>;
using Identify =
    std::function<RequestSubject(const httplib::Request&, ServerContext&)>;

// The field that a missing_fields fault removes from each endpoint's body.
const char* RequiredField(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kToken:
      return "access_token";
    case Endpoint::kSetup:
      return "clientSecret";
    case Endpoint::kApi:
      return "id";
    case Endpoint::kPages:
      return "";
  }
  return "";
}

// Sets the response of a status fault: 502 with an HTML body as a reverse proxy
// sends it, 429 with Retry-After, any other status with a JSON ErrorResponse.
void SetFaultStatus(httplib::Response& response, const Fault& fault) {
  if (fault.status == 502) {
    SetHtml(response, 502,
            "<html><head><title>502 Bad Gateway</title></head><body>"
            "<h1>502 Bad Gateway</h1><p>The upstream server did not "
            "respond.</p></body></html>\n");
    return;
  }
  if (fault.status == 429) {
    response.set_header("Retry-After", std::to_string(fault.retry_after_s));
  }
  SetErrorResponse(response, fault.status, "injected_fault",
                   "injected fault " + std::to_string(fault.id) + ": status " +
                       std::to_string(fault.status));
}

void SetMaintenancePage(httplib::Response& response) {
  SetHtml(response, 200,
          "<!doctype html><html><head><title>SmartRecruiters</title></head>"
          "<body><h1>We'll be back soon</h1><p>SmartRecruiters is down for "
          "maintenance.</p></body></html>\n");
}

// Replaces the JSON body that the handler produced with its first half.
void TruncateJson(httplib::Response& response) {
  const std::string half = response.body.substr(0, response.body.size() / 2);
  response.status = 200;
  response.set_content(half, "application/json");
}

// Removes the endpoint's required field from the handler's JSON body.
void RemoveRequiredField(httplib::Response& response, Endpoint endpoint) {
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object()) body.erase(RequiredField(endpoint));
  response.status = 200;
  response.set_content(body.is_discarded() ? response.body : body.dump(),
                       "application/json");
}

// Counts the request for GET /fake-admin/state.
void CountRequest(Endpoint endpoint, const RequestSubject& subject,
                  ServerContext& context) {
  if (endpoint == Endpoint::kToken && !subject.client_id.empty()) {
    context.state.CountTokenRequest(subject.client_id);
  } else if (endpoint == Endpoint::kSetup && !subject.company_id.empty()) {
    context.state.CountSetupCall(subject.company_id);
  }
}

// Wraps an endpoint handler with counting and fault injection. Delays run
// without any lock held, and end early when the server stops.
httplib::Server::Handler WithFaults(Endpoint endpoint, Identify identify,
                                    EndpointHandler handler,
                                    ServerContext& context) {
  return [endpoint, identify, handler, &context](
             const httplib::Request& request, httplib::Response& response) {
    RequestContext& log_context = CurrentRequestContext();
    log_context.endpoint = ToString(endpoint);
    const RequestSubject subject = identify(request, context);
    log_context.client_id = subject.client_id;
    log_context.company_id = subject.company_id;
    CountRequest(endpoint, subject, context);

    const FaultDecision decision = context.faults.Match(endpoint, subject);
    if (decision.latency_ms > 0) {
      context.stop.SleepFor(std::chrono::milliseconds(decision.latency_ms));
    }
    if (!decision.action_fault) {
      handler(request, response, context);
      return;
    }

    const Fault& fault = *decision.action_fault;
    log_context.fault_id = fault.id;
    switch (fault.action) {
      case FaultAction::kNone:
        handler(request, response, context);
        return;
      case FaultAction::kStatus:
        SetFaultStatus(response, fault);
        return;
      case FaultAction::kHtmlBody:
        SetMaintenancePage(response);
        return;
      case FaultAction::kDrop: {
        const Status dropped = ShutdownConnection(request);
        if (!dropped.ok()) {
          LogError("fault " + std::to_string(fault.id) +
                   " could not drop the connection: " + dropped.message());
          SetErrorResponse(response, 500, "injected_fault",
                           "drop fault failed: " + dropped.message());
          return;
        }
        log_context.dropped = true;
        // cpp-httplib still writes this response to the shut socket; the
        // write fails and the client has already seen end of file.
        response.status = 500;
        return;
      }
      case FaultAction::kStall:
        context.stop.SleepFor(std::chrono::milliseconds(fault.stall_ms));
        handler(request, response, context);
        return;
      case FaultAction::kMalformedJson:
        handler(request, response, context);
        TruncateJson(response);
        return;
      case FaultAction::kMissingFields:
        handler(request, response, context);
        RemoveRequiredField(response, endpoint);
        return;
    }
  };
}

RequestSubject NoSubject(const httplib::Request&, ServerContext&) { return {}; }

}  // namespace

void RegisterRoutes(httplib::Server& server, ServerContext& context,
                    RequestLog* log) {
  server.set_pre_routing_handler(
      [](const httplib::Request& request, httplib::Response& response) {
        RequestContext& log_context = CurrentRequestContext();
        log_context = RequestContext();
        log_context.start = std::chrono::steady_clock::now();
        if (request.path.rfind("/fake-admin/", 0) != 0) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        log_context.endpoint = "admin";
        if (!IsLoopbackAddress(request.remote_addr)) {
          LogWarning("admin request from non-loopback peer " +
                     Quote(request.remote_addr) + " rejected");
          SetJson(response, 403,
                  {{"error", "the admin API accepts loopback peers only"}});
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });

  server.set_exception_handler([](const httplib::Request& request,
                                  httplib::Response& response,
                                  std::exception_ptr error) {
    std::string message = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
    }
    LogError("handler for " + Quote(request.method + " " + request.path) +
             " failed: " + message);
    SetErrorResponse(response, 500, "internal_error",
                     "internal error in the fake: " + message);
  });

  if (log != nullptr) {
    server.set_logger([log](const httplib::Request& request,
                            const httplib::Response& response) {
      log->Write(request, response, CurrentRequestContext());
      CurrentRequestContext() = RequestContext();
    });
  } else {
    server.set_logger([](const httplib::Request&, const httplib::Response&) {
      CurrentRequestContext() = RequestContext();
    });
  }

  // The token endpoint is served on both hosts in production
  // (api.smartrecruiters.com and www.smartrecruiters.com); here one server
  // plays both.
  server.Post("/identity/oauth/token",
              WithFaults(Endpoint::kToken, IdentifyTokenRequest,
                         HandleTokenRequest, context));
  server.Post("/apps-integrations/partner-api/integrations",
              WithFaults(Endpoint::kSetup, IdentifySetupRequest,
                         HandleSetupRequest, context));
  server.Get("/configuration/company",
             WithFaults(Endpoint::kApi, IdentifyApiRequest,
                        HandleCompanyConfiguration, context));

  server.Get("/", WithFaults(Endpoint::kPages, NoSubject, HandleRoot, context));
  server.Get("/partner-apps", WithFaults(Endpoint::kPages, IdentifyPageRequest,
                                         HandlePartnerApps, context));
  server.Post("/sign-in",
              WithFaults(Endpoint::kPages, NoSubject, HandleSignIn, context));
  server.Post("/sign-out", WithFaults(Endpoint::kPages, IdentifyPageRequest,
                                      HandleSignOut, context));
  server.Post("/partner-apps/connect",
              WithFaults(Endpoint::kPages, IdentifyPageRequest, HandleConnect,
                         context));
  server.Post("/partner-apps/disconnect",
              WithFaults(Endpoint::kPages, IdentifyPageRequest,
                         HandleDisconnect, context));
  server.Get(
      "/partner-apps/return",
      WithFaults(Endpoint::kPages, IdentifyPageRequest, HandleReturn, context));

  RegisterAdminRoutes(server, context);
}

}  // namespace srconnect::fake
