// Random identifiers and secrets from OpenSSL's CSPRNG.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_RANDOM_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_RANDOM_H_

#include <cstddef>
#include <string>

namespace srconnect::fake {

// Returns `bytes` random bytes in unpadded base64url (RFC 4648 section 5).
// Aborts the process if RAND_bytes fails, because every token and secret
// the fake issues depends on it.
std::string RandomBase64Url(size_t bytes);

// Returns `digits` random lower-case hex digits.
std::string RandomHex(size_t digits);

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_RANDOM_H_
