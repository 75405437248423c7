#include "registry/transfer_queue.h"

#include <catch2/catch.hpp>

#include "loopback_server.h"

namespace lade::registry {
namespace {

using namespace std::chrono_literals;
using testing::CannedResponse;
using testing::LoopbackServer;

/// Fast retries so failure tests stay well under a second.
TransferOptions test_options() {
  TransferOptions o;
  o.retries = 2;
  o.retry_min_timeout = 10ms;
  o.retry_factor = 2;
  o.retry_max_timeout = 50ms;
  o.timeout = 10s;
  o.user_agent = "lade-test/1.0";
  return o;
}

Request request_for(std::string url, HeaderList headers = {}) {
  Request r;
  r.url = std::move(url);
  r.headers = std::move(headers);
  return r;
}

util::Result<Response> get(std::future<util::Result<Response>> f) {
  REQUIRE(f.wait_for(15s) == std::future_status::ready);
  return f.get();
}

TEST_CASE("transfer queue: a GET returns status, headers and body", "[registry][transfer]") {
  LoopbackServer server;
  server.on("/doc", {CannedResponse{200,
                                    {{"ETag", "\"v1\""},
                                     {"Last-Modified", "Tue, 01 Oct 2024 10:00:00 GMT"},
                                     {"Content-Type", "application/json"}},
                                    R"({"ok":true})"}});
  TransferQueue queue(test_options());
  auto r = get(queue.submit(request_for(server.url("/doc"), {{"Accept", "application/json"}})));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == R"({"ok":true})");
  CHECK(r->header("etag") == "\"v1\"");
  CHECK(r->header("ETag") == "\"v1\"");
  CHECK(r->header("last-modified") == "Tue, 01 Oct 2024 10:00:00 GMT");
  CHECK(r->header("content-type") == "application/json");
  CHECK(r->attempts == 1);
  CHECK(r->body_bytes == 11);

  auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].header("accept") == "application/json");
  CHECK(seen[0].header("user-agent") == "lade-test/1.0");
  CHECK_THAT(seen[0].header("accept-encoding"), Catch::Contains("gzip"));
  CHECK(queue.stats().succeeded == 1);
  CHECK(queue.stats().bytes_received == 11);
}

TEST_CASE("transfer queue: a body is sized once from its Content-Length, with room to spare",
          "[registry][transfer]") {
  LoopbackServer server;
  const std::string big(300000, 'x');  // arrives in many chunks
  server.on("/big", {CannedResponse{200, {}, big}});
  TransferQueue queue(test_options());
  auto r = get(queue.submit(request_for(server.url("/big"))));
  REQUIRE(r.ok());
  CHECK(r->body == big);
  // Room for a parser's padding, and no doubling slack.
  CHECK(r->body.capacity() >= big.size() + 64);
  CHECK(r->body.capacity() < big.size() + 4096);
}

TEST_CASE("transfer queue: transfers run in parallel", "[registry][transfer]") {
  LoopbackServer server;
  for (int i = 0; i < 8; ++i) {
    server.on("/slow/" + std::to_string(i),
              {CannedResponse{200, {}, "body" + std::to_string(i), 200ms}});
  }
  TransferOptions options = test_options();
  options.max_host_connections = 16;
  TransferQueue queue(options);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::future<util::Result<Response>>> futures;
  for (int i = 0; i < 8; ++i) {
    futures.push_back(queue.submit(request_for(server.url("/slow/" + std::to_string(i)))));
  }
  for (int i = 0; i < 8; ++i) {
    auto r = get(std::move(futures[static_cast<size_t>(i)]));
    REQUIRE(r.ok());
    CHECK(r->body == "body" + std::to_string(i));
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed < 600ms);  // serially it would be 1600 ms
  CHECK(server.max_concurrent() == 8);
  CHECK(queue.stats().max_in_flight == 8);
}

TEST_CASE("transfer queue: connections per host are capped by max_host_connections",
          "[registry][transfer]") {
  LoopbackServer server;
  server.on("/x", {CannedResponse{200, {}, "x", 100ms}});
  TransferOptions options = test_options();
  options.max_host_connections = 2;
  TransferQueue queue(options);
  std::vector<std::future<util::Result<Response>>> futures;
  for (int i = 0; i < 6; ++i) futures.push_back(queue.submit(request_for(server.url("/x"))));
  for (auto& f : futures) CHECK(get(std::move(f)).ok());
  CHECK(server.max_concurrent() <= 2);
  CHECK(server.connections() <= 2);
}

TEST_CASE("transfer queue: 5xx and 429 are retried, then the last answer is returned",
          "[registry][transfer]") {
  LoopbackServer server;
  server.on("/flaky", {CannedResponse{500, {}, "oops"}, CannedResponse{200, {}, "fine"}});
  server.on("/busy", {CannedResponse{429, {}, "slow down"}, CannedResponse{200, {}, "ok"}});
  server.on("/down", {CannedResponse{503, {}, "down"}});
  server.on("/missing", {CannedResponse{404, {}, "nope"}});
  TransferQueue queue(test_options());

  auto flaky = get(queue.submit(request_for(server.url("/flaky"))));
  REQUIRE(flaky.ok());
  CHECK(flaky->status == 200);
  CHECK(flaky->body == "fine");
  CHECK(flaky->attempts == 2);
  CHECK(server.request_count("/flaky") == 2);

  auto busy = get(queue.submit(request_for(server.url("/busy"))));
  REQUIRE(busy.ok());
  CHECK(busy->status == 200);

  auto down = get(queue.submit(request_for(server.url("/down"))));
  REQUIRE(down.ok());
  CHECK(down->status == 503);
  CHECK(down->attempts == 3);  // fetch-retries=2: one try plus two retries
  CHECK(down->body == "down");
  CHECK(server.request_count("/down") == 3);

  auto missing = get(queue.submit(request_for(server.url("/missing"))));
  REQUIRE(missing.ok());
  CHECK(missing->status == 404);
  CHECK(server.request_count("/missing") == 1);  // 4xx other than 408/420/429: no retry
  CHECK(queue.stats().retries == 1 + 1 + 2);
}

TEST_CASE("transfer queue: retry waits follow the backoff settings", "[registry][transfer]") {
  LoopbackServer server;
  server.on("/down", {CannedResponse{500, {}, ""}});
  TransferOptions options = test_options();
  options.retries = 2;
  options.retry_min_timeout = 100ms;
  options.retry_factor = 2;  // waits 100 ms, then 200 ms
  options.retry_max_timeout = 1s;
  TransferQueue queue(options);
  auto start = std::chrono::steady_clock::now();
  auto r = get(queue.submit(request_for(server.url("/down"))));
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(r.ok());
  CHECK(r->attempts == 3);
  CHECK(elapsed >= 300ms);
  CHECK(elapsed < 2s);
}

TEST_CASE("transfer queue: network errors name the URL and are retried", "[registry][transfer]") {
  std::string url = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port()) + "/pkg";
  TransferQueue queue(test_options());
  auto r = get(queue.submit(request_for(url)));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "ECONNREFUSED");
  CHECK_THAT(r.error().message, Catch::Contains(url));
  CHECK(queue.stats().attempts == 3);
  CHECK(queue.stats().failed == 1);
}

TEST_CASE("transfer queue: a dropped connection is retried", "[registry][transfer]") {
  LoopbackServer server;
  CannedResponse drop;
  drop.drop_connection = true;
  server.on("/drop", {drop, CannedResponse{200, {}, "second time lucky"}});
  TransferQueue queue(test_options());
  auto r = get(queue.submit(request_for(server.url("/drop"))));
  REQUIRE(r.ok());
  CHECK(r->body == "second time lucky");
  CHECK(r->attempts == 2);
}

TEST_CASE("transfer queue: timeouts are ETIMEDOUT", "[registry][transfer]") {
  LoopbackServer server;
  server.on("/slow", {CannedResponse{200, {}, "late", 3000ms}});
  TransferOptions options = test_options();
  options.retries = 0;
  TransferQueue queue(options);
  Request req = request_for(server.url("/slow"));
  req.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto r = get(queue.submit(std::move(req)));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "ETIMEDOUT");
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}

TEST_CASE("transfer queue: bodies stream to on_data", "[registry][transfer]") {
  LoopbackServer server;
  std::string big(300 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  server.on("/big", {CannedResponse{200, {}, big}});
  server.on("/gone", {CannedResponse{404, {}, "not here"}});
  TransferQueue queue(test_options());

  SECTION("2xx bodies go to the callback, not to Response::body") {
    std::string received;
    int chunks = 0;
    Request req = request_for(server.url("/big"));
    req.on_data = [&](std::string_view chunk) {
      received.append(chunk);
      ++chunks;
      return true;
    };
    auto r = get(queue.submit(std::move(req)));
    REQUIRE(r.ok());
    CHECK(r->body.empty());
    CHECK(r->body_bytes == big.size());
    CHECK(received == big);
    CHECK(chunks > 1);
  }
  SECTION("error bodies are collected, not streamed") {
    bool called = false;
    Request req = request_for(server.url("/gone"));
    req.on_data = [&](std::string_view) { return called = true; };
    auto r = get(queue.submit(std::move(req)));
    REQUIRE(r.ok());
    CHECK(r->status == 404);
    CHECK(r->body == "not here");
    CHECK_FALSE(called);
  }
  SECTION("the consumer can stop a transfer") {
    Request req = request_for(server.url("/big"));
    req.on_data = [](std::string_view) { return false; };
    auto r = get(queue.submit(std::move(req)));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "ECANCELED");
    CHECK(server.request_count("/big") == 1);
  }
}

TEST_CASE("transfer queue: a body cut short restarts the consumer before the retry",
          "[registry][transfer]") {
  LoopbackServer server;
  std::string body(64 * 1024, 'z');
  CannedResponse cut{200, {}, body};
  cut.truncate_body_at = 1000;
  server.on("/tgz", {cut, CannedResponse{200, {}, body}});
  server.on("/tgz-no-restart", {cut, CannedResponse{200, {}, body}});
  TransferQueue queue(test_options());

  std::string received;
  int restarts = 0;
  Request req = request_for(server.url("/tgz"));
  req.on_data = [&](std::string_view chunk) {
    received.append(chunk);
    return true;
  };
  req.on_restart = [&] {
    ++restarts;
    received.clear();
  };
  auto r = get(queue.submit(std::move(req)));
  REQUIRE(r.ok());
  CHECK(restarts == 1);
  CHECK(received == body);
  CHECK(r->attempts == 2);

  // Without on_restart a half-delivered body cannot be retried safely.
  Request plain = request_for(server.url("/tgz-no-restart"));
  plain.on_data = [](std::string_view) { return true; };
  auto failed = get(queue.submit(std::move(plain)));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == "ECONNRESET");
  CHECK(server.request_count("/tgz-no-restart") == 1);
}

TEST_CASE("transfer queue: submit is thread-safe", "[registry][transfer]") {
  LoopbackServer server;
  server.on("/t", {CannedResponse{200, {}, "ok"}});
  TransferQueue queue(test_options());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<std::future<util::Result<Response>>> mine;
      for (int i = 0; i < 10; ++i) mine.push_back(queue.submit(request_for(server.url("/t"))));
      for (auto& f : mine) {
        if (f.wait_for(15s) == std::future_status::ready) {
          auto r = f.get();
          if (r.ok() && r->body == "ok") ++ok;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 40);
  CHECK(server.request_count() == 40);
  CHECK(queue.stats().submitted == 40);
}

TEST_CASE("transfer queue: shutdown cancels what is pending", "[registry][transfer]") {
  LoopbackServer server;
  server.on("/slow", {CannedResponse{200, {}, "late", 5000ms}});
  TransferQueue queue(test_options());
  auto in_flight = queue.submit(request_for(server.url("/slow")));
  while (server.request_count() == 0) std::this_thread::sleep_for(5ms);
  auto start = std::chrono::steady_clock::now();
  queue.shutdown();
  auto r = get(std::move(in_flight));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "ECANCELED");
  CHECK(std::chrono::steady_clock::now() - start < 2s);

  auto after = get(queue.submit(request_for(server.url("/slow"))));
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().code == "ECANCELED");
  queue.shutdown();  // idempotent
}

TEST_CASE("transfer queue: every completed request is recorded, cancelled ones are not",
          "[registry][transfer]") {
  LoopbackServer server;
  server.on("/doc", {CannedResponse{200, {}, "twelve bytes", 60ms}});
  server.on("/flaky", {CannedResponse{500, {}, "oops"}, CannedResponse{200, {}, "fine"}});
  server.on("/slow", {CannedResponse{200, {}, "late", 5000ms}});
  const std::string refused = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port()) + "/pkg";
  struct Seen {
    std::string url;
    long status;
    std::chrono::milliseconds elapsed;
    uint64_t bytes;
    int attempts;
    std::string error;
  };
  std::mutex mu;
  std::vector<Seen> seen;
  TransferOptions options = test_options();
  options.on_transfer_done = [&](const TransferRecord& r) {
    std::lock_guard lock(mu);
    seen.push_back({std::string(r.url), r.status, r.elapsed, r.body_bytes, r.attempts, std::string(r.error)});
  };
  TransferQueue queue(options);
  REQUIRE(get(queue.submit(request_for(server.url("/doc")))).ok());
  REQUIRE(get(queue.submit(request_for(server.url("/flaky")))).ok());
  REQUIRE_FALSE(get(queue.submit(request_for(refused))).ok());
  auto cancelled = queue.submit(request_for(server.url("/slow")));
  while (server.request_count("/slow") == 0) std::this_thread::sleep_for(5ms);
  queue.shutdown();
  REQUIRE_FALSE(get(std::move(cancelled)).ok());

  std::lock_guard lock(mu);
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].url == server.url("/doc"));
  CHECK(seen[0].status == 200);
  CHECK(seen[0].bytes == 12);
  CHECK(seen[0].elapsed >= 60ms);  // from submit() to the end, the server's delay included
  CHECK(seen[0].attempts == 1);
  CHECK(seen[0].error.empty());
  CHECK(seen[1].status == 200);
  CHECK(seen[1].attempts == 2);
  CHECK(seen[2].url == refused);
  CHECK(seen[2].status == 0);
  CHECK(seen[2].attempts == 3);
  CHECK_THAT(seen[2].error, Catch::Contains(refused));
}

TEST_CASE("transfer queue: callbacks may submit follow-up requests", "[registry][transfer]") {
  LoopbackServer server;
  server.on("/a", {CannedResponse{200, {}, "/b"}});
  server.on("/b", {CannedResponse{200, {}, "done"}});
  TransferQueue queue(test_options());
  std::promise<std::string> result;
  queue.submit(request_for(server.url("/a")), [&](util::Result<Response> first) {
    queue.submit(request_for(server.url(first->body)), [&](util::Result<Response> second) {
      result.set_value(second.ok() ? second->body : second.error().code);
    });
  });
  auto f = result.get_future();
  REQUIRE(f.wait_for(10s) == std::future_status::ready);
  CHECK(f.get() == "done");
}

/// A queue that has seen a few prompt answers (hedging waits for them), hedging after 50 ms.
struct HedgingQueue {
  explicit HedgingQueue(LoopbackServer& server, TransferOptions options = test_options()) : queue(with_hedge(options)) {
    for (int i = 0; i < 4; ++i) {
      const std::string path = "/prompt/" + std::to_string(i);
      server.on(path, {CannedResponse{200, {}, "ok"}});
      REQUIRE(get(queue.submit(request_for(server.url(path)))).ok());
    }
  }
  static TransferOptions with_hedge(TransferOptions o) {
    o.hedge_min = 50ms;
    return o;
  }
  Request hedged(std::string url) {
    Request r = request_for(std::move(url));
    r.hedge = true;
    return r;
  }
  TransferQueue queue;
};

TEST_CASE("transfer queue: a hedged request answered late is sent again, the first answer kept",
          "[registry][transfer][hedge]") {
  LoopbackServer server;
  HedgingQueue q(server);
  server.on("/late", {CannedResponse{200, {}, "first", 3000ms}, CannedResponse{200, {}, "second"}});
  const auto start = std::chrono::steady_clock::now();
  std::atomic<int> calls{0};
  std::promise<util::Result<Response>> answer;
  q.queue.submit(q.hedged(server.url("/late")), [&](util::Result<Response> r) {
    if (calls++ == 0) answer.set_value(std::move(r));
  });
  auto f = answer.get_future();
  auto r = get(std::move(f));
  REQUIRE(r.ok());
  CHECK(r->body == "second");
  CHECK(std::chrono::steady_clock::now() - start < 1500ms);
  CHECK(server.request_count("/late") == 2);
  CHECK(q.queue.stats().hedged == 1);
  q.queue.shutdown();  // the first one, still waiting, must not answer again
  CHECK(calls == 1);
}

TEST_CASE("transfer queue: when the first answer wins after all, the duplicate is dropped",
          "[registry][transfer][hedge]") {
  LoopbackServer server;
  HedgingQueue q(server);
  server.on("/late", {CannedResponse{200, {}, "first", 200ms}, CannedResponse{200, {}, "second", 3000ms}});
  std::atomic<int> calls{0};
  std::promise<std::string> answer;
  q.queue.submit(q.hedged(server.url("/late")), [&](util::Result<Response> r) {
    if (calls++ == 0) answer.set_value(r.ok() ? r->body : r.error().code);
  });
  auto f = answer.get_future();
  REQUIRE(f.wait_for(10s) == std::future_status::ready);
  CHECK(f.get() == "first");
  CHECK(server.request_count("/late") == 2);
  // A request after it is answered at once: the dropped duplicate holds nothing up.
  server.on("/after", {CannedResponse{200, {}, "after"}});
  auto after = get(q.queue.submit(request_for(server.url("/after"))));
  REQUIRE(after.ok());
  CHECK(after->body == "after");
  q.queue.shutdown();
  CHECK(calls == 1);
}

TEST_CASE("transfer queue: no second request unless asked for, nor while many transfers run",
          "[registry][transfer][hedge]") {
  LoopbackServer server;
  server.on("/late", {CannedResponse{200, {}, "late", 300ms}});

  SECTION("not marked for hedging") {
    HedgingQueue q(server);
    auto r = get(q.queue.submit(request_for(server.url("/late"))));
    REQUIRE(r.ok());
    CHECK(server.request_count("/late") == 1);
    CHECK(q.queue.stats().hedged == 0);
  }
  SECTION("more transfers running than hedge_max_active") {
    server.on("/background", {CannedResponse{200, {}, "slow", 800ms}});
    TransferOptions options = test_options();
    options.hedge_max_active = 1;
    HedgingQueue q(server, options);
    auto background = q.queue.submit(request_for(server.url("/background")));
    auto late = q.queue.submit(q.hedged(server.url("/late")));
    REQUIRE(get(std::move(late)).ok());
    REQUIRE(get(std::move(background)).ok());
    CHECK(server.request_count("/late") == 1);
    CHECK(q.queue.stats().hedged == 0);
  }
}

}  // namespace
}  // namespace lade::registry
