//! The one error type of the core crate.

/// What went wrong in an encoding, a hash or a signed object. Messages name the field or object
/// at fault and the rule broken, never the offending secret or personal value itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A field element was at or above the modulus, or otherwise not in its one canonical form.
    #[error("{what}: not a canonical field element (must be below the BN254 scalar modulus)")]
    NonCanonical {
        /// The value's name.
        what: String,
    },
    /// A value was not in the expected shape.
    #[error("{what}: malformed: {reason}")]
    Malformed {
        /// The value's name.
        what: String,
        /// Which rule it broke.
        reason: String,
    },
    /// Poseidon was called with an unsupported number of inputs.
    #[error("poseidon takes 1 to 12 inputs, got {inputs}")]
    PoseidonArity {
        /// How many inputs were given.
        inputs: usize,
    },
    /// A credential field's value could not be encoded under its type.
    #[error("field `{field}`: {reason}")]
    Value {
        /// The schema field at fault.
        field: String,
        /// Which rule the value broke (never the value itself).
        reason: String,
    },
    /// A schema field required by the schema was not given.
    #[error("field `{field}` is required by schema `{schema}` but missing")]
    MissingField {
        /// The schema.
        schema: String,
        /// The missing field.
        field: String,
    },
    /// A field was given that the schema does not declare.
    #[error("field `{field}` is not declared by schema `{schema}`")]
    UnknownField {
        /// The schema.
        schema: String,
        /// The undeclared field.
        field: String,
    },
    /// No schema of that name is known.
    #[error("unknown schema `{name}`")]
    UnknownSchema {
        /// The name asked for.
        name: String,
    },
    /// A schema definition is invalid.
    #[error("schema `{schema}`: {reason}")]
    Schema {
        /// The schema.
        schema: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A signature did not verify.
    #[error("{what}: signature does not verify")]
    BadSignature {
        /// The signed object.
        what: String,
    },
    /// A key could not be read or used.
    #[error("key: {reason}")]
    Key {
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint lacks the witness cosignatures a policy demands.
    #[error("checkpoint: {found} of the {needed} witness cosignatures the policy demands")]
    Witnesses {
        /// Asked for.
        needed: usize,
        /// Valid ones found.
        found: usize,
    },
    /// A sealed wallet that cannot be opened with any passphrase: unknown format, parameters
    /// outside their bounds, malformed fields.
    #[error("not a usable wallet backup: {reason}")]
    Sealed {
        /// What is wrong (never the contents).
        reason: String,
    },
    /// A sealed wallet that did not open: the passphrase is wrong, or a byte was changed.
    #[error("the passphrase is wrong or the backup was altered")]
    Unsealed,
    /// The holder's credentials do not satisfy a statement (checked natively before a witness
    /// is built, for every backend).
    #[error(transparent)]
    Unsatisfied(#[from] crate::query::Unsatisfied),
}
