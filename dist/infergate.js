#!/usr/bin/env -S node --max-semi-space-size=8
// infergate's bin, written by scripts/build.ts: the Node version check, then the CLI (cli.js).
var need = 24;
var major = Number(process.versions.node.split('.')[0]);
if (!(major >= need)) {
  var args = process.argv.slice(2).map(function (a) {
    return /^[\w@%+=:,./-]+$/.test(a) ? a : "'" + a.replace(/'/g, "'\\''") + "'";
  });
  process.stderr.write(
    'infergate needs Node.js ' + need + ' or newer (this is ' + process.versions.node + ', ' + process.execPath + ').\n' +
      'Install it from https://nodejs.org, or run infergate with Node ' + need + ' from npm:\n' +
      '  npx -p node@' + need + ' -- infergate' + (args.length ? ' ' + args.join(' ') : '') + '\n',
  );
  process.exit(1);
}
import('./cli.js');
