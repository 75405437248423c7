// JavaScript's Date.parse on the ISO forms npm's `before` and packuments' "time" use.
#include "util/date.h"

#include <catch2/catch.hpp>

using lade::util::parse_iso_date;

TEST_CASE("ISO dates parse as JavaScript's Date.parse does", "[util][date]") {
  CHECK(parse_iso_date("2019-08-13T17:02:06.541Z") == 1565715726541);
  CHECK(parse_iso_date("1970-01-01T00:00:00.000Z") == 0);
  CHECK(parse_iso_date("2020-01-01") == 1577836800000);
  CHECK(parse_iso_date("2020-01") == 1577836800000);
  CHECK(parse_iso_date("2020") == 1577836800000);
  CHECK(parse_iso_date("2020-01-01T01:00:00+01:00") == 1577836800000);
  CHECK(parse_iso_date("2020-01-01T00:00Z") == 1577836800000);
  CHECK(parse_iso_date("2000-02-29T12:00:00.5Z") == 951825600500);
  CHECK_FALSE(parse_iso_date("yesterday"));
  CHECK_FALSE(parse_iso_date("2020-13-01"));
  CHECK_FALSE(parse_iso_date("2020-01-01T25"));
  CHECK_FALSE(parse_iso_date(""));
}
