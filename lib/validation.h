// Checks on values that arrive unauthenticated in a URL, made before any
// use of them.

#ifndef SRCONNECT_LIB_VALIDATION_H_
#define SRCONNECT_LIB_VALIDATION_H_

#include <string_view>

#include "status.h"

namespace srconnect {

inline constexpr size_t kMaxCompanyIdBytes = 64;

// Checks a SmartRecruiters company id: 1 to 64 characters from
// [A-Za-z0-9._-]. The error message names `parameter_name`, then the length
// and the limit or the 0-based offset of the first invalid character, never
// the bytes of the value. It has no final period and no advice, so that
// each caller can add the fix that suits its client.
// NOTE: SmartRecruiters does not publish the format; ids seen in its API
// are short identifiers such as "SmartRecruitersDemo" or UUIDs.
Status ValidateCompanyId(std::string_view company_id,
                         std::string_view parameter_name = "companyId");

// `redirect` must be an absolute URL on the SmartRecruiters web host of
// `web_base` (same scheme, host and port), without user information, so
// that following it can never send the browser anywhere else. The scheme
// is https unless web_base itself is a plain-HTTP loopback URL, which the
// configuration allows only for demos.
Status ValidateRedirect(std::string_view redirect, std::string_view web_base);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_VALIDATION_H_
