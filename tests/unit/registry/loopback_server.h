#pragma once
// A tiny HTTP/1.1 server on 127.0.0.1 for registry unit tests: an ephemeral port, canned
// responses per path (a sequence, so "500 then 200" is one line), optional delays, dropped
// connections and truncated bodies, and a log of every request it saw. Keep-alive is supported;
// every connection gets its own thread, so delays overlap like a real server's would.
//
// The unit test glob only compiles *_test.cc files, so loopback_server_test.cc includes
// loopback_server.cc once; other tests include only this header.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace lade::registry::testing {

struct CannedResponse {
  CannedResponse() = default;
  CannedResponse(int status_, std::vector<std::pair<std::string, std::string>> headers_ = {},
                 std::string body_ = {}, std::chrono::milliseconds delay_ = {})
      : status(status_), headers(std::move(headers_)), body(std::move(body_)), delay(delay_) {}

  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Wait this long after reading the request before answering.
  std::chrono::milliseconds delay{0};
  /// Close the connection instead of answering (the client sees an empty reply).
  bool drop_connection = false;
  /// Announce the full Content-Length but close after this many body bytes.
  std::optional<size_t> truncate_body_at;
};

struct RecordedRequest {
  std::string method;
  std::string target;                          // path and query as sent
  std::map<std::string, std::string> headers;  // lower-case names

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

class LoopbackServer {
 public:
  using Handler = std::function<CannedResponse(const RecordedRequest&)>;

  /// Binds 127.0.0.1 on an ephemeral port and starts serving.
  LoopbackServer();
  /// Stops accepting, breaks open connections and pending delays, joins every thread.
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  uint16_t port() const { return port_; }
  /// "http://127.0.0.1:<port>" + path.
  std::string url(std::string_view path = "/") const;

  /// Answers `target` with these responses in turn; the last one repeats.
  void on(const std::string& target, std::vector<CannedResponse> responses);
  /// Answers `target` by calling `handler` (on a connection thread, with the server's lock held:
  /// the handler must not call back into the server).
  void on(const std::string& target, Handler handler);

  std::vector<RecordedRequest> requests() const;
  size_t request_count() const;
  size_t request_count(const std::string& target) const;
  /// The most requests that were being answered at the same moment.
  int max_concurrent() const { return max_concurrent_; }
  /// TCP connections accepted so far.
  int connections() const { return connections_; }

 private:
  void accept_loop();
  void serve(int fd);
  CannedResponse respond_to(const RecordedRequest& request);
  /// Sleeps for `d` unless the server stops first; returns false when stopping.
  bool wait(std::chrono::milliseconds d);

  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::thread acceptor_;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::set<int> open_fds_;
  std::map<std::string, Handler> handlers_;
  std::vector<RecordedRequest> log_;

  std::atomic<int> active_{0};
  std::atomic<int> max_concurrent_{0};
  std::atomic<int> connections_{0};
};

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
uint16_t unused_loopback_port();

}  // namespace lade::registry::testing
