// Tests of the fake SmartRecruiters server, run as a child process on
// 127.0.0.1 and driven with cpp-httplib clients, as srconnect's client
// tests will drive it.

#define BOOST_TEST_MODULE fake_smartrecruiters
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "support/fake_smartrecruiters.h"
#include "support/temp_dir.h"
#include "support/tls.h"

namespace srconnect::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kConsentUrl[] = "http://127.0.0.1:9/smartrecruiters/consent";
constexpr char kTokenPath[] = "/identity/oauth/token";
constexpr char kSetupPath[] = "/apps-integrations/partner-api/integrations";
constexpr char kApiPath[] = "/configuration/company";

FakeSmartRecruiters::Options DefaultOptions(
    const std::string& display_mode = "REDIRECT") {
  FakeSmartRecruiters::Options options;
  options.config_yaml =
      FakeSmartRecruiters::DefaultConfigYaml(kConsentUrl, display_mode);
  return options;
}

// A running fake with the default configuration and a client for it.
struct FakeFixture {
  FakeFixture() : fake(DefaultOptions()), client(fake.NewClient()) {}

  FakeSmartRecruiters fake;
  std::unique_ptr<httplib::Client> client;
};

struct Credentials {
  std::string client_id;
  std::string client_secret;
};

httplib::Result RequestToken(httplib::Client& client,
                             const std::string& client_id,
                             const std::string& client_secret) {
  return client.Post(kTokenPath, httplib::Params{
                                     {"grant_type", "client_credentials"},
                                     {"client_id", client_id},
                                     {"client_secret", client_secret},
                                 });
}

// Returns the access token of a successful token response.
std::string TokenFrom(const httplib::Result& result) {
  BOOST_REQUIRE(result);
  BOOST_REQUIRE_EQUAL(result->status, 200);
  return json::parse(result->body).at("access_token").get<std::string>();
}

std::string MasterToken(httplib::Client& client) {
  return TokenFrom(RequestToken(client, FakeSmartRecruiters::kMasterClientId,
                                FakeSmartRecruiters::kMasterClientSecret));
}

httplib::Result CallSetup(httplib::Client& client, const std::string& token,
                          const std::string& body) {
  return client.Post(kSetupPath, {{"Authorization", "Bearer " + token}}, body,
                     "application/json");
}

httplib::Result CallApi(httplib::Client& client, const std::string& token,
                        const std::string& path = kApiPath) {
  return client.Get(path, {{"Authorization", "Bearer " + token}});
}

// Records consent and runs the setup call for `company`; returns the
// customer credentials.
Credentials Integrate(FakeSmartRecruiters& fake, httplib::Client& client,
                      const std::string& company) {
  fake.GiveConsent(company);
  const httplib::Result result = CallSetup(client, MasterToken(client),
                                           json{{"companyId", company}}.dump());
  BOOST_REQUIRE(result);
  BOOST_REQUIRE_EQUAL(result->status, 200);
  const json body = json::parse(result->body);
  return {body.at("clientId").get<std::string>(),
          body.at("clientSecret").get<std::string>()};
}

std::string ErrorCode(const httplib::Result& result) {
  const json body = json::parse(result->body);
  return body.at("errors").at(0).at("code").get<std::string>();
}

// Signs in through the form and returns the Cookie header value.
std::string SignIn(httplib::Client& client, const std::string& company,
                   const std::string& user) {
  const httplib::Result result = client.Post(
      "/sign-in", httplib::Params{{"company", company}, {"user", user}});
  BOOST_REQUIRE(result);
  BOOST_REQUIRE_EQUAL(result->status, 303);
  const std::string set_cookie = result->get_header_value("Set-Cookie");
  BOOST_REQUIRE(set_cookie.rfind("sr_session=", 0) == 0);
  return set_cookie.substr(0, set_cookie.find(';'));
}

httplib::Result PostPage(httplib::Client& client, const std::string& path,
                         const std::string& cookie,
                         const httplib::Params& form) {
  return client.Post(path, {{"Cookie", cookie}}, form);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

// Splits a query string at '&' and '=' and then decodes each part, so an
// encoded '&' inside a value stays in that value.
std::map<std::string, std::string> ParseQuery(const std::string& query) {
  std::map<std::string, std::string> fields;
  std::istringstream pairs(query);
  std::string pair;
  while (std::getline(pairs, pair, '&')) {
    const size_t equals = pair.find('=');
    fields[httplib::detail::decode_url(pair.substr(0, equals), true)] =
        equals == std::string::npos
            ? ""
            : httplib::detail::decode_url(pair.substr(equals + 1), true);
  }
  return fields;
}

// Sends `request` over a new connection to 127.0.0.1:`port` and returns
// everything the server sends until it closes the connection (at most 5 s).
std::string RawHttpExchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) ==
          0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) {
      response.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

// Returns `text` with the first `from` replaced by `to`; `from` must occur.
std::string ReplaceOnce(std::string text, const std::string& from,
                        const std::string& to) {
  const size_t at = text.find(from);
  BOOST_REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

int64_t MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                               start)
      .count();
}

BOOST_AUTO_TEST_SUITE(fake_smartrecruiters)

// Token endpoint.

BOOST_FIXTURE_TEST_CASE(issues_master_token, FakeFixture) {
  const httplib::Result result =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(result->get_header_value("Cache-Control") == "no-store");
  const json body = json::parse(result->body);
  BOOST_TEST(body.at("token_type") == "bearer");
  BOOST_TEST(body.at("expires_in") == 1800);
  // 32 random bytes in unpadded base64url.
  BOOST_TEST(body.at("access_token").get<std::string>().size() == 43u);
  BOOST_TEST(!body.contains("refresh_token"));
}

BOOST_FIXTURE_TEST_CASE(accepts_basic_client_auth, FakeFixture) {
  client->set_basic_auth(FakeSmartRecruiters::kMasterClientId,
                         FakeSmartRecruiters::kMasterClientSecret);
  const httplib::Result result = client->Post(
      kTokenPath, httplib::Params{{"grant_type", "client_credentials"}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
}

BOOST_FIXTURE_TEST_CASE(rejects_wrong_secret, FakeFixture) {
  const httplib::Result result =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId, "wrong");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 401);
  BOOST_TEST(json::parse(result->body).at("error") == "invalid_client");
}

BOOST_FIXTURE_TEST_CASE(rejects_unknown_client, FakeFixture) {
  const httplib::Result result = RequestToken(*client, "nobody", "secret");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 401);
  BOOST_TEST(json::parse(result->body).at("error") == "invalid_client");
}

BOOST_FIXTURE_TEST_CASE(rejects_unsupported_grant_type, FakeFixture) {
  const httplib::Result result = client->Post(
      kTokenPath,
      httplib::Params{
          {"grant_type", "password"},
          {"client_id", FakeSmartRecruiters::kMasterClientId},
          {"client_secret", FakeSmartRecruiters::kMasterClientSecret}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 400);
  BOOST_TEST(json::parse(result->body).at("error") == "unsupported_grant_type");
}

BOOST_FIXTURE_TEST_CASE(rejects_missing_token_parameters, FakeFixture) {
  const std::vector<httplib::Params> cases = {
      {{"client_id", "a"}, {"client_secret", "b"}},
      {{"grant_type", "client_credentials"}, {"client_secret", "b"}},
      {{"grant_type", "client_credentials"}, {"client_id", "a"}},
  };
  for (const httplib::Params& form : cases) {
    const httplib::Result result = client->Post(kTokenPath, form);
    BOOST_REQUIRE(result);
    BOOST_TEST(result->status == 400);
    BOOST_TEST(json::parse(result->body).at("error") == "invalid_request");
  }
  const httplib::Result json_body = client->Post(
      kTokenPath, R"({"grant_type":"client_credentials"})", "application/json");
  BOOST_REQUIRE(json_body);
  BOOST_TEST(json_body->status == 400);
}

BOOST_AUTO_TEST_CASE(token_lifetime_option_sets_expires_in) {
  FakeSmartRecruiters::Options options = DefaultOptions();
  options.extra_args = {"--token-lifetime-s", "5"};
  FakeSmartRecruiters fake(options);
  auto client = fake.NewClient();
  httplib::Result result =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(result);
  BOOST_TEST(json::parse(result->body).at("expires_in") == 5);

  fake.SetTokenLifetime(9);
  result = RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                        FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(result);
  BOOST_TEST(json::parse(result->body).at("expires_in") == 9);
}

// Setup call.

BOOST_FIXTURE_TEST_CASE(setup_creates_working_credentials, FakeFixture) {
  const Credentials credentials = Integrate(fake, *client, "ACME-1");
  BOOST_TEST(credentials.client_id.rfind("cc-", 0) == 0u);
  BOOST_TEST(credentials.client_secret.size() == 43u);

  const httplib::Result token =
      RequestToken(*client, credentials.client_id, credentials.client_secret);
  BOOST_REQUIRE(token);
  BOOST_TEST(token->status == 200);

  const json state = fake.State();
  BOOST_TEST(state.at("setup_calls").at("ACME-1") == 1);
  for (const json& company : state.at("companies")) {
    if (company.at("id") != "ACME-1") continue;
    BOOST_TEST(company.at("integrated") == true);
    BOOST_TEST(company.at("client_id") == credentials.client_id);
  }
}

BOOST_FIXTURE_TEST_CASE(setup_stores_partner_client_id, FakeFixture) {
  fake.GiveConsent("ACME-1");
  const httplib::Result result =
      CallSetup(*client, MasterToken(*client),
                json{{"companyId", "ACME-1"},
                     {"clientId", "srconnect-acme"},
                     {"clientSecret", "partner-secret-for-sr"}}
                    .dump());
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  const std::string state = fake.State().dump();
  BOOST_TEST(Contains(state, "srconnect-acme"));
  BOOST_TEST(!Contains(state, "partner-secret-for-sr"));
}

BOOST_FIXTURE_TEST_CASE(setup_without_token_is_401, FakeFixture) {
  fake.GiveConsent("ACME-1");
  const httplib::Result result = client->Post(
      kSetupPath, json{{"companyId", "ACME-1"}}.dump(), "application/json");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 401);
  BOOST_TEST(ErrorCode(result) == "unauthorized");

  const httplib::Result unknown =
      CallSetup(*client, "not-a-token", json{{"companyId", "ACME-1"}}.dump());
  BOOST_REQUIRE(unknown);
  BOOST_TEST(unknown->status == 401);
}

BOOST_FIXTURE_TEST_CASE(setup_with_expired_token_is_401, FakeFixture) {
  fake.GiveConsent("ACME-1");
  const std::string token = MasterToken(*client);
  BOOST_TEST(fake.ExpireTokens() >= 1);
  const httplib::Result result =
      CallSetup(*client, token, json{{"companyId", "ACME-1"}}.dump());
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 401);
}

BOOST_FIXTURE_TEST_CASE(setup_with_customer_token_is_403, FakeFixture) {
  const Credentials acme = Integrate(fake, *client, "ACME-1");
  const std::string customer_token =
      TokenFrom(RequestToken(*client, acme.client_id, acme.client_secret));
  fake.GiveConsent("GLOBEX-2");
  const httplib::Result result = CallSetup(
      *client, customer_token, json{{"companyId", "GLOBEX-2"}}.dump());
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 403);
  BOOST_TEST(ErrorCode(result) == "insufficient_scope");
}

BOOST_FIXTURE_TEST_CASE(setup_without_consent_is_403, FakeFixture) {
  const httplib::Result result = CallSetup(
      *client, MasterToken(*client), json{{"companyId", "ACME-1"}}.dump());
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 403);
  BOOST_TEST(ErrorCode(result) == "consent_missing");
  const json body = json::parse(result->body);
  BOOST_TEST(body.at("message").is_string());
}

BOOST_FIXTURE_TEST_CASE(setup_twice_is_409, FakeFixture) {
  Integrate(fake, *client, "ACME-1");
  const httplib::Result result = CallSetup(
      *client, MasterToken(*client), json{{"companyId", "ACME-1"}}.dump());
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 409);
  BOOST_TEST(ErrorCode(result) == "already_integrated");
}

BOOST_FIXTURE_TEST_CASE(setup_unknown_company_is_404, FakeFixture) {
  const httplib::Result result = CallSetup(
      *client, MasterToken(*client), json{{"companyId", "NOPE-9"}}.dump());
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 404);
  BOOST_TEST(ErrorCode(result) == "company_not_found");
}

BOOST_FIXTURE_TEST_CASE(setup_bad_body_is_400, FakeFixture) {
  fake.GiveConsent("ACME-1");
  const std::string token = MasterToken(*client);
  const std::vector<std::string> bodies = {
      "not json",
      "[]",
      "{}",
      R"({"companyId": 7})",
      R"({"companyId": "ACME-1", "clientId": "only-id"})",
      R"({"companyId": "ACME-1", "clientSecret": "only-secret"})",
      R"({"companyId": "ACME-1", "clientId": 1, "clientSecret": "s"})",
  };
  for (const std::string& body : bodies) {
    BOOST_TEST_CONTEXT("body " << body) {
      const httplib::Result result = CallSetup(*client, token, body);
      BOOST_REQUIRE(result);
      BOOST_TEST(result->status == 400);
      BOOST_TEST(ErrorCode(result) == "invalid_body");
    }
  }
  BOOST_TEST(fake.State().at("companies").at(0).at("integrated") == false);
}

BOOST_AUTO_TEST_CASE(setup_after_consent_expiry_is_403) {
  FakeSmartRecruiters::Options options = DefaultOptions();
  options.config_yaml = ReplaceOnce(options.config_yaml,
                                    "partner_scope: client_credentials_write\n",
                                    "partner_scope: client_credentials_write\n"
                                    "  consent_lifetime_s: 1\n");
  FakeSmartRecruiters fake(options);
  auto client = fake.NewClient();
  fake.GiveConsent("ACME-1");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));

  const httplib::Result result = CallSetup(
      *client, MasterToken(*client), json{{"companyId", "ACME-1"}}.dump());
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 403);
  BOOST_TEST(ErrorCode(result) == "consent_missing");
}

BOOST_AUTO_TEST_CASE(setup_honours_configured_fields) {
  FakeSmartRecruiters::Options options = DefaultOptions();
  options.config_yaml = ReplaceOnce(
      options.config_yaml, "partner_scope: client_credentials_write\n",
      "partner_scope: partner_configuration_manage\n"
      "  partner_credentials: required\n"
      "  setup_request_fields: {company_id: company, client_id: id, "
      "client_secret: secret}\n");
  FakeSmartRecruiters fake(options);
  auto client = fake.NewClient();
  fake.GiveConsent("ACME-1");
  const std::string token = MasterToken(*client);

  const httplib::Result without_credentials =
      CallSetup(*client, token, json{{"company", "ACME-1"}}.dump());
  BOOST_REQUIRE(without_credentials);
  BOOST_TEST(without_credentials->status == 400);

  const httplib::Result default_names = CallSetup(
      *client, token,
      json{{"companyId", "ACME-1"}, {"clientId", "a"}, {"clientSecret", "b"}}
          .dump());
  BOOST_REQUIRE(default_names);
  BOOST_TEST(default_names->status == 400);

  const httplib::Result configured = CallSetup(
      *client, token,
      json{{"company", "ACME-1"}, {"id", "a"}, {"secret", "b"}}.dump());
  BOOST_REQUIRE(configured);
  BOOST_TEST(configured->status == 200);
}

BOOST_AUTO_TEST_CASE(rejects_invalid_config) {
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"consent_display_mode: REDIRECT", "consent_display_mode: SIDEWAYS"},
      {"name: Acme Corp", "name: Acme Corp\n    colour: red"},
      {"id: GLOBEX-2", "id: ACME-1"},
      {"partner_scope: client_credentials_write", "partner_scope: jobs_read"},
  };
  for (const auto& [from, to] : edits) {
    BOOST_TEST_CONTEXT("replacing " << from) {
      FakeSmartRecruiters::Options options = DefaultOptions();
      options.config_yaml = ReplaceOnce(options.config_yaml, from, to);
      BOOST_CHECK_THROW(FakeSmartRecruiters fake(options), std::runtime_error);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(seed_creates_integrated_companies, FakeFixture) {
  const json seeded = fake.Seed(3, "BENCH-");
  BOOST_REQUIRE_EQUAL(seeded.size(), 3u);
  BOOST_TEST(seeded.at(0).at("companyId") == "BENCH-1");
  for (const json& entry : seeded) {
    const httplib::Result token =
        RequestToken(*client, entry.at("clientId").get<std::string>(),
                     entry.at("clientSecret").get<std::string>());
    BOOST_REQUIRE(token);
    BOOST_TEST(token->status == 200);
  }
  BOOST_TEST(fake.Seed(1, "BENCH-").at(0).at("companyId") == "BENCH-4");
}

// Sample API and disconnect.

BOOST_FIXTURE_TEST_CASE(api_accepts_customer_token, FakeFixture) {
  const Credentials acme = Integrate(fake, *client, "ACME-1");
  const std::string token =
      TokenFrom(RequestToken(*client, acme.client_id, acme.client_secret));
  const httplib::Result result = CallApi(*client, token);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  const json body = json::parse(result->body);
  BOOST_TEST(body.at("id") == "ACME-1");
  BOOST_TEST(body.at("name") == "Acme Corp");
}

BOOST_FIXTURE_TEST_CASE(api_rejects_other_company_token, FakeFixture) {
  const Credentials acme = Integrate(fake, *client, "ACME-1");
  const Credentials globex = Integrate(fake, *client, "GLOBEX-2");
  const std::string globex_token =
      TokenFrom(RequestToken(*client, globex.client_id, globex.client_secret));

  const httplib::Result other = CallApi(
      *client, globex_token, std::string(kApiPath) + "?companyId=ACME-1");
  BOOST_REQUIRE(other);
  BOOST_TEST(other->status == 403);
  BOOST_TEST(ErrorCode(other) == "company_mismatch");

  const httplib::Result own = CallApi(*client, globex_token);
  BOOST_REQUIRE(own);
  BOOST_TEST(json::parse(own->body).at("id") == "GLOBEX-2");
}

BOOST_FIXTURE_TEST_CASE(api_rejects_master_and_missing_token, FakeFixture) {
  const httplib::Result master = CallApi(*client, MasterToken(*client));
  BOOST_REQUIRE(master);
  BOOST_TEST(master->status == 401);

  const httplib::Result none = client->Get(kApiPath);
  BOOST_REQUIRE(none);
  BOOST_TEST(none->status == 401);
  BOOST_TEST(Contains(none->get_header_value("WWW-Authenticate"), "Bearer"));
}

BOOST_FIXTURE_TEST_CASE(disconnect_revokes_credentials, FakeFixture) {
  const Credentials acme = Integrate(fake, *client, "ACME-1");
  const std::string token =
      TokenFrom(RequestToken(*client, acme.client_id, acme.client_secret));
  fake.Disconnect("ACME-1");

  const httplib::Result refused =
      RequestToken(*client, acme.client_id, acme.client_secret);
  BOOST_REQUIRE(refused);
  BOOST_TEST(refused->status == 401);
  BOOST_TEST(json::parse(refused->body).at("error") == "invalid_client");

  const httplib::Result api = CallApi(*client, token);
  BOOST_REQUIRE(api);
  BOOST_TEST(api->status == 401);

  const json state = fake.State();
  BOOST_TEST(state.at("companies").at(0).at("integrated") == false);
  BOOST_TEST(state.at("companies").at(0).at("consent") == false);
}

BOOST_FIXTURE_TEST_CASE(state_counts_requests, FakeFixture) {
  RequestToken(*client, FakeSmartRecruiters::kMasterClientId, "wrong");
  MasterToken(*client);
  const json state = fake.State();
  BOOST_TEST(
      state.at("token_requests").at(FakeSmartRecruiters::kMasterClientId) == 2);
  BOOST_TEST(
      state.at("tokens_issued").at(FakeSmartRecruiters::kMasterClientId) == 1);
  BOOST_TEST(state.at("live_tokens") == 1);
  BOOST_TEST(state.at("partner_app").at("name") == "GoodTime Hire");
}

// Faults.

BOOST_FIXTURE_TEST_CASE(status_fault_with_count, FakeFixture) {
  fake.AddFault({{"endpoint", "token"}, {"status", 503}, {"count", 2}});
  for (int i = 0; i < 2; ++i) {
    const httplib::Result result =
        RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                     FakeSmartRecruiters::kMasterClientSecret);
    BOOST_REQUIRE(result);
    BOOST_TEST(result->status == 503);
  }
  const httplib::Result after =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(after);
  BOOST_TEST(after->status == 200);
}

BOOST_FIXTURE_TEST_CASE(status_429_sets_retry_after, FakeFixture) {
  fake.AddFault({{"endpoint", "token"}, {"status", 429}, {"retry_after_s", 7}});
  const httplib::Result result =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 429);
  BOOST_TEST(result->get_header_value("Retry-After") == "7");
}

BOOST_FIXTURE_TEST_CASE(status_502_has_html_body, FakeFixture) {
  fake.AddFault({{"endpoint", "setup"}, {"status", 502}});
  const httplib::Result result = CallSetup(
      *client, MasterToken(*client), json{{"companyId", "ACME-1"}}.dump());
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 502);
  BOOST_TEST(Contains(result->get_header_value("Content-Type"), "text/html"));
  BOOST_TEST(json::parse(result->body, nullptr, false).is_discarded());
}

BOOST_FIXTURE_TEST_CASE(malformed_json_fault, FakeFixture) {
  fake.AddFault({{"endpoint", "token"}, {"malformed_json", true}});
  const httplib::Result result =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(!result->body.empty());
  BOOST_TEST(json::parse(result->body, nullptr, false).is_discarded());
}

BOOST_FIXTURE_TEST_CASE(missing_fields_fault, FakeFixture) {
  fake.AddFault({{"endpoint", "token"}, {"missing_fields", true}});
  const httplib::Result token =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(token);
  BOOST_TEST(token->status == 200);
  const json token_body = json::parse(token->body);
  BOOST_TEST(!token_body.contains("access_token"));
  BOOST_TEST(token_body.contains("expires_in"));

  fake.ClearFaults();
  fake.GiveConsent("ACME-1");
  fake.AddFault({{"endpoint", "setup"}, {"missing_fields", true}});
  const httplib::Result setup = CallSetup(*client, MasterToken(*client),
                                          json{{"companyId", "ACME-1"}}.dump());
  BOOST_REQUIRE(setup);
  BOOST_TEST(setup->status == 200);
  const json setup_body = json::parse(setup->body);
  BOOST_TEST(setup_body.contains("clientId"));
  BOOST_TEST(!setup_body.contains("clientSecret"));
}

BOOST_FIXTURE_TEST_CASE(html_body_fault, FakeFixture) {
  fake.AddFault({{"endpoint", "api"}, {"html_body", true}});
  const httplib::Result result = CallApi(*client, "any");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(Contains(result->get_header_value("Content-Type"), "text/html"));
}

BOOST_FIXTURE_TEST_CASE(drop_fault_closes_connection, FakeFixture) {
  fake.AddFault({{"endpoint", "token"}, {"drop", true}, {"count", 1}});
  const httplib::Result dropped =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(!dropped);
  BOOST_TEST(dropped.error() == httplib::Error::Read);

  const httplib::Result next =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(next);
  BOOST_TEST(next->status == 200);
}

BOOST_FIXTURE_TEST_CASE(stall_fault_times_out_client, FakeFixture) {
  fake.AddFault({{"endpoint", "token"}, {"stall_ms", 3000}, {"count", 1}});
  client->set_read_timeout(std::chrono::seconds(1));
  const Clock::time_point start = Clock::now();
  const httplib::Result stalled =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  const int64_t elapsed_ms = MillisecondsSince(start);
  BOOST_REQUIRE(!stalled);
  BOOST_TEST(stalled.error() == httplib::Error::Read);
  BOOST_TEST(elapsed_ms >= 900);
  BOOST_TEST(elapsed_ms < 2500);
}

BOOST_FIXTURE_TEST_CASE(latency_fault_delays_response, FakeFixture) {
  fake.AddFault({{"endpoint", "token"}, {"latency_ms", 300}});
  const Clock::time_point start = Clock::now();
  const httplib::Result result =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(MillisecondsSince(start) >= 300);
}

BOOST_FIXTURE_TEST_CASE(nth_selector_hits_one_request, FakeFixture) {
  fake.AddFault({{"endpoint", "token"}, {"status", 500}, {"nth", 2}});
  std::vector<int> statuses;
  for (int i = 0; i < 3; ++i) {
    const httplib::Result result =
        RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                     FakeSmartRecruiters::kMasterClientSecret);
    BOOST_REQUIRE(result);
    statuses.push_back(result->status);
  }
  BOOST_TEST(statuses == (std::vector<int>{200, 500, 200}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(client_id_selector_matches_client, FakeFixture) {
  const Credentials acme = Integrate(fake, *client, "ACME-1");
  fake.AddFault(
      {{"endpoint", "token"}, {"status", 503}, {"client_id", acme.client_id}});

  const httplib::Result customer =
      RequestToken(*client, acme.client_id, acme.client_secret);
  BOOST_REQUIRE(customer);
  BOOST_TEST(customer->status == 503);

  const httplib::Result master =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(master);
  BOOST_TEST(master->status == 200);
}

BOOST_FIXTURE_TEST_CASE(company_id_selector_matches_company, FakeFixture) {
  fake.GiveConsent("ACME-1");
  fake.GiveConsent("GLOBEX-2");
  fake.AddFault(
      {{"endpoint", "setup"}, {"status", 500}, {"company_id", "ACME-1"}});
  const std::string token = MasterToken(*client);

  const httplib::Result acme =
      CallSetup(*client, token, json{{"companyId", "ACME-1"}}.dump());
  BOOST_REQUIRE(acme);
  BOOST_TEST(acme->status == 500);

  const httplib::Result globex =
      CallSetup(*client, token, json{{"companyId", "GLOBEX-2"}}.dump());
  BOOST_REQUIRE(globex);
  BOOST_TEST(globex->status == 200);
}

BOOST_AUTO_TEST_CASE(fault_option_installs_fault) {
  FakeSmartRecruiters::Options options = DefaultOptions();
  options.extra_args = {"--fault", "token:status=503:count=1"};
  FakeSmartRecruiters fake(options);
  auto client = fake.NewClient();
  const httplib::Result first =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(first);
  BOOST_TEST(first->status == 503);
  const json faults = fake.State().at("faults");
  BOOST_REQUIRE_EQUAL(faults.size(), 1u);
  BOOST_TEST(faults.at(0).at("spec") == "token:status=503:count=1");
  BOOST_TEST(faults.at(0).at("applied") == 1);
}

BOOST_FIXTURE_TEST_CASE(clear_faults_restores_service, FakeFixture) {
  fake.AddFault({{"endpoint", "token"}, {"status", 503}});
  fake.ClearFaults();
  const httplib::Result result =
      RequestToken(*client, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
}

BOOST_FIXTURE_TEST_CASE(admin_rejects_invalid_faults, FakeFixture) {
  const std::vector<json> faults = {
      {{"endpoint", "nowhere"}, {"status", 500}},
      {{"endpoint", "token"}},
      {{"endpoint", "token"}, {"status", 200}},
      {{"endpoint", "token"}, {"status", 500}, {"drop", true}},
      {{"endpoint", "pages"}, {"malformed_json", true}},
      {{"endpoint", "token"}, {"status", 500}, {"colour", "red"}},
  };
  for (const json& fault : faults) {
    BOOST_TEST_CONTEXT("fault " << fault.dump()) {
      BOOST_CHECK_THROW(fake.AddFault(fault), std::runtime_error);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(serves_concurrent_delayed_requests, FakeFixture) {
  fake.AddFault({{"endpoint", "token"}, {"latency_ms", 50}});
  constexpr int kClients = 32;
  const Clock::time_point start = Clock::now();
  std::vector<std::future<int>> statuses;
  for (int i = 0; i < kClients; ++i) {
    statuses.push_back(std::async(std::launch::async, [this] {
      auto own_client = fake.NewClient();
      const httplib::Result result =
          RequestToken(*own_client, FakeSmartRecruiters::kMasterClientId,
                       FakeSmartRecruiters::kMasterClientSecret);
      return result ? result->status : -1;
    }));
  }
  for (std::future<int>& status : statuses) BOOST_TEST(status.get() == 200);
  // One at a time they would take 32 * 50 ms = 1.6 s.
  BOOST_TEST(MillisecondsSince(start) < 1000);
}

// Request log.

BOOST_FIXTURE_TEST_CASE(request_log_hides_secrets, FakeFixture) {
  const std::string master_token = MasterToken(*client);
  fake.GiveConsent("ACME-1");
  const std::string partner_secret = "partner-secret-given-to-sr";
  const httplib::Result setup = CallSetup(*client, master_token,
                                          json{{"companyId", "ACME-1"},
                                               {"clientId", "srconnect-acme"},
                                               {"clientSecret", partner_secret}}
                                              .dump());
  BOOST_REQUIRE(setup);
  BOOST_REQUIRE_EQUAL(setup->status, 200);
  const json credentials = json::parse(setup->body);
  const std::string customer_secret = credentials.at("clientSecret");
  const std::string customer_token = TokenFrom(
      RequestToken(*client, credentials.at("clientId"), customer_secret));
  BOOST_REQUIRE(CallApi(*client, customer_token));
  const std::string cookie = SignIn(*client, "ACME-1", "Alice Admin");
  BOOST_REQUIRE(client->Get("/partner-apps", {{"Cookie", cookie}}));

  // The fake writes a request's log line after sending its response, so
  // wait (at most 5 s) until the last request's line is complete.
  std::string log;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    log = ReadFile(fake.request_log_path());
    if (!log.empty() && log.back() == '\n' &&
        Contains(log, "\"/partner-apps\"") && Contains(log, "\"GET\"")) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::vector<std::string> secrets = {
      FakeSmartRecruiters::kMasterClientSecret,
      master_token,
      customer_secret,
      customer_token,
      partner_secret,
      cookie.substr(cookie.find('=') + 1),
  };
  for (const std::string& secret : secrets) {
    BOOST_TEST(!Contains(log, secret), "log contains a secret");
  }

  std::istringstream lines(log);
  std::string line;
  int token_lines = 0;
  int setup_lines = 0;
  while (std::getline(lines, line)) {
    const json entry = json::parse(line, nullptr, false);
    BOOST_REQUIRE_MESSAGE(!entry.is_discarded(), "not JSON: " << line);
    BOOST_TEST(entry.contains("time"));
    BOOST_TEST(entry.at("time").get<std::string>().back() == 'Z');
    BOOST_TEST(entry.contains("method"));
    BOOST_TEST(entry.contains("status"));
    if (entry.at("path") == kTokenPath) {
      ++token_lines;
      BOOST_TEST(entry.contains("client_id"));
    }
    if (entry.at("path") == kSetupPath) {
      ++setup_lines;
      BOOST_TEST(entry.at("company_id") == "ACME-1");
      BOOST_TEST(entry.at("client_id") == FakeSmartRecruiters::kMasterClientId);
    }
  }
  BOOST_TEST(token_lines == 2);
  BOOST_TEST(setup_lines == 1);
}

// TLS.

BOOST_AUTO_TEST_CASE(https_verifies_with_test_ca) {
  TempDir dir;
  const TestCertificates certificates = MakeTestCertificates(dir.path());
  FakeSmartRecruiters::Options options = DefaultOptions();
  options.tls_cert_file = certificates.server_cert;
  options.tls_key_file = certificates.server_key;
  options.tls_ca_file = certificates.ca_cert;
  FakeSmartRecruiters fake(options);
  BOOST_TEST(fake.base_url().rfind("https://127.0.0.1:", 0) == 0u);

  auto trusted = fake.NewClient();
  const httplib::Result ok =
      RequestToken(*trusted, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(ok);
  BOOST_TEST(ok->status == 200);

  httplib::Client untrusted(fake.base_url());
  untrusted.enable_server_certificate_verification(true);
  untrusted.set_connection_timeout(std::chrono::seconds(5));
  untrusted.set_read_timeout(std::chrono::seconds(5));
  const httplib::Result refused =
      RequestToken(untrusted, FakeSmartRecruiters::kMasterClientId,
                   FakeSmartRecruiters::kMasterClientSecret);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error() == httplib::Error::SSLServerVerification);
}

// Web pages.

BOOST_FIXTURE_TEST_CASE(partner_apps_without_session_shows_sign_in,
                        FakeFixture) {
  const httplib::Result result = client->Get("/partner-apps");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(Contains(result->body, "Sign in"));
  BOOST_TEST(Contains(result->body, "Alice Admin"));
  BOOST_TEST(Contains(result->body, "action=\"/sign-in\""));
}

BOOST_FIXTURE_TEST_CASE(partner_apps_lists_app, FakeFixture) {
  const std::string cookie = SignIn(*client, "ACME-1", "Alice Admin");
  const httplib::Result result =
      client->Get("/partner-apps", {{"Cookie", cookie}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(Contains(result->body, "Partner Apps"));
  BOOST_TEST(Contains(result->body, "GoodTime Hire"));
  BOOST_TEST(Contains(result->body, "interviews_read"));
  BOOST_TEST(Contains(result->body, "Not connected"));
  BOOST_TEST(Contains(result->body, "action=\"/partner-apps/connect\""));
}

BOOST_FIXTURE_TEST_CASE(sign_in_rejects_unknown_user, FakeFixture) {
  const httplib::Result result = client->Post(
      "/sign-in", httplib::Params{{"company", "ACME-1"}, {"user", "Eve"}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 400);
  BOOST_TEST(!result->has_header("Set-Cookie"));
}

BOOST_FIXTURE_TEST_CASE(connect_redirects_to_consent_url, FakeFixture) {
  const std::string cookie = SignIn(*client, "ACME-1", "Alice Admin");
  // cpp-httplib 0.11.4 percent-decodes response header values, so the
  // Location header is read from the raw response.
  const std::string form = "app=goodtime-hire";
  const std::string response = RawHttpExchange(
      fake.port(),
      "POST /partner-apps/connect HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Cookie: " +
          cookie +
          "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
          "Content-Length: " +
          std::to_string(form.size()) + "\r\nConnection: close\r\n\r\n" + form);
  BOOST_TEST(response.rfind("HTTP/1.1 302", 0) == 0u);

  const std::string header = "\r\nLocation: ";
  const size_t begin = response.find(header);
  BOOST_REQUIRE(begin != std::string::npos);
  const size_t end = response.find("\r\n", begin + header.size());
  const std::string location =
      response.substr(begin + header.size(), end - begin - header.size());
  const std::string prefix = std::string(kConsentUrl) + "?";
  BOOST_REQUIRE(location.rfind(prefix, 0) == 0u);

  const std::map<std::string, std::string> query =
      ParseQuery(location.substr(prefix.size()));
  BOOST_TEST(query.size() == 2u);
  BOOST_TEST(query.at("companyId") == "ACME-1");
  BOOST_REQUIRE(query.count("redirect") == 1u);
  BOOST_TEST(query.at("redirect") ==
             fake.base_url() +
                 "/partner-apps/return?app=goodtime-hire&company=ACME-1");
  BOOST_TEST(fake.State().at("companies").at(0).at("consent") == true);
}

BOOST_FIXTURE_TEST_CASE(connect_as_non_admin_is_403, FakeFixture) {
  const std::string cookie = SignIn(*client, "ACME-1", "Rita Recruiter");
  const httplib::Result result = PostPage(*client, "/partner-apps/connect",
                                          cookie, {{"app", "goodtime-hire"}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 403);
  BOOST_TEST(Contains(result->body,
                      "You need Admin or Super Admin rights in "
                      "SmartRecruiters to connect GoodTime Hire"));
  BOOST_TEST(fake.State().at("companies").at(0).at("consent") == false);
}

BOOST_FIXTURE_TEST_CASE(connect_without_session_goes_to_sign_in, FakeFixture) {
  const httplib::Result result = client->Post(
      "/partner-apps/connect", httplib::Params{{"app", "goodtime-hire"}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 303);
  BOOST_TEST(result->get_header_value("Location") == "/partner-apps");
}

BOOST_FIXTURE_TEST_CASE(return_page_tracks_setup, FakeFixture) {
  const std::string cookie = SignIn(*client, "ACME-1", "Alice Admin");
  const std::string return_path =
      "/partner-apps/return?app=goodtime-hire&company=ACME-1";
  BOOST_REQUIRE(PostPage(*client, "/partner-apps/connect", cookie,
                         {{"app", "goodtime-hire"}}));

  const httplib::Result before = client->Get(return_path, {{"Cookie", cookie}});
  BOOST_REQUIRE(before);
  BOOST_TEST(Contains(before->body, "GoodTime Hire is not connected"));
  BOOST_TEST(!Contains(before->body, "GoodTime Hire is connected"));

  const httplib::Result setup = CallSetup(*client, MasterToken(*client),
                                          json{{"companyId", "ACME-1"}}.dump());
  BOOST_REQUIRE(setup);
  BOOST_REQUIRE_EQUAL(setup->status, 200);

  const httplib::Result after = client->Get(return_path, {{"Cookie", cookie}});
  BOOST_REQUIRE(after);
  BOOST_TEST(after->status == 200);
  BOOST_TEST(Contains(after->body, "GoodTime Hire is connected"));

  const httplib::Result apps =
      client->Get("/partner-apps", {{"Cookie", cookie}});
  BOOST_REQUIRE(apps);
  BOOST_TEST(Contains(apps->body, "Connected"));
  BOOST_TEST(Contains(apps->body, "action=\"/partner-apps/disconnect\""));
}

BOOST_FIXTURE_TEST_CASE(disconnect_button_revokes, FakeFixture) {
  const Credentials acme = Integrate(fake, *client, "ACME-1");
  const std::string cookie = SignIn(*client, "ACME-1", "Alice Admin");
  const httplib::Result result = PostPage(*client, "/partner-apps/disconnect",
                                          cookie, {{"app", "goodtime-hire"}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 303);

  const httplib::Result token =
      RequestToken(*client, acme.client_id, acme.client_secret);
  BOOST_REQUIRE(token);
  BOOST_TEST(token->status == 401);

  const httplib::Result page =
      client->Get("/partner-apps/return?app=goodtime-hire&company=ACME-1");
  BOOST_REQUIRE(page);
  BOOST_TEST(Contains(page->body, "GoodTime Hire is not connected"));
}

BOOST_AUTO_TEST_CASE(popup_mode_opens_consent_window) {
  FakeSmartRecruiters fake(DefaultOptions("POPUP"));
  auto client = fake.NewClient();
  const std::string cookie = SignIn(*client, "ACME-1", "Alice Admin");
  const httplib::Result result = PostPage(*client, "/partner-apps/connect",
                                          cookie, {{"app", "goodtime-hire"}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  const std::string consent_link =
      "href=\"" + std::string(kConsentUrl) + "?companyId=ACME-1\"";
  BOOST_TEST(Contains(result->body, consent_link));
  BOOST_TEST(Contains(result->body, "target=\"_blank\""));
  BOOST_TEST(Contains(result->body, "window.open"));
  BOOST_TEST(Contains(result->body, "Waiting for GoodTime Hire"));
  BOOST_TEST(!Contains(result->body, "redirect="));
  BOOST_TEST(Contains(result->body, "/partner-apps/return?app="));
}

// Process behaviour.

BOOST_AUTO_TEST_CASE(rejects_non_loopback_listen) {
  FakeSmartRecruiters::Options options = DefaultOptions();
  options.extra_args = {"--listen", "0.0.0.0:0"};
  BOOST_CHECK_THROW(FakeSmartRecruiters fake(options), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(stops_promptly_during_stall) {
  auto fake = std::make_unique<FakeSmartRecruiters>(DefaultOptions());
  fake->AddFault({{"endpoint", "api"}, {"stall_ms", 60000}});
  auto client = fake->NewClient();
  client->set_read_timeout(std::chrono::seconds(30));
  std::future<bool> stalled = std::async(std::launch::async, [&client] {
    return static_cast<bool>(CallApi(*client, "any"));
  });

  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
  while (fake->State().at("faults").at(0).at("applied") == 0 &&
         Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const Clock::time_point start = Clock::now();
  fake.reset();
  // The fixture sends SIGKILL only after 5 s, so a quick return means the
  // stalled handler woke up on SIGTERM.
  BOOST_TEST(MillisecondsSince(start) < 4000);
  stalled.get();
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace srconnect::testing
