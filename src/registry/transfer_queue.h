#pragma once
// TransferQueue: every HTTP GET of lade goes through one thread running a curl multi loop —
// HTTP/2 multiplexing where the server offers it, a bounded number of connections per host,
// many transfers in flight. The thread only moves bytes: completions are handed to callbacks
// that must be quick (post real work to a thread pool).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "util/result.h"

namespace lade::registry {

struct Settings;

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string url;
  /// Extra request headers ("Accept", "Authorization", "If-None-Match", ...).
  HeaderList headers;
  /// When set, the body of a 2xx response is streamed here chunk by chunk (already decoded from
  /// any Content-Encoding) instead of being collected in Response::body. Runs on the network
  /// thread: keep it cheap. Return false to stop the transfer (it then fails with ECANCELED).
  std::function<bool(std::string_view chunk)> on_data;
  /// Called before a retry when on_data already received part of a failed attempt, so the
  /// consumer can start over (reset its hasher/buffer). Without it such a transfer is not retried.
  std::function<void()> on_restart;
  /// Called before the first on_data of an attempt with the body's size, when the response
  /// says it (Content-Length of an unencoded body): a consumer that collects the body sizes its
  /// buffer once instead of growing it by doubling.
  std::function<void(uint64_t size)> on_size;
  /// Overrides TransferOptions::timeout for this request.
  std::optional<std::chrono::milliseconds> timeout;
  /// A client certificate and its key (PEM files), for registries that want mutual TLS.
  std::string client_cert_file;
  std::string client_key_file;
  /// Sent a second time when its answer is late (see TransferOptions::hedge_min), the first
  /// answer kept: for idempotent requests whose body is collected, not streamed to on_data.
  bool hedge = false;
};

struct Response {
  long status = 0;
  /// Response headers with lower-cased names, in arrival order (of the final response after
  /// redirects).
  HeaderList headers;
  /// The body, unless it was streamed to Request::on_data.
  std::string body;
  /// The URL after redirects.
  std::string effective_url;
  /// How many attempts it took (1 = no retry).
  int attempts = 1;
  /// Bytes of body received (decoded), streamed or not.
  uint64_t body_bytes = 0;

  /// The value of a header (name compared case-insensitively), or empty.
  std::string header(std::string_view name) const;
};

using Completion = std::function<void(util::Result<Response>)>;

/// One request as it completed, for npm's `--loglevel http` lines.
struct TransferRecord {
  std::string_view url;
  long status = 0;  // of the final response; 0 when it failed without one
  /// From submit() to completion: queueing, retries and their waits included.
  std::chrono::milliseconds elapsed{0};
  uint64_t body_bytes = 0;
  int attempts = 1;
  std::string_view error;  // why it failed; empty when a response came
};

/// The seam between HTTP users and the network, so a fake can stand in for tests.
class Transport {
 public:
  virtual ~Transport() = default;
  /// Starts `request`; `done` is called exactly once, on the transport's thread.
  virtual void submit(Request request, Completion done) = 0;
};

struct TransferOptions {
  /// Connections per host (npm's `maxsockets`); HTTP/2 streams share one connection.
  int max_host_connections = 15;
  /// Transfers handed to curl at once; the rest wait in our queue. About a hundred cover the
  /// registry's round trip (50 ms where measured) at full bandwidth. More only split it further:
  /// the big packuments that resolution waits on arrived later, and each transfer holds curl's
  /// buffers. Clean installs, paired runs against 256: medium fixture 2.3-3.6 s against
  /// 2.7-4.0 s (faster or equal in 7 of 7 pairs), peak RSS 86-113 against 100-130 MB;
  /// alotta-files 3.8-4.0 against 4.0-4.4 s, 124-137 against 138-150 MB. 32 was slower
  /// (4.0-4.8 s): then the round trips show.
  int max_active_transfers = 96;
  /// npm's retry policy (make-fetch-happen + promise-retry): up to `retries` more attempts
  /// after 408, 420, 429, 5xx or a network error; the n-th retry waits
  /// min(retry_min_timeout * retry_factor^(n-1), retry_max_timeout).
  int retries = 2;
  double retry_factor = 10;
  std::chrono::milliseconds retry_min_timeout{10000};
  std::chrono::milliseconds retry_max_timeout{60000};
  /// Whole-transfer timeout (npm's `fetch-timeout`).
  std::chrono::milliseconds timeout{5 * 60 * 1000};
  bool strict_ssl = true;
  /// Extra trusted CAs (PEM), on top of the system store.
  std::string extra_ca_pem;
  /// A file of extra trusted CAs (npm's `cafile`): read when the first request is made (a
  /// system bundle is a few hundred KB that runs without network never need); when readable
  /// it takes the place of extra_ca_pem.
  std::filesystem::path extra_ca_file;
  /// The system's trusted CAs (see Settings::ssl_cert_file): empty, where libcurl looks by
  /// default. With no extra CA, a folder of hashed links is preferred to the bundle file: a
  /// handshake then reads the one certificate it needs, where the bundle's 140-odd certificates
  /// took 23 ms to parse (35 ms to 10 ms for the first connection). A handshake that fails
  /// against the folder is tried again against the bundle.
  std::filesystem::path system_ca_file;
  std::filesystem::path system_ca_dir;
  /// Sent as User-Agent unless a request sets its own.
  std::string user_agent;
  /// Hedging (Request::hedge): a server here and there answers one request in a hundred some
  /// 60 ms late when the rest take 2-5 ms, and a resolver waiting on it waits that long. So a
  /// hedged request still unanswered `hedge_factor` times the median wait for an answer so far
  /// (and at least `hedge_min`) after it went out is sent once more, while no more than
  /// `hedge_max_active` transfers run: when many run, answers are slow because they share
  /// the connection, and a second request would only add to it.
  std::chrono::milliseconds hedge_min{30};
  double hedge_factor = 4;
  int hedge_max_active = 16;
  /// Told of every request as it completes, on the network thread (keep it cheap).
  std::function<void(const TransferRecord&)> on_transfer_done;

  /// npm's settings mapped to options: maxsockets, fetch-retries, fetch-retry-*, fetch-timeout,
  /// strict-ssl, cafile (ignored when unreadable, as npm does), ca, user-agent.
  static TransferOptions from_settings(const Settings& settings);
};

/// Counters of the network thread (a snapshot).
struct TransferStats {
  uint64_t submitted = 0;  // requests accepted by submit()
  uint64_t attempts = 0;   // HTTP attempts started (retries included)
  uint64_t retries = 0;    // attempts that were retries
  uint64_t succeeded = 0;  // completions with a Response (any status)
  uint64_t failed = 0;     // completions with an error
  uint64_t bytes_received = 0;
  uint64_t max_in_flight = 0;  // most transfers inside curl at once
  uint64_t hedged = 0;         // requests sent a second time (Request::hedge)
  /// Handshakes tried again against the CA bundle after the CA folder failed them.
  uint64_t ca_dir_fallbacks = 0;
};

class TransferQueue final : public Transport {
 public:
  explicit TransferQueue(TransferOptions options);
  /// Cancels whatever has not completed (ECANCELED) and joins the network thread.
  ~TransferQueue() override;
  TransferQueue(const TransferQueue&) = delete;
  TransferQueue& operator=(const TransferQueue&) = delete;

  /// Thread-safe. `done` runs on the network thread. After shutdown() it runs at once with
  /// ECANCELED.
  void submit(Request request, Completion done) override;
  /// Thread-safe convenience over the callback form.
  std::future<util::Result<Response>> submit(Request request);

  /// Stops the network thread: transfers not yet completed fail with ECANCELED. Idempotent.
  void shutdown();

  TransferStats stats() const;

 private:
  struct Transfer;
  struct Loop;
  /// The running loop, started (and libcurl loaded) by the first request; null with `error`
  /// set when libcurl cannot be loaded or after shutdown().
  Loop* loop(util::Error* error);

  TransferOptions options_;
  mutable std::mutex start_mu_;
  std::unique_ptr<Loop> loop_;  // guarded by start_mu_ until created; never replaced
  bool shut_down_ = false;      // guarded by start_mu_
};

}  // namespace lade::registry
