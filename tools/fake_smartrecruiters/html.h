// The HTML layout of the fake's web pages: an admin-console frame with
// inline CSS, so the pages need no other request.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_HTML_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_HTML_H_

#include <optional>
#include <string>

namespace srconnect::fake {

// The signed-in user and company shown in the header bar.
struct SignedInUser {
  std::string user_name;
  std::string company_name;
};

// Returns a complete HTML document. `title` is escaped here; `body_html`
// must already be escaped by the caller.
std::string RenderPage(const std::string& title,
                       const std::optional<SignedInUser>& user,
                       const std::string& body_html);

// Returns a card with a heading and one paragraph (both escaped here) and a
// link back to the Partner Apps page. `kind` is "error", "success" or "".
std::string RenderMessageCard(const std::string& kind,
                              const std::string& heading,
                              const std::string& text);

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_HTML_H_
