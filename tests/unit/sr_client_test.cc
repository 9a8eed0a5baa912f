#define BOOST_TEST_MODULE sr_client
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "http_client.h"
#include "secret.h"
#include "sr_client.h"
#include "support/stderr_capture.h"

namespace srconnect {
namespace {

using nlohmann::json;

HttpResult Response(int status, std::string body,
                    std::map<std::string, std::string> headers = {}) {
  HttpResult response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

HttpResult TransportFailure(TransportError error, std::string text) {
  HttpResult response;
  response.error = error;
  response.error_text = std::move(text);
  return response;
}

// Formats Unix time `t` as an IMF-fixdate.
std::string HttpDate(std::time_t t) {
  std::tm tm = {};
  ::gmtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

// Decodes an application/x-www-form-urlencoded body into its fields.
std::map<std::string, std::string> DecodeForm(const std::string& body) {
  std::map<std::string, std::string> fields;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(start, end - start);
    const size_t equals = pair.find('=');
    auto decode = [](const std::string& text) {
      std::string out;
      for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
          out.push_back(
              static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
          i += 2;
        } else if (text[i] == '+') {
          out.push_back(' ');
        } else {
          out.push_back(text[i]);
        }
      }
      return out;
    };
    fields[decode(pair.substr(0, equals))] =
        equals == std::string::npos ? "" : decode(pair.substr(equals + 1));
    start = end + 1;
  }
  return fields;
}

using srconnect::testing::StderrCapture;

struct ClassificationCase {
  std::string name;
  HttpResult response;
  Outcome expected;
  std::string oauth_error;
};

BOOST_AUTO_TEST_SUITE(token_response)

BOOST_AUTO_TEST_CASE(reads_token_type_and_lifetime) {
  const auto result = ParseTokenResponse(Response(
      200,
      R"({"access_token":"tok-1","token_type":"bearer","expires_in":3600})"));
  BOOST_TEST_REQUIRE(result.ok());
  BOOST_TEST(result.value().token.Reveal() == "tok-1");
  BOOST_TEST(result.value().token_type == "bearer");
  BOOST_TEST(result.value().expires_in_s == 3600);
}

BOOST_AUTO_TEST_CASE(accepts_missing_token_type) {
  const auto result =
      ParseTokenResponse(Response(200, R"({"access_token":"tok-1"})"));
  BOOST_TEST_REQUIRE(result.ok());
  BOOST_TEST(result.value().token_type == "");
  BOOST_TEST(result.value().expires_in_s == kDefaultTokenLifetimeS);
}

BOOST_AUTO_TEST_CASE(reads_expires_in_forms) {
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"", kDefaultTokenLifetimeS},
      {R"(,"expires_in":1)", 1},
      {R"(,"expires_in":1800)", 1800},
      {R"(,"expires_in":"3600")", 3600},
      {R"(,"expires_in":599.9)", 599},
      {R"(,"expires_in":0)", kDefaultTokenLifetimeS},
      {R"(,"expires_in":-60)", kDefaultTokenLifetimeS},
      {R"(,"expires_in":"-60")", kDefaultTokenLifetimeS},
      {R"(,"expires_in":"0")", kDefaultTokenLifetimeS},
      {R"(,"expires_in":"soon")", kDefaultTokenLifetimeS},
      {R"(,"expires_in":"3600s")", kDefaultTokenLifetimeS},
      {R"(,"expires_in":"")", kDefaultTokenLifetimeS},
      {R"(,"expires_in":null)", kDefaultTokenLifetimeS},
      {R"(,"expires_in":true)", kDefaultTokenLifetimeS},
      {R"(,"expires_in":{})", kDefaultTokenLifetimeS},
      {R"(,"expires_in":[3600])", kDefaultTokenLifetimeS},
  };
  for (const auto& [member, expected] : cases) {
    BOOST_TEST_CONTEXT("member " << member) {
      const auto result = ParseTokenResponse(
          Response(200, R"({"access_token":"t")" + member + "}"));
      BOOST_TEST_REQUIRE(result.ok());
      BOOST_TEST(result.value().expires_in_s == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(clamps_huge_expires_in) {
  const std::vector<std::string> members = {
      R"("expires_in":18446744073709551615)",
      R"("expires_in":"99999999999999999999")",
      R"("expires_in":1e300)",
  };
  for (const std::string& member : members) {
    BOOST_TEST_CONTEXT("member " << member) {
      const auto result = ParseTokenResponse(
          Response(200, R"({"access_token":"t",)" + member + "}"));
      BOOST_TEST_REQUIRE(result.ok());
      BOOST_TEST(result.value().expires_in_s > 0);
      BOOST_TEST(result.value().expires_in_s <= 366 * 24 * 3600);
    }
  }
}

BOOST_AUTO_TEST_CASE(classifies_every_response_class) {
  const std::string html = "<html><body>Bad Gateway</body></html>";
  const std::vector<ClassificationCase> cases = {
      {"200 without access_token", Response(200, "{}"), Outcome::kBadResponse,
       ""},
      {"200 empty access_token", Response(200, R"({"access_token":""})"),
       Outcome::kBadResponse, ""},
      {"200 numeric access_token", Response(200, R"({"access_token":5})"),
       Outcome::kBadResponse, ""},
      {"200 null access_token", Response(200, R"({"access_token":null})"),
       Outcome::kBadResponse, ""},
      {"200 numeric token_type",
       Response(200, R"({"access_token":"t","token_type":1})"),
       Outcome::kBadResponse, ""},
      {"200 JSON array", Response(200, R"(["access_token"])"),
       Outcome::kBadResponse, ""},
      {"200 not JSON", Response(200, "access_token=t"), Outcome::kTransient,
       ""},
      {"200 truncated JSON", Response(200, R"({"access_token":"tok)"),
       Outcome::kTransient, ""},
      {"200 HTML", Response(200, html), Outcome::kTransient, ""},
      {"200 empty body", Response(200, ""), Outcome::kTransient, ""},
      {"400 invalid_client", Response(400, R"({"error":"invalid_client"})"),
       Outcome::kDeadCredentials, "invalid_client"},
      {"400 unauthorized_client",
       Response(400, R"({"error":"unauthorized_client"})"),
       Outcome::kDeadCredentials, "unauthorized_client"},
      {"400 invalid_grant", Response(400, R"({"error":"invalid_grant"})"),
       Outcome::kDeadCredentials, "invalid_grant"},
      {"401 invalid_client", Response(401, R"({"error":"invalid_client"})"),
       Outcome::kDeadCredentials, "invalid_client"},
      {"401 empty body", Response(401, ""), Outcome::kDeadCredentials, ""},
      {"401 HTML", Response(401, html), Outcome::kDeadCredentials, ""},
      {"401 invalid_request", Response(401, R"({"error":"invalid_request"})"),
       Outcome::kDeadCredentials, "invalid_request"},
      {"400 invalid_request", Response(400, R"({"error":"invalid_request"})"),
       Outcome::kBadResponse, "invalid_request"},
      {"400 unsupported_grant_type",
       Response(400, R"({"error":"unsupported_grant_type"})"),
       Outcome::kBadResponse, "unsupported_grant_type"},
      {"400 without error", Response(400, "{}"), Outcome::kBadResponse, ""},
      {"400 HTML", Response(400, html), Outcome::kBadResponse, ""},
      {"404", Response(404, R"({"message":"Not found"})"),
       Outcome::kBadResponse, ""},
      {"302", Response(302, "", {{"location", "https://elsewhere/"}}),
       Outcome::kBadResponse, ""},
      {"408", Response(408, ""), Outcome::kTransient, ""},
      {"429", Response(429, ""), Outcome::kTransient, ""},
      {"500", Response(500, R"({"error":"server_error"})"), Outcome::kTransient,
       ""},
      {"502 HTML", Response(502, html), Outcome::kTransient, ""},
      {"503", Response(503, ""), Outcome::kTransient, ""},
      {"504", Response(504, ""), Outcome::kTransient, ""},
      {"connection refused",
       TransportFailure(TransportError::kConnect, "Connection"),
       Outcome::kTransient, ""},
      {"timeout", TransportFailure(TransportError::kTimeout, "Read"),
       Outcome::kTransient, ""},
      {"other transport error",
       TransportFailure(TransportError::kOther, "Unknown"), Outcome::kTransient,
       ""},
      {"TLS failure",
       TransportFailure(TransportError::kTls, "SSLServerVerification"),
       Outcome::kTlsError, ""},
  };
  for (const ClassificationCase& c : cases) {
    BOOST_TEST_CONTEXT("case " << c.name) {
      const auto result = ParseTokenResponse(c.response);
      BOOST_TEST_REQUIRE(!result.ok());
      BOOST_TEST(OutcomeName(result.outcome()) == OutcomeName(c.expected));
      BOOST_TEST(result.error().http_status == c.response.status);
      BOOST_TEST(result.error().oauth_error == c.oauth_error);
      BOOST_TEST(!result.error().message.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(message_names_status_and_error_code) {
  const auto result = ParseTokenResponse(Response(
      401,
      R"({"error":"invalid_client","error_description":"Unknown client"})"));
  BOOST_TEST_REQUIRE(!result.ok());
  const std::string& message = result.error().message;
  BOOST_TEST(message.find("HTTP 401") != std::string::npos);
  BOOST_TEST(message.find("invalid_client") != std::string::npos);
  BOOST_TEST(message.find("Unknown client") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(message_sanitizes_and_shortens_description) {
  const std::string description =
      "line one\nline two\x1b[31m" + std::string(500, 'x');
  json body = {{"error", "invalid_grant"}, {"error_description", description}};
  const auto result = ParseTokenResponse(Response(400, body.dump()));
  BOOST_TEST_REQUIRE(!result.ok());
  const std::string& message = result.error().message;
  BOOST_TEST(message.find('\n') == std::string::npos);
  BOOST_TEST(message.find('\x1b') == std::string::npos);
  BOOST_TEST(message.find("line one?line two") != std::string::npos);
  BOOST_TEST(message.size() < 300u);
}

BOOST_AUTO_TEST_CASE(message_never_copies_success_body) {
  const std::vector<std::string> bodies = {
      R"({"access_token":"tok-LEAK-1)",
      R"({"access_token":"tok-LEAK-1","token_type":{}})",
      R"(["tok-LEAK-1"])",
  };
  for (const std::string& body : bodies) {
    BOOST_TEST_CONTEXT("body " << body) {
      const auto result = ParseTokenResponse(Response(200, body));
      BOOST_TEST_REQUIRE(!result.ok());
      BOOST_TEST(result.error().message.find("LEAK") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(tls_message_names_ca_file) {
  const auto result = ParseTokenResponse(
      TransportFailure(TransportError::kTls, "SSLServerVerification"));
  BOOST_TEST_REQUIRE(!result.ok());
  const std::string& message = result.error().message;
  BOOST_TEST(message.find("SSLServerVerification") != std::string::npos);
  BOOST_TEST(message.find("ca_file") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(retry_after)

BOOST_AUTO_TEST_CASE(reads_delta_seconds) {
  for (int status : {429, 503}) {
    BOOST_TEST_CONTEXT("status " << status) {
      const auto result =
          ParseTokenResponse(Response(status, "", {{"retry-after", "120"}}));
      BOOST_TEST_REQUIRE(!result.ok());
      BOOST_TEST_REQUIRE(result.error().retry_after_s.has_value());
      BOOST_TEST(*result.error().retry_after_s == 120);
      BOOST_TEST(result.error().message.find("retry after 120 s") !=
                 std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(reads_http_date) {
  const std::time_t in_one_minute = std::time(nullptr) + 60;
  const auto result = ParseTokenResponse(
      Response(503, "", {{"retry-after", HttpDate(in_one_minute)}}));
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST_REQUIRE(result.error().retry_after_s.has_value());
  BOOST_TEST(*result.error().retry_after_s >= 55);
  BOOST_TEST(*result.error().retry_after_s <= 60);
}

BOOST_AUTO_TEST_CASE(past_http_date_means_now) {
  const auto result = ParseTokenResponse(
      Response(429, "", {{"retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"}}));
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST_REQUIRE(result.error().retry_after_s.has_value());
  BOOST_TEST(*result.error().retry_after_s == 0);
}

BOOST_AUTO_TEST_CASE(ignores_unreadable_values) {
  const std::vector<std::string> values = {"",
                                           "soon",
                                           "-5",
                                           "12.5",
                                           "99999999999999999999",
                                           "Sunday, 06-Nov-94 08:49:37 GMT",
                                           "Sun Nov  6 08:49:37 1994"};
  for (const std::string& value : values) {
    BOOST_TEST_CONTEXT("value \"" << value << "\"") {
      const auto result =
          ParseTokenResponse(Response(503, "", {{"retry-after", value}}));
      BOOST_TEST_REQUIRE(!result.ok());
      BOOST_TEST(!result.error().retry_after_s.has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(absent_without_header) {
  const auto result = ParseTokenResponse(Response(429, ""));
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(!result.error().retry_after_s.has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(enable_integration_response)

BOOST_AUTO_TEST_CASE(returns_customer_credentials) {
  for (int status : {200, 201}) {
    BOOST_TEST_CONTEXT("status " << status) {
      const auto result = ParseEnableIntegrationResponse(Response(
          status, R"({"clientId":"cust-1","clientSecret":"cust-secret"})"));
      BOOST_TEST_REQUIRE(result.ok());
      BOOST_TEST(result.value().client_id == "cust-1");
      BOOST_TEST(result.value().client_secret.Reveal() == "cust-secret");
    }
  }
}

BOOST_AUTO_TEST_CASE(classifies_every_response_class) {
  const std::string html = "<html><body>Bad Gateway</body></html>";
  const std::vector<ClassificationCase> cases = {
      {"200 missing clientSecret", Response(200, R"({"clientId":"c"})"),
       Outcome::kBadResponse, ""},
      {"200 missing clientId", Response(200, R"({"clientSecret":"s"})"),
       Outcome::kBadResponse, ""},
      {"200 empty clientSecret",
       Response(200, R"({"clientId":"c","clientSecret":""})"),
       Outcome::kBadResponse, ""},
      {"200 numeric clientId",
       Response(200, R"({"clientId":7,"clientSecret":"s"})"),
       Outcome::kBadResponse, ""},
      {"200 JSON array", Response(200, "[]"), Outcome::kBadResponse, ""},
      {"200 not JSON", Response(200, "ok"), Outcome::kTransient, ""},
      {"200 truncated JSON", Response(200, R"({"clientId":"c","client)"),
       Outcome::kTransient, ""},
      {"400", Response(400, R"({"message":"Invalid body","errors":[]})"),
       Outcome::kBadResponse, ""},
      {"401", Response(401, R"({"message":"Unauthorized","errors":[]})"),
       Outcome::kBadResponse, ""},
      {"403", Response(403, R"({"message":"Forbidden","errors":[]})"),
       Outcome::kConsentMissing, ""},
      {"404", Response(404, ""), Outcome::kBadResponse, ""},
      {"409", Response(409, R"({"message":"Conflict","errors":[]})"),
       Outcome::kAlreadyIntegrated, ""},
      {"429", Response(429, ""), Outcome::kTransient, ""},
      {"500", Response(500, ""), Outcome::kTransient, ""},
      {"502 HTML", Response(502, html), Outcome::kTransient, ""},
      {"503", Response(503, ""), Outcome::kTransient, ""},
      {"connection refused",
       TransportFailure(TransportError::kConnect, "Connection"),
       Outcome::kTransient, ""},
      {"timeout", TransportFailure(TransportError::kTimeout, "Read"),
       Outcome::kTransient, ""},
      {"other transport error",
       TransportFailure(TransportError::kOther, "Unknown"), Outcome::kTransient,
       ""},
      {"TLS failure", TransportFailure(TransportError::kTls, "SSLConnection"),
       Outcome::kTlsError, ""},
  };
  for (const ClassificationCase& c : cases) {
    BOOST_TEST_CONTEXT("case " << c.name) {
      const auto result = ParseEnableIntegrationResponse(c.response);
      BOOST_TEST_REQUIRE(!result.ok());
      BOOST_TEST(OutcomeName(result.outcome()) == OutcomeName(c.expected));
      BOOST_TEST(result.error().http_status == c.response.status);
      BOOST_TEST(!result.error().message.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(carries_retry_after) {
  const auto result =
      ParseEnableIntegrationResponse(Response(429, "", {{"retry-after", "7"}}));
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST_REQUIRE(result.error().retry_after_s.has_value());
  BOOST_TEST(*result.error().retry_after_s == 7);
}

BOOST_AUTO_TEST_CASE(message_quotes_error_response) {
  const auto result = ParseEnableIntegrationResponse(Response(
      403, R"({"message":"Access denied","errors":[{"code":"NO_CONSENT",)"
           R"("message":"Company has not given consent"}]})"));
  BOOST_TEST_REQUIRE(!result.ok());
  const std::string& message = result.error().message;
  BOOST_TEST(message.find("HTTP 403") != std::string::npos);
  BOOST_TEST(message.find("Access denied") != std::string::npos);
  BOOST_TEST(message.find("NO_CONSENT") != std::string::npos);
  BOOST_TEST(message.find("Company has not given consent") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(message_escapes_and_deduplicates) {
  const auto result = ParseEnableIntegrationResponse(Response(
      409,
      R"({"message":"company \"ACME-1\" is integrated","errors":[{"code":)"
      R"("already_integrated","message":"company \"ACME-1\" is integrated"}]})"));
  BOOST_TEST_REQUIRE(!result.ok());
  const std::string& message = result.error().message;
  const std::string quoted = R"("company \"ACME-1\" is integrated")";
  BOOST_TEST(message.find(quoted) != std::string::npos);
  BOOST_TEST(message.find(quoted) == message.rfind(quoted));
  BOOST_TEST(message.find("(already_integrated)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(message_never_copies_success_body) {
  const std::vector<std::string> bodies = {
      R"({"clientId":"c","clientSecret":"LEAK-secret)",
      R"({"clientId":5,"clientSecret":"LEAK-secret"})",
      R"({"clientSecret":"LEAK-secret"})",
  };
  for (const std::string& body : bodies) {
    BOOST_TEST_CONTEXT("body " << body) {
      const auto result = ParseEnableIntegrationResponse(Response(200, body));
      BOOST_TEST_REQUIRE(!result.ok());
      BOOST_TEST(result.error().message.find("LEAK") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(message_ignores_non_json_error_body) {
  const auto result = ParseEnableIntegrationResponse(
      Response(502, "<html>upstream LEAK details</html>"));
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST(result.error().message.find("LEAK") == std::string::npos);
  BOOST_TEST(result.error().message.find("HTTP 502") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(request_bodies)

BOOST_AUTO_TEST_CASE(token_body_percent_encodes_secret) {
  const std::string body =
      BuildTokenRequestBody("cc-123", Secret("a&b=c+d e%f"));
  BOOST_TEST(body ==
             "grant_type=client_credentials&client_id=cc-123"
             "&client_secret=a%26b%3Dc%2Bd%20e%25f");
}

BOOST_AUTO_TEST_CASE(token_body_keeps_unreserved_characters) {
  const std::string body =
      BuildTokenRequestBody("AZaz09-._~", Secret("AZaz09-._~"));
  BOOST_TEST(body ==
             "grant_type=client_credentials&client_id=AZaz09-._~"
             "&client_secret=AZaz09-._~");
}

BOOST_AUTO_TEST_CASE(token_body_round_trips) {
  const std::string client_id = "id with spaces&=+%/?#";
  const std::string secret = "s3cr=t&x+y z%25\xc3\xa9\n\"'";
  const auto fields =
      DecodeForm(BuildTokenRequestBody(client_id, Secret(secret)));
  BOOST_TEST(fields.size() == 3u);
  BOOST_TEST(fields.at("grant_type") == "client_credentials");
  BOOST_TEST(fields.at("client_id") == client_id);
  BOOST_TEST(fields.at("client_secret") == secret);
}

BOOST_AUTO_TEST_CASE(setup_body_without_partner_credentials) {
  const json body = json::parse(BuildEnableIntegrationBody("ACME-1", nullptr));
  BOOST_TEST(body.size() == 1u);
  BOOST_TEST(body.at("companyId") == "ACME-1");
}

BOOST_AUTO_TEST_CASE(setup_body_with_partner_credentials) {
  CustomerCredentials partner;
  partner.client_id = "partner-1";
  partner.client_secret = Secret("partner-secret");
  const json body = json::parse(BuildEnableIntegrationBody("ACME-1", &partner));
  BOOST_TEST(body.size() == 3u);
  BOOST_TEST(body.at("companyId") == "ACME-1");
  BOOST_TEST(body.at("clientId") == "partner-1");
  BOOST_TEST(body.at("clientSecret") == "partner-secret");
}

BOOST_AUTO_TEST_CASE(setup_body_escapes_json) {
  const std::string company = "A\"C\\M\nE\x01</script>";
  CustomerCredentials partner;
  partner.client_id = "id\"}";
  partner.client_secret = Secret("se\"cret\\\t");
  const std::string text = BuildEnableIntegrationBody(company, &partner);
  BOOST_TEST(text.find('\n') == std::string::npos);
  BOOST_TEST(text.find('\x01') == std::string::npos);
  const json body = json::parse(text);
  BOOST_TEST(body.at("companyId") == company);
  BOOST_TEST(body.at("clientId") == "id\"}");
  BOOST_TEST(body.at("clientSecret") == "se\"cret\\\t");
}

BOOST_AUTO_TEST_CASE(setup_body_survives_invalid_utf8) {
  const std::string text = BuildEnableIntegrationBody("AC\xff\xfe", nullptr);
  const json body = json::parse(text, nullptr, false);
  BOOST_TEST(!body.is_discarded());
  BOOST_TEST(body.contains("companyId"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(http_client)

// Each base URL is rejected before any socket is opened.
BOOST_AUTO_TEST_CASE(rejects_invalid_base_urls) {
  const std::vector<std::string> urls = {
      "",
      "api.smartrecruiters.com",
      "ftp://127.0.0.1",
      "http://",
      "http://:80",
      "http://127.0.0.1:",
      "http://127.0.0.1:0",
      "http://127.0.0.1:65536",
      "http://127.0.0.1:80x",
      "http://user@127.0.0.1",
      "http://127.0.0.1/?q=1",
      "http://[::1",
  };
  for (const std::string& url : urls) {
    BOOST_TEST_CONTEXT("base URL \"" << url << "\"") {
      HttpClientOptions options;
      options.base_url = url;
      const HttpResult result =
          SendHttpRequest(options, "POST", "/identity/oauth/token",
                          "application/json", "{}", "");
      BOOST_TEST((result.error == TransportError::kOther));
      BOOST_TEST(result.error_text.find("invalid base URL") !=
                 std::string::npos);
      BOOST_TEST(result.status == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_relative_request_path) {
  HttpClientOptions options;
  options.base_url = "http://127.0.0.1:9";
  const HttpResult result =
      SendHttpRequest(options, "GET", "identity/oauth/token", "", "", "");
  BOOST_TEST((result.error == TransportError::kOther));
  BOOST_TEST(result.error_text.find("does not start with '/'") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(client)

BOOST_AUTO_TEST_CASE(outcome_names_are_distinct) {
  BOOST_TEST(OutcomeName(Outcome::kOk) == "ok");
  BOOST_TEST(OutcomeName(Outcome::kDeadCredentials) == "dead_credentials");
  BOOST_TEST(OutcomeName(Outcome::kConsentMissing) == "consent_missing");
  BOOST_TEST(OutcomeName(Outcome::kAlreadyIntegrated) == "already_integrated");
  BOOST_TEST(OutcomeName(Outcome::kTransient) == "transient");
  BOOST_TEST(OutcomeName(Outcome::kBadResponse) == "bad_response");
  BOOST_TEST(OutcomeName(Outcome::kTlsError) == "tls_error");
}

// An invalid api_base fails before any socket is opened, so this runs
// without a network and still goes through the message and the log line.
BOOST_AUTO_TEST_CASE(failure_never_reveals_secret) {
  SmartRecruitersConfig config;
  config.api_base = "not a url";
  const SmartRecruitersClient client(config);
  StderrCapture capture;

  const auto token = client.RequestToken("cc-123", Secret("top-secret-1"));
  const auto setup =
      client.EnableIntegration(Secret("master-token-1"), "ACME-1");

  BOOST_TEST_REQUIRE(!token.ok());
  BOOST_TEST(OutcomeName(token.outcome()) == "transient");
  BOOST_TEST(token.error().message.find("\"cc-123\"") != std::string::npos);
  BOOST_TEST(token.error().message.find("top-secret") == std::string::npos);
  BOOST_TEST_REQUIRE(!setup.ok());
  BOOST_TEST(setup.error().message.find("\"ACME-1\"") != std::string::npos);
  BOOST_TEST(setup.error().message.find("master-token") == std::string::npos);
  const std::string log = capture.Text();
  BOOST_TEST(log.find("cc-123") != std::string::npos);
  BOOST_TEST(log.find("top-secret") == std::string::npos);
  BOOST_TEST(log.find("master-token") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace srconnect
