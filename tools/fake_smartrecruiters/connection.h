// Closing a client connection from inside a cpp-httplib handler, for the
// "drop" fault.

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

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_CONNECTION_H_
