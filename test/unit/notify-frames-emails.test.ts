/** The frames job e-mails: subjects, escaping of user-supplied text, the API paths they point to. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, FAILURE_REASONS, framesDoneEmail, framesFailedEmail, jobPath } from '../../lib/notify/frames-emails.ts';

const JOB = '0b6f4a52-5f0e-4c1e-9a51-2f7c3f3f9d10';

const done = (over: Partial<Parameters<typeof framesDoneEmail>[0]> = {}) =>
  framesDoneEmail({
    to: 'ana@example.com',
    name: 'Ana',
    filename: 'holiday.mp4',
    jobId: JOB,
    frameCount: 42,
    expiresAt: '2026-12-01T10:30:00.000Z',
    appUrl: 'https://moviola.example.com/',
    ...over,
  });

const failed = (over: Partial<Parameters<typeof framesFailedEmail>[0]> = {}) =>
  framesFailedEmail({
    to: 'ana@example.com',
    name: 'Ana',
    filename: 'holiday.mp4',
    jobId: JOB,
    errorCode: 'INVALID_MEDIA',
    errorMessage: 'moov atom not found',
    ...over,
  });

describe('framesDoneEmail', () => {
  it('says the ZIP is ready, how many frames, until when, and where to download it', () => {
    const e = done();
    assert.equal(e.to, 'ana@example.com');
    assert.equal(e.subject, 'Your frames are ready: holiday.mp4');
    assert.match(e.text, /^Hi Ana,/);
    assert.match(e.text, /ZIP with 42 frames/);
    assert.match(e.text, /until 2026-12-01 10:30 UTC/);
    // trailing slash of appUrl not doubled
    assert.ok(e.text.includes(`GET https://moviola.example.com/api/v1/jobs/${JOB}/download`), e.text);
    assert.ok(e.text.includes(`Job id: ${JOB}`));
    assert.ok(e.html.includes(`href="https://moviola.example.com/api/v1/jobs/${JOB}/download"`), e.html);
    assert.match(e.html, /42 frames/);
    assert.match(e.html, /2026-12-01 10:30 UTC/);
  });

  it('singular for one frame; accepts a Date for expiresAt', () => {
    const e = done({ frameCount: 1, expiresAt: new Date('2027-01-02T03:04:05Z') });
    assert.match(e.text, /ZIP with 1 frame \(/);
    assert.match(e.text, /until 2027-01-02 03:04 UTC/);
  });

  it('escapes a hostile filename and name in the HTML, and keeps them readable in the text', () => {
    const e = done({ filename: '<script>alert("x")</script>.mp4', name: 'Tom & "Jerry" <b>' });
    assert.ok(!e.html.includes('<script>'), e.html);
    assert.ok(e.html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;.mp4'), e.html);
    assert.ok(e.html.includes('Hi Tom &amp; &quot;Jerry&quot; &lt;b&gt;,'), e.html);
    assert.ok(!e.html.includes('<b>'));
    assert.ok(e.text.includes('"<script>alert("x")</script>.mp4"'));
    assert.equal(e.subject, 'Your frames are ready: <script>alert("x")</script>.mp4');
  });

  it('strips CR/LF and other control characters from user text (no header or line injection)', () => {
    const e = done({ filename: 'a\r\nBcc: evil@example.com\u0000.mp4', name: 'Ana\nX' });
    assert.ok(!/[\r\n]/.test(e.subject), JSON.stringify(e.subject));
    assert.equal(e.subject, 'Your frames are ready: a Bcc: evil@example.com .mp4');
    assert.ok(!e.text.includes('\u0000'));
    assert.match(e.text, /^Hi Ana X,\n/);
  });

  it('shortens a 300-character filename in the subject without splitting an emoji', () => {
    const long = `${'🎬'.repeat(100)}${'x'.repeat(200)}.mp4`;
    const e = done({ filename: long });
    const shown = e.subject.slice('Your frames are ready: '.length);
    assert.equal(Array.from(shown).length, 80);
    assert.ok(shown.endsWith('…'));
    assert.ok(shown.startsWith('🎬'.repeat(79)));
    assert.ok(e.text.includes(long), 'the body keeps the whole name');
  });

  it('greets without a name when there is none', () => {
    assert.match(done({ name: '  ' }).text, /^Hi,\n/);
  });

  it('percent-encodes the job id in links', () => {
    assert.equal(jobPath('a/b?c', 'download'), '/api/v1/jobs/a%2Fb%3Fc/download');
  });

  it('refuses an unparsable expiry date rather than printing "Invalid Date"', () => {
    assert.throws(() => done({ expiresAt: 'soon' }), RangeError);
  });
});

describe('framesFailedEmail', () => {
  it('names the file, the code, the reason in plain words, the details and the retry endpoint', () => {
    const e = failed();
    assert.equal(e.subject, 'Frame extraction failed: holiday.mp4');
    assert.ok(e.text.includes('"holiday.mp4" failed'));
    assert.ok(e.text.includes(`Reason (INVALID_MEDIA): ${FAILURE_REASONS.INVALID_MEDIA.reason}`));
    assert.ok(e.text.includes('Details: moov atom not found'));
    assert.ok(e.text.includes(`POST /api/v1/jobs/${JOB}/retry`), e.text);
    assert.ok(e.html.includes(`POST /api/v1/jobs/${JOB}/retry`), e.html);
    assert.ok(e.text.includes(`Job id: ${JOB}`));
  });

  it('has a distinct reason for each known code, and a generic one otherwise', () => {
    const reasons = new Set<string>();
    for (const code of ['INVALID_MEDIA', 'UNSUPPORTED_CODEC', 'PROCESSING_ERROR']) {
      const e = failed({ errorCode: code });
      const reason = FAILURE_REASONS[code]?.reason;
      assert.ok(reason, code);
      assert.ok(e.text.includes(reason), `${code}: ${e.text}`);
      assert.ok(e.html.includes(escapeHtml(reason)), code);
      reasons.add(reason);
    }
    assert.equal(reasons.size, 3);
    assert.match(failed({ errorCode: 'PROCESSING_ERROR' }).text, /Retrying later is likely to work/);
    assert.match(failed({ errorCode: 'UNSUPPORTED_CODEC' }).text, /re-encode/);
    const unknown = failed({ errorCode: 'SOMETHING_NEW' });
    assert.match(unknown.text, /Reason \(SOMETHING_NEW\): Processing stopped with an unexpected error\./);
    assert.ok(unknown.text.includes(`POST /api/v1/jobs/${JOB}/retry`));
  });

  it('uses the full URL for the retry endpoint when appUrl is given', () => {
    const e = failed({ appUrl: 'https://moviola.example.com' });
    assert.ok(e.text.includes(`POST https://moviola.example.com/api/v1/jobs/${JOB}/retry`), e.text);
  });

  it('escapes the filename and error message in the HTML; omits empty details', () => {
    const e = failed({ filename: '<script>.mp4', errorMessage: '<img src=x onerror=alert(1)>' });
    assert.ok(!e.html.includes('<script>'));
    assert.ok(!e.html.includes('<img'));
    assert.ok(e.html.includes('&lt;script&gt;.mp4'));
    assert.ok(e.html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(!failed({ errorMessage: '' }).text.includes('Details:'));
  });

  it('truncates a very long error message', () => {
    const e = failed({ errorMessage: 'e'.repeat(5000) });
    const details = /Details: (e+…)/.exec(e.text)?.[1] ?? '';
    assert.equal(details.length, 500);
  });
});

describe('escapeHtml', () => {
  it('escapes the five HTML-significant characters', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
