// POST /identity/oauth/token: the OAuth 2.0 client credentials grant
// (RFC 6749 section 4.4) for master and customer-level credentials.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_TOKEN_ENDPOINT_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_TOKEN_ENDPOINT_H_

#include <httplib.h>

#include "faults.h"
#include "server_context.h"

namespace srconnect::fake {

// Returns the client id named by the request (form or Basic auth) and the
// company of those customer credentials, for fault selectors and counters.
RequestSubject IdentifyTokenRequest(const httplib::Request& request,
                                    ServerContext& context);

// Issues a token, or returns the RFC 6749 section 5.2 errors:
// 400 invalid_request, 400 unsupported_grant_type, 401 invalid_client.
void HandleTokenRequest(const httplib::Request& request,
                        httplib::Response& response, ServerContext& context);

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_TOKEN_ENDPOINT_H_
