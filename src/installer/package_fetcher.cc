#include "installer/package_fetcher.h"

namespace lade::installer {

PackageFetcher::PackageFetcher(const store::Store& store, TarballSource& tarballs, util::ThreadPool& pool)
    : store_(store), tarballs_(tarballs), pool_(pool) {}

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
    if (auto dir = store_.find(integrity, shasum)) {
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
  {
    std::lock_guard lock(mu_);
    downloads_++;
  }
  std::string name = ref.package_name + "@" + ref.version;
  tarballs_.fetch(ref, [this, key, integrity, shasum, name](util::Result<std::string> body) {
    if (!body) {
      finish(key, body.take_error());
      return;
    }
    auto bytes = std::make_shared<std::string>(std::move(*body));
    pool_.post([this, key, integrity, shasum, name, bytes] {
      // The store frees the compressed bytes once they are verified and inflated.
      auto stored = store_.add_tarball(std::move(*bytes), integrity, shasum, name);
      if (!stored) {
        finish(key, stored.take_error());
        return;
      }
      finish(key, StoredRef{stored->dir, stored->integrity, true});
    });
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
