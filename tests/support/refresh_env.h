// RefreshEnv: a fake SmartRecruiters, an srconnect configuration and a
// store in a temporary directory, for tests and benchmarks of
// srconnect-refresh. ChildProcess: one child process that is always killed
// and reaped, even when a test fails.
//
// REQUIRES: SRCONNECT_BINARY_DIR (set by srconnect_add_test) and built
// fake-smartrecruiters and srconnect-refresh targets.

#ifndef SRCONNECT_TESTS_SUPPORT_REFRESH_ENV_H_
#define SRCONNECT_TESTS_SUPPORT_REFRESH_ENV_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "app.h"
#include "crypto.h"
#include "secret.h"
#include "store.h"
#include "support/fake_smartrecruiters.h"
#include "support/temp_dir.h"
#include "support/tls.h"

extern char** environ;

namespace srconnect::testing {

inline constexpr const char* kRefreshBinary =
    SRCONNECT_BINARY_DIR "/handlers/srconnect-refresh";

inline std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Writes `contents` to `path` with mode 0600, as srconnect requires for
// secret files. Throws std::runtime_error on failure.
inline void WriteSecretFile(const std::string& path,
                            const std::string& contents) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    throw std::runtime_error("open \"" + path +
                             "\" failed: " + std::strerror(errno));
  }
  const ssize_t written = ::write(fd, contents.data(), contents.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(contents.size())) {
    throw std::runtime_error("write \"" + path + "\" failed");
  }
}

// A child process with its stdout and stderr in one file. The destructor
// sends SIGKILL and reaps it if it is still running.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& args,
               const std::string& output_path)
      : output_path_(output_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
                                     output_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& arg : args) {
      argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args.at(0).c_str(), &actions, nullptr,
                                 argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("posix_spawn \"" + args.at(0) +
                               "\" failed: " + std::strerror(rc));
    }
  }

  ~ChildProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running() const { return pid_ > 0 && !exited_; }
  pid_t pid() const { return pid_; }

  // Waits at most `timeout` for the child to exit and returns its exit
  // code, or -1 after killing it when the timeout passed or it died from a
  // signal. `usage`, when given, receives the child's resource usage.
  int Wait(std::chrono::milliseconds timeout, rusage* usage = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      int status = 0;
      rusage child_usage{};
      const pid_t done = ::wait4(pid_, &status, WNOHANG, &child_usage);
      if (done == pid_) {
        exited_ = true;
        if (usage != nullptr) *usage = child_usage;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        Kill();
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_code_;
  }

  // Sends SIGKILL and reaps the child.
  void Kill() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    exited_ = true;
    exit_code_ = -1;
  }

  std::string Output() const { return ReadTextFile(output_path_); }

 private:
  std::string output_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
};

// Settings of the srconnect configuration a RefreshEnv writes.
struct RefreshSettings {
  int64_t connect_timeout_ms = 2000;
  int64_t read_timeout_ms = 5000;
  int64_t margin_s = 600;
  int64_t concurrency = 8;
  int64_t budget_s = 240;
  int64_t lease_s = 10;
  int64_t backoff_initial_s = 30;
  int64_t backoff_max_s = 3600;
  // Serves the fake over HTTPS with a CA made for the environment, and
  // points smartrecruiters.ca_file at that CA. Read at construction only.
  bool tls = false;
};

struct SeededCompany {
  std::string company_id;
  std::string client_id;
  int64_t connection_id = 0;
};

// What one srconnect-refresh run printed and returned.
struct RunOutput {
  int exit_code = -1;
  std::string log;
  rusage usage{};

  // Returns the counts of the "refresh run finished" line ("renewed" ->
  // N, ...), empty when there is no such line.
  std::map<std::string, int64_t> Summary() const {
    std::map<std::string, int64_t> counts;
    const size_t line_start = log.find("refresh run finished in ");
    if (line_start == std::string::npos) return counts;
    const size_t line_end = log.find('\n', line_start);
    std::istringstream words(log.substr(line_start, line_end - line_start));
    std::string word;
    while (words >> word) {
      const size_t equals = word.find('=');
      if (equals == std::string::npos) continue;
      counts[word.substr(0, equals)] = std::stoll(word.substr(equals + 1));
    }
    return counts;
  }
};

class RefreshEnv {
 public:
  explicit RefreshEnv(RefreshSettings settings = {},
                      std::vector<std::string> fake_args = {})
      : settings_(settings),
        certificates_(settings.tls ? std::optional<TestCertificates>(
                                         MakeTestCertificates(dir_.path()))
                                   : std::nullopt),
        fake_(FakeOptions(std::move(fake_args), certificates_)) {
    config_path_ = dir_.File("srconnect.yaml");
    database_path_ = dir_.File("srconnect.db");
    WriteSecretFiles();
    WriteConfig(settings_);
    Result<App> app = LoadApp(config_path_);
    if (!app.ok()) throw std::runtime_error("LoadApp: " + app.error());
    app_ = std::make_unique<App>(std::move(app).value());
    Result<std::unique_ptr<Store>> store = app_->OpenStore();
    if (!store.ok()) throw std::runtime_error("OpenStore: " + store.error());
    store_ = std::move(store).value();
  }

  RefreshEnv(const RefreshEnv&) = delete;
  RefreshEnv& operator=(const RefreshEnv&) = delete;

  FakeSmartRecruiters& fake() { return fake_; }
  Store& store() { return *store_; }
  const App& app() const { return *app_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& dir() const { return dir_.path(); }
  std::string File(const std::string& name) const { return dir_.File(name); }

  // Creates `count` integrated companies in the fake and stores their
  // credentials with the token "initial-token-N" that expires at
  // `token_expires_at`. Throws std::runtime_error on failure.
  std::vector<SeededCompany> Seed(int count, const std::string& prefix,
                                  int64_t token_expires_at) {
    const nlohmann::json seeded = fake_.Seed(count, prefix);
    std::vector<SeededCompany> companies;
    const int64_t now = NowUnix();
    int index = 0;
    for (const nlohmann::json& entry : seeded) {
      SeededCompany company;
      company.company_id = entry.at("companyId").get<std::string>();
      company.client_id = entry.at("clientId").get<std::string>();
      Result<int64_t> id = store_->StoreCredentials(
          "account-" + company.company_id, company.company_id,
          company.client_id,
          Secret(entry.at("clientSecret").get<std::string>()),
          Secret("initial-token-" + std::to_string(++index)), token_expires_at,
          now, "test", "seeded by the test");
      if (!id.ok()) {
        throw std::runtime_error("StoreCredentials: " + id.error());
      }
      company.connection_id = *id;
      companies.push_back(std::move(company));
    }
    return companies;
  }

  // Starts srconnect-refresh with --config and `args`, logging to
  // `output_name` in the directory.
  std::unique_ptr<ChildProcess> Start(const std::vector<std::string>& args,
                                      const std::string& output_name) {
    std::vector<std::string> argv = {kRefreshBinary, "--config", config_path_};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<ChildProcess>(argv, dir_.File(output_name));
  }

  // Runs srconnect-refresh to completion, killing it after `timeout`.
  RunOutput Run(const std::vector<std::string>& args,
                std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
    const std::string name = "run-" + std::to_string(++runs_) + ".log";
    std::unique_ptr<ChildProcess> child = Start(args, name);
    RunOutput output;
    output.exit_code = child->Wait(timeout, &output.usage);
    output.log = child->Output();
    return output;
  }

  // Returns the connection row of `company_id`; throws when it is missing.
  Connection Row(const std::string& company_id) {
    Result<std::optional<Connection>> row =
        store_->FindConnectionByCompany(company_id);
    if (!row.ok() || !row->has_value()) {
      throw std::runtime_error("no connection row for " + company_id);
    }
    return **row;
  }

  // Returns the stored access token of `company_id`.
  std::string Token(const std::string& company_id) {
    Result<ConnectionSecrets> secrets = store_->ReadSecrets(Row(company_id).id);
    if (!secrets.ok()) {
      throw std::runtime_error("ReadSecrets: " + secrets.error());
    }
    return secrets->access_token.Reveal();
  }

  // Counts token requests for `client_id` in the fake's request log. The
  // fake writes a line after it sent the response, so this first waits at
  // most 5 s for the log to catch up with the requests it has received.
  int TokenRequestsInLog(const std::string& client_id) {
    const int64_t received = TokenRequestsReceived(client_id);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int count = CountLoggedTokenRequests(client_id);
    while (count < received && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      count = CountLoggedTokenRequests(client_id);
    }
    return count;
  }

  // Counts token requests for `client_id` that the fake has received so
  // far, including ones it is still handling.
  int64_t TokenRequestsReceived(const std::string& client_id) {
    const nlohmann::json requests = fake_.State().at("token_requests");
    return requests.contains(client_id) ? requests.at(client_id).get<int64_t>()
                                        : 0;
  }

  // Writes the srconnect configuration with `s`, for the next Run or
  // Start; the in-process app() keeps the settings it was loaded with.
  void WriteConfig(const RefreshSettings& s) {
    std::ofstream config(config_path_);
    config << "smartrecruiters:\n"
           << "  api_base: " << fake_.base_url() << "\n"
           << "  web_base: " << fake_.base_url() << "\n"
           << "  connect_timeout_ms: " << s.connect_timeout_ms << "\n"
           << "  read_timeout_ms: " << s.read_timeout_ms << "\n"
           << (certificates_ ? "  ca_file: " + certificates_->ca_cert + "\n"
                             : std::string())
           << "  master_client_id: " << FakeSmartRecruiters::kMasterClientId
           << "\n"
           << "  master_client_secret: {file: " << dir_.File("master-secret")
           << "}\n"
           << "  scopes: [interviews_read, users_read]\n"
           << "partner:\n"
           << "  public_base_url: http://127.0.0.1:9\n"
           << "  link_secret: {file: " << dir_.File("link-secret") << "}\n"
           << "store:\n"
           << "  database: " << database_path_ << "\n"
           << "  key: {file: " << dir_.File("store.key") << "}\n"
           << "consent:\n"
           << "  cookie_secure: false\n"
           << "refresh:\n"
           << "  margin_s: " << s.margin_s << "\n"
           << "  concurrency: " << s.concurrency << "\n"
           << "  budget_s: " << s.budget_s << "\n"
           << "  lease_s: " << s.lease_s << "\n"
           << "  backoff_initial_s: " << s.backoff_initial_s << "\n"
           << "  backoff_max_s: " << s.backoff_max_s << "\n";
  }

 private:
  int CountLoggedTokenRequests(const std::string& client_id) const {
    std::ifstream in(fake_.request_log_path());
    std::string line;
    int count = 0;
    while (std::getline(in, line)) {
      const nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
      if (entry.is_discarded()) continue;
      if (entry.value("endpoint", "") == "token" &&
          entry.value("client_id", "") == client_id) {
        ++count;
      }
    }
    return count;
  }

  static FakeSmartRecruiters::Options FakeOptions(
      std::vector<std::string> extra_args,
      const std::optional<TestCertificates>& certificates) {
    FakeSmartRecruiters::Options options;
    options.config_yaml = FakeSmartRecruiters::DefaultConfigYaml(
        "http://127.0.0.1:9/smartrecruiters/consent");
    options.extra_args = std::move(extra_args);
    if (certificates) {
      options.tls_cert_file = certificates->server_cert;
      options.tls_key_file = certificates->server_key;
      options.tls_ca_file = certificates->ca_cert;
    }
    return options;
  }

  void WriteSecretFiles() {
    Result<std::string> key = RandomBytes(kKeyBytes);
    if (!key.ok()) throw std::runtime_error("RandomBytes: " + key.error());
    WriteSecretFile(dir_.File("store.key"), *key);
    WriteSecretFile(dir_.File("link-secret"), "test-link-secret-0123456789");
    WriteSecretFile(dir_.File("master-secret"),
                    FakeSmartRecruiters::kMasterClientSecret);
  }

  RefreshSettings settings_;
  TempDir dir_;
  std::optional<TestCertificates> certificates_;
  FakeSmartRecruiters fake_;
  std::string config_path_;
  std::string database_path_;
  std::unique_ptr<App> app_;
  std::unique_ptr<Store> store_;
  int runs_ = 0;
};

}  // namespace srconnect::testing

#endif  // SRCONNECT_TESTS_SUPPORT_REFRESH_ENV_H_
