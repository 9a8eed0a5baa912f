#define BOOST_TEST_MODULE log
#include <unistd.h>

#include <cstdio>
#include <string>

#include <boost/test/unit_test.hpp>

#include "log.h"
#include "secret.h"
#include "status.h"
#include "support/stderr_capture.h"

namespace srconnect {
namespace {

using srconnect::testing::StderrCapture;

BOOST_AUTO_TEST_SUITE(log)

BOOST_AUTO_TEST_CASE(prefixes_priority) {
  SetLogThreshold(LogPriority::kDebug);
  StderrCapture capture;
  LogError("setup failed");
  LogDebug("detail");
  BOOST_TEST(capture.Text() == "<3>setup failed\n<7>detail\n");
}

BOOST_AUTO_TEST_CASE(drops_lines_below_threshold) {
  SetLogThreshold(LogPriority::kWarning);
  StderrCapture capture;
  LogInfo("hidden");
  LogWarning("shown");
  BOOST_TEST(capture.Text() == "<4>shown\n");
  SetLogThreshold(LogPriority::kInfo);
}

BOOST_AUTO_TEST_CASE(replaces_control_characters) {
  StderrCapture capture;
  LogInfo("company \"A\"\n<3>forged");
  BOOST_TEST(capture.Text() == "<6>company \"A\"?<3>forged\n");
}

BOOST_AUTO_TEST_CASE(quote_escapes) {
  BOOST_TEST(Quote("a\"b\\c\r") == "\"a\\\"b\\\\c?\"");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(secret)

BOOST_AUTO_TEST_CASE(fingerprint_hides_value) {
  Secret secret("very-secret-token-value");
  const std::string fingerprint = secret.Fingerprint();
  BOOST_TEST(fingerprint.rfind("sha256:", 0) == 0u);
  BOOST_TEST(fingerprint.size() == 15u);
  BOOST_TEST(fingerprint.find("secret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(fingerprint_tells_values_apart) {
  BOOST_TEST(Secret("a").Fingerprint() != Secret("b").Fingerprint());
  BOOST_TEST(Secret("a").Fingerprint() == Secret("a").Fingerprint());
  BOOST_TEST(Secret().Fingerprint() == "empty");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(status)

BOOST_AUTO_TEST_CASE(result_carries_value_or_error) {
  Result<int> good = 7;
  Result<int> bad = Status::Error("key \"x\" is missing");
  BOOST_TEST(good.ok());
  BOOST_TEST(*good == 7);
  BOOST_TEST(!bad.ok());
  BOOST_TEST(bad.error() == "key \"x\" is missing");
}

BOOST_AUTO_TEST_CASE(result_from_ok_status_is_error) {
  Result<int> odd = Status::Ok();
  BOOST_TEST(!odd.ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace srconnect
