// The browser tests' fixture: a temporary portal loaded with examples/catalog and the
// markup test dataset (tests/browser/fixtures/catalog), a real `kaifang serve` on a
// loopback port, Debian's chromium driven headless by playwright-core, axe-core.
//
// Environment:
//   KAIFANG_BIN          the built binary (required)
//   KAIFANG_SOURCE_DIR   the repository (default: two levels up from this file)
//   KAIFANG_ARTIFACTS    where screenshots go (default: $TMPDIR/kaifang-browser)
//   KAIFANG_CHROMIUM     the browser (default: /usr/bin/chromium)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

export const SOURCE_DIR = process.env.KAIFANG_SOURCE_DIR || path.resolve(here, '..', '..');
export const BIN = process.env.KAIFANG_BIN || '';
export const ARTIFACTS =
    process.env.KAIFANG_ARTIFACTS || path.join(os.tmpdir(), 'kaifang-browser');
const CHROMIUM = process.env.KAIFANG_CHROMIUM || '/usr/bin/chromium';
const SANITIZER_MARKS = ['ERROR: AddressSanitizer', 'runtime error:', 'LeakSanitizer'];

function env() {
    const e = { ...process.env };
    e.ASAN_OPTIONS ??= 'detect_leaks=1:abort_on_error=0';
    e.LSAN_OPTIONS ??=
        `suppressions=${path.join(SOURCE_DIR, 'tests', 'lsan.supp')}:print_suppressions=0`;
    e.UBSAN_OPTIONS ??= 'print_stacktrace=1:halt_on_error=1';
    for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy'])
        delete e[k];
    return e;
}

/** Runs `kaifang ARGS --portal DIR`; throws with its stderr unless it exits 0. */
export function cli(portal, ...args) {
    const p = spawnSync(BIN, [...args, '--portal', portal], { env: env(), encoding: 'utf8' });
    for (const m of SANITIZER_MARKS)
        if ((p.stderr || '').includes(m)) throw new Error(`kaifang ${args[0]}: ${p.stderr}`);
    if (p.status !== 0)
        throw new Error(`kaifang ${args.join(' ')}: exit ${p.status}\n${p.stderr}`);
    return p.stdout;
}

/** A portal directory with both catalogs loaded and a sysadmin "admin" with a token. */
export function makePortal() {
    if (!BIN) throw new Error('KAIFANG_BIN is not set: point it at the built kaifang binary');
    if (!fs.existsSync(CHROMIUM))
        throw new Error(`${CHROMIUM} is missing: run scripts/install-deps.sh`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kaifang-browser-'));
    const portal = path.join(dir, 'portal');
    cli(portal, 'init');
    cli(portal, 'load', path.join(SOURCE_DIR, 'examples', 'catalog'));
    cli(portal, 'load', path.join(here, 'fixtures', 'catalog'));
    cli(portal, 'user', 'add', 'admin', '--email', 'admin@example.org', '--sysadmin');
    const token = cli(portal, 'token', 'create', 'admin').trim();
    return { dir, portal, token };
}

/** Starts `kaifang serve` on 127.0.0.1:0 and resolves once it prints its address. */
export function serve(portal) {
    return new Promise((resolve, reject) => {
        const proc = spawn(BIN, ['serve', '--portal', portal, '--listen', '127.0.0.1:0'],
                           { env: env(), stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        let url = null;
        const timer = setTimeout(() => reject(new Error(`no ready line:\n${err}`)), 90000);
        proc.stderr.on('data', (d) => {
            err += d.toString();
            const m = /kaifang: serving (http:\/\/[^\s]+)\//.exec(err);
            if (m && !url) {
                url = m[1];
                clearTimeout(timer);
                resolve({
                    url,
                    proc,
                    stderr: () => err,
                    stop: () => new Promise((res) => {
                        proc.on('exit', (code) => res(code));
                        proc.kill('SIGTERM');
                    }),
                });
            }
        });
        proc.on('exit', (code) => {
            if (!url) reject(new Error(`kaifang serve exited ${code}:\n${err}`));
        });
    });
}

/** Debian's chromium, headless, with what this sandbox needs (no network beyond loopback). */
export function launch() {
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update',
               '--disable-sync'],
    });
}

/** Saves a full-page screenshot as ARTIFACTS/NAME.png. */
export async function shot(page, name) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Runs axe-core (WCAG 2.0/2.1 A and AA rules) on the page; returns the serious and
 *  critical violations as "rule: target" strings. axe is injected through the
 *  DevTools protocol (addScriptTag would be refused by the page's CSP). */
export async function axeViolations(page) {
    await page.evaluate(AXE_SOURCE);
    const res = await page.evaluate(() =>
        window.axe.run(document, { runOnly: { type: 'tag',
                                              values: ['wcag2a', 'wcag2aa', 'wcag21a',
                                                       'wcag21aa'] } }));
    return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
