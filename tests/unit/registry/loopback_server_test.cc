// The loopback server's own checks. This file also compiles the server for the whole test
// binary: the unit test glob only picks up *_test.cc files.
#include "loopback_server.cc"  // NOLINT(bugprone-suspicious-include)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace lade::registry::testing {
namespace {

/// One raw HTTP exchange (empty on failure), without curl, so the server is checked independently
/// of the client.
std::string raw_get(uint16_t port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  // No Catch assertions here: this also runs on a helper thread.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return {};
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST_CASE("loopback server: canned sequences, 404 for unknown paths, request log",
          "[registry][loopback]") {
  LoopbackServer server;
  CHECK(server.port() != 0);
  CHECK(server.url("/x") == "http://127.0.0.1:" + std::to_string(server.port()) + "/x");
  server.on("/seq",
            {CannedResponse{500, {}, "first"}, CannedResponse{200, {{"ETag", "\"e\""}}, "second"}});

  std::string a = raw_get(server.port(), "/seq");
  std::string b = raw_get(server.port(), "/seq");
  std::string c = raw_get(server.port(), "/seq");
  std::string d = raw_get(server.port(), "/missing");
  CHECK(a.rfind("HTTP/1.1 500", 0) == 0);
  CHECK(a.ends_with("first"));
  CHECK(b.rfind("HTTP/1.1 200", 0) == 0);
  CHECK_THAT(b, Catch::Contains("ETag: \"e\""));
  CHECK(c.ends_with("second"));  // the last response repeats
  CHECK(d.rfind("HTTP/1.1 404", 0) == 0);
  CHECK(server.request_count() == 4);
  CHECK(server.request_count("/seq") == 3);
  CHECK(server.requests()[0].header("host") == "127.0.0.1");
}

TEST_CASE("loopback server: stops promptly even with a long delay pending",
          "[registry][loopback]") {
  auto start = std::chrono::steady_clock::now();
  std::optional<LoopbackServer> server;
  server.emplace();
  server->on("/slow", {CannedResponse{200, {}, "x", std::chrono::milliseconds(30000)}});
  uint16_t port = server->port();
  std::thread client([port] { raw_get(port, "/slow"); });
  while (server->request_count() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server.reset();  // must not wait for the 30 s delay
  client.join();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("unused_loopback_port refuses connections", "[registry][loopback]") {
  uint16_t port = unused_loopback_port();
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0);
  ::close(fd);
}

}  // namespace
}  // namespace lade::registry::testing
