// Fault injection: rules that delay, break or corrupt the fake's responses
// per endpoint, set from --fault or the admin API. docs/fake-smartrecruiters.md
// lists the keys and their effects.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_FAULTS_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_FAULTS_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "status.h"

namespace srconnect::fake {

// The endpoint groups that faults select.
enum class Endpoint { kToken, kSetup, kApi, kPages };

const char* ToString(Endpoint endpoint);

enum class FaultAction {
  kNone,  // delay only
  kStatus,
  kDrop,
  kStall,
  kMalformedJson,
  kMissingFields,
  kHtmlBody,
};

struct Fault {
  int id = 0;
  Endpoint endpoint = Endpoint::kToken;
  int latency_ms = 0;
  FaultAction action = FaultAction::kNone;
  int status = 0;          // kStatus: 400..599
  int retry_after_s = 1;   // kStatus 429: the Retry-After header
  int stall_ms = 0;        // kStall
  int nth = 0;             // 0: not set
  int count = 0;           // 0: not set
  std::string client_id;   // empty: any client
  std::string company_id;  // empty: any company
  int64_t matched = 0;     // requests that passed endpoint and selectors
  int64_t applied = 0;     // requests inside the nth/count window
};

// Parses and validates the JSON form, e.g. {"endpoint":"token","status":503,
// "count":2}. Errors name the key and the problem.
Result<Fault> ParseFault(const nlohmann::json& json);

// Converts the compact form "token:status=503:count=2" to the JSON form.
// Client and company ids in the compact form cannot contain ':'.
Result<nlohmann::json> CompactFaultToJson(std::string_view spec);

// Returns the compact form of `fault` (without its counters).
std::string ToCompact(const Fault& fault);

// Returns the JSON form of `fault` with "id", "spec", "matched", "applied".
nlohmann::json ToJson(const Fault& fault);

// The client and company of a request, as far as the endpoint can read
// them before handling it.
struct RequestSubject {
  std::string client_id;   // empty when unknown
  std::string company_id;  // empty when unknown
};

struct FaultDecision {
  int latency_ms = 0;                 // sum over every matching fault
  std::optional<Fault> action_fault;  // the first matching fault with an action
};

// The installed faults. Thread-safe (its own mutex, never held while a
// request sleeps).
class FaultTable {
 public:
  // Assigns ids to `faults`, installs them after the existing ones and
  // returns them.
  std::vector<Fault> Add(std::vector<Fault> faults);

  // Removes every fault and returns how many there were.
  int Clear();

  std::vector<Fault> List() const;

  // Advances the counters of the faults that match this request and returns
  // their combined effect. A fault matches when the endpoint and the
  // client_id/company_id selectors match; it applies when its nth/count
  // window includes this request.
  FaultDecision Match(Endpoint endpoint, const RequestSubject& subject);

 private:
  mutable std::mutex mutex_;
  std::vector<Fault> faults_;
  int next_id_ = 1;
};

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_FAULTS_H_
