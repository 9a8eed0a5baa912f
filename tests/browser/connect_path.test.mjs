// The customer's connect path in headless Chromium: Company Settings,
// Reintegrate SmartRecruiters, the fake SmartRecruiters' sign-in and Partner
// Apps pages, the consent page, and back. Each scenario starts its own
// stack (scripts/stack) and browser profile, and keeps a screenshot of
// every step under the artifacts folder.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { withStack } from './harness.mjs';

const company = 'ACME-1';
const admin = 'Alice Admin';
const appName = 'GoodTime Hire';

// Time limit of one scenario, which starts a stack and a browser and walks
// up to twenty pages. Six scenarios stay below the 600 s CTest timeout.
const scenarioTimeoutMs = 90_000;

function consentEndpoint(stack) {
  return `${stack.env.SRCONNECT_URL}/smartrecruiters/consent`;
}

// Opens the demo's Company Settings page.
async function openSettings(stack, browser) {
  const { page } = browser;
  await page.goto(`${stack.env.SRCONNECT_URL}/settings.html`);
  await page.getByRole('heading', { name: 'Company Settings' }).waitFor();
  await browser.shot('company-settings');
}

// Clicks "Reintegrate SmartRecruiters" on the current page and waits for
// the fake SmartRecruiters to show its sign-in form or, with a session
// already open, the Partner Apps page.
async function clickReintegrate(stack, browser) {
  const { page } = browser;
  await page.getByRole('link', { name: 'Reintegrate SmartRecruiters' }).click();
  await page.waitForURL(`${stack.env.FAKE_URL}/partner-apps`);
  await page
    .getByRole('heading', { name: /Sign in to SmartRecruiters|Partner Apps/ })
    .waitFor();
}

async function signIn(browser, companyId, user) {
  const { page } = browser;
  await page
    .getByRole('heading', { name: 'Sign in to SmartRecruiters' })
    .waitFor();
  const form = page.locator('form', {
    has: page.locator(`input[name="company"][value="${companyId}"]`),
  });
  await form.locator('select[name="user"]').selectOption(user);
  await browser.shot('smartrecruiters-sign-in');
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Partner Apps' }).waitFor();
}

// Clicks Connect on the Partner Apps page and waits for srconnect's
// consent page (redirect display mode).
async function clickConnect(stack, browser) {
  const { page } = browser;
  await page.getByRole('heading', { name: 'Partner Apps' }).waitFor();
  await page.getByText('Not connected').waitFor();
  await browser.shot('partner-apps');
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await page.waitForURL((url) => url.href.startsWith(consentEndpoint(stack)));
}

// Checks the consent page: the requested permissions and the button.
async function checkConsentPage(browser, companyId) {
  const { page } = browser;
  await page
    .getByRole('heading', {
      name: `Allow ${appName} to access SmartRecruiters`,
    })
    .waitFor();
  await page.locator('ul.scopes li', { hasText: 'interviews_write' }).waitFor();
  await page.getByText(`SmartRecruiters company ${companyId}`).waitFor();
  await page.getByRole('button', { name: 'Allow and continue' }).waitFor();
  await browser.shot('consent');
}

// Clicks "Allow and continue" and returns the response to the form POST.
async function clickAllow(stack, page) {
  const [response] = await Promise.all([
    page.waitForResponse(
      (candidate) =>
        candidate.url() === consentEndpoint(stack) &&
        candidate.request().method() === 'POST',
    ),
    page.getByRole('button', { name: 'Allow and continue' }).click(),
  ]);
  return response;
}

// Waits for the fake SmartRecruiters' return page to say the app is
// connected.
async function waitForConnectedInSmartRecruiters(stack, browser) {
  const { page } = browser;
  await page.waitForURL((url) =>
    url.href.startsWith(`${stack.env.FAKE_URL}/partner-apps/return`),
  );
  await page.getByText(`${appName} is connected`).first().waitFor();
  await browser.shot('smartrecruiters-connected');
}

// Opens the status page from Company Settings and checks that it shows
// the account connected to `companyId`.
async function checkStatusConnected(stack, browser, companyId) {
  const { page } = browser;
  await page.goto(`${stack.env.SRCONNECT_URL}/settings.html`);
  await page.getByRole('link', { name: 'Connection status' }).click();
  await page
    .getByRole('heading', { name: `${appName} is connected` })
    .waitFor();
  await page.getByRole('cell', { name: companyId, exact: true }).waitFor();
  await browser.shot('status-connected');

  const status = await stack.statusJson();
  assert.equal(status.state, 'connected');
  assert.equal(status.company_id, companyId);
}

// Walks the whole path from Company Settings to "connected".
async function walkToConnected(stack, browser) {
  await openSettings(stack, browser);
  await clickReintegrate(stack, browser);
  await signIn(browser, company, admin);
  await clickConnect(stack, browser);
  await checkConsentPage(browser, company);
  const allowed = await clickAllow(stack, browser.page);
  assert.equal(allowed.status(), 302);
  await waitForConnectedInSmartRecruiters(stack, browser);
  await checkStatusConnected(stack, browser, company);
}

async function setupCalls(stack, companyId) {
  const state = await stack.fakeAdmin('GET', '/fake-admin/state');
  return state.setup_calls[companyId] ?? 0;
}

test('full path ends connected', { timeout: scenarioTimeoutMs }, async () => {
  await withStack('1-connect', [], async (stack, browser) => {
    const { page } = browser;
    await openSettings(stack, browser);
    await clickReintegrate(stack, browser);
    await signIn(browser, company, admin);
    await clickConnect(stack, browser);

    const consentUrl = new URL(page.url());
    assert.equal(consentUrl.searchParams.get('companyId'), company);
    const redirect = consentUrl.searchParams.get('redirect');
    assert.ok(
      redirect?.startsWith(`${stack.env.FAKE_URL}/partner-apps/return`),
      `consent URL has no redirect back to SmartRecruiters: ${consentUrl}`,
    );
    await checkConsentPage(browser, company);

    const allowed = await clickAllow(stack, page);
    assert.equal(allowed.status(), 302);
    assert.equal(allowed.headers().location, redirect);
    await waitForConnectedInSmartRecruiters(stack, browser);
    await checkStatusConnected(stack, browser, company);
    assert.equal(await setupCalls(stack, company), 1);
  });
});

test('refused setup, then retry', { timeout: scenarioTimeoutMs }, async () => {
  await withStack('2-setup-refused', [], async (stack, browser) => {
    const { page } = browser;
    await openSettings(stack, browser);
    await clickReintegrate(stack, browser);
    await signIn(browser, company, admin);
    await clickConnect(stack, browser);
    await checkConsentPage(browser, company);

    // SmartRecruiters returns 403 when the company's consent is missing or
    // the user lacks the rights.
    await stack.fakeAdmin('POST', '/fake-admin/faults', {
      endpoint: 'setup',
      status: 403,
      count: 1,
    });
    const refused = await clickAllow(stack, page);
    assert.equal(refused.status(), 403);
    await page
      .getByRole('heading', {
        name: 'SmartRecruiters did not allow the connection',
      })
      .waitFor();
    await page.getByText('Admin (or Super Admin)').waitFor();
    await page.getByText('retry from Company Settings').waitFor();
    await browser.shot('setup-refused');
    assert.equal((await stack.statusJson()).state, 'pending');

    // The error page links back to Company Settings, where the admin
    // starts again. The fake keeps the SmartRecruiters session.
    await page.getByRole('link', { name: 'Company Settings' }).click();
    await page.getByRole('heading', { name: 'Company Settings' }).waitFor();
    await clickReintegrate(stack, browser);
    await clickConnect(stack, browser);
    await checkConsentPage(browser, company);
    const allowed = await clickAllow(stack, page);
    assert.equal(allowed.status(), 302);
    await waitForConnectedInSmartRecruiters(stack, browser);
    await checkStatusConnected(stack, browser, company);
    assert.equal(await setupCalls(stack, company), 2);
  });
});

test(
  'blocked cookies get a clear page',
  { timeout: scenarioTimeoutMs },
  async () => {
    // Chromium's per-site cookie setting (chrome://settings/content/cookies,
    // "Not allowed to use cookies") for srconnect's origin only, so that the
    // fake SmartRecruiters' session still works.
    const blockSrconnectCookies = (stack) => ({
      preferences: {
        profile: {
          content_settings: {
            exceptions: {
              cookies: { [`${stack.env.SRCONNECT_URL},*`]: { setting: 2 } },
            },
          },
        },
      },
    });
    await withStack(
      '3-cookies-blocked',
      [],
      async (stack, browser) => {
        const { page } = browser;
        const srconnectRequests = [];
        browser.context.on('request', (request) => {
          const url = new URL(request.url());
          if (url.origin === stack.env.SRCONNECT_URL) {
            srconnectRequests.push(url.pathname);
          }
        });

        await openSettings(stack, browser);
        await clickReintegrate(stack, browser);
        const cookies = await browser.context.cookies(stack.env.SRCONNECT_URL);
        assert.deepEqual(
          cookies.map((cookie) => cookie.name),
          [],
          'Chromium stored a cookie for srconnect although cookies are blocked',
        );
        await signIn(browser, company, admin);

        const [consent] = await Promise.all([
          page.waitForResponse((response) =>
            response.url().startsWith(consentEndpoint(stack)),
          ),
          clickConnect(stack, browser),
        ]);
        assert.equal(consent.status(), 400);
        await page
          .getByRole('heading', {
            name: 'Your browser did not send the connection cookie',
          })
          .waitFor();
        await page.getByText('Allow cookies for this site').waitFor();
        await browser.shot('cookies-blocked');

        // A redirect loop would keep requesting start or consent.
        await page.waitForTimeout(1_000);
        assert.ok(page.url().startsWith(consentEndpoint(stack)));
        const count = (name) =>
          srconnectRequests.filter((p) => p === `/smartrecruiters/${name}`)
            .length;
        assert.equal(count('start'), 1);
        assert.equal(count('consent'), 1);
        assert.equal(await setupCalls(stack, company), 0);
      },
      blockSrconnectCookies,
    );
  },
);

test(
  'pop-up mode ends on close page',
  { timeout: scenarioTimeoutMs },
  async () => {
    await withStack(
      '4-popup',
      ['--display-mode', 'POPUP'],
      async (stack, browser) => {
        const { page } = browser;
        await openSettings(stack, browser);
        await clickReintegrate(stack, browser);
        await signIn(browser, company, admin);
        await page.getByText('Not connected').waitFor();
        await browser.shot('partner-apps');

        // The fake's Connect page opens the consent URL with window.open.
        const [popup] = await Promise.all([
          page.waitForEvent('popup'),
          page.getByRole('button', { name: 'Connect', exact: true }).click(),
        ]);
        await page
          .getByRole('heading', { name: `Connecting ${appName}` })
          .waitFor();
        await popup.waitForLoadState();
        const consentUrl = new URL(popup.url());
        assert.equal(
          `${consentUrl.origin}${consentUrl.pathname}`,
          consentEndpoint(stack),
        );
        assert.equal(consentUrl.searchParams.get('companyId'), company);
        assert.equal(consentUrl.searchParams.has('redirect'), false);
        await browser.shot('smartrecruiters-waiting');

        await popup
          .getByRole('heading', {
            name: `Allow ${appName} to access SmartRecruiters`,
          })
          .waitFor();
        await popup
          .locator('ul.scopes li', { hasText: 'interviews_write' })
          .waitFor();
        await browser.shot('popup-consent', popup);
        const allowed = await clickAllow(stack, popup);
        assert.equal(allowed.status(), 200);
        await popup
          .getByRole('heading', { name: `${appName} is connected` })
          .waitFor();
        await popup.getByText('you can close this window').waitFor();
        await browser.shot('popup-connected', popup);
        await popup.close();

        await page
          .getByRole('link', { name: 'Check the connection status' })
          .click();
        await waitForConnectedInSmartRecruiters(stack, browser);
        await checkStatusConnected(stack, browser, company);
      },
    );
  },
);

test(
  'blocked pop-up falls back to link',
  { timeout: scenarioTimeoutMs },
  async () => {
    await withStack(
      '5-popup-blocked',
      ['--display-mode', 'POPUP'],
      async (stack, browser) => {
        const { page } = browser;
        await openSettings(stack, browser);
        await clickReintegrate(stack, browser);
        await signIn(browser, company, admin);
        await page.getByText('Not connected').waitFor();
        await browser.shot('partner-apps');

        // The fake opens the window from a script after a page load, which
        // Chromium's pop-up blocker stops because no user gesture started it.
        const popups = [];
        page.on('popup', (popup) => popups.push(popup));
        await page
          .getByRole('button', { name: 'Connect', exact: true })
          .click();
        await page
          .getByRole('heading', { name: `Connecting ${appName}` })
          .waitFor();
        await page.waitForLoadState('load');
        await page.waitForTimeout(1_000);
        assert.equal(popups.length, 0, 'Chromium did not block the pop-up');
        await browser.shot('smartrecruiters-waiting');

        // A click is a user gesture, so the link opens the window.
        const [popup] = await Promise.all([
          page.waitForEvent('popup'),
          page.getByRole('link', { name: `Open ${appName}` }).click(),
        ]);
        await popup
          .getByRole('heading', {
            name: `Allow ${appName} to access SmartRecruiters`,
          })
          .waitFor();
        const allowed = await clickAllow(stack, popup);
        assert.equal(allowed.status(), 200);
        await popup.getByText('you can close this window').waitFor();
        await browser.shot('popup-connected', popup);
        assert.equal((await stack.statusJson()).state, 'connected');
      },
      () => ({ blockPopups: true }),
    );
  },
);

test(
  'disconnected company must reintegrate',
  { timeout: scenarioTimeoutMs },
  async () => {
    await withStack('6-disconnected', [], async (stack, browser) => {
      const { page } = browser;
      await walkToConnected(stack, browser);

      // Alice disconnects the app on SmartRecruiters' Partner Apps page.
      await page.goto(`${stack.env.FAKE_URL}/partner-apps`);
      await page.getByRole('heading', { name: 'Partner Apps' }).waitFor();
      await page.getByText('Connected', { exact: true }).waitFor();
      await browser.shot('partner-apps-connected');
      await page.getByRole('button', { name: 'Disconnect' }).click();
      await page.getByText('Not connected').waitFor();
      await browser.shot('partner-apps-disconnected');

      // srconnect learns of it only when it next renews the token. A token
      // that expires within refresh.margin_s (default 600 s, which the
      // stack keeps) is due, so the timer's next run renews this one.
      assert.equal((await stack.statusJson()).state, 'connected');
      await stack.sqlite(
        "UPDATE connections SET token_expires_at = unixepoch('now') + 60",
      );
      await stack.runRefreshDue();
      const status = await stack.statusJson();
      assert.equal(status.state, 'needs_reintegration');
      assert.equal(status.action, 'reintegrate');

      await page.goto(`${stack.env.SRCONNECT_URL}/settings.html`);
      await page.getByRole('link', { name: 'Connection status' }).click();
      await page
        .getByRole('heading', { name: 'Reintegrate SmartRecruiters' })
        .waitFor();
      await browser.shot('status-reintegrate');

      // The status page's button starts the same path again.
      await clickReintegrate(stack, browser);
      await clickConnect(stack, browser);
      await checkConsentPage(browser, company);
      const allowed = await clickAllow(stack, page);
      assert.equal(allowed.status(), 302);
      await waitForConnectedInSmartRecruiters(stack, browser);
      await checkStatusConnected(stack, browser, company);
    });
  },
);
