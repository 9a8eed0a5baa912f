// HTML pages shown to admins: one layout, and the pieces the handlers fill
// in. Every string passed as text is escaped here; only arguments named
// `*_html` carry markup, and callers build those from escaped parts.

#ifndef SRCONNECT_LIB_PAGES_H_
#define SRCONNECT_LIB_PAGES_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fastcgi.h"

namespace srconnect {

struct PageLink {
  std::string label;
  std::string href;
};

struct Page {
  std::string title;
  // One short sentence: what happened.
  std::string headline;
  // Plain-text paragraphs: why, and what to do next.
  std::vector<std::string> paragraphs;
  // Extra markup placed after the paragraphs (forms, tables).
  std::string body_html;
  std::vector<PageLink> links;
  // "ok", "error" or "info": the colour of the headline.
  std::string tone = "info";
};

// Returns the whole HTML document for `page`.
std::string RenderPage(const Page& page);

// Returns an HTML response with `status` and the rendered page.
HttpResponse PageResponse(int status, const Page& page);

// Returns a <table> of label/value rows, both escaped.
std::string RenderTable(
    const std::vector<std::pair<std::string, std::string>>& rows);

// Formats unix seconds as "2026-12-04 15:51:36 UTC", or "never" for 0.
std::string FormatTime(int64_t unix_seconds);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_PAGES_H_
