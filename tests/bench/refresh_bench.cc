// refresh_bench: measures `srconnect-refresh --due` against the fake
// SmartRecruiters with a fixed delay on every token request.
//
// For each company count N it creates N integrated companies in the fake,
// stores their credentials with due tokens, and then runs
// srconnect-refresh once per concurrency C. The fake issues 60 s tokens,
// inside the 600 s margin, so every run finds all N tokens due again and
// the companies are created only once. Each run
// reports its wall time, the token requests the fake received, the
// child's CPU time (getrusage) per renewal and its peak RSS (ru_maxrss),
// and compares the wall time with the ideal N x latency / C.
//
// Usage: refresh_bench [--companies N,N...] [--concurrency C,C...]
//                      [--latency-ms MS] [--run-timeout-s S]
//                      [--max-ideal-s S] [--tls]
//
// Runs whose ideal time exceeds --max-ideal-s are listed as not run.
// --tls serves the fake over HTTPS with a CA made for the run, so each
// new connection pays a TLS handshake as it would against SmartRecruiters.

#include <sys/resource.h>
#include <sys/time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app.h"
#include "support/refresh_env.h"

namespace {

using srconnect::testing::RefreshEnv;
using srconnect::testing::RefreshSettings;
using srconnect::testing::RunOutput;

struct BenchOptions {
  std::vector<int64_t> companies = {1000, 10000};
  std::vector<int64_t> concurrency = {1, 8, 32};
  int64_t latency_ms = 50;
  int64_t run_timeout_s = 900;
  int64_t max_ideal_s = 400;
  bool tls = false;
};

// Parses "1,8,32"; throws std::invalid_argument on a bad list.
std::vector<int64_t> ParseList(const std::string& text) {
  std::vector<int64_t> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const int64_t value = std::stoll(item);
    if (value <= 0) throw std::invalid_argument("values must be positive");
    values.push_back(value);
  }
  if (values.empty()) throw std::invalid_argument("empty list");
  return values;
}

BenchOptions ParseOptions(int argc, char** argv) {
  BenchOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--tls") {
      options.tls = true;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument("missing value for " + arg);
    const std::string value = argv[++i];
    if (arg == "--companies") {
      options.companies = ParseList(value);
    } else if (arg == "--concurrency") {
      options.concurrency = ParseList(value);
    } else if (arg == "--latency-ms") {
      options.latency_ms = std::stoll(value);
    } else if (arg == "--run-timeout-s") {
      options.run_timeout_s = std::stoll(value);
    } else if (arg == "--max-ideal-s") {
      options.max_ideal_s = std::stoll(value);
    } else {
      throw std::invalid_argument("unknown argument \"" + arg + "\"");
    }
  }
  return options;
}

int64_t TotalTokenRequests(RefreshEnv& env) {
  // A named copy: iterating over items() of a temporary would dangle.
  const nlohmann::json state = env.fake().State();
  int64_t total = 0;
  for (const auto& [client_id, count] : state.at("token_requests").items()) {
    total += count.get<int64_t>();
  }
  return total;
}

double Seconds(const timeval& value) {
  return static_cast<double>(value.tv_sec) +
         static_cast<double>(value.tv_usec) / 1e6;
}

void BenchCompanyCount(const BenchOptions& options, int64_t companies) {
  RefreshSettings settings;
  settings.budget_s = 86400;
  settings.lease_s = 30;
  settings.tls = options.tls;
  RefreshEnv env(settings, {"--token-lifetime-s", "60"});
  env.fake().AddFault(
      {{"endpoint", "token"}, {"latency_ms", options.latency_ms}});

  const auto seed_start = std::chrono::steady_clock::now();
  env.Seed(static_cast<int>(companies), "BENCH-", srconnect::NowUnix() + 5);
  const double seed_s = std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - seed_start)
                            .count();
  std::fprintf(stderr, "created %lld companies in %.1f s\n",
               static_cast<long long>(companies), seed_s);

  for (const int64_t concurrency : options.concurrency) {
    settings.concurrency = concurrency;
    env.WriteConfig(settings);
    const double ideal_s = static_cast<double>(companies) *
                           static_cast<double>(options.latency_ms) / 1000.0 /
                           static_cast<double>(concurrency);
    if (ideal_s > static_cast<double>(options.max_ideal_s)) {
      std::printf(
          "| %lld | %lld | %.1f | not run (ideal above %lld s) "
          "| | | | | |\n",
          static_cast<long long>(companies),
          static_cast<long long>(concurrency), ideal_s,
          static_cast<long long>(options.max_ideal_s));
      std::fflush(stdout);
      continue;
    }

    const int64_t requests_before = TotalTokenRequests(env);
    const auto start = std::chrono::steady_clock::now();
    const RunOutput run =
        env.Run({"--due"}, std::chrono::seconds(options.run_timeout_s));
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    const int64_t requests = TotalTokenRequests(env) - requests_before;
    std::map<std::string, int64_t> summary = run.Summary();
    const int64_t renewed = summary["renewed"];
    const double cpu_s =
        Seconds(run.usage.ru_utime) + Seconds(run.usage.ru_stime);
    const double cpu_ms_per_renewal =
        renewed > 0 ? cpu_s * 1000.0 / static_cast<double>(renewed) : 0.0;
    const double rss_mib = static_cast<double>(run.usage.ru_maxrss) / 1024.0;

    std::printf(
        "| %lld | %lld | %.1f | %.1f | %.2f | %lld | %lld | "
        "%.3f | %.1f |\n",
        static_cast<long long>(companies), static_cast<long long>(concurrency),
        ideal_s, wall_s, wall_s / ideal_s, static_cast<long long>(renewed),
        static_cast<long long>(requests), cpu_ms_per_renewal, rss_mib);
    std::fflush(stdout);
    if (run.exit_code != 0) {
      std::fprintf(stderr, "run exited %d; summary: %s\n", run.exit_code,
                   run.log
                       .substr(run.log.rfind("refresh run") == std::string::npos
                                   ? 0
                                   : run.log.rfind("refresh run"))
                       .c_str());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const BenchOptions options = ParseOptions(argc, argv);
    std::printf("latency %lld ms per token request, over %s\n\n",
                static_cast<long long>(options.latency_ms),
                options.tls ? "HTTPS" : "plain HTTP");
    std::printf(
        "| N | concurrency | ideal s | wall s | wall / ideal | "
        "renewed | token requests | CPU ms per renewal | "
        "peak RSS MiB |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
    std::fflush(stdout);
    for (const int64_t companies : options.companies) {
      BenchCompanyCount(options, companies);
    }
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "refresh_bench: %s\n", error.what());
    return 1;
  }
}
