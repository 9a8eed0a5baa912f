#include "pages.h"

#include <ctime>

namespace srconnect {
namespace {

constexpr char kStyle[] =
    "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2433;"
    "margin:0}main{max-width:40rem;margin:3rem auto;background:#fff;"
    "border-radius:8px;padding:2rem 2.5rem;box-shadow:0 1px 4px #0002}"
    "h1{font-size:1.4rem;margin-top:0}.ok{color:#17653a}.error{color:#a3261c}"
    ".info{color:#1d2433}table{border-collapse:collapse;margin:1rem 0}"
    "td{padding:.3rem 1rem .3rem 0;vertical-align:top}td:first-child{"
    "color:#5b6475}button,.button{background:#2453d4;color:#fff;border:0;"
    "border-radius:5px;padding:.6rem 1.2rem;font-size:1rem;cursor:pointer;"
    "text-decoration:none;display:inline-block}.secondary{background:#e3e6ec;"
    "color:#1d2433}ul.scopes li{margin:.2rem 0;font-family:monospace}"
    "nav a{margin-right:1rem}";

}  // namespace

std::string RenderPage(const Page& page) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\">"
      "<title>" +
      HtmlEscape(page.title) + "</title><style>" + kStyle +
      "</style></head><body><main>\n";
  html += "<h1 class=\"" + HtmlEscape(page.tone) + "\">" +
          HtmlEscape(page.headline) + "</h1>\n";
  for (const std::string& paragraph : page.paragraphs) {
    html += "<p>" + HtmlEscape(paragraph) + "</p>\n";
  }
  html += page.body_html;
  if (!page.links.empty()) {
    html += "<nav>";
    for (const PageLink& link : page.links) {
      html += "<a href=\"" + HtmlEscape(link.href) + "\">" +
              HtmlEscape(link.label) + "</a>";
    }
    html += "</nav>\n";
  }
  html += "</main></body></html>\n";
  return html;
}

HttpResponse PageResponse(int status, const Page& page) {
  return HttpResponse::Html(status, RenderPage(page));
}

std::string RenderTable(
    const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string html = "<table>";
  for (const auto& [label, value] : rows) {
    html += "<tr><td>" + HtmlEscape(label) + "</td><td>" + HtmlEscape(value) +
            "</td></tr>";
  }
  html += "</table>\n";
  return html;
}

std::string FormatTime(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "never";
  const auto seconds = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &utc);
  return text;
}

}  // namespace srconnect
