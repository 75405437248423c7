// Range::shared: the process-wide memo behind it.
#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "semver/range.h"

namespace lade::semver {
namespace {

struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

/// Sharded so that the metadata threads (prefetching) and the resolver rarely meet on a lock.
class RangeMemo {
 public:
  const Range* get(std::string_view text, Options options) {
    // One map per option combination keeps the key the text itself (no concatenation).
    const size_t flavour = (options.loose ? 1 : 0) | (options.include_prerelease ? 2 : 0);
    const size_t hash = TextHash{}(text);
    Shard& shard = shards_[(hash ^ flavour) % kShards];
    auto& map = shard.maps[flavour];
    {
      std::lock_guard lock(shard.mutex);
      if (auto it = map.find(text); it != map.end()) return it->second.get();
    }
    // Parsed outside the lock; a racing thread may parse the same text, the first insert wins.
    std::optional<Range> parsed = Range::parse(text, options);
    std::unique_ptr<const Range> owned =
        parsed ? std::make_unique<const Range>(std::move(*parsed)) : nullptr;
    std::lock_guard lock(shard.mutex);
    auto [it, inserted] = map.try_emplace(std::string(text), std::move(owned));
    return it->second.get();
  }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    std::mutex mutex;
    std::array<std::unordered_map<std::string, std::unique_ptr<const Range>, TextHash,
                                  std::equal_to<>>,
               4>
        maps;
  };
  std::array<Shard, kShards> shards_;
};

}  // namespace

const Range* Range::shared(std::string_view text, Options options) {
  // Deliberately never destroyed: pointers handed out stay valid until exit, and freeing a few
  // thousand small ranges at exit would only cost time.
  static RangeMemo* const memo = new RangeMemo;
  return memo->get(text, options);
}

}  // namespace lade::semver
