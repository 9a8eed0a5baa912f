#include "connection.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace srconnect::fake {
namespace {

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};

// Returns true when `address` is `host`:`port` in the numeric form that
// cpp-httplib stores in Request (inet_ntop's form, as from getnameinfo
// with NI_NUMERICHOST).
bool AddressIs(const sockaddr_storage& address, const std::string& host,
               int port) {
  char text[INET6_ADDRSTRLEN] = "";
  int actual_port = -1;
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    actual_port = ntohs(v4->sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    actual_port = ntohs(v6->sin6_port);
  } else {
    return false;
  }
  return actual_port == port && host == text;
}

// Calls `visit` with each socket descriptor of this process until it
// returns true. Returns an error when /proc/self/fd cannot be read.
template <typename Visit>
Status ForEachSocket(Visit visit) {
  std::unique_ptr<DIR, DirCloser> dir(opendir("/proc/self/fd"));
  if (!dir) {
    return Status::Error(std::string("opendir \"/proc/self/fd\" failed: ") +
                         std::strerror(errno));
  }
  while (const dirent* entry = readdir(dir.get())) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const int fd = std::atoi(entry->d_name);
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISSOCK(info.st_mode)) continue;
    if (visit(fd)) break;
  }
  return Status::Ok();
}

int LocalPort(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return -1;
}

}  // namespace

Status ShutdownConnection(const httplib::Request& request) {
  Status result = Status::Error(
      "no open socket matches the connection from \"" + request.remote_addr +
      ":" + std::to_string(request.remote_port) + "\"");
  const Status listed = ForEachSocket([&](int fd) {
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t local_size = sizeof(local);
    socklen_t peer_size = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) !=
            0 ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) {
      return false;
    }
    if (!AddressIs(local, request.local_addr, request.local_port) ||
        !AddressIs(peer, request.remote_addr, request.remote_port)) {
      return false;
    }
    result =
        shutdown(fd, SHUT_RDWR) == 0
            ? Status::Ok()
            : Status::Error("shutdown of descriptor " + std::to_string(fd) +
                            " failed: " + std::strerror(errno));
    return true;
  });
  return listed.ok() ? result : listed;
}

Status RaiseListenBacklog(int port, int backlog) {
  Status result =
      Status::Error("no listening socket has port " + std::to_string(port));
  const Status listed = ForEachSocket([&](int fd) {
    int accepting = 0;
    socklen_t accepting_size = sizeof(accepting);
    sockaddr_storage local{};
    socklen_t local_size = sizeof(local);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting,
                   &accepting_size) != 0 ||
        accepting == 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) !=
            0 ||
        LocalPort(local) != port) {
      return false;
    }
    result = listen(fd, backlog) == 0
                 ? Status::Ok()
                 : Status::Error("listen on descriptor " + std::to_string(fd) +
                                 " failed: " + std::strerror(errno));
    return true;
  });
  return listed.ok() ? result : listed;
}

}  // namespace srconnect::fake
