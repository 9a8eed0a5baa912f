// fake-smartrecruiters: a loopback test double of SmartRecruiters for
// srconnect's tests, benchmarks and demos. See docs/fake-smartrecruiters.md.

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "cli.h"
#include "config.h"
#include "connection.h"
#include "faults.h"
#include "log.h"
#include "request_log.h"
#include "routes.h"
#include "server_context.h"
#include "state.h"
#include "stop_signal.h"

namespace srconnect::fake {
namespace {

constexpr int kExitBindFailed = 1;
constexpr int kExitUsage = 2;
// Benchmarks drive 32 concurrent token requests with 50 ms of injected
// latency, and each keep-alive connection occupies a worker.
constexpr size_t kWorkerThreads = 64;
// Pending connections the kernel queues; cpp-httplib's own value is 5.
constexpr int kListenBacklog = 512;

// Requests served on one kept-alive connection before the fake closes it,
// well above cpp-httplib's default of 5, so that benchmarks measure kept
// connections. cpp-httplib also closes a connection that stays idle for
// 5 s (CPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND).
constexpr size_t kKeepAliveMaxRequests = 100;

Result<std::vector<Fault>> ParseStartupFaults(
    const std::vector<std::string>& specs) {
  std::vector<Fault> faults;
  for (const std::string& spec : specs) {
    Result<nlohmann::json> json = CompactFaultToJson(spec);
    if (!json.ok()) return json.status();
    Result<Fault> fault = ParseFault(*json);
    if (!fault.ok()) {
      return Status::Error("--fault \"" + spec + "\": " + fault.error());
    }
    faults.push_back(*fault);
  }
  return faults;
}

// Writes the port through a temporary file and rename(2), so a reader never
// sees a partial number.
Status WritePortFile(const std::string& path, int port) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << "\n";
    if (!out) {
      return Status::Error("cannot write port file \"" + temporary + "\"");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return Status::Error("cannot rename \"" + temporary + "\" to \"" + path +
                         "\"");
  }
  return Status::Ok();
}

std::string UrlHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

int Run(int argc, char** argv) {
  Result<CommandLine> parsed = ParseCommandLine(argc, argv);
  if (!parsed.ok()) {
    LogError("invalid command line: " + parsed.error() + " (see --help)");
    return kExitUsage;
  }
  const CommandLine& command_line = *parsed;
  if (command_line.help) {
    std::cout << Usage();
    return 0;
  }

  Result<FakeConfig> config = LoadConfig(command_line.config_path);
  if (!config.ok()) {
    LogError("invalid configuration: " + config.error());
    return kExitUsage;
  }
  Result<std::vector<Fault>> faults = ParseStartupFaults(command_line.faults);
  if (!faults.ok()) {
    LogError("invalid fault: " + faults.error());
    return kExitUsage;
  }
  std::unique_ptr<RequestLog> request_log;
  if (!command_line.request_log_path.empty()) {
    Result<std::unique_ptr<RequestLog>> opened =
        RequestLog::Open(command_line.request_log_path);
    if (!opened.ok()) {
      LogError(opened.error());
      return kExitUsage;
    }
    request_log = std::move(*opened);
  }

  // Block the stop signals before any thread starts, so that only the
  // signal thread below receives them (through sigwait). SIGPIPE is ignored
  // because the drop fault makes cpp-httplib write to a shut socket.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const bool tls = !command_line.tls_cert_path.empty();
  std::unique_ptr<httplib::Server> server;
  if (tls) {
    auto ssl_server = std::make_unique<httplib::SSLServer>(
        command_line.tls_cert_path.c_str(), command_line.tls_key_path.c_str());
    if (!ssl_server->is_valid()) {
      LogError("cannot load TLS certificate " +
               Quote(command_line.tls_cert_path) + " or key " +
               Quote(command_line.tls_key_path) +
               "; check that both are PEM files and match");
      return kExitBindFailed;
    }
    server = std::move(ssl_server);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  server->new_task_queue = [] {
    return new httplib::ThreadPool(kWorkerThreads);
  };
  server->set_keep_alive_max_count(kKeepAliveMaxRequests);
  // cpp-httplib writes a response's headers and body separately. On a kept
  // connection Nagle's algorithm would hold the body until the client's
  // delayed ACK of the headers, adding up to 40 ms to every response.
  server->set_tcp_nodelay(true);

  int port = command_line.listen_port;
  if (port == 0) {
    port = server->bind_to_any_port(command_line.listen_host);
  } else if (!server->bind_to_port(command_line.listen_host, port)) {
    port = -1;
  }
  if (port < 0) {
    LogError("cannot bind " +
             Quote(UrlHost(command_line.listen_host) + ":" +
                   std::to_string(command_line.listen_port)) +
             "; is the port in use?");
    return kExitBindFailed;
  }

  if (Status raised = RaiseListenBacklog(port, kListenBacklog); !raised.ok()) {
    LogWarning("cannot raise the listen backlog: " + raised.message() +
               "; bursts of new connections may wait for SYN retries");
  }

  const std::string base_url = std::string(tls ? "https://" : "http://") +
                               UrlHost(command_line.listen_host) + ":" +
                               std::to_string(port);
  FakeState state(std::move(*config), command_line.token_lifetime_s);
  FaultTable fault_table;
  fault_table.Add(std::move(*faults));
  StopSignal stop;
  ServerContext context{
      state, fault_table, stop,
      command_line.public_url.empty() ? base_url : command_line.public_url,
      tls};
  RegisterRoutes(*server, context, request_log.get());

  if (!command_line.port_file.empty()) {
    if (Status written = WritePortFile(command_line.port_file, port);
        !written.ok()) {
      LogError(written.message());
      return kExitBindFailed;
    }
  }
  std::cout << "listening on " << base_url << std::endl;

  std::thread signal_thread([&] {
    int received = 0;
    sigwait(&stop_signals, &received);
    LogInfo(std::string("received ") + strsignal(received) + "; stopping");
    stop.Stop();
    server->stop();
  });

  LogInfo("fake-smartrecruiters listening on " + Quote(base_url) + " for app " +
          Quote(state.app().name) + ", public URL " +
          Quote(context.public_url));

  const bool listened = server->listen_after_bind();
  // Wake the signal thread if the server stopped on its own.
  stop.Stop();
  kill(getpid(), SIGTERM);
  signal_thread.join();
  if (!listened) {
    LogError("server on " + Quote(base_url) + " stopped with an error");
    return kExitBindFailed;
  }
  LogInfo("fake-smartrecruiters stopped");
  return 0;
}

}  // namespace
}  // namespace srconnect::fake

int main(int argc, char** argv) {
  try {
    return srconnect::fake::Run(argc, argv);
  } catch (const std::exception& e) {
    srconnect::LogError(std::string("fake-smartrecruiters failed: ") +
                        e.what());
  } catch (...) {
    srconnect::LogError("fake-smartrecruiters failed: unknown exception");
  }
  return 1;
}
