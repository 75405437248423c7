#pragma once
// libcurl, loaded when lade first needs the network instead of when the program starts.
//
// Linking libcurl normally makes every run load it and the libraries it depends on (TLS,
// Kerberos, LDAP, IDN, SSH, ...): measured on Debian 12, about 8 ms of start-up and 6 MB of
// resident memory before main() runs. An up-to-date install, `lade ci` from a warm store and
// every command that fails early need none of it, so the transfer queue loads libcurl through
// dlopen() on its first request. The function pointers keep the exact types of curl.h's
// prototypes, so calls are type-checked as if curl were linked.
#include <curl/curl.h>

#include "util/result.h"

namespace lade::registry {

struct CurlLibrary {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_global_cleanup) global_cleanup;
  decltype(&::curl_version_info) version_info;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_multi_init) multi_init;
  decltype(&::curl_multi_cleanup) multi_cleanup;
  decltype(&::curl_multi_setopt) multi_setopt;
  decltype(&::curl_multi_add_handle) multi_add_handle;
  decltype(&::curl_multi_remove_handle) multi_remove_handle;
  decltype(&::curl_multi_perform) multi_perform;
  decltype(&::curl_multi_poll) multi_poll;
  decltype(&::curl_multi_wakeup) multi_wakeup;
  decltype(&::curl_multi_info_read) multi_info_read;
  decltype(&::curl_share_init) share_init;
  decltype(&::curl_share_cleanup) share_cleanup;
  decltype(&::curl_share_setopt) share_setopt;

  /// Loads libcurl once per process (thread-safe) and calls curl_global_init; later calls return
  /// the same table. The library stays loaded until exit. Error ELIBCURL, saying what is missing,
  /// when the shared library or one of its functions cannot be found.
  static util::Result<const CurlLibrary*> load();
};

}  // namespace lade::registry
