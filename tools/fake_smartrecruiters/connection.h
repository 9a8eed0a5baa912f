// Socket operations that cpp-httplib 0.11.4 does not expose: closing a
// client connection from inside a handler (the "drop" fault) and raising
// the listen backlog.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_CONNECTION_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_CONNECTION_H_

#include <httplib.h>

#include "status.h"

namespace srconnect::fake {

// Shuts down (SHUT_RDWR) the socket that carries `request`, so the client
// reads end of file before any response byte. cpp-httplib 0.11.4 does not
// give handlers the socket, so this finds it among the process's open
// descriptors by the request's local and remote address and port. The
// descriptor stays open: cpp-httplib's later write fails and it closes the
// descriptor itself. Returns an error when no socket matches.
//
// REQUIRES: SIGPIPE ignored, because cpp-httplib then writes to the shut
// socket.
Status ShutdownConnection(const httplib::Request& request);

// Calls listen(2) again with `backlog` on this process's listening socket
// bound to `port`. cpp-httplib 0.11.4 listens with a backlog of 5, so a
// burst of 32 new connections overflows the queue and the kernel's SYN
// retransmission delays some clients by a second. Returns an error when no
// listening socket has that port.
Status RaiseListenBacklog(int port, int backlog);

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_CONNECTION_H_
