// The web pages a customer's admin uses in SmartRecruiters: sign-in,
// Partner Apps with Connect and Disconnect, and the return page that the
// partner redirects back to.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_PAGES_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_PAGES_H_

#include <httplib.h>

#include "faults.h"
#include "server_context.h"

namespace srconnect::fake {

// The session cookie's name.
inline constexpr char kSessionCookie[] = "sr_session";

// Returns the signed-in company, if any.
RequestSubject IdentifyPageRequest(const httplib::Request& request,
                                   ServerContext& context);

// GET /: 302 to /partner-apps.
void HandleRoot(const httplib::Request& request, httplib::Response& response,
                ServerContext& context);

// GET /partner-apps: the sign-in form without a session, else the Partner
// Apps page.
void HandlePartnerApps(const httplib::Request& request,
                       httplib::Response& response, ServerContext& context);

// POST /sign-in (form company, user): starts a session, 303 to
// /partner-apps; 400 page for an unknown company or user.
void HandleSignIn(const httplib::Request& request, httplib::Response& response,
                  ServerContext& context);

// POST /sign-out: ends the session, 303 to /partner-apps.
void HandleSignOut(const httplib::Request& request, httplib::Response& response,
                   ServerContext& context);

// POST /partner-apps/connect (form app): records consent for an admin and
// sends the browser to the consent URL (302 in REDIRECT mode, a pop-up page
// in POPUP mode); 403 page for a user without admin rights.
void HandleConnect(const httplib::Request& request, httplib::Response& response,
                   ServerContext& context);

// POST /partner-apps/disconnect (form app): disconnects the signed-in
// company for an admin, 303 to /partner-apps.
void HandleDisconnect(const httplib::Request& request,
                      httplib::Response& response, ServerContext& context);

// GET /partner-apps/return?app=...&company=...: "<app> is connected" when
// the company is integrated, else "<app> is not connected".
void HandleReturn(const httplib::Request& request, httplib::Response& response,
                  ServerContext& context);

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_PAGES_H_
