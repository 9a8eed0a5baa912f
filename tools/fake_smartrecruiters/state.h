// FakeState: everything the fake remembers (companies, consents,
// integrations, customer credentials, access tokens, browser sessions and
// request counters), in memory behind one mutex.
//
// Thread-safe: every public method locks the mutex for its own duration
// only, so callers never hold it while they sleep or do I/O.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_STATE_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_STATE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.h"
#include "status.h"

namespace srconnect::fake {

using Clock = std::chrono::system_clock;

enum class ClientKind { kMaster, kCustomer };

// The client that an access token was issued to.
struct TokenOwner {
  ClientKind kind = ClientKind::kMaster;
  std::string client_id;
  std::string company_id;  // empty for the master client
  std::vector<std::string> scopes;
};

struct IssuedToken {
  std::string access_token;
  int expires_in_s = 0;
};

struct CustomerCredentials {
  std::string company_id;
  std::string client_id;
  std::string client_secret;
};

enum class SetupOutcome {
  kCreated,
  kUnknownCompany,
  kNoConsent,
  kAlreadyIntegrated,
};

struct SetupResult {
  SetupOutcome outcome = SetupOutcome::kUnknownCompany;
  CustomerCredentials credentials;  // set for kCreated only
};

// A company as the pages show it.
struct CompanyView {
  std::string id;
  std::string name;
  std::vector<User> users;
  bool integrated = false;
  bool consent = false;  // a live consent is recorded
};

// A signed-in browser session of the web pages.
struct Session {
  std::string company_id;
  std::string user_name;
  bool admin = false;
};

class FakeState {
 public:
  FakeState(FakeConfig config, int token_lifetime_s);

  FakeState(const FakeState&) = delete;
  FakeState& operator=(const FakeState&) = delete;

  // The partner app never changes after start, so it is read without the
  // mutex.
  const PartnerApp& app() const { return app_; }

  // Issues a token for the master pair or a live customer pair. Returns
  // nullopt for an unknown client id, a wrong secret or revoked
  // credentials (the token endpoint's invalid_client). Secrets are
  // compared in constant time.
  std::optional<IssuedToken> IssueToken(const std::string& client_id,
                                        const std::string& client_secret);

  // Returns the owner of a token that exists and has not expired.
  std::optional<TokenOwner> FindLiveToken(const std::string& token) const;

  // Returns the company of live customer credentials, or nullopt.
  std::optional<std::string> CompanyOfClient(
      const std::string& client_id) const;

  // Makes live tokens expire now; empty filters match every token. Returns
  // how many tokens it expired.
  int ExpireTokens(const std::string& client_id, const std::string& company_id);

  void SetTokenLifetime(int seconds);
  int token_lifetime_s() const;

  // Creates customer credentials for `company_id` and marks it integrated,
  // unless the company is unknown, has no live consent or is already
  // integrated. `partner_client_id` (may be empty) is stored for the state
  // view.
  SetupResult Setup(const std::string& company_id,
                    const std::string& partner_client_id);

  // Records a consent valid for app().consent_lifetime_s. Returns its
  // expiry, or an error for an unknown company.
  Result<Clock::time_point> RecordConsent(const std::string& company_id);

  // Marks the company not integrated, clears its consent and revokes its
  // customer credentials and their tokens. Returns whether it was
  // integrated, or an error for an unknown company.
  Result<bool> Disconnect(const std::string& company_id);

  // Adds `count` integrated companies named `prefix` + n (n from 1, skipping
  // ids in use) and returns their credentials.
  std::vector<CustomerCredentials> Seed(int count, const std::string& prefix);

  std::optional<CompanyView> FindCompany(const std::string& company_id) const;
  // Returns the companies from the configuration file, in file order (not
  // the seeded ones).
  std::vector<CompanyView> ConfiguredCompanies() const;

  // Starts a session for a user of a company and returns its id (32 random
  // bytes, base64url), or an error naming the unknown company or user.
  Result<std::string> StartSession(const std::string& company_id,
                                   const std::string& user_name);
  std::optional<Session> FindSession(const std::string& session_id) const;
  void EndSession(const std::string& session_id);

  void CountTokenRequest(const std::string& client_id);
  void CountSetupCall(const std::string& company_id);

  // Returns the state view of GET /fake-admin/state without "faults". It
  // contains no secret or token value.
  nlohmann::json ToJson() const;

 private:
  struct CompanyRecord {
    Company company;
    bool integrated = false;
    std::optional<Clock::time_point> consent_until;
    std::string client_id;  // customer credentials, empty when none
    std::string partner_client_id;
    int64_t setup_calls = 0;
  };

  struct TokenRecord {
    TokenOwner owner;
    Clock::time_point expires_at;
  };

  // REQUIRES: mutex_ held.
  CustomerCredentials CreateCredentialsLocked(CompanyRecord& record);
  bool ConsentLiveLocked(const CompanyRecord& record,
                         Clock::time_point now) const;
  CompanyView ViewLocked(const CompanyRecord& record,
                         Clock::time_point now) const;
  void SweepExpiredTokensLocked(Clock::time_point now);

  const PartnerApp app_;
  std::vector<std::string> configured_ids_;

  mutable std::mutex mutex_;
  int token_lifetime_s_;
  std::map<std::string, CompanyRecord> companies_;
  // Customer client id -> (secret, company id).
  std::unordered_map<std::string, CustomerCredentials> credentials_;
  std::unordered_map<std::string, TokenRecord> tokens_;
  std::unordered_map<std::string, Session> sessions_;
  std::map<std::string, int64_t> token_requests_;
  std::map<std::string, int64_t> tokens_issued_;
  std::map<std::string, int64_t> setup_calls_;
  uint64_t issued_since_sweep_ = 0;
};

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_STATE_H_
