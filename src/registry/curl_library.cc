#include "registry/curl_library.h"


#include <mutex>
#include <string>

#include "util/dynamic_library.h"

namespace lade::registry {

namespace {

// The SONAME of libcurl 7.16 and later (the ABI curl keeps stable); it is what linking with
// -lcurl would have recorded.
constexpr const char* kSoname = "libcurl.so.4";

util::Result<const CurlLibrary*> load_once() {
  auto library = LADE_TRY(
      util::DynamicLibrary::open(kSoname, "ELIBCURL", "; install libcurl (Debian: apt-get install libcurl4)"));
  static CurlLibrary curl;  // lives as long as the loaded library
  library.bind("curl_global_init", curl.global_init);
  library.bind("curl_global_cleanup", curl.global_cleanup);
  library.bind("curl_version_info", curl.version_info);
  library.bind("curl_easy_init", curl.easy_init);
  library.bind("curl_easy_cleanup", curl.easy_cleanup);
  library.bind("curl_easy_setopt", curl.easy_setopt);
  library.bind("curl_easy_getinfo", curl.easy_getinfo);
  library.bind("curl_easy_strerror", curl.easy_strerror);
  library.bind("curl_slist_append", curl.slist_append);
  library.bind("curl_slist_free_all", curl.slist_free_all);
  library.bind("curl_multi_init", curl.multi_init);
  library.bind("curl_multi_cleanup", curl.multi_cleanup);
  library.bind("curl_multi_setopt", curl.multi_setopt);
  library.bind("curl_multi_add_handle", curl.multi_add_handle);
  library.bind("curl_multi_remove_handle", curl.multi_remove_handle);
  library.bind("curl_multi_perform", curl.multi_perform);
  library.bind("curl_multi_poll", curl.multi_poll);
  library.bind("curl_multi_wakeup", curl.multi_wakeup);
  library.bind("curl_multi_info_read", curl.multi_info_read);
  library.bind("curl_share_init", curl.share_init);
  library.bind("curl_share_cleanup", curl.share_cleanup);
  library.bind("curl_share_setopt", curl.share_setopt);
  if (!library.missing().empty()) {
    return util::make_error("ELIBCURL", std::string(kSoname) + " lacks " + library.missing() +
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
