#include "installer/undo_log.h"

#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "util/fs.h"
#include "util/interrupt.h"

namespace lade::installer {

namespace {

/// What an install sets aside goes to node_modules/<this><pid>.
constexpr std::string_view kAsidePrefix = ".lade-undo-";

fs::file_type type_of(const fs::path& path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type();
}

bool exists_here(const fs::path& path) {
  const fs::file_type t = type_of(path);
  return t != fs::file_type::not_found && t != fs::file_type::none;
}

void delete_entry(const fs::path& path) {
  std::error_code ec;
  if (type_of(path) == fs::file_type::directory) {
    fs::remove_all(path, ec);
  } else {
    fs::remove(path, ec);
  }
}

/// Everything in the folder `dir` but its node_modules.
std::vector<fs::path> package_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().filename() != "node_modules") out.push_back(it->path());
  }
  return out;
}

}  // namespace

UndoLog::UndoLog(fs::path project, bool keep) : project_(std::move(project)), keep_(keep) {}

void UndoLog::remove_stale(const fs::path& project) {
  // What an install killed half way (SIGKILL, a power cut, a signal while it deleted what it had
  // set aside) left there is of no use now: this install rebuilds the tree from the lockfiles.
  util::remove_abandoned(project / "node_modules", kAsidePrefix);
}

fs::path UndoLog::aside_for(const std::string& rel) {
  // The first node_modules on the way down: the project's own, or a workspace's.
  fs::path outer;
  for (const fs::path& part : fs::path(rel)) {
    outer /= part;
    if (part == "node_modules") break;
  }
  auto [it, made] = aside_dirs_.try_emplace(outer.string());
  if (made) it->second = project_ / outer / (std::string(kAsidePrefix) + std::to_string(::getpid()));
  return it->second / std::to_string(counter_++);
}

bool UndoLog::move_to(const fs::path& path, const fs::path& aside) {
  std::error_code ec;
  fs::create_directories(aside.parent_path(), ec);
  fs::rename(path, aside, ec);
  if (!ec) return true;
  delete_entry(path);  // another file system under it: gone for good, as without undo
  return false;
}

void UndoLog::remove(const std::string& rel) {
  const fs::path path = project_ / rel;
  if (!exists_here(path)) return;
  if (!keep_) {
    delete_entry(path);
    return;
  }
  const fs::path aside = aside_for(rel);
  if (move_to(path, aside)) steps_.push_back({Step::Kind::kMovedAside, path, aside, std::nullopt});
}

void UndoLog::make_room_for_link(const std::string& rel) {
  remove(rel);  // nothing when there is nothing
  if (keep_) steps_.push_back({Step::Kind::kCreated, project_ / rel, {}, std::nullopt});
}

void UndoLog::make_room_for_package(const std::string& rel) {
  const fs::path path = project_ / rel;
  const fs::file_type type = type_of(path);
  if (type == fs::file_type::not_found || type == fs::file_type::none) {
    if (keep_) steps_.push_back({Step::Kind::kCreated, path, {}, std::nullopt});
    return;
  }
  if (type != fs::file_type::directory) {  // a link or a file where the package goes
    make_room_for_link(rel);
    return;
  }
  const std::vector<fs::path> files = package_files(path);
  if (!keep_) {
    for (const fs::path& f : files) delete_entry(f);
    return;
  }
  const fs::path aside = aside_for(rel);
  std::error_code ec;
  fs::create_directories(aside, ec);
  for (const fs::path& f : files) move_to(f, aside / f.filename());
  steps_.push_back({Step::Kind::kContentsMovedAside, path, aside, std::nullopt});
}

void UndoLog::will_change_link(const fs::path& path) {
  if (!keep_ || !links_seen_.insert(path.string()).second) return;
  const fs::file_type type = type_of(path);
  if (type == fs::file_type::symlink) {
    std::error_code ec;
    fs::path target = fs::read_symlink(path, ec);
    if (!ec) {
      steps_.push_back({Step::Kind::kLink, path, {}, std::move(target)});
      return;
    }
  }
  if (type != fs::file_type::not_found && type != fs::file_type::none) {
    const fs::path aside = aside_for(path.lexically_relative(project_).string());
    if (move_to(path, aside)) steps_.push_back({Step::Kind::kMovedAside, path, aside, std::nullopt});
    return;
  }
  steps_.push_back({Step::Kind::kLink, path, {}, std::nullopt});
}

void UndoLog::undo() {
  std::error_code ec;
  for (auto step = steps_.rbegin(); step != steps_.rend(); ++step) {
    switch (step->kind) {
      case Step::Kind::kCreated:
        delete_entry(step->path);
        break;
      case Step::Kind::kLink:
        delete_entry(step->path);
        if (step->link_to) fs::create_symlink(*step->link_to, step->path, ec);
        break;
      case Step::Kind::kMovedAside:
        delete_entry(step->path);
        fs::create_directories(step->path.parent_path(), ec);
        fs::rename(step->aside, step->path, ec);
        break;
      case Step::Kind::kContentsMovedAside: {
        if (type_of(step->path) != fs::file_type::directory) {
          delete_entry(step->path);
          fs::create_directories(step->path, ec);
        }
        for (const fs::path& f : package_files(step->path)) delete_entry(f);
        for (const fs::path& f : package_files(step->aside)) fs::rename(f, step->path / f.filename(), ec);
        break;
      }
    }
  }
  steps_.clear();
  commit();
}

void UndoLog::commit() {
  // What was moved aside can be big (a removed aws-cdk-lib is tens of thousands of files).
  for (const auto& [_, dir] : aside_dirs_) util::remove_all_parallel(dir, 8);
  aside_dirs_.clear();
  steps_.clear();
}

void InterruptGate::stop_and_wait() {
  std::unique_lock lock(mu_);
  if (settled_) return;
  stop_ = true;
  stopping_ = true;
  cv_.wait(lock, [this] { return settled_; });
}

void InterruptGate::checkpoint(UndoLog& log) {
  {
    std::lock_guard lock(mu_);
    if (!stop_) return;
  }
  log.undo();
  settle();
  util::wait_for_the_end();
}

void InterruptGate::settle() {
  std::lock_guard lock(mu_);
  settled_ = true;
  cv_.notify_all();
}

}  // namespace lade::installer
