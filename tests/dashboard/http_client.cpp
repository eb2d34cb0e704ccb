// See http_client.h.
#include "http_client.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <sstream>

namespace atelier::test {

HttpResult http(int port, const HttpRequest& r) {
  Poco::Net::HTTPClientSession s("127.0.0.1", static_cast<Poco::UInt16>(port));
  s.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest req(r.method, r.path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [k, v] : r.headers) req.set(k, v);
  if (!r.body.empty() || r.method == "POST") {
    req.setContentType(r.content_type.empty() ? "application/json" : r.content_type);
    req.setContentLength(static_cast<std::streamsize>(r.body.size()));
  }
  s.sendRequest(req) << r.body;
  Poco::Net::HTTPResponse res;
  std::istream& in = s.receiveResponse(res);
  HttpResult out;
  out.status = res.getStatus();
  out.content_type = res.getContentType();
  for (const auto& [k, v] : res) out.headers.emplace(k, v);
  std::ostringstream body;
  Poco::StreamCopier::copyStream(in, body);
  out.body = body.str();
  return out;
}

namespace {
int receive(Poco::Net::StreamSocket& s, char* buf, int n) {
  try {
    return s.receiveBytes(buf, n);
  } catch (const Poco::Exception&) {
    return 0;  // a reset after the reply: what was read stands
  }
}
}  // namespace

HttpResult http_raw(int port, const std::string& raw) {
  Poco::Net::StreamSocket sock(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
  sock.setReceiveTimeout(Poco::Timespan(30, 0));
  try {
    sock.sendBytes(raw.data(), static_cast<int>(raw.size()));
  } catch (const Poco::Exception&) {
    // The server may answer and close before reading all of an oversized body.
  }
  std::string got;
  char buf[8192];
  for (int n; (n = receive(sock, buf, sizeof buf)) > 0;) {
    got.append(buf, static_cast<size_t>(n));
    if (got.find("\r\n\r\n") != std::string::npos && got.size() > 12) {
      // Enough for the status and headers of a short reply; keep reading a
      // declared body if there is one.
      const auto cl = got.find("Content-Length: ");
      const auto end = got.find("\r\n\r\n");
      if (cl != std::string::npos && cl < end) {
        const size_t len = std::stoul(got.substr(cl + 16));
        if (got.size() >= end + 4 + len) break;
      } else {
        break;
      }
    }
  }
  HttpResult out;
  if (got.rfind("HTTP/1.", 0) == 0 && got.size() > 12) out.status = std::stoi(got.substr(9, 3));
  const auto end = got.find("\r\n\r\n");
  out.body = end == std::string::npos ? "" : got.substr(end + 4);
  return out;
}

}  // namespace atelier::test
