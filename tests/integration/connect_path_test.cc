// The customer's connect path through real nginx, the real FastCGI
// binaries and the fake SmartRecruiters, with the failures the integration
// guide's troubleshooting section covers, and the token hand-out that the
// product's own services then call through nginx.

#define BOOST_TEST_MODULE connect_path
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "app.h"
#include "secret.h"
#include "store.h"
#include "support/pending_get.h"
#include "support/stack.h"

namespace srconnect::testing {
namespace {

constexpr char kCompany[] = "ACME-1";
constexpr char kAdmin[] = "Alice Admin";

// The outcome of walking the path up to the consent page.
struct ConsentPage {
  Response page;
  std::string consent_url;
  std::string csrf;
  std::string redirect;
};

class Walk {
 public:
  explicit Walk(const Stack& stack) : stack_(stack) {}

  Browser browser;

  Response Start(const std::string& link) { return browser.Get(link); }

  // Signs in to the fake as `user` of `company` and clicks Connect.
  Response Connect(const std::string& company = kCompany,
                   const std::string& user = kAdmin) {
    const std::string fake = stack_.Env("FAKE_URL");
    browser.PostForm(fake + "/sign-in", {{"company", company}, {"user", user}});
    Response connect = browser.PostForm(fake + "/partner-apps/connect",
                                        {{"app", "goodtime-hire"}});
    // cpp-httplib 0.11.4 percent-decodes response header values, which
    // turns the redirect parameter's "&company=" into a parameter of the
    // consent URL; encoding the value again restores what the fake sent.
    const std::string marker = "&redirect=";
    const size_t at = connect.location.find(marker);
    if (at != std::string::npos) {
      connect.location =
          connect.location.substr(0, at + marker.size()) +
          httplib::detail::encode_query_param(
              connect.location.substr(at + marker.size()));
    }
    return connect;
  }

  // Runs start, sign-in and Connect, and opens the consent page.
  ConsentPage ToConsentPage(const std::string& account = "acct-1",
                            const std::string& company = kCompany) {
    Start(stack_.SignLink(account));
    Response connect = Connect(company);
    ConsentPage result;
    result.consent_url = connect.location;
    result.page = browser.Get(connect.location);
    result.csrf = HiddenField(result.page.body, "csrf");
    result.redirect = HiddenField(result.page.body, "redirect");
    return result;
  }

  Response Allow(const ConsentPage& consent,
                 const std::string& company = kCompany,
                 const std::string& replace = "") {
    httplib::Params form = {{"companyId", company},
                            {"csrf", consent.csrf}};
    if (!consent.redirect.empty()) form.emplace("redirect", consent.redirect);
    if (!replace.empty()) form.emplace("replace", replace);
    return browser.PostForm(ConsentEndpoint(), form);
  }

  std::string ConsentEndpoint() const {
    return stack_.Env("SRCONNECT_URL") + "/smartrecruiters/consent";
  }

  nlohmann::json Status(const std::string& account = "acct-1") {
    Response response = browser.Get(stack_.SignLink(account, "status") +
                                    "&format=json");
    return nlohmann::json::parse(response.body);
  }

 private:
  const Stack& stack_;
};

int SetupCalls(const Stack& stack, const std::string& company) {
  nlohmann::json state = stack.FakeAdmin("GET", "/fake-admin/state");
  return state["setup_calls"].value(company, 0);
}

// Runs one SQL statement on the stack's database, as an operator with the
// sqlite3 shell would.
void ExecSql(const Stack& stack, const std::string& sql) {
  sqlite3* raw = nullptr;
  BOOST_REQUIRE(sqlite3_open(stack.Env("DATABASE").c_str(), &raw) ==
                SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, sqlite3_close);
  sqlite3_busy_timeout(db.get(), 5000);
  BOOST_REQUIRE(sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr,
                             nullptr) == SQLITE_OK);
}

BOOST_AUTO_TEST_SUITE(connect_path)

BOOST_AUTO_TEST_CASE(walks_path_to_connected) {
  Stack stack;
  Walk walk(stack);

  Response start = walk.Start(stack.SignLink("acct-1"));
  BOOST_TEST(start.status == 302);
  BOOST_TEST(start.location == stack.Env("FAKE_URL") + "/partner-apps");
  BOOST_REQUIRE(start.set_cookies.size() == 1u);
  const std::string& cookie = start.set_cookies[0];
  BOOST_TEST(cookie.find("HttpOnly") != std::string::npos);
  BOOST_TEST(cookie.find("SameSite=Lax") != std::string::npos);
  BOOST_TEST(cookie.find("Max-Age=900") != std::string::npos);

  Response connect = walk.Connect();
  BOOST_TEST(connect.status == 302);
  BOOST_TEST(connect.location.find("companyId=ACME-1") != std::string::npos);
  Response consent = walk.browser.Get(connect.location);
  BOOST_TEST(consent.status == 200);
  BOOST_TEST(consent.body.find("Allow and continue") != std::string::npos);
  BOOST_TEST(consent.body.find("interviews_write") != std::string::npos);

  ConsentPage page{consent, connect.location, HiddenField(consent.body, "csrf"),
                   HiddenField(consent.body, "redirect")};
  Response allowed = walk.Allow(page);
  BOOST_TEST(allowed.status == 302);
  BOOST_TEST(allowed.location == page.redirect);
  Response back = walk.browser.Get(allowed.location);
  BOOST_TEST(back.status == 200);
  BOOST_TEST(back.body.find("GoodTime Hire is connected") != std::string::npos,
             back.body);

  nlohmann::json status = walk.Status();
  BOOST_TEST(status["state"] == "connected");
  BOOST_TEST(status["company_id"] == kCompany);
  BOOST_TEST(status["token_expires_at"].get<int64_t>() > NowUnix());
  BOOST_TEST(SetupCalls(stack, kCompany) == 1);
}

BOOST_AUTO_TEST_CASE(status_page_html_shows_connected) {
  Stack stack;
  Walk walk(stack);
  ConsentPage consent = walk.ToConsentPage();
  walk.Allow(consent);

  Response html = walk.browser.Get(stack.SignLink("acct-1", "status"));
  BOOST_TEST(html.status == 200);
  BOOST_TEST(html.body.find("GoodTime Hire is connected") !=
             std::string::npos);
  BOOST_TEST(html.body.find(kCompany) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tampered_link_gets_403) {
  Stack stack;
  Walk walk(stack);
  std::string link = stack.SignLink("acct-1");
  link.replace(link.find("acct-1"), 6, "acct-2");

  Response start = walk.Start(link);
  BOOST_TEST(start.status == 403);
  BOOST_TEST(start.body.find("Company Settings") != std::string::npos);
  BOOST_TEST(start.set_cookies.empty());

  Response status = walk.browser.Get(stack.Env("SRCONNECT_URL") +
                                     "/smartrecruiters/status?account=x");
  BOOST_TEST(status.status == 403);
}

BOOST_AUTO_TEST_CASE(missing_cookie_gets_clear_page) {
  Stack stack;
  Walk walk(stack);
  walk.browser.cookies_enabled = false;
  walk.Start(stack.SignLink("acct-1"));
  // The fake's session is needed to click Connect; only srconnect's cookie
  // is withheld.
  walk.browser.cookies_enabled = true;
  Response connect = walk.Connect();
  Response consent = walk.browser.Get(connect.location);

  BOOST_TEST(consent.status == 400);
  BOOST_TEST(consent.body.find("cookie") != std::string::npos);
  BOOST_TEST(consent.body.find("Reintegrate SmartRecruiters") !=
             std::string::npos);
  BOOST_TEST(SetupCalls(stack, kCompany) == 0);
}

BOOST_AUTO_TEST_CASE(expired_state_is_rejected) {
  Stack stack;
  Walk walk(stack);
  ConsentPage consent = walk.ToConsentPage();
  BOOST_REQUIRE(!consent.csrf.empty());
  ExecSql(stack, "UPDATE pending_consents SET expires_at = 1");

  Response allowed = walk.Allow(consent);
  BOOST_TEST(allowed.status == 400);
  BOOST_TEST(allowed.body.find("expired") != std::string::npos);
  BOOST_TEST(SetupCalls(stack, kCompany) == 0);
  BOOST_TEST(walk.Status()["state"] == "pending");
}

BOOST_AUTO_TEST_CASE(replayed_state_makes_one_setup_call) {
  Stack stack;
  Walk walk(stack);
  ConsentPage consent = walk.ToConsentPage();
  const std::string state =
      walk.browser.Cookie("127.0.0.1", "srconnect_state");
  BOOST_REQUIRE(!state.empty());
  BOOST_TEST(walk.Allow(consent).status == 302);

  // The response cleared the cookie; a replay brings it back.
  walk.browser.SetCookie("127.0.0.1", "srconnect_state", state);
  Response replay = walk.Allow(consent);
  BOOST_TEST(replay.status == 302);
  BOOST_TEST(SetupCalls(stack, kCompany) == 1);
}

BOOST_AUTO_TEST_CASE(tampered_csrf_is_rejected) {
  Stack stack;
  Walk walk(stack);
  ConsentPage consent = walk.ToConsentPage();
  consent.csrf[0] = consent.csrf[0] == 'A' ? 'B' : 'A';

  Response allowed = walk.Allow(consent);
  BOOST_TEST(allowed.status == 403);
  BOOST_TEST(SetupCalls(stack, kCompany) == 0);
}

BOOST_AUTO_TEST_CASE(foreign_redirect_is_refused) {
  Stack stack;
  Walk walk(stack);
  walk.Start(stack.SignLink("acct-1"));
  walk.Connect();
  const std::vector<std::string> redirects = {
      "https://evil.example/partner-apps",
      stack.Env("FAKE_URL") + ".evil.example/x",
      "http://127.0.0.1:1/partner-apps",
      "javascript:alert(1)",
  };
  for (const std::string& redirect : redirects) {
    Response page = walk.browser.Get(
        walk.ConsentEndpoint() + "?companyId=ACME-1&redirect=" +
        httplib::detail::encode_query_param(redirect));
    BOOST_TEST(page.status == 400, redirect);
    BOOST_TEST(page.body.find("redirect") != std::string::npos, redirect);
  }
}

BOOST_AUTO_TEST_CASE(invalid_company_id_is_refused) {
  Stack stack;
  Walk walk(stack);
  walk.Start(stack.SignLink("acct-1"));
  Response page = walk.browser.Get(walk.ConsentEndpoint() +
                                   "?companyId=%3Cscript%3E");
  BOOST_TEST(page.status == 400);
  BOOST_TEST(page.body.find("<script>") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(setup_refused_without_consent) {
  Stack stack;
  Walk walk(stack);
  walk.Start(stack.SignLink("acct-1"));
  walk.Connect();
  // Consent was recorded by Connect; a disconnect in the fake clears it.
  stack.FakeAdmin("POST", "/fake-admin/companies/ACME-1/disconnect");
  Response page = walk.browser.Get(walk.ConsentEndpoint() +
                                   "?companyId=ACME-1");
  ConsentPage consent{page, "", HiddenField(page.body, "csrf"), ""};

  Response allowed = walk.Allow(consent);
  BOOST_TEST(allowed.status == 403);
  BOOST_TEST(allowed.body.find("Admin (or Super Admin)") !=
             std::string::npos);
  BOOST_TEST(walk.Status()["state"] == "pending");
}

BOOST_AUTO_TEST_CASE(already_integrated_gets_409_page) {
  Stack stack;
  Walk walk(stack);
  walk.Allow(walk.ToConsentPage());
  std::string output;
  BOOST_REQUIRE(stack.RunCli("disconnect acct-1 --reason test", &output) ==
                0);

  Walk again(stack);
  Response allowed = again.Allow(again.ToConsentPage());
  BOOST_TEST(allowed.status == 409);
  BOOST_TEST(allowed.body.find("Disconnect GoodTime Hire") !=
             std::string::npos);
  BOOST_TEST(again.Status()["state"] == "disconnected");
}

BOOST_AUTO_TEST_CASE(smartrecruiters_down_then_retry) {
  Stack stack;
  Walk walk(stack);
  ConsentPage consent = walk.ToConsentPage();
  stack.FakeAdmin("POST", "/fake-admin/faults",
                  {{"endpoint", "setup"}, {"status", 503}});

  Response allowed = walk.Allow(consent);
  BOOST_TEST(allowed.status == 503);
  BOOST_TEST(allowed.body.find("could not be reached") != std::string::npos);
  BOOST_TEST(walk.Status()["state"] == "pending");
  std::string list;
  stack.RunCli("list --json", &list);
  BOOST_TEST(nlohmann::json::parse(list)[0]["company_id"] == "");

  stack.FakeAdmin("DELETE", "/fake-admin/faults");
  Walk retry(stack);
  Response retried = retry.Allow(retry.ToConsentPage());
  BOOST_TEST(retried.status == 302);
  BOOST_TEST(retry.Status()["state"] == "connected");
}

BOOST_AUTO_TEST_CASE(concurrent_posts_make_one_setup_call) {
  Stack stack;
  Walk walk(stack);
  ConsentPage consent = walk.ToConsentPage();
  // Slow the setup call, so that both requests overlap.
  stack.FakeAdmin("POST", "/fake-admin/faults",
                  {{"endpoint", "setup"}, {"latency_ms", 1000}});

  Response first;
  Response second;
  Browser twin = walk.browser;
  std::thread other([&] {
    Walk copy(stack);
    copy.browser = twin;
    second = copy.Allow(consent);
  });
  first = walk.Allow(consent);
  other.join();

  BOOST_TEST(first.status == 302);
  BOOST_TEST(second.status == 302);
  BOOST_TEST(SetupCalls(stack, kCompany) == 1);
}

BOOST_AUTO_TEST_CASE(company_of_other_account_is_refused) {
  Stack stack;
  Walk first(stack);
  first.Allow(first.ToConsentPage("acct-1"));

  Walk second(stack);
  ConsentPage consent = second.ToConsentPage("acct-2");
  BOOST_TEST(consent.page.status == 409);
  BOOST_TEST(consent.page.body.find("another account") != std::string::npos);
  BOOST_TEST(SetupCalls(stack, kCompany) == 1);
}

BOOST_AUTO_TEST_CASE(other_company_asks_to_confirm) {
  Stack stack;
  Walk first(stack);
  first.Allow(first.ToConsentPage("acct-1", "ACME-1"));

  Walk again(stack);
  again.Start(stack.SignLink("acct-1"));
  Response connect = again.Connect("GLOBEX-2", "Gina Admin");
  Response page = again.browser.Get(connect.location);
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.body.find("Replace and continue") != std::string::npos);
  ConsentPage consent{page, connect.location, HiddenField(page.body, "csrf"),
                      HiddenField(page.body, "redirect")};

  Response unconfirmed = again.Allow(consent, "GLOBEX-2");
  BOOST_TEST(unconfirmed.body.find("Replace and continue") !=
             std::string::npos);
  Response confirmed = again.Allow(consent, "GLOBEX-2", "1");
  BOOST_TEST(confirmed.status == 302);
  nlohmann::json status = again.Status("acct-1");
  BOOST_TEST(status["company_id"] == "GLOBEX-2");
}

BOOST_AUTO_TEST_CASE(reintegration_keeps_connection_row) {
  Stack stack;
  Walk first(stack);
  first.Allow(first.ToConsentPage());
  stack.FakeAdmin("POST", "/fake-admin/companies/ACME-1/disconnect");

  Walk again(stack);
  BOOST_TEST(again.Allow(again.ToConsentPage()).status == 302);
  std::string list;
  BOOST_REQUIRE(stack.RunCli("list --json", &list) == 0);
  nlohmann::json connections = nlohmann::json::parse(list);
  BOOST_TEST(connections.size() == 1u);
  BOOST_TEST(connections[0]["id"] == 1);
  BOOST_TEST(connections[0]["state"] == "connected");
}

BOOST_AUTO_TEST_CASE(popup_mode_ends_on_close_page) {
  Stack stack({"--display-mode", "POPUP"});
  Walk walk(stack);
  walk.Start(stack.SignLink("acct-1"));
  Response connect = walk.Connect();
  BOOST_TEST(connect.status == 200);
  const std::string marker = stack.Env("SRCONNECT_URL") +
                             "/smartrecruiters/consent?companyId=ACME-1";
  BOOST_REQUIRE(connect.body.find(marker) != std::string::npos);

  Response page = walk.browser.Get(marker);
  ConsentPage consent{page, marker, HiddenField(page.body, "csrf"), ""};
  BOOST_TEST(consent.redirect.empty());
  Response allowed = walk.Allow(consent);
  BOOST_TEST(allowed.status == 200);
  BOOST_TEST(allowed.body.find("you can close this window") !=
             std::string::npos);
  BOOST_TEST(walk.Status()["state"] == "connected");
}

BOOST_AUTO_TEST_CASE(no_secret_in_database_or_logs) {
  Stack stack;
  Walk walk(stack);
  walk.Allow(walk.ToConsentPage());

  // Open the store as srconnect does, to learn the issued values.
  Result<App> app = LoadApp(stack.Env("CONFIG"));
  BOOST_REQUIRE(app.ok());
  Result<std::unique_ptr<Store>> store = app->OpenStore();
  BOOST_REQUIRE(store.ok());
  auto connection = (*store)->FindConnectionByAccount("acct-1");
  BOOST_REQUIRE(connection.ok());
  BOOST_REQUIRE(connection->has_value());
  Result<ConnectionSecrets> secrets = (*store)->ReadSecrets((**connection).id);
  BOOST_REQUIRE(secrets.ok());
  const std::string client_secret = secrets->client_secret.Reveal();
  const std::string token = secrets->access_token.Reveal();
  BOOST_REQUIRE(client_secret.size() >= 16u);
  BOOST_REQUIRE(token.size() >= 16u);
  store->reset();

  const std::string database = ReadWholeFile(stack.Env("DATABASE")) +
                               ReadWholeFile(stack.Env("DATABASE") + "-wal");
  BOOST_TEST(!database.empty());
  BOOST_TEST(database.find(client_secret) == std::string::npos);
  BOOST_TEST(database.find(token) == std::string::npos);
  const std::string logs = stack.AllLogs();
  BOOST_TEST(!logs.empty());
  BOOST_TEST(logs.find(client_secret) == std::string::npos);
  BOOST_TEST(logs.find(token) == std::string::npos);
  const std::string master =
      ReadWholeFile(stack.dir() + "/secrets/master-secret");
  BOOST_TEST(logs.find(master.substr(0, master.size() - 1)) ==
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// --- the token hand-out through nginx ---------------------------------------

constexpr char kRefreshPath[] = "/smartrecruiters/refresh?company=";
// Read timeout of a hand-out request, above the longest renewal the tests
// cause (a 15 s stall).
constexpr auto kHandOutTimeout = std::chrono::seconds(120);

// The stack's store, opened as srconnect opens it. The App outlives the
// Store, which keeps a pointer to the App's key ring.
struct StackStore {
  std::unique_ptr<App> app;
  std::unique_ptr<Store> store;
};

StackStore OpenStackStore(const Stack& stack) {
  Result<App> app = LoadApp(stack.Env("CONFIG"));
  BOOST_REQUIRE_MESSAGE(app.ok(), app.error());
  StackStore opened;
  opened.app = std::make_unique<App>(std::move(app).value());
  Result<std::unique_ptr<Store>> store = opened.app->OpenStore();
  BOOST_REQUIRE_MESSAGE(store.ok(), store.error());
  opened.store = std::move(store).value();
  return opened;
}

struct SeededCompany {
  std::string company_id;
  std::string client_id;
  std::string client_secret;
};

// Has the fake create `count` integrated companies and stores each in the
// stack's database as connected, with a token that has already expired,
// so that the first hand-out renews it.
std::vector<SeededCompany> SeedConnected(const Stack& stack, int count,
                                         const std::string& prefix) {
  const nlohmann::json seeded = stack.FakeAdmin(
      "POST", "/fake-admin/seed", {{"count", count}, {"prefix", prefix}});
  StackStore opened = OpenStackStore(stack);
  const int64_t now = NowUnix();
  std::vector<SeededCompany> companies;
  for (const nlohmann::json& entry : seeded) {
    SeededCompany company{entry.at("companyId").get<std::string>(),
                          entry.at("clientId").get<std::string>(),
                          entry.at("clientSecret").get<std::string>()};
    Result<int64_t> stored = opened.store->StoreCredentials(
        "account-" + company.company_id, company.company_id, company.client_id,
        Secret(company.client_secret), Secret("expired-token"), now - 1, now,
        "test", "seeded by the test");
    BOOST_REQUIRE_MESSAGE(stored.ok(), stored.error());
    companies.push_back(std::move(company));
  }
  return companies;
}

// Sends GET /smartrecruiters/refresh?company=ID to `origin`, an nginx of
// the stack.
httplib::Result GetToken(const std::string& origin,
                         const std::string& company_id,
                         const httplib::Headers& headers = {}) {
  httplib::Client client(origin);
  client.set_connection_timeout(std::chrono::seconds(10));
  client.set_read_timeout(kHandOutTimeout);
  return client.Get((kRefreshPath + company_id).c_str(), headers);
}

// Returns the access token of a 200 hand-out, or "" for any other response.
std::string TokenOf(const httplib::Result& result) {
  if (!result || result->status != 200) return "";
  const nlohmann::json body =
      nlohmann::json::parse(result->body, nullptr, false);
  if (!body.is_object()) return "";
  return body.value("access_token", "");
}

int64_t TokenRequests(const Stack& stack, const std::string& client_id) {
  const nlohmann::json state = stack.FakeAdmin("GET", "/fake-admin/state");
  return state["token_requests"].value(client_id, int64_t{0});
}

// Checks that no log of the stack contains any of `secrets`. A failure
// names the secret by its index, never by its value.
void CheckSecretsNotLogged(const Stack& stack,
                           const std::vector<std::string>& secrets) {
  const std::string logs = stack.AllLogs();
  BOOST_TEST(!logs.empty());
  for (size_t i = 0; i < secrets.size(); ++i) {
    BOOST_TEST_CONTEXT("secret " << i) {
      BOOST_TEST_REQUIRE(!secrets[i].empty());
      BOOST_TEST(logs.find(secrets[i]) == std::string::npos);
    }
  }
}

// Starts a hand-out request for `company_id` on a thread of its own.
std::unique_ptr<PendingGet> StartTokenRequest(const std::string& origin,
                                              const std::string& company_id) {
  return std::make_unique<PendingGet>(origin, kRefreshPath + company_id,
                                      kHandOutTimeout);
}

BOOST_AUTO_TEST_SUITE(hand_out_through_nginx)

BOOST_AUTO_TEST_CASE(connected_company_gets_token_fake_accepts) {
  Stack stack;
  Walk walk(stack);
  BOOST_REQUIRE(walk.Allow(walk.ToConsentPage()).status == 302);

  httplib::Result result = GetToken(stack.Env("SRCONNECT_URL"), kCompany);
  BOOST_TEST_REQUIRE(static_cast<bool>(result),
                     "GET failed: " << httplib::to_string(result.error()));
  BOOST_TEST(result->status == 200, result->body);
  BOOST_TEST(result->get_header_value("Cache-Control") == "no-store");
  BOOST_TEST(result->get_header_value("Content-Type") ==
             "application/json; charset=utf-8");
  const nlohmann::json body =
      nlohmann::json::parse(result->body, nullptr, false);
  BOOST_TEST_REQUIRE(body.is_object(), result->body);
  BOOST_TEST(body["company_id"] == kCompany);
  BOOST_TEST(body["token_type"] == "bearer");
  BOOST_TEST(body["expires_at"].get<int64_t>() > NowUnix());
  const std::string token = TokenOf(result);
  BOOST_TEST_REQUIRE(!token.empty(), result->body);

  httplib::Client fake(stack.Env("FAKE_URL"));
  fake.set_read_timeout(std::chrono::seconds(10));
  httplib::Result api = fake.Get("/configuration/company",
                                 {{"Authorization", "Bearer " + token}});
  BOOST_TEST_REQUIRE(static_cast<bool>(api),
                     "GET failed: " << httplib::to_string(api.error()));
  BOOST_TEST(api->status == 200, api->body);
  const nlohmann::json company =
      nlohmann::json::parse(api->body, nullptr, false);
  BOOST_TEST(company.value("id", "") == kCompany, api->body);

  StackStore opened = OpenStackStore(stack);
  auto connection = opened.store->FindConnectionByAccount("acct-1");
  BOOST_REQUIRE(connection.ok());
  BOOST_REQUIRE(connection->has_value());
  Result<ConnectionSecrets> secrets =
      opened.store->ReadSecrets((**connection).id);
  BOOST_REQUIRE(secrets.ok());
  const std::string client_secret = secrets->client_secret.Reveal();
  BOOST_TEST(result->body.find(client_secret) == std::string::npos);
  CheckSecretsNotLogged(stack, {client_secret, token});
}

BOOST_AUTO_TEST_CASE(unknown_company_gets_404) {
  Stack stack;
  httplib::Result result = GetToken(stack.Env("SRCONNECT_URL"), "NOBODY-9");
  BOOST_TEST_REQUIRE(static_cast<bool>(result),
                     "GET failed: " << httplib::to_string(result.error()));
  BOOST_TEST(result->status == 404);
  const nlohmann::json body =
      nlohmann::json::parse(result->body, nullptr, false);
  BOOST_TEST_REQUIRE(body.is_object(), result->body);
  BOOST_TEST(body["error"] == "unknown_company");
  BOOST_TEST(body.contains("access_token") == false);
}

BOOST_AUTO_TEST_CASE(nginx_denies_non_loopback_client) {
  Stack stack({"--forwarded-for"});
  const SeededCompany company = SeedConnected(stack, 1, "FAR-").at(0);
  const std::string origin = stack.Env("FORWARDED_URL");

  httplib::Result denied = GetToken(origin, company.company_id,
                                    {{"X-Forwarded-For", "203.0.113.7"}});
  BOOST_TEST_REQUIRE(static_cast<bool>(denied),
                     "GET failed: " << httplib::to_string(denied.error()));
  BOOST_TEST(denied->status == 403);
  BOOST_TEST(denied->body.find("access_token") == std::string::npos);
  BOOST_TEST(TokenRequests(stack, company.client_id) == 0);
  const std::string error_log =
      ReadWholeFile(stack.Env("LOG_DIR") + "/nginx-error.log");
  BOOST_TEST(error_log.find("access forbidden by rule, client: 203.0.113.7") !=
                 std::string::npos,
             error_log);
  // nginx rejected the request itself, so srconnect-refresh never saw it.
  const std::string refresh_log =
      ReadWholeFile(stack.Env("LOG_DIR") + "/refresh.log");
  BOOST_TEST(refresh_log.find("token request") == std::string::npos,
             refresh_log);

  // The same request from a loopback client gets through.
  httplib::Result allowed =
      GetToken(origin, company.company_id, {{"X-Forwarded-For", "127.0.0.1"}});
  BOOST_TEST_REQUIRE(static_cast<bool>(allowed),
                     "GET failed: " << httplib::to_string(allowed.error()));
  BOOST_TEST(allowed->status == 200, allowed->body);
  CheckSecretsNotLogged(stack, {company.client_secret, TokenOf(allowed)});
}

BOOST_AUTO_TEST_CASE(stalled_renewal_leaves_other_company_served) {
  // A read timeout above the stall, so that the stalled renewal succeeds.
  Stack stack({"--sr-timeout-ms", "30000"});
  const std::vector<SeededCompany> companies = SeedConnected(stack, 2, "HOLD-");
  const SeededCompany& stalled = companies.at(0);
  const SeededCompany& other = companies.at(1);
  stack.FakeAdmin("POST", "/fake-admin/faults",
                  {{"endpoint", "token"},
                   {"stall_ms", 15000},
                   {"client_id", stalled.client_id}});
  const std::string origin = stack.Env("SRCONNECT_URL");

  std::unique_ptr<PendingGet> slow =
      StartTokenRequest(origin, stalled.company_id);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (TokenRequests(stack, stalled.client_id) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_TEST_REQUIRE(TokenRequests(stack, stalled.client_id) == 1,
                     "the stalled company's renewal did not start");

  httplib::Result fast = GetToken(origin, other.company_id);
  const bool slow_done_first = slow->done();
  BOOST_TEST_REQUIRE(static_cast<bool>(fast),
                     "GET failed: " << httplib::to_string(fast.error()));
  BOOST_TEST(fast->status == 200, fast->body);
  BOOST_TEST(!slow_done_first,
             "the other company's hand-out waited for the stalled one");
  BOOST_TEST(TokenRequests(stack, other.client_id) == 1);

  const httplib::Result& slow_result = slow->Wait();
  BOOST_TEST_REQUIRE(static_cast<bool>(slow_result),
                     "GET failed: " << httplib::to_string(slow_result.error()));
  BOOST_TEST(slow_result->status == 200, slow_result->body);
  CheckSecretsNotLogged(stack, {stalled.client_secret, other.client_secret,
                                TokenOf(fast), TokenOf(slow_result)});
}

BOOST_AUTO_TEST_CASE(concurrent_hand_outs_share_one_renewal) {
  Stack stack;
  const SeededCompany company = SeedConnected(stack, 1, "SAME-").at(0);
  // The delay keeps the first renewal in flight while the other requests
  // arrive.
  stack.FakeAdmin("POST", "/fake-admin/faults",
                  {{"endpoint", "token"},
                   {"latency_ms", 3000},
                   {"client_id", company.client_id}});
  const std::string origin = stack.Env("SRCONNECT_URL");

  std::vector<std::unique_ptr<PendingGet>> requests;
  for (int i = 0; i < 3; ++i) {
    requests.push_back(StartTokenRequest(origin, company.company_id));
  }
  std::vector<std::string> tokens;
  for (const std::unique_ptr<PendingGet>& request : requests) {
    const httplib::Result& result = request->Wait();
    BOOST_TEST_REQUIRE(static_cast<bool>(result),
                       "GET failed: " << httplib::to_string(result.error()));
    BOOST_TEST(result->status == 200, result->body);
    tokens.push_back(TokenOf(result));
  }

  // Double parentheses keep the token values out of a failure message.
  BOOST_TEST(!tokens[0].empty());
  BOOST_TEST((tokens[1] == tokens[0]));
  BOOST_TEST((tokens[2] == tokens[0]));
  BOOST_TEST(TokenRequests(stack, company.client_id) == 1);
  CheckSecretsNotLogged(stack, {company.client_secret, tokens[0]});
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace srconnect::testing
