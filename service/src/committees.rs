//! Committee issuance over HTTP: an issuer's office proposes a credential of a schema under a
//! committee, each member approves it with their own token, and the approval that meets the
//! threshold issues it (the leaf, its ledger entry carrying the approvals and the holder's
//! opening, in one transaction) before the answer.
//!
//! The service holds each member's key in its home (`keys/members/<member>.key`, made by
//! `dossier committee member`), as it holds issuers' keys; a member's token lets the service
//! sign with that key only. A member who keeps their key elsewhere approves with the CLI
//! (`dossier committee approve --key`) against the same store.

use crate::extract::{Body, IssuerOrMember, IssuerToken, MemberToken, PathArgs, ProposalId};
use crate::issuers::Issued;
use crate::{blocking, now, tables, AppState, ServiceError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use dossier_core::credential::Claim;
use dossier_core::field;
use dossier_store::authority::Proposal;
use dossier_store::home::KeyFile;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// A credential to propose.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeBody {
    /// The claim (schema, holder commitment, optional expiry, fields).
    #[schema(value_type = Object)]
    pub claim: Claim,
    /// The issue date, `YYYY-MM-DD` (default: today).
    #[serde(default)]
    pub issued_at: Option<String>,
}

/// A pending proposal, as its committee reviews it (never the salt).
#[derive(Serialize, ToSchema)]
pub struct ProposalView {
    /// The proposal's id.
    pub proposal: u64,
    /// The schema.
    pub schema: String,
    /// The credential id it will have.
    pub credential_id: u32,
    /// The holder commitment it is bound to.
    pub holder: String,
    /// The values it will carry.
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Its commitment (what each member signs, with its issuer, schema and id).
    pub commitment: String,
    /// The public keys of the members who approved it (hex).
    pub approvals: Vec<String>,
    /// Approvals it needs.
    pub threshold: u8,
}

/// A list of proposals.
#[derive(Serialize, ToSchema)]
pub struct ProposalList {
    /// Oldest first.
    pub proposals: Vec<ProposalView>,
}

/// The outcome of an approval.
#[derive(Serialize, ToSchema)]
pub struct ApprovalOutcome {
    /// The proposal.
    pub proposal: u64,
    /// Approvals so far.
    pub approvals: usize,
    /// Approvals it needs.
    pub threshold: u8,
    /// The credential, if this approval met the threshold and it was issued.
    pub issued: Option<Issued>,
}

fn view(state: &AppState, p: &Proposal) -> Result<ProposalView, ServiceError> {
    let info = state.store.issuer(&p.opening.issuer)?;
    let threshold = state
        .store
        .committee(&info, &p.opening.schema_id)?
        .map_or(0, |c| c.threshold);
    Ok(ProposalView {
        proposal: p.id,
        schema: p.opening.schema.clone(),
        credential_id: p.opening.credential_id,
        holder: field::to_hex(&p.opening.holder),
        fields: p.opening.fields.clone(),
        commitment: field::to_hex(&p.opening.commitment),
        approvals: p.approvals.iter().map(|a| a.member.clone()).collect(),
        threshold,
    })
}

/// Proposes a credential of a schema under the issuer's committee.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/proposals", tag = "issuers",
    params(("issuer" = String, Path, description = "The issuer's name")),
    request_body = ProposeBody, security(("bearer" = [])),
    responses((status = 201, description = "Proposed", body = ProposalView),
              (status = 400, description = "Invalid claim, or a schema without a committee", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token, or not accredited for the schema", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer", body = crate::error::ErrorBody),
              (status = 409, description = "The registry is full", body = crate::error::ErrorBody)))]
pub async fn propose(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs(issuer): PathArgs<String>,
    Body(body): Body<ProposeBody>,
) -> Result<(StatusCode, Json<ProposalView>), ServiceError> {
    let issued_at = crate::issuers::day(&body.issued_at)?;
    let claim = crate::issuers::encode_all(&state, std::slice::from_ref(&body.claim))?
        .pop()
        .ok_or_else(|| ServiceError::Internal("no claim".into()))?;
    blocking(move || {
        state.store.issuer(&issuer)?;
        let key = state.home.issuer_key(&issuer, None)?;
        let p = state.store.propose(&key, &claim, issued_at, now())?;
        Ok((StatusCode::CREATED, Json(view(&state, &p)?)))
    })
    .await
}

/// An issuer's pending proposals (for its office and the members of its committees).
#[utoipa::path(get, path = "/v1/issuers/{issuer}/proposals", tag = "issuers",
    params(("issuer" = String, Path, description = "The issuer's name")),
    security(("bearer" = [])),
    responses((status = 200, description = "Pending proposals", body = ProposalList),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Neither this issuer's token nor a member's", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer", body = crate::error::ErrorBody)))]
pub async fn proposals(
    State(state): State<Arc<AppState>>,
    _caller: IssuerOrMember,
    PathArgs(issuer): PathArgs<String>,
) -> Result<Json<ProposalList>, ServiceError> {
    blocking(move || {
        let info = state.store.issuer(&issuer)?;
        let proposals = state
            .store
            .proposals(&info)?
            .iter()
            .map(|p| view(&state, p))
            .collect::<Result<_, _>>()?;
        Ok(Json(ProposalList { proposals }))
    })
    .await
}

/// Approves a proposal with the calling member's key; the approval that meets the threshold
/// issues the credential before the answer.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/proposals/{id}/approvals", tag = "issuers",
    params(("issuer" = String, Path, description = "The issuer's name"),
           ("id" = u64, Path, description = "The proposal's id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Approved (and issued if the threshold was met)", body = ApprovalOutcome),
              (status = 400, description = "Malformed path", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not a member's token, or not a member of this committee", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer or proposal", body = crate::error::ErrorBody),
              (status = 409, description = "This member already approved it", body = crate::error::ErrorBody)))]
pub async fn approve(
    State(state): State<Arc<AppState>>,
    caller: MemberToken,
    PathArgs((issuer, id)): PathArgs<(String, ProposalId)>,
) -> Result<Json<ApprovalOutcome>, ServiceError> {
    let id = id.0;
    blocking(move || {
        let info = state.store.issuer(&issuer)?;
        let p = state.store.proposal(id)?;
        if p.opening.issuer_id != info.issuer_id {
            return Err(dossier_store::StoreError::UnknownProposal { proposal: id }.into());
        }
        let key = state
            .home
            .key(KeyFile::Member(&caller.0))
            .map_err(|_| dossier_store::StoreError::NotAMember { proposal: id })?;
        let (p, met) = state.store.approve(id, &key)?;
        let threshold = view(&state, &p)?.threshold;
        let issued = if met {
            let issuer_key = state.home.issuer_key(&issuer, None)?;
            let opening =
                state
                    .store
                    .finalize_with(&issuer_key, id, &state.schemas, now(), |txn, o| {
                        tables::keep_openings(txn, info.registry, std::slice::from_ref(o))
                    })?;
            state
                .metrics
                .issued
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(Issued {
                credential_id: opening.credential_id,
                commitment: field::to_hex(&opening.commitment),
                holder: field::to_hex(&opening.holder),
            })
        } else {
            None
        };
        Ok(Json(ApprovalOutcome {
            proposal: id,
            approvals: p.approvals.len(),
            threshold,
            issued,
        }))
    })
    .await
}
