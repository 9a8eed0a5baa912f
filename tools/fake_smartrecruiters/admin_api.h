// The admin API under /fake-admin/: tests add and clear faults, record
// consent, disconnect and seed companies, change the token lifetime and
// read the state. JSON in and out; errors are {"error": "..."}.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_ADMIN_API_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_ADMIN_API_H_

#include <httplib.h>

#include "server_context.h"

namespace srconnect::fake {

// Registers the /fake-admin/ routes. The loopback check on the peer is
// done in the server's pre-routing handler, so it also covers unknown
// admin paths.
void RegisterAdminRoutes(httplib::Server& server, ServerContext& context);

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_ADMIN_API_H_
