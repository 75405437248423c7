#!/usr/bin/env python3
"""lade's registry client against an unreliable or unusual registry: retries, resets, truncated
and slow bodies, a registry without gzip/ETag, and auth tokens that must stay with their
registry."""

import os
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

suite = h.Suite("network")
L = h.LadeConventions

# npm's default back-off starts at 10 s; in oracle mode it is shortened so the suite stays quick.
FAST_RETRY = (["--fetch-retry-mintimeout=200", "--fetch-retry-maxtimeout=1000"]
              if L.is_npm_oracle() else [])


def app(deps, extra_files=None):
    files = {"package.json": {"name": "app", "version": "1.0.0", "dependencies": deps}}
    files.update(extra_files or {})
    return files


@suite.test
def retries_500_then_succeeds(ctx):
    reg = ctx.registry
    reg.fault(path="/leaf", kind="status", status=500, count=2)
    reg.fault(path="/chain-b/-/chain-b-1.0.0.tgz", kind="status", status=503, count=2)
    proj = ctx.project(app({"chain-a": "^1.0.0", "leaf": "^1.0.0"}))
    r = ctx.lade(L.install + FAST_RETRY, proj, timeout=150)
    h.check_exit(r, 0, "install through two 500s")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)
    h.check_equal(proj.installed_version("chain-b"), "1.0.0", "chain-b", r)
    statuses = [e["status"] for e in reg.requests(path="/leaf")]
    h.check_equal(statuses[:3], [500, 500, 200], "requests for /leaf", r)
    statuses = [e["status"] for e in reg.requests(path="/chain-b/-/chain-b-1.0.0.tgz")]
    h.check_equal(statuses[:3], [503, 503, 200], "requests for the chain-b tarball", r)


@suite.test
def retries_429_then_succeeds(ctx):
    reg = ctx.registry
    reg.fault(path="/leaf", kind="status", status=429, retry_after=1, count=1)
    proj = ctx.project(app({"leaf": "^1.0.0"}))
    r = ctx.lade(L.install + FAST_RETRY, proj, timeout=150)
    h.check_exit(r, 0, "install through a 429")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)


@suite.test
def persistent_500_fails(ctx):
    reg = ctx.registry
    reg.fault(path="/leaf", kind="status", status=500)
    proj = ctx.project(app({"leaf": "^1.0.0"}))
    r = ctx.lade(L.install + FAST_RETRY, proj, timeout=150)
    h.check_exit(r, "nonzero", "install against a registry that always fails")
    h.check_output_contains(r, "500")
    h.check_output_contains(r, "leaf")
    h.check_not_exists(proj.path("package-lock.json"), "lockfile written")


@suite.test
def connection_reset_is_retried(ctx):
    reg = ctx.registry
    reg.fault(path="/leaf", kind="reset", count=1)
    reg.fault(path="/leaf/-/leaf-1.1.0.tgz", kind="reset", count=1)
    proj = ctx.project(app({"leaf": "^1.0.0"}))
    r = ctx.lade(L.install + FAST_RETRY, proj, timeout=150)
    h.check_exit(r, 0, "install through connection resets")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)


@suite.test
def truncated_tarball_never_lands(ctx):
    reg = ctx.registry
    reg.fault(path="/leaf/-/leaf-1.1.0.tgz", kind="truncate")
    proj = ctx.project(app({"leaf": "^1.0.0", "shared": "^1.0.0"}))
    r = ctx.lade(L.install + FAST_RETRY, proj, timeout=150)
    h.check_exit(r, "nonzero", "install with a tarball that is always cut short")
    if not L.is_npm_oracle():  # npm only says ECONNRESET; lade names what it was fetching
        h.check_output_contains(r, "leaf")
    h.check_not_exists(proj.path("node_modules/leaf"),
                       "part of a truncated tarball in node_modules")


@suite.test(lade_only=True)
def truncated_tarball_once_is_retried(ctx):
    # npm gives up on a body cut short (ECONNRESET, no retry); lade retries it like any other
    # transient network error. Nothing of this is visible in the result but the exit code.
    reg = ctx.registry
    reg.fault(path="/leaf/-/leaf-1.1.0.tgz", kind="truncate", count=1)
    proj = ctx.project(app({"leaf": "^1.0.0"}))
    r = ctx.lade(L.install + FAST_RETRY, proj, timeout=150)
    h.check_exit(r, 0, "install with a tarball cut short once")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)
    with open(proj.path("node_modules/leaf/index.js")) as f:
        h.check_equal(f.read(), 'module.exports = "leaf@1.1.0";\n', "index.js content")


@suite.test
def slow_bodies_complete(ctx):
    reg = ctx.registry
    reg.fault(path="/chain-a", kind="slow", chunk=256, delay=0.2)
    reg.fault(path="/leaf/-/leaf-1.1.0.tgz", kind="slow", chunk=64, delay=0.2)
    proj = ctx.project(app({"chain-a": "^1.0.0"}))
    r = ctx.lade(L.install, proj, timeout=150)
    h.check_exit(r, 0, "install with slow bodies")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)


@suite.test
def dumb_registry_without_gzip_or_etag(ctx):
    with h.FixtureRegistry(mode="dumb") as reg:
        proj = ctx.project(app({"chain-a": "^1.0.0", "@fx/scoped-a": "^1.0.0"}))
        r = ctx.lade(L.install, proj, registry=reg)
        h.check_exit(r, 0, "install from a registry that ignores Accept and Accept-Encoding")
        h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)
        h.check_equal(proj.installed_version("@fx/scoped-b"), "1.1.0", "@fx/scoped-b", r)


@suite.test
def token_for_a_scope_registry(ctx):
    """The @private scope lives on a registry that needs a token; everything else comes from
    another registry that must never see the token."""
    with h.registries(2) as (private_reg, public_reg):
        npmrc = ("registry=%s\n@private:registry=%s\n%s" % (
            public_reg.url, private_reg.url, private_reg.npmrc_token_line()))
        proj = ctx.project(app({"@private/secret": "^1.0.0", "chain-a": "^1.0.0"},
                               {".npmrc": npmrc}))
        r = ctx.lade(L.install, proj, registry=None)
        h.check_exit(r, 0, "install with a scoped registry and its token")
        h.check_equal(proj.installed_version("@private/secret"), "1.1.0", "@private/secret", r)
        h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf from the public registry", r)
        private_log = private_reg.log()
        h.check(private_log, "no request reached the private registry", r)
        h.check(all(e["authorization"] == "Bearer " + h.PRIVATE_TOKEN for e in private_log),
                "requests to the private registry without the token: %s" %
                [(e["path"], e["authorization"]) for e in private_log], r)
        h.check(all(not e["path"].startswith("/@private") for e in public_reg.log()),
                "@private requested from the public registry", r)
        leaked = [(e["path"], e["authorization"]) for e in public_reg.log() if e["authorization"]]
        h.check_equal(leaked, [], "Authorization headers sent to the other registry", r)


@suite.test
def token_in_default_registry_is_not_sent_to_tarball_elsewhere(ctx):
    """A token for registry A must not travel with a request to B, even when A's packument
    points tarballs at B (same host, other port)."""
    with h.registries(2) as (a, b):
        npmrc = "registry=%s\n%s" % (a.url, a.npmrc_token_line("token-for-a"))
        proj = ctx.project(app({"leaf": "^1.0.0", "remote": b.tarball_url("remote-only", "1.0.0")},
                               {".npmrc": npmrc}))
        r = ctx.lade(L.install, proj, registry=None)
        h.check_exit(r, 0, "install")
        h.check(b.log(), "nothing fetched from the second registry", r)
        leaked = [(e["path"], e["authorization"]) for e in b.log() if e["authorization"]]
        h.check_equal(leaked, [], "Authorization sent to the other registry", r)
        h.check(any(e["authorization"] == "Bearer token-for-a" for e in a.log()),
                "token not sent to its own registry", r)


@suite.test
def missing_token_is_e401(ctx):
    reg = ctx.registry
    proj = ctx.project(app({"@private/secret": "^1.0.0"}))
    r = ctx.lade(L.install + FAST_RETRY, proj, timeout=150)
    h.check_exit(r, "nonzero", "install of a token-protected package without a token")
    h.check_output_contains(r, "E401")
    h.check(all(e["authorization"] is None for e in reg.log()), "sent some Authorization", r)


@suite.test(lade_only=True)
def https_registry_trusted_through_the_system_ca_folder_or_bundle(ctx):
    """Over HTTPS lade reads the system's CA folder of hashed links (a handshake then reads the
    one certificate it needs, not the whole bundle); when the folder lacks the CA, the bundle
    (SSL_CERT_FILE) is tried before giving up. `cafile` adds to whichever is used."""
    tls = h.TLS_DIR
    empty_global = ctx.sandbox.path("global-npmrc")
    with open(empty_global, "w"):
        pass  # the machine's global npmrc may name a cafile of its own

    def install(reg, ssl_cert_dir, ssl_cert_file, npmrc=None):
        shutil.rmtree(ctx.sandbox.lade_cache)  # every install asks the registry
        os.makedirs(ctx.sandbox.lade_cache)
        files = {".npmrc": npmrc} if npmrc else None
        proj = ctx.project(app({"leaf": "^1.0.0"}, files))
        env = {"SSL_CERT_DIR": os.path.join(tls, ssl_cert_dir),
               "SSL_CERT_FILE": os.path.join(tls, ssl_cert_file),
               "npm_config_globalconfig": empty_global}
        return proj, ctx.lade(L.install + FAST_RETRY, proj, registry=reg, env=env, timeout=150)

    with h.FixtureRegistry(tls=True) as reg:
        h.check(reg.url.startswith("https://127.0.0.1:"), "the registry serves HTTPS: " + reg.url)
        proj, r = install(reg, "ca-dir", "other-ca.pem")
        h.check_exit(r, 0, "install trusting the CA through the folder")
        h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)

        proj, r = install(reg, "other-ca-dir", "ca.pem")
        h.check_exit(r, 0, "install trusting the CA through the bundle, the folder lacking it")
        h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)

        proj, r = install(reg, "other-ca-dir", "other-ca.pem")
        h.check_exit(r, "nonzero", "install with the CA in neither")
        h.check_output_contains(r, "UNABLE_TO_GET_ISSUER_CERT_LOCALLY")
        h.check_not_exists(proj.path("node_modules", "leaf"), "leaf installed without trust")

        proj, r = install(reg, "other-ca-dir", "other-ca.pem", "cafile=%s\n" % h.TLS_CA)
        h.check_exit(r, 0, "install trusting the CA through cafile")
        h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)


@suite.test(lade_only=True)
def interrupted_install_takes_its_node_modules_away(ctx):
    # One tarball held back: the others are linked into node_modules while it waits.
    reg = ctx.registry
    reg.fault(path="/leaf/-/leaf-1.1.0.tgz", kind="delay", delay=60, count=1)
    proj = ctx.project(app({"leaf": "^1.0.0", "chain-a": "^1.0.0", "shared": "^1.0.0"}))
    proc = h.start_lade(ctx.sandbox, L.install, proj.root, registry=reg)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not proj.exists("node_modules/shared/package.json"):
            time.sleep(0.05)
        h.check(proj.exists("node_modules/shared/package.json"),
                "nothing was linked while the leaf tarball was held back")
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    h.check_equal(rc, -signal.SIGINT, "exit status: ended by SIGINT")
    h.check_not_exists(proj.path("node_modules"), "node_modules left half made")
    h.check(not any(n.startswith(".node_modules") for n in os.listdir(proj.root)),
            "a folder set aside was left: %s" % os.listdir(proj.root))
    h.check_not_exists(proj.path("package-lock.json"), "lockfile written")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install after the interrupted one")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)


if __name__ == "__main__":
    suite.main()
