#!/usr/bin/env python3
"""Differential test of version picking: lade's resolver against npm's own npm-pick-manifest.

A seeded generator makes packuments and specs that stress the corners of npm's version picking
(prereleases, build metadata, loose and invalid version keys, huge numbers, deprecated versions,
engines.node/engines.npm the running versions fail, dist-tags pointing anywhere, `time` with
`before`, every range syntax, tags valid and invalid, the empty spec). Each case goes to two
drivers:

  * pick_fuzz_npm.js  - npm-package-arg + npm-pick-manifest from npm's own node_modules, called
                        as arborist and pacote call them;
  * pick_fuzz_lade    - lade::resolver::pick_version (built with the tests).

and both must give the same answer: the same version key, or the same error code and message.
The cases of pick_fuzz_regressions.jsonl (differences found earlier) always run too.

  pick_fuzz.py --lade BUILD/tests/pick_fuzz_lade                 # the fixed seed (ctest)
  pick_fuzz.py --lade ... --seed 7 -n 200000                      # a bigger sweep
  pick_fuzz.py --lade ... --seed 7 -n 5000 --dump cases.jsonl     # keep the cases
  pick_fuzz.py --lade ... --show 20                               # list more differences

Exit status: 0 when all agree, 1 on a difference, 77 (skipped) when node or npm is missing.

Known gaps, generated only with --gaps: lade reads these packuments differently when it parses
them (manifest::Packument), before any version is picked.
  * A "time" entry Date.parse cannot read ("garbage", true, a number of milliseconds) makes npm
    leave that version out whenever `before` is set (NaN <= before is false); lade lets it
    through. A date Date.parse reads but lade does not ("Mon, 01 Jun 2020 00:00:00 GMT") is
    ignored by lade, so that version passes.
  * A tag naming a version that is not in "versions" but has a "time" later than `before`:
    npm picks "<=" + that version again (often ENOVERSIONS or another version); lade says
    ETARGET, as the time of a version it does not list is dropped.
  * A version key that appears twice in "versions": npm has one entry, at the first place, with
    the last value; lade keeps both.
Not generated at all: Object.prototype member names ("constructor", "__proto__") as the default
tag, where npm-pick-manifest reads the member from the dist-tags object's prototype and
node-semver throws a TypeError.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REGRESSIONS = os.path.join(HERE, "pick_fuzz_regressions.jsonl")
SKIP = 77

# ---------------------------------------------------------------------------------------------
# versions

PRERELEASES = ["alpha", "alpha.1", "alpha.2", "alpha.10", "beta", "beta.1", "beta.11", "rc.0",
               "rc.1", "rc.2", "0", "1", "2", "10", "alpha.beta", "x-y", "pre", "a.b.c", "1a",
               "0-0", "dev.20200101", "9007199254740991", "9007199254740992", "9007199254740993",
               "99999999999999999999", "alpha.9007199254740993", "-", "--1"]
BAD_PRERELEASES = ["01", "alpha.01", "", "a..b", "alpha_1", "00", "1.01", "9007199254740993.01"]
BUILDS = ["build", "build.1", "001", "sha.abc123", "x-y.0"]
HUGE = ["999999999", "9007199254740991", "9007199254740992", "90071992547409919"]


def core(r, small=True):
    if r.random() < 0.04:
        return [r.choice(HUGE), str(r.randint(0, 3)), str(r.randint(0, 3))]
    hi = 3 if small else 12
    return [str(r.randint(0, hi)), str(r.randint(0, hi)), str(r.randint(0, hi))]


def version_text(r):
    """A version key as registries may hold it: mostly valid, sometimes loose or invalid."""
    parts = core(r)
    text = ".".join(parts)
    roll = r.random()
    if roll < 0.3:
        text += "-" + r.choice(PRERELEASES)
    elif roll < 0.33:
        text += "-" + r.choice(BAD_PRERELEASES)
    if r.random() < 0.05:
        text += "+" + r.choice(BUILDS)
    roll = r.random()
    if roll < 0.01:
        text = r.choice(["==", "v=", "= v", "vv", "=\t", "v "]) + text
    elif roll < 0.015:
        text = text + "-" + "x" * r.randint(240, 260)  # about node-semver's 256 limit
    elif roll < 0.03:
        text = "v" + text
    elif roll < 0.05:
        text = "=" + text
    elif roll < 0.06:
        text = " " + text
    elif roll < 0.075:
        text = ".".join(parts[: r.randint(1, 2)])  # a partial version, not a version
    elif roll < 0.085:
        text = ".".join(parts) + r.choice(["beta", "alpha1", "pre"])  # loose only
    elif roll < 0.09:
        text = r.choice(["01.2.3", "1.02.3", "1.2.3.4", "latest", "", "1.2.x", "1.2.3 ",
                         "1.2.3 || 2.0.0", "1.0.0 - 2.0.0", "^1.2.3", "1.2.3\u00a0", "\ufeff1.2.3",
                         "1.2.3-\u00e9", "1.2.3 x", "*", "1.2.3.tgz", "1.2.3/x", "a/b"])
    elif roll < 0.1:
        text = junk_spec(r, [])
    return text


DEPRECATED = ["this version is deprecated", "", True, False, 0, 1, None, {}, [], "x"]
NODE_RANGES = [">=99", ">=4", "^20.0.0", "<20", ">=20.0.0-0", ">= 18 < 21", "20.x", "*", "",
               "junk", ">=21.0.0-0", "^18 || ^20", "~20.20.2", ">20.20.2", "<=20.20.2"]
NPM_RANGES = [">=99", ">=7", "^11.0.0", "<11", ">=11.19.1", "11.x", "", "junk", "^10 || ^11"]


def engine_range(r, parts):
    comps = []
    for _ in range(r.choice([1, 1, 2])):
        comps.append(r.choice(["^", "~", ">", ">=", "<", "<=", "", "=", "~>", "v"]) +
                     r.choice(["", "", " "]) + r.choice(parts) + r.choice(["", "", ".x", ".*"]))
    text = " ".join(comps)
    if r.random() < 0.2:
        text += " || " + r.choice(parts)
    if r.random() < 0.1:
        text = r.choice(parts) + " - " + r.choice(parts)
    return text


def engines(r):
    roll = r.random()
    if roll < 0.02:
        return r.choice(["node >= 4", None, [], True])
    e = {}
    if r.random() < 0.03:
        e["node"] = junk_spec(r, ["20.20.2", "v20", "20"])
    elif r.random() < 0.15:
        e["node"] = engine_range(r, ["18", "20", "21", "22", "20.20", "20.20.2", "20.20.3",
                                     "20.20.2-0", "20.20.2-nightly", "21.0.0-pre"])
    elif r.random() < 0.8:
        e["node"] = r.choice(NODE_RANGES) if r.random() < 0.93 else r.choice([8, True, [">=4"], {}, 0, None, False])
    if r.random() < 0.4:
        e["npm"] = r.choice(NPM_RANGES) if r.random() < 0.9 else r.choice([7, True, 0, None, False])
    return e


def iso(ms):
    import datetime
    d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


T0 = 1420070400000  # 2015-01-01
T1 = 1735689600000  # 2025-01-01


def packument(r, name, gaps):
    count = r.choice([0, 1, 2, 3, 5, 8, 12, 20, 60]) if r.random() < 0.97 else 0
    keys = []
    for _ in range(count):
        k = version_text(r)
        if k not in keys:
            keys.append(k)
    if keys and r.random() < 0.1:
        # Keys of equal precedence: the first in document order wins among them.
        base = ".".join(core(r))
        for k in r.sample([base, "v" + base, "=" + base, base + "+b1", base + "+b2", " " + base,
                           base + "+b1 "], r.randint(2, 4)):
            if k not in keys:
                keys.insert(r.randint(0, len(keys)), k)
    deprecate_all = r.random() < 0.1
    engine_rate = r.choice([0, 0.2, 0.6, 1.0])
    versions = {}
    for k in keys:
        m = {"name": name, "version": k, "dist": {"tarball": "%s-%s.tgz" % (name, k.strip())}}
        if deprecate_all or r.random() < 0.2:
            m["deprecated"] = r.choice(DEPRECATED) if not deprecate_all else "old"
        if r.random() < engine_rate:
            m["engines"] = engines(r)
        versions[k] = m
    doc = {"name": name}
    has_versions = r.random() < 0.98
    if has_versions:
        doc["versions"] = versions
    tags = {}
    roll = r.random()
    if keys and roll < 0.8:
        tags["latest"] = r.choice(keys)
    elif roll < 0.85:
        tags["latest"] = version_text(r)  # most likely missing
    elif roll < 0.87:
        tags["latest"] = ""
    for t in ("next", "beta", "1", "1.x", "latest-1", "v1.x.y"):
        if keys and r.random() < (0.3 if t in ("next", "beta") else 0.05):
            tags[t] = r.choice(keys)
    if r.random() < 0.97:
        doc["dist-tags"] = tags
    before = None
    # Without "versions", times name versions that are not there: a gap (see --gaps).
    if r.random() < 0.35 and (has_versions or gaps):
        times = {}
        stamps = {}
        for k in keys:
            if r.random() < 0.9:
                ms = r.randint(T0, T1)
                stamps[k] = ms
                times[k] = iso(ms)
            if gaps and r.random() < 0.05:
                times[k] = r.choice(["garbage", "2020-01-01", "2020-06-01T00:00:00",
                                     "Mon, 01 Jun 2020 00:00:00 GMT", ""])
        if r.random() < 0.5:
            times["created"] = iso(T0)
            times["modified"] = iso(T1)
        doc["time"] = times
        roll = r.random()
        if roll < 0.7 and stamps:
            before = r.choice(list(stamps.values())) + r.choice([0, 0, -1, 1, 86400000, -86400000])
        elif roll < 0.85:
            before = r.randint(T0, T1)
    elif r.random() < 0.1:
        before = r.randint(T0, T1)  # `before` without times: nothing is left out
    return doc, keys, before


# ---------------------------------------------------------------------------------------------
# specs

def partial(r, keys):
    """A version-ish text for a range, often taken from the packument's own versions."""
    if keys and r.random() < 0.6:
        k = r.choice(keys).strip().lstrip("v=")
        if r.random() < 0.3:
            k = k.split("+")[0]
        return k
    parts = core(r)
    n = r.choice([1, 2, 3, 3, 3])
    parts = parts[:n]
    if r.random() < 0.05:
        parts[r.randrange(n)] = r.choice(HUGE + ["999999999999999999999", "1e3", "0000"])
    if r.random() < 0.2:
        parts[-1] = r.choice(["x", "X", "*"])
    text = ".".join(parts)
    if n == 3 and r.random() < 0.25:
        text += "-" + r.choice(PRERELEASES)
    if r.random() < 0.03:
        text += "+" + r.choice(BUILDS)
    return text


OPS = ["^", "~", "~>", ">", ">=", "<", "<=", "=", "", "", "v", "=v"]


def comparator(r, keys):
    op = r.choice(OPS)
    space = r.choice(["", "", "", " ", "  "]) if op else ""
    return op + space + partial(r, keys)


def range_spec(r, keys):
    roll = r.random()
    if roll < 0.08:
        return r.choice(["*", "x", "X", "", "latest", ">=0.0.0", ">=0.0.0-0", "<1.0.0-0", "^0", "^0.0",
                         "^0.0.1", "~0", "0.x", "1.x || >=2.5.0 || 5.0.0 - 7.2.3", ">1 <1",
                         "*-0", "^1.2.3-rc.0", "~1.2.3 foo", ">= 1.2", "^ 1.2", ">=1.2.3 <2.0.0-0",
                         "^1.2.3+build", ">=1.2.3+b <2", "<1.2.3-0", ">1.2.3-alpha <1.2.3",
                         "~1.2.3-beta.2", "^0.0.3-x", "^0.0.x", "^0.x", "~0.0", "1.2.x - 2.x",
                         "1.2.3-rc.1 - 1.2.4-beta", "1.2.3beta", "~1.2.3beta", "==1.2.3",
                         "v=1.2.3", ">=v1.2.3", "~v1", "^v1.2", "<=1.2.3-rc.1", ">=1.2.3-0",
                         "X.X.X", "1.X", "x.1.2", "1.2.3 || 2", "=*", ">*", "<*", ">=*",
                         "^*", "~*", "1.2.3 - *", "* - 1.2.3", "> =1.2.3", "~ >1.2.3"])
    if roll < 0.2:
        return partial(r, keys) + r.choice([" - ", " -  ", "  - "]) + partial(r, keys)
    sets = []
    for _ in range(r.choice([1, 1, 1, 2, 3])):
        comps = [comparator(r, keys) for _ in range(r.choice([1, 1, 2, 2, 3]))]
        sets.append(r.choice([" ", "  ", "\t", ", "]).join(comps) if r.random() < 0.03
                    else " ".join(comps))
    spec = r.choice([" || ", "||", "  ||  ", " | ", " || "]).join(sets)
    if r.random() < 0.04:
        spec = r.choice([" ", "\t", "\u00a0", "\n"]) + spec + r.choice([" ", "", "\u3000"])
    if r.random() < 0.03:
        spec += r.choice([" foo", " garbage", "junk", " 1.2.3.4", " ||", " -"])
    return spec


def exact_spec(r, keys):
    if keys and r.random() < 0.75:
        k = r.choice(keys)
        roll = r.random()
        if roll < 0.5:
            return k
        core_text = k.strip().lstrip("v=")
        return r.choice(["=", "v", "=v", " ", "= ", "v ", "==", "vv", "v=", "\t"]) + core_text + \
            r.choice(["", "", "+build", " ", "+001", "-0"])
    return ".".join(core(r)) + r.choice(["", "-alpha.1", "+b", "-rc.0"])


TAGS = ["latest", "next", "beta", "nope", "Latest", "bad tag", "tag%", "tag/slash", "tag@x",
        "v", "~", "*.*", "(x)", "it's", "a!", "latest ", " latest", "1.2.tgz", "caf\u00e9", "_",
        "file:x", "npm:x@1", "x^", "^", "<", "||", "LATEST", "latest-1", "1.x-beta",
        "next.1", "@", "v1.x.y", "1.2.3.4", "-", "--", "1.2.3-", "=", "~>", "a b c",
        "constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]


JUNK = ["0", "1", "2", "12", "00", "01", ".", ".", "x", "X", "*", "^", "~", ">", "<", "=", "-",
        "-", "|", "||", " ", " ", "  ", "\t", "v", "+", "a", "beta", "rc", "0-0", "1.2.3", "1.2",
        "~>", ">=", "<=", ",", "&&", "_", "\u00a0", "9007199254740992"]


def junk_spec(r, keys):
    """Token soup: node-semver's parser on text no one writes on purpose."""
    tokens = [r.choice(JUNK) for _ in range(r.randint(1, 9))]
    if keys and r.random() < 0.5:
        tokens.insert(r.randint(0, len(tokens)), r.choice(keys))
    return "".join(tokens)


def spec_for(r, keys):
    roll = r.random()
    if roll < 0.12:
        return junk_spec(r, keys)
    roll = r.random()
    if roll < 0.04:
        return r.choice(["", " ", "*"])
    if roll < 0.25:
        return exact_spec(r, keys)
    if roll < 0.85:
        return range_spec(r, keys)
    return r.choice(TAGS)


def options(r, before):
    o = {"defaultTag": "latest", "nodeVersion": "v20.20.2", "npmVersion": "11.19.1", "before": before}
    roll = r.random()
    if roll < 0.1:
        o["defaultTag"] = r.choice(["", "next", "beta", "nope"])
    elif roll < 0.12:
        # (Not names of Object.prototype members, such as "constructor": npm-pick-manifest reads
        # them from the dist-tags object's prototype and node-semver throws a TypeError.)
        o["defaultTag"] = r.choice(["1.x", "*", "bad tag", "1.0.0", "x.tgz", ".next"])
    roll = r.random()
    if roll < 0.1:
        o["nodeVersion"] = r.choice(["", "v18.0.0", "v21.0.0-pre", "v99.0.0", "20.20.2",
                                     "v20.20.2-nightly2024", "v22.0.0", "v20.20.3", "v20",
                                     "20.20", "junk", " v20.20.2 ", "=v20.20.2", "v20.20.2+b"])
    if r.random() < 0.05:
        o["npmVersion"] = r.choice(["", "10.0.0", "12.0.0-pre.1", "11", "v11.19.1", "junk"])
    return o


def with_duplicates(r, doc, keys, gaps):
    """The packument as JSON text in which a member name repeats, in "dist-tags", "time" or
    (with --gaps) "versions": JSON.parse keeps a name where it first appears, with the value it
    last has."""
    targets = [t for t in ("dist-tags", "time") + (("versions",) if gaps else ())
               if isinstance(doc.get(t), dict)]
    extra = {}
    if keys and targets:
        target = r.choice(targets)
        k = r.choice(keys)
        if target == "versions":
            m = dict(doc["versions"][k])
            if "deprecated" in m:
                del m["deprecated"]
            else:
                m["deprecated"] = "dup"
            if r.random() < 0.5:
                m["engines"] = {"node": r.choice([">=99", "*"])}
            extra[target] = [(k, m)]
        elif target == "dist-tags":
            extra[target] = [(r.choice(["latest", "next"]), k)]
        else:
            extra[target] = [(k, iso(r.randint(T0, T1)))]

    def obj(pairs):
        return "{" + ",".join(json.dumps(k) + ":" + v for k, v in pairs) + "}"

    members = []
    for key, value in doc.items():
        if key in extra:
            pairs = [(k, json.dumps(v)) for k, v in value.items()]
            for k, v in extra[key]:
                pairs.insert(r.randint(0, len(pairs)), (k, json.dumps(v)))
            members.append((key, obj(pairs)))
        else:
            members.append((key, json.dumps(value)))
    return obj(members)


def generate(seed, n, gaps=False):
    r = random.Random(seed)
    cases = []
    for i in range(n):
        name = r.choice(["pkg", "@scope/pkg", "a-b"])
        doc, keys, before = packument(r, name, gaps)
        case = {"id": i, "packument": doc, "spec": spec_for(r, keys), "opts": options(r, before)}
        if r.random() < 0.03:
            case["packument"] = {"name": name}
            case["packument_text"] = with_duplicates(r, doc, keys, gaps)
        cases.append(case)
    return cases


# ---------------------------------------------------------------------------------------------
# running

def npm_modules():
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        return None
    try:
        root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, timeout=60,
                              check=True).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return None
    modules = os.path.join(root, "npm", "node_modules")
    if not os.path.isdir(os.path.join(modules, "npm-pick-manifest")):
        return None
    return modules


def run_driver(argv, lines):
    # Dates without a zone are local time to Date.parse: both sides run in UTC.
    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    proc = subprocess.run(argv, input="".join(lines), capture_output=True, text=True, env=env,
                          encoding="utf-8")
    if proc.returncode != 0:
        raise SystemExit("%s failed (exit %d):\n%s" % (argv[0], proc.returncode, proc.stderr[-4000:]))
    answers = {}
    for line in proc.stdout.splitlines():
        case_id, _, answer = line.partition("\t")
        answers[case_id] = answer
    return answers


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lade", required=True, help="the pick_fuzz_lade driver")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("-n", type=int, default=4000, help="generated cases (0: regressions only)")
    ap.add_argument("--gaps", action="store_true",
                    help="also generate what lade is known to read differently (see the docs)")
    ap.add_argument("--show", type=int, default=5, help="differences listed in full")
    ap.add_argument("--dump", help="write the cases (JSON lines) to this file")
    ap.add_argument("--diffs", help="write the differing cases, with both answers, to this file")
    args = ap.parse_args()

    modules = npm_modules()
    if modules is None:
        print("SKIP: node or npm (with its bundled npm-pick-manifest) is not installed")
        return SKIP

    cases = []
    with open(REGRESSIONS, encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                c = json.loads(line)
                c["id"] = "r%d" % len(cases)
                cases.append(c)
    regressions = len(cases)
    cases += generate(args.seed, args.n, args.gaps)
    lines = [json.dumps(c) + "\n" for c in cases]
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as f:
            f.writelines(lines)

    npm = run_driver(["node", os.path.join(HERE, "pick_fuzz_npm.js"), modules], lines)
    lade = run_driver([args.lade], lines)

    differ = []
    skipped = 0
    for c, line in zip(cases, lines):
        key = str(c["id"])
        want = npm.get(key, "<no answer>")
        if want.startswith("SKIP"):
            skipped += 1
            continue
        got = lade.get(key, "<no answer>")
        if want != got:
            differ.append((line.rstrip("\n"), want, got))
    print("%d cases (%d regressions, seed %d, n %d): %d compared, %d not registry specs, "
          "%d differ" % (len(cases), regressions, args.seed, args.n, len(cases) - skipped, skipped,
                         len(differ)))
    if args.diffs:
        with open(args.diffs, "w", encoding="utf-8") as f:
            for line, want, got in differ:
                f.write(json.dumps({"case": json.loads(line), "npm": want, "lade": got}) + "\n")
    for line, want, got in differ[: args.show]:
        print("\ncase: %s\n  npm:  %s\n  lade: %s" % (line, want, got))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
