#include "pages.h"

#include <map>
#include <optional>
#include <string>

#include "encoding.h"
#include "html.h"
#include "http_util.h"
#include "log.h"
#include "request_log.h"

namespace srconnect::fake {
namespace {

std::optional<Session> CurrentSession(const httplib::Request& request,
                                      ServerContext& context) {
  const std::optional<std::string> id = Cookie(request, kSessionCookie);
  if (!id) return std::nullopt;
  return context.state.FindSession(*id);
}

// Returns the form fields of a urlencoded POST body; empty when the body is
// malformed, which the callers then treat as missing fields.
std::map<std::string, std::string> FormFields(const httplib::Request& request) {
  Result<std::map<std::string, std::string>> form = ParseForm(request.body);
  if (!form.ok()) return {};
  return *form;
}

std::string Field(const std::map<std::string, std::string>& form,
                  const std::string& name) {
  const auto found = form.find(name);
  return found == form.end() ? "" : found->second;
}

std::optional<SignedInUser> HeaderUser(const std::optional<Session>& session,
                                       ServerContext& context) {
  if (!session) return std::nullopt;
  const std::optional<CompanyView> company =
      context.state.FindCompany(session->company_id);
  return SignedInUser{session->user_name,
                      company ? company->name : session->company_id};
}

void SeeOther(httplib::Response& response, const std::string& location) {
  response.status = 303;
  response.set_header("Location", location);
}

void SetMessagePage(httplib::Response& response, int status,
                    const std::optional<Session>& session,
                    ServerContext& context, const std::string& kind,
                    const std::string& heading, const std::string& text) {
  SetHtml(response, status,
          RenderPage(heading, HeaderUser(session, context),
                     RenderMessageCard(kind, heading, text)));
}

std::string ReturnUrl(const ServerContext& context,
                      const std::string& company_id) {
  return context.public_url +
         "/partner-apps/return?app=" + UrlEncode(context.state.app().id) +
         "&company=" + UrlEncode(company_id);
}

// Returns consent_url with companyId and, when `return_url` is not empty,
// redirect added to its query.
std::string ConsentUrl(const PartnerApp& app, const std::string& company_id,
                       const std::string& return_url) {
  std::string url = app.consent_url;
  url += url.find('?') == std::string::npos ? "?" : "&";
  url += "companyId=" + UrlEncode(company_id);
  if (!return_url.empty()) url += "&redirect=" + UrlEncode(return_url);
  return url;
}

std::string RenderSignIn(ServerContext& context) {
  std::string body =
      "<h1>Sign in to SmartRecruiters</h1>\n"
      "<p class=\"muted\">Test double: pick a company and a user.</p>\n";
  for (const CompanyView& company : context.state.ConfiguredCompanies()) {
    body +=
        "<div class=\"card\"><form method=\"post\" action=\"/sign-in\">"
        "<h2>" +
        HtmlEscape(company.name) + " <span class=\"muted\">(" +
        HtmlEscape(company.id) +
        ")</span></h2>"
        "<input type=\"hidden\" name=\"company\" value=\"" +
        HtmlEscape(company.id) + "\"><label>User</label><select name=\"user\">";
    for (const User& user : company.users) {
      body += "<option value=\"" + HtmlEscape(user.name) + "\">" +
              HtmlEscape(user.name) + (user.admin ? " (Admin)" : "") +
              "</option>";
    }
    body += "</select> <button type=\"submit\">Sign in</button></form></div>\n";
  }
  return RenderPage("Sign in", std::nullopt, body);
}

std::string RenderPartnerApps(const Session& session, ServerContext& context) {
  const PartnerApp& app = context.state.app();
  const std::optional<CompanyView> company =
      context.state.FindCompany(session.company_id);
  const bool connected = company && company->integrated;

  std::string scopes;
  for (const std::string& scope : app.scopes) {
    scopes += "<li>" + HtmlEscape(scope) + "</li>";
  }
  const std::string action = connected ? "disconnect" : "connect";
  const std::string button =
      connected ? "<button class=\"secondary\" type=\"submit\">Disconnect"
                  "</button>"
                : "<button type=\"submit\">Connect</button>";
  const std::string body =
      "<h1>Partner Apps</h1>\n<p class=\"muted\">Apps &amp; Integrations for " +
      HtmlEscape(company ? company->name : session.company_id) + "</p>\n" +
      "<div class=\"card\"><div class=\"row\"><div><h2>" +
      HtmlEscape(app.name) +
      (connected ? "<span class=\"badge on\">Connected</span>"
                 : "<span class=\"badge off\">Not connected</span>") +
      "</h2><p class=\"muted\">Requested permissions</p><ul class=\"scopes\">" +
      scopes + "</ul></div><form method=\"post\" action=\"/partner-apps/" +
      action + "\"><input type=\"hidden\" name=\"app\" value=\"" +
      HtmlEscape(app.id) + "\">" + button + "</form></div></div>\n";
  return RenderPage("Partner Apps", HeaderUser(session, context), body);
}

std::string RenderPopupWait(const PartnerApp& app,
                            const std::string& consent_url,
                            const std::string& return_url,
                            const std::optional<SignedInUser>& user) {
  const std::string name = HtmlEscape(app.name);
  // The pop-up size follows SmartRecruiters' widget: 600 px wide, 45 % of
  // the screen height. The link alone works without JavaScript.
  const std::string body =
      "<div class=\"card\"><h1>Connecting " + name +
      "</h1>"
      "<p>Waiting for " +
      name +
      " to finish the setup in its window.</p>"
      "<p><a id=\"consent-link\" href=\"" +
      HtmlEscape(consent_url) + "\" target=\"_blank\" rel=\"opener\">Open " +
      name +
      "</a> if no window opened.</p>"
      "<p><a href=\"" +
      HtmlEscape(return_url) +
      "\">Check the connection status</a></p></div>\n"
      "<script>\n"
      "(function () {\n"
      "  var link = document.getElementById('consent-link');\n"
      "  var height = Math.round(window.screen.height * 0.45);\n"
      "  window.open(link.href, 'sr-consent',\n"
      "              'width=600,height=' + height + ',scrollbars=yes');\n"
      "})();\n"
      "</script>\n";
  return RenderPage("Connecting " + app.name, user, body);
}

// Checks the session and the form's app for Connect and Disconnect. Sets
// the response and returns nullopt when the request cannot go on.
std::optional<Session> AuthorizeAppAction(const httplib::Request& request,
                                          httplib::Response& response,
                                          ServerContext& context,
                                          const std::string& verb) {
  const PartnerApp& app = context.state.app();
  const std::optional<Session> session = CurrentSession(request, context);
  if (!session) {
    SeeOther(response, "/partner-apps");
    return std::nullopt;
  }
  const std::string app_id = Field(FormFields(request), "app");
  if (app_id != app.id) {
    SetMessagePage(response, 404, session, context, "error",
                   "Partner app not found",
                   "No partner app has the id \"" + app_id + "\".");
    return std::nullopt;
  }
  if (!session->admin) {
    LogInfo(verb + " rejected: user " + Quote(session->user_name) +
            " of company " + Quote(session->company_id) + " is not an admin");
    SetMessagePage(response, 403, session, context, "error",
                   "Cannot " + verb + " " + app.name,
                   "You need Admin or Super Admin rights in SmartRecruiters "
                   "to " +
                       verb + " " + app.name + ".");
    return std::nullopt;
  }
  return session;
}

}  // namespace

RequestSubject IdentifyPageRequest(const httplib::Request& request,
                                   ServerContext& context) {
  RequestSubject subject;
  if (const std::optional<Session> session = CurrentSession(request, context)) {
    subject.company_id = session->company_id;
  }
  return subject;
}

void HandleRoot(const httplib::Request&, httplib::Response& response,
                ServerContext&) {
  response.status = 302;
  response.set_header("Location", "/partner-apps");
}

void HandlePartnerApps(const httplib::Request& request,
                       httplib::Response& response, ServerContext& context) {
  const std::optional<Session> session = CurrentSession(request, context);
  if (!session) {
    SetHtml(response, 200, RenderSignIn(context));
    return;
  }
  CurrentRequestContext().company_id = session->company_id;
  SetHtml(response, 200, RenderPartnerApps(*session, context));
}

void HandleSignIn(const httplib::Request& request, httplib::Response& response,
                  ServerContext& context) {
  const std::map<std::string, std::string> form = FormFields(request);
  const std::string company = Field(form, "company");
  Result<std::string> session =
      context.state.StartSession(company, Field(form, "user"));
  if (!session.ok()) {
    SetMessagePage(response, 400, std::nullopt, context, "error",
                   "Sign-in failed", session.error() + ".");
    return;
  }
  CurrentRequestContext().company_id = company;
  std::string cookie = std::string(kSessionCookie) + "=" + *session +
                       "; Path=/; HttpOnly; SameSite=Lax";
  if (context.tls) cookie += "; Secure";
  response.set_header("Set-Cookie", cookie);
  SeeOther(response, "/partner-apps");
}

void HandleSignOut(const httplib::Request& request, httplib::Response& response,
                   ServerContext& context) {
  if (const std::optional<std::string> id = Cookie(request, kSessionCookie)) {
    context.state.EndSession(*id);
  }
  response.set_header("Set-Cookie", std::string(kSessionCookie) +
                                        "=; Path=/; Max-Age=0; HttpOnly; "
                                        "SameSite=Lax");
  SeeOther(response, "/partner-apps");
}

void HandleConnect(const httplib::Request& request, httplib::Response& response,
                   ServerContext& context) {
  const std::optional<Session> session =
      AuthorizeAppAction(request, response, context, "connect");
  if (!session) return;
  const PartnerApp& app = context.state.app();
  const std::string& company = session->company_id;
  CurrentRequestContext().company_id = company;

  Result<Clock::time_point> consent = context.state.RecordConsent(company);
  if (!consent.ok()) {
    LogError("connect failed: " + consent.error());
    SetMessagePage(response, 404, session, context, "error",
                   "Company not found", consent.error() + ".");
    return;
  }
  LogInfo("consent recorded for company " + Quote(company) + " by user " +
          Quote(session->user_name));

  const std::string return_url = ReturnUrl(context, company);
  if (app.consent_display_mode == ConsentDisplayMode::kRedirect) {
    response.status = 302;
    response.set_header("Location", ConsentUrl(app, company, return_url));
    return;
  }
  // SmartRecruiters adds `redirect` only in REDIRECT mode.
  SetHtml(response, 200,
          RenderPopupWait(app, ConsentUrl(app, company, ""), return_url,
                          HeaderUser(session, context)));
}

void HandleDisconnect(const httplib::Request& request,
                      httplib::Response& response, ServerContext& context) {
  const std::optional<Session> session =
      AuthorizeAppAction(request, response, context, "disconnect");
  if (!session) return;
  CurrentRequestContext().company_id = session->company_id;

  Result<bool> was_integrated = context.state.Disconnect(session->company_id);
  if (!was_integrated.ok()) {
    LogError("disconnect failed: " + was_integrated.error());
    SetMessagePage(response, 404, session, context, "error",
                   "Company not found", was_integrated.error() + ".");
    return;
  }
  LogInfo("company " + Quote(session->company_id) + " disconnected by user " +
          Quote(session->user_name));
  SeeOther(response, "/partner-apps");
}

void HandleReturn(const httplib::Request& request, httplib::Response& response,
                  ServerContext& context) {
  const PartnerApp& app = context.state.app();
  const std::optional<Session> session = CurrentSession(request, context);
  const std::string app_id = request.get_param_value("app");
  const std::string company_id = request.get_param_value("company");
  CurrentRequestContext().company_id = company_id;

  if (app_id != app.id) {
    SetMessagePage(response, 404, session, context, "error",
                   "Partner app not found",
                   "No partner app has the id \"" + app_id + "\".");
    return;
  }
  const std::optional<CompanyView> company =
      context.state.FindCompany(company_id);
  if (!company) {
    SetMessagePage(response, 404, session, context, "error",
                   "Company not found",
                   "No company has the id \"" + company_id + "\".");
    return;
  }
  if (company->integrated) {
    SetMessagePage(response, 200, session, context, "success",
                   app.name + " is connected",
                   company->name + " can now use " + app.name + ".");
    return;
  }
  SetMessagePage(response, 200, session, context, "error",
                 app.name + " is not connected",
                 "The integration was not completed: " + app.name +
                     " did not finish setting up the connection for " +
                     company->name + ". Start again from " + app.name +
                     ", and make sure browser pop-ups are not blocked.");
}

}  // namespace srconnect::fake
