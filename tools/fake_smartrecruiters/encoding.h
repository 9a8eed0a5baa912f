// Text encodings the endpoints need: URL and form encoding, HTML escaping,
// base64 for HTTP Basic credentials, and RFC 3339 timestamps.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_ENCODING_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_ENCODING_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "status.h"

namespace srconnect::fake {

// Percent-encodes every byte except RFC 3986 unreserved characters, so the
// result is safe as a query parameter value.
std::string UrlEncode(std::string_view text);

// Decodes %XX escapes, and '+' as a space when `plus_is_space` (form
// encoding). Returns nullopt for a malformed escape.
std::optional<std::string> UrlDecode(std::string_view text, bool plus_is_space);

// Parses an application/x-www-form-urlencoded body or query string. Returns
// an error for a malformed escape or a name given twice, because RFC 6749
// section 3.2 forbids repeated token request parameters.
Result<std::map<std::string, std::string>> ParseForm(std::string_view body);

// Decodes standard base64 (RFC 4648 section 4, padding optional). Returns
// nullopt for a character outside the alphabet.
std::optional<std::string> Base64Decode(std::string_view text);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

// Formats `time` as RFC 3339 in UTC with milliseconds, e.g.
// "2026-12-04T16:01:02.345Z".
std::string FormatRfc3339(std::chrono::system_clock::time_point time);

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_ENCODING_H_
