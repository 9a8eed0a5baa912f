#include "config.h"

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace srconnect::fake {
namespace {

// Collects the first error while the loader walks the document, so that
// each field read stays one line.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  bool ok() const { return error_.empty(); }
  Status status() const {
    return Status::Error("config \"" + path_ + "\": " + error_);
  }

  void Fail(const std::string& key, const std::string& problem) {
    if (error_.empty()) error_ = key + ": " + problem;
  }

  // Fails on keys of `map` that are not in `known`.
  void RejectUnknownKeys(const YAML::Node& map, const std::string& where,
                         const std::set<std::string>& known) {
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      if (known.count(key) == 0) {
        Fail(where + key, "unknown key");
      }
    }
  }

  std::string String(const YAML::Node& map, const std::string& where,
                     const std::string& key, bool required = true) {
    const YAML::Node node = map[key];
    if (!node) {
      if (required) Fail(where + key, "missing");
      return "";
    }
    if (!node.IsScalar() || node.Scalar().empty()) {
      Fail(where + key, "must be a non-empty string");
      return "";
    }
    return node.Scalar();
  }

  bool Bool(const YAML::Node& map, const std::string& where,
            const std::string& key) {
    const YAML::Node node = map[key];
    bool value = false;
    if (!node || !node.IsScalar() ||
        !YAML::convert<bool>::decode(node, value)) {
      Fail(where + key, "must be true or false");
    }
    return value;
  }

  int Int(const YAML::Node& map, const std::string& where,
          const std::string& key, int default_value, int min, int max) {
    const YAML::Node node = map[key];
    if (!node) return default_value;
    int value = 0;
    if (!node.IsScalar() || !YAML::convert<int>::decode(node, value) ||
        value < min || value > max) {
      Fail(where + key, "must be an integer from " + std::to_string(min) +
                            " to " + std::to_string(max));
      return default_value;
    }
    return value;
  }

  std::vector<std::string> StringList(const YAML::Node& map,
                                      const std::string& where,
                                      const std::string& key) {
    const YAML::Node node = map[key];
    std::vector<std::string> values;
    if (!node || !node.IsSequence()) {
      Fail(where + key, "must be a list of strings");
      return values;
    }
    for (const auto& item : node) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        Fail(where + key, "must be a list of non-empty strings");
        return values;
      }
      values.push_back(item.Scalar());
    }
    return values;
  }

 private:
  std::string path_;
  std::string error_;
};

void ReadSetupRequestFields(Reader& reader, const YAML::Node& node,
                            SetupRequestFields& fields) {
  const std::string where = "partner_app.setup_request_fields.";
  if (!node.IsMap()) {
    reader.Fail("partner_app.setup_request_fields", "must be a mapping");
    return;
  }
  reader.RejectUnknownKeys(node, where,
                           {"company_id", "client_id", "client_secret"});
  if (node["company_id"]) {
    fields.company_id = reader.String(node, where, "company_id");
  }
  if (node["client_id"]) {
    fields.client_id = reader.String(node, where, "client_id");
  }
  if (node["client_secret"]) {
    fields.client_secret = reader.String(node, where, "client_secret");
  }
}

void ReadPartnerApp(Reader& reader, const YAML::Node& node, PartnerApp& app) {
  const std::string where = "partner_app.";
  if (!node || !node.IsMap()) {
    reader.Fail("partner_app", "missing or not a mapping");
    return;
  }
  reader.RejectUnknownKeys(
      node, where,
      {"id", "name", "consent_url", "consent_display_mode", "scopes",
       "master_client_id", "master_client_secret", "partner_scope",
       "partner_credentials", "consent_lifetime_s", "setup_request_fields"});

  app.name = reader.String(node, where, "name");
  app.id = reader.String(node, where, "id", /*required=*/false);
  if (app.id.empty()) app.id = Slug(app.name);
  app.consent_url = reader.String(node, where, "consent_url");
  if (!app.consent_url.empty() && app.consent_url.rfind("http://", 0) != 0 &&
      app.consent_url.rfind("https://", 0) != 0) {
    reader.Fail(where + "consent_url", "must start with http:// or https://");
  }

  const std::string mode = reader.String(node, where, "consent_display_mode");
  if (mode == "REDIRECT") {
    app.consent_display_mode = ConsentDisplayMode::kRedirect;
  } else if (mode == "POPUP") {
    app.consent_display_mode = ConsentDisplayMode::kPopup;
  } else if (!mode.empty()) {
    reader.Fail(where + "consent_display_mode", "must be REDIRECT or POPUP");
  }

  app.scopes = reader.StringList(node, where, "scopes");
  app.master_client_id = reader.String(node, where, "master_client_id");
  app.master_client_secret = reader.String(node, where, "master_client_secret");

  app.partner_scope = reader.String(node, where, "partner_scope", false);
  if (app.partner_scope.empty()) {
    app.partner_scope = "client_credentials_write";
  } else if (app.partner_scope != "client_credentials_write" &&
             app.partner_scope != "partner_configuration_manage") {
    reader.Fail(where + "partner_scope",
                "must be client_credentials_write or "
                "partner_configuration_manage");
  }

  const std::string credentials =
      reader.String(node, where, "partner_credentials", false);
  if (credentials == "required") {
    app.partner_credentials_required = true;
  } else if (!credentials.empty() && credentials != "optional") {
    reader.Fail(where + "partner_credentials", "must be optional or required");
  }

  app.consent_lifetime_s =
      reader.Int(node, where, "consent_lifetime_s", 3600, 1, 86400 * 365);
  if (node["setup_request_fields"]) {
    ReadSetupRequestFields(reader, node["setup_request_fields"],
                           app.setup_request_fields);
  }
}

void ReadCompanies(Reader& reader, const YAML::Node& node,
                   std::vector<Company>& companies) {
  if (!node) return;
  if (!node.IsSequence()) {
    reader.Fail("companies", "must be a list");
    return;
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string where = "companies[" + std::to_string(i) + "].";
    const YAML::Node entry = node[i];
    if (!entry.IsMap()) {
      reader.Fail("companies[" + std::to_string(i) + "]", "must be a mapping");
      return;
    }
    reader.RejectUnknownKeys(entry, where, {"id", "name", "users"});

    Company company;
    company.id = reader.String(entry, where, "id");
    company.name = reader.String(entry, where, "name");
    if (!company.id.empty() && !ids.insert(company.id).second) {
      reader.Fail(where + "id", "duplicate company id \"" + company.id + "\"");
    }

    const YAML::Node users = entry["users"];
    if (users && !users.IsSequence()) {
      reader.Fail(where + "users", "must be a list");
      return;
    }
    for (size_t j = 0; users && j < users.size(); ++j) {
      const std::string user_where =
          where + "users[" + std::to_string(j) + "].";
      if (!users[j].IsMap()) {
        reader.Fail(user_where, "must be a mapping");
        return;
      }
      reader.RejectUnknownKeys(users[j], user_where, {"name", "admin"});
      User user;
      user.name = reader.String(users[j], user_where, "name");
      user.admin = reader.Bool(users[j], user_where, "admin");
      company.users.push_back(user);
    }
    companies.push_back(company);
  }
}

}  // namespace

Result<FakeConfig> LoadConfig(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::Error("config \"" + path +
                         "\": cannot open the file; check the path and its "
                         "permissions");
  } catch (const YAML::Exception& e) {
    return Status::Error("config \"" + path + "\": " + e.what());
  }
  if (!root.IsMap()) {
    return Status::Error("config \"" + path +
                         "\": the document must be a mapping with "
                         "partner_app and companies");
  }

  Reader reader(path);
  FakeConfig config;
  try {
    reader.RejectUnknownKeys(root, "", {"partner_app", "companies"});
    ReadPartnerApp(reader, root["partner_app"], config.app);
    ReadCompanies(reader, root["companies"], config.companies);
  } catch (const YAML::Exception& e) {
    reader.Fail("document", e.what());
  }
  if (!reader.ok()) return reader.status();
  return config;
}

std::string Slug(const std::string& name) {
  std::string slug;
  bool pending_dash = false;
  for (char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte)) {
      if (pending_dash && !slug.empty()) slug.push_back('-');
      pending_dash = false;
      slug.push_back(static_cast<char>(std::tolower(byte)));
    } else {
      pending_dash = true;
    }
  }
  return slug.empty() ? "app" : slug;
}

const char* ToString(ConsentDisplayMode mode) {
  return mode == ConsentDisplayMode::kPopup ? "POPUP" : "REDIRECT";
}

}  // namespace srconnect::fake
