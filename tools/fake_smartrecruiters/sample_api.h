// GET /configuration/company: a sample SmartRecruiters API call that needs
// a customer-level access token.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_SAMPLE_API_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_SAMPLE_API_H_

#include <httplib.h>

#include "faults.h"
#include "server_context.h"

namespace srconnect::fake {

// Returns the bearer token's client id and company.
RequestSubject IdentifyApiRequest(const httplib::Request& request,
                                  ServerContext& context);

// Returns 200 {"id","name"} for a live customer token, 401 otherwise, and
// 403 when a `companyId` query parameter names another company.
void HandleCompanyConfiguration(const httplib::Request& request,
                                httplib::Response& response,
                                ServerContext& context);

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_SAMPLE_API_H_
