#define BOOST_TEST_MODULE crypto
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "crypto.h"
#include "secret.h"
#include "status.h"

namespace srconnect {
namespace {

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::vector<std::string> SplitOnDots(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = text.find('.', start);
    parts.push_back(text.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

std::string JoinWithDots(const std::vector<std::string>& parts) {
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) text += '.';
    text += parts[i];
  }
  return text;
}

// Flips the low bit of one decoded byte of a sealed value's `part` (2 for
// the nonce, 3 for ciphertext || tag) and re-encodes it, so the result is
// still well-formed and only the cryptographic check can catch it. A
// negative `index` counts from the end.
std::string FlipByte(const std::string& sealed, size_t part, int index) {
  std::vector<std::string> parts = SplitOnDots(sealed);
  std::string bytes = Base64UrlDecode(parts.at(part)).value();
  const size_t position = index >= 0
                              ? static_cast<size_t>(index)
                              : bytes.size() - static_cast<size_t>(-index);
  bytes.at(position) = static_cast<char>(bytes.at(position) ^ 0x01);
  parts[part] = Base64UrlEncode(bytes);
  return JoinWithDots(parts);
}

const std::string kOldKey(kKeyBytes, '\x01');
const std::string kNewKey(kKeyBytes, '\x02');
const std::string kPlaintext = "client-secret-9f8e7d";
const std::string kContext = "srconnect/connections/17/client_secret";

// A temporary directory for key files, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base ? base : "/tmp") + "/srconnect-crypto-test-XXXXXX";
    const char* created = ::mkdtemp(pattern.data());
    BOOST_TEST_REQUIRE(created != nullptr);
    path_ = created;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }

  // Writes `bytes` to `name` with `mode` and returns the file's path.
  std::string WriteFile(const std::string& name, const std::string& bytes,
                        mode_t mode) const {
    const std::string path = path_ + "/" + name;
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << bytes;
    }
    BOOST_TEST_REQUIRE(::chmod(path.c_str(), mode) == 0);
    return path;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

BOOST_AUTO_TEST_SUITE(base64url)

BOOST_AUTO_TEST_CASE(encodes_rfc4648_vectors_unpadded) {
  BOOST_TEST(Base64UrlEncode("") == "");
  BOOST_TEST(Base64UrlEncode("f") == "Zg");
  BOOST_TEST(Base64UrlEncode("fo") == "Zm8");
  BOOST_TEST(Base64UrlEncode("foo") == "Zm9v");
  BOOST_TEST(Base64UrlEncode("foob") == "Zm9vYg");
  BOOST_TEST(Base64UrlEncode("fooba") == "Zm9vYmE");
  BOOST_TEST(Base64UrlEncode("foobar") == "Zm9vYmFy");
}

BOOST_AUTO_TEST_CASE(uses_url_alphabet) {
  BOOST_TEST(Base64UrlEncode("\xfb\xff") == "-_8");
  BOOST_TEST(Base64UrlDecode("-_8").value() == "\xfb\xff");
}

BOOST_AUTO_TEST_CASE(round_trips_every_byte_value) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t length = 0; length <= bytes.size(); length += 37) {
    const std::string prefix = bytes.substr(0, length);
    Result<std::string> decoded = Base64UrlDecode(Base64UrlEncode(prefix));
    BOOST_TEST_REQUIRE(decoded.ok(), decoded.error());
    BOOST_TEST(*decoded == prefix);
  }
}

BOOST_AUTO_TEST_CASE(decodes_empty_text) {
  Result<std::string> decoded = Base64UrlDecode("");
  BOOST_TEST_REQUIRE(decoded.ok());
  BOOST_TEST(decoded->empty());
}

BOOST_AUTO_TEST_CASE(rejects_padding) {
  Result<std::string> decoded = Base64UrlDecode("Zg==");
  BOOST_TEST(!decoded.ok());
  BOOST_TEST(Contains(decoded.error(), "padding"), decoded.error());
  BOOST_TEST(!Base64UrlDecode("Zm8=").ok());
}

BOOST_AUTO_TEST_CASE(rejects_standard_alphabet_characters) {
  BOOST_TEST(!Base64UrlDecode("+_8").ok());
  BOOST_TEST(!Base64UrlDecode("-/8").ok());
}

BOOST_AUTO_TEST_CASE(rejects_whitespace) {
  BOOST_TEST(!Base64UrlDecode("Zm9v Yg").ok());
  BOOST_TEST(!Base64UrlDecode("Zm9v\n").ok());
  BOOST_TEST(!Base64UrlDecode(" Zg").ok());
}

BOOST_AUTO_TEST_CASE(rejects_impossible_length) {
  Result<std::string> decoded = Base64UrlDecode("Zm9vY");
  BOOST_TEST(!decoded.ok());
  BOOST_TEST(Contains(decoded.error(), "length"), decoded.error());
}

BOOST_AUTO_TEST_CASE(rejects_nonzero_unused_bits) {
  // "Zg" is the only encoding of "f". "Zh" sets a bit that no byte uses.
  BOOST_TEST(Base64UrlDecode("Zg").ok());
  BOOST_TEST(!Base64UrlDecode("Zh").ok());
  BOOST_TEST(!Base64UrlDecode("Zm9").ok());
}

BOOST_AUTO_TEST_CASE(error_omits_input_text) {
  Result<std::string> decoded = Base64UrlDecode("secretvalue!");
  BOOST_TEST(!decoded.ok());
  BOOST_TEST(!Contains(decoded.error(), "secretvalue"), decoded.error());
  BOOST_TEST(Contains(decoded.error(), "offset 11"), decoded.error());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hex_and_context)

BOOST_AUTO_TEST_CASE(hex_encodes_lower_case) {
  BOOST_TEST(HexEncode(std::string("\x00\xff\x10\xab", 4)) == "00ff10ab");
  BOOST_TEST(HexEncode("") == "");
}

BOOST_AUTO_TEST_CASE(context_names_table_row_column) {
  BOOST_TEST(SealedValueContext("connections", 17, "client_secret") ==
             "srconnect/connections/17/client_secret");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hmac)

BOOST_AUTO_TEST_CASE(matches_rfc4231_case_1) {
  const std::string key(20, '\x0b');
  BOOST_TEST(
      HexEncode(HmacSha256(key, "Hi There")) ==
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

BOOST_AUTO_TEST_CASE(matches_rfc4231_case_2) {
  BOOST_TEST(
      HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")) ==
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

BOOST_AUTO_TEST_CASE(accepts_empty_key_and_data) {
  // Value from `openssl dgst -sha256 -mac HMAC` (OpenSSL 3.0.22).
  BOOST_TEST(
      HexEncode(HmacSha256("", "")) ==
      "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(constant_time_equal)

BOOST_AUTO_TEST_CASE(accepts_equal_values) {
  BOOST_TEST(ConstantTimeEqual("abcdef", "abcdef"));
  BOOST_TEST(ConstantTimeEqual("", ""));
}

BOOST_AUTO_TEST_CASE(rejects_same_length_difference) {
  BOOST_TEST(!ConstantTimeEqual("abcdef", "abcdeg"));
  BOOST_TEST(!ConstantTimeEqual("abcdef", "bbcdef"));
}

BOOST_AUTO_TEST_CASE(rejects_different_length) {
  BOOST_TEST(!ConstantTimeEqual("abc", "abcd"));
  BOOST_TEST(!ConstantTimeEqual("abcd", "abc"));
  BOOST_TEST(!ConstantTimeEqual("", "a"));
  BOOST_TEST(!ConstantTimeEqual("a", ""));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(random)

BOOST_AUTO_TEST_CASE(bytes_have_requested_length) {
  Result<std::string> bytes = RandomBytes(32);
  BOOST_TEST_REQUIRE(bytes.ok(), bytes.error());
  BOOST_TEST(bytes->size() == 32u);
  Result<std::string> none = RandomBytes(0);
  BOOST_TEST_REQUIRE(none.ok(), none.error());
  BOOST_TEST(none->empty());
}

BOOST_AUTO_TEST_CASE(bytes_differ_between_calls) {
  BOOST_TEST(RandomBytes(16).value() != RandomBytes(16).value());
}

BOOST_AUTO_TEST_CASE(token_is_unpadded_base64url) {
  Result<std::string> token = RandomToken(32);
  BOOST_TEST_REQUIRE(token.ok(), token.error());
  BOOST_TEST(token->size() == 43u);
  Result<std::string> decoded = Base64UrlDecode(*token);
  BOOST_TEST_REQUIRE(decoded.ok(), decoded.error());
  BOOST_TEST(decoded->size() == 32u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(key_file)

BOOST_AUTO_TEST_CASE(loads_owner_only_file) {
  TempDir dir;
  const std::string path = dir.WriteFile("key", kOldKey, 0600);
  Result<KeyRing> ring = KeyRing::LoadKeyFile(path);
  BOOST_TEST_REQUIRE(ring.ok(), ring.error());
  BOOST_TEST(ring->current_key_id() ==
             KeyRing::FromKeys(kOldKey).current_key_id());
}

BOOST_AUTO_TEST_CASE(loads_read_only_file) {
  TempDir dir;
  const std::string path = dir.WriteFile("key", kOldKey, 0400);
  Result<KeyRing> ring = KeyRing::LoadKeyFile(path);
  BOOST_TEST(ring.ok(), ring.error());
}

BOOST_AUTO_TEST_CASE(rejects_missing_file) {
  TempDir dir;
  const std::string path = dir.path() + "/absent";
  Result<KeyRing> ring = KeyRing::LoadKeyFile(path);
  BOOST_TEST_REQUIRE(!ring.ok());
  BOOST_TEST(ring.error() == "key file \"" + path +
                                 "\" is missing: run \"srconnect init\" to "
                                 "create it");
}

BOOST_AUTO_TEST_CASE(rejects_short_file) {
  TempDir dir;
  const std::string path = dir.WriteFile("key", std::string(12, 'k'), 0600);
  Result<KeyRing> ring = KeyRing::LoadKeyFile(path);
  BOOST_TEST_REQUIRE(!ring.ok());
  BOOST_TEST(Contains(ring.error(),
                      "key file \"" + path + "\" has 12 bytes, expected 32: "),
             ring.error());
}

BOOST_AUTO_TEST_CASE(rejects_key_with_trailing_newline) {
  TempDir dir;
  const std::string path = dir.WriteFile("key", kOldKey + "\n", 0600);
  Result<KeyRing> ring = KeyRing::LoadKeyFile(path);
  BOOST_TEST_REQUIRE(!ring.ok());
  BOOST_TEST(Contains(ring.error(), "has 33 bytes, expected 32"), ring.error());
}

BOOST_AUTO_TEST_CASE(rejects_hex_encoded_key) {
  TempDir dir;
  const std::string path = dir.WriteFile("key", HexEncode(kOldKey), 0600);
  Result<KeyRing> ring = KeyRing::LoadKeyFile(path);
  BOOST_TEST_REQUIRE(!ring.ok());
  BOOST_TEST(Contains(ring.error(), "has 64 bytes"), ring.error());
}

BOOST_AUTO_TEST_CASE(rejects_group_readable_file) {
  TempDir dir;
  const std::string path = dir.WriteFile("key", kOldKey, 0644);
  Result<KeyRing> ring = KeyRing::LoadKeyFile(path);
  BOOST_TEST_REQUIRE(!ring.ok());
  BOOST_TEST(ring.error() == "key file \"" + path +
                                 "\" is readable by group or others (mode "
                                 "0644): run \"chmod 600 " +
                                 path + "\"");
}

BOOST_AUTO_TEST_CASE(rejects_group_writable_file) {
  TempDir dir;
  const std::string path = dir.WriteFile("key", kOldKey, 0620);
  Result<KeyRing> ring = KeyRing::LoadKeyFile(path);
  BOOST_TEST_REQUIRE(!ring.ok());
  BOOST_TEST(Contains(ring.error(), "writable by group or others"),
             ring.error());
}

BOOST_AUTO_TEST_CASE(follows_symlink_to_private_file) {
  TempDir dir;
  const std::string target = dir.WriteFile("key", kOldKey, 0600);
  const std::string link = dir.path() + "/link";
  BOOST_TEST_REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  Result<KeyRing> ring = KeyRing::LoadKeyFile(link);
  BOOST_TEST(ring.ok(), ring.error());
}

BOOST_AUTO_TEST_CASE(checks_mode_of_symlink_target) {
  TempDir dir;
  const std::string target = dir.WriteFile("key", kOldKey, 0644);
  const std::string link = dir.path() + "/link";
  BOOST_TEST_REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  Result<KeyRing> ring = KeyRing::LoadKeyFile(link);
  BOOST_TEST_REQUIRE(!ring.ok());
  BOOST_TEST(Contains(ring.error(), "(mode 0644)"), ring.error());
}

BOOST_AUTO_TEST_CASE(rejects_directory) {
  TempDir dir;
  Result<KeyRing> ring = KeyRing::LoadKeyFile(dir.path());
  BOOST_TEST_REQUIRE(!ring.ok());
  BOOST_TEST(Contains(ring.error(), "is not a regular file"), ring.error());
}

BOOST_AUTO_TEST_CASE(adds_previous_key_file) {
  TempDir dir;
  const std::string current = dir.WriteFile("current", kNewKey, 0600);
  const std::string previous = dir.WriteFile("previous", kOldKey, 0600);
  const std::string sealed =
      KeyRing::FromKeys(kOldKey).Seal(kPlaintext, kContext).value();
  Result<KeyRing> ring = KeyRing::LoadKeyFile(current);
  BOOST_TEST_REQUIRE(ring.ok(), ring.error());
  Status added = ring->AddPreviousKeyFile(previous);
  BOOST_TEST_REQUIRE(added.ok(), added.message());
  Result<Secret> opened = ring->Open(sealed, kContext);
  BOOST_TEST_REQUIRE(opened.ok(), opened.error());
  BOOST_TEST(opened->Reveal() == kPlaintext);
}

BOOST_AUTO_TEST_CASE(missing_previous_key_names_setting) {
  TempDir dir;
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  Status added = ring.AddPreviousKeyFile(dir.path() + "/absent");
  BOOST_TEST_REQUIRE(!added.ok());
  BOOST_TEST(Contains(added.message(), "is missing"), added.message());
  BOOST_TEST(Contains(added.message(), "store.previous_keys"), added.message());
}

BOOST_AUTO_TEST_CASE(rejects_group_readable_previous_key) {
  TempDir dir;
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  Status added = ring.AddPreviousKeyFile(dir.WriteFile("old", kOldKey, 0640));
  BOOST_TEST_REQUIRE(!added.ok());
  BOOST_TEST(Contains(added.message(), "(mode 0640)"), added.message());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(seal_open)

BOOST_AUTO_TEST_CASE(round_trips_plaintext) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  Result<std::string> sealed = ring.Seal(kPlaintext, kContext);
  BOOST_TEST_REQUIRE(sealed.ok(), sealed.error());
  Result<Secret> opened = ring.Open(*sealed, kContext);
  BOOST_TEST_REQUIRE(opened.ok(), opened.error());
  BOOST_TEST(opened->Reveal() == kPlaintext);
}

BOOST_AUTO_TEST_CASE(round_trips_empty_and_binary_values) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  const std::string binary("\x00\xff\n.\x01", 5);
  for (const std::string& value : {std::string(), binary}) {
    Result<std::string> sealed = ring.Seal(value, "");
    BOOST_TEST_REQUIRE(sealed.ok(), sealed.error());
    Result<Secret> opened = ring.Open(*sealed, "");
    BOOST_TEST_REQUIRE(opened.ok(), opened.error());
    BOOST_TEST(opened->Reveal() == value);
  }
}

BOOST_AUTO_TEST_CASE(writes_documented_format) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  const std::string sealed = ring.Seal(kPlaintext, kContext).value();
  const std::vector<std::string> parts = SplitOnDots(sealed);
  BOOST_TEST_REQUIRE(parts.size() == 4u);
  BOOST_TEST(parts[0] == "v1");
  BOOST_TEST(parts[1] == ring.current_key_id());
  BOOST_TEST(Base64UrlDecode(parts[2]).value().size() == 12u);
  BOOST_TEST(Base64UrlDecode(parts[3]).value().size() ==
             kPlaintext.size() + 16);
  BOOST_TEST(!Contains(sealed, kPlaintext));
  BOOST_TEST(!Contains(sealed, "="));
}

BOOST_AUTO_TEST_CASE(key_id_is_hmac_prefix_of_key) {
  // Value from `openssl dgst -sha256 -mac HMAC -macopt hexkey:0101...01`
  // over "srconnect key id" (OpenSSL 3.0.22).
  BOOST_TEST(KeyRing::FromKeys(kOldKey).current_key_id() == "e8e5393d");
}

BOOST_AUTO_TEST_CASE(uses_fresh_nonce_each_time) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  std::set<std::string> nonces;
  for (int i = 0; i < 20; ++i) {
    nonces.insert(SplitOnDots(ring.Seal(kPlaintext, kContext).value())[2]);
  }
  BOOST_TEST(nonces.size() == 20u);
}

BOOST_AUTO_TEST_CASE(rejects_tampered_ciphertext) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  const std::string sealed = ring.Seal(kPlaintext, kContext).value();
  Result<Secret> opened = ring.Open(FlipByte(sealed, 3, 0), kContext);
  BOOST_TEST_REQUIRE(!opened.ok());
  BOOST_TEST(Contains(opened.error(), "authentication failed"), opened.error());
  BOOST_TEST(!Contains(opened.error(), kPlaintext), opened.error());
}

BOOST_AUTO_TEST_CASE(rejects_tampered_tag) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  const std::string sealed = ring.Seal(kPlaintext, kContext).value();
  Result<Secret> opened = ring.Open(FlipByte(sealed, 3, -1), kContext);
  BOOST_TEST_REQUIRE(!opened.ok());
  BOOST_TEST(Contains(opened.error(), "authentication failed"), opened.error());
}

BOOST_AUTO_TEST_CASE(rejects_tampered_nonce) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  const std::string sealed = ring.Seal(kPlaintext, kContext).value();
  Result<Secret> opened = ring.Open(FlipByte(sealed, 2, 5), kContext);
  BOOST_TEST_REQUIRE(!opened.ok());
  BOOST_TEST(Contains(opened.error(), "authentication failed"), opened.error());
}

BOOST_AUTO_TEST_CASE(rejects_truncated_value) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  std::vector<std::string> parts =
      SplitOnDots(ring.Seal(kPlaintext, kContext).value());
  parts[3] = Base64UrlEncode("short");
  Result<Secret> opened = ring.Open(JoinWithDots(parts), kContext);
  BOOST_TEST_REQUIRE(!opened.ok());
  BOOST_TEST(Contains(opened.error(), "authentication failed"), opened.error());
}

BOOST_AUTO_TEST_CASE(rejects_value_moved_to_another_row) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  const std::string sealed = ring.Seal(kPlaintext, kContext).value();
  const std::string other_row =
      SealedValueContext("connections", 18, "client_secret");
  Result<Secret> opened = ring.Open(sealed, other_row);
  BOOST_TEST_REQUIRE(!opened.ok());
  BOOST_TEST(Contains(opened.error(), "authentication failed"), opened.error());
  BOOST_TEST(!Contains(opened.error(), kPlaintext), opened.error());
}

BOOST_AUTO_TEST_CASE(rejects_value_moved_to_another_column) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  const std::string sealed = ring.Seal(kPlaintext, kContext).value();
  const std::string other_column =
      SealedValueContext("connections", 17, "access_token");
  BOOST_TEST(!ring.Open(sealed, other_column).ok());
}

BOOST_AUTO_TEST_CASE(rejects_unknown_key_id) {
  KeyRing old_ring = KeyRing::FromKeys(kOldKey);
  KeyRing new_ring = KeyRing::FromKeys(kNewKey);
  const std::string sealed = old_ring.Seal(kPlaintext, kContext).value();
  Result<Secret> opened = new_ring.Open(sealed, kContext);
  BOOST_TEST_REQUIRE(!opened.ok());
  BOOST_TEST(Contains(opened.error(), old_ring.current_key_id()),
             opened.error());
  BOOST_TEST(Contains(opened.error(), "store.previous_keys"), opened.error());
  BOOST_TEST(!Contains(opened.error(), "authentication failed"),
             opened.error());
}

BOOST_AUTO_TEST_CASE(previous_key_opens_current_key_seals) {
  KeyRing old_ring = KeyRing::FromKeys(kOldKey);
  KeyRing rotated = KeyRing::FromKeys(kNewKey, {kOldKey});
  const std::string old_sealed = old_ring.Seal(kPlaintext, kContext).value();

  Result<Secret> opened = rotated.Open(old_sealed, kContext);
  BOOST_TEST_REQUIRE(opened.ok(), opened.error());
  BOOST_TEST(opened->Reveal() == kPlaintext);

  const std::string new_sealed = rotated.Seal(kPlaintext, kContext).value();
  BOOST_TEST(KeyRing::KeyIdOf(new_sealed).value() == rotated.current_key_id());
  BOOST_TEST(rotated.current_key_id() != old_ring.current_key_id());
  BOOST_TEST(!old_ring.Open(new_sealed, kContext).ok());
}

BOOST_AUTO_TEST_CASE(rejects_malformed_values) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  const std::string id = ring.current_key_id();
  const std::vector<std::string> malformed = {
      "",
      kPlaintext,
      "v2." + id + ".AAAAAAAAAAAAAAAA.AAAA",
      "v1." + id + ".AAAAAAAAAAAAAAAA",
      "v1." + id + ".AAAAAAAAAAAAAAAA.AAAA.AAAA",
      "v1.ABCDEF01.AAAAAAAAAAAAAAAA.AAAA",
      "v1.abc.AAAAAAAAAAAAAAAA.AAAA",
      "v1." + id + ".AAAA.AAAA",
      "v1." + id + ".AAAAAAAAAAAAAAAA.AA=A",
  };
  for (const std::string& value : malformed) {
    Result<Secret> opened = ring.Open(value, kContext);
    BOOST_TEST(!opened.ok(), "opened \"" << value << "\"");
  }
}

BOOST_AUTO_TEST_CASE(error_omits_plaintext_stored_by_mistake) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  Result<Secret> opened = ring.Open(kPlaintext, kContext);
  BOOST_TEST_REQUIRE(!opened.ok());
  BOOST_TEST(Contains(opened.error(), "invalid sealed value"), opened.error());
  BOOST_TEST(!Contains(opened.error(), kPlaintext), opened.error());
}

BOOST_AUTO_TEST_CASE(key_id_of_reads_second_part) {
  KeyRing ring = KeyRing::FromKeys(kOldKey);
  const std::string sealed = ring.Seal(kPlaintext, kContext).value();
  Result<std::string> id = KeyRing::KeyIdOf(sealed);
  BOOST_TEST_REQUIRE(id.ok(), id.error());
  BOOST_TEST(*id == "e8e5393d");
  BOOST_TEST(!KeyRing::KeyIdOf("v2.e8e5393d.AAAA.AAAA").ok());
  BOOST_TEST(!KeyRing::KeyIdOf("not a sealed value").ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(derive_key)

BOOST_AUTO_TEST_CASE(matches_openssl_hkdf) {
  // Value from `openssl kdf -keylen 32 -kdfopt digest:SHA256
  // -kdfopt hexkey:0101...01 -kdfopt salt:srconnect
  // -kdfopt info:state-hmac HKDF` (OpenSSL 3.0.22).
  const Secret derived = KeyRing::FromKeys(kOldKey).DeriveKey("state-hmac");
  BOOST_TEST(
      HexEncode(derived.Reveal()) ==
      "e9a5f719812aec10ff37f4e90fb489021a671b5ef475c4876b46fcc64ae06576");
}

BOOST_AUTO_TEST_CASE(is_stable_for_one_purpose) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  BOOST_TEST(ring.DeriveKey("state-hmac").Reveal() ==
             ring.DeriveKey("state-hmac").Reveal());
  BOOST_TEST(ring.DeriveKey("state-hmac").size() == kKeyBytes);
}

BOOST_AUTO_TEST_CASE(differs_per_purpose) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  BOOST_TEST(ring.DeriveKey("state-hmac").Reveal() !=
             ring.DeriveKey("csrf").Reveal());
  BOOST_TEST(ring.DeriveKey("").Reveal() != ring.DeriveKey("csrf").Reveal());
}

BOOST_AUTO_TEST_CASE(differs_from_key_and_per_key) {
  KeyRing old_ring = KeyRing::FromKeys(kOldKey);
  KeyRing new_ring = KeyRing::FromKeys(kNewKey, {kOldKey});
  BOOST_TEST(new_ring.DeriveKey("state-hmac").Reveal() != kNewKey);
  BOOST_TEST(new_ring.DeriveKey("state-hmac").Reveal() !=
             old_ring.DeriveKey("state-hmac").Reveal());
}

BOOST_AUTO_TEST_CASE(accepts_purpose_up_to_limit) {
  KeyRing ring = KeyRing::FromKeys(kNewKey);
  BOOST_TEST(ring.DeriveKey(std::string(32768, 'p')).size() == kKeyBytes);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(account_link)

const std::string kLinkSecret = "link-secret-for-tests";
constexpr int64_t kExpires = 1700000000;
const std::string kExpiresText = "1700000000";
constexpr int64_t kBefore = kExpires - 60;

BOOST_AUTO_TEST_CASE(signature_matches_openssl) {
  // Value from `printf 'acme-7\n1700000000' | openssl dgst -sha256 -mac HMAC
  // -macopt key:link-secret-for-tests -binary | basenc --base64url` with
  // the padding removed (OpenSSL 3.0.22).
  BOOST_TEST(SignAccountLink(kLinkSecret, "acme-7", kExpires) ==
             "gL-4g8Ffa-HjqK0VA8KOBc7Ew-EcrpzSZgKqVzPMyI0");
}

BOOST_AUTO_TEST_CASE(accepts_signed_link) {
  const std::string sig = SignAccountLink(kLinkSecret, "acme-7", kExpires);
  Status status =
      VerifyAccountLink(kLinkSecret, "acme-7", kExpiresText, sig, kBefore);
  BOOST_TEST(status.ok(), status.message());
}

BOOST_AUTO_TEST_CASE(accepts_link_at_expiry_second) {
  const std::string sig = SignAccountLink(kLinkSecret, "acme-7", kExpires);
  Status status =
      VerifyAccountLink(kLinkSecret, "acme-7", kExpiresText, sig, kExpires);
  BOOST_TEST(status.ok(), status.message());
}

BOOST_AUTO_TEST_CASE(rejects_expired_link) {
  const std::string sig = SignAccountLink(kLinkSecret, "acme-7", kExpires);
  Status status =
      VerifyAccountLink(kLinkSecret, "acme-7", kExpiresText, sig, kExpires + 1);
  BOOST_TEST_REQUIRE(!status.ok());
  BOOST_TEST(Contains(status.message(), "expired at 2023-11-14T22:13:20Z"),
             status.message());
  BOOST_TEST(!Contains(status.message(), kLinkSecret), status.message());
}

BOOST_AUTO_TEST_CASE(rejects_tampered_account) {
  const std::string sig = SignAccountLink(kLinkSecret, "acme-7", kExpires);
  Status status =
      VerifyAccountLink(kLinkSecret, "acme-8", kExpiresText, sig, kBefore);
  BOOST_TEST_REQUIRE(!status.ok());
  BOOST_TEST(Contains(status.message(), "invalid signature"), status.message());
  BOOST_TEST(!Contains(status.message(), kLinkSecret), status.message());
}

BOOST_AUTO_TEST_CASE(rejects_tampered_expires) {
  const std::string sig = SignAccountLink(kLinkSecret, "acme-7", kExpires);
  Status status =
      VerifyAccountLink(kLinkSecret, "acme-7", "1700000600", sig, kBefore);
  BOOST_TEST_REQUIRE(!status.ok());
  BOOST_TEST(Contains(status.message(), "invalid signature"), status.message());
}

BOOST_AUTO_TEST_CASE(reports_bad_signature_before_expiry) {
  Status status = VerifyAccountLink(
      kLinkSecret, "acme-7", kExpiresText,
      SignAccountLink("other-secret", "acme-7", kExpires), kExpires + 1);
  BOOST_TEST_REQUIRE(!status.ok());
  BOOST_TEST(Contains(status.message(), "invalid signature"), status.message());
}

BOOST_AUTO_TEST_CASE(rejects_other_secret) {
  const std::string sig = SignAccountLink("other-secret", "acme-7", kExpires);
  Status status =
      VerifyAccountLink(kLinkSecret, "acme-7", kExpiresText, sig, kBefore);
  BOOST_TEST_REQUIRE(!status.ok());
  BOOST_TEST(Contains(status.message(), "invalid signature"), status.message());
}

BOOST_AUTO_TEST_CASE(rejects_garbage_signature) {
  for (const std::string sig :
       {"not base64!", "gL-4g8Ffa-HjqK0VA8KOBc7Ew-EcrpzSZgKqVzPMyI0=", "",
        "AAAA", "gL+4g8Ffa+HjqK0VA8KOBc7Ew+EcrpzSZgKqVzPMyI0"}) {
    Status status =
        VerifyAccountLink(kLinkSecret, "acme-7", kExpiresText, sig, kBefore);
    BOOST_TEST(!status.ok(), "accepted sig \"" << sig << "\"");
    BOOST_TEST(Contains(status.message(), "invalid signature"),
               status.message());
  }
}

BOOST_AUTO_TEST_CASE(rejects_non_numeric_expires) {
  const std::string sig = SignAccountLink(kLinkSecret, "acme-7", kExpires);
  for (const std::string expires :
       {"", "17000000OO", "-1700000000", "+1700000000", " 1700000000",
        "1700000000 ", "0x6553f100", "1.7e9"}) {
    Status status =
        VerifyAccountLink(kLinkSecret, "acme-7", expires, sig, kBefore);
    BOOST_TEST(!status.ok(), "accepted expires \"" << expires << "\"");
    BOOST_TEST(Contains(status.message(), "decimal digits"), status.message());
  }
}

BOOST_AUTO_TEST_CASE(rejects_overflowing_expires) {
  const std::string expires = "9223372036854775808";
  const std::string sig =
      Base64UrlEncode(HmacSha256(kLinkSecret, "acme-7\n" + expires));
  Status status =
      VerifyAccountLink(kLinkSecret, "acme-7", expires, sig, kBefore);
  BOOST_TEST_REQUIRE(!status.ok());
  BOOST_TEST(Contains(status.message(), "out of range"), status.message());
}

BOOST_AUTO_TEST_CASE(accepts_max_int64_expires) {
  const int64_t expires = INT64_MAX;
  const std::string sig = SignAccountLink(kLinkSecret, "acme-7", expires);
  Status status = VerifyAccountLink(kLinkSecret, "acme-7",
                                    "9223372036854775807", sig, kBefore);
  BOOST_TEST(status.ok(), status.message());
}

BOOST_AUTO_TEST_CASE(rejects_invalid_account_ids) {
  const std::vector<std::string> invalid = {"",        std::string(129, 'a'),
                                            "acme 7",  "acme/7",
                                            "acme\n7", "acme%7",
                                            "acme\"7", std::string("acme\0", 5),
                                            "\xc3\xa9"};
  for (const std::string& account : invalid) {
    const std::string sig = SignAccountLink(kLinkSecret, account, kExpires);
    Status status =
        VerifyAccountLink(kLinkSecret, account, kExpiresText, sig, kBefore);
    BOOST_TEST(!status.ok(), "accepted account \"" << account << "\"");
    BOOST_TEST(Contains(status.message(), "invalid account id"),
               status.message());
  }
}

BOOST_AUTO_TEST_CASE(accepts_valid_account_ids) {
  const std::vector<std::string> valid = {"a", "ACME-7", "user@example.com",
                                          "tenant:42_x.y",
                                          std::string(kMaxAccountIdBytes, 'z')};
  for (const std::string& account : valid) {
    BOOST_TEST(ValidateAccountId(account).ok(), account);
    const std::string sig = SignAccountLink(kLinkSecret, account, kExpires);
    Status status =
        VerifyAccountLink(kLinkSecret, account, kExpiresText, sig, kBefore);
    BOOST_TEST(status.ok(), status.message());
  }
}

BOOST_AUTO_TEST_CASE(rejects_empty_link_secret) {
  const std::string sig = SignAccountLink("", "acme-7", kExpires);
  Status status = VerifyAccountLink("", "acme-7", kExpiresText, sig, kBefore);
  BOOST_TEST_REQUIRE(!status.ok());
  BOOST_TEST(Contains(status.message(), "link secret is empty"),
             status.message());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace srconnect
