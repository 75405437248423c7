#include "registry/curl_library.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace lade::registry {

namespace {

// The SONAME of libcurl 7.16 and later (the ABI curl keeps stable); it is what linking with
// -lcurl would have recorded.
constexpr const char* kSoname = "libcurl.so.4";

template <typename Fn>
bool bind(void* handle, const char* symbol, Fn& out, std::string& missing) {
  out = reinterpret_cast<Fn>(dlsym(handle, symbol));
  if (!out) missing += std::string(missing.empty() ? "" : ", ") + symbol;
  return out != nullptr;
}

util::Result<const CurlLibrary*> load_once() {
  void* handle = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    return util::make_error("ELIBCURL", std::string("cannot load ") + kSoname + " (" +
                                            (why ? why : "unknown reason") +
                                            "); install libcurl (Debian: apt-get install libcurl4)");
  }
  static CurlLibrary curl;  // lives as long as the loaded library
  std::string missing;
  bind(handle, "curl_global_init", curl.global_init, missing);
  bind(handle, "curl_global_cleanup", curl.global_cleanup, missing);
  bind(handle, "curl_version_info", curl.version_info, missing);
  bind(handle, "curl_easy_init", curl.easy_init, missing);
  bind(handle, "curl_easy_cleanup", curl.easy_cleanup, missing);
  bind(handle, "curl_easy_setopt", curl.easy_setopt, missing);
  bind(handle, "curl_easy_getinfo", curl.easy_getinfo, missing);
  bind(handle, "curl_easy_strerror", curl.easy_strerror, missing);
  bind(handle, "curl_slist_append", curl.slist_append, missing);
  bind(handle, "curl_slist_free_all", curl.slist_free_all, missing);
  bind(handle, "curl_multi_init", curl.multi_init, missing);
  bind(handle, "curl_multi_cleanup", curl.multi_cleanup, missing);
  bind(handle, "curl_multi_setopt", curl.multi_setopt, missing);
  bind(handle, "curl_multi_add_handle", curl.multi_add_handle, missing);
  bind(handle, "curl_multi_remove_handle", curl.multi_remove_handle, missing);
  bind(handle, "curl_multi_perform", curl.multi_perform, missing);
  bind(handle, "curl_multi_poll", curl.multi_poll, missing);
  bind(handle, "curl_multi_wakeup", curl.multi_wakeup, missing);
  bind(handle, "curl_multi_info_read", curl.multi_info_read, missing);
  bind(handle, "curl_share_init", curl.share_init, missing);
  bind(handle, "curl_share_cleanup", curl.share_cleanup, missing);
  bind(handle, "curl_share_setopt", curl.share_setopt, missing);
  if (!missing.empty()) {
    return util::make_error("ELIBCURL", std::string(kSoname) + " lacks " + missing +
                                            "; lade needs libcurl 7.85 or later");
  }
  // curl_global_init is not thread-safe in older libcurl; load() runs it exactly once.
  if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    return util::make_error("ELIBCURL", "libcurl failed to initialise");
  }
  return static_cast<const CurlLibrary*>(&curl);
}

}  // namespace

util::Result<const CurlLibrary*> CurlLibrary::load() {
  static std::once_flag once;
  static util::Result<const CurlLibrary*> loaded = util::make_error("ELIBCURL", "not loaded");
  std::call_once(once, [] { loaded = load_once(); });
  return loaded;
}

}  // namespace lade::registry
