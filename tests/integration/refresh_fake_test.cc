#define BOOST_TEST_MODULE refresh_fake
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "app.h"
#include "fastcgi.h"
#include "refresh.h"
#include "sr_client.h"
#include "status_handler.h"
#include "store.h"
#include "support/refresh_env.h"
#include "token_handout.h"
#include "web_auth.h"

namespace srconnect {
namespace {

using testing::ChildProcess;
using testing::RefreshEnv;
using testing::RefreshSettings;
using testing::RunOutput;
using testing::SeededCompany;

constexpr auto kRunTimeout = std::chrono::seconds(120);

// Polls `done` every 50 ms for at most `timeout`; returns its last value.
template <typename Predicate>
bool WaitFor(std::chrono::milliseconds timeout, Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// Returns how often `needle` occurs in `text`.
size_t CountOf(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

// Renders the status page of `account_id` in process, as srconnect-status
// would for a signed link, with `accept` as the Accept header.
HttpResponse StatusPage(const App& app, Store& store,
                        const std::string& account_id,
                        const std::string& accept) {
  const int64_t now = NowUnix();
  const std::string link =
      BuildAccountLink("", "/smartrecruiters/status", app.link_secret,
                       account_id, now + 300);
  const size_t question = link.find('?');
  BOOST_TEST_REQUIRE(question != std::string::npos);
  Result<HttpRequest> request = ParseRequest(
      {{"REQUEST_METHOD", "GET"},
       {"DOCUMENT_URI", link.substr(0, question)},
       {"QUERY_STRING", link.substr(question + 1)},
       {"REMOTE_ADDR", "127.0.0.1"},
       {"REQUEST_SCHEME", "http"},
       {"HTTP_ACCEPT", accept}},
      "", RequestLimits{});
  BOOST_TEST_REQUIRE(request.ok(), request.error());
  return HandleStatus(app, store, *request, now);
}

BOOST_AUTO_TEST_SUITE(refresh_process)

BOOST_AUTO_TEST_CASE(renews_one_due_company) {
  RefreshEnv env;
  const int64_t before_run = NowUnix();
  const SeededCompany company = env.Seed(1, "ONE-", before_run + 5).at(0);
  const std::string old_token = env.Token(company.company_id);

  const RunOutput run = env.Run({"--due"}, kRunTimeout);
  BOOST_TEST_INFO("log: " << run.log);
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.Summary()["renewed"] == 1);

  const Connection row = env.Row(company.company_id);
  BOOST_TEST(env.Token(company.company_id) != old_token);
  BOOST_TEST(row.token_expires_at >= before_run + 1800);
  BOOST_TEST(StateName(row.state) == "connected");
  BOOST_TEST(env.TokenRequestsInLog(company.client_id) == 1);
}

BOOST_AUTO_TEST_CASE(renews_five_hundred_within_budget) {
  RefreshEnv env;
  const int64_t now = NowUnix();
  const std::vector<SeededCompany> companies = env.Seed(500, "MANY-", now + 5);

  const RunOutput run = env.Run({"--due"}, std::chrono::seconds(240));
  BOOST_TEST_INFO("log tail: " << run.log.substr(
                      run.log.size() > 2000 ? run.log.size() - 2000 : 0));
  BOOST_TEST(run.exit_code == 0);
  std::map<std::string, int64_t> summary = run.Summary();
  BOOST_TEST(summary["considered"] == 500);
  BOOST_TEST(summary["renewed"] == 500);
  BOOST_TEST(summary["skipped_for_budget"] == 0);
  BOOST_TEST(summary["errors"] == 0);

  int still_due = 0;
  for (const SeededCompany& company : companies) {
    if (env.Row(company.company_id).token_expires_at < now + 600) {
      ++still_due;
    }
  }
  BOOST_TEST(still_due == 0);
}

BOOST_AUTO_TEST_CASE(concurrent_runs_request_one_token) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "RACE-", NowUnix() + 5).at(0);
  // The delay keeps the first request in flight while the other processes
  // start, so that they really overlap.
  env.fake().AddFault({{"endpoint", "token"},
                       {"latency_ms", 3000},
                       {"client_id", company.client_id}});

  std::vector<std::unique_ptr<ChildProcess>> children;
  for (int i = 0; i < 10; ++i) {
    children.push_back(env.Start({"--company", company.company_id},
                                 "race-" + std::to_string(i) + ".log"));
  }
  int renewed = 0;
  for (std::unique_ptr<ChildProcess>& child : children) {
    const int exit_code = child->Wait(kRunTimeout);
    RunOutput output;
    output.log = child->Output();
    BOOST_TEST_INFO("log: " << output.log);
    BOOST_TEST(exit_code == 0);
    renewed += static_cast<int>(output.Summary()["renewed"]);
  }

  BOOST_TEST(renewed == 1);
  BOOST_TEST(env.TokenRequestsInLog(company.client_id) == 1);
  BOOST_TEST(env.TokenRequestsReceived(company.client_id) == 1);
}

BOOST_AUTO_TEST_CASE(killed_renewal_keeps_previous_token) {
  RefreshSettings settings;
  settings.connect_timeout_ms = 1000;
  settings.read_timeout_ms = 1000;
  settings.lease_s = 3;
  RefreshEnv env(settings);
  const int64_t now = NowUnix();
  // Valid for 120 s but inside the 600 s margin, so it is due.
  const SeededCompany company = env.Seed(1, "KILL-", now + 120).at(0);
  const std::string previous_token = env.Token(company.company_id);
  Result<std::vector<Connection>> rows_before = env.store().ListConnections();
  BOOST_REQUIRE(rows_before.ok());

  env.fake().AddFault({{"endpoint", "token"},
                       {"stall_ms", 30000},
                       {"client_id", company.client_id}});
  {
    std::unique_ptr<ChildProcess> child = env.Start({"--due"}, "killed.log");
    const bool requested = WaitFor(std::chrono::seconds(20), [&] {
      return env.TokenRequestsReceived(company.client_id) >= 1;
    });
    BOOST_REQUIRE_MESSAGE(requested, "no token request: " << child->Output());
    child->Kill();
  }

  BOOST_TEST(env.Token(company.company_id) == previous_token);
  BOOST_TEST(StateName(env.Row(company.company_id).state) == "connected");
  env.fake().ClearFaults();

  // The dead process's lease runs out lease_s after it was taken.
  const bool renewed = WaitFor(std::chrono::seconds(15), [&] {
    const RunOutput run = env.Run({"--due"}, kRunTimeout);
    return run.exit_code == 0 && run.Summary()["renewed"] == 1;
  });
  BOOST_TEST(renewed);

  const Connection row = env.Row(company.company_id);
  BOOST_TEST(env.Token(company.company_id) != previous_token);
  BOOST_TEST(row.token_expires_at >= now + 1800);
  BOOST_TEST(StateName(row.state) == "connected");
  Result<std::vector<Connection>> rows_after = env.store().ListConnections();
  BOOST_REQUIRE(rows_after.ok());
  BOOST_TEST(rows_after->size() == rows_before->size());
}

BOOST_AUTO_TEST_CASE(one_failing_company_does_not_stop_others) {
  RefreshEnv env;
  const int64_t now = NowUnix();
  const std::vector<SeededCompany> companies = env.Seed(4, "MIX-", now + 5);
  const SeededCompany& unavailable = companies.at(0);
  const SeededCompany& throttled = companies.at(1);
  env.fake().AddFault({{"endpoint", "token"},
                       {"status", 503},
                       {"client_id", unavailable.client_id}});
  env.fake().AddFault({{"endpoint", "token"},
                       {"status", 429},
                       {"retry_after_s", 900},
                       {"client_id", throttled.client_id}});

  const RunOutput run = env.Run({"--due"}, kRunTimeout);
  BOOST_TEST_INFO("log: " << run.log);
  BOOST_TEST(run.exit_code == 0);
  std::map<std::string, int64_t> summary = run.Summary();
  BOOST_TEST(summary["renewed"] == 2);
  BOOST_TEST(summary["degraded"] == 2);

  const Connection down = env.Row(unavailable.company_id);
  BOOST_TEST(StateName(down.state) == "degraded");
  BOOST_TEST(down.failure_count == 1);
  // Equal jitter over the first 30 s window: between 15 and 30 s.
  BOOST_TEST(down.next_attempt_at >= now + 15);
  BOOST_TEST(down.next_attempt_at <= NowUnix() + 30);
  BOOST_TEST(down.reason.find("503") != std::string::npos);

  const Connection slow = env.Row(throttled.company_id);
  BOOST_TEST(StateName(slow.state) == "degraded");
  BOOST_TEST(slow.next_attempt_at >= now + 900);

  for (size_t i = 2; i < companies.size(); ++i) {
    const Connection row = env.Row(companies[i].company_id);
    BOOST_TEST(StateName(row.state) == "connected");
    BOOST_TEST(row.token_expires_at >= now + 1800);
  }

  // The failing companies wait for their next attempt; a second run
  // leaves them alone.
  const RunOutput again = env.Run({"--due"}, kRunTimeout);
  BOOST_TEST(again.Summary()["considered"] == 0);
  BOOST_TEST(env.TokenRequestsInLog(unavailable.client_id) == 1);
}

BOOST_AUTO_TEST_CASE(degraded_company_recovers) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "BACK-", NowUnix() + 5).at(0);
  env.fake().AddFault({{"endpoint", "token"},
                       {"status", 503},
                       {"count", 1},
                       {"client_id", company.client_id}});
  const RunOutput first = env.Run({"--due"}, kRunTimeout);
  BOOST_TEST(first.Summary()["degraded"] == 1);

  // --company renews at once, without waiting for the backoff.
  const RunOutput second =
      env.Run({"--company", company.company_id}, kRunTimeout);
  BOOST_TEST_INFO("log: " << second.log);
  BOOST_TEST(second.Summary()["renewed"] == 1);
  const Connection row = env.Row(company.company_id);
  BOOST_TEST(StateName(row.state) == "connected");
  BOOST_TEST(row.failure_count == 0);
}

BOOST_AUTO_TEST_CASE(company_flag_renews_fresh_token) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "NOW-", NowUnix() + 1500).at(0);
  const std::string old_token = env.Token(company.company_id);

  const RunOutput run = env.Run({"--company", company.company_id}, kRunTimeout);
  BOOST_TEST_INFO("log: " << run.log);
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.Summary()["renewed"] == 1);
  BOOST_TEST(env.Token(company.company_id) != old_token);
}

BOOST_AUTO_TEST_CASE(due_company_flag_skips_fresh_token) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "LATER-", NowUnix() + 1500).at(0);
  const std::string old_token = env.Token(company.company_id);

  const RunOutput run =
      env.Run({"--due", "--company", company.company_id}, kRunTimeout);
  BOOST_TEST_INFO("log: " << run.log);
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.Summary()["fresh"] == 1);
  BOOST_TEST(env.Token(company.company_id) == old_token);
  BOOST_TEST(env.TokenRequestsReceived(company.client_id) == 0);
}

BOOST_AUTO_TEST_CASE(invalid_client_needs_reintegration) {
  RefreshEnv env;
  const int64_t now = NowUnix();
  const nlohmann::json seeded = env.fake().Seed(1, "DEAD-");
  const std::string company_id = seeded.at(0).at("companyId");
  const std::string client_id = seeded.at(0).at("clientId");
  Result<int64_t> stored = env.store().StoreCredentials(
      "account-dead", company_id, client_id, Secret("not-the-secret"),
      Secret("initial-token"), now + 5, now, "test", "seeded by the test");
  BOOST_REQUIRE(stored.ok());

  const RunOutput run = env.Run({"--due"}, kRunTimeout);
  BOOST_TEST_INFO("log: " << run.log);
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.Summary()["needs_reintegration"] == 1);

  const Connection row = env.Row(company_id);
  BOOST_TEST(StateName(row.state) == "needs_reintegration");
  BOOST_TEST(row.reason.find("invalid_client") != std::string::npos);
  BOOST_TEST(row.next_attempt_at == 0);

  // The status page gives the reintegration advice once, with the reason.
  const HttpResponse page =
      StatusPage(env.app(), env.store(), "account-dead", "text/html");
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.body.find(">Reintegrate SmartRecruiters</h1>") !=
             std::string::npos);
  BOOST_TEST(CountOf(page.body, "Company Settings") == 1u);
  BOOST_TEST(page.body.find("invalid_client") != std::string::npos);
  BOOST_TEST(page.body.find("not-the-secret") == std::string::npos);
  const HttpResponse json =
      StatusPage(env.app(), env.store(), "account-dead", "application/json");
  const nlohmann::json status = nlohmann::json::parse(json.body);
  BOOST_TEST(status.at("state") == "needs_reintegration");
  BOOST_TEST(status.at("action") == "reintegrate");

  // A connection that must reintegrate is not retried.
  const RunOutput again = env.Run({"--due"}, kRunTimeout);
  BOOST_TEST(again.Summary()["considered"] == 0);
  BOOST_TEST(env.TokenRequestsInLog(client_id) == 1);
}

BOOST_AUTO_TEST_CASE(status_page_tells_expired_from_valid) {
  // Both tokens are due and both renewals fail; only one token has expired.
  RefreshEnv env;
  const int64_t now = NowUnix();
  const SeededCompany expired = env.Seed(1, "EXPIRED-", now - 60).at(0);
  const SeededCompany valid = env.Seed(1, "VALID-", now + 300).at(0);
  env.fake().AddFault({{"endpoint", "token"}, {"status", 503}});

  const RunOutput run = env.Run({"--due"}, kRunTimeout);
  BOOST_TEST_INFO("log: " << run.log);
  BOOST_TEST(run.Summary()["degraded"] == 2);

  const std::string expired_account = env.Row(expired.company_id).account_id;
  const HttpResponse down =
      StatusPage(env.app(), env.store(), expired_account, "text/html");
  BOOST_TEST(down.body.find("cannot reach SmartRecruiters right now") !=
             std::string::npos);
  BOOST_TEST(down.body.find("(expired)") != std::string::npos);
  const nlohmann::json down_json = nlohmann::json::parse(
      StatusPage(env.app(), env.store(), expired_account, "application/json")
          .body);
  BOOST_TEST(down_json.at("token_valid") == false);
  BOOST_TEST(down_json.at("action") == "wait");

  const std::string valid_account = env.Row(valid.company_id).account_id;
  const HttpResponse up =
      StatusPage(env.app(), env.store(), valid_account, "text/html");
  BOOST_TEST(up.body.find("is connected, with renewal problems") !=
             std::string::npos);
  BOOST_TEST(up.body.find("(expired)") == std::string::npos);
  const nlohmann::json up_json = nlohmann::json::parse(
      StatusPage(env.app(), env.store(), valid_account, "application/json")
          .body);
  BOOST_TEST(up_json.at("token_valid") == true);
}

BOOST_AUTO_TEST_CASE(timer_alone_detects_disconnect) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "GONE-", NowUnix() + 5).at(0);
  env.fake().Disconnect(company.company_id);

  const RunOutput run = env.Run({"--due"}, kRunTimeout);
  BOOST_TEST_INFO("log: " << run.log);
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.Summary()["needs_reintegration"] == 1);
  BOOST_TEST(StateName(env.Row(company.company_id).state) ==
             "needs_reintegration");
  BOOST_TEST(run.log.find("\"" + company.company_id + "\"") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(dry_run_changes_nothing) {
  RefreshEnv env;
  const int64_t now = NowUnix();
  const std::vector<SeededCompany> companies = env.Seed(3, "DRY-", now + 5);
  Result<std::vector<Connection>> before = env.store().ListConnections();
  Result<std::vector<AuditEntry>> audit_before = env.store().ListAudit(0, 100);
  BOOST_REQUIRE(before.ok());
  BOOST_REQUIRE(audit_before.ok());
  std::vector<std::string> tokens_before;
  for (const SeededCompany& company : companies) {
    tokens_before.push_back(env.Token(company.company_id));
  }

  const RunOutput run = env.Run({"--due", "--dry-run"}, kRunTimeout);
  BOOST_TEST_INFO("log: " << run.log);
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.log.find("would renew 3 of 3") != std::string::npos);
  BOOST_TEST(run.log.find("expires in") != std::string::npos);

  Result<std::vector<Connection>> after = env.store().ListConnections();
  Result<std::vector<AuditEntry>> audit_after = env.store().ListAudit(0, 100);
  BOOST_REQUIRE(after.ok());
  BOOST_REQUIRE(audit_after.ok());
  BOOST_REQUIRE(after->size() == before->size());
  for (size_t i = 0; i < after->size(); ++i) {
    BOOST_TEST((*after)[i].token_expires_at == (*before)[i].token_expires_at);
    BOOST_TEST((*after)[i].updated_at == (*before)[i].updated_at);
    BOOST_TEST(StateName((*after)[i].state) == StateName((*before)[i].state));
  }
  BOOST_TEST(audit_after->size() == audit_before->size());
  for (size_t i = 0; i < companies.size(); ++i) {
    BOOST_TEST(env.Token(companies[i].company_id) == tokens_before[i]);
    BOOST_TEST(env.TokenRequestsReceived(companies[i].client_id) == 0);
  }
}

BOOST_AUTO_TEST_CASE(spent_budget_leaves_rest_untouched) {
  RefreshSettings settings;
  settings.concurrency = 1;
  settings.budget_s = 1;
  RefreshEnv env(settings);
  const int64_t now = NowUnix();
  const std::vector<SeededCompany> companies = env.Seed(10, "BUDGET-", now);
  // Each renewal takes 1.5 s, so the 1 s budget is spent after the first.
  env.fake().AddFault({{"endpoint", "token"}, {"latency_ms", 1500}});

  const RunOutput run = env.Run({"--due"}, kRunTimeout);
  BOOST_TEST_INFO("log: " << run.log);
  BOOST_TEST(run.exit_code == 0);
  std::map<std::string, int64_t> summary = run.Summary();
  BOOST_TEST(summary["considered"] == 10);
  BOOST_TEST(summary["renewed"] == 1);
  BOOST_TEST(summary["skipped_for_budget"] == 9);
  BOOST_TEST(run.log.find("9 due connections left for the next run") !=
             std::string::npos);

  int untouched = 0;
  for (const SeededCompany& company : companies) {
    if (env.Row(company.company_id).token_expires_at == now) ++untouched;
  }
  BOOST_TEST(untouched == 9);
}

BOOST_AUTO_TEST_CASE(configuration_error_exits_one) {
  RefreshEnv env;
  const RunOutput run =
      env.Run({"--due", "--config", env.File("missing.yaml")}, kRunTimeout);
  BOOST_TEST(run.exit_code == 1);
  BOOST_TEST(run.log.find("missing.yaml") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_company_exits_one) {
  RefreshEnv env;
  const RunOutput run = env.Run({"--company", "NOPE-1"}, kRunTimeout);
  BOOST_TEST(run.exit_code == 1);
  BOOST_TEST(run.log.find("\"NOPE-1\" not found") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(invalid_argument_exits_two) {
  RefreshEnv env;
  const RunOutput run = env.Run({"--bogus"}, kRunTimeout);
  BOOST_TEST(run.exit_code == 2);
  BOOST_TEST(run.log.find("unknown argument \"--bogus\"") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// --- the token hand-out, in process -----------------------------------------

HttpRequest TokenRequest(const std::string& company_id,
                         const std::string& remote_addr = "127.0.0.1") {
  HttpRequest request;
  request.method = "GET";
  request.path = "/smartrecruiters/refresh";
  request.remote_addr = remote_addr;
  request.query = Params({{"company", company_id}});
  return request;
}

std::string HeaderOf(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

BOOST_AUTO_TEST_SUITE(token_hand_out)

BOOST_AUTO_TEST_CASE(returns_valid_token_without_renewal) {
  RefreshEnv env;
  const int64_t now = NowUnix();
  const SeededCompany company = env.Seed(1, "KEEP-", now + 1200).at(0);
  const SmartRecruitersClient client(env.app().config.smartrecruiters);

  const HttpResponse response =
      HandleRefreshRequest(TokenRequest(company.company_id), env.store(),
                           client, env.app().config.refresh);
  BOOST_TEST(response.status == 200);
  BOOST_TEST(HeaderOf(response, "Cache-Control") == "no-store");
  const nlohmann::json body = nlohmann::json::parse(response.body);
  BOOST_TEST(body.at("company_id") == company.company_id);
  BOOST_TEST(body.at("access_token") == "initial-token-1");
  BOOST_TEST(body.at("token_type") == "bearer");
  BOOST_TEST(body.at("expires_at") == now + 1200);
  BOOST_TEST(env.TokenRequestsReceived(company.client_id) == 0);
}

BOOST_AUTO_TEST_CASE(renews_due_token_first) {
  RefreshEnv env;
  const int64_t now = NowUnix();
  const SeededCompany company = env.Seed(1, "DUE-", now + 30).at(0);
  const SmartRecruitersClient client(env.app().config.smartrecruiters);

  const HttpResponse response =
      HandleRefreshRequest(TokenRequest(company.company_id), env.store(),
                           client, env.app().config.refresh);
  BOOST_TEST(response.status == 200);
  const nlohmann::json body = nlohmann::json::parse(response.body);
  BOOST_TEST(body.at("access_token") != "initial-token-1");
  BOOST_TEST(body.at("access_token") == env.Token(company.company_id));
  BOOST_TEST(body.at("expires_at").get<int64_t>() >= now + 1800);
}

BOOST_AUTO_TEST_CASE(accepts_company_in_post_form) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "FORM-", NowUnix() + 1200).at(0);
  const SmartRecruitersClient client(env.app().config.smartrecruiters);
  HttpRequest request = TokenRequest("");
  request.method = "POST";
  request.query = Params();
  request.form = Params({{"company", company.company_id}});

  const HttpResponse response = HandleRefreshRequest(
      request, env.store(), client, env.app().config.refresh);
  BOOST_TEST(response.status == 200);
  const nlohmann::json body = nlohmann::json::parse(response.body);
  BOOST_TEST(body.at("access_token") == "initial-token-1");
}

BOOST_AUTO_TEST_CASE(rejects_other_methods) {
  RefreshEnv env;
  const SmartRecruitersClient client(env.app().config.smartrecruiters);
  HttpRequest request = TokenRequest("ACME-1");
  request.method = "DELETE";

  const HttpResponse response = HandleRefreshRequest(
      request, env.store(), client, env.app().config.refresh);
  BOOST_TEST(response.status == 405);
  BOOST_TEST(HeaderOf(response, "Allow") == "GET, POST");
}

BOOST_AUTO_TEST_CASE(rejects_remote_peer) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "FAR-", NowUnix() + 1200).at(0);
  const SmartRecruitersClient client(env.app().config.smartrecruiters);

  const HttpResponse response =
      HandleRefreshRequest(TokenRequest(company.company_id, "192.0.2.10"),
                           env.store(), client, env.app().config.refresh);
  BOOST_TEST(response.status == 403);
  BOOST_TEST(response.body.find("initial-token") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_company_is_404) {
  RefreshEnv env;
  const SmartRecruitersClient client(env.app().config.smartrecruiters);
  const HttpResponse response = HandleRefreshRequest(
      TokenRequest("NOBODY-1"), env.store(), client, env.app().config.refresh);
  BOOST_TEST(response.status == 404);
  const nlohmann::json body = nlohmann::json::parse(response.body);
  const std::string message = body.at("message");
  BOOST_TEST(message.find("never connected with srconnect") !=
             std::string::npos);
  BOOST_TEST(message.find("Connect it from Company Settings") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_company_is_400) {
  RefreshEnv env;
  const SmartRecruitersClient client(env.app().config.smartrecruiters);
  HttpRequest request = TokenRequest("");
  const HttpResponse response = HandleRefreshRequest(
      request, env.store(), client, env.app().config.refresh);
  BOOST_TEST(response.status == 400);
}

BOOST_AUTO_TEST_CASE(invalid_company_is_400) {
  RefreshEnv env;
  const SmartRecruitersClient client(env.app().config.smartrecruiters);
  const HttpResponse response =
      HandleRefreshRequest(TokenRequest("ACME 1/../x"), env.store(), client,
                           env.app().config.refresh);
  BOOST_TEST(response.status == 400);
  BOOST_TEST(response.body.find("invalid company parameter") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(company_in_query_and_form_is_400) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "BOTH-", NowUnix() + 1200).at(0);
  const SmartRecruitersClient client(env.app().config.smartrecruiters);
  const std::vector<std::string> form_values = {company.company_id,
                                                "OTHER-1"};
  for (const std::string& form_value : form_values) {
    BOOST_TEST_CONTEXT("form company " << form_value) {
      HttpRequest request = TokenRequest(company.company_id);
      request.method = "POST";
      request.form = Params({{"company", form_value}});

      const HttpResponse response = HandleRefreshRequest(
          request, env.store(), client, env.app().config.refresh);
      BOOST_TEST(response.status == 400);
      const nlohmann::json body = nlohmann::json::parse(response.body);
      BOOST_TEST(body.at("error") == "invalid_request");
      const std::string message = body.at("message");
      BOOST_TEST(message.find("query string") != std::string::npos);
      BOOST_TEST(message.find("form body") != std::string::npos);
      BOOST_TEST(message.find("send it once") != std::string::npos);
      BOOST_TEST(body.contains("access_token") == false);
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_character_names_offset) {
  RefreshEnv env;
  const SmartRecruitersClient client(env.app().config.smartrecruiters);
  const HttpResponse response = HandleRefreshRequest(
      TokenRequest("ACME<b>\x01"), env.store(), client,
      env.app().config.refresh);
  BOOST_TEST(response.status == 400);
  const nlohmann::json body = nlohmann::json::parse(response.body);
  const std::string message = body.at("message");
  BOOST_TEST(message.find("company has a character") != std::string::npos);
  BOOST_TEST(message.find("companyId") == std::string::npos);
  BOOST_TEST(message.find("at offset 4 (0-based)") != std::string::npos);
  BOOST_TEST(message.find("A-Z, a-z, 0-9, '.', '_' and '-'") !=
             std::string::npos);
  BOOST_TEST(message.find("Send the SmartRecruiters company id") !=
             std::string::npos);
  BOOST_TEST(message.find("<b>") == std::string::npos);
  BOOST_TEST(message.find('\x01') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(overlong_company_names_length) {
  RefreshEnv env;
  const SmartRecruitersClient client(env.app().config.smartrecruiters);
  const HttpResponse response =
      HandleRefreshRequest(TokenRequest(std::string(70, 'A')), env.store(),
                           client, env.app().config.refresh);
  BOOST_TEST(response.status == 400);
  const nlohmann::json body = nlohmann::json::parse(response.body);
  const std::string message = body.at("message");
  BOOST_TEST(message.find("company has 70 bytes") != std::string::npos);
  BOOST_TEST(message.find("maximum of 64") != std::string::npos);
  BOOST_TEST(message.find("companyId") == std::string::npos);
  BOOST_TEST(message.find("Send the SmartRecruiters company id") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(needs_reintegration_is_409) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "OFF-", NowUnix() + 30).at(0);
  env.fake().Disconnect(company.company_id);
  const SmartRecruitersClient client(env.app().config.smartrecruiters);

  const HttpResponse response =
      HandleRefreshRequest(TokenRequest(company.company_id), env.store(),
                           client, env.app().config.refresh);
  BOOST_TEST(response.status == 409);
  const nlohmann::json body = nlohmann::json::parse(response.body);
  BOOST_TEST(body.at("state") == "needs_reintegration");
  BOOST_TEST(body.at("reason").get<std::string>().find("invalid_client") !=
             std::string::npos);
  BOOST_TEST(body.at("message").get<std::string>().find(
                 "reintegrate SmartRecruiters from Company Settings") !=
             std::string::npos);
  BOOST_TEST(body.contains("access_token") == false);
}

BOOST_AUTO_TEST_CASE(disconnected_is_409) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "BYE-", NowUnix() + 1200).at(0);
  BOOST_REQUIRE(env.store()
                    .Disconnect(company.connection_id, "removed by the test",
                                "test", NowUnix())
                    .ok());
  const SmartRecruitersClient client(env.app().config.smartrecruiters);

  const HttpResponse response =
      HandleRefreshRequest(TokenRequest(company.company_id), env.store(),
                           client, env.app().config.refresh);
  BOOST_TEST(response.status == 409);
  const nlohmann::json body = nlohmann::json::parse(response.body);
  BOOST_TEST(body.at("state") == "disconnected");
  BOOST_TEST(body.at("message").get<std::string>().find(
                 "reintegrate SmartRecruiters from Company Settings") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(unreachable_without_token_is_503) {
  RefreshEnv env;
  const int64_t now = NowUnix();
  const SeededCompany company = env.Seed(1, "DOWN-", now - 10).at(0);
  env.fake().AddFault({{"endpoint", "token"},
                       {"status", 503},
                       {"client_id", company.client_id}});
  const SmartRecruitersClient client(env.app().config.smartrecruiters);

  const HttpResponse response =
      HandleRefreshRequest(TokenRequest(company.company_id), env.store(),
                           client, env.app().config.refresh);
  BOOST_TEST(response.status == 503);
  const std::string retry_after = HeaderOf(response, "Retry-After");
  BOOST_REQUIRE(!retry_after.empty());
  BOOST_TEST(std::stoll(retry_after) >= 1);
  BOOST_TEST(std::stoll(retry_after) <= 30);
  BOOST_TEST(StateName(env.Row(company.company_id).state) == "degraded");

  // During the backoff the hand-out responds without calling
  // SmartRecruiters.
  const HttpResponse again =
      HandleRefreshRequest(TokenRequest(company.company_id), env.store(),
                           client, env.app().config.refresh);
  BOOST_TEST(again.status == 503);
  BOOST_TEST(env.TokenRequestsReceived(company.client_id) == 1);
}

BOOST_AUTO_TEST_CASE(keeps_old_token_on_transient_failure) {
  RefreshEnv env;
  const int64_t now = NowUnix();
  const SeededCompany company = env.Seed(1, "HOLD-", now + 120).at(0);
  env.fake().AddFault({{"endpoint", "token"},
                       {"status", 503},
                       {"client_id", company.client_id}});
  const SmartRecruitersClient client(env.app().config.smartrecruiters);

  const HttpResponse response =
      HandleRefreshRequest(TokenRequest(company.company_id), env.store(),
                           client, env.app().config.refresh);
  BOOST_TEST(response.status == 200);
  const nlohmann::json body = nlohmann::json::parse(response.body);
  BOOST_TEST(body.at("access_token") == "initial-token-1");
  BOOST_TEST(body.at("expires_at") == now + 120);
  BOOST_TEST(StateName(env.Row(company.company_id).state) == "degraded");
}

// Takes the lease of `company` for another owner, requests a token while
// that owner holds it, and has the owner commit `token` with `expires_at`
// 500 ms later from its own Store (a Store is not thread-safe). Returns the
// hand-out's response.
HttpResponse HandOutWhileOtherOwnerCommits(RefreshEnv& env,
                                           const SeededCompany& company,
                                           const std::string& token,
                                           int64_t expires_at) {
  const int64_t now = NowUnix();
  const std::string other = "other-host:1:w0";
  Result<bool> taken =
      env.store().AcquireLease(company.connection_id, other, now, now + 10);
  BOOST_REQUIRE(taken.ok());
  BOOST_REQUIRE(*taken);

  std::thread holder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    Result<std::unique_ptr<Store>> store = env.app().OpenStore();
    if (!store.ok()) return;
    (void)(*store)->CommitToken(company.connection_id, other, Secret(token),
                                expires_at, NowUnix());
  });
  const SmartRecruitersClient client(env.app().config.smartrecruiters);
  const HttpResponse response =
      HandleRefreshRequest(TokenRequest(company.company_id), env.store(),
                           client, env.app().config.refresh);
  holder.join();
  return response;
}

BOOST_AUTO_TEST_CASE(waits_for_lease_holder) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "WAIT-", NowUnix() - 1).at(0);

  const HttpResponse response = HandOutWhileOtherOwnerCommits(
      env, company, "token-from-other-owner", NowUnix() + 1800);

  BOOST_TEST(response.status == 200);
  const nlohmann::json body = nlohmann::json::parse(response.body);
  BOOST_TEST(body.at("access_token") == "token-from-other-owner");
  BOOST_TEST(env.TokenRequestsReceived(company.client_id) == 0);
}

BOOST_AUTO_TEST_CASE(sees_renewal_with_same_expiry) {
  // A token with less than kHandOutMinLifetimeS left makes the hand-out
  // wait for the lease holder. The holder stores a new token with the same
  // expiry second, as a renewal within the same second as the last one
  // does, so only the released lease shows that it finished.
  RefreshEnv env;
  const int64_t expires_at = NowUnix() + 30;
  const SeededCompany company = env.Seed(1, "SAME-", expires_at).at(0);

  const HttpResponse response = HandOutWhileOtherOwnerCommits(
      env, company, "same-second-token", expires_at);

  BOOST_TEST(response.status == 200);
  const nlohmann::json body = nlohmann::json::parse(response.body);
  BOOST_TEST(body.at("access_token") == "same-second-token");
  // A wait that missed the release would renew once more itself.
  BOOST_TEST(env.TokenRequestsReceived(company.client_id) == 0);
}

BOOST_AUTO_TEST_SUITE_END()

// --- the token hand-out, through FastCGI ------------------------------------

// Returns the status line and body of one FastCGI request sent with
// cgi-fcgi to the responder on `socket_path`, with REMOTE_ADDR set to
// `remote_addr` as nginx would set it.
std::pair<int, std::string> FastCgiGet(
    const std::string& socket_path, const std::string& query,
    const std::string& output_path,
    const std::string& remote_addr = "127.0.0.1") {
  ChildProcess client(
      {"/usr/bin/env", "REQUEST_METHOD=GET",
       "DOCUMENT_URI=/smartrecruiters/refresh", "QUERY_STRING=" + query,
       "REMOTE_ADDR=" + remote_addr, "SERVER_PROTOCOL=HTTP/1.1",
       "/usr/bin/cgi-fcgi", "-bind", "-connect", socket_path},
      output_path);
  if (client.Wait(std::chrono::seconds(30)) != 0) return {0, ""};
  const std::string text = client.Output();
  const size_t status_at = text.find("Status: ");
  const int status = status_at == std::string::npos
                         ? 0
                         : std::stoi(text.substr(status_at + 8));
  const size_t body_at = text.find("\r\n\r\n");
  return {status, body_at == std::string::npos ? "" : text.substr(body_at + 4)};
}

// Starts srconnect-refresh as a FastCGI responder under spawn-fcgi on
// `socket_path`, and waits at most 10 s for the socket.
std::unique_ptr<ChildProcess> StartResponder(RefreshEnv& env,
                                             const std::string& socket_path) {
  auto responder = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/spawn-fcgi", "-n", "-s", socket_path,
                               "-M", "0600", "--", testing::kRefreshBinary,
                               "--config", env.config_path()},
      env.File("responder.log"));
  BOOST_REQUIRE(WaitFor(std::chrono::seconds(10), [&] {
    return ::access(socket_path.c_str(), F_OK) == 0;
  }));
  return responder;
}

BOOST_AUTO_TEST_SUITE(refresh_fastcgi)

BOOST_AUTO_TEST_CASE(hands_out_token_over_fastcgi) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "FCGI-", NowUnix() + 30).at(0);
  const std::string socket_path = env.File("refresh.sock");
  std::unique_ptr<ChildProcess> started = StartResponder(env, socket_path);
  ChildProcess& responder = *started;

  const auto [status, body] = FastCgiGet(
      socket_path, "company=" + company.company_id, env.File("cgi.out"));
  BOOST_TEST_INFO("responder log: " << responder.Output());
  BOOST_TEST(status == 200);
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  BOOST_REQUIRE(json.is_object());
  BOOST_TEST(json.at("access_token") == env.Token(company.company_id));
  BOOST_TEST(json.at("access_token") != "initial-token-1");

  const auto [unknown_status, unknown_body] =
      FastCgiGet(socket_path, "company=NOBODY-9", env.File("cgi2.out"));
  BOOST_TEST(unknown_status == 404);

  responder.Kill();
  const std::string log = responder.Output();
  BOOST_TEST(log.find("handed out token sha256:") != std::string::npos);
  BOOST_TEST(log.find(env.Token(company.company_id)) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(forged_remote_peer_gets_403_over_fastcgi) {
  RefreshEnv env;
  const SeededCompany company = env.Seed(1, "PEER-", NowUnix() + 1200).at(0);
  const std::string socket_path = env.File("refresh.sock");
  std::unique_ptr<ChildProcess> responder = StartResponder(env, socket_path);
  int request_count = 0;
  auto get_from = [&](const std::string& remote_addr) {
    const std::string output = "cgi-" + std::to_string(++request_count);
    return FastCgiGet(socket_path, "company=" + company.company_id,
                      env.File(output), remote_addr);
  };

  // Peers that nginx's allow rules deny, passed straight to the responder
  // as a misconfigured web server would pass them. "" is a missing
  // address.
  for (const char* remote_addr : {"198.51.100.7", "2001:db8::7",
                                  "::ffff:198.51.100.7", "128.0.0.1", ""}) {
    BOOST_TEST_CONTEXT("REMOTE_ADDR \"" << remote_addr << "\"") {
      const auto [status, body] = get_from(remote_addr);
      BOOST_TEST(status == 403);
      const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
      BOOST_TEST_REQUIRE(json.is_object(), body);
      BOOST_TEST(json.value("error", "") == "forbidden");
      BOOST_TEST(json.contains("access_token") == false);
      BOOST_TEST(body.find("initial-token") == std::string::npos);
    }
  }

  // A loopback peer gets the token, so the 403s came from the address.
  for (const char* remote_addr : {"127.0.0.1", "::1"}) {
    BOOST_TEST_CONTEXT("REMOTE_ADDR \"" << remote_addr << "\"") {
      const auto [status, body] = get_from(remote_addr);
      BOOST_TEST(status == 200);
      BOOST_TEST(body.find("initial-token-1") != std::string::npos, body);
    }
  }

  responder->Kill();
  const std::string log = responder->Output();
  BOOST_TEST(log.find("token request from \"198.51.100.7\" rejected") !=
                 std::string::npos,
             log);
  BOOST_TEST(log.find("initial-token") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_query_gets_json_400) {
  RefreshEnv env;
  const std::string socket_path = env.File("refresh.sock");
  std::unique_ptr<ChildProcess> responder = StartResponder(env, socket_path);
  const std::vector<std::string> queries = {
      "company=%ZZ", "company=ACME%00", "company=" + std::string(4096, 'A')};
  int request_count = 0;
  for (const std::string& query : queries) {
    BOOST_TEST_CONTEXT("query \"" << query.substr(0, 20) << "\"") {
      const std::string output = "cgi-" + std::to_string(++request_count);
      const auto [status, body] =
          FastCgiGet(socket_path, query, env.File(output));
      BOOST_TEST(status == 400);
      const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
      BOOST_TEST_REQUIRE(json.is_object(), body);
      BOOST_TEST(json.value("error", "") == "invalid_request");
      BOOST_TEST(json.value("message", "").find("query string") !=
                 std::string::npos);
    }
  }
  responder->Kill();
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace srconnect
