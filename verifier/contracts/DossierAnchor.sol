// SPDX-License-Identifier: Apache-2.0
// dossier's anchor contract, exported by `dossier export solidity`. Written for dossier; the
// per-shape verifiers beside it are generated from the verifying keys.
pragma solidity ^0.8.24;

/// The verifier of one statement shape (generated per shape by `dossier export solidity`).
interface IDossierVerifier {
    function INPUTS() external view returns (uint256);

    function verifyProof(uint256[8] calldata proof, uint256[] calldata input) external view returns (bool);

    function policyBase(uint256 queryHash, uint256 scope) external view returns (uint256[2] memory);

    function verifyProofWithBase(uint256[8] calldata proof, uint256[2] calldata base, uint256[] calldata rest)
        external
        view
        returns (bool);
}

/// @title Anchored, fresh, unreplayed dossier presentations on an EVM chain
/// @notice The same checks as dossier's Rust verifier, on chain:
/// - the ledger's posters post each signed checkpoint as (issuer id, registry root) pairs under
///   its size; a size is posted once (a second, different checkpoint of one size is a fork);
/// - a verifying application registers a *policy*: the query hash it asks for, its scope, and
///   for each credential slot the issuers it accepts. Only that application may verify under
///   its policy, so the scope is the application's (a holder cannot pick a fresh scope, and so a
///   fresh nullifier, per call) and nobody can submit a presentation in its place;
/// - `verify` takes the challenge the application expects (for example derived from the
///   beneficiary's address and a nonce: see `challengeFor`, so that a proof copied from the
///   mempool is worth nothing to anyone else), the checkpoint the presentation is anchored by,
///   and the issuer of each used slot; it checks the proof holds, every used root is that
///   checkpoint's root of an issuer the policy accepts for that slot, unused slots carry no root,
///   the checkpoint was posted within `maxAge`, the day is the chain's day (one day of slack),
///   and the nullifier is new in the scope.
///
/// Public inputs follow dossier's layout for a shape with M credential slots:
/// `[root_0 .. root_{M-1}, queryHash, challenge, scope, today, nullifier, revealed...]`.
///
/// `verifyCompact` checks the same things with less call data and two `ecMul`s fewer (the
/// on-chain variant of every shape, its proofs and inputs unchanged): the roots are read from
/// the posted checkpoint by the issuer named for each slot, the challenge is given once, and the
/// query hash and scope, which the policy fixes, are folded once into the policy's term of the
/// verifier's input sum (`readyCompact`, computed by the shape's verifier, which answers only
/// this contract for that path). Re-registering a shape leaves compact policies failing closed
/// (`InvalidProof`) until they are readied again.
contract DossierAnchor {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// At most this many (issuer, slot) pairs in a policy, and registries in a checkpoint.
    uint256 public constant MAX_PAIRS = 64;

    struct Shape {
        IDossierVerifier verifier;
        uint8 credentials;
        /// The verifier's public input count (read once, at registration).
        uint8 inputs;
    }

    struct Policy {
        address owner;
        /// Bit i set: slot i is used (some issuer is accepted for it). Beside the owner: one
        /// storage slot for both.
        uint96 usedSlots;
        uint256 queryHash;
        uint256 scope;
    }

    address public owner;
    uint64 public maxAge;
    mapping(address => bool) public posters;
    mapping(bytes32 => Shape) public shapes;
    /// When each checkpoint (by size) was posted, unix seconds; 0 when never.
    mapping(uint64 => uint64) public postedAt;
    /// Each posted checkpoint's registry root per issuer id.
    mapping(uint64 => mapping(uint256 => uint256)) public rootOf;
    mapping(bytes32 => Policy) public policies;
    /// Whether a policy accepts an issuer for a slot.
    mapping(bytes32 => mapping(uint256 => mapping(uint256 => bool))) public accepts;
    /// Nullifiers used, per scope.
    mapping(uint256 => mapping(uint256 => bool)) public nullifierUsed;
    /// Each policy's term of the input sum per shape (query hash and scope folded in), for
    /// `verifyCompact`; [0, 0] until `readyCompact`.
    mapping(bytes32 => mapping(bytes32 => uint256[2])) public baseOf;

    event Anchored(uint64 indexed checkpointSize, uint256 registries);
    event ShapeRegistered(bytes32 indexed shape, address verifier, uint8 credentials);
    event PolicyRegistered(bytes32 indexed policy, address indexed owner, uint256 queryHash, uint256 scope);
    event Verified(bytes32 indexed policy, uint256 indexed scope, uint256 nullifier, uint256 challenge);
    event CompactReady(bytes32 indexed policy, bytes32 indexed shape);

    error NotOwner();
    error NotPoster();
    error NotPolicyOwner();
    error UnknownShape(bytes32 shape);
    error UnknownPolicy(bytes32 policy);
    error PolicyExists(bytes32 policy);
    error BadPairs();
    error CheckpointPosted(uint64 checkpointSize);
    error WrongInputCount(uint256 given, uint256 expected);
    error InputNotInField(uint256 index);
    error CheckpointNotPosted(uint64 checkpointSize);
    error CheckpointStale(uint64 checkpointSize, uint64 postedAt);
    error UnusedSlotHasRoot(uint256 slot);
    error IssuerNotAccepted(uint256 slot);
    error RootNotInCheckpoint(uint256 slot);
    error WrongQuery();
    error WrongScope();
    error WrongChallenge();
    error WrongDay(uint256 today);
    error NullifierUsed(uint256 scope, uint256 nullifier);
    error InvalidProof();
    error NotCompact(bytes32 policy, bytes32 shape);

    constructor(uint64 maxAge_) {
        owner = msg.sender;
        maxAge = maxAge_;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    function setPoster(address poster, bool allowed) external onlyOwner {
        posters[poster] = allowed;
    }

    function registerShape(bytes32 shape, IDossierVerifier verifier, uint8 credentials) external onlyOwner {
        uint256 inputs = verifier.INPUTS();
        if (inputs > type(uint8).max || inputs < uint256(credentials) + 5) revert WrongInputCount(inputs, credentials);
        shapes[shape] = Shape(verifier, credentials, uint8(inputs));
        emit ShapeRegistered(shape, address(verifier), credentials);
    }

    /// Posts a signed checkpoint's registry roots (every registry, by issuer id) under its size.
    function anchor(uint64 checkpointSize, uint256[] calldata issuers, uint256[] calldata roots) external {
        if (!posters[msg.sender]) revert NotPoster();
        if (issuers.length != roots.length || issuers.length == 0 || issuers.length > MAX_PAIRS) {
            revert BadPairs();
        }
        if (postedAt[checkpointSize] != 0) revert CheckpointPosted(checkpointSize);
        for (uint256 i = 0; i < issuers.length; i++) {
            if (issuers[i] >= R || issuers[i] == 0) revert InputNotInField(i);
            if (roots[i] >= R) revert InputNotInField(i);
            rootOf[checkpointSize][issuers[i]] = roots[i];
        }
        postedAt[checkpointSize] = uint64(block.timestamp);
        emit Anchored(checkpointSize, issuers.length);
    }

    /// Registers the caller's policy: its query, its scope, and the issuers it accepts for each
    /// slot (`issuers[k]` accepted for slot `slots[k]`). Returns the policy's id.
    function registerPolicy(uint256 queryHash, uint256 scope, uint256[] calldata issuers, uint256[] calldata slots)
        external
        returns (bytes32 id)
    {
        if (issuers.length != slots.length || issuers.length == 0 || issuers.length > MAX_PAIRS) {
            revert BadPairs();
        }
        if (queryHash >= R || scope >= R) revert InputNotInField(0);
        id = keccak256(abi.encode(msg.sender, queryHash, scope, issuers, slots));
        if (policies[id].owner != address(0)) revert PolicyExists(id);
        uint256 used = 0;
        for (uint256 k = 0; k < issuers.length; k++) {
            if (slots[k] >= 32 || issuers[k] == 0 || issuers[k] >= R) revert BadPairs();
            accepts[id][slots[k]][issuers[k]] = true;
            used |= uint256(1) << slots[k];
        }
        policies[id] = Policy(msg.sender, uint96(used), queryHash, scope);
        emit PolicyRegistered(id, msg.sender, queryHash, scope);
    }

    /// A challenge that binds a presentation to one beneficiary of one application: what a
    /// verifying application asks its holders to prove with.
    function challengeFor(address application, address beneficiary, uint256 nonce) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(application, beneficiary, nonce))) % R;
    }

    /// Checks a presentation under the caller's policy and records its nullifier; reverts with
    /// the reason otherwise. `issuerOf[i]` names the issuer whose root slot `i` uses (0 for an
    /// unused slot).
    function verify(
        bytes32 policy,
        bytes32 shape,
        uint64 checkpointSize,
        uint256 challenge,
        uint256[8] calldata proof,
        uint256[] calldata input,
        uint256[] calldata issuerOf
    ) external returns (bool) {
        Policy memory pol = _policyOf(policy);
        uint256 m = _checkInputs(shape, input, issuerOf);
        _checkRoots(policy, pol.usedSlots, checkpointSize, input, issuerOf, m);
        _checkBindings(pol, challenge, input, m);
        uint256 nullifier = input[m + 4];
        if (nullifierUsed[pol.scope][nullifier]) revert NullifierUsed(pol.scope, nullifier);
        if (!shapes[shape].verifier.verifyProof(proof, input)) revert InvalidProof();
        nullifierUsed[pol.scope][nullifier] = true;
        emit Verified(policy, pol.scope, nullifier, challenge);
        return true;
    }

    /// Readies the caller's policy for `verifyCompact` with a shape: the shape's verifier folds
    /// the policy's query hash and scope into its term of the input sum, kept here.
    function readyCompact(bytes32 policy, bytes32 shape) external {
        Policy memory pol = _policyOf(policy);
        IDossierVerifier v = shapes[shape].verifier;
        if (address(v) == address(0)) revert UnknownShape(shape);
        baseOf[policy][shape] = v.policyBase(pol.queryHash, pol.scope);
        emit CompactReady(policy, shape);
    }

    /// `verify` with fewer inputs in call data (see the contract's notice): `tail` is the
    /// presentation's `[today, nullifier, revealed...]`; every slot's root is the checkpoint's
    /// root of the issuer `issuerOf` names (0 for an unused slot); the query hash and scope are
    /// the policy's; the challenge is the caller's. Same checks, same reasons.
    function verifyCompact(
        bytes32 policy,
        bytes32 shape,
        uint64 checkpointSize,
        uint256 challenge,
        uint256[] calldata tail,
        uint256[8] calldata proof,
        uint256[] calldata issuerOf
    ) external returns (bool) {
        uint256 usedSlots = _ownUsedSlots(policy);
        uint256[] memory rest = _compactInputs(shape, challenge, tail, issuerOf);
        _fillRoots(policy, usedSlots, checkpointSize, issuerOf, rest);
        _checkCompactProof(policy, shape, proof, rest, tail[1], challenge);
        return true;
    }

    /// The caller's own policy's used slots (one storage read for the owner and the slots).
    function _ownUsedSlots(bytes32 policy) internal view returns (uint256) {
        Policy storage pol = policies[policy];
        address policyOwner = pol.owner;
        if (policyOwner == address(0)) revert UnknownPolicy(policy);
        if (msg.sender != policyOwner) revert NotPolicyOwner();
        return pol.usedSlots;
    }

    /// The nullifier is new in the policy's scope and the proof holds with the policy's term;
    /// records the nullifier.
    function _checkCompactProof(
        bytes32 policy,
        bytes32 shape,
        uint256[8] calldata proof,
        uint256[] memory rest,
        uint256 nullifier,
        uint256 challenge
    ) internal {
        uint256 scope = policies[policy].scope;
        if (nullifierUsed[scope][nullifier]) revert NullifierUsed(scope, nullifier);
        uint256[2] memory base = baseOf[policy][shape];
        if (base[0] == 0 && base[1] == 0) revert NotCompact(policy, shape);
        if (!shapes[shape].verifier.verifyProofWithBase(proof, base, rest)) revert InvalidProof();
        nullifierUsed[scope][nullifier] = true;
        emit Verified(policy, scope, nullifier, challenge);
    }

    /// The shape is registered, `tail` and `issuerOf` have its lengths, every given value is
    /// canonical and the day is the chain's; returns the shape's inputs without the query hash
    /// and scope, roots still to fill: `[roots, challenge, tail...]`.
    function _compactInputs(bytes32 shape, uint256 challenge, uint256[] calldata tail, uint256[] calldata issuerOf)
        internal
        view
        returns (uint256[] memory rest)
    {
        Shape memory s = shapes[shape];
        if (address(s.verifier) == address(0)) revert UnknownShape(shape);
        uint256 m = s.credentials;
        if (issuerOf.length != m) revert WrongInputCount(issuerOf.length, m);
        // Inputs less the roots, query hash, challenge and scope.
        if (tail.length + m + 3 != s.inputs) revert WrongInputCount(tail.length, s.inputs - m - 3);
        if (challenge >= R) revert InputNotInField(m + 1);
        rest = new uint256[](m + 1 + tail.length);
        rest[m] = challenge;
        for (uint256 i = 0; i < tail.length; i++) {
            if (tail[i] >= R) revert InputNotInField(m + 3 + i);
            rest[m + 1 + i] = tail[i];
        }
        uint256 day = block.timestamp / 86400;
        uint256 today = tail[0];
        if (today + 1 < day || today > day + 1) revert WrongDay(today);
    }

    /// As `_checkRoots`, reading each used slot's root from the checkpoint into `rest`.
    function _fillRoots(
        bytes32 policy,
        uint256 usedSlots,
        uint64 checkpointSize,
        uint256[] calldata issuerOf,
        uint256[] memory rest
    ) internal view {
        uint64 at = postedAt[checkpointSize];
        if (at == 0) revert CheckpointNotPosted(checkpointSize);
        if (block.timestamp - at > maxAge) revert CheckpointStale(checkpointSize, at);
        for (uint256 i = 0; i < issuerOf.length; i++) {
            if ((usedSlots >> i) & 1 == 0) {
                if (issuerOf[i] != 0) revert UnusedSlotHasRoot(i);
                continue;
            }
            if (!accepts[policy][i][issuerOf[i]]) revert IssuerNotAccepted(i);
            uint256 root = rootOf[checkpointSize][issuerOf[i]];
            if (root == 0) revert RootNotInCheckpoint(i);
            rest[i] = root;
        }
    }

    /// The caller's own policy.
    function _policyOf(bytes32 policy) internal view returns (Policy memory pol) {
        pol = policies[policy];
        if (pol.owner == address(0)) revert UnknownPolicy(policy);
        if (msg.sender != pol.owner) revert NotPolicyOwner();
    }

    /// The shape is registered, the inputs are as many as its verifier takes and canonical, and
    /// one issuer is named per slot; returns the shape's slot count.
    function _checkInputs(bytes32 shape, uint256[] calldata input, uint256[] calldata issuerOf)
        internal
        view
        returns (uint256 m)
    {
        Shape memory s = shapes[shape];
        if (address(s.verifier) == address(0)) revert UnknownShape(shape);
        m = s.credentials;
        if (input.length != s.inputs) revert WrongInputCount(input.length, s.inputs);
        if (issuerOf.length != m) revert WrongInputCount(issuerOf.length, m);
        // Canonical inputs only: x and x + R would otherwise be two nullifiers for one proof.
        for (uint256 i = 0; i < input.length; i++) {
            if (input[i] >= R) revert InputNotInField(i);
        }
    }

    /// The query, challenge, scope and day of the inputs are the policy's, the caller's and the
    /// chain's.
    function _checkBindings(Policy memory pol, uint256 challenge, uint256[] calldata input, uint256 m)
        internal
        view
    {
        if (input[m] != pol.queryHash) revert WrongQuery();
        if (input[m + 1] != challenge) revert WrongChallenge();
        if (input[m + 2] != pol.scope) revert WrongScope();
        uint256 day = block.timestamp / 86400;
        uint256 today = input[m + 3];
        if (today + 1 < day || today > day + 1) revert WrongDay(today);
    }

    /// Every used slot's root is the one checkpoint's root of an issuer the policy accepts for
    /// that slot; unused slots carry no root; the checkpoint is fresh.
    function _checkRoots(
        bytes32 policy,
        uint256 usedSlots,
        uint64 checkpointSize,
        uint256[] calldata input,
        uint256[] calldata issuerOf,
        uint256 m
    ) internal view {
        uint64 at = postedAt[checkpointSize];
        if (at == 0) revert CheckpointNotPosted(checkpointSize);
        if (block.timestamp - at > maxAge) revert CheckpointStale(checkpointSize, at);
        for (uint256 i = 0; i < m; i++) {
            if ((usedSlots >> i) & 1 == 0) {
                if (input[i] != 0 || issuerOf[i] != 0) revert UnusedSlotHasRoot(i);
                continue;
            }
            if (!accepts[policy][i][issuerOf[i]]) revert IssuerNotAccepted(i);
            uint256 root = rootOf[checkpointSize][issuerOf[i]];
            if (root == 0 || root != input[i]) revert RootNotInCheckpoint(i);
        }
    }
}
