// Runs RunFastCgi for real: the fastcgi_echo program listens on a unix
// socket passed as fd 0, a non-daemon nginx on a free 127.0.0.1 port
// forwards to it with the stock fastcgi_params, and an HTTP client talks
// to nginx. Every process is started in a temporary directory and killed
// when the test case ends, also on failure. The responder-thread cases
// hold a request open with fastcgi_echo's /slow and check the order of
// events, never how long something took.
//
// REQUIRES: nginx at /usr/sbin/nginx with /etc/nginx/fastcgi_params, and
// the fastcgi_echo target built (FASTCGI_ECHO_PATH).

#define BOOST_TEST_MODULE fastcgi_loop
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "support/pending_get.h"

namespace {

using nlohmann::json;
using srconnect::testing::PendingGet;

// Maximum time for every wait: process start, exit and each HTTP exchange.
constexpr auto kTimeout = std::chrono::seconds(10);
// Read timeout of a request that waits behind /slow, which fastcgi_echo
// holds for at most 30 s.
constexpr auto kSlowTimeout = std::chrono::seconds(60);
// How long a request queued behind /slow on a single thread is given to
// reach the responder before /slow is released.
constexpr auto kQueuedWait = std::chrono::seconds(2);
constexpr char kNginxPath[] = "/usr/sbin/nginx";
constexpr char kFastCgiParamsPath[] = "/etc/nginx/fastcgi_params";

// Maximum body size of fastcgi_echo, the default max_body_bytes.
constexpr size_t kMaxBodyBytes = 16 * 1024;

[[noreturn]] void ThrowErrno(const std::string& call) {
  throw std::runtime_error(call + " failed: " + std::strerror(errno));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.good()) throw std::runtime_error("failed to write " + path);
}

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }

 private:
  int fd_;
};

// A directory under /tmp, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/srconnect-fastcgi-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) ThrowErrno("mkdtemp");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process that is stopped and reaped on destruction: SIGTERM,
// then SIGKILL when it has not exited within kTimeout.
class ChildProcess {
 public:
  // Starts `argv` with `stdin_fd` as its fd 0 and stdout and stderr
  // appended to `log_path`. Throws std::runtime_error when fork fails. A
  // failed exec shows as exit code 127.
  ChildProcess(const std::vector<std::string>& argv, int stdin_fd,
               const std::string& log_path) {
    UniqueFd log(::open(log_path.c_str(),
                        O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (log.get() < 0) ThrowErrno("open " + log_path);
    std::vector<char*> args;
    for (const std::string& arg : argv) {
      args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);

    pid_ = ::fork();
    if (pid_ < 0) ThrowErrno("fork");
    if (pid_ == 0) {
      // Only async-signal-safe calls from here to exec. The descriptors
      // move above 10 first, so that dup2 cannot overwrite one of them
      // when the parent had fd 0, 1 or 2 closed.
      const int in = ::fcntl(stdin_fd, F_DUPFD_CLOEXEC, 10);
      const int out = ::fcntl(log.get(), F_DUPFD_CLOEXEC, 10);
      if (in < 0 || out < 0 || ::dup2(in, STDIN_FILENO) < 0 ||
          ::dup2(out, STDOUT_FILENO) < 0 || ::dup2(out, STDERR_FILENO) < 0) {
        ::_exit(126);
      }
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }

  ~ChildProcess() { Stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool Running() {
    Poll();
    return !status_.has_value();
  }

  void Signal(int signal) {
    if (Running()) ::kill(pid_, signal);
  }

  // Waits up to kTimeout for the exit. Returns the wait status, or nullopt
  // when the process is still running.
  std::optional<int> WaitForExit() {
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (Running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
  }

  // Sends `signal` and waits up to kTimeout for the exit, as WaitForExit.
  std::optional<int> SignalAndWait(int signal) {
    Signal(signal);
    return WaitForExit();
  }

 private:
  void Poll() {
    if (status_.has_value() || pid_ <= 0) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
  }

  void Stop() {
    if (pid_ <= 0 || SignalAndWait(SIGTERM).has_value()) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    status_ = status;
  }

  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Returns a unix stream socket bound to `path` and listening.
int ListenOnUnixSocket(const std::string& path) {
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    throw std::runtime_error("socket path is longer than " +
                             std::to_string(sizeof(address.sun_path) - 1) +
                             " bytes: " + path);
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno("socket");
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address),
             sizeof(address)) != 0 ||
      ::listen(fd, 16) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    ThrowErrno("bind or listen on " + path);
  }
  return fd;
}

// Returns a 127.0.0.1 TCP port that was free a moment ago. Another
// program may take it before nginx binds it, and then nginx fails to start.
int FreeLoopbackPort() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) ThrowErrno("socket");
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof(address);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &size) !=
          0) {
    ThrowErrno("bind or getsockname on 127.0.0.1");
  }
  return ntohs(address.sin_port);
}

bool CanConnect(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return fd.get() >= 0 &&
         ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address),
                   sizeof(address)) == 0;
}

// nginx in the foreground as a single process, with every path inside
// `dir`, forwarding all requests to the FastCGI socket.
std::string NginxConfig(const TempDir& dir, int port,
                        const std::string& fastcgi_socket) {
  std::ostringstream config;
  config << "daemon off;\n"
         << "master_process off;\n"
         << "pid " << dir.File("nginx.pid") << ";\n"
         << "error_log " << dir.File("error.log") << " info;\n";
  // Matters only with a master process: a root nginx then runs its workers
  // as "nobody", which cannot open the 0700 temporary directory.
  if (::geteuid() == 0) config << "user root;\n";
  config << "events {\n"
         << "    worker_connections 64;\n"
         << "}\n"
         << "http {\n"
         << "    access_log " << dir.File("access.log") << ";\n"
         << "    client_body_temp_path " << dir.File("client_body") << ";\n"
         << "    fastcgi_temp_path " << dir.File("fastcgi_temp") << ";\n"
         << "    proxy_temp_path " << dir.File("proxy_temp") << ";\n"
         << "    scgi_temp_path " << dir.File("scgi_temp") << ";\n"
         << "    uwsgi_temp_path " << dir.File("uwsgi_temp") << ";\n"
         << "    client_max_body_size 1m;\n"
         << "    server {\n"
         << "        listen 127.0.0.1:" << port << ";\n"
         << "        location / {\n"
         << "            include " << kFastCgiParamsPath << ";\n"
         << "            fastcgi_param DOCUMENT_URI $uri;\n"
         // Overrides the included REQUEST_SCHEME, as a TLS-terminating
         // proxy in front would.
         << "            fastcgi_param REQUEST_SCHEME https;\n"
         << "            fastcgi_pass unix:" << fastcgi_socket << ";\n"
         << "        }\n"
         << "    }\n"
         << "}\n";
  return config.str();
}

// fastcgi_echo behind nginx, for one test case.
class EchoStack {
 public:
  // `threads` is fastcgi_echo's --threads; 0 runs the single-handler
  // RunFastCgi.
  explicit EchoStack(int threads = 0)
      : listener_(ListenOnUnixSocket(dir_.File("echo.sock"))),
        dev_null_(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
        echo_(EchoCommand(threads), listener_.get(), dir_.File("echo.log")),
        port_(FreeLoopbackPort()),
        nginx_(StartNginx()),
        client_("127.0.0.1", port_) {
    WaitForNginx();
    client_.set_connection_timeout(kTimeout);
    client_.set_read_timeout(kTimeout);
    client_.set_write_timeout(kTimeout);
    // Send request targets as written, bad escapes included.
    client_.set_url_encode(false);
  }

  httplib::Client& client() { return client_; }
  ChildProcess& echo() { return echo_; }
  int port() const { return port_; }
  std::string SocketPath() const { return dir_.File("echo.sock"); }
  std::string EchoLog() const { return ReadFile(dir_.File("echo.log")); }
  std::string ErrorLog() const { return ReadFile(dir_.File("error.log")); }

  // Lets every /slow request that is waiting, or comes later, finish.
  void ReleaseSlowRequests() const { WriteFile(ReleaseFile(), ""); }

  // Waits up to kTimeout for `text` to appear in fastcgi_echo's log.
  bool WaitForEchoLog(std::string_view text) const {
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (!Contains(EchoLog(), text)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  // Checks that nothing reached nginx through the FastCGI error stream
  // and that nginx logged no error.
  void CheckErrorLogClean() const {
    const std::string log = ErrorLog();
    BOOST_TEST(!Contains(log, "FastCGI sent in stderr"), log);
    BOOST_TEST(!Contains(log, "[error]"), log);
    BOOST_TEST(!Contains(log, "[crit]"), log);
    BOOST_TEST(!Contains(log, "[alert]"), log);
  }

 private:
  std::string ReleaseFile() const { return dir_.File("release"); }

  std::vector<std::string> EchoCommand(int threads) const {
    std::vector<std::string> command = {FASTCGI_ECHO_PATH, "--release-file",
                                        ReleaseFile()};
    if (threads != 0) {
      command.push_back("--threads");
      command.push_back(std::to_string(threads));
    }
    return command;
  }

  ChildProcess StartNginx() {
    if (::access(kNginxPath, X_OK) != 0) {
      throw std::runtime_error(std::string(kNginxPath) + " is not installed");
    }
    WriteFile(dir_.File("nginx.conf"),
              NginxConfig(dir_, port_, dir_.File("echo.sock")));
    return ChildProcess({kNginxPath, "-p", dir_.path(), "-c",
                         dir_.File("nginx.conf"), "-e", dir_.File("error.log")},
                        dev_null_.get(), dir_.File("nginx.out"));
  }

  void WaitForNginx() {
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (!CanConnect(port_)) {
      if (!nginx_.Running() || std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("nginx did not start on port " +
                                 std::to_string(port_) + ": " + ErrorLog() +
                                 ReadFile(dir_.File("nginx.out")));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  TempDir dir_;
  UniqueFd listener_;
  UniqueFd dev_null_;
  ChildProcess echo_;
  int port_;
  ChildProcess nginx_;
  httplib::Client client_;
};

std::string HeaderOf(const httplib::Result& result, const std::string& name) {
  return result->get_header_value(name);
}

json Pair(const std::string& name, const std::string& value) {
  return json::array({name, value});
}

// Returns the status of `result`, 0 when no response arrived.
int StatusOf(const httplib::Result& result) {
  return result ? result->status : 0;
}

// Returns the body of `result`, or the client's error when no response
// arrived.
std::string BodyOf(const httplib::Result& result) {
  return result ? result->body
                : "no response: " + httplib::to_string(result.error());
}

// Returns where `text` starts in `log`. Fails the test case when it is not
// there.
size_t PositionIn(const std::string& log, std::string_view text) {
  const size_t position = log.find(text);
  BOOST_TEST_REQUIRE(position != std::string::npos,
                     "\"" << text << "\" not in the log: " << log);
  return position;
}

// Checks that fastcgi_echo, with wait status `status`, exited with code 0
// and logged that SIGTERM stopped it.
void CheckStoppedOnSigterm(const EchoStack& stack,
                           const std::optional<int>& status) {
  BOOST_TEST_REQUIRE(status.has_value(),
                     "fastcgi_echo did not exit within 10 s of SIGTERM");
  BOOST_TEST(WIFEXITED(*status));
  BOOST_TEST(WEXITSTATUS(*status) == 0);
  BOOST_TEST(Contains(stack.EchoLog(), "<6>stopped on SIGTERM"),
             stack.EchoLog());
}

// FastCGI record types, from the FastCGI 1.0 specification.
constexpr unsigned char kBeginRequest = 1;
constexpr unsigned char kEndRequest = 3;
constexpr unsigned char kParams = 4;
constexpr unsigned char kStdin = 5;
constexpr unsigned char kStdout = 6;
constexpr size_t kRecordHeaderBytes = 8;

// Returns one FastCGI record of request 1 with `content` (at most 65535
// bytes) and no padding.
std::string FastCgiRecord(unsigned char type, const std::string& content) {
  std::string record = {1, static_cast<char>(type), 0, 1};
  record.push_back(static_cast<char>(content.size() >> 8));
  record.push_back(static_cast<char>(content.size() & 0xff));
  record.append(2, '\0');
  return record + content;
}

// Returns a name-value pair of a params record. Both lengths must be
// below 128, so that each fits the one-byte length form.
std::string FastCgiParam(const std::string& name, const std::string& value) {
  return std::string(1, static_cast<char>(name.size())) +
         static_cast<char>(value.size()) + name + value;
}

// Returns the records of a responder request for GET /echo?via=raw,
// ending with the empty stdin record.
std::string FastCgiGetRequest() {
  const std::string begin_body = {0, 1, 0, 0, 0, 0, 0, 0};  // role 1, flags 0
  const std::string params = FastCgiParam("REQUEST_METHOD", "GET") +
                             FastCgiParam("DOCUMENT_URI", "/echo") +
                             FastCgiParam("QUERY_STRING", "via=raw") +
                             FastCgiParam("REMOTE_ADDR", "127.0.0.1");
  return FastCgiRecord(kBeginRequest, begin_body) +
         FastCgiRecord(kParams, params) + FastCgiRecord(kParams, "") +
         FastCgiRecord(kStdin, "");
}

// A client connected straight to fastcgi_echo's unix socket, without
// nginx. Reads time out after kTimeout.
class RawFastCgiClient {
 public:
  explicit RawFastCgiClient(const std::string& socket_path)
      : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_.get() < 0) ThrowErrno("socket");
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address),
                  sizeof(address)) != 0) {
      ThrowErrno("connect to " + socket_path);
    }
    const timeval timeout = {
        std::chrono::duration_cast<std::chrono::seconds>(kTimeout).count(), 0};
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
                     sizeof(timeout)) != 0) {
      ThrowErrno("setsockopt SO_RCVTIMEO");
    }
  }

  // Sends all of `bytes`. Returns false when the server has closed the
  // connection (EPIPE or ECONNRESET), and throws on other errors.
  bool Send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_.get(), bytes.data() + sent,
                               bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return false;
      if (n < 0) ThrowErrno("send");
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads until the server closes the connection or a read times out.
  // Returns the stdout content of the response, and sets `ended` when an
  // end-request record arrived.
  std::string ReadResponse(bool& ended) {
    std::string received;
    char buffer[4096];
    while (true) {
      const ssize_t n = ::recv(fd_.get(), buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      received.append(buffer, static_cast<size_t>(n));
    }

    std::string out;
    ended = false;
    size_t at = 0;
    while (received.size() - at >= kRecordHeaderBytes) {
      const auto type = static_cast<unsigned char>(received[at + 1]);
      const size_t length =
          static_cast<size_t>(static_cast<unsigned char>(received[at + 4]))
              << 8 |
          static_cast<unsigned char>(received[at + 5]);
      const auto padding = static_cast<unsigned char>(received[at + 6]);
      const size_t content_at = at + kRecordHeaderBytes;
      if (received.size() < content_at + length + padding) break;
      if (type == kStdout) out += received.substr(content_at, length);
      if (type == kEndRequest) ended = true;
      at = content_at + length + padding;
    }
    return out;
  }

 private:
  UniqueFd fd_;
};

// How long a raw client waits after a step, so that fastcgi_echo has
// taken the connection (or the bytes) and blocks in the next read.
// NOTE: on a machine too slow for that, the cases pass without testing the
// blocked read; they cannot fail for it.
constexpr auto kSettleTime = std::chrono::milliseconds(500);

// fastcgi_echo with `threads` responder threads behind nginx, and a /slow
// request that one of them is serving. The destructor releases that
// request, so that a failed test case does not wait out fastcgi_echo's
// 30 s.
struct StackWithSlowRequest {
  explicit StackWithSlowRequest(int threads)
      : stack(threads),
        slow("http://127.0.0.1:" + std::to_string(stack.port()), "/slow",
             kSlowTimeout) {
    const bool started = stack.WaitForEchoLog("serves \"/slow\"");
    if (!started) stack.ReleaseSlowRequests();
    BOOST_TEST_REQUIRE(started, stack.EchoLog());
  }
  ~StackWithSlowRequest() { stack.ReleaseSlowRequests(); }

  StackWithSlowRequest(const StackWithSlowRequest&) = delete;
  StackWithSlowRequest& operator=(const StackWithSlowRequest&) = delete;

  EchoStack stack;
  PendingGet slow;
};

BOOST_AUTO_TEST_SUITE(fastcgi_loop)

BOOST_FIXTURE_TEST_CASE(get_round_trips_query_and_cookies, EchoStack) {
  const httplib::Headers headers = {
      {"Accept", "application/json"},
      {"Cookie", "sid=abc123; junk=a b; theme=\"dark\"; sid=second"}};
  httplib::Result result =
      client().Get("/echo?q=a+b%26c&euro=%E2%82%AC&empty=&flag", headers);
  BOOST_TEST_REQUIRE(static_cast<bool>(result),
                     "GET failed: " << httplib::to_string(result.error()));
  BOOST_TEST(result->status == 200);
  BOOST_TEST(HeaderOf(result, "Content-Type") ==
             "application/json; charset=utf-8");
  BOOST_TEST(HeaderOf(result, "Cache-Control") == "no-store");
  BOOST_TEST(HeaderOf(result, "X-Content-Type-Options") == "nosniff");
  BOOST_TEST(HeaderOf(result, "X-Frame-Options") == "DENY");

  const json echo = json::parse(result->body);
  BOOST_TEST(echo["method"] == "GET");
  BOOST_TEST(echo["path"] == "/echo");
  BOOST_TEST(echo["scheme"] == "https");
  BOOST_TEST(echo["remote_addr"] == "127.0.0.1");
  BOOST_TEST(echo["from_loopback"] == true);
  BOOST_TEST(echo["headers"]["accept"] == "application/json");
  const json expected_query =
      json::array({Pair("q", "a b&c"), Pair("euro", "\xe2\x82\xac"),
                   Pair("empty", ""), Pair("flag", "")});
  BOOST_TEST(echo["query"] == expected_query, echo["query"].dump());
  const json expected_cookies = {{"sid", "abc123"}, {"theme", "dark"}};
  BOOST_TEST(echo["cookies"] == expected_cookies, echo["cookies"].dump());
  CheckErrorLogClean();
}

BOOST_FIXTURE_TEST_CASE(post_round_trips_form, EchoStack) {
  httplib::Result result =
      client().Post("/echo?step=2", "name=J%C3%BCrgen&note=1+2%2B3",
                    "application/x-www-form-urlencoded; charset=UTF-8");
  BOOST_TEST_REQUIRE(static_cast<bool>(result),
                     "POST failed: " << httplib::to_string(result.error()));
  BOOST_TEST(result->status == 200);

  const json echo = json::parse(result->body);
  BOOST_TEST(echo["method"] == "POST");
  const json expected_form =
      json::array({Pair("name", "J\xc3\xbcrgen"), Pair("note", "1 2+3")});
  BOOST_TEST(echo["form"] == expected_form, echo["form"].dump());
  BOOST_TEST(echo["query"] == json::array({Pair("step", "2")}));
  BOOST_TEST(echo["headers"]["content-length"] == "29");
  CheckErrorLogClean();
}

BOOST_FIXTURE_TEST_CASE(bad_percent_escape_gets_400_naming_parameter,
                        EchoStack) {
  httplib::Result result = client().Get("/echo?ok=1&%3Cb%3E=%G1");
  BOOST_TEST_REQUIRE(static_cast<bool>(result),
                     "GET failed: " << httplib::to_string(result.error()));
  BOOST_TEST(result->status == 400);
  BOOST_TEST(HeaderOf(result, "Content-Type") == "text/html; charset=utf-8");
  BOOST_TEST(Contains(result->body, "&quot;&lt;b&gt;&quot;"), result->body);
  BOOST_TEST(!Contains(result->body, "<b>"), result->body);
  BOOST_TEST(Contains(result->body, "two hex digits"), result->body);
  CheckErrorLogClean();
}

BOOST_FIXTURE_TEST_CASE(json_post_gets_400, EchoStack) {
  httplib::Result result =
      client().Post("/echo", "{\"a\":1}", "application/json");
  BOOST_TEST_REQUIRE(static_cast<bool>(result),
                     "POST failed: " << httplib::to_string(result.error()));
  BOOST_TEST(result->status == 400);
  BOOST_TEST(Contains(result->body, "&quot;application/json&quot;"),
             result->body);
  CheckErrorLogClean();
}

BOOST_FIXTURE_TEST_CASE(oversized_body_gets_413, EchoStack) {
  const std::string body = "a=" + std::string(kMaxBodyBytes, 'x');
  httplib::Result result =
      client().Post("/echo", body, "application/x-www-form-urlencoded");
  BOOST_TEST_REQUIRE(static_cast<bool>(result),
                     "POST failed: " << httplib::to_string(result.error()));
  BOOST_TEST(result->status == 413);
  BOOST_TEST(Contains(result->body, std::to_string(kMaxBodyBytes) + " bytes"),
             result->body);

  httplib::Result next = client().Get("/echo");
  BOOST_TEST_REQUIRE(static_cast<bool>(next));
  BOOST_TEST(next->status == 200);
  CheckErrorLogClean();
}

BOOST_FIXTURE_TEST_CASE(throwing_handler_gets_500_loop_survives, EchoStack) {
  httplib::Result result = client().Get("/throw");
  BOOST_TEST_REQUIRE(static_cast<bool>(result),
                     "GET failed: " << httplib::to_string(result.error()));
  BOOST_TEST(result->status == 500);
  BOOST_TEST(result->body == "internal error\n");
  BOOST_TEST(HeaderOf(result, "Content-Type") == "text/plain; charset=utf-8");

  httplib::Result next = client().Get("/echo?after=throw");
  BOOST_TEST_REQUIRE(static_cast<bool>(next),
                     "GET failed: " << httplib::to_string(next.error()));
  BOOST_TEST(next->status == 200);
  BOOST_TEST(echo().Running());

  const std::string echo_log = EchoLog();
  BOOST_TEST(Contains(echo_log,
                      "<3>request to \"/throw\" failed: "
                      "\"fastcgi_echo handler threw on purpose\""),
             echo_log);
  CheckErrorLogClean();
}

BOOST_FIXTURE_TEST_CASE(sigterm_exits_with_code_0, EchoStack) {
  httplib::Result result = client().Get("/echo");
  BOOST_TEST_REQUIRE(static_cast<bool>(result),
                     "GET failed: " << httplib::to_string(result.error()));
  BOOST_TEST(result->status == 200);

  const std::optional<int> status = echo().SignalAndWait(SIGTERM);
  BOOST_TEST_REQUIRE(status.has_value(),
                     "fastcgi_echo did not exit within 10 s of SIGTERM");
  BOOST_TEST(WIFEXITED(*status));
  BOOST_TEST(WEXITSTATUS(*status) == 0);
  BOOST_TEST(Contains(EchoLog(), "<6>stopped on SIGTERM"), EchoLog());
}

BOOST_AUTO_TEST_CASE(slow_request_leaves_other_thread_free) {
  StackWithSlowRequest held(2);
  EchoStack& stack = held.stack;

  httplib::Result fast = stack.client().Get("/echo?fast");
  BOOST_TEST(StatusOf(fast) == 200, BodyOf(fast));
  BOOST_TEST(!held.slow.done(), "the slow request ended before its release");

  stack.ReleaseSlowRequests();
  const httplib::Result& slow = held.slow.Wait();
  BOOST_TEST(StatusOf(slow) == 200, BodyOf(slow));
  const std::string log = stack.EchoLog();
  BOOST_TEST(PositionIn(log, "serves \"/echo\"") <
                 PositionIn(log, "finished \"/slow\""),
             log);
  const json slow_echo = json::parse(BodyOf(slow), nullptr, false);
  const json fast_echo = json::parse(BodyOf(fast), nullptr, false);
  BOOST_TEST_REQUIRE(slow_echo.is_object(), BodyOf(slow));
  BOOST_TEST_REQUIRE(fast_echo.is_object(), BodyOf(fast));
  BOOST_TEST(slow_echo["thread"] != fast_echo["thread"]);
  stack.CheckErrorLogClean();
}

BOOST_AUTO_TEST_CASE(slow_request_holds_single_thread) {
  StackWithSlowRequest held(1);
  EchoStack& stack = held.stack;

  PendingGet fast("http://127.0.0.1:" + std::to_string(stack.port()),
                  "/echo?fast", kSlowTimeout);
  std::this_thread::sleep_for(kQueuedWait);
  BOOST_TEST(!fast.done(), "the fast request passed the slow one");
  BOOST_TEST(!Contains(stack.EchoLog(), "serves \"/echo\""), stack.EchoLog());

  stack.ReleaseSlowRequests();
  BOOST_TEST(StatusOf(held.slow.Wait()) == 200, BodyOf(held.slow.Wait()));
  BOOST_TEST(StatusOf(fast.Wait()) == 200, BodyOf(fast.Wait()));
  const std::string log = stack.EchoLog();
  BOOST_TEST(PositionIn(log, "finished \"/slow\"") <
                 PositionIn(log, "serves \"/echo\""),
             log);
  stack.CheckErrorLogClean();
}

BOOST_AUTO_TEST_CASE(throwing_handler_fails_only_its_request) {
  StackWithSlowRequest held(2);
  EchoStack& stack = held.stack;

  httplib::Result thrown = stack.client().Get("/throw");
  BOOST_TEST(StatusOf(thrown) == 500, BodyOf(thrown));
  httplib::Result next = stack.client().Get("/echo?after=throw");
  BOOST_TEST(StatusOf(next) == 200, BodyOf(next));
  BOOST_TEST(!held.slow.done(), "the slow request ended before its release");

  stack.ReleaseSlowRequests();
  BOOST_TEST(StatusOf(held.slow.Wait()) == 200, BodyOf(held.slow.Wait()));
  BOOST_TEST(stack.echo().Running());
  stack.CheckErrorLogClean();
}

BOOST_AUTO_TEST_CASE(sigterm_lets_request_in_flight_finish) {
  StackWithSlowRequest held(2);
  EchoStack& stack = held.stack;

  stack.echo().Signal(SIGTERM);
  stack.ReleaseSlowRequests();
  BOOST_TEST(StatusOf(held.slow.Wait()) == 200, BodyOf(held.slow.Wait()));

  CheckStoppedOnSigterm(stack, stack.echo().WaitForExit());
}

BOOST_AUTO_TEST_CASE(sigterm_stops_every_idle_thread) {
  EchoStack stack(4);
  httplib::Result result = stack.client().Get("/echo");
  BOOST_TEST_REQUIRE(static_cast<bool>(result),
                     "GET failed: " << httplib::to_string(result.error()));
  BOOST_TEST(result->status == 200);
  BOOST_TEST(Contains(stack.EchoLog(), "with 4 threads"), stack.EchoLog());

  CheckStoppedOnSigterm(stack, stack.echo().SignalAndWait(SIGTERM));
}

BOOST_AUTO_TEST_CASE(sigterm_with_idle_connection_exits) {
  EchoStack stack;
  RawFastCgiClient idle(stack.SocketPath());
  // libfcgi accepts the connection and then waits up to 2 s for its first
  // byte, and the SIGTERM arrives in that wait.
  std::this_thread::sleep_for(kSettleTime);

  CheckStoppedOnSigterm(stack, stack.echo().SignalAndWait(SIGTERM));
}

BOOST_AUTO_TEST_CASE(sigterm_during_record_header_answers) {
  EchoStack stack;
  // libfcgi has read half a record header and waits for the rest when the
  // SIGTERM arrives. The block closes the client at once, so that libfcgi
  // does not wait for that close before the process exits.
  {
    RawFastCgiClient client(stack.SocketPath());
    const std::string request = FastCgiGetRequest();
    BOOST_TEST_REQUIRE(client.Send(request.substr(0, kRecordHeaderBytes / 2)));
    std::this_thread::sleep_for(kSettleTime);

    stack.echo().Signal(SIGTERM);
    std::this_thread::sleep_for(kSettleTime);
    BOOST_TEST_REQUIRE(client.Send(request.substr(kRecordHeaderBytes / 2)),
                       "fastcgi_echo closed the connection in the middle of "
                       "a record header");
    bool ended = false;
    const std::string out = client.ReadResponse(ended);
    BOOST_TEST(Contains(out, "Status: 200 OK\r\n"), out);
    BOOST_TEST(Contains(out, "\"query_string\":\"via=raw\""), out);
    BOOST_TEST(ended, "no end-request record after: " << out);
  }

  CheckStoppedOnSigterm(stack, stack.echo().WaitForExit());
}

BOOST_AUTO_TEST_CASE(sigint_exits_with_code_0) {
  EchoStack stack(2);
  httplib::Result result = stack.client().Get("/echo");
  BOOST_TEST(StatusOf(result) == 200, BodyOf(result));

  const std::optional<int> status = stack.echo().SignalAndWait(SIGINT);
  BOOST_TEST_REQUIRE(status.has_value(),
                     "fastcgi_echo did not exit within 10 s of SIGINT");
  BOOST_TEST(WIFEXITED(*status));
  BOOST_TEST(WEXITSTATUS(*status) == 0);
  BOOST_TEST(Contains(stack.EchoLog(), "<6>stopped on SIGINT"),
             stack.EchoLog());
}

BOOST_AUTO_TEST_CASE(invalid_thread_count_exits_with_code_1) {
  for (const int threads : {-1, 257}) {
    BOOST_TEST_CONTEXT("threads " << threads) {
      EchoStack stack(threads);
      const std::optional<int> status = stack.echo().WaitForExit();
      BOOST_TEST_REQUIRE(status.has_value(), "fastcgi_echo did not exit");
      BOOST_TEST(WIFEXITED(*status));
      BOOST_TEST(WEXITSTATUS(*status) == 1);
      BOOST_TEST(Contains(stack.EchoLog(), "invalid FastCGI thread count " +
                                               std::to_string(threads)),
                 stack.EchoLog());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
