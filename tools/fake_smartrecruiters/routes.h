// Route table of the fake: every endpoint behind fault injection, the
// admin API, the request log and the loopback check for /fake-admin/.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_ROUTES_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_ROUTES_H_

#include <httplib.h>

#include "request_log.h"
#include "server_context.h"

namespace srconnect::fake {

// Registers all handlers, the pre-routing check, the exception handler and
// (when `log` is not null) the request logger on `server`. `context` and
// `log` must outlive the server.
void RegisterRoutes(httplib::Server& server, ServerContext& context,
                    RequestLog* log);

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_ROUTES_H_
