// dossier's pages: checks done in the reader's own browser. Served by `dossier serve` at
// /web/dossier.js for /verify and /ledger. No framework, no third-party code. The verdict comes
// from dossier's own verifier compiled to WebAssembly (/web/dossier.wasm, run in a Web Worker):
// the same code as the library and the service, for Groth16 and halo2. snarkjs, when the operator
// provides it, is a second opinion on Groth16 proofs. BigInt for BN254 coordinates, WebCrypto for
// SHA-256 and Ed25519 (the page's own re-checks of the anchor).
"use strict";

// ---------------------------------------------------------------- words, in two languages
const WORDS = {
  en: {
    title_verify: "Verify a dossier presentation",
    title_ledger: "dossier ledger",
    intro_verify: "Paste or upload a presentation. Your browser checks it with dossier's verifier compiled to WebAssembly (Groth16 and halo2: the proof, the issuers, the roots of one signed checkpoint, scope, challenge, day and nullifier), and re-checks the checkpoint's signature and its witnesses' cosignatures with WebCrypto. The service's own verdict is shown apart and does not decide the page's.",
    presentation: "Presentation (JSON)",
    file: "or a file",
    request_id: "Your request's id on this service (optional)",
    request_json: "or your request (JSON, optional)",
    log_key: "Ledger key you trust",
    log_key_note: "Pre-filled from this service: compare it with the key your organisation pinned.",
    witness_policy: "Witness policy (optional)",
    witness_policy_note: "`threshold k`, then one witness verifier key per line: the checkpoint must carry k valid cosignatures of these witnesses (c2sp.org/tlog-cosignature), so a ledger showing you a history it showed nobody else is refused. Pre-filled with this service's policy, if it has one.",
    verify: "Verify",
    verified: "Verified in your browser",
    rejected: "Rejected",
    unavailable: "Not verified in this browser",
    wasm_halo2_first: "the first halo2 check derives the circuit's verifying key in your browser: a few seconds, once per page",
    checks: "Checks",
    proven: "What was proven",
    revealed: "What was revealed",
    claimed: "What it claims (NOT proven)",
    claimed_revealed: "Values it claims (NOT proven)",
    nothing_revealed: "Nothing else was revealed.",
    anchor: "Anchor",
    anchor_age: (size, age) => `checkpoint of ledger size ${size}, signed ${age} ago`,
    holds: (schema, issuers) => `holds a ${schema} credential issued by ${issuers}`,
    where: "where",
    and: "and",
    sum: (schema, field, n) => `the ${field} of ${schema} credentials add up to at least ${n}`,
    c_request: "Answers your request (same query, challenge, scope and date)",
    c_request_absent: "No request of yours given: checked against the request inside the presentation",
    c_inputs: "Public inputs carry the request's challenge and date",
    c_wasm: "dossier's verifier, in this browser (WebAssembly): the proof holds and answers this request, anchored in the checkpoint for accepted issuers",
    c_groth16: "Second opinion: the Groth16 proof holds for snarkjs too, in this browser",
    c_signature: "Checkpoint signed by the ledger key you trust (Ed25519, WebCrypto)",
    c_witnesses: "Checkpoint cosigned by enough of the witnesses you trust",
    c_roots: "Every registry root used is in that checkpoint",
    c_fresh: "Checkpoint fresh enough for the request",
    c_server: "The service's own verdict (shown apart: it does not decide this page's)",
    scope: "Scope",
    nullifier: "Nullifier",
    error: "Cannot read the input",
    seconds: "s", minutes: "min", hours: "h", days: "d",
    // ledger page
    intro_ledger: "Read-only. Your browser checks every checkpoint's signature and the consistency proof between successive checkpoints (RFC 9162).",
    size: "Size", time: "Signed", registries: "Registries", signature: "Signature", consistency: "Consistent with the previous",
    entries: "Latest entries", index: "#", kind: "Kind", issuer: "Issuer id", credential: "Credential",
    ok: "ok", bad: "FAILED", first: "(first)",
    summary_ok: (n) => `${n} checkpoints: signatures valid, each consistent with the one before`,
    summary_bad: "Consistency or a signature FAILED",
  },
  zh: {
    title_verify: "验证 dossier 凭证出示",
    title_ledger: "dossier 账本",
    intro_verify: "粘贴或上传一份出示。您的浏览器用编译为 WebAssembly 的 dossier 验证器自行检查（Groth16 与 halo2：证明、签发方、同一签名检查点中的根、范围、挑战值、日期和作废值），并用 WebCrypto 复核检查点签名和见证方联署。服务器自身的结论单独显示，不决定本页的结论。",
    presentation: "出示（JSON）",
    file: "或上传文件",
    request_id: "您在本服务上的请求编号（可选）",
    request_json: "或您的请求（JSON，可选）",
    log_key: "您信任的账本公钥",
    log_key_note: "已从本服务预填：请与贵单位登记的公钥核对。",
    witness_policy: "见证策略（可选）",
    witness_policy_note: "第一行为 `threshold k`，其后每行一个见证方验证公钥：检查点须带有其中 k 个见证方的有效联署（c2sp.org/tlog-cosignature），账本若向您展示与他人不同的历史即被拒绝。如本服务配置了策略，已预填。",
    verify: "验证",
    verified: "已在您的浏览器中验证通过",
    rejected: "验证未通过",
    unavailable: "未在本浏览器中验证",
    wasm_halo2_first: "首次检查 halo2 证明时，浏览器需要推导电路的验证密钥：每个页面一次，需数秒",
    checks: "检查项",
    proven: "证明了什么",
    revealed: "披露了什么",
    claimed: "它声称的内容（未获证明）",
    claimed_revealed: "它声称的值（未获证明）",
    nothing_revealed: "未披露其他信息。",
    anchor: "锚定",
    anchor_age: (size, age) => `账本规模 ${size} 的检查点，签署于 ${age} 前`,
    holds: (schema, issuers) => `持有由 ${issuers} 签发的 ${schema} 凭证`,
    where: "其中",
    and: "且",
    sum: (schema, field, n) => `${schema} 凭证的 ${field} 合计不少于 ${n}`,
    c_request: "回应的是您的请求（查询、挑战值、范围和日期一致）",
    c_request_absent: "未提供您的请求：按出示中所附请求检查",
    c_inputs: "公开输入包含请求的挑战值和日期",
    c_wasm: "dossier 验证器在本浏览器中（WebAssembly）确认：证明成立，回应本请求，并锚定于可接受签发方的检查点",
    c_groth16: "第二意见：snarkjs 在本浏览器中也确认 Groth16 证明成立",
    c_signature: "检查点由您信任的账本公钥签署（Ed25519，WebCrypto）",
    c_witnesses: "检查点已由足够多您信任的见证方联署",
    c_roots: "所用的每个登记簿根都在该检查点中",
    c_fresh: "检查点足够新，符合请求要求",
    c_server: "服务器自身的结论（单独显示，不决定本页的结论）",
    scope: "范围",
    nullifier: "作废值",
    error: "无法读取输入",
    seconds: "秒", minutes: "分钟", hours: "小时", days: "天",
    intro_ledger: "只读。您的浏览器检查每个检查点的签名，以及相邻检查点之间的一致性证明（RFC 9162）。",
    size: "规模", time: "签署时间", registries: "登记簿", signature: "签名", consistency: "与上一个一致",
    entries: "最新条目", index: "序号", kind: "类型", issuer: "签发方标识", credential: "凭证",
    ok: "通过", bad: "失败", first: "（第一个）",
    summary_ok: (n) => `${n} 个检查点：签名有效，且均与前一个一致`,
    summary_bad: "一致性或签名检查失败",
  },
};

let LANG = new URLSearchParams(location.search).get("lang") ||
  ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");
if (!WORDS[LANG]) LANG = "en";
const t = (k, ...a) => { const w = WORDS[LANG][k]; return typeof w === "function" ? w(...a) : w; };

function applyWords() {
  document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

function setLanguage(lang) {
  LANG = lang;
  applyWords();
  if (window.__rerender) window.__rerender();
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function ago(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} ${t("seconds")}`;
  if (s < 7200) return `${Math.round(s / 60)} ${t("minutes")}`;
  if (s < 172800) return `${Math.round(s / 3600)} ${t("hours")}`;
  return `${Math.round(s / 86400)} ${t("days")}`;
}

// ---------------------------------------------------------------- bytes, hashes, fetch
const enc = new TextEncoder();
function b64(bytes) { let s = ""; for (const b of bytes) s += String.fromCharCode(b); return btoa(s); }
function unb64(text) { const s = atob(text.trim()); return Uint8Array.from(s, (c) => c.charCodeAt(0)); }
function hex(bytes) { return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""); }
function eqBytes(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }
async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0; for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

async function getJSON(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Error((body && body.error && body.error.message) || `${path}: ${r.status}`);
  return body;
}
async function postJSON(path, value) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(value) });
  const body = await r.json().catch(() => null);
  return { status: r.status, body };
}

// ---------------------------------------------------------------- dossier's module, in a worker
let worker = null;
const pending = new Map();
let nextCall = 0;
// Runs `dossier_<op>` of /web/dossier.wasm in the page's Web Worker; resolves to its answer.
function wasmCall(op, input, binary) {
  if (!worker) {
    worker = new Worker("/web/worker.mjs", { type: "module" });
    worker.onmessage = (e) => {
      const p = pending.get(e.data.id); pending.delete(e.data.id);
      if (e.data.threads) window.__wasmThreads = e.data.threads;
      if (p) e.data.error ? p.reject(new Error(e.data.error)) : p.resolve(e.data.result);
    };
    worker.onerror = (e) => { for (const p of pending.values()) p.reject(new Error(e.message || "the worker failed")); pending.clear(); worker = null; };
  }
  const id = ++nextCall;
  return new Promise((resolve, reject) => { pending.set(id, { resolve, reject }); worker.postMessage({ id, op, input, binary }); });
}
let pinnedKeys = null;
async function groth16Keys() { if (!pinnedKeys) pinnedKeys = await getJSON("/v1/keys"); return pinnedKeys; }

// ---------------------------------------------------------------- BN254 (coordinates only)
const P = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const mod = (a) => ((a % P) + P) % P;
function inv(a) { // Fermat
  let r = 1n, b = mod(a), e = P - 2n;
  while (e > 0n) { if (e & 1n) r = (r * b) % P; b = (b * b) % P; e >>= 1n; }
  return r;
}
const f2 = {
  add: (a, b) => [mod(a[0] + b[0]), mod(a[1] + b[1])],
  mul: (a, b) => [mod(a[0] * b[0] - a[1] * b[1]), mod(a[0] * b[1] + a[1] * b[0])],
  sq: (a) => f2.mul(a, a),
  eq: (a, b) => a[0] === b[0] && a[1] === b[1],
};
// The twist's b = 3 / (9 + u).
const B2 = (() => { const d = inv(82n); return [mod(27n * d), mod(-3n * d)]; })();
const big = (s) => BigInt(s);

function onG1(x, y) { return mod(y * y) === mod(x * x * x + 3n); }
function onG2(x, y) { return f2.eq(f2.sq(y), f2.add(f2.mul(f2.sq(x), x), B2)); }

// arkworks' compressed encoding: little-endian coordinates, flags in the last byte's top bits
// (0x80: y is the larger of y and -y; 0x40: the point at infinity).
function le32(n) { const out = new Uint8Array(32); for (let i = 0; i < 32; i++) { out[i] = Number(n & 0xffn); n >>= 8n; } return out; }
function larger(y) { return y > P - y; } // Fq: y > -y
function larger2(y) { // Fq2, compared on c1 first, then c0
  const n = [mod(-y[0]), mod(-y[1])];
  return y[1] !== n[1] ? y[1] > n[1] : y[0] > n[0];
}
function g1Compressed(pt) { // snarkjs [x, y, z]
  if (pt[2] === "0") { const b = new Uint8Array(32); b[31] = 0x40; return b; }
  const x = big(pt[0]), y = big(pt[1]);
  if (!onG1(x, y)) throw new Error("a G1 point is not on the curve");
  const b = le32(x); if (larger(y)) b[31] |= 0x80; return b;
}
function g2Compressed(pt) { // snarkjs [[x0, x1], [y0, y1], [z0, z1]]
  if (pt[2][0] === "0" && pt[2][1] === "0") { const b = new Uint8Array(64); b[63] = 0x40; return b; }
  const x = [big(pt[0][0]), big(pt[0][1])], y = [big(pt[1][0]), big(pt[1][1])];
  if (!onG2(x, y)) throw new Error("a G2 point is not on the curve");
  const b = concat(le32(x[0]), le32(x[1])); if (larger2(y)) b[63] |= 0x80; return b;
}
function proofCompressed(p) { return concat(g1Compressed(p.pi_a), g2Compressed(p.pi_b), g1Compressed(p.pi_c)); }
function vkCompressed(vk) {
  const n = vk.IC.length; const len = new Uint8Array(8); new DataView(len.buffer).setBigUint64(0, BigInt(n), true);
  return concat(g1Compressed(vk.vk_alpha_1), g2Compressed(vk.vk_beta_2), g2Compressed(vk.vk_gamma_2),
    g2Compressed(vk.vk_delta_2), len, ...vk.IC.map(g1Compressed));
}

// ---------------------------------------------------------------- signed notes (C2SP)
async function noteVerify(note, vkey) {
  // vkey: <name>+<hex key hash>+<base64(0x01 || Ed25519 public key)>
  // The base64 part may itself contain "+": split at the first two only.
  const v = vkey.trim(), i = v.indexOf("+"), j = v.indexOf("+", i + 1);
  if (i < 1 || j < 0) throw new Error("not a note verifier key");
  const name = v.slice(0, i), keyHash = v.slice(i + 1, j), keyB64 = v.slice(j + 1);
  const key = unb64(keyB64);
  if (key.length !== 33 || key[0] !== 1) throw new Error("not an Ed25519 note key");
  const split = note.indexOf("\n\n");
  if (split < 0) throw new Error("not a signed note");
  const text = note.slice(0, split + 1);
  const pub = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
  let signed = false;
  for (const line of note.slice(split + 2).split("\n")) {
    const m = line.match(/^\u2014 (\S+) (\S+)$/);
    if (!m || m[1] !== name) continue;
    const sig = unb64(m[2]);
    if (sig.length !== 68 || hex(sig.slice(0, 4)) !== keyHash.toLowerCase()) continue;
    if (await crypto.subtle.verify({ name: "Ed25519" }, pub, sig.slice(4), enc.encode(text))) signed = true;
  }
  const lines = text.split("\n");
  const body = { origin: lines[0], size: Number(lines[1]), rootHash: lines[2], time: 0, registries: [] };
  for (const l of lines.slice(3)) {
    const w = l.split(" ");
    if (w[0] === "time") body.time = Number(w[1]);
    if (w[0] === "registry") body.registries.push({ issuerId: w[1], root: w[2], live: Number(w[3]), rootHalo2: w[4] });
  }
  return { signed, body };
}

// ---------------------------------------------------------------- witness cosignatures (C2SP)
// A witness verifier key is <name>+<hex key id>+base64(0x04 || Ed25519 public key), the key id
// SHA-256(name || "\n" || 0x04 || key)[:4]; a cosignature line is "— <name> base64(key id ||
// timestamp (8 bytes, big-endian) || signature)", the signature over
// "cosignature/v1\ntime <timestamp>\n" || the checkpoint's note text.
async function witnessKey(vkey) {
  const v = vkey.trim(), i = v.indexOf("+"), j = v.indexOf("+", i + 1);
  if (i < 1 || j < 0) throw new Error("not a witness verifier key");
  const name = v.slice(0, i), id = v.slice(j - 8, j).toLowerCase(), key = unb64(v.slice(j + 1));
  if (j - i !== 9 || key.length !== 33 || key[0] !== 4) throw new Error("not an Ed25519 cosignature/v1 key");
  const expected = hex((await sha256(concat(enc.encode(name + "\n"), key))).slice(0, 4));
  if (expected !== id) throw new Error(`the key id of ${name} does not match its key`);
  const pub = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
  return { name, id, pub };
}

// "threshold k", then one witness verifier key per line (blank lines and # comments skipped),
// as `dossier verify --witness-policy` reads it. null when the text is empty (no policy).
async function witnessPolicy(text) {
  const lines = (text || "").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  if (!lines.length) return null;
  const m = lines[0].match(/^threshold (\d+)$/);
  if (!m) throw new Error("the first line must be `threshold <k>`");
  const witnesses = await Promise.all(lines.slice(1, 34).map(witnessKey));
  const threshold = Number(m[1]);
  if (witnesses.length > 32) throw new Error("more than 32 witnesses");
  if (threshold > witnesses.length) throw new Error("the threshold exceeds the number of witnesses");
  if (new Set(witnesses.map((w) => w.name)).size !== witnesses.length) throw new Error("a witness is listed twice");
  return { threshold, witnesses };
}

// The names of the policy's witnesses with a valid cosignature on the note.
async function cosignedBy(note, policy) {
  const split = note.indexOf("\n\n");
  if (split < 0) return [];
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2).split("\n");
  const found = [];
  for (const w of policy.witnesses) {
    for (const line of lines) {
      const m = line.match(/^\u2014 (\S+) (\S+)$/);
      if (!m || m[1] !== w.name) continue;
      let sig;
      try { sig = unb64(m[2]); } catch (e) { continue; }
      if (sig.length !== 76 || hex(sig.slice(0, 4)) !== w.id) continue;
      let ts = 0n;
      for (const b of sig.slice(4, 12)) ts = (ts << 8n) | BigInt(b);
      if (ts > 2n ** 63n - 1n) continue;
      const msg = concat(enc.encode(`cosignature/v1\ntime ${ts}\n`), enc.encode(text));
      if (await crypto.subtle.verify({ name: "Ed25519" }, w.pub, sig.slice(12), msg)) { found.push(w.name); break; }
    }
  }
  return found;
}

// ---------------------------------------------------------------- RFC 9162 consistency
async function nodeHash(l, r) { return sha256(concat(Uint8Array.of(1), l, r)); }
async function consistent(first, second, firstHash, secondHash, proof) {
  if (first === second) return proof.length === 0 && eqBytes(firstHash, secondHash);
  if (first === 0 || first > second) return false;
  let path = proof.slice();
  if ((first & (first - 1)) === 0) path = [firstHash, ...path];
  if (path.length === 0) return false;
  let fn = BigInt(first - 1), sn = BigInt(second - 1);
  while (fn & 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) || fn === sn) {
      fr = await nodeHash(c, fr); sr = await nodeHash(c, sr);
      if (!(fn & 1n)) while (!(fn & 1n) && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && eqBytes(fr, firstHash) && eqBytes(sr, secondHash);
}

// ---------------------------------------------------------------- the verification page
function daysOf(date) { return Math.floor(Date.parse(date + "T00:00:00Z") / 86400000); }
function dateOf(days) { return new Date(days * 86400000).toISOString().slice(0, 10); }
function sameJSON(a, b) {
  const norm = (v) => JSON.stringify(v, (k, x) => (x && typeof x === "object" && !Array.isArray(x))
    ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x);
  return norm(a) === norm(b);
}
const OPS = { $eq: "=", $ne: "≠", $lt: "<", $lte: "≤", $gt: ">", $gte: "≥", $in: "∈", $nin: "∉", $between: "∈" };
function show(v) { return Array.isArray(v) ? `{${v.join(", ")}}` : String(v); }

// What a request asks to be proven, one sentence per credential (and the sum), in the page's
// language: the verify page's "what was proven" and the wallet's consent screen.
function provenSentences(req) {
  const proven = [];
  for (const c of req.query.credentials) {
    const conds = Object.entries(c.where || {}).flatMap(([f, ops]) =>
      Object.entries(ops).map(([op, v]) => `${f} ${OPS[op] || op} ${show(v)}`));
    proven.push(t("holds", c.schema, c.issuers.join(", ")) + (conds.length ? `, ${t("where")} ${conds.join(` ${t("and")} `)}` : ""));
  }
  if (req.query.sum) proven.push(t("sum", req.query.sum.schema, req.query.sum.field, req.query.sum.$gte));
  return proven;
}

let sessionHalo2 = false;
async function verifyPresentation(input) {
  const out = { checks: [], proven: [], revealed: [], anchor: null, verdict: "rejected", snarkjs: !!window.snarkjs };
  const add = (key, ok, detail) => out.checks.push({ key, ok, detail });
  const pres = JSON.parse(input.presentation);
  let request = null;
  if (input.requestJSON && input.requestJSON.trim()) request = JSON.parse(input.requestJSON);
  else if (input.requestId && input.requestId.trim()) request = (await getJSON(`/v1/requests/${encodeURIComponent(input.requestId.trim())}`)).request;
  if (request) add("c_request", sameJSON(request, pres.request));
  else add("c_request_absent", null);
  const req = request || pres.request;
  const M = pres.shape.credentials, Rv = pres.shape.reveals;
  const inputs = pres.public_inputs.map(big);
  add("c_inputs", inputs[M + 1] === big(req.challenge) && Number(inputs[M + 3]) === daysOf(req.today));

  // dossier's verifier, compiled to WebAssembly: the page's verdict.
  const halo2 = pres.backend === "halo2";
  try {
    const answer = await wasmCall("verify", {
      request: req, presentation: pres, ledger_key: input.logKey.trim(),
      witness_policy: input.witnessPolicy || null, keys: halo2 ? null : await groth16Keys(),
      now: Math.floor(Date.now() / 1000),
    });
    add("c_wasm", answer.valid === true, answer.valid ? (halo2 && !sessionHalo2 ? t("wasm_halo2_first") : "") : answer.error);
    if (halo2) sessionHalo2 = true;
    out.wasm = answer;
  } catch (e) { add("c_wasm", false, e.message); }
  // snarkjs, when the operator provides it: a second opinion on a Groth16 proof. The key and
  // proof are converted by the service and re-checked here against the pinned hash and the
  // presentation's own bytes.
  if (!halo2 && window.snarkjs) {
    const conv = await postJSON("/v1/snarkjs", { presentation: pres });
    let ok = false, detail = conv.body && conv.body.error ? conv.body.error.message : "";
    if (conv.status === 200) {
      const snark = conv.body;
      try {
        const same = hex(await sha256(vkCompressed(snark.verification_key))) === pres.vk_sha256 &&
          eqBytes(proofCompressed(snark.proof), unb64(pres.proof)) &&
          snark.public.length === inputs.length && snark.public.every((x, i) => big(x) === inputs[i]);
        ok = same && await window.snarkjs.groth16.verify(snark.verification_key, pres.public_inputs.map((x) => big(x).toString()), snark.proof);
      } catch (e) { ok = false; detail = e.message; }
    }
    add("c_groth16", ok, detail);
  }

  // The anchor.
  let cp = null;
  try {
    cp = await noteVerify(pres.checkpoint, input.logKey);
    add("c_signature", cp.signed);
  } catch (e) { add("c_signature", false, e.message); }
  // The witness policy, when one is given: as the Rust verifier, the service and the audit.
  try {
    const policy = await witnessPolicy(input.witnessPolicy);
    if (policy) {
      const names = await cosignedBy(pres.checkpoint, policy);
      add("c_witnesses", names.length >= policy.threshold,
        `${names.length} of ${policy.threshold} needed${names.length ? ": " + names.join(", ") : ""}`);
    }
  } catch (e) { add("c_witnesses", false, e.message); }
  if (cp) {
    const roots = new Set(cp.body.registries.map((r) => big(halo2 ? r.rootHalo2 : r.root)));
    const used = inputs.slice(0, M).filter((x) => x !== 0n);
    add("c_roots", used.length > 0 && used.every((x) => roots.has(x)));
    const age = Date.now() / 1000 - cp.body.time;
    add("c_fresh", age <= req.max_checkpoint_age_seconds);
    out.anchor = { size: cp.body.size, age };
  }

  // The service's own, complete check (the query hash needs the query's encoding).
  const server = await postJSON("/v1/verify", { request: req, presentation: pres });
  add("c_server", server.status === 200 && server.body.verdict && server.body.verdict.valid === true,
    server.status === 200 ? "" : (server.body && server.body.error ? server.body.error.message : String(server.status)));

  // In plain words.
  let schemas = {};
  try { for (const s of (await getJSON("/v1/schemas")).schemas) schemas[s.name] = s; } catch (e) { schemas = {}; }
  out.render = () => {
    const proven = provenSentences(req);
    const revealed = [];
    req.query.credentials.forEach((c, m) => (c.reveal || []).forEach((f, r) => {
      const v = inputs[M + 5 + m * Rv + r];
      const field = ((schemas[c.schema] || {}).fields || []).find((x) => x.name === f) || {};
      let shown = `0x${v.toString(16)}`;
      if (v < 2n ** 64n) {
        if (field.type === "date") shown = dateOf(Number(v));
        else if (field.type === "enum" && field.members) shown = field.members[Number(v)] ?? shown;
        else if (field.type === "bool") shown = String(v === 1n);
        else shown = v.toString();
      }
      revealed.push(`${c.schema}.${f} = ${shown}`);
    }));
    return { proven, revealed };
  };
  // The service's verdict is shown, never counted: the page decides on what it checked itself.
  const required = out.checks.filter((c) => c.key !== "c_request_absent" && c.key !== "c_server");
  if (required.some((c) => c.ok === false)) out.verdict = "rejected";
  else if (required.some((c) => c.ok === null)) out.verdict = "unavailable";
  else out.verdict = "verified";
  out.scope = req.scope;
  out.nullifier = `0x${inputs[M + 4].toString(16)}`;
  return out;
}

function renderVerification(out) {
  const root = document.getElementById("result");
  root.replaceChildren();
  const banner = el("div", { id: "verdict", "data-verdict": out.verdict, className: `verdict ${out.verdict}` }, t(out.verdict));
  root.append(banner);
  const list = el("ul", { id: "checks" });
  for (const c of out.checks) {
    const mark = c.ok === true ? "✔" : c.ok === false ? "✘" : "–";
    list.append(el("li", { "data-check": c.key, "data-ok": String(c.ok), className: `check ${c.ok}` },
      `${mark} ${t(c.key)}`, c.detail ? el("small", {}, ` (${c.detail})`) : null));
  }
  root.append(el("h2", {}, t("checks")), list);
  const words = out.render();
  const good = out.verdict === "verified";
  root.append(el("h2", {}, t(good ? "proven" : "claimed")), el("ul", { id: "proven" }, ...words.proven.map((p) => el("li", {}, p))));
  root.append(el("h2", {}, t(good ? "revealed" : "claimed_revealed")), words.revealed.length
    ? el("ul", { id: "revealed" }, ...words.revealed.map((p) => el("li", {}, p)))
    : el("p", { id: "revealed" }, t("nothing_revealed")));
  if (out.anchor) root.append(el("h2", {}, t("anchor")), el("p", { id: "anchor" }, t("anchor_age", out.anchor.size, ago(out.anchor.age))));
  root.append(el("p", {}, `${t("scope")}: ${out.scope} · ${t("nullifier")}: ${out.nullifier}`));
}

async function initVerifyPage() {
  applyWords();
  try {
    const ledger = await getJSON("/v1/ledger");
    document.getElementById("log-key").value = ledger.log_key;
    document.getElementById("witness-policy").value = ledger.witness_policy || "";
  } catch (e) { /* left empty */ }
  document.getElementById("file").addEventListener("change", async (ev) => {
    const f = ev.target.files[0]; if (f) document.getElementById("presentation").value = await f.text();
  });
  document.getElementById("verify").addEventListener("click", async () => {
    const root = document.getElementById("result");
    root.replaceChildren(el("p", {}, "…"));
    try {
      const out = await verifyPresentation({
        presentation: document.getElementById("presentation").value,
        requestId: document.getElementById("request-id").value,
        requestJSON: document.getElementById("request-json").value,
        logKey: document.getElementById("log-key").value,
        witnessPolicy: document.getElementById("witness-policy").value,
      });
      window.__rerender = () => renderVerification(out);
      renderVerification(out);
    } catch (e) {
      window.__rerender = null;
      root.replaceChildren(el("div", { id: "verdict", "data-verdict": "error", className: "verdict rejected" }, `${t("error")}: ${e.message}`));
    }
    document.body.dataset.done = "1";
  });
  document.body.dataset.ready = "1";
}

// ---------------------------------------------------------------- the ledger page
async function initLedgerPage() {
  applyWords();
  const ledger = await getJSON("/v1/ledger");
  const list = (await getJSON("/v1/checkpoints")).checkpoints;
  const rows = [];
  let allOk = true, prev = null;
  for (const c of list) {
    const { signed, body } = await noteVerify(c.note, ledger.log_key);
    let cons = null;
    if (prev) {
      const proof = await getJSON(`/v1/ledger/consistency?old=${prev.size}&new=${body.size}`);
      cons = await consistent(prev.size, body.size, unb64(prev.rootHash), unb64(body.rootHash), proof.proof.map(unb64));
    }
    allOk = allOk && signed && cons !== false;
    rows.push({ body, signed, cons });
    prev = body;
  }
  const entries = await getJSON(`/v1/ledger/entries?start=${Math.max(0, ledger.size - 20)}&limit=20`);
  const render = () => {
    const summary = document.getElementById("summary");
    summary.dataset.ok = String(allOk);
    summary.className = `verdict ${allOk ? "verified" : "rejected"}`;
    summary.textContent = allOk ? t("summary_ok", rows.length) : t("summary_bad");
    const table = document.getElementById("checkpoints");
    table.replaceChildren(el("tr", {}, ...["size", "time", "registries", "signature", "consistency"].map((k) => el("th", {}, t(k)))));
    for (const r of rows) {
      table.append(el("tr", { "data-size": String(r.body.size) },
        el("td", {}, String(r.body.size)),
        el("td", {}, new Date(r.body.time * 1000).toISOString().replace("T", " ").slice(0, 19)),
        el("td", {}, String(r.body.registries.length)),
        el("td", { "data-ok": String(r.signed) }, r.signed ? t("ok") : t("bad")),
        el("td", { "data-ok": String(r.cons) }, r.cons === null ? t("first") : r.cons ? t("ok") : t("bad"))));
    }
    const et = document.getElementById("entries");
    et.replaceChildren(el("tr", {}, ...["index", "kind", "issuer", "credential", "time"].map((k) => el("th", {}, t(k)))));
    for (const e of entries.entries.slice().reverse()) {
      et.append(el("tr", {}, el("td", {}, String(e.index)), el("td", {}, e.kind),
        el("td", {}, e.issuer_id ? `${e.issuer_id.slice(0, 12)}…` : ""), el("td", {}, e.credential_id ?? ""),
        el("td", {}, new Date(e.time * 1000).toISOString().slice(0, 19).replace("T", " "))));
    }
  };
  window.__rerender = render;
  render();
  document.body.dataset.ready = "1";
}

window.dossier = { setLanguage, initVerifyPage, initLedgerPage, consistent, vkCompressed, proofCompressed, noteVerify, witnessPolicy, cosignedBy };
document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => setLanguage(b.dataset.lang));
  const page = document.body.dataset.page;
  const run = page === "verify" ? initVerifyPage : page === "ledger" ? initLedgerPage
    : page === "wallet" ? window.initWalletPage : null;
  if (run) run().catch((e) => { document.body.dataset.error = e.message; document.body.dataset.ready = "1"; });
});
