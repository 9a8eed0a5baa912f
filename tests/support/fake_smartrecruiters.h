// FakeSmartRecruiters: starts the fake-smartrecruiters binary for one test
// and calls its admin API. docs/fake-smartrecruiters.md describes the
// server, its endpoints and its faults.
//
// REQUIRES: the SRCONNECT_BINARY_DIR compile definition (set by
// srconnect_add_test) and a built fake-smartrecruiters target.
//
// Not thread-safe: use one instance from one thread, or guard it.

#ifndef SRCONNECT_TESTS_SUPPORT_FAKE_SMARTRECRUITERS_H_
#define SRCONNECT_TESTS_SUPPORT_FAKE_SMARTRECRUITERS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

extern char** environ;

namespace srconnect::testing {

class FakeSmartRecruiters {
 public:
  static constexpr const char* kBinary =
      SRCONNECT_BINARY_DIR "/tools/fake_smartrecruiters/fake-smartrecruiters";
  static constexpr const char* kMasterClientId = "goodtime-master";
  static constexpr const char* kMasterClientSecret =
      "test-master-secret-4f1c9a";
  static constexpr const char* kAppId = "goodtime-hire";
  static constexpr const char* kAppName = "GoodTime Hire";

  struct Options {
    std::string config_yaml;  // required: the --config file's contents
    // All three set: serve HTTPS. The CA verifies the fixture's own calls.
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_ca_file;
    std::vector<std::string> extra_args;  // appended to the command line
  };

  // Starts the fake on 127.0.0.1:0 and waits at most 10 s for its
  // "listening on" line. Throws std::runtime_error when it cannot start;
  // the message contains the fake's stderr.
  explicit FakeSmartRecruiters(Options options) : options_(std::move(options)) {
    const std::string config_path = dir_.File("fake.yaml");
    std::ofstream(config_path) << options_.config_yaml;
    request_log_path_ = dir_.File("requests.jsonl");
    stderr_path_ = dir_.File("stderr.log");

    std::vector<std::string> args = {
        kBinary,     "--listen",      "127.0.0.1:0",    "--config",
        config_path, "--request-log", request_log_path_};
    const bool tls = !options_.tls_cert_file.empty();
    if (tls) {
      args.insert(args.end(), {"--tls-cert", options_.tls_cert_file,
                               "--tls-key", options_.tls_key_file});
    }
    args.insert(args.end(), options_.extra_args.begin(),
                options_.extra_args.end());
    Spawn(args);

    const std::string line = ReadFirstLine(std::chrono::seconds(10));
    const std::string prefix = "listening on ";
    const size_t colon = line.rfind(':');
    const std::string port_text =
        colon == std::string::npos ? "" : line.substr(colon + 1);
    if (line.rfind(prefix, 0) != 0 || port_text.empty() ||
        port_text.find_first_not_of("0123456789") != std::string::npos) {
      Stop();
      throw std::runtime_error(
          "fake-smartrecruiters did not start: first "
          "line \"" +
          line + "\"; stderr: " + ReadFile(stderr_path_));
    }
    base_url_ = line.substr(prefix.size());
    port_ = std::stoi(port_text);
  }

  ~FakeSmartRecruiters() { Stop(); }

  FakeSmartRecruiters(const FakeSmartRecruiters&) = delete;
  FakeSmartRecruiters& operator=(const FakeSmartRecruiters&) = delete;

  // "http://127.0.0.1:PORT", or "https://..." with TLS.
  const std::string& base_url() const { return base_url_; }
  int port() const { return port_; }
  const std::string& request_log_path() const { return request_log_path_; }
  const std::string& stderr_path() const { return stderr_path_; }
  // The fixture's temporary directory (config, logs); removed on destruction.
  const std::string& dir() const { return dir_.path(); }

  // Returns a client for base_url() with 5 s timeouts, verifying the server
  // against tls_ca_file under TLS.
  std::unique_ptr<httplib::Client> NewClient() const {
    auto client = std::make_unique<httplib::Client>(base_url_);
    client->set_connection_timeout(std::chrono::seconds(5));
    client->set_read_timeout(std::chrono::seconds(5));
    client->set_write_timeout(std::chrono::seconds(5));
    if (!options_.tls_ca_file.empty()) {
      client->set_ca_cert_path(options_.tls_ca_file.c_str());
      client->enable_server_certificate_verification(true);
    }
    return client;
  }

  // Adds one fault (JSON form, e.g. {"endpoint":"token","status":503}) and
  // returns it as stored, with its "id".
  nlohmann::json AddFault(const nlohmann::json& fault) {
    return Admin("POST", "/fake-admin/faults", fault)["faults"].at(0);
  }
  void ClearFaults() { Admin("DELETE", "/fake-admin/faults"); }
  void Disconnect(const std::string& company_id) {
    Admin("POST", "/fake-admin/companies/" + company_id + "/disconnect");
  }
  void GiveConsent(const std::string& company_id) {
    Admin("POST", "/fake-admin/companies/" + company_id + "/consent");
  }
  // Returns [{"companyId","clientId","clientSecret"}] for `count` new
  // integrated companies.
  nlohmann::json Seed(int count, const std::string& prefix) {
    return Admin("POST", "/fake-admin/seed",
                 {{"count", count}, {"prefix", prefix}});
  }
  void SetTokenLifetime(int seconds) {
    Admin("PUT", "/fake-admin/token-lifetime", {{"seconds", seconds}});
  }
  // Expires every live token, or only those matching `filter`
  // ({"client_id": X} or {"company_id": X}). Returns how many.
  int ExpireTokens(const nlohmann::json& filter = nlohmann::json::object()) {
    return Admin("POST", "/fake-admin/tokens/expire", filter)["expired"];
  }
  nlohmann::json State() { return Admin("GET", "/fake-admin/state"); }

  // Returns a configuration with the app "GoodTime Hire" and the companies
  // ACME-1 (Alice Admin, admin; Rita Recruiter, not admin) and GLOBEX-2
  // (Gina Admin, admin).
  static std::string DefaultConfigYaml(
      const std::string& consent_url,
      const std::string& display_mode = "REDIRECT") {
    return std::string("partner_app:\n") + "  id: " + kAppId + "\n" +
           "  name: " + kAppName + "\n" + "  consent_url: \"" + consent_url +
           "\"\n" + "  consent_display_mode: " + display_mode + "\n" +
           "  scopes: [interviews_read, interviews_write, users_read]\n" +
           "  master_client_id: " + kMasterClientId + "\n" +
           "  master_client_secret: " + kMasterClientSecret + "\n" +
           "  partner_scope: client_credentials_write\n" +
           "companies:\n"
           "  - id: ACME-1\n"
           "    name: Acme Corp\n"
           "    users:\n"
           "      - {name: Alice Admin, admin: true}\n"
           "      - {name: Rita Recruiter, admin: false}\n"
           "  - id: GLOBEX-2\n"
           "    name: Globex\n"
           "    users:\n"
           "      - {name: Gina Admin, admin: true}\n";
  }

 private:
  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in),
                       std::istreambuf_iterator<char>());
  }

  void Spawn(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw std::runtime_error(std::string("pipe2 failed: ") +
                               std::strerror(errno));
    }
    stdout_fd_ = fds[0];

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
                                     stderr_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv;
    for (const std::string& arg : args) {
      argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    const int rc =
        ::posix_spawn(&pid_, kBinary, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error(std::string("posix_spawn \"") + kBinary +
                               "\" failed: " + std::strerror(rc));
    }
  }

  // Returns the child's first stdout line, or what arrived before the
  // timeout or end of file.
  std::string ReadFirstLine(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string line;
    while (line.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd pfd{stdout_fd_, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) break;
      char buffer[256];
      const ssize_t n = ::read(stdout_fd_, buffer, sizeof(buffer));
      if (n <= 0) break;
      line.append(buffer, static_cast<size_t>(n));
    }
    return line.substr(0, line.find('\n'));
  }

  // Sends SIGTERM, waits up to 5 s, then SIGKILL. Safe to call twice.
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::seconds(5);
      bool exited = false;
      while (std::chrono::steady_clock::now() < deadline) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
          exited = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (!exited) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
      pid_ = -1;
    }
    if (stdout_fd_ >= 0) {
      ::close(stdout_fd_);
      stdout_fd_ = -1;
    }
  }

  // Calls the admin API; throws std::runtime_error unless it returns 2xx.
  nlohmann::json Admin(const std::string& method, const std::string& path,
                       const nlohmann::json& body = nullptr) {
    auto client = NewClient();
    const std::string text = body.is_null() ? "" : body.dump();
    const auto send = [&]() -> httplib::Result {
      if (method == "GET") return client->Get(path);
      if (method == "POST") return client->Post(path, text, "application/json");
      if (method == "PUT") return client->Put(path, text, "application/json");
      return client->Delete(path);
    };
    const httplib::Result result = send();
    if (!result) {
      throw std::runtime_error(method + " " + path + " failed: " +
                               httplib::to_string(result.error()));
    }
    if (result->status < 200 || result->status > 299) {
      throw std::runtime_error(method + " " + path + " returned " +
                               std::to_string(result->status) + ": " +
                               result->body);
    }
    return nlohmann::json::parse(result->body);
  }

  Options options_;
  TempDir dir_;
  std::string request_log_path_;
  std::string stderr_path_;
  std::string base_url_;
  int port_ = 0;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
};

}  // namespace srconnect::testing

#endif  // SRCONNECT_TESTS_SUPPORT_FAKE_SMARTRECRUITERS_H_
