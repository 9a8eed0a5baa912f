// srconnect-refresh: renews customer access tokens.
//
// With --due, --company or --dry-run it runs once and exits (the systemd
// timer runs `srconnect-refresh --due`). Without them it is the FastCGI
// responder for /smartrecruiters/refresh, the token hand-out for the
// product's own services.
//
// Exit status of a one-shot run: 0 when the run finished, also when some
// companies are degraded or need reintegration. Those are logged as
// warnings and shown by the status page, and a timer unit that failed on
// every run because of one customer's dead credentials would only be noise.
// 1 when the configuration, the key or the store cannot be used, the
// company is not found, or a renewal failed on this host (a store write, a
// secret that does not open). 2 for invalid command-line arguments.

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

#include "app.h"
#include "config.h"
#include "fastcgi.h"
#include "log.h"
#include "refresh.h"
#include "status.h"
#include "token_handout.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr char kUsage[] =
    "Usage: srconnect-refresh [--config PATH] [--due] [--company ID] "
    "[--dry-run]\n"
    "\n"
    "Renews SmartRecruiters access tokens before they expire.\n"
    "\n"
    "  --due          renew every connection whose token expires within\n"
    "                 refresh.margin_s (expired tokens included), then exit\n"
    "  --company ID   renew the token of company ID now, even when it is\n"
    "                 not due; with --due, only if it is due. A company\n"
    "                 that must reintegrate is not renewed\n"
    "  --dry-run      list what would be renewed and why; change nothing\n"
    "  --config PATH  configuration file (default $SRCONNECT_CONFIG, else\n"
    "                 /etc/srconnect/srconnect.yaml)\n"
    "  --help         print this help and exit\n"
    "\n"
    "Without --due, --company or --dry-run, runs as the FastCGI responder\n"
    "for /smartrecruiters/refresh on the socket passed as file descriptor\n"
    "0, with refresh.handout_threads threads.\n"
    "\n"
    "Exit status: 0 when the run finished (degraded companies and companies\n"
    "that must reintegrate are logged as warnings); 1 on a configuration,\n"
    "store or key error, an unknown company, or a renewal that failed on\n"
    "this host; 2 on invalid arguments.\n";

struct Flags {
  std::string config_path;
  std::string company_id;
  bool due = false;
  bool dry_run = false;
  bool help = false;
};

// Reads the value of a flag given as "--name VALUE" or "--name=VALUE".
// Returns false when `arg` is not that flag.
bool TakeValue(std::string_view name, int argc, char** argv, int& i,
               std::string& value, std::string& error) {
  const std::string_view arg = argv[i];
  if (arg == name) {
    if (i + 1 >= argc) {
      error = "missing value for " + std::string(name);
      return true;
    }
    value = argv[++i];
    return true;
  }
  if (arg.size() > name.size() && arg.substr(0, name.size()) == name &&
      arg[name.size()] == '=') {
    value = std::string(arg.substr(name.size() + 1));
    return true;
  }
  return false;
}

srconnect::Result<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  std::string error;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
    } else if (arg == "--due") {
      flags.due = true;
    } else if (arg == "--dry-run") {
      flags.dry_run = true;
    } else if (TakeValue("--config", argc, argv, i, flags.config_path, error) ||
               TakeValue("--company", argc, argv, i, flags.company_id, error)) {
      if (!error.empty()) return srconnect::Status::Error(error);
    } else {
      return srconnect::Status::Error("unknown argument " +
                                      srconnect::Quote(arg));
    }
  }
  if (flags.company_id.empty()) {
    for (int i = 1; i < argc; ++i) {
      if (std::string_view(argv[i]).rfind("--company", 0) == 0) {
        return srconnect::Status::Error("empty value for --company");
      }
    }
  }
  return flags;
}

int RunOnce(const srconnect::App& app, const Flags& flags) {
  srconnect::RunOptions options =
      srconnect::RunOptionsFromConfig(app.config.refresh);
  options.dry_run = flags.dry_run;
  options.company_id = flags.company_id;
  options.force = !flags.company_id.empty() && !flags.due;

  srconnect::Result<srconnect::RunSummary> summary =
      srconnect::RunRefresh(app, options);
  if (!summary.ok()) {
    srconnect::LogError("refresh run failed: " + summary.error());
    return kExitFailure;
  }
  if (summary->errors > 0) return kExitFailure;
  return kExitOk;
}

int ServeFastCgi(const srconnect::App& app) {
  srconnect::RequestLimits limits;
  limits.max_body_bytes = 4096;
  limits.json_errors = true;
  const int threads = static_cast<int>(app.config.refresh.handout_threads);

  srconnect::LogInfo("refresh responder started, database " +
                     srconnect::Quote(app.config.store.database));
  return srconnect::RunFastCgi(limits, threads, [&app](int) {
    return srconnect::MakeRefreshHandler(app);
  });
}

int Main(int argc, char** argv) {
  srconnect::Result<Flags> flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::cerr << "srconnect-refresh: " << flags.error()
              << "\nTry 'srconnect-refresh --help'.\n";
    return kExitUsage;
  }
  if (flags->help) {
    std::cout << kUsage;
    return kExitOk;
  }

  const std::string config_path =
      srconnect::ResolveConfigPath(flags->config_path);
  srconnect::Result<srconnect::App> app = srconnect::LoadApp(config_path);
  if (!app.ok()) {
    srconnect::LogError("loading the configuration failed: " + app.error());
    return kExitFailure;
  }

  const bool one_shot =
      flags->due || flags->dry_run || !flags->company_id.empty();
  if (one_shot) return RunOnce(*app, *flags);
  return ServeFastCgi(*app);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& error) {
    srconnect::LogError(std::string("srconnect-refresh stopped on an "
                                    "unexpected exception: ") +
                        error.what());
  } catch (...) {
    srconnect::LogError("srconnect-refresh stopped on an unknown exception");
  }
  return kExitFailure;
}
