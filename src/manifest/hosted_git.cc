#include "manifest/hosted_git.h"

#include <array>
#include <cctype>
#include <vector>

#include "manifest/url.h"

namespace lade::manifest {
namespace {

struct HostInfo {
  GitHostType type;
  std::string_view name;
  std::string_view domain;
  std::vector<std::string_view> protocols;  // URL protocols this host is recognised under
};

const std::array<HostInfo, 5>& hosts() {
  static const std::array<HostInfo, 5> kHosts = {{
      {GitHostType::kGitHub,
       "github",
       "github.com",
       {"git:", "http:", "git+ssh:", "git+https:", "ssh:", "https:"}},
      {GitHostType::kBitbucket,
       "bitbucket",
       "bitbucket.org",
       {"git+ssh:", "git+https:", "ssh:", "https:"}},
      {GitHostType::kGitLab, "gitlab", "gitlab.com", {"git+ssh:", "git+https:", "ssh:", "https:"}},
      {GitHostType::kGist,
       "gist",
       "gist.github.com",
       {"git:", "git+ssh:", "git+https:", "ssh:", "https:"}},
      {GitHostType::kSourcehut, "sourcehut", "git.sr.ht", {"git+ssh:", "https:"}},
  }};
  return kHosts;
}

const HostInfo& info(GitHostType type) {
  for (const auto& h : hosts())
    if (h.type == type) return h;
  return hosts()[0];
}

const HostInfo* by_shortcut(std::string_view protocol) {
  for (const auto& h : hosts())
    if (protocol.size() == h.name.size() + 1 && protocol.substr(0, h.name.size()) == h.name &&
        protocol.back() == ':')
      return &h;
  return nullptr;
}

const HostInfo* by_domain(std::string_view hostname) {
  if (hostname.substr(0, 4) == "www.") hostname.remove_prefix(4);
  for (const auto& h : hosts())
    if (h.domain == hostname) return &h;
  return nullptr;
}

/// Protocols hosted-git-info knows; `auth` says whether credentials in them are kept.
struct ProtocolInfo {
  bool known = false;
  bool auth = false;
};

ProtocolInfo protocol_info(std::string_view protocol) {
  if (protocol == "git+ssh:" || protocol == "ssh:") return {true, false};
  if (protocol == "git+https:" || protocol == "git:" || protocol == "http:" ||
      protocol == "https:" || protocol == "git+http:")
    return {true, true};
  if (by_shortcut(protocol)) return {true, false};
  return {};
}

bool is_js_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/// "user/repo" with no protocol, not a path, not a scoped name (hosted-git-info's rules).
bool is_github_shorthand(std::string_view arg) {
  const size_t npos = std::string_view::npos;
  const size_t first_hash = arg.find('#');
  const size_t first_slash = arg.find('/');
  const size_t second_slash = first_slash == npos ? npos : arg.find('/', first_slash + 1);
  const size_t first_colon = arg.find(':');
  size_t first_space = npos;
  for (size_t i = 0; i < arg.size(); ++i)
    if (is_js_space(arg[i])) {
      first_space = i;
      break;
    }
  const size_t first_at = arg.find('@');
  auto only_after_hash = [&](size_t pos) {
    return pos == npos || (first_hash != npos && pos > first_hash);
  };
  const bool has_slash = first_slash != npos && first_slash > 0;
  const bool does_not_end_with_slash = first_hash != npos
                                           ? (first_hash == 0 || arg[first_hash - 1] != '/')
                                           : (arg.empty() || arg.back() != '/');
  const bool does_not_start_with_dot = arg.empty() || arg[0] != '.';
  return only_after_hash(first_space) && has_slash && does_not_end_with_slash &&
         does_not_start_with_dot && only_after_hash(first_at) && only_after_hash(first_colon) &&
         only_after_hash(second_slash);
}

/// JavaScript's str.lastIndexOf(ch, str.indexOf(before) or Infinity).
size_t last_index_of_before(std::string_view s, char ch, char before) {
  size_t limit = s.find(before);
  size_t from = limit == std::string_view::npos ? s.size() : limit;
  if (s.empty()) return std::string_view::npos;
  return s.rfind(ch, std::min(from, s.size() - 1));
}

/// hosted-git-info's correctProtocol: "git:github.com:u/r" -> "git://github.com:u/r" etc.
std::string correct_protocol(std::string_view arg) {
  const size_t first_colon = arg.find(':');
  const std::string_view proto =
      first_colon == std::string_view::npos ? std::string_view() : arg.substr(0, first_colon + 1);
  if (protocol_info(proto).known) return std::string(arg);
  if (first_colon != std::string_view::npos && arg.substr(first_colon, 3) == "://")
    return std::string(arg);
  // JavaScript's arg.substr(-1, 3) is the last character, never "://": nothing to do for -1.
  const size_t first_at = arg.find('@');
  if (first_at != std::string_view::npos) {
    if (first_colon == std::string_view::npos || first_at > first_colon)
      return "git+ssh://" + std::string(arg);
    return std::string(arg);
  }
  const size_t cut = first_colon == std::string_view::npos ? 0 : first_colon + 1;
  return std::string(arg.substr(0, cut)) + "//" + std::string(arg.substr(cut));
}

/// hosted-git-info's correctUrl: an scp-style "host:path" becomes "host/path".
std::string correct_url(std::string giturl) {
  const size_t first_at = last_index_of_before(giturl, '@', '#');
  const size_t last_colon = last_index_of_before(giturl, ':', '#');
  const bool colon_after_at =
      last_colon != std::string::npos && (first_at == std::string::npos || last_colon > first_at);
  if (colon_after_at) giturl = giturl.substr(0, last_colon) + "/" + giturl.substr(last_colon + 1);
  if (last_index_of_before(giturl, ':', '#') == std::string::npos &&
      giturl.find("//") == std::string::npos)
    giturl = "git+ssh://" + giturl;
  return giturl;
}

std::optional<Url> parse_git_url(std::string_view giturl) {
  std::string with_protocol = correct_protocol(giturl);
  if (auto url = parse_url(with_protocol)) return url;
  return parse_url(correct_url(with_protocol));
}

std::vector<std::string_view> split_limit(std::string_view s, char sep, size_t limit) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (out.size() < limit) {
    size_t j = s.find(sep, i);
    if (j == std::string_view::npos) {
      out.push_back(s.substr(i));
      break;
    }
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string_view part(const std::vector<std::string_view>& parts, size_t i) {
  return i < parts.size() ? parts[i] : std::string_view();
}

void strip_git_suffix(std::string& project) {
  if (project.size() >= 4 && project.compare(project.size() - 4, 4, ".git") == 0)
    project.resize(project.size() - 4);
}

struct Segments {
  std::string user;
  std::string project;
  std::string committish;
};

/// Each host's `extract`: user/project/committish from a full URL on that host.
std::optional<Segments> extract(GitHostType type, const Url& url) {
  const std::string_view hash =
      url.hash.empty() ? std::string_view() : std::string_view(url.hash).substr(1);
  Segments seg;
  switch (type) {
    case GitHostType::kGitHub: {
      auto p = split_limit(url.pathname, '/', 5);
      std::string_view kind = part(p, 3);
      if (!kind.empty() && kind != "tree") return std::nullopt;
      seg.user = part(p, 1);
      seg.project = part(p, 2);
      if (kind.empty()) {
        seg.committish = hash;
      } else {
        // `decodeURIComponent(undefined)` is the string "undefined" in hosted-git-info.
        seg.committish = p.size() > 4 ? std::string(p[4]) : std::string("undefined");
      }
      strip_git_suffix(seg.project);
      if (seg.user.empty() || seg.project.empty()) return std::nullopt;
      return seg;
    }
    case GitHostType::kBitbucket:
    case GitHostType::kSourcehut: {
      auto p = split_limit(url.pathname, '/', 4);
      std::string_view aux = part(p, 3);
      if (aux == (type == GitHostType::kBitbucket ? "get" : "archive")) return std::nullopt;
      seg.user = part(p, 1);
      seg.project = part(p, 2);
      strip_git_suffix(seg.project);
      if (seg.user.empty() || seg.project.empty()) return std::nullopt;
      seg.committish = hash;
      return seg;
    }
    case GitHostType::kGitLab: {
      std::string_view path = std::string_view(url.pathname).substr(url.pathname.empty() ? 0 : 1);
      if (path.find("/-/") != std::string_view::npos ||
          path.find("/archive.tar.gz") != std::string_view::npos)
        return std::nullopt;
      size_t last = path.rfind('/');
      seg.project = std::string(last == std::string_view::npos ? path : path.substr(last + 1));
      seg.user = last == std::string_view::npos ? "" : std::string(path.substr(0, last));
      strip_git_suffix(seg.project);
      if (seg.user.empty() || seg.project.empty()) return std::nullopt;
      seg.committish = hash;
      return seg;
    }
    case GitHostType::kGist: {
      auto p = split_limit(url.pathname, '/', 4);
      if (part(p, 3) == "raw") return std::nullopt;
      seg.user = part(p, 1);
      seg.project = part(p, 2);
      if (seg.project.empty()) {
        if (seg.user.empty()) return std::nullopt;
        seg.project = std::move(seg.user);
        seg.user.clear();
      }
      strip_git_suffix(seg.project);
      seg.committish = hash;
      return seg;
    }
  }
  return std::nullopt;
}

std::string hash_part(const std::string& committish, HostedGit::Form form) {
  if (form.no_committish || committish.empty()) return "";
  return "#" + committish;
}

std::string finish(std::string result, HostedGit::Form form) {
  if (form.no_git_plus && result.rfind("git+", 0) == 0) result.erase(0, 4);
  return result;
}

/// `${user}` in a JavaScript template: a missing user prints as "null".
std::string user_text(const std::string& user) { return user.empty() ? "null" : user; }

}  // namespace

std::string HostedGit::type_name() const { return std::string(info(type).name); }
std::string HostedGit::domain() const { return std::string(info(type).domain); }

std::string HostedGit::shortcut(Form form) const {
  if (type == GitHostType::kGist)
    return finish("gist:" + project + hash_part(committish, form), form);
  return finish(type_name() + ":" + user_text(user) + "/" + project + hash_part(committish, form),
                form);
}

std::string HostedGit::sshurl(Form form) const {
  if (type == GitHostType::kGist)
    return finish(
        "git+ssh://git@" + domain() + "/" + project + ".git" + hash_part(committish, form), form);
  return finish("git+ssh://git@" + domain() + "/" + user_text(user) + "/" + project + ".git" +
                    hash_part(committish, form),
                form);
}

std::string HostedGit::ssh(Form form) const {
  if (type == GitHostType::kGist)
    return finish("git@" + domain() + ":" + project + ".git" + hash_part(committish, form), form);
  return finish("git@" + domain() + ":" + user_text(user) + "/" + project + ".git" +
                    hash_part(committish, form),
                form);
}

std::string HostedGit::https(Form form) const {
  switch (type) {
    case GitHostType::kGist:
      return finish(
          "git+https://" + domain() + "/" + project + ".git" + hash_part(committish, form), form);
    case GitHostType::kSourcehut:
      return finish("https://" + domain() + "/" + user_text(user) + "/" + project +
                        hash_part(committish, form),
                    form);
    default:
      return finish("git+https://" + (auth.empty() ? "" : auth + "@") + domain() + "/" +
                        user_text(user) + "/" + project + ".git" + hash_part(committish, form),
                    form);
  }
}

std::string HostedGit::git(Form form) const {
  if (type == GitHostType::kGitHub)
    return finish("git://" + (auth.empty() ? "" : auth + "@") + domain() + "/" + user_text(user) +
                      "/" + project + ".git" + hash_part(committish, form),
                  form);
  if (type == GitHostType::kGist)
    return finish("git://" + domain() + "/" + project + ".git" + hash_part(committish, form), form);
  return "";
}

std::string HostedGit::path(Form form) const {
  if (type == GitHostType::kGist) return finish(project + hash_part(committish, form), form);
  return finish(user_text(user) + "/" + project + hash_part(committish, form), form);
}

std::string HostedGit::tarball() const {
  const std::string ref = encode_uri_component(committish.empty() ? "HEAD" : committish);
  switch (type) {
    case GitHostType::kGitHub:
      return "https://codeload." + domain() + "/" + user_text(user) + "/" + project + "/tar.gz/" +
             ref;
    case GitHostType::kGist:
      return "https://codeload.github.com/gist/" + project + "/tar.gz/" + ref;
    case GitHostType::kBitbucket:
      return "https://" + domain() + "/" + user_text(user) + "/" + project + "/get/" + ref +
             ".tar.gz";
    case GitHostType::kGitLab:
      return "https://" + domain() + "/api/v4/projects/" +
             encode_uri_component(user_text(user) + "/" + project) +
             "/repository/archive.tar.gz?sha=" + ref;
    case GitHostType::kSourcehut:
      return "https://" + domain() + "/" + user_text(user) + "/" + project + "/archive/" + ref +
             ".tar.gz";
  }
  return "";
}

std::string HostedGit::to_string(Form form) const {
  switch (representation) {
    case GitRepresentation::kShortcut:
      return shortcut(form);
    case GitRepresentation::kHttps:
      return https(form);
    case GitRepresentation::kGit:
      return git(form);
    case GitRepresentation::kSshUrl:
    case GitRepresentation::kOther:
      break;
  }
  return sshurl(form);
}

std::optional<HostedGit> hosted_git_from_url(std::string_view giturl) {
  if (giturl.empty()) return std::nullopt;
  const std::string corrected =
      is_github_shorthand(giturl) ? "github:" + std::string(giturl) : std::string(giturl);
  auto parsed = parse_git_url(corrected);
  if (!parsed) return std::nullopt;

  const HostInfo* shortcut_host = by_shortcut(parsed->protocol);
  const HostInfo* host = shortcut_host ? shortcut_host : by_domain(parsed->hostname);
  if (!host) return std::nullopt;

  HostedGit hosted;
  hosted.type = host->type;
  if (protocol_info(parsed->protocol).auth &&
      (!parsed->username.empty() || !parsed->password.empty()))
    hosted.auth = parsed->username + (parsed->password.empty() ? "" : ":" + parsed->password);

  if (shortcut_host) {
    std::string_view pathname = parsed->pathname;
    if (!pathname.empty() && pathname[0] == '/') pathname.remove_prefix(1);
    if (size_t at = pathname.find('@'); at != std::string_view::npos)
      pathname.remove_prefix(at + 1);  // auth is ignored in shortcuts
    const size_t last_slash = pathname.rfind('/');
    std::optional<std::string> project;
    if (last_slash != std::string_view::npos) {
      auto user = decode_uri_component(pathname.substr(0, last_slash));
      if (!user) return std::nullopt;
      hosted.user = *user;
      project = decode_uri_component(pathname.substr(last_slash + 1));
    } else {
      project = decode_uri_component(pathname);
    }
    if (!project) return std::nullopt;
    hosted.project = *project;
    strip_git_suffix(hosted.project);
    if (!parsed->hash.empty()) {
      auto committish = decode_uri_component(std::string_view(parsed->hash).substr(1));
      if (!committish) return std::nullopt;
      hosted.committish = *committish;
    }
    hosted.representation = GitRepresentation::kShortcut;
    return hosted;
  }

  bool listed = false;
  for (auto p : host->protocols) listed = listed || p == parsed->protocol;
  if (!listed) return std::nullopt;
  auto seg = extract(host->type, *parsed);
  if (!seg) return std::nullopt;
  auto user = decode_uri_component(seg->user);
  auto project = decode_uri_component(seg->project);
  auto committish = decode_uri_component(seg->committish);
  if (!user || !project || !committish) return std::nullopt;
  hosted.user = *user;
  hosted.project = *project;
  hosted.committish = *committish;
  const std::string& proto = parsed->protocol;
  if (proto == "git+ssh:" || proto == "ssh:") {
    hosted.representation = GitRepresentation::kSshUrl;
  } else if (proto == "git+https:" || proto == "https:") {
    hosted.representation = GitRepresentation::kHttps;
  } else if (proto == "git:") {
    hosted.representation = GitRepresentation::kGit;
  } else {
    hosted.representation = GitRepresentation::kOther;  // "http", "git+http": no such form
  }
  return hosted;
}

}  // namespace lade::manifest
