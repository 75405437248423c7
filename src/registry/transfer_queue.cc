#include "registry/transfer_queue.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "registry/curl_library.h"
#include "registry/npmrc.h"
#include "util/fs.h"
#include "util/memory.h"

namespace lade::registry {

using util::make_error;
using util::Result;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

/// Statuses make-fetch-happen retries.
bool retriable_status(long status) {
  return status == 408 || status == 420 || status == 429 || status >= 500;
}

/// Node's names for OpenSSL verification failures, so messages read like npm's.
std::string tls_verify_code(long verify_result) {
  switch (verify_result) {
    case 2:
      return "UNABLE_TO_GET_ISSUER_CERT";
    case 9:
      return "CERT_NOT_YET_VALID";
    case 10:
      return "CERT_HAS_EXPIRED";
    case 18:
      return "DEPTH_ZERO_SELF_SIGNED_CERT";
    case 19:
      return "SELF_SIGNED_CERT_IN_CHAIN";
    case 20:
      return "UNABLE_TO_GET_ISSUER_CERT_LOCALLY";
    case 21:
      return "UNABLE_TO_VERIFY_LEAF_SIGNATURE";
    case 0:
    case 62:
      return "ERR_TLS_CERT_ALTNAME_INVALID";
    default:
      return "ECERTVERIFY";
  }
}

struct Failure {
  std::string code;
  bool retriable = true;
};

/// Maps a curl failure to the error code npm would report (from node's net/tls layer).
Failure classify(const CurlLibrary& curl, CURL* easy, CURLcode result) {
  long os_errno = 0;
  curl.easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
  switch (result) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return {"ENOTFOUND", true};
    case CURLE_COULDNT_CONNECT:
      if (os_errno == ENETUNREACH) return {"ENETUNREACH", true};
      if (os_errno == EHOSTUNREACH) return {"EHOSTUNREACH", true};
      if (os_errno == ETIMEDOUT) return {"ETIMEDOUT", true};
      return {"ECONNREFUSED", true};
    case CURLE_OPERATION_TIMEDOUT:
      return {"ETIMEDOUT", true};
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return {"ECONNRESET", true};
    case CURLE_PEER_FAILED_VERIFICATION: {
      long verify = 0;
      curl.easy_getinfo(easy, CURLINFO_SSL_VERIFYRESULT, &verify);
      return {tls_verify_code(verify), false};  // a certificate does not get better by retrying
    }
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return {"ECERTFILE", false};
    case CURLE_SSL_CONNECT_ERROR:
      return {"EPROTO", true};
    case CURLE_TOO_MANY_REDIRECTS:
      return {"EMAXREDIRECT", false};
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return {"EINVALIDURL", false};
    default:
      return {"EFETCH", true};
  }
}

/// Whether `dir` holds OpenSSL's hashed links ("9d04f354.0"): only then can a handshake find
/// a CA in it (a plain folder of .pem files is read through the bundle instead).
bool has_hashed_certificates(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const size_t dot = name.find('.');
    if (dot == 8 && dot + 1 < name.size() &&
        std::all_of(name.begin(), name.begin() + 8, [](unsigned char c) { return std::isxdigit(c) != 0; }) &&
        std::all_of(name.begin() + 9, name.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
      return true;
    }
  }
  return false;
}

/// The body's size from its Content-Length; none when the body is encoded (a compressed body's
/// length says nothing about its decoded size), absent, or implausible.
std::optional<uint64_t> body_size(const Response& response) {
  constexpr unsigned long long kMaxReserve = 1ull << 30;
  std::string encoding = response.header("content-encoding");
  if (!encoding.empty() && encoding != "identity") return std::nullopt;
  std::string length = response.header("content-length");
  auto is_digit = [](unsigned char c) { return std::isdigit(c) != 0; };
  if (length.empty() || !std::all_of(length.begin(), length.end(), is_digit)) return std::nullopt;
  unsigned long long n = std::strtoull(length.c_str(), nullptr, 10);
  if (n == 0 || n >= kMaxReserve) return std::nullopt;
  return n;
}

/// Sizes a collected body once, instead of growing it by doubling (which copies it and, at the
/// end, holds twice its size). A little room is left after it for a JSON parser's padding
/// (manifest::Packument::kTextPadding).
void reserve_body(Response& response) {
  constexpr size_t kPadding = 64;
  if (auto n = body_size(response)) {
    response.body.reserve(static_cast<size_t>(*n) + kPadding);
    util::prefer_huge_pages(response.body.data(), static_cast<size_t>(*n));
  }
}

}  // namespace

std::string Response::header(std::string_view name) const {
  std::string key = lower(name);
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->first == key) return it->second;
  }
  return {};
}

TransferOptions TransferOptions::from_settings(const Settings& s) {
  TransferOptions o;
  o.max_host_connections = std::max(1, s.maxsockets);
  o.retries = std::max(0, s.fetch_retries);
  o.retry_factor = s.fetch_retry_factor;
  o.retry_min_timeout = s.fetch_retry_mintimeout;
  o.retry_max_timeout = s.fetch_retry_maxtimeout;
  o.timeout = s.fetch_timeout;
  o.strict_ssl = s.strict_ssl;
  o.user_agent = s.user_agent;
  o.extra_ca_file = s.cafile;
  o.system_ca_file = s.ssl_cert_file;
  o.system_ca_dir = s.ssl_cert_dir;
  for (const auto& cert : s.ca) o.extra_ca_pem += cert + "\n";
  return o;
}

/// A hedged request and its duplicate: whichever answers first completes it.
struct Twins {
  Completion done;
  int open = 2;  // of the two, how many have not completed
  bool delivered = false;
};

struct TransferQueue::Transfer {
  Request request;
  Completion done;  // empty once hedged (Twins::done has it)
  std::shared_ptr<Twins> twins;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  Response response;
  int attempts = 0;
  bool streaming = false;         // this attempt's body goes to on_data
  bool streamed_any = false;      // on_data has seen bytes of this attempt
  bool consumer_stopped = false;  // on_data returned false
  bool body_started = false;
  bool answered = false;  // this attempt's response began
  bool ca_dir_used = false;  // this attempt verifies the server against Loop::ca_dir
  Clock::time_point started{};      // this attempt was handed to curl
  Clock::time_point answered_at{};  // its response began
  Clock::time_point not_before{};
  Clock::time_point submitted_at = Clock::now();
  char errbuf[CURL_ERROR_SIZE] = {};
  std::atomic<uint64_t>* bytes_counter = nullptr;
  const CurlLibrary* curl = nullptr;  // set by the loop before any handle exists

  ~Transfer() {
    if (easy) curl->easy_cleanup(easy);
    if (header_list) curl->slist_free_all(header_list);
  }
};

struct TransferQueue::Loop {
  Loop(const CurlLibrary& c, TransferOptions o) : curl(c), options(std::move(o)) {
    multi = curl.multi_init();
    curl.multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl.multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      static_cast<long>(std::max(1, options.max_host_connections)));
    share = curl.share_init();
    curl.share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl.share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    // As in npm, a readable cafile takes the place of inline `ca` entries.
    std::string extra_ca = options.extra_ca_pem;
    if (!options.extra_ca_file.empty()) {
      if (auto text = util::read_file(options.extra_ca_file); text.ok()) extra_ca = std::move(*text);
    }
    const curl_version_info_data* info = curl.version_info(CURLVERSION_NOW);
    ca_file = options.system_ca_file;
    if (ca_file.empty() && info && info->cainfo) ca_file = info->cainfo;
    if (!extra_ca.empty()) {
      // CURLOPT_CAINFO_BLOB replaces curl's CA file, so the system bundle goes in the blob too.
      // Extra CAs the bundle has already (a cafile that names the system bundle, as machines
      // set up for other tools often do) change nothing: no blob.
      std::string system;
      if (auto text = util::read_file(ca_file); text.ok()) system = std::move(*text);
      if (system.find(extra_ca) == std::string::npos) ca_blob = system + "\n" + extra_ca;
    }
    if (ca_blob.empty() && options.strict_ssl) {
      fs::path dir = options.system_ca_dir;
      if (dir.empty() && info && info->age >= CURLVERSION_SEVENTH && info->capath) dir = info->capath;
      if (!dir.empty() && has_hashed_certificates(dir)) ca_dir = std::move(dir);
    }
    thread = std::thread([this] { run(); });
  }

  ~Loop() {
    stop();
    if (thread.joinable()) thread.join();
    curl.multi_cleanup(multi);
    curl.share_cleanup(share);
  }

  void stop() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    curl.multi_wakeup(multi);
  }

  void enqueue(std::unique_ptr<Transfer> t) {
    {
      std::lock_guard lock(mu);
      if (!stopping) {
        incoming.push_back(std::move(t));
        submitted++;
      }
    }
    if (t) {
      t->done(make_error("ECANCELED", "request to " + t->request.url +
                                          " failed, reason: the transfer queue is shut down"));
      return;
    }
    curl.multi_wakeup(multi);
  }

  void run();
  bool start(std::unique_ptr<Transfer>& t);
  void finish(CURL* easy, CURLcode result);
  void schedule_retry(std::unique_ptr<Transfer> t);
  void complete(std::unique_ptr<Transfer> t, Result<Response> result);
  /// Sends late hedged requests again; returns how long until the next one may be late.
  std::optional<std::chrono::milliseconds> hedge_late();
  /// The other of `twins`, no longer wanted (`kept` answered): stopped and freed.
  void drop_twin(const Twins& twins, const Transfer* kept);
  void note_wait(CURL* easy, const Transfer& t);

  static size_t on_header(char* data, size_t size, size_t n, void* user);
  static size_t on_body(char* data, size_t size, size_t n, void* user);

  const CurlLibrary& curl;
  TransferOptions options;
  CURLM* multi = nullptr;
  CURLSH* share = nullptr;
  std::string ca_blob;
  fs::path ca_file;  // the system's CA bundle
  fs::path ca_dir;   // the system's CA folder of hashed links, when there is one; preferred
  bool ca_dir_failed = false;  // a handshake failed against ca_dir (network thread only)
  std::thread thread;

  std::mutex mu;
  std::deque<std::unique_ptr<Transfer>> incoming;  // guarded by mu
  bool stopping = false;                           // guarded by mu

  // Network thread only.
  std::deque<std::unique_ptr<Transfer>> waiting;  // new, or retries with a not_before
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active;
  /// How long recent answers took after their request went out (microseconds), for hedging.
  std::vector<int64_t> waits;
  size_t next_wait = 0;

  std::atomic<uint64_t> submitted{0}, attempts{0}, retries{0}, succeeded{0}, failed{0},
      bytes_received{0}, max_in_flight{0}, hedged{0}, ca_dir_fallbacks{0};
};

size_t TransferQueue::Loop::on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    // A new response begins (after a redirect or 100-continue): forget the previous headers.
    t->response.headers.clear();
    if (!t->answered) {
      t->answered = true;
      t->answered_at = Clock::now();
    }
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->response.headers.emplace_back(lower(trim(line.substr(0, colon))),
                                     std::string(trim(line.substr(colon + 1))));
  }
  return size * n;
}

size_t TransferQueue::Loop::on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (!t->body_started) {
    t->body_started = true;
    long status = 0;
    t->curl->easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    t->streaming = t->request.on_data && status >= 200 && status < 300;
    if (!t->streaming) {
      reserve_body(t->response);
    } else if (t->request.on_size) {
      if (auto n = body_size(t->response)) t->request.on_size(*n);
    }
  }
  t->response.body_bytes += len;
  t->bytes_counter->fetch_add(len, std::memory_order_relaxed);
  if (t->streaming) {
    t->streamed_any = true;
    if (!t->request.on_data(std::string_view(data, len))) {
      t->consumer_stopped = true;
      return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
    }
  } else {
    t->response.body.append(data, len);
  }
  return len;
}

bool TransferQueue::Loop::start(std::unique_ptr<Transfer>& t) {
  CURL* easy = curl.easy_init();
  if (!easy) return false;
  t->easy = easy;
  t->attempts++;
  t->response = Response{};
  t->body_started = t->streaming = t->streamed_any = t->answered = t->ca_dir_used = false;
  t->started = Clock::now();
  t->errbuf[0] = '\0';
  t->bytes_counter = &bytes_received;
  t->curl = &curl;

  if (!t->header_list) {
    bool has_agent = false;
    for (const auto& [name, value] : t->request.headers) {
      if (lower(name) == "user-agent") has_agent = true;
      t->header_list = curl.slist_append(t->header_list, (name + ": " + value).c_str());
    }
    if (!has_agent && !options.user_agent.empty()) {
      t->header_list =
          curl.slist_append(t->header_list, ("User-Agent: " + options.user_agent).c_str());
    }
  }
  auto timeout = t->request.timeout.value_or(options.timeout);

  curl.easy_setopt(easy, CURLOPT_URL, t->request.url.c_str());
  curl.easy_setopt(easy, CURLOPT_PRIVATE, t.get());
  curl.easy_setopt(easy, CURLOPT_HTTPHEADER, t->header_list);
  curl.easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // every encoding curl can decode
  curl.easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
  curl.easy_setopt(easy, CURLOPT_MAXREDIRS, 20L);
  curl.easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  // Over TLS, wait for ALPN to tell whether the first connection multiplexes (HTTP/2) rather than
  // opening one connection per transfer. Plain http never multiplexes (no h2c), and waiting there
  // would hold every other transfer until the first response arrives.
  if (t->request.url.starts_with("https:")) curl.easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
  curl.easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  // curl keeps a receive buffer per transfer, and up to max_active_transfers run at once: 16 KiB
  // (curl's default) instead of 64 KiB took ~8 MB off a clean install's peak at the same speed.
  curl.easy_setopt(easy, CURLOPT_BUFFERSIZE, 16L * 1024);
  curl.easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl.easy_setopt(easy, CURLOPT_ERRORBUFFER, t->errbuf);
  curl.easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Loop::on_header);
  curl.easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
  curl.easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Loop::on_body);
  curl.easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
  curl.easy_setopt(easy, CURLOPT_SHARE, share);
  if (!options.strict_ssl) {
    curl.easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl.easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!ca_blob.empty()) {
    curl_blob blob{ca_blob.data(), ca_blob.size(), CURL_BLOB_NOCOPY};
    curl.easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
  } else if (!ca_dir.empty() && !ca_dir_failed) {
    curl.easy_setopt(easy, CURLOPT_CAINFO, nullptr);  // else OpenSSL parses the whole bundle first
    curl.easy_setopt(easy, CURLOPT_CAPATH, ca_dir.c_str());
    t->ca_dir_used = true;
  } else if (!options.system_ca_file.empty() || ca_dir_failed) {
    curl.easy_setopt(easy, CURLOPT_CAINFO, ca_file.c_str());
    curl.easy_setopt(easy, CURLOPT_CAPATH, nullptr);
  }

  if (!t->request.client_cert_file.empty() && !t->request.client_key_file.empty()) {
    curl.easy_setopt(easy, CURLOPT_SSLCERT, t->request.client_cert_file.c_str());
    curl.easy_setopt(easy, CURLOPT_SSLKEY, t->request.client_key_file.c_str());
  }

  if (curl.multi_add_handle(multi, easy) != CURLM_OK) return false;
  attempts++;
  if (t->attempts > 1) retries++;
  CURL* key = easy;
  active.emplace(key, std::move(t));
  uint64_t now_active = active.size();
  if (now_active > max_in_flight.load()) max_in_flight = now_active;
  return true;
}

void TransferQueue::Loop::complete(std::unique_ptr<Transfer> t, Result<Response> result) {
  Completion done;
  if (t->twins) {
    const std::shared_ptr<Twins> twins = t->twins;
    --twins->open;
    // The other answered already, or this one failed while the other may still answer.
    if (twins->delivered || (!result.ok() && twins->open > 0)) return;
    twins->delivered = true;
    done = std::move(twins->done);
    if (twins->open > 0) drop_twin(*twins, t.get());
  } else {
    done = std::move(t->done);
  }
  (result.ok() ? succeeded : failed)++;
  // Cancelled transfers are not news: lade stopped them itself.
  if (options.on_transfer_done && (result.ok() || result.error().code != "ECANCELED")) {
    TransferRecord record;
    record.url = t->request.url;
    record.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t->submitted_at);
    record.attempts = t->attempts;
    if (result.ok()) {
      record.status = result->status;
      record.body_bytes = result->body_bytes;
    } else {
      record.error = result.error().message;
    }
    options.on_transfer_done(record);
  }
  t.reset();  // free the handle before user code runs
  done(std::move(result));
}

void TransferQueue::Loop::drop_twin(const Twins& twins, const Transfer* kept) {
  for (auto it = active.begin(); it != active.end(); ++it) {
    if (it->second->twins.get() == &twins && it->second.get() != kept) {
      curl.multi_remove_handle(multi, it->first);
      active.erase(it);  // the Transfer frees its handle
      return;
    }
  }
  for (auto it = waiting.begin(); it != waiting.end(); ++it) {  // waiting to be retried
    if ((*it)->twins.get() == &twins && it->get() != kept) {
      waiting.erase(it);
      return;
    }
  }
}

void TransferQueue::Loop::note_wait(CURL* easy, const Transfer& t) {
  if (!t.answered) return;
  curl_off_t sent_us = 0;  // from the start of the transfer to the request going out
  curl.easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &sent_us);
  const int64_t wait_us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.answered_at - t.started).count() - sent_us;
  constexpr size_t kKept = 64;
  if (waits.size() < kKept) {
    waits.push_back(std::max<int64_t>(0, wait_us));
  } else {
    waits[next_wait++ % kKept] = std::max<int64_t>(0, wait_us);
  }
}

std::optional<std::chrono::milliseconds> TransferQueue::Loop::hedge_late() {
  // Only once a few answers tell what a normal wait is, and while few transfers run.
  if (waits.size() < 4 || active.empty() ||
      active.size() > static_cast<size_t>(std::max(0, options.hedge_max_active))) {
    return std::nullopt;
  }
  std::vector<int64_t> sorted = waits;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const auto median = std::chrono::microseconds(sorted[sorted.size() / 2]);
  const auto late = std::max<std::chrono::microseconds>(
      options.hedge_min, std::chrono::microseconds(static_cast<int64_t>(median.count() * options.hedge_factor)));
  const auto now = Clock::now();
  std::optional<std::chrono::milliseconds> next;
  std::vector<Transfer*> overdue;
  for (auto& [easy, t] : active) {
    if (!t->request.hedge || t->twins || t->answered || t->request.on_data) continue;
    curl_off_t sent_us = 0;
    curl.easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &sent_us);
    if (sent_us <= 0) continue;  // not sent yet (waiting for its connection)
    const auto waited =
        std::chrono::duration_cast<std::chrono::microseconds>(now - t->started) - std::chrono::microseconds(sent_us);
    if (waited >= late) {
      overdue.push_back(t.get());
    } else {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(late - waited) + std::chrono::milliseconds(1);
      next = next ? std::min(*next, left) : left;
    }
  }
  for (Transfer* t : overdue) {
    auto twin = std::make_unique<Transfer>();
    twin->request = t->request;
    twin->submitted_at = t->submitted_at;
    twin->attempts = t->attempts - 1;  // start() counts this attempt
    auto twins = std::make_shared<Twins>();
    twins->done = std::move(t->done);
    t->twins = twins;
    twin->twins = twins;
    if (!start(twin)) {  // keep the one under way
      t->done = std::move(twins->done);
      t->twins.reset();
      continue;
    }
    hedged++;
  }
  return next;
}

void TransferQueue::Loop::schedule_retry(std::unique_ptr<Transfer> t) {
  // promise-retry: min(minTimeout * factor^(attempt-1), maxTimeout), no randomisation.
  double wait_ms = static_cast<double>(options.retry_min_timeout.count()) *
                   std::pow(options.retry_factor, t->attempts - 1);
  wait_ms = std::min(wait_ms, static_cast<double>(options.retry_max_timeout.count()));
  t->not_before = Clock::now() + std::chrono::milliseconds(static_cast<long long>(wait_ms));
  waiting.push_back(std::move(t));
}

void TransferQueue::Loop::finish(CURL* easy, CURLcode result) {
  auto it = active.find(easy);
  if (it == active.end()) return;
  std::unique_ptr<Transfer> t = std::move(it->second);
  active.erase(it);
  curl.multi_remove_handle(multi, easy);

  long status = 0;
  curl.easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  char* effective = nullptr;
  curl.easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective);
  t->response.status = status;
  t->response.effective_url = effective ? effective : t->request.url;
  t->response.attempts = t->attempts;
  bool can_retry = t->attempts <= options.retries;
  if (result == CURLE_OK) note_wait(easy, *t);

  if (result == CURLE_OK) {
    curl.easy_cleanup(easy);
    t->easy = nullptr;
    if (retriable_status(status) && can_retry) {
      schedule_retry(std::move(t));
      return;
    }
    Response response = std::move(t->response);
    complete(std::move(t), std::move(response));
    return;
  }

  if (result == CURLE_PEER_FAILED_VERIFICATION && t->ca_dir_used && !ca_file.empty()) {
    // The CA folder may lack what the bundle has (hashed links not refreshed): from now on
    // every handshake uses the bundle, this one first; not counted as an attempt.
    curl.easy_cleanup(easy);
    t->easy = nullptr;
    ca_dir_failed = true;
    ca_dir_fallbacks++;
    t->attempts--;
    t->not_before = {};
    waiting.push_front(std::move(t));
    return;
  }
  std::string reason = t->errbuf[0] ? t->errbuf : curl.easy_strerror(result);
  Failure failure = classify(curl, easy, result);
  curl.easy_cleanup(easy);
  t->easy = nullptr;
  if (t->consumer_stopped) {
    complete(std::move(t), make_error("ECANCELED", "request to " + t->request.url +
                                                       " was stopped by its consumer"));
    return;
  }
  if (failure.retriable && can_retry && (!t->streamed_any || t->request.on_restart)) {
    if (t->streamed_any) t->request.on_restart();
    schedule_retry(std::move(t));
    return;
  }
  util::Error error = make_error(failure.code, "request to " + t->request.url + " failed, reason: " + reason);
  // npm's FetchError carries the code as its errno ("ECONNREFUSED", a string), and npm turns
  // only a numeric errno into the exit status: a network failure exits with 1.
  error.exit_status = 1;
  complete(std::move(t), std::move(error));
}

void TransferQueue::Loop::run() {
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (stopping) break;
      while (!incoming.empty()) {
        waiting.push_back(std::move(incoming.front()));
        incoming.pop_front();
      }
    }

    // Hand due transfers to curl, oldest first, up to the active limit.
    const size_t max_active = static_cast<size_t>(std::max(1, options.max_active_transfers));
    auto now = Clock::now();
    for (auto it = waiting.begin(); it != waiting.end() && active.size() < max_active;) {
      if ((*it)->not_before > now) {
        ++it;
        continue;
      }
      std::unique_ptr<Transfer> t = std::move(*it);
      it = waiting.erase(it);
      if (!start(t) && t) {
        std::string url = t->request.url;
        complete(std::move(t),
                 make_error("EFETCH", "request to " + url + " failed, reason: cannot start it"));
      }
    }

    int running = 0;
    curl.multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl.multi_info_read(multi, &left)) {
      if (msg->msg == CURLMSG_DONE) finish(msg->easy_handle, msg->data.result);
    }

    const auto next_hedge = hedge_late();

    // Sleep until curl has work, a retry falls due, a request may be late, or submit() wakes us.
    int wait_ms = 1000;
    if (next_hedge) wait_ms = static_cast<int>(std::min<int64_t>(wait_ms, next_hedge->count()));
    now = Clock::now();
    for (const auto& t : waiting) {
      if (t->not_before <= now) {
        if (active.size() < max_active) wait_ms = 0;
        continue;
      }
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(t->not_before - now);
      wait_ms = std::min<int>(wait_ms, static_cast<int>(until.count()) + 1);
    }
    curl.multi_poll(multi, nullptr, 0, wait_ms, nullptr);
  }

  // Shutting down: everything not completed is cancelled.
  std::deque<std::unique_ptr<Transfer>> cancelled;
  for (auto& [easy, t] : active) {
    curl.multi_remove_handle(multi, easy);
    cancelled.push_back(std::move(t));
  }
  active.clear();
  for (auto& t : waiting) cancelled.push_back(std::move(t));
  waiting.clear();
  {
    std::lock_guard lock(mu);
    for (auto& t : incoming) cancelled.push_back(std::move(t));
    incoming.clear();
  }
  for (auto& t : cancelled) {
    std::string url = t->request.url;
    complete(std::move(t), make_error("ECANCELED", "request to " + url +
                                                       " failed, reason: lade is shutting down"));
  }
}

TransferQueue::TransferQueue(TransferOptions options) : options_(std::move(options)) {}

TransferQueue::~TransferQueue() = default;

TransferQueue::Loop* TransferQueue::loop(util::Error* error) {
  std::lock_guard lock(start_mu_);
  if (!loop_ && !shut_down_) {
    auto curl = CurlLibrary::load();
    if (!curl) {
      *error = curl.error();
      return nullptr;
    }
    loop_ = std::make_unique<Loop>(**curl, options_);
  }
  if (!loop_) *error = make_error("ECANCELED", "the transfer queue is shut down");
  return loop_.get();
}

void TransferQueue::submit(Request request, Completion done) {
  util::Error error;
  Loop* running = loop(&error);
  if (!running) {
    done(make_error(error.code, "request to " + request.url + " failed, reason: " + error.message));
    return;
  }
  auto t = std::make_unique<Transfer>();
  t->request = std::move(request);
  t->done = std::move(done);
  running->enqueue(std::move(t));
}

std::future<Result<Response>> TransferQueue::submit(Request request) {
  auto promise = std::make_shared<std::promise<Result<Response>>>();
  auto future = promise->get_future();
  submit(std::move(request), [promise](Result<Response> r) { promise->set_value(std::move(r)); });
  return future;
}

void TransferQueue::shutdown() {
  Loop* running = nullptr;
  {
    std::lock_guard lock(start_mu_);
    shut_down_ = true;
    running = loop_.get();
  }
  if (!running) return;
  running->stop();
  if (running->thread.joinable() && running->thread.get_id() != std::this_thread::get_id()) {
    running->thread.join();
  }
}

TransferStats TransferQueue::stats() const {
  TransferStats s;
  std::lock_guard lock(start_mu_);
  if (!loop_) return s;
  s.submitted = loop_->submitted;
  s.attempts = loop_->attempts;
  s.retries = loop_->retries;
  s.succeeded = loop_->succeeded;
  s.failed = loop_->failed;
  s.bytes_received = loop_->bytes_received;
  s.max_in_flight = loop_->max_in_flight;
  s.hedged = loop_->hedged;
  s.ca_dir_fallbacks = loop_->ca_dir_fallbacks;
  return s;
}

}  // namespace lade::registry
