#include "faults.h"

#include <algorithm>
#include <limits>
#include <set>
#include <string>
#include <utility>

namespace srconnect::fake {
namespace {

const std::set<std::string> kIntegerKeys = {
    "latency_ms", "status", "retry_after_s", "stall_ms", "nth", "count"};
const std::set<std::string> kStringKeys = {"endpoint", "client_id",
                                           "company_id"};
const std::set<std::string> kFlagKeys = {"drop", "malformed_json",
                                         "missing_fields", "html_body"};

// Upper bound for every delay, so a typo cannot stall a test for hours.
constexpr int kMaxDelayMs = 600000;

std::optional<Endpoint> ParseEndpoint(std::string_view name) {
  if (name == "token") return Endpoint::kToken;
  if (name == "setup") return Endpoint::kSetup;
  if (name == "api") return Endpoint::kApi;
  if (name == "pages") return Endpoint::kPages;
  return std::nullopt;
}

const char* ActionKey(FaultAction action) {
  switch (action) {
    case FaultAction::kNone:
      return "";
    case FaultAction::kStatus:
      return "status";
    case FaultAction::kDrop:
      return "drop";
    case FaultAction::kStall:
      return "stall_ms";
    case FaultAction::kMalformedJson:
      return "malformed_json";
    case FaultAction::kMissingFields:
      return "missing_fields";
    case FaultAction::kHtmlBody:
      return "html_body";
  }
  return "";
}

// Reads an integer key into `out` if present. Returns an error for a wrong
// type or a value outside [min, max].
Status ReadInteger(const nlohmann::json& json, const std::string& key, int min,
                   int max, int& out) {
  if (!json.contains(key)) return Status::Ok();
  const nlohmann::json& value = json[key];
  if (!value.is_number_integer() || value.get<int64_t>() < min ||
      value.get<int64_t>() > max) {
    return Status::Error("fault key \"" + key + "\" must be an integer from " +
                         std::to_string(min) + " to " + std::to_string(max));
  }
  out = value.get<int>();
  return Status::Ok();
}

// Sets `action` for a present key, rejecting a second action.
Status SetAction(FaultAction candidate, FaultAction& action) {
  if (action != FaultAction::kNone) {
    return Status::Error(std::string("fault has two actions, \"") +
                         ActionKey(action) + "\" and \"" +
                         ActionKey(candidate) + "\"; use one per fault");
  }
  action = candidate;
  return Status::Ok();
}

bool IsDigits(std::string_view text) {
  if (text.empty() || text.size() > 9) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

const char* ToString(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kToken:
      return "token";
    case Endpoint::kSetup:
      return "setup";
    case Endpoint::kApi:
      return "api";
    case Endpoint::kPages:
      return "pages";
  }
  return "token";
}

Result<Fault> ParseFault(const nlohmann::json& json) {
  if (!json.is_object()) return Status::Error("fault must be a JSON object");
  for (const auto& [key, value] : json.items()) {
    if (kIntegerKeys.count(key) == 0 && kStringKeys.count(key) == 0 &&
        kFlagKeys.count(key) == 0) {
      return Status::Error("unknown fault key \"" + key + "\"");
    }
    if (kStringKeys.count(key) != 0 &&
        (!value.is_string() || value.get<std::string>().empty())) {
      return Status::Error("fault key \"" + key +
                           "\" must be a non-empty string");
    }
    if (kFlagKeys.count(key) != 0 && !value.is_boolean()) {
      return Status::Error("fault key \"" + key + "\" must be true or false");
    }
  }

  Fault fault;
  if (!json.contains("endpoint")) {
    return Status::Error(
        "fault key \"endpoint\" is missing (token, setup, api or pages)");
  }
  const std::string endpoint_name = json["endpoint"].get<std::string>();
  const std::optional<Endpoint> endpoint = ParseEndpoint(endpoint_name);
  if (!endpoint) {
    return Status::Error("unknown fault endpoint \"" + endpoint_name +
                         "\"; expected token, setup, api or pages");
  }
  fault.endpoint = *endpoint;

  for (const Status& status :
       {ReadInteger(json, "latency_ms", 0, kMaxDelayMs, fault.latency_ms),
        ReadInteger(json, "status", 400, 599, fault.status),
        ReadInteger(json, "retry_after_s", 0, 86400, fault.retry_after_s),
        ReadInteger(json, "stall_ms", 1, kMaxDelayMs, fault.stall_ms),
        ReadInteger(json, "nth", 1, 1000000000, fault.nth),
        ReadInteger(json, "count", 1, 1000000000, fault.count)}) {
    if (!status.ok()) return status;
  }
  if (json.contains("client_id")) {
    fault.client_id = json["client_id"].get<std::string>();
  }
  if (json.contains("company_id")) {
    fault.company_id = json["company_id"].get<std::string>();
  }

  const std::pair<const char*, FaultAction> actions[] = {
      {"status", FaultAction::kStatus},
      {"drop", FaultAction::kDrop},
      {"stall_ms", FaultAction::kStall},
      {"malformed_json", FaultAction::kMalformedJson},
      {"missing_fields", FaultAction::kMissingFields},
      {"html_body", FaultAction::kHtmlBody},
  };
  for (const auto& [key, action] : actions) {
    const bool present = json.contains(key) &&
                         (!json[key].is_boolean() || json[key].get<bool>());
    if (!present) continue;
    if (Status status = SetAction(action, fault.action); !status.ok()) {
      return status;
    }
  }

  if (json.contains("retry_after_s") && fault.status != 429) {
    return Status::Error("fault key \"retry_after_s\" needs \"status\": 429");
  }
  if (fault.endpoint == Endpoint::kPages &&
      (fault.action == FaultAction::kMalformedJson ||
       fault.action == FaultAction::kMissingFields)) {
    return Status::Error(std::string("fault action \"") +
                         ActionKey(fault.action) +
                         "\" is not valid for endpoint pages, which "
                         "returns HTML");
  }
  if (fault.action == FaultAction::kNone && fault.latency_ms == 0) {
    return Status::Error(
        "fault has no effect; give latency_ms or one of status, drop, "
        "stall_ms, malformed_json, missing_fields, html_body");
  }
  return fault;
}

Result<nlohmann::json> CompactFaultToJson(std::string_view spec) {
  nlohmann::json json = nlohmann::json::object();
  size_t start = 0;
  bool first = true;
  while (start <= spec.size()) {
    size_t end = spec.find(':', start);
    if (end == std::string_view::npos) end = spec.size();
    const std::string item(spec.substr(start, end - start));
    start = end + 1;

    if (first) {
      json["endpoint"] = item;
      first = false;
      continue;
    }
    const size_t equals = item.find('=');
    const std::string key = item.substr(0, equals);
    if (kFlagKeys.count(key) != 0 && equals == std::string::npos) {
      json[key] = true;
    } else if (kIntegerKeys.count(key) != 0 && equals != std::string::npos) {
      const std::string value = item.substr(equals + 1);
      if (!IsDigits(value)) {
        return Status::Error("fault \"" + std::string(spec) + "\": \"" + key +
                             "\" must be a non-negative integer");
      }
      json[key] = std::stoi(value);
    } else if (kStringKeys.count(key) != 0 && key != "endpoint" &&
               equals != std::string::npos) {
      json[key] = item.substr(equals + 1);
    } else {
      return Status::Error("fault \"" + std::string(spec) +
                           "\": invalid item \"" + item +
                           "\"; expected key=value or a flag");
    }
  }
  return json;
}

std::string ToCompact(const Fault& fault) {
  std::string spec = ToString(fault.endpoint);
  if (fault.latency_ms > 0) {
    spec += ":latency_ms=" + std::to_string(fault.latency_ms);
  }
  switch (fault.action) {
    case FaultAction::kNone:
      break;
    case FaultAction::kStatus:
      spec += ":status=" + std::to_string(fault.status);
      if (fault.status == 429) {
        spec += ":retry_after_s=" + std::to_string(fault.retry_after_s);
      }
      break;
    case FaultAction::kStall:
      spec += ":stall_ms=" + std::to_string(fault.stall_ms);
      break;
    default:
      spec += std::string(":") + ActionKey(fault.action);
  }
  if (fault.nth > 0) spec += ":nth=" + std::to_string(fault.nth);
  if (fault.count > 0) spec += ":count=" + std::to_string(fault.count);
  if (!fault.client_id.empty()) spec += ":client_id=" + fault.client_id;
  if (!fault.company_id.empty()) spec += ":company_id=" + fault.company_id;
  return spec;
}

nlohmann::json ToJson(const Fault& fault) {
  nlohmann::json json = {
      {"id", fault.id},           {"endpoint", ToString(fault.endpoint)},
      {"spec", ToCompact(fault)}, {"matched", fault.matched},
      {"applied", fault.applied},
  };
  if (fault.latency_ms > 0) json["latency_ms"] = fault.latency_ms;
  switch (fault.action) {
    case FaultAction::kNone:
      break;
    case FaultAction::kStatus:
      json["status"] = fault.status;
      if (fault.status == 429) json["retry_after_s"] = fault.retry_after_s;
      break;
    case FaultAction::kStall:
      json["stall_ms"] = fault.stall_ms;
      break;
    default:
      json[ActionKey(fault.action)] = true;
  }
  if (fault.nth > 0) json["nth"] = fault.nth;
  if (fault.count > 0) json["count"] = fault.count;
  if (!fault.client_id.empty()) json["client_id"] = fault.client_id;
  if (!fault.company_id.empty()) json["company_id"] = fault.company_id;
  return json;
}

std::vector<Fault> FaultTable::Add(std::vector<Fault> faults) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Fault& fault : faults) {
    fault.id = next_id_++;
    fault.matched = 0;
    fault.applied = 0;
    faults_.push_back(fault);
  }
  return faults;
}

int FaultTable::Clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  const int cleared = static_cast<int>(faults_.size());
  faults_.clear();
  return cleared;
}

std::vector<Fault> FaultTable::List() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return faults_;
}

FaultDecision FaultTable::Match(Endpoint endpoint,
                                const RequestSubject& subject) {
  std::lock_guard<std::mutex> lock(mutex_);
  FaultDecision decision;
  for (Fault& fault : faults_) {
    if (fault.endpoint != endpoint) continue;
    if (!fault.client_id.empty() && fault.client_id != subject.client_id) {
      continue;
    }
    if (!fault.company_id.empty() && fault.company_id != subject.company_id) {
      continue;
    }

    const int64_t position = ++fault.matched;
    const int64_t first = fault.nth > 0 ? fault.nth : 1;
    int64_t last = std::numeric_limits<int64_t>::max();
    if (fault.count > 0) {
      last = first + fault.count - 1;
    } else if (fault.nth > 0) {
      last = first;
    }
    if (position < first || position > last) continue;

    ++fault.applied;
    decision.latency_ms =
        std::min(decision.latency_ms + fault.latency_ms, kMaxDelayMs);
    if (fault.action != FaultAction::kNone && !decision.action_fault) {
      decision.action_fault = fault;
    }
  }
  return decision;
}

}  // namespace srconnect::fake
