#include "consent_handler.h"

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>

#include "log.h"
#include "pages.h"
#include "validation.h"
#include "web_auth.h"

namespace srconnect {
namespace {

// Outcome codes stored with a finished consent, so that a repeated POST
// shows the same page as the first.
constexpr char kCodeConnected[] = "connected";
constexpr char kCodeConsentMissing[] = "consent_missing";
constexpr char kCodeAlreadyIntegrated[] = "already_integrated";
constexpr char kCodeUnavailable[] = "smartrecruiters_unavailable";
constexpr char kCodeBadResponse[] = "bad_response";
constexpr char kCodeTls[] = "tls_error";
constexpr char kCodeMasterRejected[] = "master_credentials_rejected";
constexpr char kCodeStoreFailed[] = "store_failed";

// A consent request whose parameters, cookie and pending consent checked
// out.
struct ConsentRequest {
  std::string company_id;
  std::string redirect;  // empty in pop-up display mode
  std::string state;
  std::string state_id;
  PendingConsent consent;
};

Page BasePage(const App& app, const std::string& title) {
  Page page;
  page.title = title;
  if (!app.config.partner.settings_url.empty()) {
    page.links.push_back({"Company Settings", app.config.partner.settings_url});
  }
  return page;
}

HttpResponse ErrorPage(const App& app, int status, const std::string& headline,
                       std::vector<std::string> paragraphs) {
  Page page = BasePage(app, headline);
  page.tone = "error";
  page.headline = headline;
  page.paragraphs = std::move(paragraphs);
  return PageResponse(status, page);
}

HttpResponse BadParameterPage(const App& app, const std::string& problem) {
  return ErrorPage(
      app, 400, "This request cannot be used",
      {"The link from SmartRecruiters is not valid: " + problem + ".",
       "Go back to Company Settings in " + app.config.partner.app_name +
           " and click Reintegrate SmartRecruiters to start again."});
}

HttpResponse CookieMissingPage(const App& app) {
  return ErrorPage(
      app, 400, "Your browser did not send the connection cookie",
      {"The connection has to start in " + app.config.partner.app_name +
           ", which sets a short-lived cookie that this page needs. Either "
           "the connection was not started from Company Settings, or the "
           "browser blocks cookies for this site.",
       "Allow cookies for this site, then retry from Company Settings: "
       "click Reintegrate SmartRecruiters."});
}

HttpResponse ConsentExpiredPage(const App& app) {
  return ErrorPage(
      app, 400, "This connection request has expired",
      {"Connection requests are valid for " +
           std::to_string(app.config.consent.state_ttl_s / 60) +
           " minutes and can be used once.",
       "Retry from Company Settings: click Reintegrate SmartRecruiters."});
}

HttpResponse CompanyTakenPage(const App& app, const std::string& company_id) {
  return ErrorPage(
      app, 409, "This SmartRecruiters company is connected to another account",
      {"SmartRecruiters company " + company_id + " is already connected to "
       "a different " + app.config.partner.app_name + " account. A company "
       "can be connected to one account only.",
       "Disconnect it from the other account first, or contact your "
       "administrator."});
}

HttpResponse FailurePage(const App& app, const std::string& code,
                         const std::string& company_id) {
  const std::string& product = app.config.partner.app_name;
  if (code == kCodeConsentMissing) {
    return ErrorPage(
        app, 403, "SmartRecruiters did not allow the connection",
        {"SmartRecruiters answered that company " + company_id +
             " has not granted consent to " + product +
             ", or that the user who clicked Connect lacks the rights to do "
             "so.",
         "Ensure you have Admin (or Super Admin) access in SmartRecruiters, "
         "then retry from Company Settings: click Reintegrate "
         "SmartRecruiters and Connect again."});
  }
  if (code == kCodeAlreadyIntegrated) {
    return ErrorPage(
        app, 409, "SmartRecruiters reports that " + product +
                      " is already connected",
        {"SmartRecruiters already has a connection to " + product +
             " for company " + company_id + " and did not issue new "
             "credentials.",
         "Disconnect " + product + " on the SmartRecruiters Partner Apps "
         "page, then retry from Company Settings: click Reintegrate "
         "SmartRecruiters."});
  }
  if (code == kCodeUnavailable) {
    return ErrorPage(
        app, 503, "SmartRecruiters could not be reached",
        {"SmartRecruiters did not answer in time or answered with an error. "
         "Nothing was changed.",
         "Wait a minute, then retry from Company Settings: click "
         "Reintegrate SmartRecruiters."});
  }
  if (code == kCodeStoreFailed) {
    return ErrorPage(
        app, 503, "The connection could not be saved",
        {"SmartRecruiters issued credentials, but saving them failed, so "
         "nothing was stored.",
         "Retry from Company Settings. If SmartRecruiters then reports "
         "that " + product + " is already connected, disconnect it on the "
         "Partner Apps page first."});
  }
  // The remaining codes are problems of this service's set-up, which the
  // admin cannot fix.
  std::string headline = "SmartRecruiters sent an unexpected answer";
  if (code == kCodeTls) {
    headline = "The secure connection to SmartRecruiters failed";
  } else if (code == kCodeMasterRejected) {
    headline = "SmartRecruiters rejected " + product + "'s partner credentials";
  }
  return ErrorPage(
      app, 502, headline,
      {"Nothing was stored. This is a problem on the " + product +
           " side, not in your SmartRecruiters account.",
       "Retry from Company Settings later. If it fails again, contact " +
           product + " support."});
}

std::string CodeForOutcome(Outcome outcome) {
  switch (outcome) {
    case Outcome::kConsentMissing:
      return kCodeConsentMissing;
    case Outcome::kAlreadyIntegrated:
      return kCodeAlreadyIntegrated;
    case Outcome::kTransient:
      return kCodeUnavailable;
    case Outcome::kTlsError:
      return kCodeTls;
    case Outcome::kDeadCredentials:
      return kCodeMasterRejected;
    case Outcome::kOk:
    case Outcome::kBadResponse:
      break;
  }
  return kCodeBadResponse;
}

// Clears the state cookie: a finished consent's state is of no further use.
void ClearStateCookie(const App& app, HttpResponse& response) {
  Cookie cookie;
  cookie.name = kStateCookieName;
  cookie.value = "";
  cookie.path = kStateCookiePath;
  cookie.max_age_s = 0;
  cookie.secure = app.config.consent.cookie_secure;
  response.SetCookie(cookie);
}

HttpResponse SuccessResponse(const App& app, const ConsentRequest& request) {
  HttpResponse response;
  if (!request.redirect.empty()) {
    response = HttpResponse::Redirect(request.redirect);
  } else {
    // Pop-up display mode: SmartRecruiters adds no redirect, so the window
    // ends here.
    Page page = BasePage(app, "Connected");
    page.tone = "ok";
    page.headline = app.config.partner.app_name + " is connected";
    page.paragraphs = {"SmartRecruiters company " + request.company_id +
                           " is connected.",
                       "Connected, you can close this window."};
    response = PageResponse(200, page);
  }
  ClearStateCookie(app, response);
  return response;
}

// Shows what became of a consent that another request already claimed.
HttpResponse OutcomePage(const App& app, const ConsentRequest& request,
                         const PendingConsent& consent) {
  switch (consent.status) {
    case ConsentStatus::kSucceeded:
      return SuccessResponse(app, request);
    case ConsentStatus::kFailed:
      return FailurePage(app, consent.outcome_code, consent.company_id);
    case ConsentStatus::kOpen:
    case ConsentStatus::kInProgress:
      break;
  }
  return ErrorPage(app, 503, "The connection is still being set up",
                   {"Another request for this connection is still talking to "
                    "SmartRecruiters.",
                    "Open the status page from Company Settings in a minute "
                    "to see the result."});
}

// Reads and checks companyId, redirect, the state cookie and the pending
// consent. Returns the checked request, or the error page to send.
std::variant<ConsentRequest, HttpResponse> ReadConsentRequest(
    const ConsentContext& context, const HttpRequest& http,
    const Params& params) {
  const App& app = context.app;
  auto company = params.GetOne("companyId");
  if (!company.ok()) return BadParameterPage(app, company.error());
  if (!company->has_value()) {
    return BadParameterPage(app, "the companyId parameter is missing");
  }
  Status company_valid = ValidateCompanyId(**company);
  if (!company_valid.ok()) return BadParameterPage(app, company_valid.message());

  auto redirect = params.GetOne("redirect");
  if (!redirect.ok()) return BadParameterPage(app, redirect.error());
  if (redirect->has_value()) {
    Status redirect_valid =
        ValidateRedirect(**redirect, app.config.smartrecruiters.web_base);
    if (!redirect_valid.ok()) {
      LogWarning("consent: rejected redirect for company " + Quote(**company) +
                 ": " + redirect_valid.message());
      return BadParameterPage(app, redirect_valid.message());
    }
  }

  auto cookie = http.cookies.find(kStateCookieName);
  if (cookie == http.cookies.end() || cookie->second.empty()) {
    LogNotice("consent: no state cookie for company " + Quote(**company));
    return CookieMissingPage(app);
  }
  ConsentRequest request;
  request.company_id = **company;
  request.redirect = redirect->value_or("");
  request.state = cookie->second;
  request.state_id = StateId(app.state_key, request.state);

  auto consent = context.store.FindPendingConsent(request.state_id);
  if (!consent.ok()) {
    LogError("consent: reading state " + Quote(request.state_id.substr(0, 8)) +
             " failed: " + consent.error());
    return FailurePage(app, kCodeStoreFailed, request.company_id);
  }
  if (!consent->has_value()) {
    LogNotice("consent: unknown state " + Quote(request.state_id.substr(0, 8)));
    return ConsentExpiredPage(app);
  }
  request.consent = **consent;
  return request;
}

std::string ScopeList(const App& app) {
  std::string html = "<ul class=\"scopes\">";
  for (const std::string& scope : app.config.smartrecruiters.scopes) {
    html += "<li>" + HtmlEscape(scope) + "</li>";
  }
  return html + "</ul>\n";
}

// Returns the consent form. With `replacing_company` set, the form also
// requests that the admin confirm moving the account's connection to the
// new company.
HttpResponse ConsentForm(const App& app, const ConsentRequest& request,
                         const std::string& csrf_token,
                         const std::string& replacing_company) {
  const std::string& product = app.config.partner.app_name;
  Page page = BasePage(app, "Allow " + product);
  page.headline = "Allow " + product + " to access SmartRecruiters";
  page.paragraphs = {product + " requests these permissions for "
                     "SmartRecruiters company " + request.company_id + ":"};
  page.body_html = ScopeList(app);
  if (!replacing_company.empty()) {
    page.body_html +=
        "<p class=\"error\">This account is connected to SmartRecruiters "
        "company " + HtmlEscape(replacing_company) + ". Continuing replaces "
        "that connection with company " + HtmlEscape(request.company_id) +
        ".</p>\n";
  }
  page.body_html +=
      "<form method=\"post\" action=\"/smartrecruiters/consent\">"
      "<input type=\"hidden\" name=\"companyId\" value=\"" +
      HtmlEscape(request.company_id) + "\">";
  if (!request.redirect.empty()) {
    page.body_html += "<input type=\"hidden\" name=\"redirect\" value=\"" +
                      HtmlEscape(request.redirect) + "\">";
  }
  if (!replacing_company.empty()) {
    page.body_html += "<input type=\"hidden\" name=\"replace\" value=\"1\">";
  }
  page.body_html += "<input type=\"hidden\" name=\"csrf\" value=\"" +
                    HtmlEscape(csrf_token) + "\">";
  page.body_html += std::string("<button type=\"submit\">") +
                    (replacing_company.empty() ? "Allow and continue"
                                               : "Replace and continue") +
                    "</button>";
  if (!request.redirect.empty()) {
    // Cancelling calls nothing at SmartRecruiters; it only goes back.
    page.body_html += " <a class=\"button secondary\" href=\"" +
                      HtmlEscape(request.redirect) + "\">Cancel</a>";
  }
  page.body_html += "</form>\n";
  return PageResponse(200, page);
}

// Returns a page when the company or the account is already tied to
// another connection, nullopt when the consent may go on.
std::optional<HttpResponse> CheckConflicts(const ConsentContext& context,
                                           const ConsentRequest& request,
                                           bool replace_confirmed,
                                           const std::string& csrf_token) {
  const App& app = context.app;
  const std::string& account = request.consent.account_id;
  auto by_company = context.store.FindConnectionByCompany(request.company_id);
  auto by_account = context.store.FindConnectionByAccount(account);
  if (!by_company.ok() || !by_account.ok()) {
    LogError("consent: reading connections of company " +
             Quote(request.company_id) + " failed: " +
             (by_company.ok() ? by_account.error() : by_company.error()));
    return FailurePage(app, kCodeStoreFailed, request.company_id);
  }
  const std::optional<Connection>& company_owner = *by_company;
  if (company_owner && company_owner->account_id != account &&
      company_owner->state != ConnectionState::kDisconnected) {
    LogNotice("consent: company " + Quote(request.company_id) +
              " is connected to another account; refused for account " +
              Quote(account));
    return CompanyTakenPage(app, request.company_id);
  }
  const std::optional<Connection>& current = *by_account;
  if (!replace_confirmed && current && !current->company_id.empty() &&
      current->company_id != request.company_id &&
      current->state != ConnectionState::kDisconnected) {
    return ConsentForm(app, request, csrf_token, current->company_id);
  }
  return std::nullopt;
}

// Polls a consent that another request claimed until it finishes, for at
// most `limit_s` seconds.
PendingConsent AwaitOutcome(const ConsentContext& context,
                            const ConsentRequest& request, int64_t limit_s) {
  PendingConsent latest = request.consent;
  const int64_t deadline = context.now() + limit_s;
  while (context.now() < deadline) {
    auto consent = context.store.FindPendingConsent(request.state_id);
    if (consent.ok() && consent->has_value()) {
      latest = **consent;
      if (latest.status == ConsentStatus::kSucceeded ||
          latest.status == ConsentStatus::kFailed) {
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return latest;
}

HttpResponse FinishFailed(const ConsentContext& context,
                          const ConsentRequest& request,
                          const std::string& code, const std::string& what) {
  LogWarning("consent: company " + Quote(request.company_id) +
             " for account " + Quote(request.consent.account_id) +
             " failed: " + what);
  Status finished = context.store.FinishPendingConsent(request.state_id, false,
                                                       code, what);
  if (!finished.ok()) {
    LogError("consent: recording the outcome of state " +
             Quote(request.state_id.substr(0, 8)) +
             " failed: " + finished.message());
  }
  return FailurePage(context.app, code, request.company_id);
}

// Runs the credential exchange for a claimed consent.
HttpResponse ExchangeCredentials(const ConsentContext& context,
                                 const ConsentRequest& request,
                                 bool replacing) {
  const App& app = context.app;
  const SmartRecruitersClient& client = context.client;

  CallResult<AccessToken> master =
      client.RequestToken(app.config.smartrecruiters.master_client_id,
                          context.master_client_secret);
  if (!master.ok()) {
    return FinishFailed(context, request, CodeForOutcome(master.outcome()),
                        "master token: " + master.error().message);
  }

  CallResult<CustomerCredentials> credentials =
      client.EnableIntegration(master.value().token, request.company_id);
  if (!credentials.ok()) {
    std::string code = CodeForOutcome(credentials.outcome());
    // A rejected master token on the setup call is a partner problem too.
    if (credentials.outcome() == Outcome::kDeadCredentials) {
      code = kCodeMasterRejected;
    }
    return FinishFailed(context, request, code,
                        "setup call: " + credentials.error().message);
  }

  // The first customer token proves the new credentials. SmartRecruiters
  // has issued them already and will not issue them again (it returns 409),
  // so they are stored even when this proof fails, and the connection then
  // starts degraded or needing reintegration instead of being lost.
  const CustomerCredentials& issued = credentials.value();
  CallResult<AccessToken> first =
      client.RequestToken(issued.client_id, issued.client_secret);
  const int64_t now = context.now();
  Secret access_token;
  int64_t expires_at = 0;
  if (first.ok()) {
    access_token = first.value().token;
    expires_at = now + first.value().expires_in_s;
  }
  Result<int64_t> connection_id = context.store.StoreCredentials(
      request.consent.account_id, request.company_id, issued.client_id,
      issued.client_secret, access_token, expires_at, now, "callback",
      replacing ? "connected, replacing another company" : "connected");
  if (!connection_id.ok()) {
    return FinishFailed(context, request, kCodeStoreFailed,
                        "storing credentials: " + connection_id.error());
  }

  if (!first.ok()) {
    const bool dead = first.outcome() == Outcome::kDeadCredentials;
    const ConnectionState state = dead ? ConnectionState::kNeedsReintegration
                                       : ConnectionState::kDegraded;
    const std::string reason =
        "first access token failed: " + first.error().message;
    Status set = context.store.SetState(*connection_id, state, reason,
                                        "callback", now);
    LogWarning("consent: company " + Quote(request.company_id) +
               " stored as " + std::string(StateName(state)) + ": " + reason +
               (set.ok() ? "" : "; recording the state failed: " +
                                    set.message()));
  }

  Status finished = context.store.FinishPendingConsent(
      request.state_id, true, kCodeConnected, "connected");
  if (!finished.ok()) {
    LogError("consent: recording the outcome of state " +
             Quote(request.state_id.substr(0, 8)) +
             " failed: " + finished.message());
  }
  LogInfo("consent: company " + Quote(request.company_id) +
          " connected to account " + Quote(request.consent.account_id) +
          " (connection " + std::to_string(*connection_id) + ", client " +
          Quote(issued.client_id) + ", token " +
          access_token.Fingerprint() + ")");
  return SuccessResponse(app, request);
}

HttpResponse HandleGet(const ConsentContext& context, const HttpRequest& http) {
  auto checked = ReadConsentRequest(context, http, http.query);
  if (auto* page = std::get_if<HttpResponse>(&checked)) return *page;
  const ConsentRequest& request = std::get<ConsentRequest>(checked);

  if (request.consent.status != ConsentStatus::kOpen) {
    return OutcomePage(context.app, request, request.consent);
  }
  if (request.consent.expires_at <= context.now()) {
    return ConsentExpiredPage(context.app);
  }
  const std::string csrf =
      CsrfToken(context.app.state_key, request.state, request.company_id);
  if (auto conflict = CheckConflicts(context, request, false, csrf)) {
    return *conflict;
  }
  return ConsentForm(context.app, request, csrf, "");
}

HttpResponse HandlePost(const ConsentContext& context,
                        const HttpRequest& http) {
  const App& app = context.app;
  auto checked = ReadConsentRequest(context, http, http.form);
  if (auto* page = std::get_if<HttpResponse>(&checked)) return *page;
  const ConsentRequest& request = std::get<ConsentRequest>(checked);

  auto csrf = http.form.GetOne("csrf");
  if (!csrf.ok() || !csrf->has_value() ||
      !VerifyCsrfToken(app.state_key, request.state, request.company_id,
                       **csrf)) {
    LogWarning("consent: CSRF token rejected for company " +
               Quote(request.company_id));
    return ErrorPage(app, 403, "This form cannot be used",
                     {"The form was changed, or it belongs to another "
                      "connection request.",
                      "Retry from Company Settings: click Reintegrate "
                      "SmartRecruiters."});
  }
  auto replace = http.form.GetOne("replace");
  const bool replace_confirmed =
      replace.ok() && replace->has_value() && **replace == "1";

  if (request.consent.status == ConsentStatus::kOpen) {
    if (auto conflict =
            CheckConflicts(context, request, replace_confirmed, **csrf)) {
      return *conflict;
    }
  }

  Result<ClaimResult> claim = context.store.ClaimPendingConsent(
      request.state_id, request.company_id, context.now());
  if (!claim.ok()) {
    LogError("consent: claiming state " +
             Quote(request.state_id.substr(0, 8)) +
             " failed: " + claim.error());
    return FailurePage(app, kCodeStoreFailed, request.company_id);
  }
  switch (*claim) {
    case ClaimResult::kClaimed:
      return ExchangeCredentials(context, request, replace_confirmed);
    case ClaimResult::kAlreadyClaimed: {
      // Three calls to SmartRecruiters, each bounded by the timeouts.
      const auto& sr = app.config.smartrecruiters;
      const int64_t limit_s =
          3 * (sr.connect_timeout_ms + sr.read_timeout_ms) / 1000 + 5;
      return OutcomePage(app, request, AwaitOutcome(context, request, limit_s));
    }
    case ClaimResult::kNotFound:
    case ClaimResult::kExpired:
      break;
  }
  return ConsentExpiredPage(app);
}

}  // namespace

HttpResponse HandleConsent(const ConsentContext& context,
                           const HttpRequest& request) {
  if (request.method == "GET") return HandleGet(context, request);
  if (request.method == "POST") return HandlePost(context, request);
  return HttpResponse::Text(405, "only GET and POST are allowed here\n");
}

}  // namespace srconnect
