// Uses every dependency lade installed, so a broken install fails loudly.
const chalk = require('chalk');
const { Command } = require('commander');
const semver = require('semver');

const program = new Command();
program.name('lade-demo').option('--range <range>', 'a semver range', '^1.2.0');
program.parse(['node', 'lade-demo']);
const range = program.opts().range;
const picked = semver.maxSatisfying(['1.1.0', '1.2.3', '1.9.0', '2.0.0'], range);
console.log(chalk.green(`lade demo: maxSatisfying(${range}) = ${picked}`));
