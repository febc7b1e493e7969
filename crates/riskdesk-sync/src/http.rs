//! The device's HTTP client for riskdesk-server.

use std::time::Duration;

use crate::{PullResponse, PushRequest, PushResponse, Refusal, PROTOCOL_VERSION};

/// How long the server may take to accept a connection.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(10);
/// How long it may then go without sending a byte of its answer (a large push is stored
/// before the answer starts). Past either the request fails and a later sync tries again:
/// a connection left half-open (a laptop changing networks) would otherwise hold the sync
/// that made it, and with it every background sync after it, until the app restarts.
pub const STALL_AFTER: Duration = Duration::from_secs(60);

fn http(stall_after: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_WITHIN)
        .read_timeout(stall_after)
        .build()
        // Fails only where TLS cannot start at all, as `Client::new` would.
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// An error with each cause under it: reqwest says "error sending request" (or "error
/// decoding response body") and keeps the why (refused, timed out, no such host) in its
/// sources. The app's update check words its failures with it too.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

#[derive(Clone)]
pub struct HttpClient {
    http: reqwest::Client,
    base: String,
    token: String,
    /// The signed-in user's email, as the server knows it.
    email: String,
    /// The signed-in user's role, as the server knows it.
    role: String,
}

async fn answer<T: serde::de::DeserializeOwned>(r: reqwest::Response) -> Result<T, String> {
    let status = r.status();
    if status.is_success() {
        r.json()
            .await
            .map_err(|e| format!("unreadable answer from the server: {}", with_causes(&e)))
    } else {
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        Err(format!(
            "the server said {status}: {}",
            body["message"].as_str().unwrap_or("no reason given")
        ))
    }
}

impl HttpClient {
    /// Signs in and returns a client holding the token.
    pub async fn sign_in(base: &str, email: &str, password: &str) -> Result<HttpClient, String> {
        Self::session(
            base,
            "/v1/sessions",
            serde_json::json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Accepts an invite: chooses the password and signs in.
    pub async fn accept_invite(
        base: &str,
        code: &str,
        password: &str,
    ) -> Result<HttpClient, String> {
        Self::session(
            base,
            "/v1/invites/accept",
            serde_json::json!({ "code": code, "password": password }),
        )
        .await
    }

    async fn session(
        base: &str,
        path: &str,
        body: serde_json::Value,
    ) -> Result<HttpClient, String> {
        let http = http(STALL_AFTER);
        let base = base.trim_end_matches('/').to_string();
        let r = http
            .post(format!("{base}{path}"))
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("cannot reach {base}: {}", with_causes(&e)))?;
        let session: serde_json::Value = answer(r).await?;
        let token = session["token"]
            .as_str()
            .ok_or("the server sent no token")?
            .to_string();
        let user = |key: &str| {
            session["user"][key]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        Ok(HttpClient {
            http,
            base,
            token,
            email: user("email"),
            role: user("role"),
        })
    }

    pub fn with_token(base: &str, token: &str) -> HttpClient {
        HttpClient {
            http: http(STALL_AFTER),
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            email: String::new(),
            role: String::new(),
        }
    }

    /// This client, giving up on a server silent for `stall_after` instead of
    /// [`STALL_AFTER`].
    pub fn stall_after(mut self, stall_after: Duration) -> HttpClient {
        self.http = http(stall_after);
        self
    }

    /// Empty for a client made from a stored token.
    pub fn role(&self) -> &str {
        &self.role
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// Empty for a client made from a stored token.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// A push the server answers 400, 403 or 413 is refused for what it carries; any
    /// other failure (unreachable, signed out, a server error) may pass on a later try.
    pub async fn push(&self, req: PushRequest) -> Result<PushResponse, Refusal> {
        let r = self
            .http
            .post(format!("{}/v1/push", self.base))
            .bearer_auth(&self.token)
            .json(&req)
            .send()
            .await
            .map_err(|e| Refusal::Unavailable(format!("push failed: {}", with_causes(&e))))?;
        let refused = matches!(r.status().as_u16(), 400 | 403 | 413);
        answer(r).await.map_err(|e| {
            if refused {
                Refusal::Refused(e)
            } else {
                Refusal::Unavailable(e)
            }
        })
    }

    /// Changes after `since`; those `device` made itself are left out.
    pub async fn pull(
        &self,
        since: i64,
        limit: u32,
        device: Option<&str>,
    ) -> Result<PullResponse, String> {
        let mut query = vec![
            ("protocol", PROTOCOL_VERSION.to_string()),
            ("since", since.to_string()),
            ("limit", limit.to_string()),
        ];
        if let Some(d) = device {
            query.push(("device", d.to_string()));
        }
        let r = self
            .http
            .get(format!("{}/v1/pull", self.base))
            .query(&query)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("pull failed: {}", with_causes(&e)))?;
        answer(r).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A server that takes connections, reads the request and never answers; returns
    /// its address.
    fn silent_server() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for mut conn in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                held.push(conn);
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_server_that_stops_answering_fails_the_request_saying_so() {
        let base = silent_server();
        let client = HttpClient::with_token(&base, "t").stall_after(Duration::from_millis(300));
        let started = std::time::Instant::now();
        let err = client.pull(0, 10, None).await.expect_err("no answer");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(err.starts_with("pull failed: "), "{err}");
        assert!(err.contains("timed out"), "{err}");
        match client.push(PushRequest::new("d", Vec::new())).await {
            Err(Refusal::Unavailable(e)) => assert!(e.contains("timed out"), "{e}"),
            other => panic!("a silent server's push is unavailable, not {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_server_that_is_not_there_says_why() {
        // A port just closed: nothing listens on it.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let err = HttpClient::sign_in(&format!("http://{addr}"), "a@b.example", "pw")
            .await
            .err()
            .expect("nothing there");
        assert!(
            err.starts_with(&format!("cannot reach http://{addr}: ")),
            "{err}"
        );
        assert!(err.to_lowercase().contains("refused"), "{err}");
    }
}
