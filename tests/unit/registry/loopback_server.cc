#include "loopback_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace lade::registry::testing {

namespace {

constexpr size_t kMaxConnections = 128;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 304:
      return "Not Modified";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

LoopbackServer::LoopbackServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket() failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 128) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2() failed");
  acceptor_ = std::thread([this] { accept_loop(); });
}

LoopbackServer::~LoopbackServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  stop_cv_.notify_all();
  char byte = 1;
  (void)!::write(wake_pipe_[1], &byte, 1);
  acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  ::close(listen_fd_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

std::string LoopbackServer::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

void LoopbackServer::on(const std::string& target, std::vector<CannedResponse> responses) {
  auto next = std::make_shared<size_t>(0);
  auto shared = std::make_shared<std::vector<CannedResponse>>(std::move(responses));
  on(target, [next, shared](const RecordedRequest&) {
    size_t i = std::min(*next, shared->size() - 1);
    ++*next;  // handlers run under the server mutex, see respond_to()
    return (*shared)[i];
  });
}

void LoopbackServer::on(const std::string& target, Handler handler) {
  std::lock_guard lock(mu_);
  handlers_[target] = std::move(handler);
}

std::vector<RecordedRequest> LoopbackServer::requests() const {
  std::lock_guard lock(mu_);
  return log_;
}

size_t LoopbackServer::request_count() const {
  std::lock_guard lock(mu_);
  return log_.size();
}

size_t LoopbackServer::request_count(const std::string& target) const {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(
      std::count_if(log_.begin(), log_.end(), [&](const auto& r) { return r.target == target; }));
}

bool LoopbackServer::wait(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !stop_cv_.wait_for(lock, d, [this] { return stopping_; });
}

CannedResponse LoopbackServer::respond_to(const RecordedRequest& request) {
  std::lock_guard lock(mu_);
  log_.push_back(request);
  auto it = handlers_.find(request.target);
  if (it == handlers_.end()) return CannedResponse{404, {}, R"({"error":"Not found"})"};
  return it->second(request);
}

void LoopbackServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mu_);
    if (stopping_ || workers_.size() >= kMaxConnections) {
      ::close(fd);
      continue;
    }
    connections_++;
    open_fds_.insert(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void LoopbackServer::serve(int fd) {
  std::string buffer;
  char chunk[8192];
  bool keep_open = true;
  while (keep_open) {
    size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        keep_open = false;
        break;
      }
      buffer.append(chunk, static_cast<size_t>(n));
    }
    if (!keep_open) break;
    std::string head = buffer.substr(0, end);
    buffer.erase(0, end + 4);

    RecordedRequest request;
    size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    size_t sp1 = request_line.find(' ');
    size_t sp2 = request_line.rfind(' ');
    request.method = request_line.substr(0, sp1);
    request.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t eol = head.find("\r\n", pos);
      if (eol == std::string::npos) eol = head.size();
      std::string line = head.substr(pos, eol - pos);
      pos = eol + 2;
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        request.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
      }
    }
    if (lower(request.header("connection")) == "close") keep_open = false;

    int now_active = ++active_;
    int seen = max_concurrent_.load();
    while (now_active > seen && !max_concurrent_.compare_exchange_weak(seen, now_active)) {
    }
    CannedResponse response = respond_to(request);
    bool ok = wait(response.delay);
    if (ok && !response.drop_connection) {
      std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                        reason_phrase(response.status) + "\r\n";
      for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
      bool bodyless = response.status == 304 || response.status == 204;
      if (!bodyless) out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
      out += keep_open ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
      if (!bodyless && request.method != "HEAD") {
        if (response.truncate_body_at) {
          out += response.body.substr(0, *response.truncate_body_at);
          keep_open = false;
        } else {
          out += response.body;
        }
      }
      if (!send_all(fd, out)) keep_open = false;
    } else {
      keep_open = false;
    }
    --active_;
  }
  std::lock_guard lock(mu_);
  open_fds_.erase(fd);
  ::close(fd);
}

uint16_t unused_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // nothing listens there now: connections are refused
  return ntohs(addr.sin_port);
}

}  // namespace lade::registry::testing
