// npm-package-arg behaviour: every row was produced by running npm 11's npm-package-arg on the
// same input (with where=/srv/app and HOME=/home/user) and is compared field by field.
#include "manifest/spec.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "manifest/package_name.h"

namespace lade::manifest {
namespace {

// [mode, arg-or-name, spec-or-null, npa's result or {"error", "message"}]
// mode "arg" is npa(arg, where), mode "res" is npa.resolve(name, spec, where).
const char* const kNpaCases = R"JSON([
["arg", "lodash", null, {"type": "range", "registry": true, "raw": "lodash", "name": "lodash", "escapedName": "lodash", "rawSpec": "*", "saveSpec": null, "fetchSpec": "*"}],
["arg", "lodash@^4.17.0", null, {"type": "range", "registry": true, "raw": "lodash@^4.17.0", "name": "lodash", "escapedName": "lodash", "rawSpec": "^4.17.0", "saveSpec": null, "fetchSpec": "^4.17.0"}],
["arg", "lodash@4.17.21", null, {"type": "version", "registry": true, "raw": "lodash@4.17.21", "name": "lodash", "escapedName": "lodash", "rawSpec": "4.17.21", "saveSpec": null, "fetchSpec": "4.17.21"}],
["arg", "lodash@latest", null, {"type": "tag", "registry": true, "raw": "lodash@latest", "name": "lodash", "escapedName": "lodash", "rawSpec": "latest", "saveSpec": null, "fetchSpec": "latest"}],
["arg", "lodash@", null, {"type": "range", "registry": true, "raw": "lodash@", "name": "lodash", "escapedName": "lodash", "rawSpec": "*", "saveSpec": null, "fetchSpec": "*"}],
["arg", "lodash@ 1.2.3 ", null, {"type": "version", "registry": true, "raw": "lodash@ 1.2.3 ", "name": "lodash", "escapedName": "lodash", "rawSpec": " 1.2.3 ", "saveSpec": null, "fetchSpec": "1.2.3"}],
["arg", "lodash@v1.2.3", null, {"type": "version", "registry": true, "raw": "lodash@v1.2.3", "name": "lodash", "escapedName": "lodash", "rawSpec": "v1.2.3", "saveSpec": null, "fetchSpec": "v1.2.3"}],
["arg", "lodash@=1.2.3", null, {"type": "version", "registry": true, "raw": "lodash@=1.2.3", "name": "lodash", "escapedName": "lodash", "rawSpec": "=1.2.3", "saveSpec": null, "fetchSpec": "=1.2.3"}],
["arg", "lodash@1.x || >=2.5.0", null, {"type": "range", "registry": true, "raw": "lodash@1.x || >=2.5.0", "name": "lodash", "escapedName": "lodash", "rawSpec": "1.x || >=2.5.0", "saveSpec": null, "fetchSpec": "1.x || >=2.5.0"}],
["arg", "@scope/pkg", null, {"type": "range", "registry": true, "raw": "@scope/pkg", "name": "@scope/pkg", "escapedName": "@scope%2fpkg", "scope": "@scope", "rawSpec": "*", "saveSpec": null, "fetchSpec": "*"}],
["arg", "@scope/pkg@next", null, {"type": "tag", "registry": true, "raw": "@scope/pkg@next", "name": "@scope/pkg", "escapedName": "@scope%2fpkg", "scope": "@scope", "rawSpec": "next", "saveSpec": null, "fetchSpec": "next"}],
["arg", "@scope/pkg@~1.0.0", null, {"type": "range", "registry": true, "raw": "@scope/pkg@~1.0.0", "name": "@scope/pkg", "escapedName": "@scope%2fpkg", "scope": "@scope", "rawSpec": "~1.0.0", "saveSpec": null, "fetchSpec": "~1.0.0"}],
["arg", "Foo@1", null, {"type": "range", "registry": true, "raw": "Foo@1", "name": "Foo", "escapedName": "Foo", "rawSpec": "1", "saveSpec": null, "fetchSpec": "1"}],
["arg", "foo@tag%", null, {"error": "EINVALIDTAGNAME", "message": "Invalid tag name \"tag%\" of package \"foo@tag%\": Tags may not have any characters that encodeURIComponent encodes."}],
["arg", "foo@beta tag", null, {"error": "EINVALIDTAGNAME", "message": "Invalid tag name \"beta tag\" of package \"foo@beta tag\": Tags may not have any characters that encodeURIComponent encodes."}],
["arg", "Foo Bar@1", null, {"error": "EINVALIDPACKAGENAME", "message": "Invalid package name \"Foo Bar\" of package \"Foo Bar@1\": name can only contain URL-friendly characters."}],
["arg", "_foo@1", null, {"error": "EINVALIDPACKAGENAME", "message": "Invalid package name \"_foo\" of package \"_foo@1\": name cannot start with an underscore."}],
["arg", "node_modules@1", null, {"error": "EINVALIDPACKAGENAME", "message": "Invalid package name \"node_modules\" of package \"node_modules@1\": node_modules is not a valid package name."}],
["arg", "alias@npm:lodash@^4", null, {"type": "alias", "registry": true, "raw": "alias@npm:lodash@^4", "name": "alias", "escapedName": "alias", "rawSpec": "npm:lodash@^4", "saveSpec": null, "fetchSpec": null, "subSpec": {"type": "range", "registry": true, "raw": "lodash@^4", "name": "lodash", "escapedName": "lodash", "rawSpec": "^4", "saveSpec": null, "fetchSpec": "^4"}}],
["arg", "alias@npm:@scope/pkg", null, {"type": "alias", "registry": true, "raw": "alias@npm:@scope/pkg", "name": "alias", "escapedName": "alias", "rawSpec": "npm:@scope/pkg", "saveSpec": null, "fetchSpec": null, "subSpec": {"type": "range", "registry": true, "raw": "@scope/pkg", "name": "@scope/pkg", "escapedName": "@scope%2fpkg", "scope": "@scope", "rawSpec": "*", "saveSpec": null, "fetchSpec": "*"}}],
["arg", "npm:lodash@1", null, {"type": "alias", "registry": true, "raw": "npm:lodash@1", "rawSpec": "npm:lodash@1", "saveSpec": null, "fetchSpec": null, "subSpec": {"type": "range", "registry": true, "raw": "lodash@1", "name": "lodash", "escapedName": "lodash", "rawSpec": "1", "saveSpec": null, "fetchSpec": "1"}}],
["arg", "x@npm:y@npm:z", null, {"error": null, "message": "nested aliases not supported"}],
["arg", "x@npm:../foo", null, {"error": null, "message": "aliases only work for registry deps"}],
["arg", "x@npm:github:u/r", null, {"error": null, "message": "aliases only work for registry deps"}],
["arg", "github:npm/cli", null, {"type": "git", "raw": "github:npm/cli", "rawSpec": "github:npm/cli", "saveSpec": "github:npm/cli", "fetchSpec": null, "gitCommittish": null}],
["arg", "github:npm/cli#v1.0.0", null, {"type": "git", "raw": "github:npm/cli#v1.0.0", "rawSpec": "github:npm/cli#v1.0.0", "saveSpec": "github:npm/cli#v1.0.0", "fetchSpec": null, "gitCommittish": "v1.0.0"}],
["arg", "npm/cli", null, {"type": "git", "raw": "npm/cli", "rawSpec": "npm/cli", "saveSpec": "github:npm/cli", "fetchSpec": null, "gitCommittish": null}],
["arg", "npm/cli#semver:^7.0.0", null, {"type": "git", "raw": "npm/cli#semver:^7.0.0", "rawSpec": "npm/cli#semver:^7.0.0", "saveSpec": "github:npm/cli#semver:^7.0.0", "fetchSpec": null, "gitRange": "^7.0.0"}],
["arg", "npm/cli#semver:%3E%3D1.0.0%20%3C2", null, {"type": "git", "raw": "npm/cli#semver:%3E%3D1.0.0%20%3C2", "rawSpec": "npm/cli#semver:%3E%3D1.0.0%20%3C2", "saveSpec": "github:npm/cli#semver:>=1.0.0 <2", "fetchSpec": null, "gitRange": ">=1.0.0 <2"}],
["arg", "npm/cli#main::path:packages/core", null, {"type": "git", "raw": "npm/cli#main::path:packages/core", "rawSpec": "npm/cli#main::path:packages/core", "saveSpec": "github:npm/cli#main::path:packages/core", "fetchSpec": null, "gitCommittish": "main", "gitSubdir": "/packages/core"}],
["arg", "npm/cli#a::b", null, {"error": null, "message": "cannot override existing committish with a second committish"}],
["arg", "npm/cli#a::semver:1", null, {"error": null, "message": "cannot override existing committish with a semver range"}],
["arg", "gitlab:group/sub/project#abc", null, {"type": "git", "raw": "gitlab:group/sub/project#abc", "rawSpec": "gitlab:group/sub/project#abc", "saveSpec": "gitlab:group/sub/project#abc", "fetchSpec": null, "gitCommittish": "abc"}],
["arg", "bitbucket:team/repo", null, {"type": "git", "raw": "bitbucket:team/repo", "rawSpec": "bitbucket:team/repo", "saveSpec": "bitbucket:team/repo", "fetchSpec": null, "gitCommittish": null}],
["arg", "gist:11081aaa281", null, {"type": "git", "raw": "gist:11081aaa281", "rawSpec": "gist:11081aaa281", "saveSpec": "gist:11081aaa281", "fetchSpec": null, "gitCommittish": null}],
["arg", "gist:user/11081aaa281#rev", null, {"type": "git", "raw": "gist:user/11081aaa281#rev", "rawSpec": "gist:user/11081aaa281#rev", "saveSpec": "gist:11081aaa281#rev", "fetchSpec": null, "gitCommittish": "rev"}],
["arg", "sourcehut:~user/repo", null, {"type": "git", "raw": "sourcehut:~user/repo", "rawSpec": "sourcehut:~user/repo", "saveSpec": "sourcehut:~user/repo", "fetchSpec": null, "gitCommittish": null}],
["arg", "git+https://github.com/npm/cli.git#v10.0.0", null, {"type": "git", "raw": "git+https://github.com/npm/cli.git#v10.0.0", "rawSpec": "git+https://github.com/npm/cli.git#v10.0.0", "saveSpec": "git+https://github.com/npm/cli.git#v10.0.0", "fetchSpec": "https://github.com/npm/cli.git", "gitCommittish": "v10.0.0"}],
["arg", "git+ssh://git@github.com/npm/cli.git", null, {"type": "git", "raw": "git+ssh://git@github.com/npm/cli.git", "rawSpec": "git+ssh://git@github.com/npm/cli.git", "saveSpec": "git+ssh://git@github.com/npm/cli.git", "fetchSpec": "ssh://git@github.com/npm/cli.git", "gitCommittish": null}],
["arg", "git+ssh://git@github.com:npm/cli.git#semver:^10", null, {"type": "git", "raw": "git+ssh://git@github.com:npm/cli.git#semver:^10", "rawSpec": "git+ssh://git@github.com:npm/cli.git#semver:^10", "saveSpec": "git+ssh://git@github.com/npm/cli.git#semver:^10", "fetchSpec": "ssh://git@github.com/npm/cli.git", "gitRange": "^10"}],
["arg", "git@github.com:npm/cli.git", null, {"type": "git", "raw": "git@github.com:npm/cli.git", "rawSpec": "git+ssh://git@github.com:npm/cli.git", "saveSpec": "git+ssh://git@github.com/npm/cli.git", "fetchSpec": "ssh://git@github.com/npm/cli.git", "gitCommittish": null}],
["arg", "git://github.com/npm/cli.git#abc123", null, {"type": "git", "raw": "git://github.com/npm/cli.git#abc123", "rawSpec": "git://github.com/npm/cli.git#abc123", "saveSpec": "git://github.com/npm/cli.git#abc123", "fetchSpec": "git://github.com/npm/cli.git", "gitCommittish": "abc123"}],
["arg", "https://github.com/npm/cli", null, {"type": "git", "raw": "https://github.com/npm/cli", "rawSpec": "https://github.com/npm/cli", "saveSpec": "git+https://github.com/npm/cli.git", "fetchSpec": "https://github.com/npm/cli.git", "gitCommittish": null}],
["arg", "https://user:pass@github.com/npm/cli.git", null, {"type": "git", "raw": "https://user:pass@github.com/npm/cli.git", "rawSpec": "https://user:pass@github.com/npm/cli.git", "saveSpec": "git+https://user:pass@github.com/npm/cli.git", "fetchSpec": "https://user:pass@github.com/npm/cli.git", "gitCommittish": null}],
["arg", "git+https://user:tok@github.com/npm/cli.git#dev", null, {"type": "git", "raw": "git+https://user:tok@github.com/npm/cli.git#dev", "rawSpec": "git+https://user:tok@github.com/npm/cli.git#dev", "saveSpec": "git+https://user:tok@github.com/npm/cli.git#dev", "fetchSpec": "https://user:tok@github.com/npm/cli.git", "gitCommittish": "dev"}],
["arg", "http://github.com/npm/cli.git", null, {"type": "git", "raw": "http://github.com/npm/cli.git", "rawSpec": "http://github.com/npm/cli.git", "saveSpec": "git+ssh://git@github.com/npm/cli.git", "fetchSpec": "ssh://git@github.com/npm/cli.git", "gitCommittish": null}],
["arg", "git+http://github.com/npm/cli.git", null, {"type": "git", "raw": "git+http://github.com/npm/cli.git", "rawSpec": "git+http://github.com/npm/cli.git", "saveSpec": "git+http://github.com/npm/cli.git", "fetchSpec": "http://github.com/npm/cli.git", "gitCommittish": null}],
["arg", "git+ssh://git@example.com:team/repo.git#v1", null, {"type": "git", "raw": "git+ssh://git@example.com:team/repo.git#v1", "rawSpec": "git+ssh://git@example.com:team/repo.git#v1", "saveSpec": "git+ssh://git@example.com:team/repo.git#v1", "fetchSpec": "git@example.com:team/repo.git", "gitCommittish": "v1"}],
["arg", "git+ssh://git@example.com:2222/team/repo.git#v1", null, {"type": "git", "raw": "git+ssh://git@example.com:2222/team/repo.git#v1", "rawSpec": "git+ssh://git@example.com:2222/team/repo.git#v1", "saveSpec": "git+ssh://git@example.com:2222/team/repo.git#v1", "fetchSpec": "ssh://git@example.com:2222/team/repo.git", "gitCommittish": "v1"}],
["arg", "git+ssh://git@example.com/team/repo.git", null, {"type": "git", "raw": "git+ssh://git@example.com/team/repo.git", "rawSpec": "git+ssh://git@example.com/team/repo.git", "saveSpec": "git+ssh://git@example.com/team/repo.git", "fetchSpec": "ssh://git@example.com/team/repo.git", "gitCommittish": null}],
["arg", "git+https://Example.com/Team/Repo.git#Ref", null, {"type": "git", "raw": "git+https://Example.com/Team/Repo.git#Ref", "rawSpec": "git+https://Example.com/Team/Repo.git#Ref", "saveSpec": "git+https://Example.com/Team/Repo.git#Ref", "fetchSpec": "https://Example.com/Team/Repo.git", "gitCommittish": "Ref"}],
["arg", "git+file:///srv/repos/thing.git#main", null, {"type": "git", "raw": "git+file:///srv/repos/thing.git#main", "rawSpec": "git+file:///srv/repos/thing.git#main", "saveSpec": "git+file:///srv/repos/thing.git#main", "fetchSpec": "file:///srv/repos/thing.git", "gitCommittish": "main"}],
["arg", "git://gitlab.com/u/r.git", null, {"type": "git", "raw": "git://gitlab.com/u/r.git", "rawSpec": "git://gitlab.com/u/r.git", "saveSpec": "git://gitlab.com/u/r.git", "fetchSpec": "git://gitlab.com/u/r.git", "gitCommittish": null}],
["arg", "git+https://", null, {"type": "git", "raw": "git+https://", "rawSpec": "git+https://", "saveSpec": "git+https://", "fetchSpec": "https://", "gitCommittish": null}],
["arg", "https://registry.example/pkg/-/pkg-1.0.0.tgz", null, {"type": "remote", "raw": "https://registry.example/pkg/-/pkg-1.0.0.tgz", "rawSpec": "https://registry.example/pkg/-/pkg-1.0.0.tgz", "saveSpec": "https://registry.example/pkg/-/pkg-1.0.0.tgz", "fetchSpec": "https://registry.example/pkg/-/pkg-1.0.0.tgz"}],
["arg", "https://Registry.Example:443/a/../pkg.tgz", null, {"type": "remote", "raw": "https://Registry.Example:443/a/../pkg.tgz", "rawSpec": "https://Registry.Example:443/a/../pkg.tgz", "saveSpec": "https://Registry.Example:443/a/../pkg.tgz", "fetchSpec": "https://Registry.Example:443/a/../pkg.tgz"}],
["arg", "http://", null, {"error": "ERR_INVALID_URL", "message": "Invalid URL"}],
["arg", "ftp://example.com/x.tgz", null, {"error": "EUNSUPPORTEDPROTOCOL", "message": "Unsupported URL Type \"ftp:\": ftp://example.com/x.tgz"}],
["arg", "link:../x", null, {"error": "EUNSUPPORTEDPROTOCOL", "message": "Unsupported URL Type \"link:\": link:../x"}],
["arg", "x@link:../x", null, {"error": "EUNSUPPORTEDPROTOCOL", "message": "Unsupported URL Type \"link:\": link:../x"}],
["arg", "workspace:*", null, {"error": "EUNSUPPORTEDPROTOCOL", "message": "Unsupported URL Type \"workspace:\": workspace:*"}],
["arg", "x@workspace:^1", null, {"error": "EUNSUPPORTEDPROTOCOL", "message": "Unsupported URL Type \"workspace:\": workspace:^1"}],
["arg", "./local", null, {"type": "directory", "where": "/srv/app", "raw": "./local", "rawSpec": "./local", "saveSpec": "file:local", "fetchSpec": "/srv/app/local"}],
["arg", "../sibling/dir/", null, {"type": "directory", "where": "/srv/app", "raw": "../sibling/dir/", "rawSpec": "../sibling/dir/", "saveSpec": "file:../sibling/dir", "fetchSpec": "/srv/sibling/dir"}],
["arg", "/abs/path/pkg", null, {"type": "directory", "where": "/srv/app", "raw": "/abs/path/pkg", "rawSpec": "/abs/path/pkg", "saveSpec": "file:/abs/path/pkg", "fetchSpec": "/abs/path/pkg"}],
["arg", "~/pkgs/mine", null, {"type": "directory", "where": "/srv/app", "raw": "~/pkgs/mine", "rawSpec": "~/pkgs/mine", "saveSpec": "file:~/pkgs/mine", "fetchSpec": "/home/user/pkgs/mine"}],
["arg", "file:../x", null, {"type": "directory", "where": "/srv/app", "raw": "file:../x", "rawSpec": "file:../x", "saveSpec": "file:../x", "fetchSpec": "/srv/x"}],
["arg", "file:x.tgz", null, {"type": "file", "where": "/srv/app", "raw": "file:x.tgz", "rawSpec": "file:x.tgz", "saveSpec": "file:x.tgz", "fetchSpec": "/srv/app/x.tgz"}],
["arg", "file:/abs/x.tgz", null, {"type": "file", "where": "/srv/app", "raw": "file:/abs/x.tgz", "rawSpec": "file:/abs/x.tgz", "saveSpec": "file:/abs/x.tgz", "fetchSpec": "/abs/x.tgz"}],
["arg", "file://../x", null, {"type": "directory", "where": "/srv/app", "raw": "file://../x", "rawSpec": "file://../x", "saveSpec": "file:../x", "fetchSpec": "/srv/x"}],
["arg", "file:///abs/dir", null, {"type": "directory", "where": "/srv/app", "raw": "file:///abs/dir", "rawSpec": "file:///abs/dir", "saveSpec": "file:/abs/dir", "fetchSpec": "/abs/dir"}],
["arg", "file://host/share", null, {"type": "directory", "where": "/srv/app", "raw": "file://host/share", "rawSpec": "file://host/share", "saveSpec": "file:/host/share", "fetchSpec": "/host/share"}],
["arg", "file:~/thing", null, {"type": "directory", "where": "/srv/app", "raw": "file:~/thing", "rawSpec": "file:~/thing", "saveSpec": "file:~/thing", "fetchSpec": "/home/user/thing"}],
["arg", "file:.", null, {"type": "directory", "where": "/srv/app", "raw": "file:.", "rawSpec": "file:.", "saveSpec": "file:", "fetchSpec": "/srv/app"}],
["arg", "file:", null, {"type": "directory", "where": "/srv/app", "raw": "file:", "rawSpec": "file:", "saveSpec": "file:", "fetchSpec": "/srv/app"}],
["arg", "pkg.tgz", null, {"type": "file", "where": "/srv/app", "raw": "pkg.tgz", "rawSpec": "pkg.tgz", "saveSpec": "file:pkg.tgz", "fetchSpec": "/srv/app/pkg.tgz"}],
["arg", "./pkg-1.0.0.tar.gz", null, {"type": "file", "where": "/srv/app", "raw": "./pkg-1.0.0.tar.gz", "rawSpec": "./pkg-1.0.0.tar.gz", "saveSpec": "file:pkg-1.0.0.tar.gz", "fetchSpec": "/srv/app/pkg-1.0.0.tar.gz"}],
["arg", "some dir/pkg", null, {"type": "directory", "where": "/srv/app", "raw": "some dir/pkg", "rawSpec": "some dir/pkg", "saveSpec": "file:some dir/pkg", "fetchSpec": "/srv/app/some dir/pkg"}],
["arg", "x@./local", null, {"type": "directory", "where": "/srv/app", "raw": "x@./local", "name": "x", "escapedName": "x", "rawSpec": "./local", "saveSpec": "file:local", "fetchSpec": "/srv/app/local"}],
["arg", "x@file:../y#hash", null, {"type": "directory", "where": "/srv/app", "raw": "x@file:../y#hash", "name": "x", "escapedName": "x", "rawSpec": "file:../y#hash", "saveSpec": "file:../y#hash", "fetchSpec": "/srv/y#hash"}],
["arg", "@scope/x@file:../y", null, {"type": "directory", "where": "/srv/app", "raw": "@scope/x@file:../y", "name": "@scope/x", "escapedName": "@scope%2fx", "scope": "@scope", "rawSpec": "file:../y", "saveSpec": "file:../y", "fetchSpec": "/srv/y"}],
["arg", "C:\\win\\path", null, {"type": "directory", "where": "/srv/app", "raw": "C:\\win\\path", "rawSpec": "C:\\win\\path", "saveSpec": "file:C:/win/path", "fetchSpec": "/srv/app/C:\\win\\path"}],
["arg", "", null, {"type": "range", "registry": true, "raw": "", "rawSpec": "", "saveSpec": null, "fetchSpec": ""}],
["arg", "@", null, {"error": "EINVALIDTAGNAME", "message": "Invalid tag name \"@\" of package \"@\": Tags may not have any characters that encodeURIComponent encodes."}],
["arg", "@scope", null, {"error": "EINVALIDTAGNAME", "message": "Invalid tag name \"@scope\" of package \"@scope\": Tags may not have any characters that encodeURIComponent encodes."}],
["arg", "user/repo/", null, {"type": "directory", "where": "/srv/app", "raw": "user/repo/", "rawSpec": "user/repo/", "saveSpec": "file:user/repo", "fetchSpec": "/srv/app/user/repo"}],
["arg", "a/b/c", null, {"type": "directory", "where": "/srv/app", "raw": "a/b/c", "rawSpec": "a/b/c", "saveSpec": "file:a/b/c", "fetchSpec": "/srv/app/a/b/c"}],
["res", "lodash", "^4.17.21", {"type": "range", "registry": true, "raw": "lodash@^4.17.21", "name": "lodash", "escapedName": "lodash", "rawSpec": "^4.17.21", "saveSpec": null, "fetchSpec": "^4.17.21"}],
["res", "lodash", "4.17.21", {"type": "version", "registry": true, "raw": "lodash@4.17.21", "name": "lodash", "escapedName": "lodash", "rawSpec": "4.17.21", "saveSpec": null, "fetchSpec": "4.17.21"}],
["res", "lodash", "", {"type": "range", "registry": true, "raw": "lodash@", "name": "lodash", "escapedName": "lodash", "rawSpec": "", "saveSpec": null, "fetchSpec": ""}],
["res", "lodash", "*", {"type": "range", "registry": true, "raw": "lodash@*", "name": "lodash", "escapedName": "lodash", "rawSpec": "*", "saveSpec": null, "fetchSpec": "*"}],
["res", "lodash", "next", {"type": "tag", "registry": true, "raw": "lodash@next", "name": "lodash", "escapedName": "lodash", "rawSpec": "next", "saveSpec": null, "fetchSpec": "next"}],
["res", "lodash", "  latest ", {"type": "tag", "registry": true, "raw": "lodash@  latest ", "name": "lodash", "escapedName": "lodash", "rawSpec": "  latest ", "saveSpec": null, "fetchSpec": "latest"}],
["res", "lodash", "npm:lodash-es@^4", {"type": "alias", "registry": true, "raw": "lodash@npm:lodash-es@^4", "name": "lodash", "escapedName": "lodash", "rawSpec": "npm:lodash-es@^4", "saveSpec": null, "fetchSpec": null, "subSpec": {"type": "range", "registry": true, "raw": "lodash-es@^4", "name": "lodash-es", "escapedName": "lodash-es", "rawSpec": "^4", "saveSpec": null, "fetchSpec": "^4"}}],
["res", "x", "file:../x", {"type": "directory", "where": "/srv/app", "raw": "x@file:../x", "name": "x", "escapedName": "x", "rawSpec": "file:../x", "saveSpec": "file:../x", "fetchSpec": "/srv/x"}],
["res", "x", "../x", {"type": "directory", "where": "/srv/app", "raw": "x@../x", "name": "x", "escapedName": "x", "rawSpec": "../x", "saveSpec": "file:../x", "fetchSpec": "/srv/x"}],
["res", "x", "x", {"type": "range", "registry": true, "raw": "x@x", "name": "x", "escapedName": "x", "rawSpec": "x", "saveSpec": null, "fetchSpec": "x"}],
["res", "x", "sub/dir", {"type": "git", "raw": "x@sub/dir", "name": "x", "escapedName": "x", "rawSpec": "sub/dir", "saveSpec": "github:sub/dir", "fetchSpec": null, "gitCommittish": null}],
["res", "x", "./x.tgz", {"type": "file", "where": "/srv/app", "raw": "x@./x.tgz", "name": "x", "escapedName": "x", "rawSpec": "./x.tgz", "saveSpec": "file:x.tgz", "fetchSpec": "/srv/app/x.tgz"}],
["res", "x", "github:u/r", {"type": "git", "raw": "x@github:u/r", "name": "x", "escapedName": "x", "rawSpec": "github:u/r", "saveSpec": "github:u/r", "fetchSpec": null, "gitCommittish": null}],
["res", "x", "u/r#v1", {"type": "git", "raw": "x@u/r#v1", "name": "x", "escapedName": "x", "rawSpec": "u/r#v1", "saveSpec": "github:u/r#v1", "fetchSpec": null, "gitCommittish": "v1"}],
["res", "x", "https://example.com/x.tgz", {"type": "remote", "raw": "x@https://example.com/x.tgz", "name": "x", "escapedName": "x", "rawSpec": "https://example.com/x.tgz", "saveSpec": "https://example.com/x.tgz", "fetchSpec": "https://example.com/x.tgz"}],
["res", "x", "link:../x", {"error": "EUNSUPPORTEDPROTOCOL", "message": "Unsupported URL Type \"link:\": link:../x"}],
["res", "x", "workspace:*", {"error": "EUNSUPPORTEDPROTOCOL", "message": "Unsupported URL Type \"workspace:\": workspace:*"}],
["res", "BAD NAME", "1", {"error": "EINVALIDPACKAGENAME", "message": "Invalid package name \"BAD NAME\" of package \"BAD NAME@1\": name can only contain URL-friendly characters."}],
["res", "@scope/x", "~1.2", {"type": "range", "registry": true, "raw": "@scope/x@~1.2", "name": "@scope/x", "escapedName": "@scope%2fx", "scope": "@scope", "rawSpec": "~1.2", "saveSpec": null, "fetchSpec": "~1.2"}],
["res", "x", "file:", {"type": "directory", "where": "/srv/app", "raw": "x@file:", "name": "x", "escapedName": "x", "rawSpec": "file:", "saveSpec": "file:", "fetchSpec": "/srv/app"}],
["res", "x", "file:/", {"type": "directory", "where": "/srv/app", "raw": "x@file:/", "name": "x", "escapedName": "x", "rawSpec": "file:/", "saveSpec": "file:/", "fetchSpec": "/"}],
["res", "x", "file:./a//../b", {"type": "directory", "where": "/srv/app", "raw": "x@file:./a//../b", "name": "x", "escapedName": "x", "rawSpec": "file:./a//../b", "saveSpec": "file:a/b", "fetchSpec": "/srv/app/a/b"}],
["res", "x", "file:a%20b", {"type": "directory", "where": "/srv/app", "raw": "x@file:a%20b", "name": "x", "escapedName": "x", "rawSpec": "file:a%20b", "saveSpec": "file:a%20b", "fetchSpec": "/srv/app/a%20b"}],
["res", "x", "file:a b", {"type": "directory", "where": "/srv/app", "raw": "x@file:a b", "name": "x", "escapedName": "x", "rawSpec": "file:a b", "saveSpec": "file:a b", "fetchSpec": "/srv/app/a b"}],
["res", "x", "<1.0.0 || >=2", {"type": "range", "registry": true, "raw": "x@<1.0.0 || >=2", "name": "x", "escapedName": "x", "rawSpec": "<1.0.0 || >=2", "saveSpec": null, "fetchSpec": "<1.0.0 || >=2"}]
])JSON";

SpecOptions test_options() {
  SpecOptions o;
  o.where = "/srv/app";
  o.home = "/home/user";
  return o;
}

std::string opt_text(const std::optional<std::string>& v) { return v ? *v : std::string("<null>"); }
std::string json_text(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "<null>";
  return j[key].get<std::string>();
}

void check_against(const PackageSpec& got, const nlohmann::json& want) {
  CHECK(spec_type_name(got.type) == want["type"].get<std::string>());
  CHECK(got.raw == want["raw"].get<std::string>());
  CHECK(got.raw_spec == want["rawSpec"].get<std::string>());
  CHECK(got.name == want.value("name", std::string()));
  CHECK(got.escaped_name == want.value("escapedName", std::string()));
  CHECK(got.scope == want.value("scope", std::string()));
  CHECK(got.registry == want.value("registry", false));
  CHECK(opt_text(got.save_spec) == json_text(want, "saveSpec"));
  CHECK(opt_text(got.fetch_spec) == json_text(want, "fetchSpec"));
  CHECK(got.where == want.value("where", std::string()));
  CHECK(opt_text(got.git_committish) == json_text(want, "gitCommittish"));
  CHECK(opt_text(got.git_range) == json_text(want, "gitRange"));
  CHECK(opt_text(got.git_subdir) == json_text(want, "gitSubdir"));
  if (want.contains("subSpec")) {
    REQUIRE(got.sub_spec);
    check_against(*got.sub_spec, want["subSpec"]);
  } else {
    CHECK(!got.sub_spec);
  }
}

TEST_CASE("parse_spec and resolve_spec match npm-package-arg", "[manifest][spec]") {
  const auto cases = nlohmann::json::parse(kNpaCases);
  REQUIRE(cases.size() > 100);
  const SpecOptions options = test_options();
  for (const auto& c : cases) {
    const std::string mode = c[0];
    const std::string a = c[1];
    const nlohmann::json& want = c[3];
    INFO(c.dump());
    auto got =
        mode == "arg" ? parse_spec(a, options) : resolve_spec(a, c[2].get<std::string>(), options);
    if (want.contains("error")) {
      REQUIRE_FALSE(got.ok());
      const std::string code =
          want["error"].is_null() ? "EINVALIDSPEC" : want["error"].get<std::string>();
      CHECK(got.error().code == code);
      CHECK(got.error().message == want["message"].get<std::string>());
    } else {
      REQUIRE(got.ok());
      check_against(*got, want);
    }
  }
}

TEST_CASE("is_file_spec tells paths from ranges as npm-package-arg does", "[manifest][spec]") {
  for (const char* spec : {"file:x", "FILE:x", "./x", "../x", ".x", "/abs", "~/x", "c:x", "Z:/x"}) {
    INFO(spec);
    CHECK(is_file_spec(spec));
  }
  for (const char* spec : {"~1.2.3", "~ 1.2", "~", "^1.0.0", "1.x", "latest", "npm:x@1", "ab:x", "", "github:u/r"}) {
    INFO(spec);
    CHECK_FALSE(is_file_spec(spec));
  }
}

TEST_CASE("hosted git specs keep the host details", "[manifest][spec]") {
  auto spec = parse_spec("git+https://user:tok@github.com/npm/cli.git#dev", test_options());
  REQUIRE(spec.ok());
  REQUIRE(spec->hosted);
  CHECK(spec->hosted->type == GitHostType::kGitHub);
  CHECK(spec->hosted->user == "npm");
  CHECK(spec->hosted->project == "cli");
  CHECK(spec->hosted->auth == "user:tok");
  CHECK(spec->hosted->shortcut() == "github:npm/cli#dev");
  CHECK(spec->hosted->tarball() == "https://codeload.github.com/npm/cli/tar.gz/dev");

  auto gl = parse_spec("gitlab:group/sub/project#abc", test_options());
  REQUIRE(gl.ok());
  REQUIRE(gl->hosted);
  CHECK(gl->hosted->user == "group/sub");
  CHECK(gl->hosted->https() == "git+https://gitlab.com/group/sub/project.git#abc");
  CHECK(gl->hosted->sshurl({.no_git_plus = true, .no_committish = true}) ==
        "ssh://git@gitlab.com/group/sub/project.git");

  // A plain git server is a git spec but not a hosted one.
  auto plain = parse_spec("git+ssh://git@example.com:team/repo.git#v1", test_options());
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->hosted);
}

TEST_CASE("hosted_git_from_url reads the forms hosted-git-info reads", "[manifest][spec]") {
  CHECK_FALSE(hosted_git_from_url("https://example.com/u/r"));
  CHECK_FALSE(hosted_git_from_url("github.com/u/r"));
  CHECK_FALSE(hosted_git_from_url("https://github.com/u/r/blob/main/x.js"));  // not a repo URL
  auto www = hosted_git_from_url("https://www.github.com/u/r.git");
  REQUIRE(www);
  CHECK(www->representation == GitRepresentation::kHttps);
  auto scp = hosted_git_from_url("git@bitbucket.org:team/repo.git#feature/x");
  REQUIRE(scp);
  CHECK(scp->type == GitHostType::kBitbucket);
  CHECK(scp->committish == "feature/x");
  CHECK(scp->to_string() == "git+ssh://git@bitbucket.org/team/repo.git#feature/x");
  auto tree = hosted_git_from_url("https://github.com/u/r/tree/v2");
  REQUIRE(tree);
  CHECK(tree->committish == "v2");
  // A malformed escape is not a repository (decodeURIComponent throws in npm).
  CHECK_FALSE(hosted_git_from_url("github:u/r#%E0%A4%A"));
}

TEST_CASE("validate_package_name follows validate-npm-package-name", "[manifest][spec]") {
  auto ok = validate_package_name("@scope/some-pkg.js");
  CHECK(ok.valid_for_new_packages);
  CHECK(ok.valid_for_old_packages);

  auto caps = validate_package_name("JSONStream");
  CHECK_FALSE(caps.valid_for_new_packages);
  CHECK(caps.valid_for_old_packages);
  REQUIRE(caps.warnings.size() == 1);
  CHECK(caps.warnings[0] == "name can no longer contain capital letters");

  auto core = validate_package_name("http");
  CHECK(core.valid_for_old_packages);
  CHECK_FALSE(core.valid_for_new_packages);
  CHECK(core.warnings.at(0) == "http is a core module name");

  auto special = validate_package_name("@scope/it's");
  CHECK(special.valid_for_old_packages);
  CHECK(special.warnings.at(0) == "name can no longer contain special characters (\"~'!()*\")");

  CHECK(validate_package_name(std::string(215, 'a')).warnings.at(0) ==
        "name can no longer contain more than 214 characters");

  auto bad = validate_package_name(" leading");
  CHECK_FALSE(bad.valid_for_old_packages);
  CHECK(bad.errors.at(0) == "name cannot contain leading or trailing spaces");

  auto dot = validate_package_name(".hidden");
  CHECK(dot.errors.at(0) == "name cannot start with a period");
  CHECK(validate_package_name("@scope/.x").errors.at(0) == "name cannot start with a period");
  CHECK(validate_package_name("a/b").errors.at(0) ==
        "name can only contain URL-friendly characters");
  CHECK(validate_package_name("").errors.at(0) == "name length must be greater than zero");
  CHECK(validate_package_name("FAVICON.ICO").errors.at(0) ==
        "favicon.ico is not a valid package name");
}

TEST_CASE("save_spec_for saves what npm writes to package.json", "[manifest][spec]") {
  SaveOptions save;
  save.project_dir = "/srv/app";
  auto saved = [&](std::string_view arg, const std::string& version, SaveOptions o) {
    auto spec = parse_spec(arg, test_options());
    REQUIRE(spec.ok());
    return save_spec_for(*spec, version, o);
  };
  // Observed with npm 11: `npm install <arg>` resolving ms to the version given.
  CHECK(saved("ms", "2.1.3", save) == "^2.1.3");
  CHECK(saved("ms@2.0.0", "2.0.0", save) == "^2.0.0");
  CHECK(saved("ms@~2.0.0", "2.0.0", save) == "~2.0.0");
  CHECK(saved("ms@latest", "2.1.3", save) == "^2.1.3");
  CHECK(saved("ms@2", "2.1.3", save) == "^2.1.3");
  CHECK(saved("ms@>=1", "2.1.3", save) == "^2.1.3");
  CHECK(saved("ms@*", "2.1.3", save) == "^2.1.3");
  CHECK(saved("ms@=2.1.3", "2.1.3", save) == "^2.1.3");
  CHECK(saved("ms@v2.1.3", "2.1.3", save) == "^2.1.3");
  CHECK(saved("ms@2.1.x", "2.1.3", save) == "2.1.x");
  CHECK(saved("ms@^2.1.0 <2.1.3", "2.1.2", save) == "^2.1.0 <2.1.3");
  CHECK(saved("ms@1.x || 2.x", "2.1.3", save) == "^2.1.3");
  CHECK(saved("foo@npm:ms@^2", "2.1.3", save) == "npm:ms@^2.1.3");
  CHECK(saved("foo@npm:ms", "2.1.3", save) == "npm:ms@^2.1.3");
  CHECK(saved("ms@npm:ms@2.1.3", "2.1.3", save) == "^2.1.3");  // an alias to its own name is none

  SaveOptions exact = save;
  exact.save_exact = true;
  CHECK(saved("ms", "2.1.3", exact) == "2.1.3");
  CHECK(saved("ms@~2.0.0", "2.0.0", exact) == "2.0.0");
  CHECK(saved("foo@npm:ms", "2.1.3", exact) == "npm:ms@2.1.3");
  SaveOptions tilde = save;
  tilde.save_prefix = "~";
  CHECK(saved("ms", "2.1.3", tilde) == "~2.1.3");
  CHECK(saved("ms", "", save) == "*");

  // Local specs are saved relative to the project, however they were written.
  CHECK(saved("../localpkg", "1.2.3", save) == "file:../localpkg");
  CHECK(saved("/srv/localpkg", "1.2.3", save) == "file:../localpkg");
  CHECK(saved("./../localpkg/", "1.2.3", save) == "file:../localpkg");
  CHECK(saved("file:/srv/localpkg-1.2.3.tgz", "1.2.3", save) == "file:../localpkg-1.2.3.tgz");
  CHECK(saved("lp@../localpkg", "1.2.3", save) == "file:../localpkg");

  // Git: the shortcut for known hosts, the credentials kept as a git+https URL.
  CHECK(saved("npm/cli#v1", "1.0.0", save) == "github:npm/cli#v1");
  CHECK(saved("git+ssh://git@github.com/npm/cli.git", "1.0.0", save) == "github:npm/cli");
  CHECK(saved("https://user:pass@github.com/npm/cli.git", "1.0.0", save) ==
        "git+https://user:pass@github.com/npm/cli.git");
  CHECK(saved("git+ssh://git@example.com:team/repo.git#v1", "1.0.0", save) ==
        "git+ssh://git@example.com:team/repo.git#v1");
  CHECK(saved("https://registry.example/x/-/x-1.0.0.tgz", "1.0.0", save) ==
        "https://registry.example/x/-/x-1.0.0.tgz");
}

TEST_CASE("PackageSpec::to_string prints the most specific spec", "[manifest][spec]") {
  auto range = parse_spec("lodash@^4", test_options());
  REQUIRE(range.ok());
  CHECK(range->to_string() == "lodash@^4");
  auto dir = parse_spec("x@./local", test_options());
  REQUIRE(dir.ok());
  CHECK(dir->to_string() == "x@file:local");
  auto git = parse_spec("npm/cli", test_options());
  REQUIRE(git.ok());
  CHECK(git->to_string() == "github:npm/cli");
}

}  // namespace
}  // namespace lade::manifest
