// /smartrecruiters/consent: the consentUrl that SmartRecruiters sends the
// admin to, with `companyId` and, in REDIRECT display mode, `redirect`.
//
// GET checks the state cookie and shows the requested permissions with an
// "Allow and continue" form. POST claims the pending consent exactly once,
// gets a master token, makes the setup call for the company, stores the
// customer-level credentials with a first access token, and sends the
// browser to `redirect`, or shows a "connected" page in pop-up mode. A
// repeated or concurrent POST for the same state waits for and shows the
// outcome of the first one.

#ifndef SRCONNECT_LIB_CONSENT_HANDLER_H_
#define SRCONNECT_LIB_CONSENT_HANDLER_H_

#include <cstdint>
#include <functional>

#include "app.h"
#include "fastcgi.h"
#include "secret.h"
#include "sr_client.h"
#include "store.h"

namespace srconnect {

struct ConsentContext {
  const App& app;
  Store& store;
  const SmartRecruitersClient& client;
  const Secret& master_client_secret;
  // Returns the current unix time; read again while waiting for another
  // request's outcome.
  std::function<int64_t()> now;
};

HttpResponse HandleConsent(const ConsentContext& context,
                           const HttpRequest& request);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_CONSENT_HANDLER_H_
