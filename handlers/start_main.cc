// srconnect-start: FastCGI responder for GET /smartrecruiters/start.

#include <memory>

#include "app.h"
#include "fastcgi.h"
#include "log.h"
#include "start_handler.h"
#include "store.h"

namespace {

constexpr char kUsage[] =
    "usage: srconnect-start [--config PATH]\n"
    "FastCGI responder for GET /smartrecruiters/start; expects the listening\n"
    "socket on fd 0 (systemd StandardInput=socket, or spawn-fcgi).\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace srconnect;
  HandlerFlags flags = ParseHandlerFlags(argc, argv, kUsage);
  if (flags.exit_code >= 0) return flags.exit_code;

  Result<App> app = LoadApp(flags.config_path);
  if (!app.ok()) {
    LogError("start: " + app.error());
    return 1;
  }
  Result<std::unique_ptr<Store>> store = app->OpenStore();
  if (!store.ok()) {
    LogError("start: " + store.error());
    return 1;
  }

  LogInfo("start: serving with configuration " + Quote(flags.config_path));
  return RunFastCgi(RequestLimits{}, [&](const HttpRequest& request) {
    return HandleStart(*app, **store, request, NowUnix());
  });
}
