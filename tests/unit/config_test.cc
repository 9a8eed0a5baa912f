#define BOOST_TEST_MODULE config
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "config.h"
#include "secret.h"
#include "status.h"

namespace srconnect {
namespace {

constexpr char kFile[] = "test.yaml";

// The smallest valid config: only the required keys.
constexpr char kMinimal[] = R"(smartrecruiters:
  api_base: https://api.smartrecruiters.com
  web_base: https://www.smartrecruiters.com
  master_client_id: goodtime-master
  master_client_secret: {file: /etc/srconnect/master-secret}
  scopes: [interviews_read, jobs_read]
partner:
  public_base_url: https://connect.example.com
  link_secret: {credential: link-secret}
store:
  key: {file: /etc/srconnect/store.key}
)";

SecretRef FileRef(std::string path) {
  SecretRef ref;
  ref.file = std::move(path);
  return ref;
}

SecretRef CredentialRef(std::string name) {
  SecretRef ref;
  ref.credential = std::move(name);
  return ref;
}

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Returns `text` with its first `from` replaced by `to`.
std::string Replace(std::string text, std::string_view from,
                    std::string_view to) {
  const size_t at = text.find(from);
  BOOST_REQUIRE_MESSAGE(at != std::string::npos,
                        "\"" << from << "\" not found in the test config");
  text.replace(at, from.size(), to);
  return text;
}

// Returns `text` without the line that starts with `prefix`.
std::string RemoveLine(std::string text, std::string_view prefix) {
  const size_t at = text.find("\n" + std::string(prefix));
  BOOST_REQUIRE_MESSAGE(at != std::string::npos,
                        "line \"" << prefix << "\" not found");
  const size_t end = text.find('\n', at + 1);
  text.erase(at + 1, end - at);
  return text;
}

// Returns kMinimal with `line` added to `section`, which is created at the
// end when absent.
std::string WithKey(std::string_view section, std::string_view line) {
  std::string text = kMinimal;
  const std::string header = std::string(section) + ":\n";
  const std::string entry = "  " + std::string(line) + "\n";
  const size_t at = text.find(header);
  if (at == std::string::npos) return text + header + entry;
  text.insert(at + header.size(), entry);
  return text;
}

Config ParseValid(const std::string& text) {
  Result<Config> config = ParseConfig(text, kFile);
  BOOST_REQUIRE_MESSAGE(config.ok(), config.error() << "\nfor:\n" << text);
  return std::move(config).value();
}

std::string ParseError(const std::string& text) {
  Result<Config> config = ParseConfig(text, kFile);
  BOOST_REQUIRE_MESSAGE(!config.ok(), "expected an error for:\n" << text);
  return config.error();
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh directory under the system temporary directory, removed with its
// contents at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "config_test.XXXXXX")
            .string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::string& path() const { return path_; }

  // Writes `content` to `name` with permission bits `mode`, whatever the
  // umask, and returns the file's path.
  std::string WriteFile(const std::string& name, std::string_view content,
                        mode_t mode = 0600) {
    const std::string file = path_ + "/" + name;
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    BOOST_REQUIRE(fd >= 0);
    const ssize_t written = ::write(fd, content.data(), content.size());
    BOOST_REQUIRE(written == static_cast<ssize_t>(content.size()));
    BOOST_REQUIRE(::fchmod(fd, mode) == 0);
    BOOST_REQUIRE(::close(fd) == 0);
    return file;
  }

 private:
  std::string path_;
};

// Sets or unsets an environment variable and restores it on destruction.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, std::optional<std::string> value)
      : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) saved_ = old;
    Apply(value);
  }
  ~ScopedEnv() { Apply(saved_); }

 private:
  void Apply(const std::optional<std::string>& value) {
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

  std::string name_;
  std::optional<std::string> saved_;
};

std::string SamplePath() {
  return std::string(SRCONNECT_SOURCE_DIR) + "/etc/srconnect.yaml.sample";
}

BOOST_AUTO_TEST_SUITE(sample)

BOOST_AUTO_TEST_CASE(sample_file_loads) {
  Result<Config> config = LoadConfig(SamplePath());
  BOOST_REQUIRE_MESSAGE(config.ok(), config.error());
  BOOST_TEST(config->path == SamplePath());
  BOOST_TEST(config->smartrecruiters.api_base ==
             "https://api.smartrecruiters.com");
  BOOST_TEST(config->smartrecruiters.web_base ==
             "https://www.smartrecruiters.com");
  BOOST_TEST(config->smartrecruiters.partner_apps_url ==
             "https://www.smartrecruiters.com/partner-apps");
  BOOST_TEST(config->smartrecruiters.master_client_secret.file ==
             "/etc/srconnect/master-secret");
  BOOST_TEST(config->partner.app_name == "GoodTime Hire");
  BOOST_TEST(config->partner.link_secret.file == "/etc/srconnect/link-secret");
  BOOST_TEST(config->store.key.file == "/etc/srconnect/store.key");
  BOOST_TEST(config->store.previous_keys.empty());

  const std::vector<std::string>& scopes = config->smartrecruiters.scopes;
  BOOST_TEST(scopes.size() >= 3u);
  BOOST_TEST(scopes.front() == "interviews_read");
}

BOOST_AUTO_TEST_CASE(sample_values_match_defaults) {
  Result<Config> config = LoadConfig(SamplePath());
  BOOST_REQUIRE_MESSAGE(config.ok(), config.error());
  const Config defaults;
  BOOST_TEST(config->smartrecruiters.ca_file ==
             defaults.smartrecruiters.ca_file);
  BOOST_TEST(config->smartrecruiters.connect_timeout_ms ==
             defaults.smartrecruiters.connect_timeout_ms);
  BOOST_TEST(config->smartrecruiters.read_timeout_ms ==
             defaults.smartrecruiters.read_timeout_ms);
  BOOST_TEST(config->store.database == defaults.store.database);
  BOOST_TEST(config->store.busy_timeout_ms == defaults.store.busy_timeout_ms);
  BOOST_TEST(config->consent.state_ttl_s == defaults.consent.state_ttl_s);
  BOOST_TEST(config->consent.cookie_secure == defaults.consent.cookie_secure);
  BOOST_TEST(config->refresh.margin_s == defaults.refresh.margin_s);
  BOOST_TEST(config->refresh.concurrency == defaults.refresh.concurrency);
  BOOST_TEST(config->refresh.budget_s == defaults.refresh.budget_s);
  BOOST_TEST(config->refresh.lease_s == defaults.refresh.lease_s);
  BOOST_TEST(config->refresh.backoff_initial_s ==
             defaults.refresh.backoff_initial_s);
  BOOST_TEST(config->refresh.backoff_max_s == defaults.refresh.backoff_max_s);
  BOOST_TEST(config->refresh.handout_threads ==
             defaults.refresh.handout_threads);
}

BOOST_AUTO_TEST_CASE(sample_mentions_every_key) {
  const std::string text = ReadText(SamplePath());
  BOOST_REQUIRE(!text.empty());
  const char* keys[] = {"smartrecruiters",
                        "api_base",
                        "web_base",
                        "partner_apps_url",
                        "ca_file",
                        "connect_timeout_ms",
                        "read_timeout_ms",
                        "master_client_id",
                        "master_client_secret",
                        "scopes",
                        "partner",
                        "app_name",
                        "public_base_url",
                        "link_secret",
                        "settings_url",
                        "store",
                        "database",
                        "key",
                        "previous_keys",
                        "busy_timeout_ms",
                        "consent",
                        "state_ttl_s",
                        "cookie_secure",
                        "refresh",
                        "margin_s",
                        "concurrency",
                        "budget_s",
                        "lease_s",
                        "backoff_initial_s",
                        "backoff_max_s",
                        "handout_threads"};
  for (const char* key : keys) {
    BOOST_TEST_CONTEXT("key " << key) {
      BOOST_TEST(Contains(text, std::string(key) + ":"));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(defaults)

BOOST_AUTO_TEST_CASE(minimal_config_gets_documented_defaults) {
  const Config config = ParseValid(kMinimal);
  BOOST_TEST(config.path == kFile);

  const SmartRecruitersConfig& sr = config.smartrecruiters;
  BOOST_TEST(sr.api_base == "https://api.smartrecruiters.com");
  BOOST_TEST(sr.web_base == "https://www.smartrecruiters.com");
  BOOST_TEST(sr.partner_apps_url ==
             "https://www.smartrecruiters.com/partner-apps");
  BOOST_TEST(sr.ca_file == "");
  BOOST_TEST(sr.connect_timeout_ms == 5000);
  BOOST_TEST(sr.read_timeout_ms == 15000);
  BOOST_TEST(sr.master_client_id == "goodtime-master");
  BOOST_TEST(sr.master_client_secret.file == "/etc/srconnect/master-secret");
  BOOST_TEST(sr.master_client_secret.credential == "");
  BOOST_TEST(
      sr.scopes == (std::vector<std::string>{"interviews_read", "jobs_read"}),
      boost::test_tools::per_element());

  BOOST_TEST(config.partner.app_name == "GoodTime Hire");
  BOOST_TEST(config.partner.public_base_url == "https://connect.example.com");
  BOOST_TEST(config.partner.link_secret.credential == "link-secret");
  BOOST_TEST(config.partner.link_secret.file == "");
  BOOST_TEST(config.partner.settings_url == "");

  BOOST_TEST(config.store.database == "/var/lib/srconnect/srconnect.db");
  BOOST_TEST(config.store.key.file == "/etc/srconnect/store.key");
  BOOST_TEST(config.store.previous_keys.empty());
  BOOST_TEST(config.store.busy_timeout_ms == 5000);

  BOOST_TEST(config.consent.state_ttl_s == 900);
  BOOST_TEST(config.consent.cookie_secure);

  BOOST_TEST(config.refresh.margin_s == 600);
  BOOST_TEST(config.refresh.concurrency == 8);
  BOOST_TEST(config.refresh.budget_s == 240);
  BOOST_TEST(config.refresh.lease_s == 60);
  BOOST_TEST(config.refresh.backoff_initial_s == 30);
  BOOST_TEST(config.refresh.backoff_max_s == 3600);
  BOOST_TEST(config.refresh.handout_threads == 4);
}

BOOST_AUTO_TEST_CASE(explicit_values_replace_defaults) {
  std::string text = kMinimal;
  text = Replace(text, "  master_client_id:",
                 "  partner_apps_url: https://www.smartrecruiters.com/apps\n"
                 "  ca_file: /etc/ssl/sr.pem\n"
                 "  master_client_id:");
  text = Replace(text, "  link_secret:",
                 "  app_name: Acme Scheduling\n"
                 "  settings_url: https://hire.example.com/settings/\n"
                 "  link_secret:");
  text += "consent:\n  state_ttl_s: 600\nrefresh:\n  concurrency: 4\n";
  const Config config = ParseValid(text);
  BOOST_TEST(config.smartrecruiters.partner_apps_url ==
             "https://www.smartrecruiters.com/apps");
  BOOST_TEST(config.smartrecruiters.ca_file == "/etc/ssl/sr.pem");
  BOOST_TEST(config.partner.app_name == "Acme Scheduling");
  BOOST_TEST(config.partner.settings_url ==
             "https://hire.example.com/settings/");
  BOOST_TEST(config.consent.state_ttl_s == 600);
  BOOST_TEST(config.refresh.concurrency == 4);
}

BOOST_AUTO_TEST_CASE(empty_sections_keep_defaults) {
  const Config config =
      ParseValid(std::string(kMinimal) + "consent:\nrefresh: {}\n");
  BOOST_TEST(config.consent.state_ttl_s == 900);
  BOOST_TEST(config.refresh.concurrency == 8);
}

BOOST_AUTO_TEST_CASE(rejects_empty_value_for_key_with_default) {
  const std::string error = ParseError(WithKey("partner", "app_name: \"\""));
  BOOST_TEST(error ==
             "test.yaml: key \"partner.app_name\" must not be empty; remove "
             "it to use the default, \"GoodTime Hire\"");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(syntax)

BOOST_AUTO_TEST_CASE(reports_file_line_and_column) {
  const std::string error = ParseError(
      "smartrecruiters:\n  api_base: https://a.example\n web_base: x\n");
  BOOST_TEST(error.starts_with("test.yaml: invalid YAML at line 3, column 2: "),
             error);
}

BOOST_AUTO_TEST_CASE(load_config_reports_path_of_syntax_error) {
  TempDir dir;
  const std::string path =
      dir.WriteFile("srconnect.yaml", "partner: [unclosed\n");
  Result<Config> config = LoadConfig(path);
  BOOST_REQUIRE(!config.ok());
  BOOST_TEST(config.error().starts_with(path + ": invalid YAML at line "),
             config.error());
}

BOOST_AUTO_TEST_CASE(rejects_empty_file) {
  BOOST_TEST(ParseError("") ==
             "test.yaml: the file is empty; expected a mapping with the keys "
             "smartrecruiters, partner, store, consent, refresh");
  BOOST_TEST(ParseError("# nothing yet\n")
                 .starts_with("test.yaml: the file is empty"));
}

BOOST_AUTO_TEST_CASE(rejects_document_that_is_not_mapping) {
  const std::string error = ParseError("- smartrecruiters\n- partner\n");
  BOOST_TEST(error ==
             "test.yaml: expected a mapping with the keys smartrecruiters, "
             "partner, store, consent, refresh, got a list");
}

BOOST_AUTO_TEST_CASE(rejects_second_document) {
  const std::string error =
      ParseError(std::string(kMinimal) + "---\nrefresh: {}\n");
  BOOST_TEST(error == "test.yaml: contains 2 YAML documents; expected one");
}

BOOST_AUTO_TEST_CASE(rejects_repeated_key) {
  const std::string error =
      ParseError(WithKey("partner", "public_base_url: https://b.example"));
  BOOST_TEST(error ==
             "test.yaml: key \"partner.public_base_url\" appears twice, at "
             "lines 8 and 9");
}

BOOST_AUTO_TEST_CASE(rejects_key_that_is_not_string) {
  const std::string error =
      ParseError(std::string(kMinimal) + "? [a, b]\n: c\n");
  BOOST_TEST(error ==
             "test.yaml: the top level contains a key that is not a string, "
             "at line 12");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(keys)

BOOST_AUTO_TEST_CASE(rejects_missing_required_key) {
  struct Case {
    const char* line;
    const char* key_path;
  };
  const Case cases[] = {
      {"  api_base:", "smartrecruiters.api_base"},
      {"  web_base:", "smartrecruiters.web_base"},
      {"  master_client_id:", "smartrecruiters.master_client_id"},
      {"  master_client_secret:", "smartrecruiters.master_client_secret"},
      {"  scopes:", "smartrecruiters.scopes"},
      {"  public_base_url:", "partner.public_base_url"},
      {"  link_secret:", "partner.link_secret"},
      {"  key:", "store.key"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("without " << c.key_path) {
      const std::string error = ParseError(RemoveLine(kMinimal, c.line));
      const std::string expected =
          std::string("test.yaml: missing required key \"") + c.key_path +
          "\"; expected ";
      BOOST_TEST(error.starts_with(expected), error);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_missing_required_section) {
  std::string text = RemoveLine(kMinimal, "store:");
  text = RemoveLine(text, "  key:");
  BOOST_TEST(ParseError(text).starts_with(
      "test.yaml: missing required key \"store.key\""));
}

BOOST_AUTO_TEST_CASE(rejects_empty_required_value) {
  const std::string error = ParseError(Replace(
      kMinimal, "master_client_id: goodtime-master", "master_client_id: \"\""));
  BOOST_TEST(error ==
             "test.yaml: missing required key "
             "\"smartrecruiters.master_client_id\"; expected a non-empty "
             "string");
}

BOOST_AUTO_TEST_CASE(rejects_unknown_top_level_key) {
  const std::string error =
      ParseError(std::string(kMinimal) + "logging:\n  level: debug\n");
  BOOST_TEST(error ==
             "test.yaml: unknown key \"logging\"; expected one of: "
             "smartrecruiters, partner, store, consent, refresh");
}

BOOST_AUTO_TEST_CASE(rejects_unknown_nested_key) {
  const std::string error =
      ParseError(Replace(kMinimal, "  api_base:", "  api_bsae:"));
  BOOST_TEST(error ==
             "test.yaml: unknown key \"smartrecruiters.api_bsae\"; expected "
             "one of: api_base, web_base, partner_apps_url, ca_file, "
             "connect_timeout_ms, read_timeout_ms, master_client_id, "
             "master_client_secret, scopes");
}

BOOST_AUTO_TEST_CASE(rejects_unknown_key_in_optional_section) {
  const std::string error = ParseError(WithKey("refresh", "margin: 600"));
  BOOST_TEST(error ==
             "test.yaml: unknown key \"refresh.margin\"; expected one of: "
             "margin_s, concurrency, budget_s, lease_s, backoff_initial_s, "
             "backoff_max_s, handout_threads");
}

BOOST_AUTO_TEST_CASE(rejects_unknown_key_in_secret_ref) {
  const std::string error =
      ParseError(Replace(kMinimal, "{file: /etc/srconnect/store.key}",
                         "{file: /etc/srconnect/store.key, mode: 600}"));
  BOOST_TEST(error ==
             "test.yaml: unknown key \"store.key.mode\"; expected one of: "
             "file, credential");
}

BOOST_AUTO_TEST_CASE(rejects_unknown_key_in_list_item) {
  const std::string error = ParseError(WithKey(
      "store", "previous_keys: [{file: /etc/a.key}, {path: /etc/b.key}]"));
  BOOST_TEST(error ==
             "test.yaml: unknown key \"store.previous_keys[1].path\"; "
             "expected one of: file, credential");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(types)

BOOST_AUTO_TEST_CASE(rejects_list_for_string) {
  const std::string error =
      ParseError(Replace(kMinimal, "master_client_id: goodtime-master",
                         "master_client_id: [a, b]"));
  BOOST_TEST(error ==
             "test.yaml: key \"smartrecruiters.master_client_id\" must be a "
             "string, got a list");
}

BOOST_AUTO_TEST_CASE(rejects_word_for_integer) {
  BOOST_TEST(ParseError(WithKey("refresh", "concurrency: lots")) ==
             "test.yaml: key \"refresh.concurrency\" must be an integer from "
             "1 to 256, got \"lots\"");
}

BOOST_AUTO_TEST_CASE(rejects_other_values_for_integer) {
  const char* values[] = {
      "2.5", "1e3",    "0x10", "+8", "8 workers", "99999999999999999999",
      "[8]", "{n: 8}", "\"\"", "~"};
  for (const char* value : values) {
    BOOST_TEST_CONTEXT("concurrency: " << value) {
      const std::string error =
          ParseError(WithKey("refresh", std::string("concurrency: ") + value));
      BOOST_TEST(error.starts_with("test.yaml: key \"refresh.concurrency\" "
                                   "must be an integer from 1 to 256, got "),
                 error);
    }
  }
}

BOOST_AUTO_TEST_CASE(names_unit_in_range_message) {
  BOOST_TEST(ParseError(WithKey("consent", "state_ttl_s: soon")) ==
             "test.yaml: key \"consent.state_ttl_s\" must be an integer from "
             "60 to 86400 (seconds), got \"soon\"");
  BOOST_TEST(ParseError(WithKey("store", "busy_timeout_ms: 0")) ==
             "test.yaml: key \"store.busy_timeout_ms\" must be an integer "
             "from 1 to 600000 (milliseconds), got \"0\"");
}

BOOST_AUTO_TEST_CASE(rejects_non_boolean_cookie_secure) {
  BOOST_TEST(ParseError(WithKey("consent", "cookie_secure: yes")) ==
             "test.yaml: key \"consent.cookie_secure\" must be true or "
             "false, got \"yes\"");
  BOOST_TEST(ParseError(WithKey("consent", "cookie_secure: 1")) ==
             "test.yaml: key \"consent.cookie_secure\" must be true or "
             "false, got \"1\"");
}

BOOST_AUTO_TEST_CASE(rejects_section_that_is_not_mapping) {
  BOOST_TEST(ParseError(std::string(kMinimal) + "consent: true\n") ==
             "test.yaml: key \"consent\" must be a mapping with the keys "
             "state_ttl_s, cookie_secure, got \"true\"");
}

BOOST_AUTO_TEST_CASE(rejects_relative_paths) {
  BOOST_TEST(ParseError(WithKey("store", "database: srconnect.db")) ==
             "test.yaml: key \"store.database\" must be an absolute path, "
             "got \"srconnect.db\"");
  BOOST_TEST(ParseError(WithKey("smartrecruiters", "ca_file: ca.pem")) ==
             "test.yaml: key \"smartrecruiters.ca_file\" must be an absolute "
             "path, got \"ca.pem\"");
}

BOOST_AUTO_TEST_CASE(rejects_control_characters_in_string) {
  const std::string error =
      ParseError(WithKey("partner", "app_name: \"Goodtime\\tHire\""));
  BOOST_TEST(error ==
             "test.yaml: key \"partner.app_name\" must not contain control "
             "characters");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(scopes)

BOOST_AUTO_TEST_CASE(rejects_scope_string_instead_of_list) {
  BOOST_TEST(ParseError(Replace(kMinimal, "[interviews_read, jobs_read]",
                                "interviews_read jobs_read")) ==
             "test.yaml: key \"smartrecruiters.scopes\" must be a list of "
             "scope names, got \"interviews_read jobs_read\"");
}

BOOST_AUTO_TEST_CASE(rejects_empty_scope_list) {
  BOOST_TEST(
      ParseError(Replace(kMinimal, "[interviews_read, jobs_read]", "[]")) ==
      "test.yaml: key \"smartrecruiters.scopes\" must list at least "
      "one scope");
}

BOOST_AUTO_TEST_CASE(rejects_invalid_scope_names) {
  const char* names[] = {"Jobs_read",  "jobs-read", "jobs read",
                         "jobs_read2", "\"\"",      "[jobs_read]"};
  for (const char* name : names) {
    BOOST_TEST_CONTEXT("scope " << name) {
      const std::string error =
          ParseError(Replace(kMinimal, "[interviews_read, jobs_read]",
                             std::string("[interviews_read, ") + name + "]"));
      BOOST_TEST(error.starts_with(
                     "test.yaml: key \"smartrecruiters.scopes[1]\" must be a "
                     "scope name of lower-case letters and '_', got "),
                 error);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_scope) {
  BOOST_TEST(ParseError(Replace(kMinimal, "[interviews_read, jobs_read]",
                                "[jobs_read, interviews_read, jobs_read]")) ==
             "test.yaml: key \"smartrecruiters.scopes\" lists \"jobs_read\" "
             "twice");
}

BOOST_AUTO_TEST_CASE(keeps_scope_order) {
  const Config config = ParseValid(Replace(
      kMinimal, "[interviews_read, jobs_read]",
      "\n    - users_read\n    - interviews_write\n    - user_me_read"));
  BOOST_TEST(config.smartrecruiters.scopes ==
                 (std::vector<std::string>{"users_read", "interviews_write",
                                           "user_me_read"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ranges)

BOOST_AUTO_TEST_CASE(rejects_out_of_range_integers) {
  struct Case {
    const char* section;
    const char* key;
    const char* value;
  };
  const Case cases[] = {
      {"smartrecruiters", "connect_timeout_ms", "0"},
      {"smartrecruiters", "connect_timeout_ms", "600001"},
      {"smartrecruiters", "read_timeout_ms", "-1"},
      {"smartrecruiters", "read_timeout_ms", "600001"},
      {"store", "busy_timeout_ms", "600001"},
      {"consent", "state_ttl_s", "59"},
      {"consent", "state_ttl_s", "86401"},
      {"refresh", "margin_s", "-1"},
      {"refresh", "margin_s", "86401"},
      {"refresh", "concurrency", "0"},
      {"refresh", "concurrency", "257"},
      {"refresh", "budget_s", "0"},
      {"refresh", "budget_s", "86401"},
      {"refresh", "lease_s", "0"},
      {"refresh", "lease_s", "86401"},
      {"refresh", "backoff_initial_s", "0"},
      {"refresh", "backoff_initial_s", "86401"},
      {"refresh", "backoff_max_s", "0"},
      {"refresh", "backoff_max_s", "86401"},
      {"refresh", "handout_threads", "0"},
      {"refresh", "handout_threads", "65"},
  };
  for (const Case& c : cases) {
    const std::string key_path = std::string(c.section) + "." + c.key;
    BOOST_TEST_CONTEXT(key_path << ": " << c.value) {
      const std::string error =
          ParseError(WithKey(c.section, std::string(c.key) + ": " + c.value));
      const std::string expected =
          "test.yaml: key \"" + key_path + "\" must be an integer from ";
      BOOST_TEST(error.starts_with(expected), error);
      BOOST_TEST(error.ends_with(std::string(", got \"") + c.value + "\""),
                 error);
    }
  }
}

BOOST_AUTO_TEST_CASE(accepts_lower_limits) {
  std::string text = WithKey("smartrecruiters", "connect_timeout_ms: 1");
  text += "consent:\n  state_ttl_s: 60\n";
  text +=
      "refresh:\n  margin_s: 0\n  concurrency: 1\n  budget_s: 1\n"
      "  lease_s: 1\n  backoff_initial_s: 1\n  backoff_max_s: 1\n"
      "  handout_threads: 1\n";
  text = Replace(text, "  connect_timeout_ms: 1\n",
                 "  connect_timeout_ms: 1\n  read_timeout_ms: 1\n");
  text = Replace(text, "  key:", "  busy_timeout_ms: 1\n  key:");
  const Config config = ParseValid(text);
  BOOST_TEST(config.smartrecruiters.connect_timeout_ms == 1);
  BOOST_TEST(config.smartrecruiters.read_timeout_ms == 1);
  BOOST_TEST(config.store.busy_timeout_ms == 1);
  BOOST_TEST(config.consent.state_ttl_s == 60);
  BOOST_TEST(config.refresh.margin_s == 0);
  BOOST_TEST(config.refresh.concurrency == 1);
  BOOST_TEST(config.refresh.budget_s == 1);
  BOOST_TEST(config.refresh.lease_s == 1);
  BOOST_TEST(config.refresh.backoff_initial_s == 1);
  BOOST_TEST(config.refresh.backoff_max_s == 1);
  BOOST_TEST(config.refresh.handout_threads == 1);
}

BOOST_AUTO_TEST_CASE(accepts_upper_limits) {
  std::string text = WithKey("smartrecruiters", "connect_timeout_ms: 600000");
  text += "consent:\n  state_ttl_s: 86400\n";
  text +=
      "refresh:\n  margin_s: 86400\n  concurrency: 256\n"
      "  budget_s: 86400\n  lease_s: 86400\n"
      "  backoff_initial_s: 86400\n  backoff_max_s: 86400\n"
      "  handout_threads: 64\n";
  text = Replace(text, "  connect_timeout_ms: 600000\n",
                 "  connect_timeout_ms: 600000\n  read_timeout_ms: 600000\n");
  text = Replace(text, "  key:", "  busy_timeout_ms: 600000\n  key:");
  const Config config = ParseValid(text);
  BOOST_TEST(config.smartrecruiters.connect_timeout_ms == 600000);
  BOOST_TEST(config.smartrecruiters.read_timeout_ms == 600000);
  BOOST_TEST(config.store.busy_timeout_ms == 600000);
  BOOST_TEST(config.consent.state_ttl_s == 86400);
  BOOST_TEST(config.refresh.margin_s == 86400);
  BOOST_TEST(config.refresh.concurrency == 256);
  BOOST_TEST(config.refresh.budget_s == 86400);
  BOOST_TEST(config.refresh.lease_s == 86400);
  BOOST_TEST(config.refresh.backoff_initial_s == 86400);
  BOOST_TEST(config.refresh.backoff_max_s == 86400);
  BOOST_TEST(config.refresh.handout_threads == 64);
}

BOOST_AUTO_TEST_CASE(rejects_lease_shorter_than_http_call) {
  // Defaults: 5000 ms connect + 15000 ms read + a 1000 ms retry window, so
  // the lease must exceed 21 s.
  const std::string error = ParseError(WithKey("refresh", "lease_s: 21"));
  BOOST_TEST(error.starts_with(
                 "test.yaml: key \"refresh.lease_s\" must be greater than "
                 "the longest token request, "
                 "smartrecruiters.connect_timeout_ms + read_timeout_ms + a "
                 "retry window of min(1000, read_timeout_ms / 10) "
                 "(21000 ms), got 21 s."),
             error);
  BOOST_TEST(Contains(error, "must outlive one HTTP call"), error);

  const Config config = ParseValid(WithKey("refresh", "lease_s: 22"));
  BOOST_TEST(config.refresh.lease_s == 22);
}

BOOST_AUTO_TEST_CASE(rounds_lease_limit_up_to_whole_second) {
  // 2500 ms of timeouts and a 150 ms retry window: a 2 s lease ends before
  // the call, 3 s outlives it.
  std::string text = WithKey("smartrecruiters", "connect_timeout_ms: 1000");
  text = Replace(text, "  connect_timeout_ms: 1000\n",
                 "  connect_timeout_ms: 1000\n  read_timeout_ms: 1500\n");
  const std::string too_short = text + "refresh:\n  lease_s: 2\n";
  BOOST_TEST(Contains(ParseError(too_short), "(2650 ms), got 2 s"));

  const Config config = ParseValid(text + "refresh:\n  lease_s: 3\n");
  BOOST_TEST(config.refresh.lease_s == 3);
}

BOOST_AUTO_TEST_CASE(rejects_backoff_max_below_initial) {
  const std::string error =
      ParseError(std::string(kMinimal) +
                 "refresh:\n  backoff_initial_s: 60\n  backoff_max_s: 30\n");
  BOOST_TEST(error ==
             "test.yaml: key \"refresh.backoff_max_s\" must be at least "
             "refresh.backoff_initial_s (60 s), got 30 s");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(urls)

std::string WithApiBase(std::string_view url) {
  return Replace(kMinimal, "api_base: https://api.smartrecruiters.com",
                 "api_base: \"" + std::string(url) + "\"");
}

BOOST_AUTO_TEST_CASE(rejects_http_api_base_on_public_host) {
  BOOST_TEST(ParseError(WithApiBase("http://api.smartrecruiters.com")) ==
             "test.yaml: key \"smartrecruiters.api_base\" must use https, "
             "got \"http://api.smartrecruiters.com\"; plain http is allowed "
             "only for a loopback host (127.0.0.0/8, localhost or [::1])");
}

BOOST_AUTO_TEST_CASE(rejects_http_on_hosts_that_only_look_local) {
  const char* urls[] = {"http://127.0.0.1.example.com",
                        "http://localhost.example.com",
                        "http://128.0.0.1",
                        "http://10.0.0.1",
                        "http://[::2]",
                        "http://127.0.0",
                        "http://127.0.0.256",
                        "http://0.0.0.0"};
  for (const char* url : urls) {
    BOOST_TEST_CONTEXT("api_base " << url) {
      const std::string error = ParseError(WithApiBase(url));
      BOOST_TEST(Contains(error, "must use https"), error);
    }
  }
}

BOOST_AUTO_TEST_CASE(accepts_http_on_loopback_hosts) {
  const char* urls[] = {"http://127.0.0.1:8080", "http://127.5.6.7",
                        "http://localhost:9000", "http://LocalHost",
                        "http://[::1]:8443",     "http://127.0.0.1/sr"};
  for (const char* url : urls) {
    BOOST_TEST_CONTEXT("api_base " << url) {
      const Config config = ParseValid(WithApiBase(url));
      BOOST_TEST(config.smartrecruiters.api_base == url);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_malformed_urls) {
  struct Case {
    const char* url;
    const char* reason;
  };
  const Case cases[] = {
      {"api.smartrecruiters.com", "does not start with https:// or http://"},
      {"ftp://api.smartrecruiters.com", "does not start with https://"},
      {"HTTPS://api.smartrecruiters.com", "does not start with https://"},
      {"https://", "has no host"},
      {"https:///v1", "has no host"},
      {"https://api.smartrecruiters.com?x=1", "has a query or fragment"},
      {"https://api.smartrecruiters.com/#top", "has a query or fragment"},
      {"https://user:pw@api.smartrecruiters.com", "user name or password"},
      {"https://api.smartrecruiters.com:0", "has an invalid port"},
      {"https://api.smartrecruiters.com:70000", "has an invalid port"},
      {"https://api.smartrecruiters.com:", "has an invalid port"},
      {"https://api.smartrecruiters.com:https", "has an invalid port"},
      {"https://api smartrecruiters.com", "contains a space"},
      {"https://api.smart%72ecruiters.com", "has an invalid host name"},
      {"https://[::1", "without a closing ']'"},
      {"https://[::1]x", "has text after the IPv6 address"},
      {"https://[example]", "has an invalid IPv6 address"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("api_base " << c.url) {
      const std::string error = ParseError(WithApiBase(c.url));
      BOOST_TEST(error.starts_with("test.yaml: key \"smartrecruiters.api_base\""
                                   " must be an absolute https URL without "
                                   "query or fragment, got \""),
                 error);
      BOOST_TEST(Contains(error, c.reason), error);
    }
  }
}

BOOST_AUTO_TEST_CASE(strips_one_trailing_slash_from_base_urls) {
  std::string text = Replace(kMinimal, "https://www.smartrecruiters.com",
                             "https://www.smartrecruiters.com/");
  text = Replace(text, "https://connect.example.com",
                 "https://connect.example.com/sr/");
  const Config config =
      ParseValid(Replace(text, "https://api.smartrecruiters.com",
                         "https://api.smartrecruiters.com/"));
  BOOST_TEST(config.smartrecruiters.api_base ==
             "https://api.smartrecruiters.com");
  BOOST_TEST(config.smartrecruiters.web_base ==
             "https://www.smartrecruiters.com");
  BOOST_TEST(config.smartrecruiters.partner_apps_url ==
             "https://www.smartrecruiters.com/partner-apps");
  BOOST_TEST(config.partner.public_base_url ==
             "https://connect.example.com/sr");
}

BOOST_AUTO_TEST_CASE(rejects_base_url_ending_in_two_slashes) {
  BOOST_TEST(ParseError(WithApiBase("https://api.smartrecruiters.com//")) ==
             "test.yaml: key \"smartrecruiters.api_base\" must not end with "
             "\"//\", got \"https://api.smartrecruiters.com//\"");
}

BOOST_AUTO_TEST_CASE(checks_page_urls) {
  const std::string http_settings =
      WithKey("partner", "settings_url: http://hire.example.com/settings");
  BOOST_TEST(Contains(ParseError(http_settings),
                      "key \"partner.settings_url\" must use https"));

  const std::string query_apps = WithKey(
      "smartrecruiters", "partner_apps_url: https://www.example.com/a?b=c");
  BOOST_TEST(Contains(ParseError(query_apps),
                      "key \"smartrecruiters.partner_apps_url\" must be an "
                      "absolute https URL"));
}

BOOST_AUTO_TEST_CASE(rejects_cookie_secure_false_on_https) {
  const std::string error =
      ParseError(WithKey("consent", "cookie_secure: false"));
  BOOST_TEST(error ==
             "test.yaml: key \"consent.cookie_secure\" may be false only when "
             "partner.public_base_url is a plain-http loopback URL, got "
             "\"https://connect.example.com\". A state cookie without the "
             "Secure attribute can leak over plain HTTP");

  const std::string https_loopback =
      Replace(WithKey("consent", "cookie_secure: false"),
              "https://connect.example.com", "https://localhost:8443");
  BOOST_TEST(Contains(ParseError(https_loopback), "may be false only when"));
}

BOOST_AUTO_TEST_CASE(accepts_cookie_secure_false_on_http_loopback) {
  const Config config = ParseValid(
      Replace(WithKey("consent", "cookie_secure: false"),
              "https://connect.example.com", "http://127.0.0.1:8080"));
  BOOST_TEST(!config.consent.cookie_secure);
  BOOST_TEST(config.partner.public_base_url == "http://127.0.0.1:8080");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(secret_refs)

constexpr char kInlineSecret[] = "s3cr3t-inline-value";

BOOST_AUTO_TEST_CASE(rejects_inline_secret_string) {
  const std::string error = ParseError(
      Replace(kMinimal, "{file: /etc/srconnect/master-secret}", kInlineSecret));
  BOOST_TEST(error ==
             "test.yaml: key \"smartrecruiters.master_client_secret\" must be "
             "a secret reference, not an inline value, because secrets are "
             "never written in the config file. Use {file: /absolute/path} "
             "for a file that only the service user can read, or "
             "{credential: NAME} for a systemd credential (LoadCredential=)");
  BOOST_TEST(!Contains(error, kInlineSecret));
}

BOOST_AUTO_TEST_CASE(never_echoes_inline_secret) {
  const std::string texts[] = {
      Replace(kMinimal, "{credential: link-secret}", kInlineSecret),
      Replace(kMinimal, "{file: /etc/srconnect/store.key}", kInlineSecret),
      WithKey("store", std::string("previous_keys: [") + kInlineSecret + "]"),
      WithKey("store", std::string("previous_keys: ") + kInlineSecret),
  };
  for (const std::string& text : texts) {
    BOOST_TEST_CONTEXT(text) {
      const std::string error = ParseError(text);
      BOOST_TEST(!Contains(error, kInlineSecret), error);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_both_or_neither_source) {
  const std::string both = ParseError(
      Replace(kMinimal, "{credential: link-secret}",
              "{credential: link-secret, file: /etc/srconnect/link-secret}"));
  BOOST_TEST(both.starts_with("test.yaml: key \"partner.link_secret\" must "
                              "set exactly one of file and credential, got "
                              "both; use {file: "),
             both);
  const std::string neither =
      ParseError(Replace(kMinimal, "{credential: link-secret}", "{}"));
  BOOST_TEST(neither.starts_with("test.yaml: key \"partner.link_secret\" "
                                 "must set exactly one of file and "
                                 "credential, got neither"),
             neither);
}

BOOST_AUTO_TEST_CASE(rejects_relative_secret_file) {
  BOOST_TEST(
      ParseError(Replace(kMinimal, "/etc/srconnect/store.key", "store.key")) ==
      "test.yaml: key \"store.key.file\" must be an absolute path, got "
      "\"store.key\"");
}

BOOST_AUTO_TEST_CASE(rejects_invalid_credential_names) {
  const char* names[] = {"secrets/link", "..", "\"\""};
  for (const char* name : names) {
    BOOST_TEST_CONTEXT("credential " << name) {
      const std::string error = ParseError(
          Replace(kMinimal, "link-secret}", std::string(name) + "}"));
      BOOST_TEST(error.starts_with("test.yaml: key "
                                   "\"partner.link_secret.credential\" must "
                                   "be a credential name without '/', got "),
                 error);
    }
  }
}

BOOST_AUTO_TEST_CASE(reads_previous_keys) {
  const Config config = ParseValid(
      WithKey("store",
              "previous_keys:\n    - {file: /etc/srconnect/old.key}\n"
              "    - {credential: store-key-2025}"));
  BOOST_REQUIRE(config.store.previous_keys.size() == 2u);
  BOOST_TEST(config.store.previous_keys[0].file == "/etc/srconnect/old.key");
  BOOST_TEST(config.store.previous_keys[1].credential == "store-key-2025");
}

BOOST_AUTO_TEST_CASE(describes_file_and_credential) {
  BOOST_TEST(FileRef("/etc/srconnect/link-secret").Describe() ==
             "file \"/etc/srconnect/link-secret\"");
  BOOST_TEST(CredentialRef("link-secret").Describe() ==
             "credential \"link-secret\"");
}

BOOST_AUTO_TEST_CASE(secret_path_returns_file) {
  Result<std::string> path = SecretPath(FileRef("/etc/srconnect/link-secret"));
  BOOST_REQUIRE_MESSAGE(path.ok(), path.error());
  BOOST_TEST(*path == "/etc/srconnect/link-secret");
}

BOOST_AUTO_TEST_CASE(secret_path_uses_credentials_directory) {
  ScopedEnv env("CREDENTIALS_DIRECTORY",
                "/run/credentials/srconnect-callback.service");
  Result<std::string> path = SecretPath(CredentialRef("link-secret"));
  BOOST_REQUIRE_MESSAGE(path.ok(), path.error());
  BOOST_TEST(*path ==
             "/run/credentials/srconnect-callback.service/link-secret");
}

BOOST_AUTO_TEST_CASE(secret_path_fails_without_credentials_directory) {
  ScopedEnv env("CREDENTIALS_DIRECTORY", std::nullopt);
  Result<std::string> path = SecretPath(CredentialRef("link-secret"));
  BOOST_REQUIRE(!path.ok());
  BOOST_TEST(path.error() ==
             "credential \"link-secret\": the environment variable "
             "CREDENTIALS_DIRECTORY is not set. Start the service with "
             "LoadCredential=link-secret:/path/to/secret, or use a file "
             "reference {file: /absolute/path}");
}

BOOST_AUTO_TEST_CASE(secret_path_rejects_invalid_refs) {
  BOOST_TEST(!SecretPath(SecretRef()).ok());
  SecretRef both = FileRef("/etc/a");
  both.credential = "a";
  BOOST_TEST(!SecretPath(both).ok());
  BOOST_TEST(!SecretPath(FileRef("relative")).ok());
  ScopedEnv env("CREDENTIALS_DIRECTORY", "/run/credentials/x");
  BOOST_TEST(!SecretPath(CredentialRef("../etc/shadow")).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(read_secret)

constexpr char kSecretValue[] = "hunter2-top-secret-value";

BOOST_AUTO_TEST_CASE(strips_trailing_newlines) {
  TempDir dir;
  struct Case {
    const char* content;
    const char* expected;
  };
  const Case cases[] = {
      {"abc", "abc"},     {"abc\n", "abc"},   {"abc\r\n", "abc"},
      {"abc\n\n", "abc"}, {"a\nb\n", "a\nb"}, {" abc \n", " abc "},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("content " << c.content) {
      const std::string path = dir.WriteFile("secret", c.content);
      Result<Secret> secret = ReadSecret(FileRef(path));
      BOOST_REQUIRE_MESSAGE(secret.ok(), secret.error());
      BOOST_TEST(secret->Reveal() == c.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(accepts_owner_only_modes) {
  TempDir dir;
  for (mode_t mode : {mode_t{0600}, mode_t{0400}, mode_t{0700}}) {
    BOOST_TEST_CONTEXT("mode " << std::oct << mode) {
      // One file per mode, because a user other than root cannot rewrite a
      // 0400 file.
      const std::string path =
          dir.WriteFile("secret-" + std::to_string(mode), kSecretValue, mode);
      Result<Secret> secret = ReadSecret(FileRef(path));
      BOOST_REQUIRE_MESSAGE(secret.ok(), secret.error());
      BOOST_TEST(secret->Reveal() == kSecretValue);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_missing_file) {
  TempDir dir;
  const std::string path = dir.path() + "/absent";
  Result<Secret> secret = ReadSecret(FileRef(path));
  BOOST_REQUIRE(!secret.ok());
  BOOST_TEST(secret.error() == "secret file \"" + path +
                                   "\": failed to open: No such file or "
                                   "directory");
}

BOOST_AUTO_TEST_CASE(rejects_empty_file) {
  TempDir dir;
  for (const char* content : {"", "\n", "\r\n\n"}) {
    const std::string path = dir.WriteFile("secret", content);
    Result<Secret> secret = ReadSecret(FileRef(path));
    BOOST_REQUIRE(!secret.ok());
    BOOST_TEST(secret.error() == "secret file \"" + path +
                                     "\" is empty; write the secret into it");
  }
}

BOOST_AUTO_TEST_CASE(rejects_file_readable_by_others) {
  TempDir dir;
  const std::string path = dir.WriteFile("secret", kSecretValue, 0644);
  Result<Secret> secret = ReadSecret(FileRef(path));
  BOOST_REQUIRE(!secret.ok());
  BOOST_TEST(secret.error() ==
             "secret file \"" + path +
                 "\" is readable by group or others (mode 0644); run chmod "
                 "600 " +
                 path + " and make the service user its owner");
}

BOOST_AUTO_TEST_CASE(rejects_group_or_other_read_bit) {
  TempDir dir;
  for (mode_t mode : {mode_t{0640}, mode_t{0604}, mode_t{0440}}) {
    BOOST_TEST_CONTEXT("mode " << std::oct << mode) {
      const std::string path =
          dir.WriteFile("secret-" + std::to_string(mode), kSecretValue, mode);
      Result<Secret> secret = ReadSecret(FileRef(path));
      BOOST_REQUIRE(!secret.ok());
      BOOST_TEST(Contains(secret.error(), "chmod 600 " + path), secret.error());
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_directory) {
  TempDir dir;
  Result<Secret> secret = ReadSecret(FileRef(dir.path()));
  BOOST_REQUIRE(!secret.ok());
  BOOST_TEST(secret.error() ==
             "secret file \"" + dir.path() + "\": not a regular file");
}

BOOST_AUTO_TEST_CASE(rejects_oversized_file) {
  TempDir dir;
  std::string content;
  while (content.size() <= 64 * 1024) content += kSecretValue;
  const std::string path = dir.WriteFile("secret", content);
  Result<Secret> secret = ReadSecret(FileRef(path));
  BOOST_REQUIRE(!secret.ok());
  BOOST_TEST(Contains(secret.error(), "larger than 65536 bytes"),
             secret.error());
}

BOOST_AUTO_TEST_CASE(errors_never_contain_secret_content) {
  TempDir dir;
  std::string oversized;
  while (oversized.size() <= 64 * 1024) oversized += kSecretValue;
  struct Case {
    std::string content;
    mode_t mode;
  };
  const Case cases[] = {
      {kSecretValue, 0644}, {kSecretValue, 0640},
      {kSecretValue, 0604}, {std::string(kSecretValue) + "\n", 0666},
      {oversized, 0600},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("mode " << std::oct << c.mode << ", " << std::dec
                               << c.content.size() << " bytes") {
      const std::string path =
          dir.WriteFile("secret-" + std::to_string(c.content.size()) + "-" +
                            std::to_string(c.mode),
                        c.content, c.mode);
      Result<Secret> secret = ReadSecret(FileRef(path));
      BOOST_REQUIRE(!secret.ok());
      BOOST_TEST(!Contains(secret.error(), kSecretValue), secret.error());
    }
  }
}

BOOST_AUTO_TEST_CASE(reads_credential) {
  TempDir dir;
  dir.WriteFile("link-secret", std::string(kSecretValue) + "\n", 0400);
  ScopedEnv env("CREDENTIALS_DIRECTORY", dir.path());
  Result<Secret> secret = ReadSecret(CredentialRef("link-secret"));
  BOOST_REQUIRE_MESSAGE(secret.ok(), secret.error());
  BOOST_TEST(secret->Reveal() == kSecretValue);
}

BOOST_AUTO_TEST_CASE(names_missing_credential) {
  TempDir dir;
  ScopedEnv env("CREDENTIALS_DIRECTORY", dir.path());
  Result<Secret> secret = ReadSecret(CredentialRef("link-secret"));
  BOOST_REQUIRE(!secret.ok());
  BOOST_TEST(secret.error() ==
             "credential \"link-secret\" (file \"" + dir.path() +
                 "/link-secret\"): failed to open: No such file or directory");
}

BOOST_AUTO_TEST_CASE(fails_for_credential_without_credentials_directory) {
  ScopedEnv env("CREDENTIALS_DIRECTORY", std::nullopt);
  Result<Secret> secret = ReadSecret(CredentialRef("link-secret"));
  BOOST_REQUIRE(!secret.ok());
  BOOST_TEST(Contains(secret.error(), "CREDENTIALS_DIRECTORY is not set"),
             secret.error());
  BOOST_TEST(Contains(secret.error(), "LoadCredential=link-secret:"),
             secret.error());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(load_config)

BOOST_AUTO_TEST_CASE(loads_file_and_records_path) {
  TempDir dir;
  const std::string path = dir.WriteFile("srconnect.yaml", kMinimal, 0644);
  Result<Config> config = LoadConfig(path);
  BOOST_REQUIRE_MESSAGE(config.ok(), config.error());
  BOOST_TEST(config->path == path);
  BOOST_TEST(config->smartrecruiters.master_client_id == "goodtime-master");
}

BOOST_AUTO_TEST_CASE(names_errors_after_file) {
  TempDir dir;
  const std::string path = dir.WriteFile(
      "srconnect.yaml", std::string(kMinimal) + "refresh:\n  lease: 5\n");
  Result<Config> config = LoadConfig(path);
  BOOST_REQUIRE(!config.ok());
  BOOST_TEST(config.error().starts_with(path + ": unknown key "
                                               "\"refresh.lease\""),
             config.error());
}

BOOST_AUTO_TEST_CASE(rejects_missing_file) {
  TempDir dir;
  const std::string path = dir.path() + "/srconnect.yaml";
  Result<Config> config = LoadConfig(path);
  BOOST_REQUIRE(!config.ok());
  BOOST_TEST(config.error() ==
             path +
                 ": config file: failed to open: No such file or "
                 "directory; pass --config PATH or set SRCONNECT_CONFIG");
}

BOOST_AUTO_TEST_CASE(rejects_directory) {
  TempDir dir;
  Result<Config> config = LoadConfig(dir.path());
  BOOST_REQUIRE(!config.ok());
  BOOST_TEST(Contains(config.error(), "not a regular file"), config.error());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(resolve_config_path)

BOOST_AUTO_TEST_CASE(prefers_flag) {
  ScopedEnv env("SRCONNECT_CONFIG", "/srv/env.yaml");
  BOOST_TEST(ResolveConfigPath("/srv/flag.yaml") == "/srv/flag.yaml");
}

BOOST_AUTO_TEST_CASE(uses_environment_without_flag) {
  ScopedEnv env("SRCONNECT_CONFIG", "/srv/env.yaml");
  BOOST_TEST(ResolveConfigPath("") == "/srv/env.yaml");
}

BOOST_AUTO_TEST_CASE(falls_back_to_default) {
  {
    ScopedEnv env("SRCONNECT_CONFIG", std::nullopt);
    BOOST_TEST(ResolveConfigPath("") == "/etc/srconnect/srconnect.yaml");
  }
  {
    ScopedEnv env("SRCONNECT_CONFIG", "");
    BOOST_TEST(ResolveConfigPath("") == "/etc/srconnect/srconnect.yaml");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace srconnect
