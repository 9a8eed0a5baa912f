#define BOOST_TEST_MODULE fastcgi
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "fastcgi.h"
#include "status.h"

namespace srconnect {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using ParamMap = std::map<std::string, std::string>;

Pairs Decode(std::string_view text, const RequestLimits& limits = {}) {
  Result<Params> params = ParseUrlEncoded(text, limits);
  BOOST_TEST_REQUIRE(params.ok(), "\"" << text << "\": " << params.error());
  return params->pairs();
}

std::string DecodeError(std::string_view text,
                        const RequestLimits& limits = {}) {
  Result<Params> params = ParseUrlEncoded(text, limits);
  BOOST_TEST_REQUIRE(!params.ok(), "\"" << text << "\" was accepted");
  return params.error();
}

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// FastCGI parameters as nginx's fastcgi_params sends them for a GET.
ParamMap GetParams(std::string query_string = "") {
  return {{"REQUEST_METHOD", "GET"},
          {"DOCUMENT_URI", "/smartrecruiters/status"},
          {"SCRIPT_NAME", "/smartrecruiters/status"},
          {"QUERY_STRING", std::move(query_string)},
          {"REMOTE_ADDR", "203.0.113.7"},
          {"REQUEST_SCHEME", "https"},
          {"CONTENT_TYPE", ""},
          {"CONTENT_LENGTH", ""}};
}

ParamMap PostParams(std::string content_type, std::string content_length) {
  ParamMap params = GetParams();
  params["REQUEST_METHOD"] = "POST";
  params["CONTENT_TYPE"] = std::move(content_type);
  params["CONTENT_LENGTH"] = std::move(content_length);
  return params;
}

// Splits serialized response headers into lines, without the body.
std::vector<std::string> HeaderLines(const std::string& response) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    const size_t end = response.find("\r\n", start);
    if (end == std::string::npos || end == start) break;
    lines.push_back(response.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

size_t CountLines(const std::vector<std::string>& lines,
                  std::string_view prefix) {
  size_t count = 0;
  for (const std::string& line : lines) {
    if (line.compare(0, prefix.size(), prefix) == 0) ++count;
  }
  return count;
}

BOOST_AUTO_TEST_SUITE(url_encoded)

BOOST_AUTO_TEST_CASE(decodes_empty_text_to_no_pairs) {
  BOOST_TEST(Decode("").empty());
}

BOOST_AUTO_TEST_CASE(name_without_equals_gets_empty_value) {
  const Pairs pairs = Decode("a");
  BOOST_TEST_REQUIRE(pairs.size() == 1u);
  BOOST_TEST(pairs[0].first == "a");
  BOOST_TEST(pairs[0].second == "");
}

BOOST_AUTO_TEST_CASE(skips_empty_pairs) {
  const Pairs pairs = Decode("&a=1&&b=2&");
  BOOST_TEST_REQUIRE(pairs.size() == 2u);
  BOOST_TEST(pairs[0].first == "a");
  BOOST_TEST(pairs[0].second == "1");
  BOOST_TEST(pairs[1].first == "b");
  BOOST_TEST(pairs[1].second == "2");
}

BOOST_AUTO_TEST_CASE(keeps_order_and_repeated_names) {
  const Pairs pairs = Decode("b=1&a=2&b=3");
  BOOST_TEST_REQUIRE(pairs.size() == 3u);
  BOOST_TEST(pairs[0].first == "b");
  BOOST_TEST(pairs[1].first == "a");
  BOOST_TEST(pairs[2].first == "b");
  BOOST_TEST(pairs[2].second == "3");
}

BOOST_AUTO_TEST_CASE(splits_at_first_equals_sign) {
  const Pairs pairs = Decode("a=b=c");
  BOOST_TEST_REQUIRE(pairs.size() == 1u);
  BOOST_TEST(pairs[0].second == "b=c");
}

BOOST_AUTO_TEST_CASE(decodes_plus_as_space) {
  BOOST_TEST(Decode("q=a+b")[0].second == "a b");
}

BOOST_AUTO_TEST_CASE(decodes_encoded_plus_as_plus) {
  BOOST_TEST(Decode("q=a%2Bb")[0].second == "a+b");
}

BOOST_AUTO_TEST_CASE(decodes_lower_case_utf8_escapes) {
  BOOST_TEST(Decode("q=%e2%82%ac")[0].second == "\xe2\x82\xac");
}

BOOST_AUTO_TEST_CASE(decodes_names_too) {
  BOOST_TEST(Decode("a%5Bb%5D+c=1")[0].first == "a[b] c");
}

BOOST_AUTO_TEST_CASE(accepts_raw_non_ascii_bytes) {
  BOOST_TEST(Decode("q=\xc3\xa9")[0].second == "\xc3\xa9");
}

BOOST_AUTO_TEST_CASE(accepts_encoded_line_break) {
  BOOST_TEST(Decode("q=a%0Ab")[0].second == "a\nb");
}

BOOST_AUTO_TEST_CASE(rejects_percent_at_end) {
  const std::string error = DecodeError("q=%");
  BOOST_TEST(Contains(error, "\"q\""));
  BOOST_TEST(Contains(error, "two hex digits"));
}

BOOST_AUTO_TEST_CASE(rejects_bad_percent_escape) {
  const std::string error = DecodeError("ok=1&name=%G1");
  BOOST_TEST(Contains(error, "\"name\""));
  BOOST_TEST(Contains(error, "two hex digits"));
}

BOOST_AUTO_TEST_CASE(rejects_truncated_percent_escape) {
  BOOST_TEST(Contains(DecodeError("q=%1"), "\"q\""));
  BOOST_TEST(Contains(DecodeError("q=%1&r=2"), "\"q\""));
}

BOOST_AUTO_TEST_CASE(rejects_encoded_nul) {
  const std::string error = DecodeError("q=a%00b");
  BOOST_TEST(Contains(error, "\"q\""));
  BOOST_TEST(Contains(error, "NUL"));
}

BOOST_AUTO_TEST_CASE(rejects_raw_control_characters) {
  BOOST_TEST(Contains(DecodeError("q=a\nb"), "control character"));
  BOOST_TEST(Contains(DecodeError("q=a\tb"), "control character"));
  BOOST_TEST(Contains(DecodeError("q=a\x7f"), "control character"));
  BOOST_TEST(Contains(DecodeError(std::string_view("q=a\0b", 5)),
                      "control character"));
}

BOOST_AUTO_TEST_CASE(rejects_bad_escape_in_name) {
  const std::string error = DecodeError("a%G1=1");
  BOOST_TEST(Contains(error, "parameter name \"a%G1\""));
}

BOOST_AUTO_TEST_CASE(accepts_value_at_size_limit) {
  RequestLimits limits;
  limits.max_value_bytes = 4;
  BOOST_TEST(Decode("q=abcd", limits)[0].second == "abcd");
  // Escapes count as the decoded byte.
  BOOST_TEST(Decode("q=%41%42%43%44", limits)[0].second == "ABCD");
}

BOOST_AUTO_TEST_CASE(rejects_value_over_size_limit) {
  RequestLimits limits;
  limits.max_value_bytes = 4;
  const std::string error = DecodeError("q=abcde", limits);
  BOOST_TEST(Contains(error, "\"q\""));
  BOOST_TEST(Contains(error, "4 bytes"));
}

BOOST_AUTO_TEST_CASE(rejects_name_over_size_limit) {
  RequestLimits limits;
  limits.max_value_bytes = 4;
  const std::string error = DecodeError("abcde=1", limits);
  BOOST_TEST(Contains(error, "parameter name \"abcde\""));
  BOOST_TEST(Contains(error, "4 bytes"));
}

BOOST_AUTO_TEST_CASE(accepts_parameters_at_count_limit) {
  RequestLimits limits;
  limits.max_parameters = 3;
  BOOST_TEST(Decode("a=1&b=2&&c=3&", limits).size() == 3u);
}

BOOST_AUTO_TEST_CASE(rejects_too_many_parameters) {
  RequestLimits limits;
  limits.max_parameters = 3;
  const std::string error = DecodeError("a=1&b=2&c=3&d=4", limits);
  BOOST_TEST(Contains(error, "more than 3 parameters"));
}

BOOST_AUTO_TEST_CASE(shortens_long_names_in_errors) {
  const std::string name(500, 'n');
  const std::string error = DecodeError(name + "=%G1");
  BOOST_TEST(!Contains(error, name));
  BOOST_TEST(Contains(error, std::string(64, 'n') + "...\""));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(params)

BOOST_AUTO_TEST_CASE(get_one_returns_single_value) {
  const Params params(Pairs{{"a", "1"}, {"b", "2"}});
  Result<std::optional<std::string>> value = params.GetOne("b");
  BOOST_TEST_REQUIRE(value.ok());
  BOOST_TEST_REQUIRE(value->has_value());
  BOOST_TEST(**value == "2");
}

BOOST_AUTO_TEST_CASE(get_one_returns_nullopt_when_absent) {
  const Params params(Pairs{{"a", "1"}});
  Result<std::optional<std::string>> value = params.GetOne("b");
  BOOST_TEST_REQUIRE(value.ok());
  BOOST_TEST(!value->has_value());
}

BOOST_AUTO_TEST_CASE(get_one_rejects_repeated_parameter) {
  const Params params(Pairs{{"redirect", "a"}, {"x", "1"}, {"redirect", "b"}});
  Result<std::optional<std::string>> value = params.GetOne("redirect");
  BOOST_TEST_REQUIRE(!value.ok());
  BOOST_TEST(Contains(value.error(), "\"redirect\""));
  BOOST_TEST(Contains(value.error(), "more than once"));
}

BOOST_AUTO_TEST_CASE(get_one_treats_empty_value_as_present) {
  const Params params(Pairs{{"a", ""}});
  Result<std::optional<std::string>> value = params.GetOne("a");
  BOOST_TEST_REQUIRE(value.ok());
  BOOST_TEST_REQUIRE(value->has_value());
  BOOST_TEST(value->value().empty());
}

BOOST_AUTO_TEST_CASE(count_counts_repeats) {
  const Params params(Pairs{{"a", "1"}, {"b", "2"}, {"a", "3"}});
  BOOST_TEST(params.Count("a") == 2u);
  BOOST_TEST(params.Count("b") == 1u);
  BOOST_TEST(params.Count("c") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(url_encode)

BOOST_AUTO_TEST_CASE(keeps_unreserved_characters) {
  const std::string unreserved =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
  BOOST_TEST(UrlEncode(unreserved) == unreserved);
}

BOOST_AUTO_TEST_CASE(encodes_others_as_upper_case_hex) {
  BOOST_TEST(UrlEncode(" +&=/?#%") == "%20%2B%26%3D%2F%3F%23%25");
  BOOST_TEST(UrlEncode("\xe2\x82\xac") == "%E2%82%AC");
  BOOST_TEST(UrlEncode(std::string_view("\0", 1)) == "%00");
}

BOOST_AUTO_TEST_CASE(round_trips_every_byte_but_nul) {
  std::string bytes;
  for (int byte = 1; byte < 256; ++byte)
    bytes.push_back(static_cast<char>(byte));
  const Pairs pairs = Decode("v=" + UrlEncode(bytes));
  BOOST_TEST_REQUIRE(pairs.size() == 1u);
  BOOST_TEST(pairs[0].second == bytes);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cookies)

std::map<std::string, std::string> Cookies(std::string_view header) {
  Result<std::map<std::string, std::string>> cookies =
      ParseCookies(header, RequestLimits());
  BOOST_TEST_REQUIRE(cookies.ok(), cookies.error());
  return *cookies;
}

BOOST_AUTO_TEST_CASE(parses_pairs_and_trims_whitespace) {
  const auto cookies = Cookies(" a=1;b=2 ;\tc = 3 ");
  BOOST_TEST(cookies.size() == 3u);
  BOOST_TEST(cookies.at("a") == "1");
  BOOST_TEST(cookies.at("b") == "2");
  BOOST_TEST(cookies.at("c") == "3");
}

BOOST_AUTO_TEST_CASE(returns_no_cookies_for_empty_header) {
  BOOST_TEST(Cookies("").empty());
}

BOOST_AUTO_TEST_CASE(keeps_first_of_duplicate_names) {
  const auto cookies = Cookies("state=specific; state=general");
  BOOST_TEST(cookies.size() == 1u);
  BOOST_TEST(cookies.at("state") == "specific");
}

BOOST_AUTO_TEST_CASE(keeps_empty_value) {
  const auto cookies = Cookies("a=; b=2");
  BOOST_TEST(cookies.count("a") == 1u);
  BOOST_TEST(cookies.at("a") == "");
}

BOOST_AUTO_TEST_CASE(strips_quotes_around_value) {
  BOOST_TEST(Cookies("a=\"xyz\"").at("a") == "xyz");
}

BOOST_AUTO_TEST_CASE(skips_malformed_pairs) {
  const auto cookies = Cookies(
      "junk; =novalue; bad name=1; sp=a b; comma=a,b; slash=a\\b; "
      "quote=\"open; nonascii=\xc3\xa9; ctl=a\x01; good=ok; "
      "lonequote=\"; ok2=v2");
  BOOST_TEST(cookies.size() == 2u);
  BOOST_TEST(cookies.at("good") == "ok");
  BOOST_TEST(cookies.at("ok2") == "v2");
}

BOOST_AUTO_TEST_CASE(accepts_header_at_size_limit) {
  RequestLimits limits;
  limits.max_cookie_bytes = 8;
  BOOST_TEST(ParseCookies("a=123456", limits).ok());
}

BOOST_AUTO_TEST_CASE(rejects_oversized_header_without_echoing_it) {
  RequestLimits limits;
  limits.max_cookie_bytes = 8;
  Result<std::map<std::string, std::string>> cookies =
      ParseCookies("a=secret1", limits);
  BOOST_TEST_REQUIRE(!cookies.ok());
  BOOST_TEST(Contains(cookies.error(), "8 bytes"));
  BOOST_TEST(!Contains(cookies.error(), "secret1"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(request)

BOOST_AUTO_TEST_CASE(parses_get_request) {
  ParamMap params = GetParams("companyId=ACME-1&redirect=https%3A%2F%2Fx");
  Result<HttpRequest> request = ParseRequest(params, "", RequestLimits());
  BOOST_TEST_REQUIRE(request.ok(), request.error());
  BOOST_TEST(request->method == "GET");
  BOOST_TEST(request->path == "/smartrecruiters/status");
  BOOST_TEST(request->query_string ==
             "companyId=ACME-1&redirect=https%3A%2F%2Fx");
  BOOST_TEST(request->remote_addr == "203.0.113.7");
  BOOST_TEST(request->scheme == "https");
  BOOST_TEST(request->query.pairs().size() == 2u);
  BOOST_TEST(request->query.GetOne("redirect")->value() == "https://x");
  BOOST_TEST(request->form.pairs().empty());
}

BOOST_AUTO_TEST_CASE(maps_http_variables_to_header_names) {
  ParamMap params = GetParams();
  params["HTTP_ACCEPT"] = "application/json";
  params["HTTP_ACCEPT_LANGUAGE"] = "en";
  params["HTTP_X_FORWARDED_FOR"] = "198.51.100.1";
  params["CONTENT_TYPE"] = "text/plain";
  params["CONTENT_LENGTH"] = "0";
  params["HTTP_"] = "nameless";
  Result<HttpRequest> request = ParseRequest(params, "", RequestLimits());
  BOOST_TEST_REQUIRE(request.ok(), request.error());
  BOOST_TEST(request->Header("accept") == "application/json");
  BOOST_TEST(request->Header("accept-language") == "en");
  BOOST_TEST(request->Header("x-forwarded-for") == "198.51.100.1");
  BOOST_TEST(request->Header("content-type") == "text/plain");
  BOOST_TEST(request->Header("content-length") == "0");
  BOOST_TEST(request->Header("cookie") == "");
  BOOST_TEST(request->headers.size() == 5u);
}

BOOST_AUTO_TEST_CASE(omits_empty_content_type_and_length) {
  Result<HttpRequest> request = ParseRequest(GetParams(), "", RequestLimits());
  BOOST_TEST_REQUIRE(request.ok(), request.error());
  BOOST_TEST(request->headers.count("content-type") == 0u);
  BOOST_TEST(request->headers.count("content-length") == 0u);
}

BOOST_AUTO_TEST_CASE(falls_back_to_script_name_for_path) {
  ParamMap params = GetParams();
  params.erase("DOCUMENT_URI");
  params["SCRIPT_NAME"] = "/smartrecruiters/start";
  Result<HttpRequest> request = ParseRequest(params, "", RequestLimits());
  BOOST_TEST_REQUIRE(request.ok(), request.error());
  BOOST_TEST(request->path == "/smartrecruiters/start");
}

BOOST_AUTO_TEST_CASE(derives_scheme_from_https_variable) {
  ParamMap params = GetParams();
  params.erase("REQUEST_SCHEME");
  Result<HttpRequest> plain = ParseRequest(params, "", RequestLimits());
  BOOST_TEST_REQUIRE(plain.ok(), plain.error());
  BOOST_TEST(plain->scheme == "http");

  params["HTTPS"] = "on";
  Result<HttpRequest> tls = ParseRequest(params, "", RequestLimits());
  BOOST_TEST_REQUIRE(tls.ok(), tls.error());
  BOOST_TEST(tls->scheme == "https");
}

BOOST_AUTO_TEST_CASE(rejects_missing_method) {
  ParamMap params = GetParams();
  params.erase("REQUEST_METHOD");
  Result<HttpRequest> request = ParseRequest(params, "", RequestLimits());
  BOOST_TEST_REQUIRE(!request.ok());
  BOOST_TEST(Contains(request.error(), "REQUEST_METHOD"));
}

BOOST_AUTO_TEST_CASE(accepts_query_at_size_limit) {
  RequestLimits limits;
  limits.max_query_bytes = 8;
  Result<HttpRequest> request = ParseRequest(GetParams("a=123456"), "", limits);
  BOOST_TEST(request.ok());
}

BOOST_AUTO_TEST_CASE(rejects_oversized_query) {
  RequestLimits limits;
  limits.max_query_bytes = 8;
  Result<HttpRequest> request =
      ParseRequest(GetParams("a=1234567"), "", limits);
  BOOST_TEST_REQUIRE(!request.ok());
  BOOST_TEST(Contains(request.error(), "query string"));
  BOOST_TEST(Contains(request.error(), "8 bytes"));
}

BOOST_AUTO_TEST_CASE(rejects_truncated_query) {
  // A query cut inside a UTF-8 escape, as a proxy with a short buffer
  // would pass it on.
  Result<HttpRequest> request = ParseRequest(
      GetParams("name=J%C3%BCrgen&city=K%C3%B"), "", RequestLimits());
  BOOST_TEST_REQUIRE(!request.ok());
  BOOST_TEST(Contains(request.error(), "query string"));
  BOOST_TEST(Contains(request.error(), "\"city\""));
}

BOOST_AUTO_TEST_CASE(parses_cookies) {
  ParamMap params = GetParams();
  params["HTTP_COOKIE"] = "srconnect_state=abc; other=\"x\"; junk";
  Result<HttpRequest> request = ParseRequest(params, "", RequestLimits());
  BOOST_TEST_REQUIRE(request.ok(), request.error());
  BOOST_TEST(request->cookies.size() == 2u);
  BOOST_TEST(request->cookies.at("srconnect_state") == "abc");
  BOOST_TEST(request->cookies.at("other") == "x");
}

BOOST_AUTO_TEST_CASE(rejects_oversized_cookie_header) {
  RequestLimits limits;
  limits.max_cookie_bytes = 16;
  ParamMap params = GetParams();
  params["HTTP_COOKIE"] = "session=very-secret-value";
  Result<HttpRequest> request = ParseRequest(params, "", limits);
  BOOST_TEST_REQUIRE(!request.ok());
  BOOST_TEST(Contains(request.error(), "Cookie"));
  BOOST_TEST(!Contains(request.error(), "very-secret-value"));
}

BOOST_AUTO_TEST_CASE(parses_post_form_with_charset) {
  const std::string body = "name=J%C3%BCrgen&note=1+2";
  ParamMap params =
      PostParams("application/x-www-form-urlencoded; charset=UTF-8",
                 std::to_string(body.size()));
  Result<HttpRequest> request = ParseRequest(params, body, RequestLimits());
  BOOST_TEST_REQUIRE(request.ok(), request.error());
  BOOST_TEST(request->form.pairs().size() == 2u);
  BOOST_TEST(request->form.GetOne("name")->value() == "J\xc3\xbcrgen");
  BOOST_TEST(request->form.GetOne("note")->value() == "1 2");
}

BOOST_AUTO_TEST_CASE(matches_form_media_type_ignoring_case) {
  ParamMap params = PostParams("Application/X-WWW-Form-URLEncoded", "3");
  Result<HttpRequest> request = ParseRequest(params, "a=1", RequestLimits());
  BOOST_TEST_REQUIRE(request.ok(), request.error());
  BOOST_TEST(request->form.pairs().size() == 1u);
}

BOOST_AUTO_TEST_CASE(rejects_post_with_json_body) {
  ParamMap params = PostParams("application/json", "9");
  Result<HttpRequest> request =
      ParseRequest(params, "{\"a\":\"b\"}", RequestLimits());
  BOOST_TEST_REQUIRE(!request.ok());
  BOOST_TEST(Contains(request.error(), "\"application/json\""));
  BOOST_TEST(Contains(request.error(), "application/x-www-form-urlencoded"));
}

BOOST_AUTO_TEST_CASE(accepts_empty_post_of_any_type) {
  ParamMap params = PostParams("application/json", "0");
  Result<HttpRequest> request = ParseRequest(params, "", RequestLimits());
  BOOST_TEST_REQUIRE(request.ok(), request.error());
  BOOST_TEST(request->form.pairs().empty());
}

BOOST_AUTO_TEST_CASE(names_bad_form_parameter) {
  ParamMap params = PostParams("application/x-www-form-urlencoded", "11");
  Result<HttpRequest> request =
      ParseRequest(params, "csrf=%ZZabc", RequestLimits());
  BOOST_TEST_REQUIRE(!request.ok());
  BOOST_TEST(Contains(request.error(), "form body"));
  BOOST_TEST(Contains(request.error(), "\"csrf\""));
}

BOOST_AUTO_TEST_CASE(rejects_form_body_over_size_limit) {
  RequestLimits limits;
  limits.max_body_bytes = 4;
  ParamMap params = PostParams("application/x-www-form-urlencoded", "5");
  Result<HttpRequest> request = ParseRequest(params, "a=123", limits);
  BOOST_TEST_REQUIRE(!request.ok());
  BOOST_TEST(Contains(request.error(), "4 bytes"));
}

BOOST_AUTO_TEST_CASE(ignores_body_of_get) {
  ParamMap params = GetParams();
  params["CONTENT_TYPE"] = "application/x-www-form-urlencoded";
  Result<HttpRequest> request = ParseRequest(params, "a=1", RequestLimits());
  BOOST_TEST_REQUIRE(request.ok(), request.error());
  BOOST_TEST(request->form.pairs().empty());
}

BOOST_AUTO_TEST_CASE(detects_loopback_addresses) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"127.0.0.1", true},
      {"127.255.0.9", true},
      {"::1", true},
      {"0:0:0:0:0:0:0:1", true},
      {"::ffff:127.0.0.1", true},
      {"::ffff:127.1.2.3", true},
      {"128.0.0.1", false},
      {"10.0.0.1", false},
      {"::2", false},
      {"::", false},
      {"::ffff:10.0.0.1", false},
      {"::127.0.0.1", false},
      {"fe80::1", false},
      {"unix:", false},
      {"", false},
      {"127.0.0.1.example", false},
  };
  for (const auto& [address, loopback] : cases) {
    HttpRequest request;
    request.remote_addr = address;
    BOOST_TEST(request.FromLoopback() == loopback,
               "address \"" << address << "\"");
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(response)

BOOST_AUTO_TEST_CASE(serializes_status_defaults_and_body) {
  HttpResponse response;
  response.body = "hello";
  const std::string text = SerializeResponse(response);
  BOOST_TEST(text ==
             "Status: 200 OK\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n"
             "Cache-Control: no-store\r\n"
             "X-Content-Type-Options: nosniff\r\n"
             "Referrer-Policy: no-referrer\r\n"
             "X-Frame-Options: DENY\r\n"
             "Content-Security-Policy: default-src 'none'; style-src "
             "'unsafe-inline'; img-src 'self'; form-action 'self' https: "
             "http:; base-uri 'none'; frame-ancestors 'none'\r\n"
             "\r\n"
             "hello");
}

BOOST_AUTO_TEST_CASE(keeps_headers_set_by_handler) {
  HttpResponse response = HttpResponse::Html(200, "<p>x</p>");
  response.AddHeader("cache-control", "private, max-age=60");
  response.AddHeader("X-Frame-Options", "SAMEORIGIN");
  const std::vector<std::string> lines =
      HeaderLines(SerializeResponse(response));
  BOOST_TEST(CountLines(lines, "Content-Type:") == 1u);
  BOOST_TEST(CountLines(lines, "Content-Type: text/html; charset=utf-8") == 1u);
  BOOST_TEST(CountLines(lines, "cache-control: private, max-age=60") == 1u);
  BOOST_TEST(CountLines(lines, "Cache-Control:") == 0u);
  BOOST_TEST(CountLines(lines, "X-Frame-Options: SAMEORIGIN") == 1u);
  BOOST_TEST(CountLines(lines, "X-Frame-Options:") == 1u);
}

BOOST_AUTO_TEST_CASE(drops_header_with_line_break) {
  HttpResponse response = HttpResponse::Text(200, "ok");
  response.AddHeader("Location", "/x\r\nSet-Cookie: injected=1");
  response.AddHeader("X-Bad\nName", "1");
  response.AddHeader("X-Cr", "a\rb");
  response.AddHeader("X-Good", "kept");
  const std::string text = SerializeResponse(response);
  const std::vector<std::string> lines = HeaderLines(text);
  BOOST_TEST(!Contains(text, "injected"));
  BOOST_TEST(!Contains(text, "X-Bad"));
  BOOST_TEST(!Contains(text, "X-Cr"));
  BOOST_TEST(CountLines(lines, "Location:") == 0u);
  BOOST_TEST(CountLines(lines, "X-Good: kept") == 1u);
}

BOOST_AUTO_TEST_CASE(drops_invalid_header_names_and_status) {
  HttpResponse response = HttpResponse::Text(200, "ok");
  response.AddHeader("", "empty name");
  response.AddHeader("Bad Name", "1");
  response.AddHeader("Status", "500 Internal Server Error");
  response.AddHeader("X-Nul", std::string("a\0b", 3));
  const std::vector<std::string> lines =
      HeaderLines(SerializeResponse(response));
  BOOST_TEST(CountLines(lines, "Status:") == 1u);
  BOOST_TEST(lines.at(0) == "Status: 200 OK");
  BOOST_TEST(CountLines(lines, ": empty name") == 0u);
  BOOST_TEST(CountLines(lines, "Bad Name") == 0u);
  BOOST_TEST(CountLines(lines, "X-Nul") == 0u);
}

BOOST_AUTO_TEST_CASE(writes_reason_phrases) {
  const std::vector<std::pair<int, std::string>> cases = {
      {201, "Status: 201 Created"},
      {204, "Status: 204 No Content"},
      {302, "Status: 302 Found"},
      {303, "Status: 303 See Other"},
      {400, "Status: 400 Bad Request"},
      {403, "Status: 403 Forbidden"},
      {404, "Status: 404 Not Found"},
      {405, "Status: 405 Method Not Allowed"},
      {409, "Status: 409 Conflict"},
      {413, "Status: 413 Content Too Large"},
      {429, "Status: 429 Too Many Requests"},
      {500, "Status: 500 Internal Server Error"},
      {502, "Status: 502 Bad Gateway"},
      {503, "Status: 503 Service Unavailable"},
      {418, "Status: 418"},
      {42, "Status: 500 Internal Server Error"},
      {600, "Status: 500 Internal Server Error"},
  };
  for (const auto& [status, line] : cases) {
    HttpResponse response;
    response.status = status;
    BOOST_TEST(HeaderLines(SerializeResponse(response)).at(0) == line,
               "status " << status);
  }
}

BOOST_AUTO_TEST_CASE(sets_content_types) {
  BOOST_TEST(HttpResponse::Html(200, "").headers.at(0).second ==
             "text/html; charset=utf-8");
  BOOST_TEST(HttpResponse::Json(201, "{}").headers.at(0).second ==
             "application/json; charset=utf-8");
  BOOST_TEST(HttpResponse::Text(404, "").headers.at(0).second ==
             "text/plain; charset=utf-8");
  BOOST_TEST(HttpResponse::Json(201, "{}").status == 201);
  BOOST_TEST(HttpResponse::Json(201, "{}").body == "{}");
}

BOOST_AUTO_TEST_CASE(redirect_sets_location_and_escaped_link) {
  const std::string location = "https://x.example/a?b=1&c=\"<d>\"";
  const HttpResponse response = HttpResponse::Redirect(location);
  BOOST_TEST(response.status == 302);
  const std::vector<std::string> lines =
      HeaderLines(SerializeResponse(response));
  BOOST_TEST(CountLines(lines, "Location: " + location) == 1u);
  BOOST_TEST(CountLines(lines, "Content-Type: text/html") == 1u);
  BOOST_TEST(Contains(response.body,
                      "href=\"https://x.example/a?b=1&amp;c=&quot;&lt;d&gt;"
                      "&quot;\""));
  BOOST_TEST(!Contains(response.body, "<d>"));
}

BOOST_AUTO_TEST_CASE(set_cookie_writes_all_attributes) {
  HttpResponse response;
  Cookie cookie;
  cookie.name = "srconnect_state";
  cookie.value = "abc-123_x";
  cookie.max_age_s = 600;
  response.SetCookie(cookie);
  BOOST_TEST_REQUIRE(response.headers.size() == 1u);
  BOOST_TEST(response.headers[0].first == "Set-Cookie");
  BOOST_TEST(response.headers[0].second ==
             "srconnect_state=abc-123_x; Path=/; Max-Age=600; HttpOnly; "
             "Secure; SameSite=Lax");
}

BOOST_AUTO_TEST_CASE(set_cookie_omits_unset_attributes) {
  HttpResponse response;
  Cookie cookie;
  cookie.name = "a";
  cookie.value = "1";
  cookie.path = "";
  cookie.http_only = false;
  cookie.secure = false;
  cookie.same_site = "";
  response.SetCookie(cookie);
  BOOST_TEST_REQUIRE(response.headers.size() == 1u);
  BOOST_TEST(response.headers[0].second == "a=1");
}

BOOST_AUTO_TEST_CASE(set_cookie_keeps_zero_max_age) {
  HttpResponse response;
  Cookie cookie;
  cookie.name = "a";
  cookie.max_age_s = 0;
  cookie.same_site = "Strict";
  response.SetCookie(cookie);
  BOOST_TEST_REQUIRE(response.headers.size() == 1u);
  BOOST_TEST(response.headers[0].second ==
             "a=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
}

BOOST_AUTO_TEST_CASE(set_cookie_rejects_invalid_parts) {
  std::vector<Cookie> cookies(5);
  cookies[0].name = "bad name";
  cookies[1].name = "a";
  cookies[1].value = "1; Domain=evil.example";
  cookies[2].name = "a";
  cookies[2].path = "/; Domain=evil.example";
  cookies[3].name = "a";
  cookies[3].same_site = "lax; x";
  cookies[4].name = "a";
  cookies[4].value = "a b";
  for (const Cookie& cookie : cookies) {
    HttpResponse response;
    response.SetCookie(cookie);
    BOOST_TEST(response.headers.empty(), "cookie \"" << cookie.name << "\"");
  }
}

BOOST_AUTO_TEST_CASE(html_escape_replaces_special_characters) {
  BOOST_TEST(HtmlEscape("<a href=\"x\">O'Neil & co</a>") ==
             "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;");
  BOOST_TEST(HtmlEscape("plain \xe2\x82\xac") == "plain \xe2\x82\xac");
  BOOST_TEST(HtmlEscape("") == "");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(parse_error_response)

std::string ContentTypeOf(const HttpResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (name == "Content-Type") return value;
  }
  return "";
}

struct MalformedRequest {
  std::string label;
  ParamMap params;
  std::string body;
};

// Requests that the token hand-out's clients have sent by mistake, each
// rejected by ParseRequest with the hand-out's limits.
std::vector<MalformedRequest> MalformedRequests() {
  ParamMap json_post = PostParams("application/json", "18");
  json_post["QUERY_STRING"] = "";
  ParamMap long_form = PostParams(
      "application/x-www-form-urlencoded", "2057");
  return {
      {"query over 4096 bytes",
       GetParams("company=" + std::string(4096, 'A')), ""},
      {"encoded NUL", GetParams("company=ACME%00"), ""},
      {"invalid escape", GetParams("company=%ZZ"), ""},
      {"form value over the limit", long_form,
       "company=" + std::string(2048, 'A') + "A"},
      {"JSON body", json_post, "{\"company\": \"A-1\"}"},
  };
}

BOOST_AUTO_TEST_CASE(json_errors_give_json_body) {
  RequestLimits limits;
  limits.max_body_bytes = 4096;
  limits.json_errors = true;
  for (const MalformedRequest& malformed : MalformedRequests()) {
    BOOST_TEST_CONTEXT(malformed.label) {
      Result<HttpRequest> request =
          ParseRequest(malformed.params, malformed.body, limits);
      BOOST_TEST_REQUIRE(!request.ok());

      const HttpResponse response =
          ParseErrorResponse(400, request.error(), limits);
      BOOST_TEST(response.status == 400);
      BOOST_TEST(ContentTypeOf(response) ==
                 "application/json; charset=utf-8");
      const nlohmann::json body =
          nlohmann::json::parse(response.body, nullptr, false);
      BOOST_TEST_REQUIRE(body.is_object(), response.body);
      BOOST_TEST(body.value("error", "") == "invalid_request");
      BOOST_TEST(body.value("message", "") == request.error());
      BOOST_TEST(!Contains(response.body, "<html"));
    }
  }
}

BOOST_AUTO_TEST_CASE(json_errors_name_oversized_body) {
  RequestLimits limits;
  limits.json_errors = true;
  const HttpResponse response =
      ParseErrorResponse(413, "request body is longer than 4096 bytes", limits);
  BOOST_TEST(response.status == 413);
  const nlohmann::json body =
      nlohmann::json::parse(response.body, nullptr, false);
  BOOST_TEST_REQUIRE(body.is_object(), response.body);
  BOOST_TEST(body.value("error", "") == "payload_too_large");
}

BOOST_AUTO_TEST_CASE(json_errors_replace_invalid_utf8) {
  RequestLimits limits;
  limits.json_errors = true;
  const HttpResponse response =
      ParseErrorResponse(400, "parameter name \"\xff\" is invalid", limits);
  BOOST_TEST(response.status == 400);
  const nlohmann::json body =
      nlohmann::json::parse(response.body, nullptr, false);
  BOOST_TEST(body.is_object(), response.body);
}

BOOST_AUTO_TEST_CASE(html_page_by_default) {
  const HttpResponse response =
      ParseErrorResponse(400, "query string: <bad>", RequestLimits());
  BOOST_TEST(response.status == 400);
  BOOST_TEST(ContentTypeOf(response) == "text/html; charset=utf-8");
  BOOST_TEST(Contains(response.body, "&lt;bad&gt;"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace srconnect
