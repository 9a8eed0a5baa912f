// What ties a browser to a consent: signed account links from the partner
// product, the state cookie, and CSRF tokens bound to the state.
//
// The state value lives only in the admin's cookie. The store keeps its
// StateId, an HMAC under a key derived from the store key, so a copy of the
// database cannot be turned back into a usable cookie.

#ifndef SRCONNECT_LIB_WEB_AUTH_H_
#define SRCONNECT_LIB_WEB_AUTH_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "fastcgi.h"
#include "secret.h"
#include "status.h"

namespace srconnect {

inline constexpr char kStateCookieName[] = "srconnect_state";
// The cookie is sent only to srconnect's own endpoints.
inline constexpr char kStateCookiePath[] = "/smartrecruiters/";
inline constexpr size_t kStateBytes = 32;

// Returns the id under which a state value is stored: the hex HMAC of the
// value under `state_key`.
std::string StateId(const Secret& state_key, std::string_view state);

// Returns the CSRF token for the consent form of `state` and `company_id`.
std::string CsrfToken(const Secret& state_key, std::string_view state,
                      std::string_view company_id);

// Checks a CSRF token in constant time.
bool VerifyCsrfToken(const Secret& state_key, std::string_view state,
                     std::string_view company_id, std::string_view token);

// Returns the account id of the signed link in `request`'s query
// (`account`, `expires`, `sig`), or an error that describes what is wrong
// with the link. Never trusts `account` without a valid signature.
Result<std::string> ReadAccountLink(const HttpRequest& request,
                                    const Secret& link_secret,
                                    int64_t now_unix);

// Returns `base_url` + `path` + "?account=...&expires=...&sig=...".
std::string BuildAccountLink(std::string_view base_url, std::string_view path,
                             const Secret& link_secret,
                             std::string_view account_id,
                             int64_t expires_at_unix);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_WEB_AUTH_H_
