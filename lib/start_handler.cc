#include "start_handler.h"

#include <string>

#include "crypto.h"
#include "log.h"
#include "pages.h"
#include "web_auth.h"

namespace srconnect {

HttpResponse AccountLinkRejected(const App& app, const std::string& problem) {
  Page page;
  page.title = "Link not valid";
  page.tone = "error";
  page.headline = "This link is not valid";
  page.paragraphs = {
      "The link that opened this page could not be verified: " + problem + ".",
      "Open this page again from Company Settings in " +
          app.config.partner.app_name + ". Links from Company Settings are "
          "valid for a short time only."};
  if (!app.config.partner.settings_url.empty()) {
    page.links.push_back({"Company Settings", app.config.partner.settings_url});
  }
  return PageResponse(403, page);
}

HttpResponse HandleStart(const App& app, Store& store,
                         const HttpRequest& request, int64_t now) {
  if (request.method != "GET") {
    return HttpResponse::Text(405, "only GET is allowed here\n");
  }
  Result<std::string> account =
      ReadAccountLink(request, app.link_secret, now);
  if (!account.ok()) {
    LogNotice("start: account link rejected from " +
              Quote(request.remote_addr) + ": " + account.error());
    return AccountLinkRejected(app, account.error());
  }

  Result<std::string> state = RandomToken(kStateBytes);
  if (!state.ok()) {
    LogError("start: " + state.error());
    return HttpResponse::Text(500, "internal error\n");
  }
  const int64_t ttl_s = app.config.consent.state_ttl_s;
  const std::string state_id = StateId(app.state_key, *state);
  Status created =
      store.CreatePendingConsent(*account, state_id, now, now + ttl_s);
  if (!created.ok()) {
    LogError("start: recording the consent of account " + Quote(*account) +
             " failed: " + created.message());
    Page page;
    page.title = "Try again";
    page.tone = "error";
    page.headline = "The connection could not be started";
    page.paragraphs = {"Retry from Company Settings in a minute. If this "
                       "keeps happening, contact your administrator."};
    return PageResponse(503, page);
  }

  HttpResponse response =
      HttpResponse::Redirect(app.config.smartrecruiters.partner_apps_url);
  Cookie cookie;
  cookie.name = kStateCookieName;
  cookie.value = *state;
  cookie.path = kStateCookiePath;
  cookie.max_age_s = ttl_s;
  cookie.secure = app.config.consent.cookie_secure;
  response.SetCookie(cookie);
  LogInfo("start: consent started for account " + Quote(*account) +
          ", state " + Quote(state_id.substr(0, 8)));
  return response;
}

}  // namespace srconnect
