// dossier's wallet page (/wallet): the holder's secret and credentials live in this browser only.
// The wallet is created here (its secret from WebCrypto), kept in localStorage sealed under the
// holder's passphrase (Argon2id and XChaCha20-Poly1305, in dossier's WebAssembly module: the
// CLI's backup format, so `dossier holder backup` files restore here and this page's backups
// restore there), filled from the issuer (the holder's token) or an openings file, and used to
// answer requests: shown in plain words, proven in the page's Web Worker only after consent,
// then sent. Membership paths are fetched for all credentials at once.
"use strict";

Object.assign(WORDS.en, {
  title_wallet: "Your dossier wallet",
  intro_wallet: "Your secret and your credentials stay in this browser, sealed under your passphrase. Proofs are made here; the service sees only what you send.",
  unlock_title: "Unlock your wallet",
  passphrase: "Passphrase",
  unlock: "Unlock",
  create_title: "Create a wallet",
  create_note: "A new secret is made in this browser and never leaves it. Choose a passphrase of at least 12 characters: without it the wallet cannot be opened.",
  new_passphrase: "New passphrase",
  again: "Again",
  create: "Create",
  restore: "or restore an encrypted backup (from this page or `dossier holder backup`: the file, or a picture of its QR code)",
  your_wallet: "Your wallet",
  holder: "Your holder commitment",
  holder_note: "Give this to an issuer so it can issue credentials to you. It reveals nothing about your secret.",
  credentials: "Credentials",
  no_credentials: "No credentials yet.",
  token: "Your holder token from the issuing service",
  fetch: "Fetch my credentials",
  refresh: "Refresh all paths",
  openings_file: "or import an openings file",
  backup: "Download an encrypted backup",
  lock: "Lock",
  request_title: "Answer a request",
  request_id_wallet: "The request: an openid4vp:// link (or a QR code's text), or its id on this service",
  request_json_wallet: "or the request (JSON)",
  request_file: "or a file: the request, its link, or a picture of its QR code",
  scan: "Scan a QR code with the camera",
  scan_stop: "Stop the camera",
  scanning: "Hold the QR code in front of the camera…",
  no_qr: "No QR code was found in this picture.",
  read_request: "Read the request",
  asker: "Who asks",
  asked_proven: "What you will prove",
  asked_revealed: "What will be revealed",
  nothing_else: "Nothing but the statements above (and a one-time nullifier for this scope)",
  purpose: "Purpose",
  legal_basis: "Legal basis",
  not_stated: "not stated",
  scope_words: "Scope (one answer per person)",
  proof_system: "Proof system",
  consent: "I consent: prove and send",
  decline: "Decline",
  declined: "Declined. Nothing was proven and nothing was sent.",
  answer_to: "The answer goes to",
  download_to_send: "This request came without a way to answer it: download the presentation and give it to the verifier.",
  fetching_key: "Fetching the proving key (once; then kept by this browser)…",
  fetching_paths: "Fetching the membership paths of all your credentials…",
  preparing: "Getting the prover ready (the key checked and decoded)…",
  proving: "Proving in this browser…",
  proven_in: (s) => `Proven in ${s} s.`,
  sent: "Sent. The service verified your presentation.",
  refused: "Not sent: ",
  download: "Download the presentation",
  added: (n) => `${n} new credential(s) added.`,
  paths_ok: (n) => `${n} path(s) refreshed.`,
  mismatch: "The passphrases differ.",
  short: "The passphrase must be at least 12 characters.",
  wrong_pass: "The passphrase is wrong or the stored wallet was altered.",
  expires: "expires",
});
Object.assign(WORDS.zh, {
  title_wallet: "您的 dossier 钱包",
  intro_wallet: "您的秘密值和凭证只保存在本浏览器中，并以您的口令加密封存。证明在本地生成；服务器只能看到您发送的内容。",
  unlock_title: "解锁钱包",
  passphrase: "口令",
  unlock: "解锁",
  create_title: "创建钱包",
  create_note: "新的秘密值在本浏览器中生成，永不离开。请设置至少 12 个字符的口令：没有口令将无法打开钱包。",
  new_passphrase: "新口令",
  again: "再次输入",
  create: "创建",
  restore: "或恢复加密备份（来自本页面或 `dossier holder backup`：文件或其二维码图片）",
  your_wallet: "您的钱包",
  holder: "您的持有人承诺值",
  holder_note: "将其交给签发方以便向您签发凭证。它不会泄露您的秘密值。",
  credentials: "凭证",
  no_credentials: "尚无凭证。",
  token: "签发服务给您的持有人令牌",
  fetch: "获取我的凭证",
  refresh: "刷新全部路径",
  openings_file: "或导入凭证开启文件",
  backup: "下载加密备份",
  lock: "锁定",
  request_title: "回应请求",
  request_id_wallet: "请求：openid4vp:// 链接（或二维码内容），或其在本服务上的编号",
  request_json_wallet: "或请求本身（JSON）",
  request_file: "或文件：请求、其链接，或其二维码的图片",
  scan: "用摄像头扫描二维码",
  scan_stop: "关闭摄像头",
  scanning: "请将二维码对准摄像头…",
  no_qr: "图片中未找到二维码。",
  read_request: "阅读请求",
  asker: "请求方",
  asked_proven: "您将证明",
  asked_revealed: "将披露",
  nothing_else: "除上述陈述外不披露任何信息（另有本范围内一次性的作废值）",
  purpose: "目的",
  legal_basis: "法律依据",
  not_stated: "未说明",
  scope_words: "范围（每人只能回应一次）",
  proof_system: "证明系统",
  consent: "我同意：生成证明并发送",
  decline: "拒绝",
  declined: "已拒绝。未生成证明，也未发送任何内容。",
  answer_to: "回应发送至",
  download_to_send: "此请求未附带回应方式：请下载出示并交给验证方。",
  fetching_key: "正在获取证明密钥（仅一次，之后由本浏览器保存）…",
  fetching_paths: "正在获取您全部凭证的成员路径…",
  preparing: "正在准备证明器（校验并解码密钥）…",
  proving: "正在本浏览器中生成证明…",
  proven_in: (s) => `证明用时 ${s} 秒。`,
  sent: "已发送。服务器已验证您的出示。",
  refused: "未发送：",
  download: "下载出示",
  added: (n) => `新增 ${n} 个凭证。`,
  paths_ok: (n) => `已刷新 ${n} 条路径。`,
  mismatch: "两次输入的口令不一致。",
  short: "口令至少需要 12 个字符。",
  wrong_pass: "口令错误，或存储的钱包已被篡改。",
  expires: "到期",
});

const STORE_KEY = "dossier.wallet.sealed";
const KEY_CACHE = "dossier-proving-keys";

function seed() { return hex(crypto.getRandomValues(new Uint8Array(32))); }

// The open wallet (its document, which holds the secret, kept in this page's memory only), the
// passphrase it is resealed under after a change, and the paths fetched for all credentials.
let wallet = null, passphrase = null, paths = null, request = null, requestId = null;
// An OpenID4VP transaction being answered: client id, response URI, state.
let opened = null;

async function must(op, input, binary) {
  const answer = await wasmCall(op, input, binary);
  if (answer && answer.unusable) throw new Error(answer.error);
  return answer;
}

async function store(doc) {
  const sealed = await must("wallet_seal", { wallet: doc.wallet, passphrase, seed: seed() });
  localStorage.setItem(STORE_KEY, JSON.stringify(sealed.sealed));
  wallet = doc;
}

function showSection(section) {
  for (const id of ["locked", "new", "open"]) document.getElementById(id).hidden = id !== section;
}

function renderWallet() {
  document.getElementById("holder").textContent = wallet.holder;
  const list = document.getElementById("credentials");
  list.replaceChildren(...(wallet.credentials.length ? wallet.credentials.map((c) =>
    el("li", { "data-credential": `${c.issuer}/${c.credential_id}` },
      `${c.schema} · ${c.issuer} #${c.credential_id}${c.expires_at ? ` · ${t("expires")} ${c.expires_at}` : ""}`))
    : [el("li", {}, t("no_credentials"))]));
}

async function unlock() {
  const error = document.getElementById("unlock-error");
  error.textContent = "";
  const pass = document.getElementById("passphrase").value;
  try {
    const doc = await must("wallet_open", { sealed: JSON.parse(localStorage.getItem(STORE_KEY)), passphrase: pass });
    wallet = doc; passphrase = pass;
    showSection("open"); renderWallet();
  } catch (e) {
    error.textContent = t("wrong_pass");
    error.dataset.reason = e.message;
  }
  document.body.dataset.unlocked = wallet ? "1" : "0";
}

async function create() {
  const error = document.getElementById("create-error");
  const [a, b] = [document.getElementById("new-passphrase").value, document.getElementById("new-passphrase-again").value];
  if (a !== b) { error.textContent = t("mismatch"); return; }
  if ([...a].length < 12) { error.textContent = t("short"); return; }
  passphrase = a;
  await store(await must("wallet_create", { seed: seed() }));
  showSection("open"); renderWallet();
  document.body.dataset.unlocked = "1";
}

async function restore(file) {
  const error = document.getElementById("create-error");
  const [a] = [document.getElementById("new-passphrase").value];
  try {
    const sealed = JSON.parse(await fileText(file));
    const doc = await must("wallet_open", { sealed, passphrase: a });
    passphrase = a;
    await store(doc);
    showSection("open"); renderWallet();
    document.body.dataset.unlocked = "1";
  } catch (e) { error.textContent = `${t("wrong_pass")} (${e.message})`; }
}

function bearer() {
  const token = document.getElementById("token").value.trim();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// ---------------------------------------------------------------- QR codes
// A picture's QR code, read by the module: the picture drawn to a canvas (at most 1600 pixels a
// side), its grey levels handed over. Nothing leaves the page.
const MAX_SIDE = 1600;
async function qrTexts(source, width, height) {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale)), h = Math.max(1, Math.round(height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = w; canvas.height = h;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  g.fillStyle = "#fff"; g.fillRect(0, 0, w, h); // a transparent picture reads as white paper
  g.drawImage(source, 0, 0, w, h);
  const rgba = g.getImageData(0, 0, w, h).data;
  const grey = new Uint8Array(w * h);
  for (let i = 0; i < grey.length; i++) grey[i] = (rgba[4 * i] * 299 + rgba[4 * i + 1] * 587 + rgba[4 * i + 2] * 114) / 1000;
  return (await must("qr_read", { width: w, height: h }, grey)).texts;
}

// The text a file holds: a picture's QR code (an image, SVG included), or the file's own text.
async function fileText(file) {
  if (!file.type.startsWith("image/")) return file.text();
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    // A drawing (SVG) is rasterised large enough for its modules to stay sharp.
    const k = file.type === "image/svg+xml" ? Math.max(1, 1200 / (img.naturalWidth || 300)) : 1;
    const texts = await qrTexts(img, (img.naturalWidth || 300) * k, (img.naturalHeight || 300) * k);
    if (!texts.length) throw new Error(t("no_qr"));
    return texts[0];
  } finally { URL.revokeObjectURL(url); }
}

// A request's text (an OpenID4VP link, an id, or the request's JSON) put where it belongs and read.
async function requestFromText(text) {
  text = text.trim();
  const json = text.startsWith("{");
  document.getElementById("request-id").value = json ? "" : text;
  document.getElementById("request-json").value = json ? text : "";
  await readRequest();
}

// The camera, until a QR code is seen (then the request it carries is read) or the holder stops.
let camera = null;
async function scan() {
  if (camera) { stopCamera(); return; }
  const video = document.getElementById("camera");
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  camera = stream;
  video.srcObject = stream; video.hidden = false;
  await video.play();
  document.getElementById("scan").textContent = t("scan_stop");
  progress(t("scanning"), "scanning");
  while (camera === stream) {
    if (video.videoWidth) {
      const texts = await qrTexts(video, video.videoWidth, video.videoHeight);
      if (texts.length) { stopCamera(); await requestFromText(texts[0]); return; }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
function stopCamera() {
  if (camera) camera.getTracks().forEach((track) => track.stop());
  camera = null;
  const video = document.getElementById("camera");
  video.hidden = true; video.srcObject = null;
  document.getElementById("scan").textContent = t("scan");
}

async function fetchCredentials() {
  const status = document.getElementById("credentials-status");
  try {
    const r = await fetch("/v1/holder/credentials", { headers: { Accept: "application/json", ...bearer() } });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error ? body.error.message : String(r.status));
    await importOpenings(body.credentials);
    await refreshPaths();
  } catch (e) { status.textContent = e.message; status.dataset.error = "1"; }
}

// An openings file: the issuer's JSON (one opening, a list, or {"credentials": [...]}) or the
// CLI's JSON Lines (one opening a line).
function openingsOf(text) {
  let parsed;
  try { parsed = JSON.parse(text); } catch (_) {
    return text.split("\n").map((l) => l.trim()).filter((l) => l).map((l) => JSON.parse(l));
  }
  return Array.isArray(parsed) ? parsed : parsed.credentials || [parsed];
}

async function importOpenings(openings) {
  const doc = await must("wallet_import", { wallet: wallet.wallet, credentials: openings });
  await store(doc);
  renderWallet();
  const status = document.getElementById("credentials-status");
  status.textContent = t("added", doc.added);
  status.dataset.added = String(doc.added);
}

// Every credential's path at once: the service learns nothing of which one a proof will use.
async function refreshPaths() {
  const status = document.getElementById("credentials-status");
  delete status.dataset.paths;
  status.textContent = t("fetching_paths");
  const r = await fetch("/v1/holder/paths", { headers: { Accept: "application/json", ...bearer() } });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ? body.error.message : String(r.status));
  paths = body;
  status.textContent = t("paths_ok", body.paths.length);
  status.dataset.paths = String(body.paths.length);
}

function b64url(bytes) { return b64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""); }

// Fetches and checks an OpenID4VP request object (by reference, with a fresh wallet nonce when
// the verifier takes a POST; or by value): the module checks the verifier's signature and that
// the query shown is the one proven.
async function openAuthorization(url) {
  const a = await must("openid4vp_parse", { url });
  let jws = a.request, nonce = null;
  if (!jws) {
    const headers = { Accept: "application/oauth-authz-req+jwt" };
    let r;
    if (a.post) {
      nonce = b64url(crypto.getRandomValues(new Uint8Array(16)));
      r = await fetch(a.request_uri, { method: "POST", redirect: "error", headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ wallet_nonce: nonce }) });
    } else {
      r = await fetch(a.request_uri, { redirect: "error", headers });
    }
    if (!r.ok) throw new Error(`${a.request_uri}: ${r.status}`);
    jws = (await r.text()).trim();
  }
  return must("openid4vp_open", { request_object: jws, client_id: a.client_id, wallet_nonce: nonce, now: Math.floor(Date.now() / 1000) });
}

async function readRequest() {
  const given = document.getElementById("request-id").value.trim();
  const text = document.getElementById("request-json").value.trim();
  opened = null; requestId = null;
  if (given.startsWith("openid4vp:")) {
    opened = await openAuthorization(given);
    request = opened.request;
  } else if (given) {
    requestId = given;
    request = (await getJSON(`/v1/requests/${encodeURIComponent(given)}`)).request;
  } else {
    request = JSON.parse(text);
  }
  const words = document.getElementById("request-words");
  const row = (key, ...values) => [el("dt", {}, t(key)), ...values.map((v) => el("dd", { "data-field": key }, v))];
  const revealed = request.query.credentials.flatMap((c) => (c.reveal || []).map((f) => `${c.schema}.${f}`));
  words.replaceChildren(
    ...row("asker", opened ? opened.client_id : (request.audience || location.host)),
    ...(opened ? row("answer_to", opened.response_uri) : []),
    ...row("asked_proven", ...provenSentences(request)),
    ...row("asked_revealed", ...(revealed.length ? revealed : [t("nothing_else")])),
    ...row("purpose", request.purpose || t("not_stated")),
    ...row("legal_basis", request.legal_basis || t("not_stated")),
    ...row("scope_words", request.scope),
    ...row("proof_system", request.backend || "groth16"));
  document.getElementById("consent").hidden = false;
  document.getElementById("progress").replaceChildren();
  document.body.dataset.request = "shown";
  // While the holder reads the request, the worker readies the prover (the Groth16 key fetched
  // or taken from the cache, checked and decoded; halo2's keys derived): consent then pays for
  // the proof alone. Nothing about the holder is used or sent by this step.
  prepared = prepare(request);
  prepared.catch(() => {});
}

// Readies the module's prover for the request's shape and backend. Resolves to the pins the
// proof must use (null for halo2); the time it took is kept for the benchmarks.
let prepared = null;
async function prepare(req) {
  const started = performance.now();
  let keys = null, binary, shape = null;
  if (req.backend !== "halo2") {
    const listed = await getJSON("/v1/keys");
    ({ shape } = await must("shape", { request: req }));
    const k = listed.shapes.find((s) => s.shape === shape);
    if (!k) throw new Error(`no keys for shape ${shape}`);
    binary = await provingKey(shape);
    keys = { pk_sha256: k.pk_sha256, vk_sha256: k.vk_sha256 };
  }
  const answer = await wasmCall("prepare", { request: req, keys }, binary);
  if (answer.unusable) {
    if (shape && /pin/.test(answer.error)) await (await caches.open(KEY_CACHE)).delete(`/v1/keys/${shape}/pk`);
    throw new Error(answer.error);
  }
  window.__preparedMs = performance.now() - started;
  return keys;
}

// The OpenID4VP answer, posted to the verifier's response URI (direct_post).
async function postAnswer(fields) {
  const r = await fetch(opened.response_uri, { method: "POST", redirect: "error",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...fields, state: opened.state }) });
  const body = await r.json().catch(() => null);
  return { status: r.status, body };
}

function progress(text, state) {
  const p = document.getElementById("progress");
  p.append(el("p", { "data-state": state || "" }, text));
}

// The proving key of a shape, from this browser's cache or the service. The module checks it
// against its pin (the one check, not repeated here); a key it refuses is dropped from the cache.
async function provingKey(shape) {
  const url = `/v1/keys/${shape}/pk`;
  const cache = await caches.open(KEY_CACHE);
  let response = await cache.match(url);
  if (!response) {
    progress(t("fetching_key"));
    const started = performance.now();
    response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    await cache.put(url, response.clone());
    window.__firstUse = { bytes: Number(response.headers.get("Content-Length")), ms: performance.now() - started };
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function consent() {
  document.getElementById("consent").hidden = true;
  try {
    if (!paths) await refreshPaths();
    const ledger = await getJSON("/v1/ledger");
    progress(t("preparing"));
    const keys = await (prepared || (prepared = prepare(request)));
    progress(t("proving"));
    const started = performance.now();
    const answer = await must("prove", {
      request, wallet: wallet.wallet, ledger_key: ledger.log_key, checkpoint: paths.checkpoint,
      paths: paths.paths, keys, seed: seed(),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    window.__provedMs = performance.now() - started;
    progress(t("proven_in", seconds), "proven");
    const presentation = answer.presentation;
    const blob = new Blob([JSON.stringify(presentation, null, 2)], { type: "application/json" });
    document.getElementById("progress").append(el("a", { href: URL.createObjectURL(blob), download: "presentation.json", id: "download" }, t("download")));
    if (opened) {
      const { vp_token } = await must("openid4vp_answer", { presentation });
      const sent = await postAnswer({ vp_token });
      if (sent.status === 200) progress(t("sent"), "sent");
      else progress(t("refused") + (sent.body && sent.body.error ? sent.body.error.message : String(sent.status)), "refused");
    } else {
      progress(t("download_to_send"), "downloadable");
    }
  } catch (e) {
    prepared = null; // a failed preparation is tried afresh next time
    progress(t("refused") + e.message, "failed");
  }
  document.body.dataset.done = "1";
}

async function initWalletPage() {
  applyWords();
  const params = new URLSearchParams(location.search);
  const link = params.get("openid4vp") || params.get("request");
  if (link) document.getElementById("request-id").value = link;
  showSection(localStorage.getItem(STORE_KEY) ? "locked" : "new");
  document.getElementById("unlock").addEventListener("click", unlock);
  document.getElementById("create").addEventListener("click", () => create().catch((e) => { document.getElementById("create-error").textContent = e.message; }));
  document.getElementById("restore-file").addEventListener("change", (ev) => { const f = ev.target.files[0]; if (f) restore(f); });
  document.getElementById("fetch").addEventListener("click", fetchCredentials);
  document.getElementById("refresh").addEventListener("click", () => refreshPaths().catch((e) => { document.getElementById("credentials-status").textContent = e.message; }));
  document.getElementById("openings-file").addEventListener("change", async (ev) => {
    const f = ev.target.files[0]; if (!f) return;
    const status = document.getElementById("credentials-status");
    try {
      await importOpenings(openingsOf(await f.text()));
    } catch (e) { status.textContent = e.message; status.dataset.error = "1"; }
  });
  document.getElementById("request-file").addEventListener("change", async (ev) => {
    const f = ev.target.files[0]; if (!f) return;
    try { await requestFromText(await fileText(f)); } catch (e) { progress(t("refused") + e.message, "failed"); }
  });
  document.getElementById("scan").addEventListener("click", () => scan().catch((e) => { stopCamera(); progress(t("refused") + e.message, "failed"); }));
  document.getElementById("backup").addEventListener("click", () => {
    const blob = new Blob([localStorage.getItem(STORE_KEY)], { type: "application/json" });
    el("a", { href: URL.createObjectURL(blob), download: "dossier-wallet-backup.json" }).click();
  });
  document.getElementById("lock").addEventListener("click", () => { wallet = null; passphrase = null; paths = null; showSection("locked"); });
  document.getElementById("read-request").addEventListener("click", () => readRequest().catch((e) => progress(e.message, "failed")));
  document.getElementById("consent-yes").addEventListener("click", consent);
  document.getElementById("consent-no").addEventListener("click", async () => {
    document.getElementById("consent").hidden = true;
    // Under OpenID4VP the verifier is told: access_denied, and nothing else.
    if (opened) await postAnswer({ error: "access_denied" }).catch(() => null);
    progress(t("declined"), "declined");
    request = null;
    document.body.dataset.done = "1";
  });
  document.body.dataset.ready = "1";
}
window.initWalletPage = initWalletPage;
