#include "status_handler.h"

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "log.h"
#include "pages.h"
#include "start_handler.h"
#include "web_auth.h"

namespace srconnect {
namespace {

bool WantsJson(const HttpRequest& request) {
  auto format = request.query.GetOne("format");
  if (format.ok() && format->has_value() && **format == "json") return true;
  const std::string accept = request.Header("accept");
  return accept.find("application/json") != std::string::npos &&
         accept.find("text/html") == std::string::npos;
}

// Returns the admin's next step: "none", "wait" for an automatic retry,
// or "reintegrate".
std::string ActionFor(const std::optional<Connection>& connection) {
  if (!connection) return "reintegrate";
  switch (connection->state) {
    case ConnectionState::kConnected:
      return "none";
    case ConnectionState::kDegraded:
      return "wait";
    case ConnectionState::kPending:
    case ConnectionState::kNeedsReintegration:
    case ConnectionState::kDisconnected:
      return "reintegrate";
  }
  return "reintegrate";
}

// Returns true when the connection has a token that has not expired at
// `now`.
bool HasValidToken(const Connection& connection, int64_t now) {
  return connection.token_expires_at > now;
}

HttpResponse JsonStatus(const std::string& account_id,
                        const std::optional<Connection>& connection,
                        int64_t margin_s, int64_t now) {
  nlohmann::json body = {{"account_id", account_id},
                         {"action", ActionFor(connection)}};
  if (!connection) {
    body["state"] = "not_connected";
    body["reason"] = "no connection was ever started for this account";
    return HttpResponse::Json(200, body.dump() + "\n");
  }
  body["state"] = std::string(StateName(connection->state));
  body["reason"] = connection->reason;
  body["company_id"] = connection->company_id;
  body["connected_since"] = connection->connected_since;
  body["token_expires_at"] = connection->token_expires_at;
  body["token_valid"] = HasValidToken(*connection, now);
  body["last_success_at"] = connection->last_success_at;
  body["next_renewal_at"] = NextRenewalAt(*connection, margin_s);
  return HttpResponse::Json(200, body.dump() + "\n");
}

void DescribeState(const App& app, const std::optional<Connection>& connection,
                   int64_t now, Page& page) {
  const std::string& product = app.config.partner.app_name;
  if (!connection) {
    page.headline = product + " is not connected to SmartRecruiters";
    page.paragraphs = {"No connection was started for this account yet. "
                       "Click Reintegrate SmartRecruiters to connect."};
    return;
  }
  switch (connection->state) {
    case ConnectionState::kConnected:
      page.tone = "ok";
      page.headline = product + " is connected";
      page.paragraphs = {"srconnect renews the access token automatically "
                         "before it expires."};
      return;
    case ConnectionState::kDegraded:
      if (!HasValidToken(*connection, now)) {
        page.tone = "error";
        page.headline = product + " cannot reach SmartRecruiters right now";
        page.paragraphs = {
            "The access token expired and renewing it failed: " +
                connection->reason + ".",
            "srconnect keeps retrying. Until a renewal succeeds, " + product +
                " cannot read or change SmartRecruiters data for this "
                "company. Nothing needs to be done in SmartRecruiters; if "
                "this lasts, contact your administrator."};
        return;
      }
      page.headline = product + " is connected, with renewal problems";
      page.paragraphs = {
          "The last token renewal failed: " + connection->reason + ".",
          "srconnect retries automatically; nothing needs to be done unless "
          "this state lasts. If it does, contact your administrator."};
      return;
    case ConnectionState::kPending:
      page.headline = product + " is not connected yet";
      page.paragraphs = {"A connection was started but not completed. "
                         "Click Reintegrate SmartRecruiters and finish the "
                         "steps in SmartRecruiters."};
      return;
    case ConnectionState::kNeedsReintegration:
      page.tone = "error";
      page.headline = "Reintegrate SmartRecruiters";
      page.paragraphs = {
          "SmartRecruiters no longer accepts this connection's credentials, "
          "so " + product + " cannot renew its access.",
          "Reintegrate SmartRecruiters from Company Settings using the same "
          "steps as the first connection. You need Admin (or Super Admin) "
          "access in SmartRecruiters.",
          "Details: " + connection->reason + "."};
      return;
    case ConnectionState::kDisconnected:
      page.tone = "error";
      page.headline = product + " is disconnected from SmartRecruiters";
      page.paragraphs = {
          "The integration was disconnected: " + connection->reason + ".",
          "Reintegrate SmartRecruiters from Company Settings to connect "
          "again."};
      return;
  }
}

HttpResponse HtmlStatus(const App& app, const std::string& account_id,
                        const std::optional<Connection>& connection,
                        int64_t now) {
  Page page;
  page.title = "SmartRecruiters connection";
  DescribeState(app, connection, now, page);

  std::vector<std::pair<std::string, std::string>> rows = {
      {"Account", account_id}};
  if (connection) {
    const int64_t margin_s = app.config.refresh.margin_s;
    rows.push_back({"State", std::string(StateName(connection->state))});
    rows.push_back({"Company",
                    connection->company_id.empty() ? "none"
                                                   : connection->company_id});
    rows.push_back({"Connected since", FormatTime(connection->connected_since)});
    std::string expires = FormatTime(connection->token_expires_at);
    if (connection->token_expires_at != 0 && !HasValidToken(*connection, now)) {
      expires += " (expired)";
    }
    rows.push_back({"Token expires", expires});
    rows.push_back({"Last renewal", FormatTime(connection->last_success_at)});
    const int64_t next_renewal = NextRenewalAt(*connection, margin_s);
    rows.push_back({"Next renewal", next_renewal != 0 && next_renewal <= now
                                        ? "due now, at the next refresh run"
                                        : FormatTime(next_renewal)});
  }
  page.body_html = RenderTable(rows);

  if (ActionFor(connection) == "reintegrate") {
    // A fresh signed start link, so the button works even when the status
    // link itself is about to expire.
    const std::string start =
        BuildAccountLink("", "/smartrecruiters/start", app.link_secret,
                         account_id, now + app.config.consent.state_ttl_s);
    page.body_html += "<p><a class=\"button\" href=\"" + HtmlEscape(start) +
                      "\">Reintegrate SmartRecruiters</a></p>\n";
  }
  if (!app.config.partner.settings_url.empty()) {
    page.links.push_back({"Company Settings", app.config.partner.settings_url});
  }
  return PageResponse(200, page);
}

}  // namespace

int64_t NextRenewalAt(const Connection& connection, int64_t margin_s) {
  if (connection.state == ConnectionState::kDegraded) {
    return connection.next_attempt_at;
  }
  if (connection.state != ConnectionState::kConnected ||
      connection.token_expires_at == 0) {
    return 0;
  }
  return connection.token_expires_at - margin_s;
}

HttpResponse HandleStatus(const App& app, Store& store,
                          const HttpRequest& request, int64_t now) {
  if (request.method != "GET") {
    return HttpResponse::Text(405, "only GET is allowed here\n");
  }
  Result<std::string> account =
      ReadAccountLink(request, app.link_secret, now);
  if (!account.ok()) {
    if (WantsJson(request)) {
      nlohmann::json error = {{"error", "invalid_link"},
                              {"message", account.error()}};
      return HttpResponse::Json(403, error.dump() + "\n");
    }
    return AccountLinkRejected(app, account.error());
  }

  Result<std::optional<Connection>> connection =
      store.FindConnectionByAccount(*account);
  if (!connection.ok()) {
    LogError("status: reading account " + Quote(*account) +
             " failed: " + connection.error());
    return HttpResponse::Text(503, "the connection store is unavailable; "
                                   "try again in a minute\n");
  }
  if (WantsJson(request)) {
    return JsonStatus(*account, *connection, app.config.refresh.margin_s,
                      now);
  }
  return HtmlStatus(app, *account, *connection, now);
}

}  // namespace srconnect
