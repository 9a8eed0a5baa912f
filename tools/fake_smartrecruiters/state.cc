#include "state.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>
#include <utility>

#include "random.h"

namespace srconnect::fake {
namespace {

constexpr size_t kTokenBytes = 32;
constexpr size_t kSecretBytes = 32;
constexpr size_t kClientIdHexDigits = 16;
// Expired tokens are erased on lookup and in a sweep after this many issues,
// which bounds memory under a long benchmark.
constexpr uint64_t kIssuesPerSweep = 4096;

bool SecretsEqual(const std::string& a, const std::string& b) {
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

FakeState::FakeState(FakeConfig config, int token_lifetime_s)
    : app_(std::move(config.app)), token_lifetime_s_(token_lifetime_s) {
  for (Company& company : config.companies) {
    configured_ids_.push_back(company.id);
    CompanyRecord record;
    record.company = std::move(company);
    companies_.emplace(record.company.id, std::move(record));
  }
}

std::optional<IssuedToken> FakeState::IssueToken(
    const std::string& client_id, const std::string& client_secret) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Clock::time_point now = Clock::now();

  TokenOwner owner;
  owner.client_id = client_id;
  if (client_id == app_.master_client_id) {
    if (!SecretsEqual(client_secret, app_.master_client_secret)) {
      return std::nullopt;
    }
    owner.kind = ClientKind::kMaster;
    owner.scopes = {app_.partner_scope};
  } else {
    const auto found = credentials_.find(client_id);
    if (found == credentials_.end() ||
        !SecretsEqual(client_secret, found->second.client_secret)) {
      return std::nullopt;
    }
    owner.kind = ClientKind::kCustomer;
    owner.company_id = found->second.company_id;
    owner.scopes = app_.scopes;
  }

  if (++issued_since_sweep_ >= kIssuesPerSweep) SweepExpiredTokensLocked(now);
  IssuedToken issued{RandomBase64Url(kTokenBytes), token_lifetime_s_};
  tokens_[issued.access_token] = TokenRecord{
      std::move(owner), now + std::chrono::seconds(issued.expires_in_s)};
  ++tokens_issued_[client_id];
  return issued;
}

std::optional<TokenOwner> FakeState::FindLiveToken(
    const std::string& token) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = tokens_.find(token);
  if (found == tokens_.end() || found->second.expires_at <= Clock::now()) {
    return std::nullopt;
  }
  return found->second.owner;
}

std::optional<std::string> FakeState::CompanyOfClient(
    const std::string& client_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = credentials_.find(client_id);
  if (found == credentials_.end()) return std::nullopt;
  return found->second.company_id;
}

int FakeState::ExpireTokens(const std::string& client_id,
                            const std::string& company_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Clock::time_point now = Clock::now();
  int expired = 0;
  for (auto& [token, record] : tokens_) {
    if (record.expires_at <= now) continue;
    if (!client_id.empty() && record.owner.client_id != client_id) continue;
    if (!company_id.empty() && record.owner.company_id != company_id) {
      continue;
    }
    record.expires_at = now;
    ++expired;
  }
  return expired;
}

void FakeState::SetTokenLifetime(int seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  token_lifetime_s_ = seconds;
}

int FakeState::token_lifetime_s() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return token_lifetime_s_;
}

SetupResult FakeState::Setup(const std::string& company_id,
                             const std::string& partner_client_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  SetupResult result;
  const auto found = companies_.find(company_id);
  if (found == companies_.end()) {
    result.outcome = SetupOutcome::kUnknownCompany;
    return result;
  }
  CompanyRecord& record = found->second;
  if (!ConsentLiveLocked(record, Clock::now())) {
    result.outcome = SetupOutcome::kNoConsent;
    return result;
  }
  if (record.integrated) {
    result.outcome = SetupOutcome::kAlreadyIntegrated;
    return result;
  }

  record.partner_client_id = partner_client_id;
  result.credentials = CreateCredentialsLocked(record);
  result.outcome = SetupOutcome::kCreated;
  return result;
}

Result<Clock::time_point> FakeState::RecordConsent(
    const std::string& company_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = companies_.find(company_id);
  if (found == companies_.end()) {
    return Status::Error("company \"" + company_id + "\" not found");
  }
  const Clock::time_point until =
      Clock::now() + std::chrono::seconds(app_.consent_lifetime_s);
  found->second.consent_until = until;
  return until;
}

Result<bool> FakeState::Disconnect(const std::string& company_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = companies_.find(company_id);
  if (found == companies_.end()) {
    return Status::Error("company \"" + company_id + "\" not found");
  }
  CompanyRecord& record = found->second;
  const bool was_integrated = record.integrated;
  record.integrated = false;
  record.consent_until.reset();
  record.partner_client_id.clear();
  if (!record.client_id.empty()) {
    credentials_.erase(record.client_id);
    record.client_id.clear();
  }
  std::erase_if(tokens_, [&](const auto& entry) {
    return entry.second.owner.company_id == company_id;
  });
  return was_integrated;
}

std::vector<CustomerCredentials> FakeState::Seed(int count,
                                                 const std::string& prefix) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<CustomerCredentials> seeded;
  seeded.reserve(static_cast<size_t>(count));
  for (long n = 1; static_cast<int>(seeded.size()) < count; ++n) {
    const std::string id = prefix + std::to_string(n);
    if (companies_.count(id) != 0) continue;
    CompanyRecord record;
    record.company.id = id;
    record.company.name = "Seeded company " + id;
    auto [it, inserted] = companies_.emplace(id, std::move(record));
    seeded.push_back(CreateCredentialsLocked(it->second));
  }
  return seeded;
}

std::optional<CompanyView> FakeState::FindCompany(
    const std::string& company_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = companies_.find(company_id);
  if (found == companies_.end()) return std::nullopt;
  return ViewLocked(found->second, Clock::now());
}

std::vector<CompanyView> FakeState::ConfiguredCompanies() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Clock::time_point now = Clock::now();
  std::vector<CompanyView> views;
  for (const std::string& id : configured_ids_) {
    views.push_back(ViewLocked(companies_.at(id), now));
  }
  return views;
}

Result<std::string> FakeState::StartSession(const std::string& company_id,
                                            const std::string& user_name) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = companies_.find(company_id);
  if (found == companies_.end()) {
    return Status::Error("company \"" + company_id + "\" not found");
  }
  const std::vector<User>& users = found->second.company.users;
  const auto user =
      std::find_if(users.begin(), users.end(),
                   [&](const User& u) { return u.name == user_name; });
  if (user == users.end()) {
    return Status::Error("user \"" + user_name + "\" not found in company \"" +
                         company_id + "\"");
  }
  std::string session_id = RandomBase64Url(kTokenBytes);
  sessions_[session_id] = Session{company_id, user->name, user->admin};
  return session_id;
}

std::optional<Session> FakeState::FindSession(
    const std::string& session_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = sessions_.find(session_id);
  if (found == sessions_.end()) return std::nullopt;
  return found->second;
}

void FakeState::EndSession(const std::string& session_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  sessions_.erase(session_id);
}

void FakeState::CountTokenRequest(const std::string& client_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++token_requests_[client_id];
}

void FakeState::CountSetupCall(const std::string& company_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++setup_calls_[company_id];
  const auto found = companies_.find(company_id);
  if (found != companies_.end()) ++found->second.setup_calls;
}

nlohmann::json FakeState::ToJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Clock::time_point now = Clock::now();

  nlohmann::json companies = nlohmann::json::array();
  for (const auto& [id, record] : companies_) {
    nlohmann::json company = {
        {"id", id},
        {"name", record.company.name},
        {"integrated", record.integrated},
        {"consent", ConsentLiveLocked(record, now)},
        {"client_id", nullptr},
        {"partner_client_id", nullptr},
        {"setup_calls", record.setup_calls},
    };
    if (!record.client_id.empty()) company["client_id"] = record.client_id;
    if (!record.partner_client_id.empty()) {
      company["partner_client_id"] = record.partner_client_id;
    }
    companies.push_back(std::move(company));
  }

  int64_t live_tokens = 0;
  for (const auto& [token, record] : tokens_) {
    if (record.expires_at > now) ++live_tokens;
  }

  return {
      {"partner_app",
       {{"id", app_.id},
        {"name", app_.name},
        {"consent_display_mode", ToString(app_.consent_display_mode)}}},
      {"token_lifetime_s", token_lifetime_s_},
      {"companies", std::move(companies)},
      {"token_requests", token_requests_},
      {"tokens_issued", tokens_issued_},
      {"setup_calls", setup_calls_},
      {"live_tokens", live_tokens},
  };
}

CustomerCredentials FakeState::CreateCredentialsLocked(CompanyRecord& record) {
  CustomerCredentials credentials{record.company.id,
                                  "cc-" + RandomHex(kClientIdHexDigits),
                                  RandomBase64Url(kSecretBytes)};
  credentials_[credentials.client_id] = credentials;
  record.client_id = credentials.client_id;
  record.integrated = true;
  return credentials;
}

bool FakeState::ConsentLiveLocked(const CompanyRecord& record,
                                  Clock::time_point now) const {
  return record.consent_until.has_value() && *record.consent_until > now;
}

CompanyView FakeState::ViewLocked(const CompanyRecord& record,
                                  Clock::time_point now) const {
  return CompanyView{record.company.id, record.company.name,
                     record.company.users, record.integrated,
                     ConsentLiveLocked(record, now)};
}

void FakeState::SweepExpiredTokensLocked(Clock::time_point now) {
  issued_since_sweep_ = 0;
  std::erase_if(tokens_, [&](const auto& entry) {
    return entry.second.expires_at <= now;
  });
}

}  // namespace srconnect::fake
