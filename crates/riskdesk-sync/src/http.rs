//! The device's HTTP client for riskdesk-server.

use crate::{PullResponse, PushRequest, PushResponse, Refusal, PROTOCOL_VERSION};

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
            .map_err(|e| format!("unreadable answer from the server: {e}"))
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
        let http = reqwest::Client::new();
        let base = base.trim_end_matches('/').to_string();
        let r = http
            .post(format!("{base}{path}"))
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("cannot reach {base}: {e}"))?;
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
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            email: String::new(),
            role: String::new(),
        }
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
            .map_err(|e| Refusal::Unavailable(format!("push failed: {e}")))?;
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
            .map_err(|e| format!("pull failed: {e}"))?;
        answer(r).await
    }
}
