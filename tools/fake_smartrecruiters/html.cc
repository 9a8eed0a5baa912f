#include "html.h"

#include <string>

#include "encoding.h"

namespace srconnect::fake {
namespace {

constexpr char kStyle[] = R"css(
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto,
  sans-serif; background: #f4f6f8; color: #1f2933; }
header { background: #0b2e4f; color: #fff; padding: 12px 24px; display: flex;
  align-items: center; justify-content: space-between; }
header .brand { font-weight: 600; letter-spacing: .02em; }
header .who { font-size: 14px; display: flex; gap: 12px; align-items: center; }
header form { margin: 0; }
main { max-width: 880px; margin: 32px auto; padding: 0 24px; }
h1 { font-size: 24px; margin: 0 0 16px; }
h2 { font-size: 18px; margin: 0; }
.card { background: #fff; border: 1px solid #d9e2ec; border-radius: 8px;
  padding: 20px 24px; margin-bottom: 16px; }
.card.error { border-left: 4px solid #d64545; }
.card.success { border-left: 4px solid #3f9142; }
.row { display: flex; justify-content: space-between; align-items: center;
  gap: 16px; }
.badge { display: inline-block; border-radius: 12px; padding: 2px 10px;
  font-size: 13px; margin-left: 8px; }
.badge.on { background: #e3f9e5; color: #1f6f2b; }
.badge.off { background: #f0f4f8; color: #52606d; }
button { background: #1f6feb; color: #fff; border: 0; border-radius: 6px;
  padding: 8px 16px; font-size: 14px; cursor: pointer; }
button.secondary { background: #fff; color: #1f2933;
  border: 1px solid #bcccdc; }
header button { padding: 4px 10px; font-size: 13px; }
.scopes { margin: 8px 0 0; padding: 0; list-style: none; display: flex;
  flex-wrap: wrap; gap: 6px; }
.scopes li { background: #f0f4f8; border-radius: 4px; padding: 2px 8px;
  font-size: 13px; font-family: ui-monospace, monospace; }
.muted { color: #627d98; font-size: 14px; }
label { display: block; margin: 8px 0 4px; font-size: 14px; }
select { padding: 6px; font-size: 14px; min-width: 240px; }
a { color: #1f6feb; }
)css";

}  // namespace

std::string RenderPage(const std::string& title,
                       const std::optional<SignedInUser>& user,
                       const std::string& body_html) {
  std::string user_block;
  if (user) {
    user_block = "<div class=\"who\"><span>" + HtmlEscape(user->user_name) +
                 " &middot; " + HtmlEscape(user->company_name) +
                 "</span><form method=\"post\" action=\"/sign-out\">"
                 "<button class=\"secondary\" type=\"submit\">Sign out</button>"
                 "</form></div>";
  }
  return "<!doctype html>\n<html lang=\"en\">\n<head>\n"
         "<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, "
         "initial-scale=1\">\n<title>" +
         HtmlEscape(title) + " - SmartRecruiters</title>\n<style>" + kStyle +
         "</style>\n</head>\n<body>\n<header><span class=\"brand\">"
         "SmartRecruiters &middot; Admin</span>" +
         user_block + "</header>\n<main>\n" + body_html +
         "</main>\n</body>\n</html>\n";
}

std::string RenderMessageCard(const std::string& kind,
                              const std::string& heading,
                              const std::string& text) {
  return "<div class=\"card " + kind + "\"><h1>" + HtmlEscape(heading) +
         "</h1><p>" + HtmlEscape(text) +
         "</p><p><a href=\"/partner-apps\">Back to Partner Apps</a></p>"
         "</div>\n";
}

}  // namespace srconnect::fake
