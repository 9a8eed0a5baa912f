// srconnect-callback: FastCGI responder for the consentUrl,
// GET and POST /smartrecruiters/consent.

#include <memory>

#include "app.h"
#include "config.h"
#include "consent_handler.h"
#include "fastcgi.h"
#include "log.h"
#include "sr_client.h"
#include "store.h"

namespace {

constexpr char kUsage[] =
    "usage: srconnect-callback [--config PATH]\n"
    "FastCGI responder for GET and POST /smartrecruiters/consent, the\n"
    "consentUrl registered with SmartRecruiters; expects the listening\n"
    "socket on fd 0 (systemd StandardInput=socket, or spawn-fcgi).\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace srconnect;
  HandlerFlags flags = ParseHandlerFlags(argc, argv, kUsage);
  if (flags.exit_code >= 0) return flags.exit_code;

  Result<App> app = LoadApp(flags.config_path);
  if (!app.ok()) {
    LogError("callback: " + app.error());
    return 1;
  }
  Result<Secret> master_secret =
      ReadSecret(app->config.smartrecruiters.master_client_secret);
  if (!master_secret.ok()) {
    LogError("callback: " + master_secret.error());
    return 1;
  }
  Result<std::unique_ptr<Store>> store = app->OpenStore();
  if (!store.ok()) {
    LogError("callback: " + store.error());
    return 1;
  }
  SmartRecruitersClient client(app->config.smartrecruiters);

  ConsentContext context{*app, **store, client, *master_secret, NowUnix};
  LogInfo("callback: serving with configuration " + Quote(flags.config_path));
  return RunFastCgi(RequestLimits{}, [&](const HttpRequest& request) {
    return HandleConsent(context, request);
  });
}
