// GET /smartrecruiters/status: one account's connection, as HTML for people
// or JSON for programs (Accept: application/json, or ?format=json).
//
// JSON fields: account_id, state, reason, company_id, connected_since,
// token_expires_at, last_success_at, next_renewal_at (unix seconds, 0 for
// none), token_valid (false when the token has expired, as while a
// degraded connection keeps failing) and action ("none", "wait" or
// "reintegrate").

#ifndef SRCONNECT_LIB_STATUS_HANDLER_H_
#define SRCONNECT_LIB_STATUS_HANDLER_H_

#include <cstdint>
#include <optional>

#include "app.h"
#include "fastcgi.h"
#include "store.h"

namespace srconnect {

HttpResponse HandleStatus(const App& app, Store& store,
                          const HttpRequest& request, int64_t now);

// Returns when the next renewal is planned: the retry time of a degraded
// connection, else `margin_s` before the token expires, 0 when none is.
int64_t NextRenewalAt(const Connection& connection, int64_t margin_s);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_STATUS_HANDLER_H_
