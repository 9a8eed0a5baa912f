// SmartRecruitersClient against the fake SmartRecruiters server on
// loopback: every Outcome the client can return, produced by the fake's
// real behaviour or by an injected fault.

#define BOOST_TEST_MODULE sr_client_fake
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "secret.h"
#include "sr_client.h"
#include "support/fake_smartrecruiters.h"
#include "support/stderr_capture.h"
#include "support/temp_dir.h"
#include "support/tls.h"

namespace srconnect {
namespace {

using nlohmann::json;
using testing::FakeSmartRecruiters;

// The fake never calls the consent URL. It only puts it into redirects.
constexpr char kConsentUrl[] = "http://127.0.0.1:9/smartrecruiters/consent";

FakeSmartRecruiters::Options FakeOptions() {
  FakeSmartRecruiters::Options options;
  options.config_yaml = FakeSmartRecruiters::DefaultConfigYaml(kConsentUrl);
  return options;
}

SmartRecruitersConfig ClientConfig(const std::string& api_base,
                                   int64_t read_timeout_ms = 5000) {
  SmartRecruitersConfig config;
  config.api_base = api_base;
  config.connect_timeout_ms = 2000;
  config.read_timeout_ms = read_timeout_ms;
  return config;
}

// Returns a loopback port that nothing listens on. The port is bound once to
// get a free number, then closed.
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_TEST_REQUIRE(fd >= 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  BOOST_TEST_REQUIRE(
      ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t length = sizeof(address);
  BOOST_TEST_REQUIRE(
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

// Returns the request log's lines for `endpoint`, in the order written. The fake writes
// a line after it sent the response, so this waits at most 5 s for
// `expected` lines to appear.
std::vector<json> LoggedRequests(const FakeSmartRecruiters& fake,
                                 const std::string& endpoint,
                                 size_t expected) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (true) {
    std::vector<json> lines;
    std::ifstream in(fake.request_log_path());
    std::string line;
    while (std::getline(in, line)) {
      json entry = json::parse(line, nullptr, false);
      if (!entry.is_discarded() && entry.value("endpoint", "") == endpoint) {
        lines.push_back(std::move(entry));
      }
    }
    if (lines.size() >= expected ||
        std::chrono::steady_clock::now() >= deadline) {
      return lines;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Returns the distinct client ports of `lines`: one per TCP connection.
std::set<int> PeerPorts(const std::vector<json>& lines) {
  std::set<int> ports;
  for (const json& line : lines) ports.insert(line.at("peer_port").get<int>());
  return ports;
}

// One fake per test case, with a client pointed at it.
struct FakeFixture {
  FakeFixture() : fake(FakeOptions()), client(ClientConfig(fake.base_url())) {}

  CallResult<AccessToken> MasterToken() const {
    return client.RequestToken(
        FakeSmartRecruiters::kMasterClientId,
        Secret(FakeSmartRecruiters::kMasterClientSecret));
  }

  // Gives consent for `company_id`, runs the setup call and returns the
  // customer-level credentials.
  CustomerCredentials Integrate(const std::string& company_id) {
    fake.GiveConsent(company_id);
    const auto master = MasterToken();
    BOOST_TEST_REQUIRE(master.ok());
    auto setup = client.EnableIntegration(master.value().token, company_id);
    BOOST_TEST_REQUIRE(setup.ok(), "setup failed: " << setup.error().message);
    return std::move(setup).value();
  }

  FakeSmartRecruiters fake;
  SmartRecruitersClient client;
};

BOOST_FIXTURE_TEST_SUITE(token_and_setup, FakeFixture)

BOOST_AUTO_TEST_CASE(master_token_is_issued) {
  const auto result = MasterToken();
  BOOST_TEST_REQUIRE(result.ok(), result.error().message);
  BOOST_TEST(!result.value().token.empty());
  BOOST_TEST(result.value().token_type == "bearer");
  BOOST_TEST(result.value().expires_in_s == 1800);
  const json state = fake.State();
  BOOST_TEST(state["tokens_issued"][FakeSmartRecruiters::kMasterClientId] == 1);
}

BOOST_AUTO_TEST_CASE(honours_configured_lifetime) {
  fake.SetTokenLifetime(60);
  const auto result = MasterToken();
  BOOST_TEST_REQUIRE(result.ok(), result.error().message);
  BOOST_TEST(result.value().expires_in_s == 60);
}

BOOST_AUTO_TEST_CASE(customer_token_after_setup) {
  const CustomerCredentials credentials = Integrate("ACME-1");
  BOOST_TEST(credentials.client_id.rfind("cc-", 0) == 0u);
  BOOST_TEST(!credentials.client_secret.empty());

  const auto token =
      client.RequestToken(credentials.client_id, credentials.client_secret);
  BOOST_TEST_REQUIRE(token.ok(), token.error().message);
  BOOST_TEST(!token.value().token.empty());

  const json state = fake.State();
  BOOST_TEST(state["setup_calls"]["ACME-1"] == 1);
  BOOST_TEST(state["tokens_issued"][credentials.client_id] == 1);
  bool integrated = false;
  for (const json& company : state["companies"]) {
    if (company["id"] == "ACME-1") integrated = company["integrated"];
  }
  BOOST_TEST(integrated);
}

BOOST_AUTO_TEST_CASE(wrong_secret_is_dead_credentials) {
  const auto result = client.RequestToken(FakeSmartRecruiters::kMasterClientId,
                                          Secret("wrong-secret-value"));
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "dead_credentials");
  BOOST_TEST(result.error().http_status == 401);
  BOOST_TEST(result.error().oauth_error == "invalid_client");
  const std::string& message = result.error().message;
  BOOST_TEST(message.find(FakeSmartRecruiters::kMasterClientId) !=
             std::string::npos);
  BOOST_TEST(message.find("wrong-secret-value") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(disconnected_company_is_dead_credentials) {
  const CustomerCredentials credentials = Integrate("ACME-1");
  fake.Disconnect("ACME-1");

  const auto result =
      client.RequestToken(credentials.client_id, credentials.client_secret);
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "dead_credentials");
  BOOST_TEST(result.error().http_status == 401);
  BOOST_TEST(result.error().oauth_error == "invalid_client");
  BOOST_TEST(result.error().message.find(credentials.client_secret.Reveal()) ==
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(setup_without_consent_is_consent_missing) {
  const auto master = MasterToken();
  BOOST_TEST_REQUIRE(master.ok());
  const auto result = client.EnableIntegration(master.value().token, "ACME-1");
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "consent_missing");
  BOOST_TEST(result.error().http_status == 403);
  BOOST_TEST(result.error().message.find("consent") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(setup_with_customer_token_is_rejected) {
  const CustomerCredentials credentials = Integrate("ACME-1");
  const auto customer =
      client.RequestToken(credentials.client_id, credentials.client_secret);
  BOOST_TEST_REQUIRE(customer.ok());
  fake.GiveConsent("GLOBEX-2");

  const auto result =
      client.EnableIntegration(customer.value().token, "GLOBEX-2");
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "consent_missing");
  BOOST_TEST(result.error().http_status == 403);
}

BOOST_AUTO_TEST_CASE(setup_twice_is_already_integrated) {
  Integrate("ACME-1");
  const auto master = MasterToken();
  BOOST_TEST_REQUIRE(master.ok());
  const auto result = client.EnableIntegration(master.value().token, "ACME-1");
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "already_integrated");
  BOOST_TEST(result.error().http_status == 409);
}

BOOST_AUTO_TEST_CASE(setup_with_unknown_token_is_bad_response) {
  fake.GiveConsent("ACME-1");
  const auto result =
      client.EnableIntegration(Secret("not-a-token-issued-by-fake"), "ACME-1");
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "bad_response");
  BOOST_TEST(result.error().http_status == 401);
  BOOST_TEST(result.error().message.find("not-a-token") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(setup_for_unknown_company_is_bad_response) {
  const auto master = MasterToken();
  BOOST_TEST_REQUIRE(master.ok());
  const auto result =
      client.EnableIntegration(master.value().token, "NO-SUCH-COMPANY");
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "bad_response");
  BOOST_TEST(result.error().http_status == 404);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(faults, FakeFixture)

BOOST_AUTO_TEST_CASE(token_503_is_transient) {
  fake.AddFault({{"endpoint", "token"}, {"status", 503}, {"count", 1}});

  const auto failed = MasterToken();
  BOOST_TEST_REQUIRE(!failed.ok());
  BOOST_TEST(OutcomeName(failed.outcome()) == "transient");
  BOOST_TEST(failed.error().http_status == 503);

  const auto retried = MasterToken();
  BOOST_TEST(retried.ok());
}

BOOST_AUTO_TEST_CASE(token_502_html_is_transient) {
  fake.AddFault({{"endpoint", "token"}, {"status", 502}});
  const auto result = MasterToken();
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "transient");
  BOOST_TEST(result.error().http_status == 502);
}

BOOST_AUTO_TEST_CASE(token_429_carries_retry_after) {
  fake.AddFault({{"endpoint", "token"}, {"status", 429}, {"retry_after_s", 7}});
  const auto result = MasterToken();
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "transient");
  BOOST_TEST(result.error().http_status == 429);
  BOOST_TEST_REQUIRE(result.error().retry_after_s.has_value());
  BOOST_TEST(*result.error().retry_after_s == 7);
}

BOOST_AUTO_TEST_CASE(dropped_connection_is_transient) {
  fake.AddFault({{"endpoint", "token"}, {"drop", true}});
  const auto result = MasterToken();
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "transient");
  BOOST_TEST(result.error().http_status == 0);
}

BOOST_AUTO_TEST_CASE(stall_past_read_timeout_is_transient) {
  fake.AddFault({{"endpoint", "token"}, {"stall_ms", 3000}});
  const SmartRecruitersClient impatient(ClientConfig(fake.base_url(), 300));

  const auto start = std::chrono::steady_clock::now();
  const auto result =
      impatient.RequestToken(FakeSmartRecruiters::kMasterClientId,
                             Secret(FakeSmartRecruiters::kMasterClientSecret));
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();

  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "transient");
  BOOST_TEST(result.error().http_status == 0);
  BOOST_TEST(result.error().message.find("timed out") != std::string::npos);
  BOOST_TEST(elapsed_ms >= 250);
  BOOST_TEST(elapsed_ms < 1500);
}

BOOST_AUTO_TEST_CASE(token_malformed_json_is_transient) {
  fake.AddFault({{"endpoint", "token"}, {"malformed_json", true}});
  const auto result = MasterToken();
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "transient");
  BOOST_TEST(result.error().http_status == 200);
}

BOOST_AUTO_TEST_CASE(token_html_body_is_transient) {
  fake.AddFault({{"endpoint", "token"}, {"html_body", true}});
  const auto result = MasterToken();
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "transient");
  BOOST_TEST(result.error().http_status == 200);
}

BOOST_AUTO_TEST_CASE(token_without_access_token_is_bad_response) {
  fake.AddFault({{"endpoint", "token"}, {"missing_fields", true}});
  const auto result = MasterToken();
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "bad_response");
  BOOST_TEST(result.error().http_status == 200);
}

BOOST_AUTO_TEST_CASE(setup_without_client_secret_is_bad_response) {
  fake.GiveConsent("ACME-1");
  const auto master = MasterToken();
  BOOST_TEST_REQUIRE(master.ok());
  fake.AddFault({{"endpoint", "setup"}, {"missing_fields", true}});

  const auto result = client.EnableIntegration(master.value().token, "ACME-1");
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "bad_response");
  BOOST_TEST(result.error().http_status == 200);
}

// The fake handles the request before it truncates the response body, so
// the company is integrated although the client saw a transient failure.
BOOST_AUTO_TEST_CASE(setup_malformed_json_is_transient) {
  fake.GiveConsent("ACME-1");
  const auto master = MasterToken();
  BOOST_TEST_REQUIRE(master.ok());
  fake.AddFault({{"endpoint", "setup"}, {"malformed_json", true}});

  const auto result = client.EnableIntegration(master.value().token, "ACME-1");
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "transient");
  BOOST_TEST(result.error().message.find("clientSecret") == std::string::npos);

  fake.ClearFaults();
  const auto retried = client.EnableIntegration(master.value().token, "ACME-1");
  BOOST_TEST_REQUIRE(!retried.ok());
  BOOST_TEST(OutcomeName(retried.outcome()) == "already_integrated");
}

BOOST_AUTO_TEST_CASE(setup_503_is_transient) {
  fake.GiveConsent("ACME-1");
  const auto master = MasterToken();
  BOOST_TEST_REQUIRE(master.ok());
  fake.AddFault({{"endpoint", "setup"}, {"status", 503}, {"count", 1}});

  const auto failed = client.EnableIntegration(master.value().token, "ACME-1");
  BOOST_TEST_REQUIRE(!failed.ok());
  BOOST_TEST(OutcomeName(failed.outcome()) == "transient");
  BOOST_TEST(failed.error().http_status == 503);

  const auto retried = client.EnableIntegration(master.value().token, "ACME-1");
  BOOST_TEST(retried.ok());
}

BOOST_AUTO_TEST_CASE(setup_dropped_connection_is_transient) {
  fake.GiveConsent("ACME-1");
  const auto master = MasterToken();
  BOOST_TEST_REQUIRE(master.ok());
  fake.AddFault({{"endpoint", "setup"}, {"drop", true}});

  const auto result = client.EnableIntegration(master.value().token, "ACME-1");
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "transient");
  BOOST_TEST(result.error().http_status == 0);
}

BOOST_AUTO_TEST_SUITE_END()

// Token requests share one kept-alive connection; the setup call never does.
BOOST_FIXTURE_TEST_SUITE(kept_connection, FakeFixture)

BOOST_AUTO_TEST_CASE(token_requests_share_one_connection) {
  for (int i = 0; i < 6; ++i) {
    const auto token = MasterToken();
    BOOST_TEST_REQUIRE(token.ok(), token.error().message);
  }
  const std::vector<json> lines = LoggedRequests(fake, "token", 6);
  BOOST_TEST_REQUIRE(lines.size() == 6u);
  BOOST_TEST(PeerPorts(lines).size() == 1u);
}

BOOST_AUTO_TEST_CASE(setup_call_goes_on_its_own_connection) {
  fake.GiveConsent("ACME-1");
  const auto master = MasterToken();
  BOOST_TEST_REQUIRE(master.ok());
  fake.AddFault({{"endpoint", "setup"}, {"drop", true}});

  const auto dropped = client.EnableIntegration(master.value().token, "ACME-1");
  BOOST_TEST_REQUIRE(!dropped.ok());
  BOOST_TEST(OutcomeName(dropped.outcome()) == "transient");
  const auto again = MasterToken();
  BOOST_TEST_REQUIRE(again.ok());

  // The dropped setup call was not sent a second time, and the token
  // requests before and after it used the same connection.
  const std::vector<json> setup_lines = LoggedRequests(fake, "setup", 1);
  BOOST_TEST(setup_lines.size() == 1u);
  const std::vector<json> token_lines = LoggedRequests(fake, "token", 2);
  BOOST_TEST_REQUIRE(token_lines.size() == 2u);
  BOOST_TEST(PeerPorts(token_lines).size() == 1u);
  BOOST_TEST(!PeerPorts(token_lines).count(
      setup_lines.at(0).at("peer_port").get<int>()));
}

BOOST_AUTO_TEST_CASE(closed_kept_connection_is_retried_once) {
  BOOST_TEST_REQUIRE(MasterToken().ok());
  fake.AddFault({{"endpoint", "token"}, {"drop", true}, {"count", 1}});

  std::optional<CallResult<AccessToken>> second;
  std::string log;
  {
    testing::StderrCapture capture;
    second.emplace(MasterToken());
    log = capture.Text();
  }
  const CallResult<AccessToken>& token = *second;
  BOOST_TEST_REQUIRE(token.ok(), token.error().message);
  // The retry is logged, with the failure that caused it.
  BOOST_TEST(log.find("POST /identity/oauth/token failed on a kept "
                      "connection (") != std::string::npos,
             log);
  const std::vector<json> lines = LoggedRequests(fake, "token", 3);
  BOOST_TEST_REQUIRE(lines.size() == 3u);
  // The fake may log the dropped request after the retry, so the last two
  // lines come in either order: one dropped (status 0) and one with status
  // 200, each on its own connection.
  const json& dropped =
      lines.at(1).at("status") == 0 ? lines.at(1) : lines.at(2);
  const json& retried =
      lines.at(1).at("status") == 0 ? lines.at(2) : lines.at(1);
  BOOST_TEST(dropped.at("status").get<int>() == 0);
  BOOST_TEST(retried.at("status").get<int>() == 200);
  BOOST_TEST(dropped.at("peer_port") == lines.at(0).at("peer_port"));
  BOOST_TEST(retried.at("peer_port") != dropped.at("peer_port"));
}

BOOST_AUTO_TEST_CASE(second_drop_is_transient_without_more_tries) {
  BOOST_TEST_REQUIRE(MasterToken().ok());
  fake.AddFault({{"endpoint", "token"}, {"drop", true}, {"count", 3}});

  const auto token = MasterToken();
  BOOST_TEST_REQUIRE(!token.ok());
  BOOST_TEST(OutcomeName(token.outcome()) == "transient");
  // The first request, the dropped one and a single retry.
  const std::vector<json> lines = LoggedRequests(fake, "token", 4);
  BOOST_TEST(lines.size() == 3u);
}

BOOST_AUTO_TEST_CASE(first_request_is_not_retried) {
  fake.AddFault({{"endpoint", "token"}, {"drop", true}, {"count", 1}});

  const auto token = MasterToken();
  BOOST_TEST_REQUIRE(!token.ok());
  BOOST_TEST(OutcomeName(token.outcome()) == "transient");
  const auto next = MasterToken();
  BOOST_TEST(next.ok());
  const std::vector<json> lines = LoggedRequests(fake, "token", 2);
  BOOST_TEST_REQUIRE(lines.size() == 2u);
  BOOST_TEST(PeerPorts(lines).size() == 2u);
}

BOOST_AUTO_TEST_CASE(slow_failure_is_not_retried) {
  // The client's read timeout is 5000 ms, so its retry window is 500 ms.
  BOOST_TEST_REQUIRE(MasterToken().ok());
  fake.AddFault(
      {{"endpoint", "token"}, {"drop", true}, {"latency_ms", 800}, {"count", 1}});

  const auto token = MasterToken();
  BOOST_TEST_REQUIRE(!token.ok());
  BOOST_TEST(OutcomeName(token.outcome()) == "transient");
  const std::vector<json> lines = LoggedRequests(fake, "token", 3);
  BOOST_TEST(lines.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// A loopback server that sends a full keep-alive response to the first
// request on a connection. To every later request on it, the server sends
// the headers and part of the body, then closes. Counts the requests.
class TruncatingServer {
 public:
  TruncatingServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    BOOST_TEST_REQUIRE(listener_ >= 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_TEST_REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address),
                              sizeof(address)) == 0);
    socklen_t length = sizeof(address);
    BOOST_TEST_REQUIRE(::getsockname(listener_,
                                     reinterpret_cast<sockaddr*>(&address),
                                     &length) == 0);
    port_ = ntohs(address.sin_port);
    BOOST_TEST_REQUIRE(::listen(listener_, 8) == 0);
    thread_ = std::thread([this] { Serve(); });
  }

  ~TruncatingServer() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }

  int port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  static constexpr char kBody[] =
      R"({"access_token":"AT","token_type":"bearer","expires_in":1800})";

  void Serve() {
    while (true) {
      const int connection = ::accept(listener_, nullptr, nullptr);
      if (connection < 0) return;
      timeval timeout = {5, 0};
      ::setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout,
                   sizeof(timeout));
      for (int on_connection = 0; ReadRequest(connection); ++on_connection) {
        ++requests_;
        const std::string body = kBody;
        const std::string head = "HTTP/1.1 200 OK\r\n"
                                 "Content-Type: application/json\r\n"
                                 "Content-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n";
        const std::string reply =
            on_connection == 0 ? head + body : head + body.substr(0, 5);
        if (::send(connection, reply.data(), reply.size(), MSG_NOSIGNAL) < 0 ||
            on_connection > 0) {
          break;
        }
      }
      ::close(connection);
    }
  }

  // Reads one request (headers and a Content-Length body); false at EOF.
  static bool ReadRequest(int connection) {
    std::string data;
    char buffer[4096];
    size_t header_end = std::string::npos;
    while (true) {
      header_end = data.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        const size_t at = data.find("Content-Length: ");
        const size_t length =
            at == std::string::npos ? 0 : std::stoul(data.substr(at + 16));
        if (data.size() >= header_end + 4 + length) return true;
      }
      const ssize_t got = ::recv(connection, buffer, sizeof(buffer), 0);
      if (got <= 0) return false;
      data.append(buffer, static_cast<size_t>(got));
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

BOOST_AUTO_TEST_SUITE(transport)

BOOST_AUTO_TEST_CASE(failure_after_headers_is_not_retried) {
  TruncatingServer server;
  const SmartRecruitersClient client(
      ClientConfig("http://127.0.0.1:" + std::to_string(server.port())));
  const Secret secret("test-secret");

  BOOST_TEST_REQUIRE(client.RequestToken("client-1", secret).ok());
  const auto truncated = client.RequestToken("client-1", secret);
  BOOST_TEST_REQUIRE(!truncated.ok());
  BOOST_TEST(OutcomeName(truncated.outcome()) == "transient");
  // The truncated response came after its headers: no second try.
  BOOST_TEST(server.requests() == 2);
}

BOOST_AUTO_TEST_CASE(closed_port_is_transient) {
  const int port = ClosedPort();
  const SmartRecruitersClient client(
      ClientConfig("http://127.0.0.1:" + std::to_string(port)));
  const auto result = client.RequestToken("cc-123", Secret("secret-value"));
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(OutcomeName(result.outcome()) == "transient");
  BOOST_TEST(result.error().http_status == 0);
  BOOST_TEST(result.error().message.find("connection failed") !=
             std::string::npos);
  // The message names the peer, so a log line shows which host failed.
  BOOST_TEST(result.error().message.find("peer 127.0.0.1:" +
                                         std::to_string(port)) !=
                 std::string::npos,
             result.error().message);
}

BOOST_AUTO_TEST_SUITE_END()

// The fake over HTTPS, with a CA made for this test.
struct TlsFixture {
  TlsFixture()
      : certificates(testing::MakeTestCertificates(dir.path())),
        fake(TlsOptions(certificates)) {}

  static FakeSmartRecruiters::Options TlsOptions(
      const testing::TestCertificates& files) {
    FakeSmartRecruiters::Options options = FakeOptions();
    options.tls_cert_file = files.server_cert;
    options.tls_key_file = files.server_key;
    options.tls_ca_file = files.ca_cert;
    return options;
  }

  testing::TempDir dir;
  testing::TestCertificates certificates;
  FakeSmartRecruiters fake;
};

BOOST_FIXTURE_TEST_SUITE(tls, TlsFixture)

BOOST_AUTO_TEST_CASE(succeeds_with_configured_ca) {
  BOOST_TEST_REQUIRE(fake.base_url().rfind("https://", 0) == 0u);
  SmartRecruitersConfig config = ClientConfig(fake.base_url());
  config.ca_file = certificates.ca_cert;
  const SmartRecruitersClient client(config);
  fake.GiveConsent("ACME-1");

  const auto master =
      client.RequestToken(FakeSmartRecruiters::kMasterClientId,
                          Secret(FakeSmartRecruiters::kMasterClientSecret));
  BOOST_TEST_REQUIRE(master.ok(), master.error().message);
  const auto setup = client.EnableIntegration(master.value().token, "ACME-1");
  BOOST_TEST_REQUIRE(setup.ok(), setup.error().message);
  const auto customer =
      client.RequestToken(setup.value().client_id, setup.value().client_secret);
  BOOST_TEST(customer.ok());
}

BOOST_AUTO_TEST_CASE(token_requests_share_one_tls_connection) {
  SmartRecruitersConfig config = ClientConfig(fake.base_url());
  config.ca_file = certificates.ca_cert;
  const SmartRecruitersClient client(config);
  for (int i = 0; i < 4; ++i) {
    const auto token =
        client.RequestToken(FakeSmartRecruiters::kMasterClientId,
                            Secret(FakeSmartRecruiters::kMasterClientSecret));
    BOOST_TEST_REQUIRE(token.ok(), token.error().message);
  }
  const std::vector<json> lines = LoggedRequests(fake, "token", 4);
  BOOST_TEST_REQUIRE(lines.size() == 4u);
  BOOST_TEST(PeerPorts(lines).size() == 1u);
}

BOOST_AUTO_TEST_CASE(system_store_is_tls_error) {
  const SmartRecruitersClient client(ClientConfig(fake.base_url()));

  const auto token =
      client.RequestToken(FakeSmartRecruiters::kMasterClientId,
                          Secret(FakeSmartRecruiters::kMasterClientSecret));
  BOOST_TEST_REQUIRE(!token.ok());
  BOOST_TEST(OutcomeName(token.outcome()) == "tls_error");
  BOOST_TEST(token.error().http_status == 0);

  const auto setup = client.EnableIntegration(Secret("any-token"), "ACME-1");
  BOOST_TEST_REQUIRE(!setup.ok());
  BOOST_TEST(OutcomeName(setup.outcome()) == "tls_error");

  // The request never reached the token endpoint.
  const json state = fake.State();
  BOOST_TEST(
      !state["token_requests"].contains(FakeSmartRecruiters::kMasterClientId));
}

BOOST_AUTO_TEST_CASE(other_ca_is_tls_error) {
  testing::TempDir other_dir;
  const testing::TestCertificates other =
      testing::MakeTestCertificates(other_dir.path());
  SmartRecruitersConfig config = ClientConfig(fake.base_url());
  config.ca_file = other.ca_cert;
  const SmartRecruitersClient client(config);

  const auto token =
      client.RequestToken(FakeSmartRecruiters::kMasterClientId,
                          Secret(FakeSmartRecruiters::kMasterClientSecret));
  BOOST_TEST_REQUIRE(!token.ok());
  BOOST_TEST(OutcomeName(token.outcome()) == "tls_error");
}

BOOST_AUTO_TEST_CASE(missing_ca_file_is_tls_error) {
  SmartRecruitersConfig config = ClientConfig(fake.base_url());
  config.ca_file = dir.path() + "/no-such-ca.pem";
  const SmartRecruitersClient client(config);

  const auto token =
      client.RequestToken(FakeSmartRecruiters::kMasterClientId,
                          Secret(FakeSmartRecruiters::kMasterClientSecret));
  BOOST_TEST_REQUIRE(!token.ok());
  BOOST_TEST(OutcomeName(token.outcome()) == "tls_error");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace srconnect
