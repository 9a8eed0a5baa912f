#include "setup_endpoint.h"

#include <algorithm>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "http_util.h"
#include "log.h"
#include "request_log.h"

namespace srconnect::fake {
namespace {

// The setup call's body. NOTE: SmartRecruiters does not publish this
// schema; the field names come from config setup_request_fields (default
// companyId, clientId, clientSecret, after its ClientCredentials schema).
struct SetupBody {
  std::string company_id;
  std::string partner_client_id;      // empty when not given
  std::string partner_client_secret;  // empty when not given
};

// Returns the string at `key`, nullopt when absent; sets `error` for a
// value that is not a non-empty string.
std::optional<std::string> OptionalString(const nlohmann::json& body,
                                          const std::string& key,
                                          std::string& error) {
  if (!body.contains(key)) return std::nullopt;
  const nlohmann::json& value = body[key];
  if (!value.is_string() || value.get<std::string>().empty()) {
    if (error.empty()) error = "\"" + key + "\" must be a non-empty string";
    return std::nullopt;
  }
  return value.get<std::string>();
}

Result<SetupBody> ParseSetupBody(const std::string& text,
                                 const PartnerApp& app) {
  const nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return Status::Error("request body must be a JSON object");
  }
  const SetupRequestFields& names = app.setup_request_fields;
  std::string error;
  const std::optional<std::string> company =
      OptionalString(body, names.company_id, error);
  const std::optional<std::string> client_id =
      OptionalString(body, names.client_id, error);
  const std::optional<std::string> client_secret =
      OptionalString(body, names.client_secret, error);
  if (!error.empty()) return Status::Error(error);

  if (!company) {
    return Status::Error("\"" + names.company_id + "\" is missing");
  }
  if (client_id.has_value() != client_secret.has_value()) {
    return Status::Error("give both \"" + names.client_id + "\" and \"" +
                         names.client_secret + "\", or neither");
  }
  if (!client_id && app.partner_credentials_required) {
    return Status::Error("\"" + names.client_id + "\" and \"" +
                         names.client_secret + "\" are required");
  }
  return SetupBody{*company, client_id.value_or(""),
                   client_secret.value_or("")};
}

bool HasScope(const TokenOwner& owner, const std::string& scope) {
  return std::find(owner.scopes.begin(), owner.scopes.end(), scope) !=
         owner.scopes.end();
}

}  // namespace

RequestSubject IdentifySetupRequest(const httplib::Request& request,
                                    ServerContext& context) {
  RequestSubject subject;
  if (const std::optional<std::string> token = BearerToken(request)) {
    if (const std::optional<TokenOwner> owner =
            context.state.FindLiveToken(*token)) {
      subject.client_id = owner->client_id;
    }
  }
  const nlohmann::json body =
      nlohmann::json::parse(request.body, nullptr, false);
  const std::string& key = context.state.app().setup_request_fields.company_id;
  if (body.is_object() && body.contains(key) && body[key].is_string()) {
    subject.company_id = body[key].get<std::string>();
  }
  return subject;
}

void HandleSetupRequest(const httplib::Request& request,
                        httplib::Response& response, ServerContext& context) {
  const PartnerApp& app = context.state.app();
  RequestContext& log_context = CurrentRequestContext();

  const std::optional<std::string> token = BearerToken(request);
  if (!token) {
    LogInfo("setup call rejected: no bearer token");
    SetInvalidToken(response, "Authorization: Bearer token is missing");
    return;
  }
  const std::optional<TokenOwner> owner = context.state.FindLiveToken(*token);
  if (!owner) {
    LogInfo("setup call rejected: unknown or expired access token");
    SetInvalidToken(response, "access token is invalid or expired");
    return;
  }
  log_context.client_id = owner->client_id;
  if (owner->kind != ClientKind::kMaster ||
      !HasScope(*owner, app.partner_scope)) {
    LogInfo("setup call rejected: token of client " + Quote(owner->client_id) +
            " lacks scope " + Quote(app.partner_scope));
    SetErrorResponse(response, 403, "insufficient_scope",
                     "access token lacks scope " + app.partner_scope +
                         "; use a token issued to the master credentials");
    return;
  }

  Result<SetupBody> body = ParseSetupBody(request.body, app);
  if (!body.ok()) {
    LogInfo("setup call rejected: invalid body: " + body.error());
    SetErrorResponse(response, 400, "invalid_body", body.error());
    return;
  }
  const std::string& company = body->company_id;
  log_context.company_id = company;

  const SetupResult result =
      context.state.Setup(company, body->partner_client_id);
  switch (result.outcome) {
    case SetupOutcome::kUnknownCompany:
      LogInfo("setup call rejected: company " + Quote(company) + " not found");
      SetErrorResponse(response, 404, "company_not_found",
                       "company \"" + company + "\" not found");
      return;
    case SetupOutcome::kNoConsent:
      LogInfo("setup call rejected: company " + Quote(company) +
              " has not given consent");
      SetErrorResponse(response, 403, "consent_missing",
                       "company \"" + company + "\" has not given consent to " +
                           app.name + "; an admin must click Connect first");
      return;
    case SetupOutcome::kAlreadyIntegrated:
      LogInfo("setup call rejected: company " + Quote(company) +
              " is already integrated");
      SetErrorResponse(response, 409, "already_integrated",
                       app.name + " is already integrated for company \"" +
                           company + "\"; disconnect it first");
      return;
    case SetupOutcome::kCreated:
      break;
  }

  LogInfo("setup created credentials for company " + Quote(company) +
          ": client " + Quote(result.credentials.client_id));
  SetJson(response, 200,
          {{"clientId", result.credentials.client_id},
           {"clientSecret", result.credentials.client_secret}});
}

}  // namespace srconnect::fake
