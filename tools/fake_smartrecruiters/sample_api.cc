#include "sample_api.h"

#include <optional>
#include <string>

#include "http_util.h"
#include "request_log.h"

namespace srconnect::fake {

RequestSubject IdentifyApiRequest(const httplib::Request& request,
                                  ServerContext& context) {
  RequestSubject subject;
  if (const std::optional<std::string> token = BearerToken(request)) {
    if (const std::optional<TokenOwner> owner =
            context.state.FindLiveToken(*token)) {
      subject.client_id = owner->client_id;
      subject.company_id = owner->company_id;
    }
  }
  return subject;
}

void HandleCompanyConfiguration(const httplib::Request& request,
                                httplib::Response& response,
                                ServerContext& context) {
  const std::optional<std::string> token = BearerToken(request);
  const std::optional<TokenOwner> owner =
      token ? context.state.FindLiveToken(*token) : std::nullopt;
  if (!owner || owner->kind != ClientKind::kCustomer) {
    SetInvalidToken(response, "a live customer access token is required");
    return;
  }
  RequestContext& log_context = CurrentRequestContext();
  log_context.client_id = owner->client_id;
  log_context.company_id = owner->company_id;

  const std::string requested = request.get_param_value("companyId");
  if (!requested.empty() && requested != owner->company_id) {
    SetErrorResponse(response, 403, "company_mismatch",
                     "the access token belongs to another company than \"" +
                         requested + "\"");
    return;
  }
  const std::optional<CompanyView> company =
      context.state.FindCompany(owner->company_id);
  if (!company) {
    SetInvalidToken(response, "the token's company no longer exists");
    return;
  }
  SetJson(response, 200, {{"id", company->id}, {"name", company->name}});
}

}  // namespace srconnect::fake
