//! Verify anywhere, part two: an EVM. `dossier export solidity` writes a Groth16 verifier per
//! shape and the anchor contract; solc-js (npm, pinned in `fixtures/solc/`, installed by
//! `.ci/run`) compiles them, and revm runs them in-process with the BN254 precompiles. A real
//! presentation is accepted once; a replay, a tampered proof or public input, an unanchored or
//! stale root, a wrong query or day, a non-canonical input and a poster without the right are
//! each refused with their own reason. Gas is printed for BENCHMARKS.md.

use dossier_tests::{ok, prove_one, Proven};
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
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/solc"));
    if dir.join("node_modules/solc").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install fixtures/solc (npm ci)"
    );
    eprintln!("solc-js not installed: run `npm ci` in fixtures/solc to run the EVM tests");
    None
}

/// A presentation (proven by the CLI) exported as Solidity and call data, compiled by solc-js.
struct Exported {
    _dir: tempfile::TempDir,
    contracts: Value,
    call: Value,
}

fn exported(solc: &Path) -> Exported {
    let dir = tempfile::tempdir().expect("tmp");
    let Proven {
        home,
        params,
        presentation,
        ..
    } = prove_one(
        dir.path(),
        "univ.law-school",
        json!({"schema": "qualification", "fields": {"degree_level": "master",
            "field": "law", "institution": "Law School", "award_year": 2015}}),
        r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
        "where": {"degree_level": {"$gte": "master"}, "field": {"$eq": "law"}}, "reveal": ["award_year"]}]}"#,
        "recruitment:2026:chain",
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
    "UnknownShape(bytes32)",
    "WrongInputCount(uint256,uint256)",
    "InputNotInField(uint256)",
    "RootNotAnchored(uint256)",
    "RootStale(uint256,uint64)",
    "WrongQuery(uint256,uint256)",
    "WrongDay(uint256)",
    "NullifierUsed(uint256,uint256)",
    "InvalidProof()",
];

const VERIFY: &str = "verify(bytes32,uint256[8],uint256[],uint256)";
const VERIFY_PROOF: &str = "verifyProof(uint256[8],uint256[])";

struct Deployed {
    chain: Chain,
    anchor: Address,
    verifier: Address,
    shape: [u8; 32],
    proof: Vec<[u8; 32]>,
    input: Vec<[u8; 32]>,
    query_hash: [u8; 32],
    roots: Vec<[u8; 32]>,
}

const MAX_AGE: u64 = 3600;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn deploy(e: &Exported, anchor_roots: bool) -> Deployed {
    let mut chain = Chain::new(now());
    let c = &e.contracts["contracts"];
    let anchor = chain.deploy(
        c["DossierAnchor"]["bytecode"].as_str().expect("anchor"),
        &[u(MAX_AGE)],
    );
    let vname = e.call["verifier"].as_str().expect("verifier name");
    let verifier = chain.deploy(c[vname]["bytecode"].as_str().expect("verifier"), &[]);
    let shape = word(e.call["shape_id"].as_str().expect("shape id"));
    let words = |k: &str| -> Vec<[u8; 32]> {
        e.call[k]
            .as_array()
            .expect("words")
            .iter()
            .map(|w| word(w.as_str().expect("word")))
            .collect()
    };
    let (proof, input, roots) = (words("proof"), words("input"), words("roots"));
    let r = chain.call(
        OWNER,
        anchor,
        encode(
            "registerShape(bytes32,address,uint8)",
            &[
                Arg::Word(shape),
                Arg::Word(addr_word(verifier)),
                Arg::Word(u(roots.len() as u64)),
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
    if anchor_roots {
        let r = chain.call(
            POSTER,
            anchor,
            encode(
                "anchor(uint256[],uint64)",
                &[Arg::Array(roots.clone()), Arg::Word(u(2))],
            ),
        );
        assert!(r.is_success(), "{r:?}");
    }
    Deployed {
        chain,
        anchor,
        verifier,
        shape,
        proof,
        input,
        query_hash: word(e.call["query_hash"].as_str().expect("qh")),
        roots,
    }
}

impl Deployed {
    fn verify_with(
        &mut self,
        proof: &[[u8; 32]],
        input: &[[u8; 32]],
        query: [u8; 32],
    ) -> ExecutionResult {
        let data = encode(
            VERIFY,
            &[
                Arg::Word(self.shape),
                Arg::Words(proof.to_vec()),
                Arg::Array(input.to_vec()),
                Arg::Word(query),
            ],
        );
        self.chain.call(STRANGER, self.anchor, data)
    }

    fn verify(&mut self) -> ExecutionResult {
        let (p, i, q) = (self.proof.clone(), self.input.clone(), self.query_hash);
        self.verify_with(&p, &i, q)
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

#[test]
fn the_anchor_contract_accepts_a_presentation_once_and_refuses_every_forgery() {
    let Some(solc) = solc_dir() else { return };
    let e = exported(&solc);
    let m = e.call["roots"].as_array().expect("roots").len();
    let mut d = deploy(&e, true);

    // The verifier alone: the real proof holds; tampered ones do not; inputs >= r are refused.
    let (proof, input) = (d.proof.clone(), d.input.clone());
    assert!(d.verifier_says(&proof, &input), "the real proof verifies");
    let data = encode(
        VERIFY_PROOF,
        &[Arg::Words(proof.clone()), Arg::Array(input.clone())],
    );
    let alone = d.chain.call(STRANGER, d.verifier, data.clone());
    let verifier_gas = gas(&alone);
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

    // Through the anchor: a wrong query, a tampered proof, a non-canonical nullifier.
    let mut wrong_query = d.query_hash;
    wrong_query[31] ^= 1;
    let r = d.verify_with(&proof, &input, wrong_query);
    assert_eq!(reverted_with(&r, ERRORS), "WrongQuery(uint256,uint256)");
    let mut bad_proof = proof.clone();
    bad_proof[0] = proof[6];
    bad_proof[1] = proof[7];
    let r = d.verify_with(&bad_proof, &input, d.query_hash);
    assert_eq!(reverted_with(&r, ERRORS), "InvalidProof()");
    let mut challenge = input.clone();
    challenge[m + 1][31] ^= 1;
    let r = d.verify_with(&proof, &challenge, d.query_hash);
    assert_eq!(reverted_with(&r, ERRORS), "InvalidProof()");
    let mut aliased = input.clone();
    aliased[m + 4] = add_r(aliased[m + 4]);
    let r = d.verify_with(&proof, &aliased, d.query_hash);
    assert_eq!(reverted_with(&r, ERRORS), "InputNotInField(uint256)");
    let mut day = input.clone();
    day[m + 3] = u(1);
    let r = d.verify_with(&proof, &day, d.query_hash);
    assert_eq!(reverted_with(&r, ERRORS), "WrongDay(uint256)");

    // The real one, once; then its replay.
    let data = encode(
        VERIFY,
        &[
            Arg::Word(d.shape),
            Arg::Words(proof.clone()),
            Arg::Array(input.clone()),
            Arg::Word(d.query_hash),
        ],
    );
    let r = d.verify();
    assert!(r.is_success(), "{r:?}");
    let total = gas(&r);
    let r = d.verify();
    assert_eq!(reverted_with(&r, ERRORS), "NullifierUsed(uint256,uint256)");

    let intrinsic = 21_000 + calldata_gas(&data);
    eprintln!(
        "GAS shape={} inputs={} verifyProof tx={} (execution {}), anchor.verify tx={} (execution {}, calldata+intrinsic {})",
        e.call["shape"],
        input.len(),
        verifier_gas,
        verifier_gas
            - 21_000
            - calldata_gas(&encode(
                VERIFY_PROOF,
                &[Arg::Words(proof.clone()), Arg::Array(input.clone())]
            )),
        total,
        total - intrinsic,
        intrinsic
    );
    // Only posters anchor; only the owner registers.
    let r = d.chain.call(
        STRANGER,
        d.anchor,
        encode(
            "anchor(uint256[],uint64)",
            &[Arg::Array(d.roots.clone()), Arg::Word(u(3))],
        ),
    );
    assert_eq!(reverted_with(&r, ERRORS), "NotPoster()");
    let r = d.chain.call(
        STRANGER,
        d.anchor,
        encode(
            "registerShape(bytes32,address,uint8)",
            &[
                Arg::Word(d.shape),
                Arg::Word(addr_word(STRANGER)),
                Arg::Word(u(1)),
            ],
        ),
    );
    assert_eq!(reverted_with(&r, ERRORS), "NotOwner()");
}

#[test]
fn unanchored_and_stale_roots_are_refused() {
    let Some(solc) = solc_dir() else { return };
    let e = exported(&solc);
    // Never anchored.
    let mut d = deploy(&e, false);
    let r = d.verify();
    assert_eq!(reverted_with(&r, ERRORS), "RootNotAnchored(uint256)");
    // Anchored, then too old (the chain's clock moves past maxAge).
    let mut d = deploy(&e, true);
    let t = now() + MAX_AGE + 1;
    d.chain.set_time(t);
    let r = d.verify();
    assert_eq!(reverted_with(&r, ERRORS), "RootStale(uint256,uint64)");
    // Re-anchored by the next checkpoint: fresh again, and accepted.
    let data = encode(
        "anchor(uint256[],uint64)",
        &[Arg::Array(d.roots.clone()), Arg::Word(u(3))],
    );
    let r = d.chain.call(POSTER, d.anchor, data);
    assert!(r.is_success(), "{r:?}");
    let r = d.verify();
    assert!(r.is_success(), "{r:?}");
    // An unknown shape.
    let (p, i, q) = (d.proof.clone(), d.input.clone(), d.query_hash);
    d.shape[0] ^= 0xff;
    let r = d.verify_with(&p, &i, q);
    assert_eq!(reverted_with(&r, ERRORS), "UnknownShape(bytes32)");
}
