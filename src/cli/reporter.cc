#include "cli/reporter.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace lade::cli {

std::string format_duration(std::chrono::milliseconds ms) {
  auto n = ms.count();
  if (n < 1000) return std::to_string(n) + "ms";
  if (n < 60000) return std::to_string((n + 500) / 1000) + "s";
  return std::to_string((n + 30000) / 60000) + "m";
}

Reporter::Reporter(bool json, bool silent, bool timing)
    : json_(json), silent_(silent), timing_(timing) {
  const char* ci = std::getenv("CI");
  tty_ = ::isatty(2) && !(ci && *ci && std::string(ci) != "false") && !json;
}

void Reporter::clear_progress() {
  if (progress_shown_) {
    std::fputs("\r\033[K", stderr);
    progress_shown_ = false;
  }
}

void Reporter::progress(const std::string& phase, size_t done, size_t total) {
  if (!tty_ || silent_) return;
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (done != total && now - last_progress_ < std::chrono::milliseconds(80)) return;
  last_progress_ = now;
  std::fprintf(stderr, "\r\033[K%s %zu/%zu", phase.c_str(), done, total);
  progress_shown_ = true;
}

void Reporter::warn(const std::string& message) {
  std::lock_guard lock(mu_);
  warn_locked(message);
}

void Reporter::http(const std::string& message) {
  std::lock_guard lock(mu_);
  if (silent_) return;
  clear_progress();
  std::fprintf(stderr, "lade http %s\n", message.c_str());
}

void Reporter::warn_locked(const std::string& message) {
  warnings_.push_back(message);
  if (silent_ || hide_warnings_) return;
  clear_progress();
  // Every line of a long warning carries the prefix, as npm's do.
  size_t start = 0;
  while (start <= message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    const std::string line = message.substr(start, end - start);
    std::fprintf(stderr, "lade warn:%s%s\n", line.empty() ? "" : " ", line.c_str());
    start = end + 1;
  }
}

void Reporter::script_banner(const std::string& package_id, const std::string& event,
                             const std::string& command) {
  std::lock_guard lock(mu_);
  if (json_ || silent_) return;
  clear_progress();
  std::fprintf(stdout, "\n> %s %s\n> %s\n\n", package_id.c_str(), event.c_str(), command.c_str());
  std::fflush(stdout);
}

void Reporter::error(const util::Error& error) {
  std::lock_guard lock(mu_);
  clear_progress();
  if (json_) {
    // npm's error object: code, summary (the first line) and detail (the rest).
    const size_t nl = error.message.find('\n');
    nlohmann::json j = {{"error",
                         {{"code", error.code.empty() ? nlohmann::json() : nlohmann::json(error.code)},
                          {"summary", error.message.substr(0, nl)},
                          {"detail", nl == std::string::npos ? std::string() : error.message.substr(nl + 1)}}}};
    std::printf("%s\n", j.dump(2).c_str());
  }
  // npm's --silent (loglevel silent) prints nothing, errors included: the exit status tells.
  if (silent_) return;
  // A few of npm's errors carry no code (an override naming no package, say): neither does ours.
  if (error.code.empty()) {
    std::fprintf(stderr, "lade: %s\n", error.message.c_str());
  } else {
    std::fprintf(stderr, "lade: %s %s\n", error.code.c_str(), error.message.c_str());
  }
}

static std::string plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

void Reporter::summary(const Summary& s) {
  std::lock_guard lock(mu_);
  clear_progress();
  auto path_of = [&s](const installer::ReportedPackage& p) { return s.project_dir + "/" + p.location; };
  if (json_) {
    // npm's shape, keys in npm's order (add, added, audited, change, changed, funding, remove,
    // removed; each package as name, version, path); with --timing, lade's figures after them.
    using Json = nlohmann::ordered_json;
    auto entry = [&](const std::string& name, const std::string& version, const std::string& path) {
      Json e = Json::object();
      e["name"] = name;
      e["version"] = version;
      e["path"] = path;
      return e;
    };
    Json add = Json::array(), change = Json::array(), remove = Json::array();
    for (const auto& p : s.add) add.push_back(entry(p.name, p.version, path_of(p)));
    for (const auto& p : s.change) {
      Json c = Json::object();
      c["from"] = entry(p.name, p.from_version, path_of(p));
      c["to"] = entry(p.name, p.version, path_of(p));
      change.push_back(std::move(c));
    }
    for (const auto& p : s.remove) remove.push_back(entry(p.name, p.version, path_of(p)));
    Json j = Json::object();
    j["add"] = std::move(add);
    j["added"] = s.added;
    j["audited"] = 0;
    j["change"] = std::move(change);
    j["changed"] = s.changed;
    j["funding"] = 0;
    j["remove"] = std::move(remove);
    j["removed"] = s.removed;
    if (timing_) {
      j["elapsed_ms"] = s.elapsed.count();
      Json t = Json::object();
      for (auto& [k, v] : s.timing) t[k] = v.count();
      j["timing"] = t;
      Json c = Json::object();
      for (auto& [k, v] : s.counters) c[k] = v;
      j["counters"] = c;
    }
    if (!s.unreviewed_scripts.empty()) {
      Json list = Json::array();
      for (const auto& p : s.unreviewed_scripts) {
        Json scripts = Json::object();
        for (const auto& [event, command] : p.scripts) scripts[event] = command;
        Json e = entry(p.name, p.version, s.project_dir + "/" + p.location);
        e["scripts"] = std::move(scripts);
        list.push_back(std::move(e));
      }
      j["unreviewedScripts"] = list;
    }
    if (!warnings_.empty()) j["warnings"] = warnings_;
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  if (silent_) return;
  if (s.dry_run || s.long_listing) {
    // npm's dry-run (and --long) lists what it would do, in its diff's order.
    std::vector<std::pair<size_t, std::string>> lines;
    for (const auto& p : s.add) lines.emplace_back(p.diff_rank, "add " + p.name + " " + p.version);
    for (const auto& p : s.change) {
      lines.emplace_back(p.diff_rank, "change " + p.name + " " + p.from_version + " => " + p.version);
    }
    for (const auto& p : s.remove) lines.emplace_back(p.diff_rank, "remove " + p.name + " " + p.version);
    std::stable_sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [_, line] : lines) std::printf("%s\n", line.c_str());
  }
  std::vector<std::string> parts;
  if (s.added) parts.push_back("added " + plural(s.added, "package"));
  if (s.removed) parts.push_back("removed " + plural(s.removed, "package"));
  if (s.changed) parts.push_back("changed " + plural(s.changed, "package"));
  std::string line;
  if (parts.empty()) {
    line = "up to date";
  } else {
    for (size_t i = 0; i < parts.size(); ++i) {
      // npm's reify-output: "added 1 package, and removed 9 packages".
      if (i) line += (i + 1 == parts.size()) ? ", and " : ", ";
      line += parts[i];
    }
  }
  // npm's summary starts with an empty line (also after the --dry-run lines).
  std::printf("\n%s in %s\n", line.c_str(), format_duration(s.elapsed).c_str());
  if (timing_) {
    for (auto& [k, v] : s.timing) std::printf("  %-10s %6lld ms\n", k.c_str(), (long long)v.count());
    for (auto& [k, v] : s.counters) std::printf("  %-22s %zu\n", k.c_str(), v);
  }
  std::fflush(stdout);
  if (!s.unreviewed_scripts.empty()) warn_locked(installer::unreviewed_scripts_warning(s.unreviewed_scripts));
}

}  // namespace lade::cli
