#define BOOST_TEST_MODULE refresh
#include <cstdint>
#include <limits>
#include <optional>

#include <boost/test/unit_test.hpp>

#include "refresh.h"

namespace srconnect {
namespace {

constexpr int64_t kInitialS = 30;
constexpr int64_t kMaxS = 3600;

BOOST_AUTO_TEST_SUITE(backoff)

BOOST_AUTO_TEST_CASE(window_starts_at_initial) {
  BOOST_TEST(BackoffWindowS(0, kInitialS, kMaxS) == 30);
}

BOOST_AUTO_TEST_CASE(window_doubles_per_failure) {
  BOOST_TEST(BackoffWindowS(1, kInitialS, kMaxS) == 60);
  BOOST_TEST(BackoffWindowS(2, kInitialS, kMaxS) == 120);
  BOOST_TEST(BackoffWindowS(3, kInitialS, kMaxS) == 240);
  BOOST_TEST(BackoffWindowS(6, kInitialS, kMaxS) == 1920);
}

BOOST_AUTO_TEST_CASE(window_stops_at_cap) {
  BOOST_TEST(BackoffWindowS(7, kInitialS, kMaxS) == 3600);
  BOOST_TEST(BackoffWindowS(100, kInitialS, kMaxS) == 3600);
}

BOOST_AUTO_TEST_CASE(window_survives_huge_counts) {
  const int64_t huge = std::numeric_limits<int64_t>::max();
  BOOST_TEST(BackoffWindowS(huge, kInitialS, kMaxS) == kMaxS);
  BOOST_TEST(BackoffWindowS(70, 1, huge) > 0);
  BOOST_TEST(BackoffWindowS(70, 1, huge) <= huge);
}

BOOST_AUTO_TEST_CASE(window_treats_negative_count_as_zero) {
  BOOST_TEST(BackoffWindowS(-3, kInitialS, kMaxS) == 30);
}

BOOST_AUTO_TEST_CASE(window_never_exceeds_smaller_cap) {
  BOOST_TEST(BackoffWindowS(0, 600, 100) == 100);
}

BOOST_AUTO_TEST_CASE(delay_lies_within_equal_jitter_bounds) {
  for (int64_t failures = 0; failures < 12; ++failures) {
    const int64_t window = BackoffWindowS(failures, kInitialS, kMaxS);
    for (double jitter : {0.0, 0.25, 0.5, 0.999999}) {
      const int64_t delay =
          BackoffDelayS(failures, kInitialS, kMaxS, std::nullopt, jitter);
      BOOST_TEST(delay >= window / 2);
      BOOST_TEST(delay <= window);
    }
  }
}

BOOST_AUTO_TEST_CASE(delay_extremes_match_jitter) {
  BOOST_TEST(BackoffDelayS(0, kInitialS, kMaxS, std::nullopt, 0.0) == 15);
  BOOST_TEST(BackoffDelayS(0, kInitialS, kMaxS, std::nullopt, 0.999999) == 29);
  BOOST_TEST(BackoffDelayS(2, kInitialS, kMaxS, std::nullopt, 0.5) == 90);
}

BOOST_AUTO_TEST_CASE(delay_grows_with_failures) {
  int64_t previous = 0;
  for (int64_t failures = 0; failures < 7; ++failures) {
    const int64_t delay =
        BackoffDelayS(failures, kInitialS, kMaxS, std::nullopt, 0.0);
    BOOST_TEST(delay > previous);
    previous = delay;
  }
}

BOOST_AUTO_TEST_CASE(delay_is_capped) {
  BOOST_TEST(BackoffDelayS(50, kInitialS, kMaxS, std::nullopt, 0.999999) <=
             kMaxS);
}

BOOST_AUTO_TEST_CASE(delay_clamps_out_of_range_jitter) {
  BOOST_TEST(BackoffDelayS(0, kInitialS, kMaxS, std::nullopt, -5.0) == 15);
  BOOST_TEST(BackoffDelayS(0, kInitialS, kMaxS, std::nullopt, 7.0) <= 30);
  BOOST_TEST(BackoffDelayS(0, kInitialS, kMaxS, std::nullopt,
                           std::numeric_limits<double>::quiet_NaN()) == 15);
}

BOOST_AUTO_TEST_CASE(delay_is_at_least_one_second) {
  BOOST_TEST(BackoffDelayS(0, 1, 1, std::nullopt, 0.0) == 1);
}

BOOST_AUTO_TEST_CASE(retry_after_raises_floor) {
  BOOST_TEST(BackoffDelayS(0, kInitialS, kMaxS, 300, 0.0) == 300);
}

BOOST_AUTO_TEST_CASE(retry_after_below_backoff_changes_nothing) {
  BOOST_TEST(BackoffDelayS(3, kInitialS, kMaxS, 5, 0.0) == 120);
}

BOOST_AUTO_TEST_CASE(retry_after_floor_is_capped) {
  BOOST_TEST(BackoffDelayS(0, kInitialS, kMaxS, 86400 * 7, 0.0) == kMaxS);
}

BOOST_AUTO_TEST_CASE(retry_after_zero_is_ignored) {
  BOOST_TEST(BackoffDelayS(0, kInitialS, kMaxS, 0, 0.0) == 15);
  BOOST_TEST(BackoffDelayS(0, kInitialS, kMaxS, -4, 0.0) == 15);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(summary)

BOOST_AUTO_TEST_CASE(counts_each_outcome) {
  RunSummary summary;
  summary.Add(RenewOutcome::kRenewed);
  summary.Add(RenewOutcome::kRenewed);
  summary.Add(RenewOutcome::kFresh);
  summary.Add(RenewOutcome::kBusy);
  summary.Add(RenewOutcome::kDegraded);
  summary.Add(RenewOutcome::kNeedsReintegration);
  summary.Add(RenewOutcome::kNotRenewable);
  summary.Add(RenewOutcome::kError);
  BOOST_TEST(summary.renewed == 2);
  BOOST_TEST(summary.fresh == 1);
  BOOST_TEST(summary.busy == 1);
  BOOST_TEST(summary.degraded == 1);
  BOOST_TEST(summary.needs_reintegration == 1);
  BOOST_TEST(summary.not_renewable == 1);
  BOOST_TEST(summary.errors == 1);
}

BOOST_AUTO_TEST_CASE(describes_every_count) {
  RunSummary summary;
  summary.considered = 3;
  summary.renewed = 2;
  summary.skipped_for_budget = 1;
  BOOST_TEST(summary.Describe() ==
             "considered=3 renewed=2 fresh=0 busy=0 degraded=0 "
             "needs_reintegration=0 not_renewable=0 errors=0 "
             "skipped_for_budget=1");
}

BOOST_AUTO_TEST_CASE(names_outcomes) {
  BOOST_TEST(RenewOutcomeName(RenewOutcome::kRenewed) == "renewed");
  BOOST_TEST(RenewOutcomeName(RenewOutcome::kNeedsReintegration) ==
             "needs_reintegration");
  BOOST_TEST(RenewOutcomeName(RenewOutcome::kError) == "error");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace srconnect
