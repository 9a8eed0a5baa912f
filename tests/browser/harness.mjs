// Helpers for the browser test: start and stop the loopback stack of
// scripts/stack, launch Debian's Chromium through playwright-core, and keep
// a numbered screenshot of every step.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

const run = promisify(execFile);

export const sourceDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
);
export const buildDir = requireEnv('SRCONNECT_BUILD_DIR');
export const artifactsDir = requireEnv('SRCONNECT_ARTIFACTS_DIR');
export const chromiumPath =
  process.env.SRCONNECT_CHROMIUM ?? '/usr/bin/chromium';

// Every Playwright wait (clicks, navigations, text to appear) ends after
// this many milliseconds.
export const stepTimeoutMs = 15_000;

// scripts/stack waits up to 10 s for each of its six processes to listen;
// a start normally takes a few seconds.
const stackTimeoutMs = 60_000;

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// The stack.env keys the scenarios read.
const envKeys = [
  'SRCONNECT_URL',
  'FAKE_URL',
  'CONFIG',
  'DATABASE',
  'LOG_DIR',
  'CLI',
  'REFRESH',
  'START_LINK',
  'STATUS_LINK',
];

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set; run this test through run.sh`);
  }
  return path.resolve(value);
}

// Runs a program with a time limit and returns its standard output. The
// error of a failed run carries the program's standard error.
export async function runProgram(file, args, { timeoutMs = 30_000 } = {}) {
  try {
    const { stdout } = await run(file, args, {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const detail = [error.stderr, error.stdout].filter(Boolean).join('\n');
    const how = error.killed
      ? `timed out after ${timeoutMs} ms`
      : `exit status ${error.code}`;
    throw new Error(
      `${path.basename(file)} ${args.join(' ')} failed (${how})` +
        (detail ? `:\n${detail}` : ''),
    );
  }
}

// Reads stack.env with bash, because scripts/stack writes the links with
// printf %q quoting.
async function readStackEnv(file) {
  const output = await runProgram('bash', [
    '-c',
    'set -a; source "$1"; env -0',
    'read-stack-env',
    file,
  ]);
  const env = {};
  for (const entry of output.split('\0')) {
    const equals = entry.indexOf('=');
    const key = entry.slice(0, equals);
    if (envKeys.includes(key)) env[key] = entry.slice(equals + 1);
  }
  for (const key of envKeys) {
    if (!env[key]) throw new Error(`${file} has no ${key}`);
  }
  return env;
}

// One scripts/stack instance in a fresh temporary directory.
export class Stack {
  constructor(dir) {
    this.dir = dir;
    this.env = null;
  }

  // Starts the stack; `options` go to `scripts/stack start` unchanged
  // (e.g. ['--display-mode', 'POPUP']).
  static async start(options = []) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srconnect-browser-'));
    const stack = new Stack(dir);
    try {
      await runProgram(
        path.join(sourceDir, 'scripts', 'stack'),
        ['start', dir, '--build-dir', buildDir, ...options],
        { timeoutMs: stackTimeoutMs },
      );
      stack.env = await readStackEnv(path.join(dir, 'stack.env'));
    } catch (error) {
      await stack.stop();
      throw new Error(`${error.message}\nstack logs: ${dir}/logs`);
    }
    return stack;
  }

  // Stops every process of the stack, copies its logs to `logsCopyDir`
  // when given, and removes the temporary directory.
  async stop(logsCopyDir) {
    try {
      await runProgram(
        path.join(sourceDir, 'scripts', 'stack'),
        ['stop', this.dir],
        { timeoutMs: stackTimeoutMs },
      );
    } finally {
      const logs = path.join(this.dir, 'logs');
      if (logsCopyDir && fs.existsSync(logs)) {
        fs.cpSync(logs, logsCopyDir, { recursive: true });
      }
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  // Calls the fake SmartRecruiters' admin API and returns its JSON response.
  async fakeAdmin(method, apiPath, body) {
    const response = await fetch(this.env.FAKE_URL + apiPath, {
      method,
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(stepTimeoutMs),
    });
    const text = await response.text();
    if (response.status !== 200) {
      throw new Error(
        `fake admin ${method} ${apiPath} returned ${response.status}: ${text}`,
      );
    }
    return JSON.parse(text);
  }

  // Returns the account's status as JSON, as a program would read it.
  async statusJson() {
    const response = await fetch(`${this.env.STATUS_LINK}&format=json`, {
      signal: AbortSignal.timeout(stepTimeoutMs),
    });
    return response.json();
  }

  // Runs `srconnect-refresh --due` once, as the systemd timer does.
  async runRefreshDue() {
    return runProgram(this.env.REFRESH, ['--config', this.env.CONFIG, '--due']);
  }

  // Runs one SQL statement on the stack's database with the sqlite3 shell.
  async sqlite(statement) {
    return runProgram('sqlite3', [
      '-cmd',
      '.timeout 5000',
      this.env.DATABASE,
      statement,
    ]);
  }
}

// A Chromium with a fresh profile, and a numbered screenshot per step.
export class Browser {
  constructor(context, userDataDir, shotsDir) {
    this.context = context;
    this.userDataDir = userDataDir;
    this.shotsDir = shotsDir;
    this.shotCount = 0;
    this.page = context.pages()[0];
  }

  // Launches Chromium with a new profile directory. `preferences`, when
  // given, is written as the profile's Preferences file before start.
  // Playwright turns Chromium's pop-up blocker off unless `blockPopups`.
  static async launch(shotsDir, { preferences, blockPopups = false } = {}) {
    fs.rmSync(shotsDir, { recursive: true, force: true });
    fs.mkdirSync(shotsDir, { recursive: true });
    const userDataDir = fs.mkdtempSync(
      path.join(os.tmpdir(), 'srconnect-chromium-'),
    );
    if (preferences) {
      fs.mkdirSync(path.join(userDataDir, 'Default'));
      fs.writeFileSync(
        path.join(userDataDir, 'Default', 'Preferences'),
        JSON.stringify(preferences),
      );
    }
    let context;
    try {
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: chromiumPath,
        headless: true,
        args: chromiumArgs,
        ignoreDefaultArgs: blockPopups ? ['--disable-popup-blocking'] : [],
        viewport: { width: 1000, height: 700 },
        timeout: 60_000,
      });
    } catch (error) {
      fs.rmSync(userDataDir, { recursive: true, force: true });
      throw error;
    }
    context.setDefaultTimeout(stepTimeoutMs);
    context.setDefaultNavigationTimeout(stepTimeoutMs);
    const browser = new Browser(context, userDataDir, shotsDir);
    if (!browser.page) browser.page = await context.newPage();
    return browser;
  }

  // Saves a screenshot of `page` (default: the main tab) as
  // NN-name.png in this scenario's artifacts folder.
  async shot(name, page = this.page) {
    this.shotCount += 1;
    const number = String(this.shotCount).padStart(2, '0');
    await page.screenshot({
      path: path.join(this.shotsDir, `${number}-${name}.png`),
      timeout: stepTimeoutMs,
    });
  }

  async close() {
    try {
      await this.context.close();
    } finally {
      fs.rmSync(this.userDataDir, { recursive: true, force: true });
    }
  }
}

// Starts a stack and a browser, runs `body(stack, browser)`, and always
// stops both. The scenario's screenshots and the stack's logs end up in
// artifactsDir/NAME; a failing step also leaves a "failed" screenshot.
export async function withStack(name, stackOptions, body, browserOptions) {
  const scenarioDir = path.join(artifactsDir, name);
  const stack = await Stack.start(stackOptions);
  let browser;
  try {
    browser = await Browser.launch(
      scenarioDir,
      browserOptions ? browserOptions(stack) : {},
    );
    await body(stack, browser);
  } catch (error) {
    if (browser) {
      for (const page of browser.context.pages()) {
        await browser.shot('failed', page).catch(() => {});
      }
    }
    throw error;
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stack.stop(path.join(scenarioDir, 'logs'));
  }
}
