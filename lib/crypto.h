// Encryption at rest, HMAC and random values, over OpenSSL 3.
//
// Every secret srconnect stores is sealed with AES-256-GCM. A sealed value is
// text of the form
//
//   v1.<key id>.<nonce>.<ciphertext and 16-byte tag>
//
// with the last two parts in unpadded base64url. The key id is the first 4
// bytes (8 hex digits) of HMAC-SHA256(key, "srconnect key id"), so it names
// the key without revealing it. The caller passes associated data that
// names where the value lives (see SealedValueContext), so a value copied to
// another row or column fails to open.

#ifndef SRCONNECT_LIB_CRYPTO_H_
#define SRCONNECT_LIB_CRYPTO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "secret.h"
#include "status.h"

namespace srconnect {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kMaxAccountIdBytes = 128;

// Returns `count` bytes from the OpenSSL CSPRNG, or an error when it fails.
Result<std::string> RandomBytes(size_t count);

// Returns a random value of `bytes` bytes as unpadded base64url text, for
// state values, CSRF tokens and generated client secrets.
Result<std::string> RandomToken(size_t bytes);

// Returns the 32-byte HMAC-SHA256 of `data` under `key`. Aborts the process
// if OpenSSL fails, which takes a broken installation or a failed allocation.
std::string HmacSha256(std::string_view key, std::string_view data);

// Compares in time that depends only on the lengths, never on the contents.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

std::string Base64UrlEncode(std::string_view bytes);
// Rejects padding, whitespace and characters outside the base64url alphabet.
Result<std::string> Base64UrlDecode(std::string_view text);

std::string HexEncode(std::string_view bytes);

// Returns the associated data for a sealed column value: the table, the row
// id and the column, e.g. "srconnect/connections/17/client_secret".
std::string SealedValueContext(std::string_view table, int64_t row_id,
                               std::string_view column);

// A set of AES-256 keys: one current key that seals, and any number of
// previous keys that still open values sealed before a rotation.
// Thread-compatible: const methods may be called from several threads.
class KeyRing {
 public:
  // Loads a key file of exactly 32 bytes. Fails, naming `path` and the fix,
  // when the file is missing, is not a regular file, has another size, or
  // gives group or others any access (0600 and 0400 pass). A symlink is
  // followed, and the mode checked is that of the file it points to.
  static Result<KeyRing> LoadKeyFile(const std::string& path);

  // Builds a ring from raw keys; for tests and for the rotate command.
  // REQUIRES: each key is kKeyBytes long, or the process aborts.
  static KeyRing FromKeys(std::string current,
                          std::vector<std::string> previous = {});

  // Adds a key that opens old values but never seals. Same checks as
  // LoadKeyFile.
  Status AddPreviousKeyFile(const std::string& path);

  // Returns the id of the current key (8 hex digits).
  const std::string& current_key_id() const { return keys_.front().id; }

  // Seals `plaintext` with the current key and a fresh random nonce.
  Result<std::string> Seal(std::string_view plaintext,
                           std::string_view associated_data) const;

  // Opens a value from Seal. Fails with a message naming the key id when the
  // key is unknown, and with "authentication failed" when the value, its tag
  // or the associated data were changed.
  Result<Secret> Open(std::string_view sealed,
                      std::string_view associated_data) const;

  // Returns the key id that `sealed` names, or an error if it is not a v1
  // sealed value.
  static Result<std::string> KeyIdOf(std::string_view sealed);

  // Derives a 32-byte subkey for `purpose` (HKDF-SHA256 over the current
  // key, salt "srconnect", info `purpose`), so one key file also yields the
  // HMAC key for state values. Aborts the process if OpenSSL fails.
  // REQUIRES: `purpose` is at most 32768 bytes (HKDF_MAXINFO in OpenSSL
  // 3.0.22), or the process aborts.
  Secret DeriveKey(std::string_view purpose) const;

 private:
  struct Key {
    std::string id;
    Secret bytes;
  };
  KeyRing() = default;
  static Key MakeKey(std::string bytes);

  std::vector<Key> keys_;  // keys_[0] is the current key
};

// Signed account links: the partner product sends an admin to
// start or status with `account`, `expires` (unix seconds) and
// `sig` = base64url(HMAC-SHA256(link secret, account + "\n" + expires)).

// Checks that an account id is 1 to kMaxAccountIdBytes characters from
// [A-Za-z0-9._:@-], because account ids land in URLs and logs. Call it
// before SignAccountLink, which signs any id.
Status ValidateAccountId(std::string_view account_id);

std::string SignAccountLink(std::string_view link_secret,
                            std::string_view account_id,
                            int64_t expires_at_unix);

// Checks a signed link at `now_unix`, with the HMAC over `expires_text` as
// received. Rejects an empty link secret and an account id that fails
// ValidateAccountId. Rejects an `expires_text` that is not decimal digits or
// overflows int64_t, and a `signature` that is not unpadded base64url or
// does not match. A link is valid up to and including the second `expires`.
// The error states "invalid signature" or "expired at ..." and never
// contains the secret.
Status VerifyAccountLink(std::string_view link_secret,
                         std::string_view account_id,
                         std::string_view expires_text,
                         std::string_view signature, int64_t now_unix);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_CRYPTO_H_
