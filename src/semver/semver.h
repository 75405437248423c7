#pragma once
// lade::semver: node-semver 7.x semantics in C++ (versions, ranges, comparisons). Include this
// for the whole public surface.
//
// Every function gives node-semver's answer (the shared conformance tables, and differential
// runs against node-semver on hundreds of thousands of generated inputs, agree), with one known
// exception: node-semver sometimes re-parses a version from its canonical text, and when that
// text no longer parses (a loose version of 256 characters whose canonical form gains a '-', or
// a loose prerelease identifier of 16+ digits with leading zeros compared in strict mode) it
// throws a TypeError out of satisfies/gtr/ltr/subset. lade answers from the parsed value instead.
// Where node-semver returns null or throws for bad input, lade returns nullopt.
#include "semver/comparator.h"  // IWYU pragma: export
#include "semver/functions.h"   // IWYU pragma: export
#include "semver/options.h"     // IWYU pragma: export
#include "semver/range.h"       // IWYU pragma: export
#include "semver/version.h"     // IWYU pragma: export
