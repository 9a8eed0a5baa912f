#include "crypto.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "log.h"

namespace srconnect {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kHmacBytes = 32;
constexpr size_t kKeyIdBytes = 4;
constexpr std::string_view kSealedVersion = "v1";
constexpr std::string_view kKeyIdLabel = "srconnect key id";
constexpr std::string_view kHkdfSalt = "srconnect";
constexpr std::string_view kAuthenticationFailed = "authentication failed";
constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
struct KdfFree {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using KdfPtr = std::unique_ptr<EVP_KDF, KdfFree>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, KdfCtxFree>;

// Closes a file descriptor when it goes out of scope.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;

  int get() const { return fd_; }

 private:
  int fd_;
};

// An empty view may have a null data pointer. EVP_MAC_init reads a null key
// as "reuse the key already set", not as an empty key, so empty inputs point
// at this byte instead.
const unsigned char kEmptyBuffer[1] = {0};

const unsigned char* Bytes(std::string_view text) {
  if (text.empty()) return kEmptyBuffer;
  return reinterpret_cast<const unsigned char*>(text.data());
}

unsigned char* MutableBytes(std::string& text) {
  return reinterpret_cast<unsigned char*>(text.data());
}

// Returns "CALL failed" with the text of the oldest queued OpenSSL error, and
// clears the queue so a later call does not report a stale error.
std::string OpenSslFailure(std::string_view call) {
  std::string message = std::string(call) + " failed";
  const unsigned long code = ERR_get_error();
  if (code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    message += ": ";
    message += text;
  }
  ERR_clear_error();
  return message;
}

// Ends the process for an OpenSSL failure that a function without an error
// return cannot report. Returning a wrong or empty key instead would weaken
// every value built on it without notice.
[[noreturn]] void AbortOnCryptoFailure(std::string_view call) {
  LogError(OpenSslFailure(call) + ": aborting");
  std::abort();
}

bool IsLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

bool IsDecimal(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
}

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// ---------------------------------------------------------------------------
// Key files

// Role of a key file in the ring, because the fix for a missing file differs
// between the current key and a previous one.
enum class KeyFileRole { kCurrent, kPrevious };

std::string MissingKeyFileFix(KeyFileRole role) {
  if (role == KeyFileRole::kCurrent) {
    return "run \"srconnect init\" to create it";
  }
  return "restore it from a backup, or remove it from store.previous_keys "
         "once no stored value uses it";
}

// Returns an error for a key file whose mode grants group or others any
// access, or OK for 0600, 0400 and other owner-only modes.
Status CheckKeyFileMode(const std::string& path, mode_t mode) {
  const mode_t group_other = mode & 077;
  if (group_other == 0) return Status::Ok();

  const char* access = "accessible";
  if ((group_other & 044) != 0) {
    access = "readable";
  } else if ((group_other & 022) != 0) {
    access = "writable";
  }
  char octal[8];
  std::snprintf(octal, sizeof(octal), "%04o",
                static_cast<unsigned>(mode & 07777));
  return Status::Error("key file " + Quote(path) + " is " + access +
                       " by group or others (mode " + octal + "): run " +
                       Quote("chmod 600 " + path));
}

Status WrongKeySize(const std::string& path, long long size) {
  return Status::Error(
      "key file " + Quote(path) + " has " + std::to_string(size) +
      " bytes, expected " + std::to_string(kKeyBytes) +
      ": it must contain the raw key that \"srconnect init\" writes, with no "
      "hex or base64 encoding and no trailing newline");
}

// Reads the 32 raw bytes of a key file. The path may be a symlink (systemd
// credentials are), so the mode checked is that of the file it leads to.
Result<std::string> ReadKeyFile(const std::string& path, KeyFileRole role) {
  // O_NONBLOCK keeps a FIFO at `path` from blocking the open, and has no
  // effect on a regular file.
  ScopedFd fd(
      ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT) {
      return Status::Error("key file " + Quote(path) +
                           " is missing: " + MissingKeyFileFix(role));
    }
    return Status::Error("key file " + Quote(path) +
                         " cannot be opened: " + std::strerror(error) +
                         ": run srconnect as the user that owns the file");
  }

  struct stat info;
  if (::fstat(fd.get(), &info) != 0) {
    return Status::Error(
        "key file " + Quote(path) +
        " cannot be inspected: fstat failed: " + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    return Status::Error("key file " + Quote(path) +
                         " is not a regular file: point the setting at the "
                         "file that contains the key");
  }
  Status mode = CheckKeyFileMode(path, info.st_mode);
  if (!mode.ok()) return mode;
  if (info.st_size != static_cast<off_t>(kKeyBytes)) {
    return WrongKeySize(path, static_cast<long long>(info.st_size));
  }

  // One spare byte detects a file that grew after fstat.
  std::string key(kKeyBytes + 1, '\0');
  size_t length = 0;
  while (length < key.size()) {
    const ssize_t count =
        ::read(fd.get(), key.data() + length, key.size() - length);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      const int error = errno;
      OPENSSL_cleanse(key.data(), key.size());
      return Status::Error("key file " + Quote(path) +
                           " cannot be read: " + std::strerror(error));
    }
    if (count == 0) break;
    length += static_cast<size_t>(count);
  }
  if (length != kKeyBytes) {
    OPENSSL_cleanse(key.data(), key.size());
    return WrongKeySize(path, static_cast<long long>(length));
  }
  key.resize(kKeyBytes);
  return key;
}

// ---------------------------------------------------------------------------
// AES-256-GCM

// Returns ciphertext || tag. `key` is kKeyBytes and `nonce` kNonceBytes long.
Result<std::string> AesGcmEncrypt(const std::string& key,
                                  std::string_view nonce,
                                  std::string_view plaintext,
                                  std::string_view associated_data) {
  // EVP takes int lengths, and the tag adds kTagBytes to the output.
  if (plaintext.size() > static_cast<size_t>(INT_MAX) - kTagBytes ||
      associated_data.size() > static_cast<size_t>(INT_MAX)) {
    return Status::Error("cannot seal " + std::to_string(plaintext.size()) +
                         " bytes: the value or its associated data is over "
                         "the 2 GiB limit of OpenSSL's EVP interface");
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::Error(OpenSslFailure("EVP_CIPHER_CTX_new"));
  if (EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), Bytes(key),
                          Bytes(nonce), nullptr) != 1) {
    return Status::Error(OpenSslFailure("EVP_EncryptInit_ex2"));
  }

  int length = 0;
  if (!associated_data.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, Bytes(associated_data),
                        static_cast<int>(associated_data.size())) != 1) {
    return Status::Error(OpenSslFailure("EVP_EncryptUpdate"));
  }
  std::string sealed(plaintext.size() + kTagBytes, '\0');
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), MutableBytes(sealed), &length,
                          Bytes(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return Status::Error(OpenSslFailure("EVP_EncryptUpdate"));
    }
    written = length;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), MutableBytes(sealed) + written, &length) !=
      1) {
    return Status::Error(OpenSslFailure("EVP_EncryptFinal_ex"));
  }
  written += length;
  if (static_cast<size_t>(written) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG,
                          static_cast<int>(kTagBytes),
                          MutableBytes(sealed) + written) != 1) {
    return Status::Error(OpenSslFailure("EVP_CIPHER_CTX_ctrl(GET_TAG)"));
  }
  return sealed;
}

// Opens ciphertext || tag. A tag that does not match yields exactly
// kAuthenticationFailed, so the caller can tell it from an OpenSSL failure.
Result<Secret> AesGcmDecrypt(const std::string& key, std::string_view nonce,
                             std::string_view sealed,
                             std::string_view associated_data) {
  if (sealed.size() < kTagBytes ||
      sealed.size() > static_cast<size_t>(INT_MAX) ||
      associated_data.size() > static_cast<size_t>(INT_MAX)) {
    return Status::Error(std::string(kAuthenticationFailed));
  }
  const std::string_view ciphertext =
      sealed.substr(0, sealed.size() - kTagBytes);
  unsigned char tag[kTagBytes];
  std::memcpy(tag, sealed.data() + ciphertext.size(), kTagBytes);

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::Error(OpenSslFailure("EVP_CIPHER_CTX_new"));
  if (EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), Bytes(key),
                          Bytes(nonce), nullptr) != 1) {
    return Status::Error(OpenSslFailure("EVP_DecryptInit_ex2"));
  }

  int length = 0;
  if (!associated_data.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, Bytes(associated_data),
                        static_cast<int>(associated_data.size())) != 1) {
    return Status::Error(OpenSslFailure("EVP_DecryptUpdate"));
  }
  // GCM writes plaintext before it checks the tag, so every failure below
  // wipes the buffer before returning.
  std::string plaintext(ciphertext.size(), '\0');
  auto fail = [&plaintext](std::string message) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return Status::Error(std::move(message));
  };
  int written = 0;
  if (!ciphertext.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), MutableBytes(plaintext), &length,
                          Bytes(ciphertext),
                          static_cast<int>(ciphertext.size())) != 1) {
      return fail(OpenSslFailure("EVP_DecryptUpdate"));
    }
    written = length;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG,
                          static_cast<int>(kTagBytes), tag) != 1) {
    return fail(OpenSslFailure("EVP_CIPHER_CTX_ctrl(SET_TAG)"));
  }
  if (EVP_DecryptFinal_ex(ctx.get(), MutableBytes(plaintext) + written,
                          &length) != 1) {
    ERR_clear_error();
    return fail(std::string(kAuthenticationFailed));
  }
  return Secret(std::move(plaintext));
}

// The three parts of a v1 sealed value after the version, still encoded
// except for the key id.
struct SealedParts {
  std::string_view key_id;
  std::string_view nonce;
  std::string_view body;
};

// Splits a sealed value. Errors never quote the input, because a plaintext
// stored by mistake would otherwise reach a log.
Result<SealedParts> SplitSealed(std::string_view sealed) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (parts.size() < 5) {
    const size_t dot = sealed.find('.', start);
    parts.push_back(sealed.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts.size() != 4 || parts[0] != kSealedVersion) {
    return Status::Error(
        "invalid sealed value: expected \"v1.<key id>.<nonce>.<ciphertext>\"");
  }
  if (parts[1].size() != 2 * kKeyIdBytes || !IsLowerHex(parts[1])) {
    return Status::Error(
        "invalid sealed value: the key id is not 8 lower-case hex digits");
  }
  return SealedParts{parts[1], parts[2], parts[3]};
}

// ---------------------------------------------------------------------------
// Account links

std::string AccountLinkMessage(std::string_view account_id,
                               std::string_view expires_text) {
  std::string message;
  message.reserve(account_id.size() + 1 + expires_text.size());
  message.append(account_id);
  message.push_back('\n');
  message.append(expires_text);
  return message;
}

bool IsAccountIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
         c == '@' || c == '-';
}

// Formats unix seconds as "2024-06-01T12:00:00Z", or as "unix time N" when
// the C library cannot represent the date.
std::string FormatUnixTime(int64_t unix_seconds) {
  const std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm utc;
  char text[32];
  if (::gmtime_r(&time, &utc) == nullptr ||
      std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc) == 0) {
    return "unix time " + std::to_string(unix_seconds);
  }
  return text;
}

}  // namespace

// ---------------------------------------------------------------------------
// Random values, HMAC and encodings

Result<std::string> RandomBytes(size_t count) {
  std::string bytes(count, '\0');
  if (count == 0) return bytes;
  if (count > static_cast<size_t>(INT_MAX)) {
    return Status::Error("cannot generate " + std::to_string(count) +
                         " random bytes: the maximum is " +
                         std::to_string(INT_MAX));
  }
  if (RAND_bytes(MutableBytes(bytes), static_cast<int>(count)) != 1) {
    return Status::Error(OpenSslFailure("RAND_bytes"));
  }
  return bytes;
}

Result<std::string> RandomToken(size_t bytes) {
  Result<std::string> random = RandomBytes(bytes);
  if (!random.ok()) return random.status();
  std::string token = Base64UrlEncode(*random);
  OPENSSL_cleanse(random->data(), random->size());
  return token;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::string mac(kHmacBytes, '\0');
  size_t length = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, Bytes(key),
                key.size(), Bytes(data), data.size(), MutableBytes(mac),
                mac.size(), &length) == nullptr ||
      length != kHmacBytes) {
    AbortOnCryptoFailure("EVP_Q_mac(HMAC-SHA256)");
  }
  return mac;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  // Compares the common prefix in full even when the lengths differ, and
  // combines both results without a branch on the contents.
  const size_t common = std::min(a.size(), b.size());
  int differs = 0;
  if (common > 0) differs = CRYPTO_memcmp(a.data(), b.data(), common);
  return (differs == 0) & (a.size() == b.size());
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      text.push_back(kBase64UrlAlphabet[(buffer >> bits) & 0x3f]);
    }
    buffer &= (1u << bits) - 1;
  }
  if (bits > 0) {
    text.push_back(kBase64UrlAlphabet[(buffer << (6 - bits)) & 0x3f]);
  }
  return text;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  // Errors name the offset, never the text, which may be a secret.
  if (text.size() % 4 == 1) {
    return Status::Error("invalid base64url: a length of " +
                         std::to_string(text.size()) +
                         " characters cannot encode whole bytes");
  }
  std::string bytes;
  bytes.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const int value = Base64UrlValue(text[i]);
    if (value < 0 && text[i] == '=') {
      return Status::Error("invalid base64url: padding '=' at offset " +
                           std::to_string(i) + " is not allowed");
    }
    if (value < 0) {
      return Status::Error("invalid base64url: the character at offset " +
                           std::to_string(i) +
                           " is outside A-Z, a-z, 0-9, '-' and '_'");
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((buffer >> bits) & 0xff));
      buffer &= (1u << bits) - 1;
    }
  }
  // The bits of the last character that no byte uses must be zero, so each
  // byte string has exactly one accepted encoding.
  if (buffer != 0) {
    return Status::Error(
        "invalid base64url: the unused bits of the last character are not "
        "zero");
  }
  return bytes;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const unsigned char byte = static_cast<unsigned char>(c);
    text.push_back(kDigits[byte >> 4]);
    text.push_back(kDigits[byte & 0x0f]);
  }
  return text;
}

std::string SealedValueContext(std::string_view table, int64_t row_id,
                               std::string_view column) {
  std::string context = "srconnect/";
  context.append(table);
  context += "/" + std::to_string(row_id) + "/";
  context.append(column);
  return context;
}

// ---------------------------------------------------------------------------
// KeyRing

KeyRing::Key KeyRing::MakeKey(std::string bytes) {
  if (bytes.size() != kKeyBytes) {
    // A short key would make OpenSSL read past the end of the buffer.
    LogError("KeyRing::FromKeys: a key has " + std::to_string(bytes.size()) +
             " bytes, expected " + std::to_string(kKeyBytes) + ": aborting");
    std::abort();
  }
  const std::string mac = HmacSha256(bytes, kKeyIdLabel);
  Key key;
  key.id = HexEncode(std::string_view(mac).substr(0, kKeyIdBytes));
  key.bytes = Secret(std::move(bytes));
  return key;
}

Result<KeyRing> KeyRing::LoadKeyFile(const std::string& path) {
  Result<std::string> bytes = ReadKeyFile(path, KeyFileRole::kCurrent);
  if (!bytes.ok()) return bytes.status();
  KeyRing ring;
  ring.keys_.push_back(MakeKey(std::move(bytes).value()));
  return ring;
}

KeyRing KeyRing::FromKeys(std::string current,
                          std::vector<std::string> previous) {
  KeyRing ring;
  ring.keys_.push_back(MakeKey(std::move(current)));
  for (std::string& key : previous) {
    ring.keys_.push_back(MakeKey(std::move(key)));
  }
  return ring;
}

Status KeyRing::AddPreviousKeyFile(const std::string& path) {
  Result<std::string> bytes = ReadKeyFile(path, KeyFileRole::kPrevious);
  if (!bytes.ok()) return bytes.status();
  keys_.push_back(MakeKey(std::move(bytes).value()));
  return Status::Ok();
}

Result<std::string> KeyRing::Seal(std::string_view plaintext,
                                  std::string_view associated_data) const {
  const Key& key = keys_.front();
  Result<std::string> nonce = RandomBytes(kNonceBytes);
  if (!nonce.ok()) return nonce.status();

  Result<std::string> body =
      AesGcmEncrypt(key.bytes.Reveal(), *nonce, plaintext, associated_data);
  if (!body.ok()) return body.status();

  std::string sealed(kSealedVersion);
  sealed += "." + key.id + "." + Base64UrlEncode(*nonce) + "." +
            Base64UrlEncode(*body);
  return sealed;
}

Result<Secret> KeyRing::Open(std::string_view sealed,
                             std::string_view associated_data) const {
  Result<SealedParts> parts = SplitSealed(sealed);
  if (!parts.ok()) return parts.status();
  Result<std::string> nonce = Base64UrlDecode(parts->nonce);
  if (!nonce.ok()) {
    return Status::Error("invalid sealed value: nonce: " + nonce.error());
  }
  if (nonce->size() != kNonceBytes) {
    return Status::Error("invalid sealed value: the nonce has " +
                         std::to_string(nonce->size()) + " bytes, expected " +
                         std::to_string(kNonceBytes));
  }
  Result<std::string> body = Base64UrlDecode(parts->body);
  if (!body.ok()) {
    return Status::Error("invalid sealed value: ciphertext: " + body.error());
  }

  // Four bytes of key id can collide, so every key with the id is tried.
  std::optional<Status> failure;
  for (const Key& key : keys_) {
    if (key.id != parts->key_id) continue;
    Result<Secret> plaintext =
        AesGcmDecrypt(key.bytes.Reveal(), *nonce, *body, associated_data);
    if (plaintext.ok()) return plaintext;
    failure = plaintext.status();
  }
  const std::string value = "sealed value for " + Quote(associated_data);
  if (!failure.has_value()) {
    return Status::Error("cannot open " + value + ": key " +
                         Quote(parts->key_id) + " is not loaded (current key " +
                         Quote(current_key_id()) +
                         "): add the old key file under store.previous_keys");
  }
  if (failure->message() != kAuthenticationFailed) {
    return Status::Error("cannot open " + value + ": " + failure->message());
  }
  return Status::Error("cannot open " + value + " under key " +
                       Quote(parts->key_id) +
                       ": authentication failed: the value was changed or "
                       "was sealed for another row or column");
}

Result<std::string> KeyRing::KeyIdOf(std::string_view sealed) {
  Result<SealedParts> parts = SplitSealed(sealed);
  if (!parts.ok()) return parts.status();
  return std::string(parts->key_id);
}

Secret KeyRing::DeriveKey(std::string_view purpose) const {
  KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) AbortOnCryptoFailure("EVP_KDF_fetch(HKDF)");
  KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) AbortOnCryptoFailure("EVP_KDF_CTX_new");

  // OSSL_PARAM takes non-const pointers but only reads through them here.
  const std::string& key = keys_.front().bytes.Reveal();
  char digest[] = "SHA256";
  auto octets = [](std::string_view bytes) {
    return const_cast<unsigned char*>(Bytes(bytes));
  };
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, octets(key),
                                        key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, octets(kHkdfSalt),
                                        kHkdfSalt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, octets(purpose),
                                        purpose.size()),
      OSSL_PARAM_construct_end(),
  };
  std::string derived(kKeyBytes, '\0');
  if (EVP_KDF_derive(ctx.get(), MutableBytes(derived), derived.size(),
                     params) != 1) {
    AbortOnCryptoFailure("EVP_KDF_derive(HKDF-SHA256)");
  }
  return Secret(std::move(derived));
}

// ---------------------------------------------------------------------------
// Signed account links

Status ValidateAccountId(std::string_view account_id) {
  if (account_id.empty()) {
    return Status::Error("invalid account id: it is empty");
  }
  if (account_id.size() > kMaxAccountIdBytes) {
    return Status::Error(
        "invalid account id: it has " + std::to_string(account_id.size()) +
        " bytes, the maximum is " + std::to_string(kMaxAccountIdBytes));
  }
  for (size_t i = 0; i < account_id.size(); ++i) {
    if (!IsAccountIdChar(account_id[i])) {
      return Status::Error("invalid account id: the character at offset " +
                           std::to_string(i) +
                           " is outside A-Z, a-z, 0-9 and . _ : @ -");
    }
  }
  return Status::Ok();
}

std::string SignAccountLink(std::string_view link_secret,
                            std::string_view account_id,
                            int64_t expires_at_unix) {
  const std::string expires_text = std::to_string(expires_at_unix);
  return Base64UrlEncode(
      HmacSha256(link_secret, AccountLinkMessage(account_id, expires_text)));
}

Status VerifyAccountLink(std::string_view link_secret,
                         std::string_view account_id,
                         std::string_view expires_text,
                         std::string_view signature, int64_t now_unix) {
  if (link_secret.empty()) {
    return Status::Error(
        "cannot verify account links: the link secret is empty: set "
        "partner.link_secret");
  }
  Status account_status = ValidateAccountId(account_id);
  if (!account_status.ok()) return account_status;
  const std::string account = "account link for account " + Quote(account_id);

  // Digits only, because from_chars would also accept a leading '-'.
  if (!IsDecimal(expires_text)) {
    return Status::Error(account +
                         " is invalid: expires is not a unix time in decimal "
                         "digits");
  }
  int64_t expires_at_unix = 0;
  const char* end = expires_text.data() + expires_text.size();
  const std::from_chars_result parsed =
      std::from_chars(expires_text.data(), end, expires_at_unix);
  if (parsed.ec != std::errc() || parsed.ptr != end) {
    return Status::Error(account +
                         " is invalid: expires is out of range for a unix "
                         "time");
  }

  // The signature is checked before the expiry, so "expired" is reported
  // only for a link that the partner product did sign.
  Result<std::string> mac = Base64UrlDecode(signature);
  if (!mac.ok()) {
    return Status::Error(account + " has an invalid signature: " + mac.error());
  }
  const std::string expected =
      HmacSha256(link_secret, AccountLinkMessage(account_id, expires_text));
  if (!ConstantTimeEqual(*mac, expected)) {
    return Status::Error(account +
                         " has an invalid signature: it does not match the "
                         "account and expires values");
  }
  if (expires_at_unix < now_unix) {
    return Status::Error(account + " expired at " +
                         FormatUnixTime(expires_at_unix) +
                         ": ask the partner product for a new link");
  }
  return Status::Ok();
}

}  // namespace srconnect
