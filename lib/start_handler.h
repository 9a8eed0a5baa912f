// GET /smartrecruiters/start: the "Reintegrate SmartRecruiters" link.
//
// Accepts a signed account link, records a pending consent, sets the state
// cookie and redirects the admin to the SmartRecruiters Partner Apps page.

#ifndef SRCONNECT_LIB_START_HANDLER_H_
#define SRCONNECT_LIB_START_HANDLER_H_

#include <cstdint>

#include "app.h"
#include "fastcgi.h"
#include "store.h"

namespace srconnect {

HttpResponse HandleStart(const App& app, Store& store,
                         const HttpRequest& request, int64_t now);

// Returns the 403 page for a missing, expired or tampered account link.
// `problem` names the defect. The status page uses it too.
HttpResponse AccountLinkRejected(const App& app, const std::string& problem);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_START_HANDLER_H_
