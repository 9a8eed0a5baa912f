// POST /apps-integrations/partner-api/integrations: the setup call
// ("enable integration") that creates a company's customer-level
// credentials.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_SETUP_ENDPOINT_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_SETUP_ENDPOINT_H_

#include <httplib.h>

#include "faults.h"
#include "server_context.h"

namespace srconnect::fake {

// Returns the bearer token's client id and the body's company id, as far
// as they can be read.
RequestSubject IdentifySetupRequest(const httplib::Request& request,
                                    ServerContext& context);

// Checks, in order: bearer token (401), master token with the partner scope
// (403), body (400), company (404), live consent (403), not yet integrated
// (409); then creates the credentials and returns 200
// {"clientId","clientSecret"}.
void HandleSetupRequest(const httplib::Request& request,
                        httplib::Response& response, ServerContext& context);

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_SETUP_ENDPOINT_H_
