#!/usr/bin/env python3
"""Self-test of the loopback fixture registry (fixtures/registry.py): its documents, HTTP
behaviour and fault switches, and that the real npm installs from it. Does not need lade."""

import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import socket
import sys
import tarfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

suite = h.Suite("fixture registry")
CORGI = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"


def get_json(reg, path, headers=None):
    status, hdrs, body = reg.get(path, headers)
    if hdrs.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return status, hdrs, (json.loads(body) if body else None)


@suite.test
def full_packument_has_all_fields(ctx):
    reg = ctx.registry
    status, hdrs, doc = get_json(reg, "/leaf")
    h.check_equal(status, 200, "status")
    h.check_equal(sorted(doc["versions"]), ["1.0.0", "1.1.0", "2.0.0", "3.0.0"], "versions")
    h.check_equal(doc["dist-tags"], {"latest": "3.0.0"}, "dist-tags")
    for k in ("_id", "name", "time", "_rev", "license", "description"):
        h.check(k in doc, "full packument lacks %s" % k)
    h.check("created" in doc["time"] and "modified" in doc["time"], "time lacks created/modified")
    v = doc["versions"]["1.0.0"]
    h.check_equal(v["_id"], "leaf@1.0.0", "_id")
    h.check_equal(v["main"], "index.js", "main kept in full document")
    h.check_equal(v["dist"]["tarball"], reg.url + "leaf/-/leaf-1.0.0.tgz", "tarball URL")
    h.check(hdrs.get("Content-Type", "").startswith("application/json"), "content type")


@suite.test
def abbreviated_packument_keeps_only_install_fields(ctx):
    reg = ctx.registry
    _, hdrs, doc = get_json(reg, "/platform-tool", {"Accept": CORGI})
    h.check_equal(sorted(doc), ["dist-tags", "modified", "name", "versions"],
                  "corgi top-level keys")
    v = doc["versions"]["1.0.0"]
    h.check_equal(sorted(v), sorted(["name", "version", "optionalDependencies", "bin", "dist",
                                     "_hasShrinkwrap"]), "corgi version keys")
    h.check("vnd.npm.install-v1" in hdrs.get("Content-Type", ""), "corgi content type")
    _, _, doc = get_json(reg, "/has-postinstall", {"Accept": CORGI})
    h.check_equal(doc["versions"]["1.0.0"].get("hasInstallScript"), True, "hasInstallScript")
    h.check("scripts" not in doc["versions"]["1.0.0"], "corgi must not carry scripts")
    _, _, doc = get_json(reg, "/old-thing", {"Accept": CORGI})
    h.check_equal(doc["versions"]["1.1.0"].get("deprecated"),
                  "old-thing 1.1.0 is broken, use 1.0.0", "deprecated in corgi")
    _, _, doc = get_json(reg, "/@plat/tool-aix-ppc64".replace("aix-ppc64", "linux-x64"),
                         {"Accept": CORGI})
    h.check_equal(doc["versions"]["1.0.0"]["os"], ["linux"], "os in corgi")
    # Full is returned when JSON is preferred.
    _, _, doc = get_json(reg, "/leaf", {"Accept": "application/json"})
    h.check("time" in doc, "application/json must give the full document")


@suite.test
def scoped_names_both_spellings(ctx):
    reg = ctx.registry
    s1, _, d1 = get_json(reg, "/@fx%2fscoped-a")
    s2, _, d2 = get_json(reg, "/@fx/scoped-a")
    s3, _, d3 = get_json(reg, "/@fx%2Fscoped-a")
    h.check_equal([s1, s2, s3], [200, 200, 200], "statuses")
    h.check_equal(d1, d2, "packuments of both spellings")
    h.check_equal(d1, d3, "packuments of upper-case escape")
    url = d1["versions"]["1.0.0"]["dist"]["tarball"]
    h.check_equal(url, reg.url + "@fx/scoped-a/-/scoped-a-1.0.0.tgz", "scoped tarball URL")
    status, _, body = reg.get("/@fx/scoped-a/-/scoped-a-1.0.0.tgz")
    h.check_equal(status, 200, "scoped tarball status")


@suite.test
def tarballs_match_integrity_and_are_deterministic(ctx):
    reg = ctx.registry
    _, _, doc = get_json(reg, "/bin-object")
    dist = doc["versions"]["1.0.0"]["dist"]
    status, _, tgz = reg.get("/bin-object/-/bin-object-1.0.0.tgz")
    h.check_equal(status, 200, "tarball status")
    sri = "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
    h.check_equal(dist["integrity"], sri, "integrity")
    h.check_equal(dist["shasum"], hashlib.sha1(tgz).hexdigest(), "shasum")
    with tarfile.open(fileobj=io.BytesIO(tgz)) as t:
        members = {m.name: m for m in t.getmembers()}
    h.check_equal(sorted(members), ["package/bin/one.js", "package/bin/two.js",
                                    "package/index.js", "package/package.json"], "entries")
    h.check_equal(oct(members["package/bin/one.js"].mode), oct(0o755), "bin/one.js mode")
    h.check_equal(oct(members["package/bin/two.js"].mode), oct(0o644), "bin/two.js mode")
    h.check_equal(members["package/index.js"].mtime, 499162500, "mtime")
    h.check_equal(doc["versions"]["1.0.0"]["bin"],
                  {"bin-one": "bin/one.js", "bin-two": "bin/two.js"},
                  "bin normalized like npm publish")
    with h.FixtureRegistry() as other:
        _, _, tgz2 = other.get("/bin-object/-/bin-object-1.0.0.tgz")
    h.check(tgz == tgz2, "tarball bytes differ between two server starts")


@suite.test
def bundled_dependencies_are_packed(ctx):
    reg = ctx.registry
    _, _, tgz = reg.get("/bundler/-/bundler-1.0.0.tgz")
    with tarfile.open(fileobj=io.BytesIO(tgz)) as t:
        names = t.getnames()
    h.check("package/node_modules/bundled-dep/package.json" in names,
            "bundled dep missing: %s" % names)
    status, _, _ = reg.get("/bundled-dep")
    h.check_equal(status, 404, "unlisted package packument status")


@suite.test
def etag_and_304(ctx):
    reg = ctx.registry
    s, hdrs, _ = reg.get("/leaf", {"Accept-Encoding": "gzip"})
    etag = hdrs.get("ETag")
    h.check(etag, "no ETag")
    h.check_equal(hdrs.get("Content-Encoding"), "gzip", "gzip when asked")
    s, hdrs, body = reg.get("/leaf", {"If-None-Match": etag, "Accept-Encoding": "gzip"})
    h.check_equal(s, 304, "revalidation status")
    h.check_equal(body, b"", "304 body")
    s, hdrs, _ = reg.get("/leaf", {"If-None-Match": '"other"'})
    h.check_equal(s, 200, "status with a stale etag")
    _, hc, _ = reg.get("/leaf", {"Accept": CORGI})
    h.check(hc.get("ETag") != etag, "corgi and full documents need different ETags")
    s, _, _ = reg.get("/leaf", {"If-None-Match": etag, "Accept": CORGI})
    h.check_equal(s, 200, "full ETag must not validate the corgi")


@suite.test
def dumb_mode_ignores_accept_encoding_and_etag(ctx):
    reg = ctx.registry
    reg.control(mode="dumb")
    s, hdrs, body = reg.get("/leaf", {"Accept": CORGI, "Accept-Encoding": "gzip"})
    h.check_equal(s, 200, "status")
    h.check("ETag" not in hdrs, "dumb mode sent an ETag")
    h.check("Content-Encoding" not in hdrs, "dumb mode compressed")
    h.check("time" in json.loads(body), "dumb mode must send the full document")
    reg.control(mode="normal", gzip=False)
    _, hdrs, _ = reg.get("/leaf", {"Accept-Encoding": "gzip"})
    h.check("Content-Encoding" not in hdrs, "gzip switched off but compressed")


@suite.test
def token_protected_scope(ctx):
    reg = ctx.registry
    s, hdrs, _ = reg.get("/@private%2fsecret")
    h.check_equal(s, 401, "without token")
    s, _, _ = reg.get("/@private/secret/-/secret-1.0.0.tgz")
    h.check_equal(s, 401, "tarball without token")
    s, _, _ = reg.get("/@private%2fsecret", {"Authorization": "Bearer wrong"})
    h.check_equal(s, 401, "wrong token")
    s, _, _ = reg.get("/@private%2fsecret", {"Authorization": "Bearer " + h.PRIVATE_TOKEN})
    h.check_equal(s, 200, "right token")
    log = reg.requests(path="/@private/secret")
    h.check_equal([e["authorization"] for e in log],
                  [None, "Bearer wrong", "Bearer " + h.PRIVATE_TOKEN], "logged Authorization")


@suite.test
def status_faults_count_down(ctx):
    reg = ctx.registry
    reg.fault(path="/leaf", kind="status", status=500, count=2)
    reg.fault(path="/host", kind="status", status=429, retry_after=1, count=1)
    codes = [reg.get("/leaf")[0] for _ in range(3)]
    h.check_equal(codes, [500, 500, 200], "500 twice then 200")
    s, hdrs, _ = reg.get("/host")
    h.check_equal((s, hdrs.get("Retry-After")), (429, "1"), "429 with Retry-After")
    h.check_equal(reg.get("/host")[0], 200, "after the 429")
    h.check_equal([e["status"] for e in reg.requests(path="/leaf")], [500, 500, 200], "log")


def raw_get(reg, path):
    """(status, declared length, received bytes, error) over a plain socket."""
    conn = http.client.HTTPConnection("127.0.0.1", reg.port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        length = int(r.getheader("Content-Length"))
        try:
            body = r.read()
            return r.status, length, body, None
        except (http.client.IncompleteRead, ConnectionError) as e:
            return r.status, length, getattr(e, "partial", b""), e
    except (ConnectionError, http.client.RemoteDisconnected, socket.error) as e:
        return None, None, b"", e
    finally:
        conn.close()


@suite.test
def reset_truncate_slow_faults(ctx):
    reg = ctx.registry
    reg.fault(path="/leaf", kind="reset", count=1)
    status, _, _, err = raw_get(reg, "/leaf")
    h.check(status is None and err is not None,
            "reset: expected a connection error, got %s" % status)
    h.check_equal(raw_get(reg, "/leaf")[0], 200, "after the reset")
    reg.fault(path="/leaf/-/leaf-1.0.0.tgz", kind="truncate")
    status, length, body, err = raw_get(reg, "/leaf/-/leaf-1.0.0.tgz")
    h.check(status == 200 and len(body) < length and err is not None,
            "truncate: got %s bytes of %s (%s)" % (len(body), length, err))
    reg.fault(path="/host", kind="slow", chunk=200, delay=0.1)
    start = time.time()
    status, length, body, err = raw_get(reg, "/host")
    took = time.time() - start
    h.check(status == 200 and len(body) == length and took > 0.5,
            "slow: %s bytes in %.2fs" % (len(body), took))


@suite.test
def bad_integrity_switch(ctx):
    reg = ctx.registry
    reg.control(bad_integrity=["leaf@1.1.0"])
    _, _, doc = get_json(reg, "/leaf")
    _, _, tgz = reg.get("/leaf/-/leaf-1.1.0.tgz")
    good = "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
    h.check(doc["versions"]["1.1.0"]["dist"]["integrity"] != good, "integrity not corrupted")
    _, _, tgz0 = reg.get("/leaf/-/leaf-1.0.0.tgz")
    good0 = "sha512-" + base64.b64encode(hashlib.sha512(tgz0).digest()).decode()
    h.check_equal(doc["versions"]["1.0.0"]["dist"]["integrity"], good0, "other versions intact")


@suite.test
def manifest_only_versions_and_tags(ctx):
    reg = ctx.registry
    _, _, doc = get_json(reg, "/opt-broken")
    h.check("1.0.0" in doc["versions"], "manifest-only version listed")
    h.check_equal(reg.get("/opt-broken/-/opt-broken-1.0.0.tgz")[0], 404, "its tarball")
    _, _, doc = get_json(reg, "/lagging")
    h.check_equal(doc["dist-tags"], {"latest": "1.1.0"}, "explicit latest")
    _, _, doc = get_json(reg, "/pre")
    h.check_equal(doc["dist-tags"]["latest"], "1.0.0", "latest skips prereleases")
    s, _, m = get_json(reg, "/tagged/next")
    h.check_equal((s, m["version"]), (200, "2.0.0-beta.1"), "version by tag")


@suite.test
def server_exits_with_its_parent(ctx):
    import subprocess
    # A parent that starts the registry and exits at once: the registry must follow it.
    code = ("import subprocess,sys;p=subprocess.Popen([sys.executable,%r,'--parent-pid',"
            "str(__import__('os').getpid())],stdout=subprocess.PIPE,text=True);"
            "print(p.pid, p.stdout.readline().strip(), flush=True)") % h.REGISTRY_SCRIPT
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    pid = int(out.stdout.split()[0])
    deadline = time.time() + 5
    alive = True
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
            with open("/proc/%d/stat" % pid) as f:
                if f.read().split()[2] == "Z":
                    alive = False
                    break
        except (ProcessLookupError, FileNotFoundError):
            alive = False
            break
        time.sleep(0.2)
    h.check(not alive, "registry process %d outlived its parent" % pid)


NPM_SMOKE_DEPS = {
    "leaf": "^1.0.0", "chain-a": "^1.0.0", "bin-string": "^1.0.0", "bin-object": "^1.0.0",
    "@fx/scoped-a": "^1.0.0", "plugin-a": "^1.0.0", "bundler": "^1.0.0",
    "platform-tool": "^1.0.0", "licensed": "^1.0.0", "uses-leaf-2": "^1.0.0",
    "old-thing": "^1.0.0", "shrinkwrapped": "^1.0.0", "my-leaf": "npm:leaf@^2.0.0",
}


@suite.test
def real_npm_installs_from_fixtures(ctx):
    reg = ctx.registry
    proj = ctx.project({"package.json": {"name": "smoke", "version": "1.0.0",
                                         "dependencies": NPM_SMOKE_DEPS,
                                         "devDependencies": {"dev-tool": "^1.0.0"}}})
    r = ctx.npm(["install", "--package-lock-only", "--ignore-scripts"], proj)
    h.check_exit(r, 0, "npm install --package-lock-only")
    h.check(not proj.exists("node_modules"), "package-lock-only made node_modules")
    lock = proj.lockfile()
    h.check_equal(lock["lockfileVersion"], 3, "lockfileVersion")
    h.check_equal(lock["packages"]["node_modules/leaf"]["version"], "1.1.0", "leaf")
    r = ctx.npm(["ci", "--ignore-scripts"], proj)
    h.check_exit(r, 0, "npm ci")
    h.check_exit(ctx.npm(["ls", "--all"], proj), 0, "npm ls --all")
    tree = proj.tree()
    h.check_equal(tree.get("node_modules/uses-leaf-2/node_modules/leaf"), "2.0.0", "nested leaf")
    h.check_equal(tree.get("node_modules/my-leaf"), "2.0.0", "alias")
    h.check_equal(tree.get("node_modules/host"), "1.1.0", "auto-installed peer")
    h.check("node_modules/@plat/tool-linux-arm64" not in tree, "foreign platform installed")
    h.check_executable(proj.path("node_modules/.bin/bin-two"))
    # npm fetched only through the loopback registry.
    h.check(all(e["status"] in (200, 304) for e in reg.log()),
            "unexpected statuses: %s" % [(e["path"], e["status"]) for e in reg.log()
                                         if e["status"] not in (200, 304)])
    # And a fresh install (not from the lockfile) works too.
    proj2 = ctx.project({"package.json": {"name": "smoke2", "version": "1.0.0",
                                          "dependencies": NPM_SMOKE_DEPS}})
    h.check_exit(ctx.npm(["install", "--ignore-scripts"], proj2), 0, "npm install")


@suite.test
def real_npm_against_dumb_registry(ctx):
    with h.FixtureRegistry(mode="dumb") as reg:
        proj = ctx.project({"package.json": {"name": "dumb", "version": "1.0.0",
                                             "dependencies": {"chain-a": "^1.0.0"}}})
        h.check_exit(ctx.npm(["install", "--ignore-scripts"], proj, registry=reg), 0, "npm install")
        h.check_equal(proj.tree()["node_modules/leaf"], "1.1.0", "leaf")
        h.check(all(e.get("gzip") is None for e in reg.log()), "dumb registry compressed")


if __name__ == "__main__":
    suite.main()
