#include "registry/curl_library.h"

#include <catch2/catch.hpp>

using lade::registry::CurlLibrary;

TEST_CASE("CurlLibrary loads libcurl once and binds working functions") {
  auto first = CurlLibrary::load();
  REQUIRE(first.ok());
  auto second = CurlLibrary::load();
  REQUIRE(second.ok());
  CHECK(*first == *second);

  const CurlLibrary& curl = **first;
  const curl_version_info_data* info = curl.version_info(CURLVERSION_NOW);
  REQUIRE(info != nullptr);
  CHECK(info->version_num >= 0x075500);  // 7.85: CURLOPT_PROTOCOLS_STR
  CHECK(std::string(curl.easy_strerror(CURLE_OK)) == "No error");

  CURL* easy = curl.easy_init();
  REQUIRE(easy != nullptr);
  CHECK(curl.easy_setopt(easy, CURLOPT_URL, "http://127.0.0.1:9/") == CURLE_OK);
  curl.easy_cleanup(easy);
}
