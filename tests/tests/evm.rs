//! Verify anywhere, part two: an EVM. `dossier export solidity` writes a Groth16 verifier per
//! shape and the anchor contract; solc-js (npm, pinned in `fixtures/solc/`, installed by
//! `.ci/run`) compiles them, and revm runs them in-process with the BN254 precompiles. A real
//! presentation is accepted once under its application's policy; a replay, a tampered proof or
//! public input, a foreign issuer, another scope, another challenge, another caller, a root of
//! another checkpoint, an unposted, re-posted or stale checkpoint, a wrong query or day, a
//! non-canonical input and a poster without the right are each refused with their own reason.
//! The compact path (`verifyCompact`: roots read from the checkpoint, the policy's query hash and
//! scope folded into its term) refuses the same forgeries, shares the nullifiers, and its
//! verifier answers the anchor alone. Gas is printed for BENCHMARKS.md.

use dossier_tests::{ok, prove_all_on, Proven};
use revm::context::result::{ExecutionResult, Output};
use revm::context::{Context, TxEnv};
use revm::database::CacheDB;
use revm::database_interface::EmptyDB;
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::{keccak256, Address, Bytes, TxKind, U256};
use revm::{ExecuteCommitEvm, MainBuilder, MainContext};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

type Evm = MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>;

/// The BN254 scalar field modulus r.
const R_HEX: &str = "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";

fn solc_dir() -> Option<PathBuf> {
    dossier_tests::npm_fixture("solc", "solc", "the EVM tests (solc-js)")
}

/// A presentation (proven by the CLI) exported as Solidity and call data, compiled by solc-js.
struct Exported {
    _dir: tempfile::TempDir,
    contracts: Value,
    call: Value,
}

/// The recruitment statement (one credential): a master's degree in law, its year revealed.
fn exported(solc: &Path) -> Exported {
    exported_statement(
        solc,
        "univ.law-school",
        vec![
            json!({"schema": "qualification", "fields": {"degree_level": "master",
            "field": "law", "institution": "Law School", "award_year": 2015}}),
        ],
        r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
        "where": {"degree_level": {"$gte": "master"}, "field": {"$eq": "law"}}, "reveal": ["award_year"]}]}"#,
    )
}

/// `claims` issued by `issuer` to one holder, who proves `query` for the chain.
fn exported_statement(solc: &Path, issuer: &str, claims: Vec<Value>, query: &str) -> Exported {
    let dir = tempfile::tempdir().expect("tmp");
    let Proven {
        home,
        params,
        presentation,
        ..
    } = prove_all_on(
        dir.path(),
        issuer,
        claims,
        query,
        "recruitment:2026:chain",
        "groth16",
    );
    let (p, pr) = (
        params.to_str().expect("p"),
        presentation.to_str().expect("p"),
    );
    let sol = dir.path().join("sol");
    let s = sol.to_str().expect("s");
    ok(
        &home,
        &[
            "--params",
            p,
            "export",
            "solidity",
            "--out",
            s,
            "--presentation",
            pr,
        ],
    );
    let out = Command::new("node")
        .arg(solc.join("compile.js"))
        .arg(&sol)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "solc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let contracts: Value = serde_json::from_slice(&out.stdout).expect("solc output");
    let call: Value =
        serde_json::from_str(&std::fs::read_to_string(sol.join("calldata.json")).expect("read"))
            .expect("json");
    Exported {
        _dir: dir,
        contracts,
        call,
    }
}

fn word(hex_word: &str) -> [u8; 32] {
    let h = hex_word.trim_start_matches("0x");
    let bytes = hex::decode(format!("{h:0>64}")).expect("hex word");
    bytes.try_into().expect("32 bytes")
}

fn u(n: u64) -> [u8; 32] {
    U256::from(n).to_be_bytes()
}

fn addr_word(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

fn selector(signature: &str) -> [u8; 4] {
    keccak256(signature.as_bytes())[..4]
        .try_into()
        .expect("4 bytes")
}

/// ABI arguments: static words, then dynamic `uint256[]` tails, in order.
enum Arg {
    Word([u8; 32]),
    Words(Vec<[u8; 32]>),
    Array(Vec<[u8; 32]>),
}

fn encode(signature: &str, args: &[Arg]) -> Bytes {
    let head_len: usize = args
        .iter()
        .map(|a| match a {
            Arg::Word(_) | Arg::Array(_) => 32,
            Arg::Words(w) => 32 * w.len(),
        })
        .sum();
    let mut head = Vec::new();
    let mut tail = Vec::new();
    for a in args {
        match a {
            Arg::Word(w) => head.extend_from_slice(w),
            Arg::Words(ws) => ws.iter().for_each(|w| head.extend_from_slice(w)),
            Arg::Array(ws) => {
                head.extend_from_slice(&u((head_len + tail.len()) as u64));
                tail.extend_from_slice(&u(ws.len() as u64));
                ws.iter().for_each(|w| tail.extend_from_slice(w));
            }
        }
    }
    let mut data = selector(signature).to_vec();
    data.extend(head);
    data.extend(tail);
    data.into()
}

struct Chain {
    evm: Evm,
}

const OWNER: Address = Address::new([0x11; 20]);
const POSTER: Address = Address::new([0x22; 20]);
const STRANGER: Address = Address::new([0x33; 20]);

impl Chain {
    fn new(timestamp: u64) -> Chain {
        let evm = Context::mainnet()
            .with_db(CacheDB::<EmptyDB>::default())
            .modify_cfg_chained(|c| {
                c.disable_nonce_check = true;
                // Mainnet's rules as of this writing (Fusaka): EIP-1108 precompile prices,
                // EIP-2028 calldata, EIP-7825's per-transaction gas cap.
                c.spec = revm::primitives::hardfork::SpecId::OSAKA;
            })
            .modify_block_chained(|b| {
                b.timestamp = U256::from(timestamp);
                b.basefee = 0;
            })
            .build_mainnet();
        Chain { evm }
    }

    fn set_time(&mut self, timestamp: u64) {
        use revm::context::ContextSetters;
        let mut block = self.evm.ctx.block.clone();
        block.timestamp = U256::from(timestamp);
        self.evm.ctx.set_block(block);
    }

    fn send(&mut self, from: Address, kind: TxKind, data: Bytes) -> ExecutionResult {
        let tx = TxEnv::builder()
            .caller(from)
            .kind(kind)
            .data(data)
            .gas_limit(16_000_000)
            .gas_price(0)
            .build()
            .expect("tx");
        self.evm.transact_commit(tx).expect("the EVM runs")
    }

    fn deploy(&mut self, bytecode: &str, constructor: &[[u8; 32]]) -> Address {
        let mut code = hex::decode(bytecode.trim_start_matches("0x")).expect("bytecode");
        constructor.iter().for_each(|w| code.extend_from_slice(w));
        match self.send(OWNER, TxKind::Create, code.into()) {
            ExecutionResult::Success {
                output: Output::Create(_, Some(a)),
                ..
            } => a,
            other => panic!("deployment failed: {other:?}"),
        }
    }

    fn call(&mut self, from: Address, to: Address, data: Bytes) -> ExecutionResult {
        self.send(from, TxKind::Call(to), data)
    }
}

/// The custom error a call reverted with, by name (its selector matched against `errors`).
fn reverted_with(result: &ExecutionResult, errors: &[&str]) -> String {
    match result {
        ExecutionResult::Revert { output, .. } => {
            let sel = &output[..4.min(output.len())];
            errors
                .iter()
                .find(|e| selector(e)[..] == *sel)
                .map_or_else(|| format!("unknown revert {output}"), |e| e.to_string())
        }
        other => format!("not a revert: {other:?}"),
    }
}

const ERRORS: &[&str] = &[
    "NotOwner()",
    "NotPoster()",
    "NotPolicyOwner()",
    "UnknownShape(bytes32)",
    "UnknownPolicy(bytes32)",
    "PolicyExists(bytes32)",
    "BadPairs()",
    "CheckpointPosted(uint64)",
    "WrongInputCount(uint256,uint256)",
    "InputNotInField(uint256)",
    "CheckpointNotPosted(uint64)",
    "CheckpointStale(uint64,uint64)",
    "UnusedSlotHasRoot(uint256)",
    "IssuerNotAccepted(uint256)",
    "RootNotInCheckpoint(uint256)",
    "WrongQuery()",
    "WrongScope()",
    "WrongChallenge()",
    "WrongDay(uint256)",
    "NullifierUsed(uint256,uint256)",
    "InvalidProof()",
    "NotCompact(bytes32,bytes32)",
];

const VERIFY: &str = "verify(bytes32,bytes32,uint64,uint256,uint256[8],uint256[],uint256[])";
const VERIFY_PROOF: &str = "verifyProof(uint256[8],uint256[])";
const VERIFY_COMPACT: &str =
    "verifyCompact(bytes32,bytes32,uint64,uint256,uint256[],uint256[8],uint256[])";
const READY_COMPACT: &str = "readyCompact(bytes32,bytes32)";
const VERIFY_WITH_BASE: &str = "verifyProofWithBase(uint256[8],uint256[2],uint256[])";
const ANCHOR: &str = "anchor(uint64,uint256[],uint256[])";
const REGISTER_POLICY: &str = "registerPolicy(uint256,uint256,uint256[],uint256[])";
/// The verifying application (a contract in a deployment; an account here).
const APP: Address = STRANGER;
const OTHER: Address = Address::new([0x44; 20]);

/// One presentation's words, as `calldata.json` gives them.
#[derive(Clone)]
struct Call {
    shape: [u8; 32],
    checkpoint: u64,
    challenge: [u8; 32],
    proof: Vec<[u8; 32]>,
    input: Vec<[u8; 32]>,
    issuer_of: Vec<[u8; 32]>,
}

struct Deployed {
    chain: Chain,
    anchor: Address,
    verifier: Address,
    policy: [u8; 32],
    call: Call,
    /// The checkpoint's (issuer, root) pairs.
    cp_issuers: Vec<[u8; 32]>,
    cp_roots: Vec<[u8; 32]>,
    query_hash: [u8; 32],
    scope: [u8; 32],
    policy_issuers: Vec<[u8; 32]>,
    policy_slots: Vec<[u8; 32]>,
}

const MAX_AGE: u64 = 3600;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn words(v: &Value) -> Vec<[u8; 32]> {
    v.as_array()
        .expect("words")
        .iter()
        .map(|w| word(w.as_str().expect("word")))
        .collect()
}

fn output_word(r: &ExecutionResult) -> [u8; 32] {
    match r {
        ExecutionResult::Success {
            output: Output::Call(b),
            ..
        } if b.len() == 32 => b[..].try_into().expect("32 bytes"),
        other => panic!("expected one word: {other:?}"),
    }
}

fn deploy(e: &Exported, post_checkpoint: bool) -> Deployed {
    let mut chain = Chain::new(now());
    let c = &e.contracts["contracts"];
    let anchor = chain.deploy(
        c["DossierAnchor"]["bytecode"].as_str().expect("anchor"),
        &[u(MAX_AGE)],
    );
    let vname = e.call["verifier"].as_str().expect("verifier name");
    // The verifier names its anchor: the only caller of its compact path.
    let verifier = chain.deploy(
        c[vname]["bytecode"].as_str().expect("verifier"),
        &[addr_word(anchor)],
    );
    let call = Call {
        shape: word(e.call["shape_id"].as_str().expect("shape id")),
        checkpoint: e.call["checkpoint_size"].as_u64().expect("size"),
        challenge: word(e.call["challenge"].as_str().expect("challenge")),
        proof: words(&e.call["proof"]),
        input: words(&e.call["input"]),
        issuer_of: words(&e.call["issuer_of"]),
    };
    let r = chain.call(
        OWNER,
        anchor,
        encode(
            "registerShape(bytes32,address,uint8)",
            &[
                Arg::Word(call.shape),
                Arg::Word(addr_word(verifier)),
                Arg::Word(u(call.issuer_of.len() as u64)),
            ],
        ),
    );
    assert!(r.is_success(), "{r:?}");
    let r = chain.call(
        OWNER,
        anchor,
        encode(
            "setPoster(address,bool)",
            &[Arg::Word(addr_word(POSTER)), Arg::Word(u(1))],
        ),
    );
    assert!(r.is_success(), "{r:?}");
    let policy_slots: Vec<[u8; 32]> = e.call["policy_slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|n| u(n.as_u64().expect("slot")))
        .collect();
    let mut d = Deployed {
        chain,
        anchor,
        verifier,
        policy: [0; 32],
        call,
        cp_issuers: words(&e.call["checkpoint_issuers"]),
        cp_roots: words(&e.call["checkpoint_roots"]),
        query_hash: word(e.call["query_hash"].as_str().expect("qh")),
        scope: word(e.call["scope"].as_str().expect("scope")),
        policy_issuers: words(&e.call["policy_issuers"]),
        policy_slots,
    };
    let (q, s, i, sl) = (
        d.query_hash,
        d.scope,
        d.policy_issuers.clone(),
        d.policy_slots.clone(),
    );
    d.policy = d.register_policy(q, s, i, sl);
    if post_checkpoint {
        let (size, issuers, roots) = (d.call.checkpoint, d.cp_issuers.clone(), d.cp_roots.clone());
        let r = d.post(POSTER, size, issuers, roots);
        assert!(r.is_success(), "{r:?}");
    }
    d
}

impl Deployed {
    fn register_policy(
        &mut self,
        query_hash: [u8; 32],
        scope: [u8; 32],
        issuers: Vec<[u8; 32]>,
        slots: Vec<[u8; 32]>,
    ) -> [u8; 32] {
        let r = self.chain.call(
            APP,
            self.anchor,
            encode(
                REGISTER_POLICY,
                &[
                    Arg::Word(query_hash),
                    Arg::Word(scope),
                    Arg::Array(issuers),
                    Arg::Array(slots),
                ],
            ),
        );
        output_word(&r)
    }

    fn post(
        &mut self,
        from: Address,
        size: u64,
        issuers: Vec<[u8; 32]>,
        roots: Vec<[u8; 32]>,
    ) -> ExecutionResult {
        let data = encode(
            ANCHOR,
            &[Arg::Word(u(size)), Arg::Array(issuers), Arg::Array(roots)],
        );
        self.chain.call(from, self.anchor, data)
    }

    fn verify_data(&self, policy: [u8; 32], c: &Call) -> Bytes {
        encode(
            VERIFY,
            &[
                Arg::Word(policy),
                Arg::Word(c.shape),
                Arg::Word(u(c.checkpoint)),
                Arg::Word(c.challenge),
                Arg::Words(c.proof.clone()),
                Arg::Array(c.input.clone()),
                Arg::Array(c.issuer_of.clone()),
            ],
        )
    }

    /// `verify` as the application, with `c` instead of the presentation's own words.
    fn verify_as(&mut self, from: Address, policy: [u8; 32], c: &Call) -> ExecutionResult {
        let data = self.verify_data(policy, c);
        self.chain.call(from, self.anchor, data)
    }

    fn verify_with(&mut self, c: &Call) -> ExecutionResult {
        let policy = self.policy;
        self.verify_as(APP, policy, c)
    }

    fn verify(&mut self) -> ExecutionResult {
        let c = self.call.clone();
        self.verify_with(&c)
    }

    /// `verifyCompact` as `from` under `policy`: the presentation's `[today, nullifier,
    /// revealed...]` (after its roots, query hash, challenge and scope) as the tail.
    fn compact_data(&self, policy: [u8; 32], c: &Call) -> Bytes {
        let m = c.issuer_of.len();
        encode(
            VERIFY_COMPACT,
            &[
                Arg::Word(policy),
                Arg::Word(c.shape),
                Arg::Word(u(c.checkpoint)),
                Arg::Word(c.challenge),
                Arg::Array(c.input[m + 3..].to_vec()),
                Arg::Words(c.proof.clone()),
                Arg::Array(c.issuer_of.clone()),
            ],
        )
    }

    fn compact_as(&mut self, from: Address, policy: [u8; 32], c: &Call) -> ExecutionResult {
        let data = self.compact_data(policy, c);
        self.chain.call(from, self.anchor, data)
    }

    fn ready_compact(&mut self, from: Address, policy: [u8; 32]) -> ExecutionResult {
        let data = encode(
            READY_COMPACT,
            &[Arg::Word(policy), Arg::Word(self.call.shape)],
        );
        self.chain.call(from, self.anchor, data)
    }

    /// The verifier contract alone (a view): true or false.
    fn verifier_says(&mut self, proof: &[[u8; 32]], input: &[[u8; 32]]) -> bool {
        let data = encode(
            VERIFY_PROOF,
            &[Arg::Words(proof.to_vec()), Arg::Array(input.to_vec())],
        );
        match self.chain.call(STRANGER, self.verifier, data) {
            ExecutionResult::Success {
                output: Output::Call(b),
                ..
            } => b.len() == 32 && b[31] == 1,
            other => panic!("verifyProof reverted: {other:?}"),
        }
    }
}

fn gas(r: &ExecutionResult) -> u64 {
    r.tx_gas_used()
}

/// Calldata cost (EIP-2028): 4 gas a zero byte, 16 a non-zero one.
fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|&b| if b == 0 { 4 } else { 16 }).sum()
}

fn add_r(w: [u8; 32]) -> [u8; 32] {
    let x = U256::from_be_bytes(w) + U256::from_be_bytes(word(R_HEX));
    x.to_be_bytes()
}

fn issuer_word(name: &str) -> [u8; 32] {
    word(&dossier_core::field::to_hex(
        &dossier_core::issuer_id(name).expect("issuer"),
    ))
}

#[test]
fn the_verifier_contract_alone_refuses_every_tampered_proof_and_input() {
    let Some(solc) = solc_dir() else { return };
    let e = exported(&solc);
    let mut d = deploy(&e, true);
    let (proof, input) = (d.call.proof.clone(), d.call.input.clone());
    assert!(d.verifier_says(&proof, &input), "the real proof verifies");
    for i in 0..input.len() {
        let mut bad = input.clone();
        bad[i] = add_r(bad[i]);
        assert!(!d.verifier_says(&proof, &bad), "input {i} + r refused");
        let mut bad = input.clone();
        let mut x = U256::from_be_bytes(bad[i]);
        x = if x == U256::ZERO {
            U256::from(1)
        } else {
            x - U256::from(1)
        };
        bad[i] = x.to_be_bytes();
        assert!(!d.verifier_says(&proof, &bad), "input {i} changed refused");
    }
    let mut swapped = proof.clone();
    swapped.swap(0, 6);
    swapped.swap(1, 7);
    assert!(!d.verifier_says(&swapped, &input), "A and C swapped");
    let mut off_curve = proof.clone();
    off_curve[1] = u(5);
    assert!(!d.verifier_says(&off_curve, &input), "A off the curve");
    let mut b_swapped = proof.clone();
    b_swapped.swap(2, 3);
    assert!(
        !d.verifier_says(&b_swapped, &input),
        "B's coordinates in the wrong order"
    );
    assert!(
        !d.verifier_says(&proof, &input[..input.len() - 1]),
        "an input missing"
    );
}

#[test]
fn the_anchor_contract_accepts_a_presentation_once_and_refuses_every_forgery() {
    let Some(solc) = solc_dir() else { return };
    let e = exported(&solc);
    let m = d_slots(&e);
    let mut d = deploy(&e, true);
    let alone = {
        let data = encode(
            VERIFY_PROOF,
            &[
                Arg::Words(d.call.proof.clone()),
                Arg::Array(d.call.input.clone()),
            ],
        );
        let (from, to) = (STRANGER, d.verifier);
        gas(&d.chain.call(from, to, data))
    };
    let refused = |d: &mut Deployed, c: &Call| reverted_with(&d.verify_with(c), ERRORS);

    for f in forgeries(&d, m) {
        assert_eq!(refused(&mut d, &f.call), f.full, "{}", f.what);
    }
    let mut c = d.call.clone();
    c.input[m][31] ^= 1;
    assert_eq!(
        refused(&mut d, &c),
        "WrongQuery()",
        "a proof for another query"
    );

    // The challenge is the application's: the right proof against another expected challenge
    // (in the forgeries), or a proof for another challenge, is refused.
    let mut c = d.call.clone();
    c.input[m + 1][31] ^= 1;
    c.challenge = c.input[m + 1];
    assert_eq!(
        refused(&mut d, &c),
        "InvalidProof()",
        "a tampered challenge input"
    );
    // Nobody but the application submits under its policy (no front-running on the anchor).
    let (policy, call) = (d.policy, d.call.clone());
    let r = d.verify_as(OTHER, policy, &call);
    assert_eq!(reverted_with(&r, ERRORS), "NotPolicyOwner()");
    let r = d.verify_as(APP, [7; 32], &call);
    assert_eq!(reverted_with(&r, ERRORS), "UnknownPolicy(bytes32)");

    // The real one, once; then its replay.
    let data = d.verify_data(d.policy, &d.call);
    let r = d.verify();
    assert!(r.is_success(), "{r:?}");
    let total = gas(&r);
    let r = d.verify();
    assert_eq!(reverted_with(&r, ERRORS), "NullifierUsed(uint256,uint256)");
    let intrinsic = 21_000 + calldata_gas(&data);
    eprintln!(
        "GAS shape={} inputs={} verifyProof tx={} (execution {}), anchor.verify tx={} (execution {}, calldata+intrinsic {})",
        e.call["shape"],
        d.call.input.len(),
        alone,
        alone
            - 21_000
            - calldata_gas(&encode(
                VERIFY_PROOF,
                &[Arg::Words(d.call.proof.clone()), Arg::Array(d.call.input.clone())]
            )),
        total,
        total - intrinsic,
        intrinsic
    );

    // Only posters anchor; only the owner registers shapes.
    let (size, issuers, roots) = (
        d.call.checkpoint + 1,
        d.cp_issuers.clone(),
        d.cp_roots.clone(),
    );
    let r = d.post(STRANGER, size, issuers, roots);
    assert_eq!(reverted_with(&r, ERRORS), "NotPoster()");
    let r = d.chain.call(
        STRANGER,
        d.anchor,
        encode(
            "registerShape(bytes32,address,uint8)",
            &[
                Arg::Word(d.call.shape),
                Arg::Word(addr_word(STRANGER)),
                Arg::Word(u(1)),
            ],
        ),
    );
    assert_eq!(reverted_with(&r, ERRORS), "NotOwner()");
}

#[test]
fn the_compact_variant_checks_the_same_with_less_gas() {
    let Some(solc) = solc_dir() else { return };
    let e = exported(&solc);
    let m = d_slots(&e);
    let mut d = deploy(&e, true);
    let policy = d.policy;
    let refused = |d: &mut Deployed, c: &Call| reverted_with(&d.compact_as(APP, policy, c), ERRORS);
    let call = d.call.clone();
    // Not readied: refused; only the policy's owner readies it.
    assert_eq!(refused(&mut d, &call), "NotCompact(bytes32,bytes32)");
    let r = d.ready_compact(OTHER, policy);
    assert_eq!(reverted_with(&r, ERRORS), "NotPolicyOwner()");
    let r = d.ready_compact(APP, policy);
    assert!(r.is_success(), "{r:?}");

    // Every forgery the full path refuses, refused here too.
    for f in forgeries(&d, m) {
        assert_eq!(refused(&mut d, &f.call), f.compact, "{}", f.what);
    }
    let r = d.compact_as(OTHER, policy, &call);
    assert_eq!(reverted_with(&r, ERRORS), "NotPolicyOwner()");
    // A policy with another query hash (same scope, same issuers): its term is another, so the
    // proof does not hold under it.
    let mut q = d.query_hash;
    q[31] ^= 1;
    let (s, i, sl) = (d.scope, d.policy_issuers.clone(), d.policy_slots.clone());
    let other_query = d.register_policy(q, s, i, sl);
    let data = encode(
        READY_COMPACT,
        &[Arg::Word(other_query), Arg::Word(d.call.shape)],
    );
    let (anchor, app) = (d.anchor, APP);
    assert!(d.chain.call(app, anchor, data).is_success());
    let r = d.compact_as(APP, other_query, &call);
    assert_eq!(reverted_with(&r, ERRORS), "InvalidProof()", "another query");

    // The verifier's compact path trusts its base, so it answers its anchor alone: a stranger
    // gets false even with the policy's true term.
    let base = {
        let data = encode(
            "baseOf(bytes32,bytes32,uint256)",
            &[Arg::Word(policy), Arg::Word(d.call.shape), Arg::Word(u(0))],
        );
        let x = output_word(&d.chain.call(STRANGER, anchor, data));
        let data = encode(
            "baseOf(bytes32,bytes32,uint256)",
            &[Arg::Word(policy), Arg::Word(d.call.shape), Arg::Word(u(1))],
        );
        [x, output_word(&d.chain.call(STRANGER, anchor, data))]
    };
    let mut rest = d.call.input.clone();
    rest.remove(m + 2); // the scope
    rest.remove(m); // the query hash
    let data = encode(
        VERIFY_WITH_BASE,
        &[
            Arg::Words(d.call.proof.clone()),
            Arg::Words(base.to_vec()),
            Arg::Array(rest),
        ],
    );
    let verifier = d.verifier;
    assert_eq!(output_word(&d.chain.call(STRANGER, verifier, data))[31], 0);

    // The real one, once, in either variant: the nullifier is one, whichever path used it.
    let compact = d.compact_data(policy, &call);
    let full = d.verify_data(policy, &call);
    let r = d.compact_as(APP, policy, &call);
    assert!(r.is_success(), "{r:?}");
    let compact_gas = gas(&r);
    assert_eq!(
        refused(&mut d, &call),
        "NullifierUsed(uint256,uint256)",
        "a replay"
    );
    let r = d.verify();
    assert_eq!(
        reverted_with(&r, ERRORS),
        "NullifierUsed(uint256,uint256)",
        "a replay on the full path"
    );
    // The full path's gas on a fresh deployment, for the comparison.
    let mut fresh = deploy(&e, true);
    let r = fresh.verify();
    assert!(r.is_success(), "{r:?}");
    let full_gas = gas(&r);
    eprintln!(
        "GAS shape={} anchor.verify tx={} (calldata {} bytes, {} gas) anchor.verifyCompact tx={} (calldata {} bytes, {} gas)",
        e.call["shape"],
        full_gas,
        full.len(),
        calldata_gas(&full),
        compact_gas,
        compact.len(),
        calldata_gas(&compact)
    );
    assert!(compact_gas < full_gas, "{compact_gas} against {full_gas}");
}

/// A presentation's words changed, and the reason each path refuses them with.
struct Forgery {
    what: &'static str,
    call: Call,
    /// `verify`'s reason.
    full: &'static str,
    /// `verifyCompact`'s (which never compares what it folds or reads itself).
    compact: &'static str,
}

/// The forgeries both paths refuse, for a shape of `m` slots.
fn forgeries(d: &Deployed, m: usize) -> Vec<Forgery> {
    let changed = |f: &dyn Fn(&mut Call)| {
        let mut c = d.call.clone();
        f(&mut c);
        c
    };
    let both = |what, call, reason| Forgery {
        what,
        call,
        full: reason,
        compact: reason,
    };
    let (c_x, c_y) = (d.call.proof[6], d.call.proof[7]);
    vec![
        both(
            "a tampered proof",
            changed(&|c| {
                c.proof[0] = c_x;
                c.proof[1] = c_y;
            }),
            "InvalidProof()",
        ),
        both(
            "an aliased nullifier",
            changed(&|c| c.input[m + 4] = add_r(c.input[m + 4])),
            "InputNotInField(uint256)",
        ),
        both(
            "another nullifier",
            changed(&|c| c.input[m + 4][31] ^= 1),
            "InvalidProof()",
        ),
        both(
            "another day",
            changed(&|c| c.input[m + 3] = u(1)),
            "WrongDay(uint256)",
        ),
        both(
            "a changed revealed value",
            changed(&|c| {
                let last = c.input.len() - 1;
                c.input[last][31] ^= 1;
            }),
            "InvalidProof()",
        ),
        both(
            "an input fewer",
            changed(&|c| {
                c.input.pop();
            }),
            "WrongInputCount(uint256,uint256)",
        ),
        Forgery {
            what: "another expected challenge",
            call: changed(&|c| c.challenge[31] ^= 1),
            full: "WrongChallenge()",
            compact: "InvalidProof()",
        },
        both(
            "an issuer the policy does not accept",
            changed(&|c| c.issuer_of[0] = issuer_word("training.academy")),
            "IssuerNotAccepted(uint256)",
        ),
        both(
            "an unposted checkpoint",
            changed(&|c| c.checkpoint += 1),
            "CheckpointNotPosted(uint64)",
        ),
        both(
            "an unknown shape",
            changed(&|c| c.shape[0] ^= 0xff),
            "UnknownShape(bytes32)",
        ),
    ]
}

fn d_slots(e: &Exported) -> usize {
    e.call["issuer_of"].as_array().expect("slots").len()
}

#[test]
fn a_foreign_issuer_or_another_scope_is_refused_on_chain() {
    // Regression: `verify` checked only that each root was posted recently, so a degree from
    // `training.academy` passed for a query accepting only `univ.law-school`, and a holder could
    // choose a fresh scope (a fresh nullifier) per call.
    let Some(solc) = solc_dir() else { return };
    let e = exported(&solc);
    let mut d = deploy(&e, true);
    let univ = issuer_word("univ.law-school");
    let academy = issuer_word("training.academy");
    assert_eq!(d.call.issuer_of, vec![univ]);
    // A policy that accepts only the academy: the university's root is not accepted, and the
    // academy has no such root in the checkpoint.
    let (q, s) = (d.query_hash, d.scope);
    let academy_only = d.register_policy(q, s, vec![academy], vec![u(0)]);
    let call = d.call.clone();
    let r = d.verify_as(APP, academy_only, &call);
    assert_eq!(reverted_with(&r, ERRORS), "IssuerNotAccepted(uint256)");
    let mut c = d.call.clone();
    c.issuer_of = vec![academy];
    let r = d.verify_as(APP, academy_only, &c);
    assert_eq!(reverted_with(&r, ERRORS), "RootNotInCheckpoint(uint256)");
    // Another scope (the application's scope is fixed by its policy).
    let mut other_scope = s;
    other_scope[31] ^= 1;
    let (i, sl) = (d.policy_issuers.clone(), d.policy_slots.clone());
    let scoped = d.register_policy(q, other_scope, i, sl);
    let r = d.verify_as(APP, scoped, &call);
    assert_eq!(reverted_with(&r, ERRORS), "WrongScope()");
    // The issuer named for a used slot must be one the policy accepts there.
    let mut c = d.call.clone();
    c.issuer_of = vec![[0; 32]];
    let r = d.verify_with(&c);
    assert_eq!(reverted_with(&r, ERRORS), "IssuerNotAccepted(uint256)");
    // And the honest policy still accepts it.
    let r = d.verify();
    assert!(r.is_success(), "{r:?}");
}

#[test]
fn roots_come_from_one_fresh_posted_checkpoint() {
    // Regression: a superseded root (before a revocation or a sanction update) stayed usable
    // for maxAge after its last posting, and roots of several checkpoints could be mixed.
    let Some(solc) = solc_dir() else { return };
    let e = exported(&solc);
    // Not posted.
    let mut d = deploy(&e, false);
    let r = d.verify();
    assert_eq!(reverted_with(&r, ERRORS), "CheckpointNotPosted(uint64)");
    // The next checkpoint, after a revocation, has another root for the university: the
    // presentation's root is not that checkpoint's.
    let mut d = deploy(&e, true);
    let next = d.call.checkpoint + 1;
    let mut moved = d.cp_roots.clone();
    for r in &mut moved {
        r[31] ^= 1;
    }
    let issuers = d.cp_issuers.clone();
    let r = d.post(POSTER, next, issuers.clone(), moved);
    assert!(r.is_success(), "{r:?}");
    let mut c = d.call.clone();
    c.checkpoint = next;
    let r = d.verify_with(&c);
    assert_eq!(reverted_with(&r, ERRORS), "RootNotInCheckpoint(uint256)");
    // A size is posted once: a second checkpoint of one size is a fork.
    let roots = d.cp_roots.clone();
    let r = d.post(POSTER, next, issuers.clone(), roots.clone());
    assert_eq!(reverted_with(&r, ERRORS), "CheckpointPosted(uint64)");
    let r = d.post(POSTER, next + 1, issuers, vec![]);
    assert_eq!(reverted_with(&r, ERRORS), "BadPairs()");
    // Its own checkpoint, once too old, is refused.
    d.chain.set_time(now() + MAX_AGE + 1);
    let r = d.verify();
    assert_eq!(reverted_with(&r, ERRORS), "CheckpointStale(uint64,uint64)");
    // An unknown shape.
    let mut c = d.call.clone();
    c.shape[0] ^= 0xff;
    let r = d.verify_with(&c);
    assert_eq!(reverted_with(&r, ERRORS), "UnknownShape(bytes32)");
}

/// Three appraisals at least competent (the appraisals statement), and the same with a rank
/// held since mid-2024 and no sanction running (the promotion statement): three and four
/// credentials, no reveal.
fn larger_statements() -> [(&'static str, Vec<Value>, String); 2] {
    let appraisal = |year: u64| {
        json!({"schema": "appraisal", "fields": {"year": year, "grade": "competent",
            "score": 85, "unit": "tax-audit", "training_hours": 96}})
    };
    let appraised = |year: u64| {
        json!({"schema": "appraisal", "issuers": ["hr.example"],
            "where": {"year": {"$eq": year}, "grade": {"$gte": "competent"}}})
    };
    let employment = json!({"schema": "employment", "fields": {"department": "tax",
        "position": "officer", "rank_level": "section_member_1", "rank_since": "2022-07-01",
        "hire_date": "1996-09-01", "status": "active", "sanction_until": "2021-01-01"}});
    let employed = json!({"schema": "employment", "issuers": ["hr.example"],
        "where": {"rank_since": {"$lte": "2024-06-30"}, "sanction_until": {"$lt": "2026-06-30"}}});
    let three: Vec<Value> = [2023, 2024, 2025].map(appraisal).to_vec();
    let asked: Vec<Value> = [2023, 2024, 2025].map(appraised).to_vec();
    let mut four = three.clone();
    four.push(employment);
    let mut asked_four = asked.clone();
    asked_four.push(employed);
    [
        (
            "appraisals",
            three,
            json!({"credentials": asked}).to_string(),
        ),
        (
            "promotion",
            four,
            json!({"credentials": asked_four}).to_string(),
        ),
    ]
}

#[test]
fn the_larger_shapes_refuse_every_forgery_on_both_paths_and_print_their_gas() {
    let Some(solc) = solc_dir() else { return };
    for (what, claims, query) in larger_statements() {
        let e = exported_statement(&solc, "hr.example", claims, &query);
        let m = d_slots(&e);
        assert!(m >= 3, "{what}: {m} credentials");
        let mut d = deploy(&e, true);
        let policy = d.policy;
        let r = d.ready_compact(APP, policy);
        assert!(r.is_success(), "{what}: {r:?}");
        for f in forgeries(&d, m) {
            let r = d.verify_with(&f.call);
            assert_eq!(reverted_with(&r, ERRORS), f.full, "{what}: {}", f.what);
            let r = d.compact_as(APP, policy, &f.call);
            assert_eq!(reverted_with(&r, ERRORS), f.compact, "{what}: {}", f.what);
        }
        // Accepted once on the full path, then refused on either.
        let call = d.call.clone();
        let full = d.verify_data(policy, &call);
        let r = d.verify();
        assert!(r.is_success(), "{what}: {r:?}");
        let full_gas = gas(&r);
        let r = d.compact_as(APP, policy, &call);
        assert_eq!(
            reverted_with(&r, ERRORS),
            "NullifierUsed(uint256,uint256)",
            "{what}: a replay on the compact path"
        );
        // The compact path on a fresh deployment, accepted once.
        let mut fresh = deploy(&e, true);
        let r = fresh.ready_compact(APP, fresh.policy);
        assert!(r.is_success(), "{what}: {r:?}");
        let compact = fresh.compact_data(fresh.policy, &call);
        let r = fresh.compact_as(APP, fresh.policy, &call);
        assert!(r.is_success(), "{what}: {r:?}");
        let compact_gas = gas(&r);
        let r = fresh.verify();
        assert_eq!(
            reverted_with(&r, ERRORS),
            "NullifierUsed(uint256,uint256)",
            "{what}: a replay on the full path"
        );
        eprintln!(
            "GAS statement={what} shape={} inputs={} anchor.verify tx={} (calldata {} bytes) anchor.verifyCompact tx={} (calldata {} bytes)",
            e.call["shape"],
            d.call.input.len(),
            full_gas,
            full.len(),
            compact_gas,
            compact.len(),
        );
    }
}
