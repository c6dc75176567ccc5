//! Recruitment screening over HTTP, the seed's automatic review of application materials. A
//! recruiting office opens a campaign with its token: its requirement is a presentation request
//! and it takes applications to the end of its closing day (`CampaignOpened` on the ledger).
//! Candidates apply with **no token**: the presentation is made on their own machine against
//! the published request, verified on arrival and archived with an `Applied` entry, shortlisted
//! under its nullifier (one application per candidate per campaign) or refused with the
//! verifier's reason. A presentation that does not answer the campaign's request is turned
//! away and nothing is written. Anyone reads a campaign and its shortlist (nullifiers, naming
//! no one); a regulator's token reads the archive, which `dossier audit` re-verifies.

use crate::extract::{Body, IssuerToken, Params, PathArgs, RegulatorToken};
use crate::public::Page;
use crate::{blocking, now, AppState, ServiceError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use dossier_core::encoding::date_to_days;
use dossier_core::presentation::{Backend, PresentationRequest};
use dossier_store::campaign::{campaign_id, Application, Campaign, MAX_DOCUMENT};
use dossier_store::StoreError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// A campaign to open.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    /// Its name: 1 to 100 bytes, unique.
    pub name: String,
    /// The requirement: the presentation request candidates answer.
    #[schema(value_type = Object)]
    pub request: PresentationRequest,
    /// The last day applications are taken, `YYYY-MM-DD` (to its end, UTC).
    pub closes: String,
}

/// A campaign, as anyone reads it.
#[derive(Serialize, ToSchema)]
pub struct CampaignView {
    /// Its name.
    pub name: String,
    /// The recruiting office.
    pub issuer: String,
    /// Its id: SHA-256 of the request's text (hex), as its `CampaignOpened` entry states it.
    pub id: String,
    /// The requirement candidates answer.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// Applications are taken until this time (unix seconds, excluded).
    pub closes: u64,
    /// Whether it takes applications now.
    pub open: bool,
    /// Its `CampaignOpened` entry.
    pub entry: u64,
    /// Applications archived.
    pub applications: u64,
    /// Of which shortlisted.
    pub shortlisted: u64,
}

impl CampaignView {
    fn of(state: &AppState, c: Campaign) -> Result<CampaignView, ServiceError> {
        let (applications, shortlisted) = state.store.campaign_counts(&campaign_id(&c.request))?;
        let request = serde_json::from_str(&c.request).map_err(|_| {
            ServiceError::Internal("a stored campaign request is unreadable".into())
        })?;
        Ok(CampaignView {
            open: now() < c.closes,
            name: c.name,
            issuer: c.issuer,
            id: c.id,
            request,
            closes: c.closes,
            entry: c.entry,
            applications,
            shortlisted,
        })
    }
}

/// A campaign by name, or 404.
fn campaign(state: &AppState, name: &str) -> Result<Campaign, ServiceError> {
    state.store.campaign(name).map_err(|e| match e {
        StoreError::Refused { .. } => ServiceError::NotFound("no campaign of that name".into()),
        e => e.into(),
    })
}

/// Opens a recruitment campaign of the issuer.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/campaigns", tag = "issuers",
    params(("issuer" = String, Path, description = "The recruiting office")),
    request_body = OpenBody, security(("bearer" = [])),
    responses((status = 201, description = "Opened", body = CampaignView),
              (status = 400, description = "A malformed request, name or closing day; a name or request in use; a closing day past", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer", body = crate::error::ErrorBody)))]
pub async fn open(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs(issuer): PathArgs<String>,
    Body(body): Body<OpenBody>,
) -> Result<(StatusCode, Json<CampaignView>), ServiceError> {
    let last = date_to_days(&body.closes)
        .map_err(|_| ServiceError::bad("bad_input", "closes", "a closing day is YYYY-MM-DD"))?;
    // Applications are taken to the end of the closing day (UTC), as `dossier campaign open`.
    let closes = (u64::from(last) + 1) * 86_400;
    state.check_grounds(&body.request)?;
    let text = serde_json::to_string(&body.request)
        .map_err(|_| ServiceError::Internal("a request did not serialize".into()))?;
    blocking(move || {
        state.store.issuer(&issuer)?;
        let key = state.home.issuer_key(&issuer, None)?;
        state
            .store
            .open_campaign(&key, &body.name, &text, closes, now())?;
        let c = campaign(&state, &body.name)?;
        Ok((StatusCode::CREATED, Json(CampaignView::of(&state, c)?)))
    })
    .await
}

/// Every campaign, oldest first.
#[utoipa::path(get, path = "/v1/campaigns", tag = "public",
    responses((status = 200, description = "The campaigns", body = Vec<CampaignView>)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<CampaignView>>, ServiceError> {
    blocking(move || {
        let all = state.store.campaigns()?;
        let views = all
            .into_iter()
            .map(|c| CampaignView::of(&state, c))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Json(views))
    })
    .await
}

/// One campaign, with the request candidates answer.
#[utoipa::path(get, path = "/v1/campaigns/{name}", tag = "public",
    params(("name" = String, Path, description = "The campaign's name")),
    responses((status = 200, description = "The campaign", body = CampaignView),
              (status = 404, description = "Unknown campaign", body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    PathArgs(name): PathArgs<String>,
) -> Result<Json<CampaignView>, ServiceError> {
    blocking(move || {
        let c = campaign(&state, &name)?;
        Ok(Json(CampaignView::of(&state, c)?))
    })
    .await
}

/// What was archived of an application.
#[derive(Serialize, ToSchema)]
pub struct Receipt {
    /// SHA-256 of the presentation as received (hex).
    pub sha256: String,
    /// Its `Applied` entry.
    pub entry: u64,
    /// Whether it was shortlisted.
    pub shortlisted: bool,
    /// The candidate's nullifier in the campaign's scope (hex), when shortlisted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nullifier: Option<String>,
    /// Why it was refused (the verifier's words), when refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Applies to a campaign, with no token: the presentation is verified on arrival against the
/// campaign's request, then archived shortlisted or refused (201 either way, with the ledger
/// entry). Turned away with nothing written: a body that is no presentation or answers another
/// request (400), a campaign closed or a candidate already shortlisted (409).
#[utoipa::path(post, path = "/v1/campaigns/{name}/applications", tag = "public",
    params(("name" = String, Path, description = "The campaign's name")),
    request_body(content = Object, description = "A presentation answering the campaign's request"),
    responses((status = 201, description = "Archived: shortlisted, or refused with the reason", body = Receipt),
              (status = 400, description = "Not a presentation of the campaign's request", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown campaign", body = crate::error::ErrorBody),
              (status = 409, description = "The campaign is closed, or this candidate was shortlisted already", body = crate::error::ErrorBody),
              (status = 413, description = "Larger than 256 KiB", body = crate::error::ErrorBody)))]
pub async fn apply(
    State(state): State<Arc<AppState>>,
    PathArgs(name): PathArgs<String>,
    Body(dossier_core::envelope::Received(presentation)): Body<dossier_core::envelope::Received>,
) -> Result<(StatusCode, Json<Receipt>), ServiceError> {
    blocking(move || {
        let c = campaign(&state, &name)?;
        let request: PresentationRequest = serde_json::from_str(&c.request).map_err(|_| {
            ServiceError::Internal("a stored campaign request is unreadable".into())
        })?;
        if !dossier_verifier::campaign::answers(&request, &presentation) {
            return Err(ServiceError::bad(
                "bad_input",
                "request",
                "the presentation answers another request than the campaign's",
            ));
        }
        if now() >= c.closes {
            return Err(closed("the campaign has closed"));
        }
        // The archive keeps the presentation in one canonical text (its hash on the ledger).
        let text = serde_json::to_string(&presentation)
            .map_err(|_| ServiceError::Internal("a presentation did not serialize".into()))?;
        if text.len() > MAX_DOCUMENT {
            return Err(ServiceError::TooLarge {
                limit: MAX_DOCUMENT,
            });
        }
        let none = dossier_verifier::VerifierKeys::none();
        let keys = if presentation.backend == Backend::Halo2 {
            &none
        } else {
            &state.keys
        };
        let received = now();
        let verdict = dossier_verifier::campaign::screen(
            &request,
            &presentation,
            keys,
            &state.trust,
            &state.schemas,
            received,
        )
        .map_err(|e| e.to_string());
        let key = state.home.issuer_key(&c.issuer, None)?;
        let app = state
            .store
            .apply(&key, &campaign_id(&c.request), &text, verdict, received)
            .map_err(|e| match e {
                StoreError::Refused { reason } => closed(&reason),
                e => e.into(),
            })?;
        Ok((StatusCode::CREATED, Json(receipt(app))))
    })
    .await
}

fn closed(reason: &str) -> ServiceError {
    ServiceError::Conflict {
        code: "application_refused",
        message: reason.to_string(),
    }
}

fn receipt(app: Application) -> Receipt {
    Receipt {
        sha256: app.sha256,
        entry: app.entry,
        shortlisted: app.shortlisted,
        nullifier: app.nullifier,
        refused: app.refused,
    }
}

/// A campaign's shortlist.
#[derive(Serialize, ToSchema)]
pub struct Shortlist {
    /// The campaign.
    pub campaign: String,
    /// Applications archived.
    pub applications: u64,
    /// The shortlisted candidates, by nullifier (hex), in nullifier order.
    pub shortlisted: Vec<Shortlisted>,
}

/// One shortlisted candidate, named by nothing but the nullifier.
#[derive(Serialize, ToSchema)]
pub struct Shortlisted {
    /// The nullifier (hex).
    pub nullifier: String,
    /// Its `Applied` entry.
    pub entry: u64,
}

/// A campaign's shortlist: nullifiers, naming no one.
#[utoipa::path(get, path = "/v1/campaigns/{name}/shortlist", tag = "public",
    params(("name" = String, Path, description = "The campaign's name")),
    responses((status = 200, description = "The shortlist", body = Shortlist),
              (status = 404, description = "Unknown campaign", body = crate::error::ErrorBody)))]
pub async fn shortlist(
    State(state): State<Arc<AppState>>,
    PathArgs(name): PathArgs<String>,
) -> Result<Json<Shortlist>, ServiceError> {
    blocking(move || {
        let c = campaign(&state, &name)?;
        let id = campaign_id(&c.request);
        let (applications, _) = state.store.campaign_counts(&id)?;
        let shortlisted = state
            .store
            .shortlist(&id)?
            .into_iter()
            .map(|(nullifier, entry)| Shortlisted { nullifier, entry })
            .collect();
        Ok(Json(Shortlist {
            campaign: c.name,
            applications,
            shortlisted,
        }))
    })
    .await
}

/// A page of a campaign's archive.
#[derive(Serialize, ToSchema)]
pub struct ArchivePage {
    /// The campaign.
    pub campaign: String,
    /// The sequence number of this page's first application.
    pub start: u64,
    /// The applications from `start`, in the order received: each presentation as received,
    /// its hash, verdict, entry and time.
    #[schema(value_type = Vec<Object>)]
    pub applications: Vec<Application>,
}

/// A campaign's archive, a page at a time, for a regulator's re-verification.
#[utoipa::path(get, path = "/v1/campaigns/{name}/applications", tag = "regulators",
    params(("name" = String, Path, description = "The campaign's name"), Page),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of the archive", body = ArchivePage),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not a regulator's token", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown campaign", body = crate::error::ErrorBody)))]
pub async fn archive(
    State(state): State<Arc<AppState>>,
    _caller: RegulatorToken,
    PathArgs(name): PathArgs<String>,
    Params(page): Params<Page>,
) -> Result<Json<ArchivePage>, ServiceError> {
    let limit = page.limit.unwrap_or(100).min(state.limits.page);
    blocking(move || {
        let c = campaign(&state, &name)?;
        Ok(Json(ArchivePage {
            applications: state.store.applications_page(
                &campaign_id(&c.request),
                page.start,
                limit,
            )?,
            campaign: c.name,
            start: page.start,
        }))
    })
    .await
}
