'use strict';
// The shopper's page: choose or take a photo, prepare it on the device (upright, at most 1600 px, JPEG,
// a quick quality check), post it to POST /verify?brand=..., and show the verdict over the photo.
// No framework and no third-party code: the page is small enough to read in one sitting.
//
// Hooks for tests and integrators: #photo is the file input; #verdict carries data-state
// (idle|checking|done|error), data-verdict (genuine|counterfeit|inconclusive) once answered and data-error
// (a code) on errors. Timings are User Timing marks named "verify:<step>" (performance.getEntriesByType).
(() => {
  // ---- configuration -------------------------------------------------------
  const cfg = window.VERIFY_CONFIG || {};
  const API_BASE = String(cfg.apiBase || '').replace(/\/+$/, '');
  const C = Object.assign({
    maxSide: 1600,            // long side sent to the API
    qualities: [0.85, 0.75, 0.65],
    maxUploadBytes: 1000000,  // the next quality is tried while the JPEG is larger
    maxFileBytes: 40e6,       // refuse to decode anything bigger
    maxRawHeicBytes: 4e6,     // HEIC the browser cannot decode is sent as it is, up to this (the API's body limit)
    minShort: 320, minLong: 480,
    darkMean: 40,             // mean luma 0..255 below this: too dark
    brightMean: 245,
    minSharpness: 30,         // the sharpest tile's Laplacian variance on a copy of at most 640 px
    timeoutMs: 30000,
    maxAutoRetryS: 60,
  }, cfg.options || {});
  // The API's brand id rule (authentic.keys.BRAND_ID_PATTERN; a test keeps the two equal).
  const BRAND_ID = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

  const $ = (id) => document.getElementById(id);
  const E = {};
  ['brand-line', 'brand-name', 'gtin-line', 'gtin', 'gtin-note', 'no-brand', 'capture', 'drop', 'photo',
    'verdict', 'progress', 'progress-text', 'banner', 'banner-icon', 'banner-title', 'banner-sub', 'summary',
    'advice', 'advice-list', 'countdown', 'retry', 'anyway', 'again', 'figure', 'shot', 'boxes', 'found',
    'details', 'raw-reason', 'model'].forEach((id) => { E[id] = $(id); });

  // ---- brand and GTIN from the URL ------------------------------------------
  const params = new URLSearchParams(location.search);
  const brand = (params.get('brand') || '').trim().toLowerCase();
  const brandOk = BRAND_ID.test(brand);
  const dl = /\/01\/(\d{8}|\d{12,14})(?:\/|$)/.exec(location.pathname); // GS1 Digital Link: /01/{GTIN}/...
  let gtin = dl ? dl[1] : (params.get('gtin') || '').replace(/\D/g, '');
  if (gtin && ![8, 12, 13, 14].includes(gtin.length)) gtin = '';
  if (gtin) gtin = gtin.padStart(14, '0');

  function gtinCheckOk(g) {
    let sum = 0;
    for (let i = 0; i < 13; i++) sum += (+g[i]) * (i % 2 ? 1 : 3);
    return (10 - (sum % 10)) % 10 === +g[13];
  }

  if (gtin) {
    E.gtin.textContent = gtin;
    E['gtin-note'].textContent = gtinCheckOk(gtin) ? '' : '(this code does not look valid)';
    E['gtin-line'].hidden = false;
  }
  if (brandOk) {
    E['brand-name'].textContent = brand;
    E['brand-line'].hidden = false;
    E.capture.hidden = false;
  } else {
    if (brand) {
      E['no-brand'].textContent = 'This link names a brand we do not recognise ("' + brand.slice(0, 40) +
        '"). Please open the page again from the link or QR code on the product or the brand\'s website.';
    }
    E['no-brand'].hidden = false;
  }

  // ---- state ----------------------------------------------------------------
  let run = 0;            // bumps on each new photo; late async work of an older photo checks it and stops
  let prepared = null;    // {src, w0, h0}: the decoded upright photo, kept for "check anyway" and 413 retries
  let upload = null;      // {blob, type, url, w, h, preview}
  let ctl = null;         // AbortController of the request in flight
  let timer = null;       // countdown interval
  let autoRetried = false;
  let retryAction = null;

  function mark(step) {
    try { performance.mark('verify:' + step); } catch (e) { /* old browsers: no timings */ }
  }

  function show(el, on) { el.hidden = !on; }
  function setText(el, text) { el.textContent = text || ''; show(el, !!text); }

  function reset() {
    clearInterval(timer); timer = null;
    ['progress', 'banner', 'summary', 'advice', 'countdown', 'retry', 'anyway', 'again', 'figure', 'details']
      .forEach((k) => show(E[k], false));
    E.retry.disabled = false;
    E['advice-list'].textContent = '';
    E.boxes.textContent = '';
    E.found.textContent = '';
    delete E.verdict.dataset.verdict;
    delete E.verdict.dataset.error;
  }

  function setState(state) {
    E.verdict.dataset.state = state;
    E.verdict.setAttribute('aria-busy', state === 'checking' ? 'true' : 'false');
  }

  function checking(text) {
    reset();
    setState('checking');
    E['progress-text'].textContent = text;
    show(E.progress, true);
  }

  function banner(kind, title, sub) {
    E.banner.className = 'banner ' + kind;
    E['banner-icon'].setAttribute('href', '#i-' + kind);
    show(E.banner, true);
    E['banner-title'].textContent = title;
    setText(E['banner-sub'], sub);
  }

  function adviceList(items) {
    E['advice-list'].textContent = '';
    items.forEach((t) => { const li = document.createElement('li'); li.textContent = t; E['advice-list'].appendChild(li); });
    show(E.advice, items.length > 0);
  }

  // An error: `code` goes to data-error; opts.retry is what the "Try again" button does (none: no button).
  function fail(code, title, text, opts) {
    opts = opts || {};
    reset();
    setState('error');
    E.verdict.dataset.error = code;
    banner('error', title, '');
    setText(E.summary, text);
    if (opts.advice) adviceList(opts.advice);
    retryAction = opts.retry || null;
    show(E.retry, !!retryAction);
    E.retry.textContent = opts.retryLabel || 'Try again';
    show(E.anyway, !!opts.anyway);
    show(E.again, true);
    if (upload && upload.preview) showPhoto();
    mark('error');
  }

  // ---- decoding, quality gate, encoding ---------------------------------------
  async function decode(file) {
    if (window.createImageBitmap) {
      try { return await createImageBitmap(file, {imageOrientation: 'from-image'}); } catch (e) { /* next */ }
    }
    // <img> applies the Exif orientation by default (CSS image-orientation: from-image).
    const url = URL.createObjectURL(file);
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      if (!img.naturalWidth) throw new Error('empty');
      return img;
    } finally { URL.revokeObjectURL(url); }
  }

  async function sniffHeic(file) {
    try {
      const b = new Uint8Array(await file.slice(0, 12).arrayBuffer());
      const s = String.fromCharCode.apply(null, b);
      return s.slice(4, 8) === 'ftyp' && /^(heic|heix|hevc|hevx|heim|heis|mif1|msf1)$/.test(s.slice(8, 12));
    } catch (e) { return false; }
  }

  // Brightness and sharpness on a grey copy of at most 640 px, taken straight from the decoded photo.
  function quality(src, sw, sh) {
    const s = Math.min(1, 640 / Math.max(sw, sh));
    const w = Math.max(1, Math.round(sw * s)), h = Math.max(1, Math.round(sh * s));
    const c = document.createElement('canvas');
    c.width = w; c.height = h;
    const x = c.getContext('2d', {willReadFrequently: true});
    x.fillStyle = '#fff'; x.fillRect(0, 0, w, h);   // a transparent PNG must not read as "dark"
    x.imageSmoothingQuality = 'high';
    x.drawImage(src, 0, 0, w, h);
    const px = x.getImageData(0, 0, w, h).data;
    const g = new Float32Array(w * h);
    let sum = 0;
    for (let i = 0, j = 0; i < g.length; i++, j += 4) { g[i] = 0.299 * px[j] + 0.587 * px[j + 1] + 0.114 * px[j + 2]; sum += g[i]; }
    // Laplacian variance per tile of a 4x4 grid; the sharpest tile counts, so a sharp product in front of a
    // soft background passes.
    const T = 4, n = new Float64Array(T * T), s1 = new Float64Array(T * T), s2 = new Float64Array(T * T);
    for (let y = 1; y < h - 1; y++) {
      const ty = Math.min(T - 1, (y * T / h) | 0);
      for (let xx = 1; xx < w - 1; xx++) {
        const i = y * w + xx;
        const l = g[i - 1] + g[i + 1] + g[i - w] + g[i + w] - 4 * g[i];
        const t = ty * T + Math.min(T - 1, (xx * T / w) | 0);
        n[t]++; s1[t] += l; s2[t] += l * l;
      }
    }
    let sharp = 0;
    for (let t = 0; t < T * T; t++) if (n[t] > 0) sharp = Math.max(sharp, s2[t] / n[t] - (s1[t] / n[t]) ** 2);
    return {mean: sum / g.length, sharpness: Math.round(sharp * 10) / 10};
  }

  const toBlob = (canvas, q) => new Promise((res) => canvas.toBlob(res, 'image/jpeg', q));

  async function encode(canvas, qualities) {
    let blob = null;
    for (const q of qualities) {
      blob = await toBlob(canvas, q);
      if (blob && blob.size <= C.maxUploadBytes) break;
    }
    return blob;
  }

  function scaled(src, maxSide, sw, sh) {
    const s = Math.min(1, maxSide / Math.max(sw, sh));
    const w = Math.max(1, Math.round(sw * s)), h = Math.max(1, Math.round(sh * s));
    const c = document.createElement('canvas');
    c.width = w; c.height = h;
    const x = c.getContext('2d', {alpha: false});
    x.fillStyle = '#fff'; x.fillRect(0, 0, w, h);   // a transparent PNG: white behind it, not black
    x.imageSmoothingEnabled = true; x.imageSmoothingQuality = 'high';
    x.drawImage(src, 0, 0, w, h);
    return c;
  }

  const UNREADABLE = ['unreadable', 'We could not read this file',
    'This file does not look like a photo we can open. Please choose a JPEG or PNG photo, or take a new one.'];

  async function onFile(file) {
    if (!file || !brandOk) return;
    const my = ++run;
    if (ctl) ctl.abort();
    if (upload && upload.url) URL.revokeObjectURL(upload.url);
    if (prepared && prepared.src.close) prepared.src.close();
    upload = null; prepared = null; autoRetried = false;
    try { performance.clearMarks(); } catch (e) { /* no timings */ }
    mark('chosen');
    checking('Preparing your photo…');
    if (file.size > C.maxFileBytes) {
      return fail('file-too-large', 'This file is too large',
        'Please choose a photo smaller than ' + Math.round(C.maxFileBytes / 1e6) + ' MB.');
    }
    let src;
    try {
      src = await decode(file);
    } catch (e) {
      if (my !== run) return;
      if (await sniffHeic(file)) {
        if (file.size <= C.maxRawHeicBytes) {
          // The browser cannot decode HEIC (Chrome, Firefox); the API can, so it goes as it is.
          upload = {blob: file, type: 'image/heic', url: null, preview: false};
          return send(my);
        }
        return fail('heic-unsupported', 'This photo format cannot be read here',
          'Your browser cannot open this HEIC photo. Please take the photo again or choose a JPEG version ' +
          '(on iPhone: Settings › Camera › Formats › Most Compatible).');
      }
      return fail(...UNREADABLE);
    }
    if (my !== run) { if (src.close) src.close(); return; }
    mark('decoded');
    const w0 = src.naturalWidth || src.width, h0 = src.naturalHeight || src.height;
    if (Math.min(w0, h0) < C.minShort || Math.max(w0, h0) < C.minLong) {
      if (src.close) src.close();
      mark('gated');
      return fail('too-small', 'This photo is too small',
        'The photo is only ' + w0 + ' × ' + h0 + ' pixels, too small to check reliably.',
        {advice: ['Take the photo with your camera rather than using a screenshot or thumbnail.',
          'Move closer so the product fills the frame.']});
    }
    // The gate works on a small copy straight from the decoded photo, before the slower 1600 px resize, so
    // advice comes back quickly.
    const q = quality(src, w0, h0);
    mark('gated');
    prepared = {src, w0, h0};
    let problem = null;
    if (q.mean < C.darkMean) {
      problem = ['too-dark', 'This photo is too dark',
        ['Move to a brighter place or turn on a light.', 'Avoid covering the product with your shadow.']];
    } else if (q.mean > C.brightMean) {
      problem = ['too-bright', 'This photo is too bright',
        ['Avoid direct sunlight and flash glare.', 'Tilt the product slightly to remove reflections.']];
    } else if (q.sharpness < C.minSharpness) {
      problem = ['too-blurry', 'This photo looks blurry',
        ['Hold the phone steady, or rest it on something.', 'Tap the screen on the logo to focus before taking the photo.',
          'Do not get closer than your camera can focus.']];
    }
    if (problem) {
      return fail(problem[0], problem[1], 'A clearer photo gives a more reliable answer.', {advice: problem[2], anyway: true});
    }
    await prepareUpload(my, C.maxSide);
    if (my !== run) return;
    return send(my);
  }

  async function prepareUpload(my, maxSide) {
    const canvas = scaled(prepared.src, maxSide, prepared.w0, prepared.h0);
    mark('scaled');
    const blob = await encode(canvas, maxSide < C.maxSide ? [0.7, 0.55] : C.qualities);
    if (my !== run) return;
    if (!blob) throw new Error('the browser could not encode the photo');
    mark('encoded');
    if (upload && upload.url) URL.revokeObjectURL(upload.url);
    upload = {blob, type: 'image/jpeg', url: URL.createObjectURL(blob), w: canvas.width, h: canvas.height, preview: true};
  }

  // ---- upload -----------------------------------------------------------------
  async function send(my) {
    if (my !== run || !upload) return;
    checking('Checking your photo…');
    if (upload.preview) showPhoto();
    ctl = new AbortController();
    const mine = ctl;
    const to = setTimeout(() => mine.abort(), C.timeoutMs);
    mark('upload-start');
    let res = null, data = null;
    try {
      res = await fetch(API_BASE + '/verify?brand=' + encodeURIComponent(brand), {
        method: 'POST', body: upload.blob, headers: {'Content-Type': upload.type},
        credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer', signal: mine.signal,
      });
      try { data = await res.json(); } catch (e) { data = null; }
    } catch (e) {
      res = null;
    } finally { clearTimeout(to); }
    if (my !== run) return;
    mark('answered');
    if (!res) {
      return fail('network', 'We could not reach the checking service',
        'Please check your internet connection and try again.', {retry: () => send(my)});
    }
    if (res.ok && data && typeof data.verdict === 'string') return done(data);
    const msg = data && typeof data.message === 'string' ? data.message : '';
    const st = res.status;
    if (res.ok) {
      return fail('bad-answer', 'Something went wrong', 'The service sent an answer we could not read. Please try again.',
        {retry: () => send(my)});
    }
    if (st === 413 && !prepared) {
      return fail('too-large', 'The photo is too large to send', 'Please take a new photo, or choose a JPEG version of it.');
    }
    if (st === 413) {
      return fail('too-large', 'The photo is too large to send', 'We can send a smaller copy of it instead.', {
        retry: async () => { await prepareUpload(my, 1024); return send(my); }, retryLabel: 'Send a smaller copy'});
    }
    if (st === 429 || st >= 500) {
      const wait = retryAfter(res.headers.get('Retry-After'));
      const title = st === 429 ? 'Too many checks right now' : 'The checking service is busy';
      return busy(my, st === 429 ? 'rate-limited' : 'unavailable', title, wait);
    }
    if (st === 415) return fail('unsupported', 'This photo format is not accepted', 'Please choose a JPEG or PNG photo.');
    return fail('rejected', 'The photo could not be checked', msg || 'The service did not accept this request (error ' + st + ').');
  }

  function retryAfter(v) {
    if (!v) return 0;
    if (/^\d+$/.test(v.trim())) return +v;
    const d = Date.parse(v);
    return isNaN(d) ? 0 : Math.max(0, Math.ceil((d - Date.now()) / 1000));
  }

  // 429 and 5xx: wait as long as Retry-After says, then try again once by itself; after that, by hand.
  function busy(my, code, title, wait) {
    const auto = !autoRetried && wait <= C.maxAutoRetryS;
    fail(code, title, auto ? 'We will try again automatically.' : 'Please try again in a moment.',
      {retry: () => { clearInterval(timer); timer = null; return send(my); }});
    if (auto) autoRetried = true;
    if (!wait) {
      if (auto) setTimeout(() => { if (my === run && E.verdict.dataset.error === code) send(my); }, 1000);
      return;
    }
    let left = wait;
    E.retry.disabled = !auto;  // early by hand only while the automatic retry is pending
    const tick = () => {
      // The countdown sits outside the live region, so a screen reader does not read every second.
      E.countdown.textContent = auto ? 'Trying again in ' + left + ' s…' : 'You can try again in ' + left + ' s.';
      show(E.countdown, true);
      if (left <= 0) {
        clearInterval(timer); timer = null; show(E.countdown, false); E.retry.disabled = false;
        if (auto && my === run) send(my);
      }
      left--;
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  // ---- the answer ---------------------------------------------------------------
  const pct = (v) => Math.round(v * 100) + '%';
  const TEXT = {
    genuine: ['Genuine', 'This looks like a genuine product.'],
    counterfeit: ['Counterfeit', 'This looks like a counterfeit.'],
    inconclusive: ['Inconclusive', 'We could not tell from this photo.'],
  };
  const detectionsOf = (d) => (Array.isArray(d.detections) ? d.detections.filter((x) => x && typeof x === 'object') : []);
  const counting = (x) => x.counts !== false;

  function plainReason(d) {
    const dets = detectionsOf(d).filter(counting);
    const best = (role) => dets.filter((x) => x.role === role).sort((a, b) => b.confidence - a.confidence)[0];
    const r = String(d.reason || '');
    if (d.verdict === 'genuine') {
      const g = best('genuine');
      return g ? 'We recognised the genuine ' + g.name + ' (' + pct(g.confidence) + ' sure) and found no signs of a counterfeit.'
        : 'We found no signs of a counterfeit.';
    }
    if (d.verdict === 'counterfeit') {
      const c = best('counterfeit');
      return (c ? 'We found signs of a counterfeit: ' + c.name + ' (' + pct(c.confidence) + ' sure).' : 'We found signs of a counterfeit.') +
        ' Keep your receipt and contact the seller or the brand.';
    }
    if (/^no live model/i.test(r)) return 'Checking is not available for this brand yet. Please try again later.';
    if (/^photo unreadable/i.test(r)) return 'The service could not read this photo. Please take a new one.';
    if (/^nothing recognised/i.test(r)) return 'We could not recognise the product in this photo.';
    return 'The result was not clear enough to decide.';
  }

  function done(d) {
    reset();
    const v = TEXT[d.verdict] ? d.verdict : 'inconclusive';
    banner(v, TEXT[v][0], TEXT[v][1]);
    setText(E.summary, plainReason(d));
    if (v === 'inconclusive' && !/^no live model/i.test(String(d.reason || ''))) {
      adviceList(['Move closer so the logo or label fills most of the photo.',
        'Use more light, and avoid glare and shadows.', 'Make sure the logo is in view and in focus.']);
    }
    const bc = Array.isArray(d.barcodes) ? d.barcodes.filter((b) => b && typeof b === 'object') : [];
    if (bc.length) {
      const b = bc[0];
      const bits = [(b.format || 'Barcode') + ' ' + (b.gtin || b.text || '')];
      if (b.check_digit_ok === false) bits.push('check digit wrong');
      if (b.registered === true) bits.push('registered to the brand');
      else if (b.registered === false) bits.push('not registered to the brand');
      E.summary.appendChild(document.createTextNode(' Barcode found: ' + bits.join(', ') + '.'));
    }
    setText(E['raw-reason'], d.reason ? 'Reason: ' + d.reason : '');
    setText(E.model, d.model_version != null ? 'Model version ' + d.model_version + ' for brand ' + (d.brand_id || brand) : '');
    show(E.details, true);
    show(E.again, true);
    E.verdict.dataset.verdict = v;
    setState('done');
    drawBoxes(d, bc);
    if (upload && upload.preview) showPhoto();
    else {  // e.g. HEIC sent as it is: no preview to draw on; the list below still says what was found
      E.shot.parentNode.hidden = true;
      E.found.parentNode.hidden = false;
      E.summary.appendChild(document.createTextNode(' (This browser cannot show this photo format, so there is no preview.)'));
      show(E.figure, true);
    }
    mark('shown');
  }

  function showPhoto() {
    if (E.shot.getAttribute('src') !== upload.url) E.shot.src = upload.url;
    E.shot.parentNode.hidden = false;
    E.found.parentNode.hidden = !E.found.children.length;  // "What we found" only with an answer
    show(E.figure, true);
  }

  // A box as fractions of the upright photo: box_normalized when given, else box over image_size (or the size
  // of what was sent). Percentages follow the displayed size with no resize handler.
  function fractions(item, d) {
    const n = item.box_normalized;
    if (n && isFinite(n.left) && isFinite(n.top) && isFinite(n.width) && isFinite(n.height)) return n;
    const b = item.box;
    const size = d.image_size || {};
    const W = +size.width || (upload && upload.w), H = +size.height || (upload && upload.h);
    if (!b || !W || !H || !isFinite(b.left) || !isFinite(b.top)) return null;
    return {left: b.left / W, top: b.top / H, width: b.width / W, height: b.height / H};
  }

  function drawBoxes(d, barcodes) {
    const items = [];
    // What counted for the verdict; near misses (below their threshold) only explain an inconclusive answer.
    const shown = detectionsOf(d).filter((x) => counting(x) || d.verdict === 'inconclusive');
    shown.forEach((x) => {
      const conf = +x.confidence || 0;
      const kind = !counting(x) ? 'ignored' : (x.role === 'genuine' || x.role === 'counterfeit' ? x.role : 'other');
      const roleWord = x.role === 'genuine' || x.role === 'counterfeit' ? x.role : 'unknown';
      items.push({item: x, cls: 'box ' + kind, label: (x.name || 'object') + ' ' + pct(conf),
        text: (x.name || 'object') + ': ' + roleWord + ' sign, ' + pct(conf) + ' sure' + (counting(x) ? '' : ' (too unsure to count)')});
    });
    barcodes.forEach((b) => {
      items.push({item: b, cls: 'box barcode', label: (b.format || 'barcode') + ' ' + (b.text || ''),
        text: 'Barcode ' + (b.format || '') + ' ' + (b.gtin || b.text || '') + (b.registered === false ? ' (not registered to the brand)' : '')});
    });
    items.forEach((it) => {
      const li = document.createElement('li'); li.textContent = it.text; E.found.appendChild(li);
      const f = upload && upload.preview ? fractions(it.item, d) : null;
      if (!f) return;
      const el = document.createElement('div');
      el.className = it.cls + (f.top < 0.08 ? ' top' : '');  // the label goes above the box unless at the top edge
      el.style.left = (100 * f.left) + '%';
      el.style.top = (100 * f.top) + '%';
      el.style.width = (100 * f.width) + '%';
      el.style.height = (100 * f.height) + '%';
      const s = document.createElement('span'); s.textContent = it.label; el.appendChild(s);
      E.boxes.appendChild(el);
    });
    if (!items.length) { const li = document.createElement('li'); li.textContent = 'Nothing was recognised in the photo.'; E.found.appendChild(li); }
  }

  // ---- wiring -------------------------------------------------------------------
  const broken = () => fail(...UNREADABLE);
  E.photo.addEventListener('change', () => {
    const f = E.photo.files && E.photo.files[0];
    onFile(f).catch(broken);
    E.photo.value = ''; // choosing the same file again must fire "change" again
  });
  E.retry.addEventListener('click', () => {
    if (retryAction) Promise.resolve().then(retryAction).catch(broken);
  });
  E.anyway.addEventListener('click', () => {
    const my = run;
    if (!prepared) return;
    Promise.resolve().then(() => (upload ? null : prepareUpload(my, C.maxSide))).then(() => send(my)).catch(broken);
  });
  E.again.addEventListener('click', () => { E.photo.click(); });

  const drop = E.drop;
  ['dragenter', 'dragover'].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add('over'); }));
  ['dragleave', 'drop'].forEach((t) => drop.addEventListener(t, () => drop.classList.remove('over')));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) onFile(f).catch(broken);
  });
  // A photo dropped beside the zone must not navigate away from the page.
  ['dragover', 'drop'].forEach((t) => window.addEventListener(t, (e) => e.preventDefault()));
})();
