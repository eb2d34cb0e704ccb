// POSTing a webhook body over HTTP or HTTPS (Poco), for the notifier. HTTPS
// checks the server's certificate against the system's CA store.
#pragma once
#include "orchestrator/notifier.h"

namespace atelier::dashboard {

// Never throws: a connection failure or timeout comes back as status 0 with the reason.
PostResult post_json(const std::string& url, const std::string& body, int timeout_s = 10);

}  // namespace atelier::dashboard
