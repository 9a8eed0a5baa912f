#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/crypto.h>
#include <yaml-cpp/yaml.h>

#include "http_client.h"
#include "log.h"

namespace srconnect {
namespace {

// Upper bounds for the files this module reads. A real config file is a few
// kilobytes and a secret is one short line, so anything larger is a mistake.
constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr size_t kMaxSecretBytes = 64 << 10;

constexpr int64_t kMaxTimeoutMs = 600000;
constexpr int64_t kSecondsPerDay = 86400;
// Upper bound of refresh.handout_threads. Each thread keeps a database
// connection and up to one SmartRecruiters connection open.
constexpr int64_t kMaxHandOutThreads = 64;

using KeyList = std::span<const std::string_view>;

// Keys allowed in each mapping, in the order of the struct members.
constexpr std::string_view kTopLevelKeys[] = {"smartrecruiters", "partner",
                                              "store", "consent", "refresh"};
constexpr std::string_view kSmartRecruitersKeys[] = {"api_base",
                                                     "web_base",
                                                     "partner_apps_url",
                                                     "ca_file",
                                                     "connect_timeout_ms",
                                                     "read_timeout_ms",
                                                     "master_client_id",
                                                     "master_client_secret",
                                                     "scopes"};
constexpr std::string_view kPartnerKeys[] = {"app_name", "public_base_url",
                                             "link_secret", "settings_url"};
constexpr std::string_view kStoreKeys[] = {"database", "key", "previous_keys",
                                           "busy_timeout_ms"};
constexpr std::string_view kConsentKeys[] = {"state_ttl_s", "cookie_secure"};
constexpr std::string_view kRefreshKeys[] = {
    "margin_s",          "concurrency",   "budget_s",       "lease_s",
    "backoff_initial_s", "backoff_max_s", "handout_threads"};
constexpr std::string_view kSecretRefKeys[] = {"file", "credential"};

constexpr char kSecretRefForms[] =
    "{file: /absolute/path} for a file that only the service user can read, "
    "or {credential: NAME} for a systemd credential (LoadCredential=)";

std::string JoinKeys(KeyList keys) {
  std::string joined;
  for (std::string_view key : keys) {
    if (!joined.empty()) joined += ", ";
    joined += key;
  }
  return joined;
}

bool ContainsControl(std::string_view text) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

std::string YamlLine(const YAML::Mark& mark) {
  return std::to_string(mark.line + 1);
}

// Describes a value for a "got ..." clause. Secret references pass
// `show_scalar` false so that a secret written inline is never echoed.
std::string DescribeValue(const YAML::Node& node, bool show_scalar = true) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return show_scalar ? Quote(node.Scalar()) : "a string";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "an empty value";
}

// Returns the unit that a key's suffix names, for range messages.
std::string UnitOf(std::string_view key) {
  if (key.ends_with("_ms")) return " (milliseconds)";
  if (key.ends_with("_s")) return " (seconds)";
  return "";
}

bool ParseInt64(const std::string& text, int64_t* value) {
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, *value);
  return !text.empty() && error == std::errc() && ptr == end;
}

bool IsScopeName(std::string_view scope) {
  if (scope.empty()) return false;
  for (char c : scope) {
    if (!(c >= 'a' && c <= 'z') && c != '_') return false;
  }
  return true;
}

bool IsCredentialName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && !ContainsControl(name);
}

// The parts of an absolute http(s) URL that validation needs.
struct HttpUrl {
  bool https = false;
  // As written; an IPv6 literal keeps its brackets.
  std::string host;
  // Empty or starting with '/'.
  std::string path;
};

bool IsIpv4Loopback(std::string_view host) {
  int octets = 0;
  int first = -1;
  size_t start = 0;
  while (start <= host.size()) {
    size_t end = host.find('.', start);
    if (end == std::string_view::npos) end = host.size();
    std::string_view part = host.substr(start, end - start);
    int value = 0;
    auto [ptr, error] =
        std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || part.size() > 3 || error != std::errc() ||
        ptr != part.data() + part.size() || value > 255) {
      return false;
    }
    if (first < 0) first = value;
    ++octets;
    start = end + 1;
  }
  return octets == 4 && first == 127;
}

bool IsLoopbackHost(std::string_view host) {
  std::string lower(host);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower == "localhost" || lower == "[::1]" || IsIpv4Loopback(lower);
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

// Splits an absolute http or https URL. On failure returns std::nullopt and
// sets `reason` to a phrase that completes "the URL ...".
std::optional<HttpUrl> SplitHttpUrl(std::string_view url, std::string* reason) {
  HttpUrl parts;
  if (ContainsControl(url) || url.find(' ') != std::string_view::npos) {
    *reason = "contains a space or control character";
    return std::nullopt;
  }
  std::string_view rest;
  if (url.starts_with("https://")) {
    parts.https = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    *reason = "does not start with https:// or http://";
    return std::nullopt;
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    *reason = "has a query or fragment";
    return std::nullopt;
  }

  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) parts.path = rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    *reason = "contains a user name or password";
    return std::nullopt;
  }

  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      *reason = "has an IPv6 address without a closing ']'";
      return std::nullopt;
    }
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(":")) {
      *reason = "has text after the IPv6 address";
      return std::nullopt;
    }
    if (!after.empty()) port = after.substr(1);
    if (host.size() < 3 ||
        host.substr(1, host.size() - 2)
                .find_first_not_of("0123456789abcdefABCDEF:.") !=
            std::string_view::npos) {
      *reason = "has an invalid IPv6 address";
      return std::nullopt;
    }
  } else {
    const size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty()) {
      *reason = "has no host";
      return std::nullopt;
    }
    for (char c : host) {
      if (!IsHostChar(c)) {
        *reason = "has an invalid host name";
        return std::nullopt;
      }
    }
  }
  if (authority.size() != host.size()) {
    int number = 0;
    auto [ptr, error] =
        std::from_chars(port.data(), port.data() + port.size(), number);
    if (port.empty() || port.size() > 5 || error != std::errc() ||
        ptr != port.data() + port.size() || number < 1 || number > 65535) {
      *reason = "has an invalid port (expected 1 to 65535)";
      return std::nullopt;
    }
  }
  parts.host = std::string(host);
  return parts;
}

// Whether a URL is to be read as a base that paths are appended to, or as a
// complete page address.
enum class UrlKind { kBase, kPage };

// Whether a key must be present. kOptionalNotEmpty keys have a default that
// applies when the key is absent, and an empty value is rejected.
enum class Presence { kRequired, kOptional, kOptionalNotEmpty };

// The entries of one YAML mapping and the key path that leads to it: "" for
// the document root, "smartrecruiters", "store.previous_keys[0]".
struct Mapping {
  std::string key_path;
  std::map<std::string, YAML::Node, std::less<>> entries;

  std::string KeyPath(std::string_view key) const {
    if (key_path.empty()) return std::string(key);
    return key_path + "." + std::string(key);
  }

  // Returns nullptr when `key` is absent.
  const YAML::Node* Find(std::string_view key) const {
    auto it = entries.find(key);
    return it == entries.end() ? nullptr : &it->second;
  }
};

// Walks the YAML tree into a Config. The first error sticks: once status_
// is not OK every reader returns at once, so Parse can list its steps
// without checking after each one.
class ConfigParser {
 public:
  explicit ConfigParser(std::string file) : file_(std::move(file)) {}

  Result<Config> Parse(const YAML::Node& root);

 private:
  bool failed() const { return !status_.ok(); }
  void Fail(const std::string& message);
  void FailMissing(const std::string& key_path, std::string_view expected);

  Mapping ReadMapping(const YAML::Node& node, std::string key_path,
                      KeyList allowed);
  Mapping ReadSection(const Mapping& parent, std::string_view key,
                      KeyList allowed);

  // Each reader leaves `*out` unchanged when the key is absent. The string
  // readers treat a null or "" value as absent, except for a
  // kOptionalNotEmpty key, where it is an error.
  void ReadString(const Mapping& mapping, std::string_view key,
                  Presence presence, std::string* out);
  void ReadAbsolutePath(const Mapping& mapping, std::string_view key,
                        Presence presence, std::string* out);
  void ReadUrl(const Mapping& mapping, std::string_view key, Presence presence,
               UrlKind kind, std::string* out);
  void ReadInt(const Mapping& mapping, std::string_view key, int64_t min,
               int64_t max, int64_t* out);
  void ReadBool(const Mapping& mapping, std::string_view key, bool* out);
  void ReadScopes(const Mapping& mapping, std::string_view key,
                  std::vector<std::string>* out);
  void ReadSecretRef(const Mapping& mapping, std::string_view key,
                     SecretRef* out);
  void ReadSecretRefList(const Mapping& mapping, std::string_view key,
                         std::vector<SecretRef>* out);
  void ParseSecretRef(const YAML::Node& node, const std::string& key_path,
                      SecretRef* out);

  void ParseSmartRecruiters(const Mapping& top, SmartRecruitersConfig* out);
  void ParsePartner(const Mapping& top, PartnerConfig* out);
  void ParseStore(const Mapping& top, StoreConfig* out);
  void ParseConsent(const Mapping& top, ConsentConfig* out);
  void ParseRefresh(const Mapping& top, RefreshConfig* out);
  void CheckRulesAcrossKeys(const Config& config);

  std::string file_;
  Status status_;
};

void ConfigParser::Fail(const std::string& message) {
  if (!failed()) status_ = Status::Error(file_ + ": " + message);
}

void ConfigParser::FailMissing(const std::string& key_path,
                               std::string_view expected) {
  Fail("missing required key " + Quote(key_path) + "; expected " +
       std::string(expected));
}

Mapping ConfigParser::ReadMapping(const YAML::Node& node, std::string key_path,
                                  KeyList allowed) {
  Mapping mapping;
  mapping.key_path = std::move(key_path);
  if (failed() || node.IsNull()) return mapping;

  const std::string where = mapping.key_path.empty()
                                ? std::string("the top level")
                                : "key " + Quote(mapping.key_path);
  if (!node.IsMap()) {
    if (mapping.key_path.empty()) {
      Fail("expected a mapping with the keys " + JoinKeys(allowed) + ", got " +
           DescribeValue(node));
    } else {
      Fail(where + " must be a mapping with the keys " + JoinKeys(allowed) +
           ", got " + DescribeValue(node));
    }
    return mapping;
  }

  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies, because yaml-cpp's operator-> returns a temporary proxy and a
    // reference to `it->first` would dangle.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      Fail(where + " contains a key that is not a string, at line " +
           YamlLine(key.Mark()));
      return mapping;
    }
    const std::string& name = key.Scalar();
    bool known = false;
    for (std::string_view candidate : allowed) known |= candidate == name;
    if (!known) {
      Fail("unknown key " + Quote(mapping.KeyPath(name)) +
           "; expected one of: " + JoinKeys(allowed));
      return mapping;
    }
    auto [entry, inserted] = mapping.entries.emplace(name, value);
    if (!inserted) {
      Fail("key " + Quote(mapping.KeyPath(name)) + " appears twice, at lines " +
           YamlLine(entry->second.Mark()) + " and " + YamlLine(value.Mark()));
      return mapping;
    }
  }
  return mapping;
}

Mapping ConfigParser::ReadSection(const Mapping& parent, std::string_view key,
                                  KeyList allowed) {
  const YAML::Node* node = parent.Find(key);
  if (node == nullptr) return Mapping{parent.KeyPath(key), {}};
  return ReadMapping(*node, parent.KeyPath(key), allowed);
}

void ConfigParser::ReadString(const Mapping& mapping, std::string_view key,
                              Presence presence, std::string* out) {
  if (failed()) return;
  const std::string key_path = mapping.KeyPath(key);
  const YAML::Node* node = mapping.Find(key);
  const bool empty = node == nullptr || node->IsNull() ||
                     (node->IsScalar() && node->Scalar().empty());
  if (empty) {
    if (presence == Presence::kRequired) {
      FailMissing(key_path, "a non-empty string");
    } else if (node != nullptr && presence == Presence::kOptionalNotEmpty) {
      Fail("key " + Quote(key_path) +
           " must not be empty; remove it to use the default, " + Quote(*out));
    }
    return;
  }
  if (!node->IsScalar()) {
    Fail("key " + Quote(key_path) + " must be a string, got " +
         DescribeValue(*node));
    return;
  }
  if (ContainsControl(node->Scalar())) {
    Fail("key " + Quote(key_path) + " must not contain control characters");
    return;
  }
  *out = node->Scalar();
}

void ConfigParser::ReadAbsolutePath(const Mapping& mapping,
                                    std::string_view key, Presence presence,
                                    std::string* out) {
  std::string value = *out;
  ReadString(mapping, key, presence, &value);
  if (failed() || value.empty()) return;
  if (!value.starts_with("/")) {
    Fail("key " + Quote(mapping.KeyPath(key)) +
         " must be an absolute path, got " + Quote(value));
    return;
  }
  *out = value;
}

void ConfigParser::ReadUrl(const Mapping& mapping, std::string_view key,
                           Presence presence, UrlKind kind, std::string* out) {
  if (failed()) return;
  const std::string key_path = mapping.KeyPath(key);
  const YAML::Node* node = mapping.Find(key);
  const bool empty = node == nullptr || node->IsNull() ||
                     (node->IsScalar() && node->Scalar().empty());
  if (empty) {
    if (presence == Presence::kRequired) {
      FailMissing(key_path, "an absolute https URL");
    }
    return;
  }
  if (!node->IsScalar()) {
    Fail("key " + Quote(key_path) + " must be an absolute https URL, got " +
         DescribeValue(*node));
    return;
  }

  std::string url = node->Scalar();
  std::string reason;
  std::optional<HttpUrl> parts = SplitHttpUrl(url, &reason);
  if (!parts) {
    Fail("key " + Quote(key_path) +
         " must be an absolute https URL without query or fragment, got " +
         Quote(url) + ", which " + reason);
    return;
  }
  if (!parts->https && !IsLoopbackHost(parts->host)) {
    Fail("key " + Quote(key_path) + " must use https, got " + Quote(url) +
         "; plain http is allowed only for a loopback host (127.0.0.0/8, "
         "localhost or [::1])");
    return;
  }

  // Paths are appended to a base URL, so one trailing slash is dropped to
  // avoid "//" in the result.
  if (kind == UrlKind::kBase && url.ends_with("/")) url.pop_back();
  if (kind == UrlKind::kBase && url.ends_with("/")) {
    Fail("key " + Quote(key_path) + " must not end with \"//\", got " +
         Quote(node->Scalar()));
    return;
  }
  *out = url;
}

void ConfigParser::ReadInt(const Mapping& mapping, std::string_view key,
                           int64_t min, int64_t max, int64_t* out) {
  if (failed()) return;
  const YAML::Node* node = mapping.Find(key);
  if (node == nullptr) return;
  int64_t value = 0;
  if (!node->IsScalar() || !ParseInt64(node->Scalar(), &value) || value < min ||
      value > max) {
    Fail("key " + Quote(mapping.KeyPath(key)) + " must be an integer from " +
         std::to_string(min) + " to " + std::to_string(max) + UnitOf(key) +
         ", got " + DescribeValue(*node));
    return;
  }
  *out = value;
}

void ConfigParser::ReadBool(const Mapping& mapping, std::string_view key,
                            bool* out) {
  if (failed()) return;
  const YAML::Node* node = mapping.Find(key);
  if (node == nullptr) return;
  // The YAML 1.2 core schema spellings only; yaml-cpp's own conversion would
  // also take "yes", "on" and "y".
  const std::string text = node->IsScalar() ? node->Scalar() : "";
  if (text == "true" || text == "True" || text == "TRUE") {
    *out = true;
  } else if (text == "false" || text == "False" || text == "FALSE") {
    *out = false;
  } else {
    Fail("key " + Quote(mapping.KeyPath(key)) + " must be true or false, got " +
         DescribeValue(*node));
  }
}

void ConfigParser::ReadScopes(const Mapping& mapping, std::string_view key,
                              std::vector<std::string>* out) {
  if (failed()) return;
  const std::string key_path = mapping.KeyPath(key);
  const YAML::Node* node = mapping.Find(key);
  if (node == nullptr || node->IsNull()) {
    FailMissing(key_path, "a non-empty list of scope names");
    return;
  }
  if (!node->IsSequence()) {
    Fail("key " + Quote(key_path) + " must be a list of scope names, got " +
         DescribeValue(*node));
    return;
  }
  if (node->size() == 0) {
    Fail("key " + Quote(key_path) + " must list at least one scope");
    return;
  }

  std::vector<std::string> scopes;
  std::set<std::string, std::less<>> seen;
  for (size_t i = 0; i < node->size(); ++i) {
    const YAML::Node item = (*node)[i];
    const std::string item_path = key_path + "[" + std::to_string(i) + "]";
    if (!item.IsScalar() || !IsScopeName(item.Scalar())) {
      Fail("key " + Quote(item_path) +
           " must be a scope name of lower-case letters and '_', got " +
           DescribeValue(item));
      return;
    }
    if (!seen.insert(item.Scalar()).second) {
      Fail("key " + Quote(key_path) + " lists " + Quote(item.Scalar()) +
           " twice");
      return;
    }
    scopes.push_back(item.Scalar());
  }
  *out = std::move(scopes);
}

void ConfigParser::ReadSecretRef(const Mapping& mapping, std::string_view key,
                                 SecretRef* out) {
  if (failed()) return;
  const std::string key_path = mapping.KeyPath(key);
  const YAML::Node* node = mapping.Find(key);
  if (node == nullptr || node->IsNull()) {
    FailMissing(key_path,
                std::string("a secret reference: ") + kSecretRefForms);
    return;
  }
  ParseSecretRef(*node, key_path, out);
}

void ConfigParser::ReadSecretRefList(const Mapping& mapping,
                                     std::string_view key,
                                     std::vector<SecretRef>* out) {
  if (failed()) return;
  const std::string key_path = mapping.KeyPath(key);
  const YAML::Node* node = mapping.Find(key);
  if (node == nullptr || node->IsNull()) return;
  if (!node->IsSequence()) {
    Fail("key " + Quote(key_path) +
         " must be a list of secret references, got " +
         DescribeValue(*node, false));
    return;
  }

  std::vector<SecretRef> refs(node->size());
  for (size_t i = 0; i < node->size(); ++i) {
    ParseSecretRef((*node)[i], key_path + "[" + std::to_string(i) + "]",
                   &refs[i]);
  }
  if (!failed()) *out = std::move(refs);
}

void ConfigParser::ParseSecretRef(const YAML::Node& node,
                                  const std::string& key_path, SecretRef* out) {
  if (failed()) return;
  // The value is not echoed: it may be the secret itself.
  if (node.IsScalar()) {
    Fail("key " + Quote(key_path) +
         " must be a secret reference, not an inline value, because secrets "
         "are never written in the config file. Use " +
         kSecretRefForms);
    return;
  }
  Mapping ref = ReadMapping(node, key_path, kSecretRefKeys);
  if (failed()) return;

  const YAML::Node* file = ref.Find("file");
  const YAML::Node* credential = ref.Find("credential");
  if ((file == nullptr) == (credential == nullptr)) {
    Fail("key " + Quote(key_path) + " must set exactly one of file and " +
         "credential, got " + (file == nullptr ? "neither" : "both") +
         "; use " + kSecretRefForms);
    return;
  }

  SecretRef parsed;
  if (file != nullptr) {
    if (!file->IsScalar() || !file->Scalar().starts_with("/") ||
        ContainsControl(file->Scalar())) {
      Fail("key " + Quote(ref.KeyPath("file")) +
           " must be an absolute path, got " + DescribeValue(*file));
      return;
    }
    parsed.file = file->Scalar();
  } else {
    if (!credential->IsScalar() || !IsCredentialName(credential->Scalar())) {
      Fail("key " + Quote(ref.KeyPath("credential")) +
           " must be a credential name without '/', got " +
           DescribeValue(*credential));
      return;
    }
    parsed.credential = credential->Scalar();
  }
  *out = std::move(parsed);
}

void ConfigParser::ParseSmartRecruiters(const Mapping& top,
                                        SmartRecruitersConfig* out) {
  Mapping section = ReadSection(top, "smartrecruiters", kSmartRecruitersKeys);
  ReadUrl(section, "api_base", Presence::kRequired, UrlKind::kBase,
          &out->api_base);
  ReadUrl(section, "web_base", Presence::kRequired, UrlKind::kBase,
          &out->web_base);
  ReadUrl(section, "partner_apps_url", Presence::kOptional, UrlKind::kPage,
          &out->partner_apps_url);
  ReadAbsolutePath(section, "ca_file", Presence::kOptional, &out->ca_file);
  ReadInt(section, "connect_timeout_ms", 1, kMaxTimeoutMs,
          &out->connect_timeout_ms);
  ReadInt(section, "read_timeout_ms", 1, kMaxTimeoutMs, &out->read_timeout_ms);
  ReadString(section, "master_client_id", Presence::kRequired,
             &out->master_client_id);
  ReadSecretRef(section, "master_client_secret", &out->master_client_secret);
  ReadScopes(section, "scopes", &out->scopes);
  if (!failed() && out->partner_apps_url.empty()) {
    out->partner_apps_url = out->web_base + "/partner-apps";
  }
}

void ConfigParser::ParsePartner(const Mapping& top, PartnerConfig* out) {
  Mapping section = ReadSection(top, "partner", kPartnerKeys);
  ReadString(section, "app_name", Presence::kOptionalNotEmpty, &out->app_name);
  ReadUrl(section, "public_base_url", Presence::kRequired, UrlKind::kBase,
          &out->public_base_url);
  ReadSecretRef(section, "link_secret", &out->link_secret);
  ReadUrl(section, "settings_url", Presence::kOptional, UrlKind::kPage,
          &out->settings_url);
}

void ConfigParser::ParseStore(const Mapping& top, StoreConfig* out) {
  Mapping section = ReadSection(top, "store", kStoreKeys);
  ReadAbsolutePath(section, "database", Presence::kOptionalNotEmpty,
                   &out->database);
  ReadSecretRef(section, "key", &out->key);
  ReadSecretRefList(section, "previous_keys", &out->previous_keys);
  ReadInt(section, "busy_timeout_ms", 1, kMaxTimeoutMs, &out->busy_timeout_ms);
}

void ConfigParser::ParseConsent(const Mapping& top, ConsentConfig* out) {
  Mapping section = ReadSection(top, "consent", kConsentKeys);
  ReadInt(section, "state_ttl_s", 60, kSecondsPerDay, &out->state_ttl_s);
  ReadBool(section, "cookie_secure", &out->cookie_secure);
}

void ConfigParser::ParseRefresh(const Mapping& top, RefreshConfig* out) {
  Mapping section = ReadSection(top, "refresh", kRefreshKeys);
  ReadInt(section, "margin_s", 0, kSecondsPerDay, &out->margin_s);
  ReadInt(section, "concurrency", 1, 256, &out->concurrency);
  ReadInt(section, "budget_s", 1, kSecondsPerDay, &out->budget_s);
  ReadInt(section, "lease_s", 1, kSecondsPerDay, &out->lease_s);
  ReadInt(section, "backoff_initial_s", 1, kSecondsPerDay,
          &out->backoff_initial_s);
  ReadInt(section, "backoff_max_s", 1, kSecondsPerDay, &out->backoff_max_s);
  ReadInt(section, "handout_threads", 1, kMaxHandOutThreads,
          &out->handout_threads);
}

void ConfigParser::CheckRulesAcrossKeys(const Config& config) {
  if (failed()) return;
  const SmartRecruitersConfig& sr = config.smartrecruiters;
  const RefreshConfig& refresh = config.refresh;

  HttpClientOptions http;
  http.connect_timeout_ms = sr.connect_timeout_ms;
  http.read_timeout_ms = sr.read_timeout_ms;
  const int64_t http_call_ms = LongestCallMs(http);
  if (refresh.lease_s * 1000 <= http_call_ms) {
    Fail(
        "key \"refresh.lease_s\" must be greater than the longest token "
        "request, smartrecruiters.connect_timeout_ms + read_timeout_ms + "
        "a retry window of min(1000, read_timeout_ms / 10) (" +
        std::to_string(http_call_ms) + " ms), got " +
        std::to_string(refresh.lease_s) +
        " s. The lease on a company's renewal must outlive one HTTP call, "
        "or a second process could renew the same company while the first "
        "call is still running");
    return;
  }

  if (refresh.backoff_max_s < refresh.backoff_initial_s) {
    Fail(
        "key \"refresh.backoff_max_s\" must be at least "
        "refresh.backoff_initial_s (" +
        std::to_string(refresh.backoff_initial_s) + " s), got " +
        std::to_string(refresh.backoff_max_s) + " s");
    return;
  }

  if (!config.consent.cookie_secure) {
    std::string reason;
    std::optional<HttpUrl> base =
        SplitHttpUrl(config.partner.public_base_url, &reason);
    if (!base || base->https || !IsLoopbackHost(base->host)) {
      Fail(
          "key \"consent.cookie_secure\" may be false only when "
          "partner.public_base_url is a plain-http loopback URL, got " +
          Quote(config.partner.public_base_url) +
          ". A state cookie without the Secure attribute can leak over "
          "plain HTTP");
      return;
    }
  }
}

Result<Config> ConfigParser::Parse(const YAML::Node& root) {
  Config config;
  config.path = file_;
  if (root.IsNull()) {
    Fail("the file is empty; expected a mapping with the keys " +
         JoinKeys(kTopLevelKeys));
    return status_;
  }

  Mapping top = ReadMapping(root, "", kTopLevelKeys);
  ParseSmartRecruiters(top, &config.smartrecruiters);
  ParsePartner(top, &config.partner);
  ParseStore(top, &config.store);
  ParseConsent(top, &config.consent);
  ParseRefresh(top, &config.refresh);
  CheckRulesAcrossKeys(config);
  if (failed()) return status_;
  return config;
}

std::string DescribeYamlError(const std::string& path,
                              const YAML::Exception& error) {
  if (error.mark.is_null()) return path + ": invalid YAML: " + error.msg;
  return path + ": invalid YAML at line " +
         std::to_string(error.mark.line + 1) + ", column " +
         std::to_string(error.mark.column + 1) + ": " + error.msg;
}

// A file descriptor that is closed when it goes out of scope.
class ScopedFd {
 public:
  ScopedFd() = default;
  ~ScopedFd() { reset(-1); }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;

  int get() const { return fd_; }

  // Closes the current descriptor, if any, and takes ownership of `fd`.
  void reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

std::string ErrnoText(int error) { return std::strerror(error); }

// Opens `path` for reading and checks that it is a regular file. O_NONBLOCK
// keeps open(2) from hanging on a FIFO; it has no effect on regular files.
// The error message completes "<what>: ...".
Status OpenRegularFile(const std::string& path, ScopedFd* fd,
                       struct stat* info) {
  fd->reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd->get() < 0) {
    return Status::Error("failed to open: " + ErrnoText(errno));
  }
  if (::fstat(fd->get(), info) != 0) {
    return Status::Error("fstat failed: " + ErrnoText(errno));
  }
  if (!S_ISREG(info->st_mode)) return Status::Error("not a regular file");
  return Status::Ok();
}

// Reads all of `fd` into `content`, failing when it contains more than
// `max_bytes`. The buffer is allocated once, so no partial copy of a
// secret is left behind in freed memory by a reallocation.
Status ReadAll(int fd, size_t max_bytes, std::string* content) {
  content->assign(max_bytes + 1, '\0');
  size_t used = 0;
  while (used < content->size()) {
    const ssize_t n =
        ::read(fd, content->data() + used, content->size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error("read failed: " + ErrnoText(errno));
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > max_bytes) {
    return Status::Error("larger than " + std::to_string(max_bytes) + " bytes");
  }
  content->resize(used);
  return Status::Ok();
}

// Names a secret for messages: `secret file "PATH"`, or
// `credential "NAME" (file "PATH")`.
std::string DescribeSecretSource(const SecretRef& ref,
                                 const std::string& path) {
  if (!ref.file.empty()) return "secret file " + Quote(path);
  return "credential " + Quote(ref.credential) + " (file " + Quote(path) + ")";
}

}  // namespace

std::string SecretRef::Describe() const {
  if (!file.empty() && !credential.empty()) {
    return "file " + Quote(file) + " and credential " + Quote(credential);
  }
  if (!file.empty()) return "file " + Quote(file);
  if (!credential.empty()) return "credential " + Quote(credential);
  return "empty secret reference";
}

Result<Config> ParseConfig(const std::string& yaml_text,
                           const std::string& path) {
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(yaml_text);
    if (documents.size() > 1) {
      return Status::Error(path + ": contains " +
                           std::to_string(documents.size()) +
                           " YAML documents; expected one");
    }
    const YAML::Node root =
        documents.empty() ? YAML::Node() : documents.front();
    return ConfigParser(path).Parse(root);
  } catch (const YAML::Exception& error) {
    return Status::Error(DescribeYamlError(path, error));
  }
}

Result<Config> LoadConfig(const std::string& path) {
  const std::string fix = "; pass --config PATH or set SRCONNECT_CONFIG";
  ScopedFd fd;
  struct stat info {};
  Status opened = OpenRegularFile(path, &fd, &info);
  if (!opened.ok()) {
    return Status::Error(path + ": config file: " + opened.message() + fix);
  }

  std::string text;
  Status read = ReadAll(fd.get(), kMaxConfigBytes, &text);
  if (!read.ok()) {
    return Status::Error(path + ": config file: " + read.message());
  }
  return ParseConfig(text, path);
}

std::string ResolveConfigPath(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  const char* from_environment = std::getenv("SRCONNECT_CONFIG");
  if (from_environment != nullptr && *from_environment != '\0') {
    return from_environment;
  }
  return kDefaultConfigPath;
}

Result<std::string> SecretPath(const SecretRef& ref) {
  if (ref.file.empty() == ref.credential.empty()) {
    return Status::Error("invalid secret reference (" + ref.Describe() +
                         "): set exactly one of file and credential");
  }
  if (!ref.file.empty()) {
    if (!ref.file.starts_with("/")) {
      return Status::Error("secret file " + Quote(ref.file) +
                           " must be an absolute path");
    }
    return ref.file;
  }

  if (!IsCredentialName(ref.credential)) {
    return Status::Error("credential " + Quote(ref.credential) +
                         " must be a name without '/'");
  }
  const char* directory = std::getenv("CREDENTIALS_DIRECTORY");
  if (directory == nullptr || *directory == '\0') {
    return Status::Error(
        "credential " + Quote(ref.credential) +
        ": the environment variable CREDENTIALS_DIRECTORY is not set. Start "
        "the service with LoadCredential=" +
        ref.credential +
        ":/path/to/secret, or use a file reference {file: /absolute/path}");
  }
  std::string path = directory;
  if (!path.ends_with("/")) path += '/';
  return path + ref.credential;
}

Result<Secret> ReadSecret(const SecretRef& ref) {
  Result<std::string> path = SecretPath(ref);
  if (!path.ok()) return path.status();
  const std::string source = DescribeSecretSource(ref, *path);

  ScopedFd fd;
  struct stat info {};
  Status opened = OpenRegularFile(*path, &fd, &info);
  if (!opened.ok()) return Status::Error(source + ": " + opened.message());

  // Checked on the open descriptor, so the file cannot be swapped between
  // the check and the read.
  if ((info.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o",
                  static_cast<unsigned>(info.st_mode & 07777));
    return Status::Error(source + " is readable by group or others (mode " +
                         mode + "); run chmod 600 " + *path +
                         " and make the service user its owner");
  }

  std::string content;
  Status read = ReadAll(fd.get(), kMaxSecretBytes, &content);
  if (!read.ok()) {
    OPENSSL_cleanse(content.data(), content.size());
    return Status::Error(source + ": " + read.message() +
                         "; expected one secret value");
  }
  while (!content.empty() &&
         (content.back() == '\n' || content.back() == '\r')) {
    content.pop_back();
  }
  if (content.empty()) {
    return Status::Error(source + " is empty; write the secret into it");
  }
  return Secret(std::move(content));
}

}  // namespace srconnect
