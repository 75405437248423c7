#pragma once
// Fetching ahead of the resolver. Placement must follow npm's order, one edge at a time, but
// what it will ask for is mostly predictable: as soon as a packument arrives, the version each
// known spec will pick is known, and so are that version's dependencies, whose packuments can be
// requested at once. The whole graph is then discovered at network speed while placement
// proceeds at its own pace, finding packuments already parsed.
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "resolver/packument_source.h"
#include "resolver/pick_manifest.h"

namespace lade::resolver {

/// Told of each version the prefetcher picks ahead of placement, from metadata threads.
using PickedAhead = std::function<void(const manifest::Manifest&)>;

/// How the resolver will reach a spec, which decides how much below it is fetched ahead.
/// Ordered from least to most: a spec reached two ways is followed as the wider one.
enum class Reach {
  /// As an optional peer. npm reads its manifest into the peer set, to see conflicts, and
  /// follows its peers likewise; it installs it only when something else depends on it. Its
  /// dependencies are not followed: for a build tool's optional jest they are hundreds of
  /// packuments nobody installs.
  OptionalPeer,
  /// As a peer, which npm installs unless a version already placed meets it, or as what the
  /// dependent bundles. Followed, but its version is not told to `on_picked`.
  Peer,
  /// Through dependencies from what will be placed: followed, and its version told.
  Installed,
};

/// Owned through a shared_ptr: fetch callbacks hold it weakly, so a callback that arrives after
/// resolution ended (the packument came in late) finds it gone and does nothing.
class Prefetcher : public std::enable_shared_from_this<Prefetcher> {
 public:
  /// `on_picked` (may be empty; must be thread-safe) hears of every version picked here:
  /// nearly all of them are placed later, so their tarballs can start downloading at once.
  Prefetcher(PackumentSource& source, PickOptions engines,
             std::shared_ptr<PickIndexCache> indexes, PickedAhead on_picked = {});
  /// The resolver will (probably) need `name@spec`, reached as `reach` says: fetch it and,
  /// transitively, what it needs. Thread-safe; never blocks on the network.
  void want(const std::string& name, const std::string& spec, Reach reach = Reach::Installed);
  size_t specs_seen() const;
  /// Ends fetching ahead: returns once the expansions under way have finished, and none starts
  /// afterwards. Whoever frees the packuments calls it first: an expansion reads packuments it
  /// was told are ready, and once freed (RegistryClient::forget_packuments) they would be
  /// fetched again, by a metadata thread waiting for one while the process shuts down.
  void stop();

 private:
  /// Counts a call in (false once stopped); Entered counts it out on every way out.
  bool enter();
  void leave();
  struct Entered {
    Prefetcher& prefetcher;
    ~Entered() { prefetcher.leave(); }
  };
  void on_ready(const std::string& package_name);
  void expand(const std::string& package_name, const std::string& wanted, Reach reach);

  PackumentSource& source_;
  const PickOptions engines_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> declared_;  // name '\0' spec '\0' reach, as declared
  /// package@wanted, once the spec is read -> the widest reach it was wanted with
  std::unordered_map<std::string, Reach> seen_;
  struct Pending {
    std::string wanted;
    Reach reach;
  };
  std::unordered_map<std::string, std::vector<Pending>> pending_by_name_;
  std::unordered_set<std::string> ready_;
  bool stopped_ = false;
  size_t active_ = 0;  // calls of want/on_ready under way
  std::condition_variable idle_;
  std::shared_ptr<PickIndexCache> indexes_;
  PickedAhead on_picked_;
};

}  // namespace lade::resolver
