#include "store/archive_library.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

using lade::store::ArchiveLibrary;

TEST_CASE("ArchiveLibrary loads libarchive once and binds working functions") {
  auto first = ArchiveLibrary::load();
  REQUIRE(first.ok());
  auto second = ArchiveLibrary::load();
  REQUIRE(second.ok());
  CHECK(*first == *second);

  const ArchiveLibrary& lib = **first;
  std::unique_ptr<struct archive_entry, decltype(&::archive_entry_free)> entry(lib.entry_new(),
                                                                               lib.entry_free);
  REQUIRE(entry != nullptr);
  lib.entry_set_pathname(entry.get(), "package/index.js");
  lib.entry_set_filetype(entry.get(), AE_IFREG);
  lib.entry_set_size(entry.get(), 42);
  CHECK(std::string(lib.entry_pathname(entry.get())) == "package/index.js");
  CHECK(lib.entry_filetype(entry.get()) == AE_IFREG);
  CHECK(lib.entry_size_is_set(entry.get()) != 0);
  CHECK(lib.entry_size(entry.get()) == 42);

  // Bytes that are no archive: the reader opens, then fails on the first header with a message.
  std::unique_ptr<struct archive, decltype(&::archive_read_free)> reader(lib.read_new(),
                                                                         lib.read_free);
  REQUIRE(reader != nullptr);
  lib.read_support_format_tar(reader.get());
  const std::string junk(1024, 'x');
  struct archive_entry* header = nullptr;
  int r = lib.read_open_memory(reader.get(), junk.data(), junk.size());
  if (r == ARCHIVE_OK) r = lib.read_next_header(reader.get(), &header);
  CHECK(r == ARCHIVE_FATAL);
  REQUIRE(lib.error_string(reader.get()) != nullptr);
}
