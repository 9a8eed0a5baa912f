// srconnect-status: FastCGI responder for GET /smartrecruiters/status.

#include <memory>

#include "app.h"
#include "fastcgi.h"
#include "log.h"
#include "status_handler.h"
#include "store.h"

namespace {

constexpr char kUsage[] =
    "usage: srconnect-status [--config PATH]\n"
    "FastCGI responder for GET /smartrecruiters/status; expects the\n"
    "listening socket on fd 0 (systemd StandardInput=socket, or spawn-fcgi).\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace srconnect;
  HandlerFlags flags = ParseHandlerFlags(argc, argv, kUsage);
  if (flags.exit_code >= 0) return flags.exit_code;

  Result<App> app = LoadApp(flags.config_path);
  if (!app.ok()) {
    LogError("status: " + app.error());
    return 1;
  }
  Result<std::unique_ptr<Store>> store = app->OpenStore();
  if (!store.ok()) {
    LogError("status: " + store.error());
    return 1;
  }

  LogInfo("status: serving with configuration " + Quote(flags.config_path));
  return RunFastCgi(RequestLimits{}, [&](const HttpRequest& request) {
    return HandleStatus(*app, **store, request, NowUnix());
  });
}
