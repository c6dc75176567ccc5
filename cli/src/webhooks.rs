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
            with_values,
        } => {
            if with_values && !private_channel(&url) {
                return Err(CliError::Input(
                    "--with-values sends personal data: the URL must be https:// (or http:// on 127.0.0.1, ::1 or localhost)".into(),
                ));
            }
            let parties: Vec<String> = parties.iter().map(|p| p.name().to_string()).collect();
            let secret = webhook::new_secret();
            home.store()?.subscribe(&Subscription {
                name: name.clone(),
                issuer: issuer.clone(),
                url: url.clone(),
                secret: secret.clone(),
                parties: parties.clone(),
                values: with_values,
            })?;
            out.emit(
                format!("subscription `{name}` to `{issuer}` ({}) at {url}{}\n  signing secret (shown once): {secret}", parties.join(", "),
                    if with_values { ", with the cases' values" } else { "" }),
                json!({"name": name, "issuer": issuer, "url": url, "parties": parties, "values": with_values, "secret": secret}),
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
                json!({"subscriptions": subs.iter().map(|s| json!({"name": s.name, "issuer": s.issuer, "url": s.url, "parties": s.parties, "values": s.values})).collect::<Vec<_>>()}),
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

/// Whether a URL keeps what it carries private on the way: https, or the loopback.
fn private_channel(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return true;
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let name = if host.starts_with('[') {
        host.split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or("").to_string()
    };
    matches!(name.as_str(), "127.0.0.1" | "[::1]" | "localhost")
}

#[cfg(test)]
mod tests {
    use super::private_channel;

    #[test]
    fn values_travel_over_https_or_the_loopback_only() {
        for ok in [
            "https://payroll.example/hooks",
            "HTTPS://payroll.example",
            "http://127.0.0.1:8080/hooks",
            "http://localhost/x",
            "http://[::1]:9000/",
        ] {
            assert!(private_channel(ok), "{ok}");
        }
        for bad in [
            "http://payroll.example/hooks",
            "http://127.0.0.1.evil.example/",
            "http://localhost.evil.example/",
            "http://user@evil.example/",
            "http://evil.example/?127.0.0.1",
            "ftp://127.0.0.1/",
            "127.0.0.1",
        ] {
            assert!(!private_channel(bad), "{bad}");
        }
    }
}
