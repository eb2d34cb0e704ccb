// See webhook_post.h.
#include "dashboard/webhook_post.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/NullStream.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <memory>

namespace atelier::dashboard {

PostResult post_json(const std::string& url, const std::string& body, int timeout_s) {
  PostResult out;
  try {
    const Poco::URI uri(url);
    std::unique_ptr<Poco::Net::HTTPClientSession> s;
    if (uri.getScheme() == "https") {
      static const Poco::Net::Context::Ptr ctx = new Poco::Net::Context(
          Poco::Net::Context::TLS_CLIENT_USE, "", Poco::Net::Context::VERIFY_RELAXED, 9, true);
      s = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), ctx);
    } else if (uri.getScheme() == "http") {
      s = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    } else {
      out.error = "not an http(s) URL";
      return out;
    }
    s->setTimeout(Poco::Timespan(timeout_s, 0));
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, uri.getPathAndQuery(),
                               Poco::Net::HTTPMessage::HTTP_1_1);
    req.setContentType("application/json");
    req.setContentLength(static_cast<std::streamsize>(body.size()));
    req.set("User-Agent", "atelier/0.1.0");
    s->sendRequest(req) << body;
    Poco::Net::HTTPResponse res;
    std::istream& in = s->receiveResponse(res);
    Poco::NullOutputStream sink;
    Poco::StreamCopier::copyStream(in, sink);
    out.status = res.getStatus();
    if (!out.ok()) out.error = "HTTP " + std::to_string(out.status) + " " + res.getReason();
  } catch (const Poco::Exception& e) {
    out.error = e.displayText();
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

}  // namespace atelier::dashboard
