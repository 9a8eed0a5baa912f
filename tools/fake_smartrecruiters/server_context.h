// ServerContext: what every request handler of the fake shares.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_SERVER_CONTEXT_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_SERVER_CONTEXT_H_

#include <string>

#include "faults.h"
#include "state.h"
#include "stop_signal.h"

namespace srconnect::fake {

struct ServerContext {
  FakeState& state;
  FaultTable& faults;
  StopSignal& stop;
  std::string public_url;  // base of redirect URLs, without a final '/'
  bool tls = false;        // serving HTTPS: session cookies get Secure
};

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_SERVER_CONTEXT_H_
