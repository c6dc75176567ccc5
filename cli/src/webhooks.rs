//! `dossier webhooks`: other systems subscribe to an issuer's rule actions (`add`), and the
//! outbox of signed messages is listed (`outbox`) and delivered (`deliver`), at least once,
//! with exponential backoff while a receiver is down.

use crate::error::CliError;
use crate::{Out, WebhooksCmd};
use dossier_store::home::Home;
use dossier_store::outbox::{Delivery, Subscription};
use dossier_workflow::webhook;
use serde_json::json;
use std::time::{Duration, Instant};

/// Runs a `dossier webhooks` command.
pub fn webhooks(home: &Home, out: &Out, cmd: WebhooksCmd) -> Result<i32, CliError> {
    match cmd {
        WebhooksCmd::Add {
            name,
            issuer,
            url,
            parties,
        } => {
            let parties: Vec<String> = parties.iter().map(|p| p.name().to_string()).collect();
            let secret = webhook::new_secret();
            home.store()?.subscribe(&Subscription {
                name: name.clone(),
                issuer: issuer.clone(),
                url: url.clone(),
                secret: secret.clone(),
                parties: parties.clone(),
            })?;
            out.emit(
                format!("subscription `{name}` to `{issuer}` ({}) at {url}\n  signing secret (shown once): {secret}", parties.join(", ")),
                json!({"name": name, "issuer": issuer, "url": url, "parties": parties, "secret": secret}),
            );
            Ok(0)
        }
        WebhooksCmd::List => {
            let subs = home.reader()?.subscriptions()?;
            out.emit(
                subs.iter()
                    .map(|s| format!("{:<20} {:<20} {}  ({})", s.name, s.issuer, s.url, s.parties.join(", ")))
                    .collect::<Vec<_>>()
                    .join("\n"),
                json!({"subscriptions": subs.iter().map(|s| json!({"name": s.name, "issuer": s.issuer, "url": s.url, "parties": s.parties})).collect::<Vec<_>>()}),
            );
            Ok(0)
        }
        WebhooksCmd::Outbox => {
            let messages = home.reader()?.outbox(None)?;
            out.emit(
                messages
                    .iter()
                    .map(|m| {
                        format!(
                            "{:<6} {:<36} {:<16} {:?} after {} attempt(s){}",
                            m.seq,
                            m.id,
                            m.subscription,
                            m.delivery,
                            m.attempts,
                            m.last_error
                                .as_deref()
                                .map(|e| format!(": {e}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                json!({"messages": messages}),
            );
            Ok(0)
        }
        WebhooksCmd::Deliver {
            until_delivered,
            timeout,
        } => deliver(home, out, until_delivered, Duration::from_secs(timeout)),
    }
}

fn deliver(
    home: &Home,
    out: &Out,
    until_delivered: bool,
    timeout: Duration,
) -> Result<i32, CliError> {
    let started = Instant::now();
    let store = home.store()?;
    let mut total = webhook::Pass::default();
    loop {
        let pass = webhook::deliver_due(&store, Duration::from_secs(10))?;
        total.delivered += pass.delivered;
        total.retrying += pass.retrying;
        total.failed += pass.failed;
        let pending = store
            .outbox(None)?
            .iter()
            .filter(|m| m.delivery == Delivery::Pending)
            .count();
        if !until_delivered || pending == 0 || started.elapsed() >= timeout {
            out.emit(
                format!(
                    "delivered {}, failed attempts {}, set aside {}, still pending {pending}",
                    total.delivered, total.retrying, total.failed
                ),
                json!({"pass": total, "pending": pending}),
            );
            return Ok(if pending == 0 { 0 } else { 1 });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
