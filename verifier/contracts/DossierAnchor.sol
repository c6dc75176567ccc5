// SPDX-License-Identifier: Apache-2.0
// dossier's anchor contract, exported by `dossier export solidity`. Written for dossier; the
// per-shape verifiers beside it are generated from the verifying keys.
pragma solidity ^0.8.24;

/// The verifier of one statement shape (generated per shape by `dossier export solidity`).
interface IDossierVerifier {
    function INPUTS() external view returns (uint256);

    function verifyProof(uint256[8] calldata proof, uint256[] calldata input) external view returns (bool);
}

/// @title Anchored, fresh, unreplayed dossier presentations on an EVM chain
/// @notice The ledger's operator posts the registry roots of each signed checkpoint; `verify`
/// accepts a presentation when its Groth16 proof holds, every registry root it uses was posted
/// within `maxAge` seconds, its day is the chain's day (one day of slack either way), it answers
/// the query the caller asks for, and its nullifier was never used before in its scope.
///
/// Public inputs follow dossier's layout for a shape with M credential slots:
/// `[root_0 .. root_{M-1}, queryHash, challenge, scope, today, nullifier, revealed...]`.
contract DossierAnchor {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    struct Shape {
        IDossierVerifier verifier;
        uint8 credentials;
    }

    address public owner;
    uint64 public maxAge;
    mapping(address => bool) public posters;
    mapping(bytes32 => Shape) public shapes;
    /// When each registry root was last posted (unix seconds); 0 when never.
    mapping(uint256 => uint64) public anchoredAt;
    /// Nullifiers used, per scope.
    mapping(uint256 => mapping(uint256 => bool)) public nullifierUsed;

    event Anchored(uint256 indexed root, uint64 checkpointSize);
    event ShapeRegistered(bytes32 indexed shape, address verifier, uint8 credentials);
    event Verified(bytes32 indexed shape, uint256 indexed scope, uint256 nullifier, uint256 challenge);

    error NotOwner();
    error NotPoster();
    error UnknownShape(bytes32 shape);
    error WrongInputCount(uint256 given, uint256 expected);
    error InputNotInField(uint256 index);
    error RootNotAnchored(uint256 slot);
    error RootStale(uint256 slot, uint64 anchoredAt);
    error WrongQuery(uint256 given, uint256 expected);
    error WrongDay(uint256 today);
    error NullifierUsed(uint256 scope, uint256 nullifier);
    error InvalidProof();

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
        shapes[shape] = Shape(verifier, credentials);
        emit ShapeRegistered(shape, address(verifier), credentials);
    }

    /// Posts the registry roots of a checkpoint (all of them, so that unchanged registries stay fresh).
    function anchor(uint256[] calldata roots, uint64 checkpointSize) external {
        if (!posters[msg.sender]) revert NotPoster();
        uint64 at = uint64(block.timestamp);
        for (uint256 i = 0; i < roots.length; i++) {
            if (roots[i] >= R || roots[i] == 0) revert InputNotInField(i);
            anchoredAt[roots[i]] = at;
            emit Anchored(roots[i], checkpointSize);
        }
    }

    /// Checks a presentation and records its nullifier; reverts with the reason otherwise.
    function verify(bytes32 shape, uint256[8] calldata proof, uint256[] calldata input, uint256 queryHash)
        external
        returns (bool)
    {
        Shape memory s = shapes[shape];
        if (address(s.verifier) == address(0)) revert UnknownShape(shape);
        uint256 m = s.credentials;
        if (input.length < m + 5) revert WrongInputCount(input.length, m + 5);
        // Canonical inputs only: x and x + R would otherwise be two nullifiers for one proof.
        for (uint256 i = 0; i < input.length; i++) {
            if (input[i] >= R) revert InputNotInField(i);
        }
        for (uint256 i = 0; i < m; i++) {
            uint256 root = input[i];
            if (root == 0) continue; // an unused slot
            uint64 at = anchoredAt[root];
            if (at == 0) revert RootNotAnchored(i);
            if (block.timestamp - at > maxAge) revert RootStale(i, at);
        }
        if (input[m] != queryHash) revert WrongQuery(input[m], queryHash);
        uint256 day = block.timestamp / 86400;
        uint256 today = input[m + 3];
        if (today + 1 < day || today > day + 1) revert WrongDay(today);
        uint256 scope = input[m + 2];
        uint256 nullifier = input[m + 4];
        if (nullifierUsed[scope][nullifier]) revert NullifierUsed(scope, nullifier);
        if (!s.verifier.verifyProof(proof, input)) revert InvalidProof();
        nullifierUsed[scope][nullifier] = true;
        emit Verified(shape, scope, nullifier, input[m + 1]);
        return true;
    }
}
