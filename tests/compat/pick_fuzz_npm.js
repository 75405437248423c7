'use strict'
// Reference side of tests/compat/test_pick_fuzz.py: picks versions with npm's own modules.
//
//   node pick_fuzz_npm.js <npm's node_modules folder> < cases.jsonl
//
// Each input line is one case, {"id", "packument" (or "packument_text"), "spec", "opts":
// {"defaultTag", "nodeVersion", "npmVersion", "before"}}; each output line is "<id>\t<answer>", where the
// answer is "OK <version key>", "ERR <code>\t<message>", or "SKIP <type>" for a spec that is not
// a registry spec. The steps are those npm takes for a registry dependency: arborist reads the
// spec with npm-package-arg's resolve(name, spec), and pacote hands its fetchSpec to
// npm-pick-manifest with the default tag ("latest" when unset), `before`, and the running
// node's and npm's versions.
const path = require('path')
const readline = require('readline')

const modules = process.argv[2]
const npa = require(path.join(modules, 'npm-package-arg'))
const pickManifest = require(path.join(modules, 'npm-pick-manifest'))

// An error npm gives no code (such as npm-pick-manifest's "Only tag, version, and range are
// supported") is EINVALIDSPEC in lade.
const oneLine = (err) =>
  `ERR ${err.code || 'EINVALIDSPEC'}\t${String(err.message)
    // The date in "with a date before ..." is worded by the locale: not compared.
    .replace(/ with a date before .*\.$/s, ' with a date before <date>.')
    .replace(/\n/g, '\\n')}`

const answer = (c) => {
  // packument_text: the packument as JSON text (where member names may repeat).
  const packument = c.packument_text ? JSON.parse(c.packument_text) : c.packument
  const opts = c.opts || {}
  let spec
  try {
    spec = npa.resolve(packument.name, c.spec, process.cwd())
  } catch (err) {
    return oneLine(err)
  }
  if (spec.type !== 'version' && spec.type !== 'range' && spec.type !== 'tag') {
    return `SKIP ${spec.type}`
  }
  const pickOpts = {
    defaultTag: opts.defaultTag || 'latest',
    before: opts.before == null ? null : new Date(opts.before),
    nodeVersion: opts.nodeVersion || null,
    npmVersion: opts.npmVersion || null,
  }
  try {
    const mani = pickManifest(packument, spec.fetchSpec, pickOpts)
    return `OK ${mani.version}`
  } catch (err) {
    return oneLine(err)
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
const out = []
rl.on('line', (line) => {
  if (!line.trim()) {
    return
  }
  const c = JSON.parse(line)
  out.push(`${c.id}\t${answer(c)}`)
  if (out.length >= 1000) {
    process.stdout.write(out.join('\n') + '\n')
    out.length = 0
  }
})
rl.on('close', () => {
  if (out.length) {
    process.stdout.write(out.join('\n') + '\n')
  }
})
