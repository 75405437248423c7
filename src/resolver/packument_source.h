#pragma once
// What the resolver needs from a registry: packuments by name. The CLI wires a RegistryClient
// behind this; tests use an in-memory map.
#include <memory>
#include <string>

#include "manifest/packument.h"
#include "util/result.h"

namespace lade::resolver {

class PackumentSource {
 public:
  virtual ~PackumentSource() = default;
  /// Starts fetching `name` if it is not already known or in flight; never blocks.
  virtual void prefetch(const std::string& name) = 0;
  /// The packument for `name`, waiting for it if needed. E404 when the registry has no such name.
  virtual util::Result<std::shared_ptr<const manifest::Packument>> packument(const std::string& name) = 0;
  /// The registry base URL (ending in '/') used for `name`, for messages and lockfiles.
  virtual std::string registry_for(const std::string& name) const = 0;
};

}  // namespace lade::resolver
