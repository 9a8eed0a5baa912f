// The fake's configuration: its one partner app and the customer
// companies with their users, read from a YAML file.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_CONFIG_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_CONFIG_H_

#include <string>
#include <vector>

#include "status.h"

namespace srconnect::fake {

enum class ConsentDisplayMode { kRedirect, kPopup };

// Names of the setup call's JSON body fields. SmartRecruiters does not
// publish the body, so the names are configurable.
struct SetupRequestFields {
  std::string company_id = "companyId";
  std::string client_id = "clientId";
  std::string client_secret = "clientSecret";
};

struct PartnerApp {
  std::string id;  // used in the `app` form field and query parameter
  std::string name;
  std::string consent_url;
  ConsentDisplayMode consent_display_mode = ConsentDisplayMode::kRedirect;
  std::vector<std::string> scopes;  // carried by customer tokens
  std::string master_client_id;
  std::string master_client_secret;  // a test secret, never logged
  std::string partner_scope;         // carried by master tokens
  bool partner_credentials_required = false;
  int consent_lifetime_s = 3600;
  SetupRequestFields setup_request_fields;
};

struct User {
  std::string name;
  bool admin = false;
};

struct Company {
  std::string id;
  std::string name;
  std::vector<User> users;
};

struct FakeConfig {
  PartnerApp app;
  std::vector<Company> companies;
};

// Reads and validates the YAML file at `path`. Errors name the file and the
// key, e.g. `config "f.yaml": partner_app.consent_url: missing`.
Result<FakeConfig> LoadConfig(const std::string& path);

// Returns `name` in lower case with each run of other characters than
// letters and digits replaced by one "-" ("GoodTime Hire" -> "goodtime-hire").
std::string Slug(const std::string& name);

const char* ToString(ConsentDisplayMode mode);

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_CONFIG_H_
