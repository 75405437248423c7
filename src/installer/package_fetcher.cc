#include "installer/package_fetcher.h"

namespace lade::installer {
namespace {

util::Error cancelled(const TarballRef& ref) {
  return util::make_error("ECANCELED",
                          "download of " + ref.package_name + "@" + ref.version + " cancelled");
}

}  // namespace

PackageFetcher::PackageFetcher(const store::Store& store, TarballSource& tarballs,
                               util::ThreadPool& pool, FetchLimits limits)
    : store_(store), tarballs_(tarballs), pool_(pool), limits_(limits) {}

size_t PackageFetcher::downloads() const {
  std::lock_guard lock(mu_);
  return downloads_;
}

size_t PackageFetcher::store_hits() const {
  std::lock_guard lock(mu_);
  return store_hits_;
}

void PackageFetcher::prefetch(const TarballRef& ref, const std::string& integrity, const std::string& shasum) {
  ensure(ref, integrity, shasum, nullptr);
}

void PackageFetcher::ensure(const TarballRef& ref, const std::string& integrity, const std::string& shasum,
                            Done done) {
  // Keyed by what identifies the bytes: the integrity when known, else where they come from.
  std::string key = !integrity.empty() ? integrity : (!shasum.empty() ? shasum : ref.url + "|" + ref.package_name + "@" + ref.version);
  bool start = false;
  std::optional<util::Result<StoredRef>> ready;
  {
    std::lock_guard lock(mu_);
    auto& slot = entries_[key];
    if (!slot) {
      slot = std::make_shared<Entry>();
      start = true;
    }
    if (slot->finished) {
      ready = slot->result;
    } else if (done) {
      slot->waiters.push_back(std::move(done));
    }
  }
  if (ready) {
    if (done) done(*ready);
    return;
  }
  if (!start) return;

  if (!integrity.empty() || !shasum.empty()) {
    const std::string_view expected_version = ref.kind == TarballRef::Kind::kRegistry ? ref.version : "";
    if (auto dir = store_.find(integrity, shasum, expected_version)) {
      {
        std::lock_guard lock(mu_);
        store_hits_++;
      }
      std::string sri = integrity;
      if (sri.empty() || sri.rfind("sha512-", 0) != 0) {
        if (auto loaded = store_.load(integrity, shasum)) sri = loaded->integrity;
      }
      finish(key, StoredRef{*dir, sri, false});
      return;
    }
  }
  Download download{ref, key, integrity, shasum};
  const bool local = ref.kind == TarballRef::Kind::kFile || ref.kind == TarballRef::Kind::kGit;
  bool stopped = false;
  {
    std::lock_guard lock(mu_);
    stopped = stopped_;  // then nothing may reach the tarball source any more
    if (!stopped) {
      downloads_++;
      if (local) {
        ++downloading_;
      } else {
        waiting_.push_back(std::move(download));
      }
    }
  }
  if (stopped) {
    finish(key, cancelled(ref));
  } else if (local) {
    begin_download(std::move(download));  // read from disk at once, as before
  } else {
    pump();
  }
}

void PackageFetcher::stop() {
  std::deque<Download> never_started;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    never_started.swap(waiting_);
  }
  for (auto& d : never_started) finish(d.key, cancelled(d.ref));
}

void PackageFetcher::pump() {
  std::unique_lock lock(mu_);
  if (pumping_) {
    pump_again_ = true;
    return;
  }
  pumping_ = true;
  do {
    pump_again_ = false;
    while (!stopped_ && !waiting_.empty() && downloading_ < limits_.max_downloads &&
           unstored_bytes_ < limits_.max_unstored_bytes) {
      Download d = std::move(waiting_.front());
      waiting_.pop_front();
      ++downloading_;
      lock.unlock();
      begin_download(std::move(d));
      lock.lock();
    }
  } while (pump_again_);
  pumping_ = false;
}

void PackageFetcher::begin_download(Download download) {
  std::string name = download.ref.package_name + "@" + download.ref.version;
  tarballs_.fetch(download.ref, [this, key = download.key, integrity = download.integrity,
                                 shasum = download.shasum, name](util::Result<std::string> body) {
    if (!body) {
      {
        std::lock_guard lock(mu_);
        --downloading_;
      }
      finish(key, body.take_error());
      pump();
      return;
    }
    const uint64_t size = body->size();
    {
      std::lock_guard lock(mu_);
      --downloading_;
      unstored_bytes_ += size;
    }
    auto bytes = std::make_shared<std::string>(std::move(*body));
    pool_.post([this, key, integrity, shasum, name, bytes, size] {
      // The store frees the compressed bytes once they are verified and inflated.
      auto stored = store_.add_tarball(std::move(*bytes), integrity, shasum, name);
      std::string().swap(*bytes);
      {
        std::lock_guard lock(mu_);
        unstored_bytes_ -= size;
      }
      if (!stored) {
        finish(key, stored.take_error());
      } else {
        finish(key, StoredRef{stored->dir, stored->integrity, true});
      }
      pump();
    });
    pump();
  });
}

void PackageFetcher::finish(const std::string& key, util::Result<StoredRef> result) {
  std::vector<Done> waiters;
  {
    std::lock_guard lock(mu_);
    auto& entry = entries_[key];
    entry->finished = true;
    entry->result = result;
    waiters = std::move(entry->waiters);
  }
  for (auto& w : waiters) w(result);
}

}  // namespace lade::installer
