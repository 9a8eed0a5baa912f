#include "validation.h"

#include <string>

namespace srconnect {
namespace {

bool IsCompanyIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// Returns the "scheme://authority" prefix of `url`, or "" when `url` is not
// an absolute http(s) URL.
std::string_view Origin(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string_view scheme = url.substr(0, scheme_end);
  if (scheme != "https" && scheme != "http") return {};
  size_t authority_end = url.find_first_of("/?#", scheme_end + 3);
  return url.substr(0, authority_end);
}

}  // namespace

Status ValidateCompanyId(std::string_view company_id,
                         std::string_view parameter_name) {
  const std::string name(parameter_name);
  if (company_id.empty()) {
    return Status::Error(name + " is empty");
  }
  if (company_id.size() > kMaxCompanyIdBytes) {
    return Status::Error(name + " has " + std::to_string(company_id.size()) +
                         " bytes, more than the maximum of " +
                         std::to_string(kMaxCompanyIdBytes));
  }
  for (size_t i = 0; i < company_id.size(); ++i) {
    if (!IsCompanyIdChar(company_id[i])) {
      return Status::Error(name + " has a character outside A-Z, a-z, 0-9, "
                           "'.', '_' and '-' at offset " + std::to_string(i) +
                           " (0-based) of its " +
                           std::to_string(company_id.size()) + " bytes");
    }
  }
  return Status::Ok();
}

Status ValidateRedirect(std::string_view redirect, std::string_view web_base) {
  const std::string_view expected = Origin(web_base);
  const std::string_view actual = Origin(redirect);
  if (actual.empty()) {
    return Status::Error("redirect is not an absolute https URL");
  }
  for (char c : redirect) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '\\') {
      return Status::Error(
          "redirect contains a space, a backslash or a control character");
    }
  }
  if (actual.find('@') != std::string_view::npos) {
    return Status::Error("redirect contains user information");
  }
  // Comparing whole origins rejects "https://www.smartrecruiters.com.evil"
  // and "https://evil/www.smartrecruiters.com" alike.
  if (expected.empty() || actual != expected) {
    return Status::Error("redirect does not point to the SmartRecruiters web "
                         "host " + std::string(expected));
  }
  return Status::Ok();
}

}  // namespace srconnect
