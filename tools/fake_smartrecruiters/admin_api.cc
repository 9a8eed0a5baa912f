#include "admin_api.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "encoding.h"
#include "faults.h"
#include "http_util.h"
#include "log.h"

namespace srconnect::fake {
namespace {

constexpr int kMaxSeedCount = 100000;

void SetAdminError(httplib::Response& response, int status,
                   const std::string& message) {
  SetJson(response, status, {{"error", message}});
}

// Parses the request body as JSON; an empty body is an empty object. Sets
// a 400 response and returns nullopt when the body is not JSON.
std::optional<nlohmann::json> JsonBody(const httplib::Request& request,
                                       httplib::Response& response) {
  if (request.body.empty()) return nlohmann::json::object();
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    SetAdminError(response, 400, "request body is not valid JSON");
    return std::nullopt;
  }
  return body;
}

nlohmann::json FaultList(const std::vector<Fault>& faults) {
  nlohmann::json list = nlohmann::json::array();
  for (const Fault& fault : faults) list.push_back(ToJson(fault));
  return list;
}

void AddFaults(const httplib::Request& request, httplib::Response& response,
               ServerContext& context) {
  const std::optional<nlohmann::json> body = JsonBody(request, response);
  if (!body) return;
  const nlohmann::json items =
      body->is_array() ? *body : nlohmann::json::array({*body});

  std::vector<Fault> faults;
  for (const nlohmann::json& item : items) {
    Result<Fault> fault = ParseFault(item);
    if (!fault.ok()) {
      SetAdminError(response, 400, fault.error());
      return;
    }
    faults.push_back(*fault);
  }
  const std::vector<Fault> added = context.faults.Add(std::move(faults));
  for (const Fault& fault : added) {
    LogInfo("fault " + std::to_string(fault.id) +
            " added: " + Quote(ToCompact(fault)));
  }
  SetJson(response, 200, {{"faults", FaultList(added)}});
}

void RecordConsent(const httplib::Request& request, httplib::Response& response,
                   ServerContext& context) {
  const std::string company = request.matches[1];
  Result<Clock::time_point> until = context.state.RecordConsent(company);
  if (!until.ok()) {
    SetAdminError(response, 404, until.error());
    return;
  }
  LogInfo("consent recorded for company " + Quote(company) +
          " through the admin API");
  SetJson(
      response, 200,
      {{"companyId", company}, {"consent_expires_at", FormatRfc3339(*until)}});
}

void DisconnectCompany(const httplib::Request& request,
                       httplib::Response& response, ServerContext& context) {
  const std::string company = request.matches[1];
  Result<bool> was_integrated = context.state.Disconnect(company);
  if (!was_integrated.ok()) {
    SetAdminError(response, 404, was_integrated.error());
    return;
  }
  LogInfo("company " + Quote(company) + " disconnected through the admin API");
  SetJson(response, 200,
          {{"companyId", company}, {"was_integrated", *was_integrated}});
}

void Seed(const httplib::Request& request, httplib::Response& response,
          ServerContext& context) {
  const std::optional<nlohmann::json> body = JsonBody(request, response);
  if (!body) return;
  if (!body->is_object() || !body->contains("count") ||
      !(*body)["count"].is_number_integer() ||
      (*body)["count"].get<int64_t>() < 1 ||
      (*body)["count"].get<int64_t>() > kMaxSeedCount) {
    SetAdminError(response, 400,
                  "\"count\" must be an integer from 1 to " +
                      std::to_string(kMaxSeedCount));
    return;
  }
  std::string prefix = "BENCH-";
  if (body->contains("prefix")) {
    if (!(*body)["prefix"].is_string()) {
      SetAdminError(response, 400, "\"prefix\" must be a string");
      return;
    }
    prefix = (*body)["prefix"].get<std::string>();
  }

  const int count = (*body)["count"].get<int>();
  const std::vector<CustomerCredentials> seeded =
      context.state.Seed(count, prefix);
  nlohmann::json list = nlohmann::json::array();
  for (const CustomerCredentials& credentials : seeded) {
    list.push_back({{"companyId", credentials.company_id},
                    {"clientId", credentials.client_id},
                    {"clientSecret", credentials.client_secret}});
  }
  LogInfo("seeded " + std::to_string(count) +
          " integrated companies with "
          "prefix " +
          Quote(prefix));
  SetJson(response, 200, list);
}

void SetTokenLifetime(const httplib::Request& request,
                      httplib::Response& response, ServerContext& context) {
  const std::optional<nlohmann::json> body = JsonBody(request, response);
  if (!body) return;
  if (!body->is_object() || !body->contains("seconds") ||
      !(*body)["seconds"].is_number_integer() ||
      (*body)["seconds"].get<int64_t>() < 0 ||
      (*body)["seconds"].get<int64_t>() > 86400 * 365) {
    SetAdminError(response, 400,
                  "\"seconds\" must be an integer from 0 to 31536000");
    return;
  }
  const int seconds = (*body)["seconds"].get<int>();
  context.state.SetTokenLifetime(seconds);
  LogInfo("token lifetime set to " + std::to_string(seconds) + " s");
  SetJson(response, 200, {{"seconds", seconds}});
}

void ExpireTokens(const httplib::Request& request, httplib::Response& response,
                  ServerContext& context) {
  const std::optional<nlohmann::json> body = JsonBody(request, response);
  if (!body) return;
  std::string filters[2];
  const char* keys[2] = {"client_id", "company_id"};
  if (!body->is_object()) {
    SetAdminError(response, 400, "request body must be a JSON object");
    return;
  }
  for (int i = 0; i < 2; ++i) {
    if (!body->contains(keys[i])) continue;
    if (!(*body)[keys[i]].is_string()) {
      SetAdminError(response, 400,
                    std::string("\"") + keys[i] + "\" must be a string");
      return;
    }
    filters[i] = (*body)[keys[i]].get<std::string>();
  }
  const int expired = context.state.ExpireTokens(filters[0], filters[1]);
  LogInfo("expired " + std::to_string(expired) + " access tokens");
  SetJson(response, 200, {{"expired", expired}});
}

}  // namespace

void RegisterAdminRoutes(httplib::Server& server, ServerContext& context) {
  server.Post("/fake-admin/faults", [&context](const httplib::Request& request,
                                               httplib::Response& response) {
    AddFaults(request, response, context);
  });
  server.Get("/fake-admin/faults", [&context](const httplib::Request&,
                                              httplib::Response& response) {
    SetJson(response, 200, {{"faults", FaultList(context.faults.List())}});
  });
  server.Delete("/fake-admin/faults", [&context](const httplib::Request&,
                                                 httplib::Response& response) {
    const int cleared = context.faults.Clear();
    LogInfo("cleared " + std::to_string(cleared) + " faults");
    SetJson(response, 200, {{"cleared", cleared}});
  });
  server.Post(
      R"(/fake-admin/companies/([^/]+)/consent)",
      [&context](const httplib::Request& request, httplib::Response& response) {
        RecordConsent(request, response, context);
      });
  server.Post(
      R"(/fake-admin/companies/([^/]+)/disconnect)",
      [&context](const httplib::Request& request, httplib::Response& response) {
        DisconnectCompany(request, response, context);
      });
  server.Post("/fake-admin/seed", [&context](const httplib::Request& request,
                                             httplib::Response& response) {
    Seed(request, response, context);
  });
  server.Put(
      "/fake-admin/token-lifetime",
      [&context](const httplib::Request& request, httplib::Response& response) {
        SetTokenLifetime(request, response, context);
      });
  server.Post(
      "/fake-admin/tokens/expire",
      [&context](const httplib::Request& request, httplib::Response& response) {
        ExpireTokens(request, response, context);
      });
  server.Get("/fake-admin/state",
             [&context](const httplib::Request&, httplib::Response& response) {
               nlohmann::json state = context.state.ToJson();
               state["faults"] = FaultList(context.faults.List());
               SetJson(response, 200, state);
             });
}

}  // namespace srconnect::fake
