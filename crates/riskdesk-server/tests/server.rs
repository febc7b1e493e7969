//! The real server process on loopback: sign-in, scope, push and pull, conflicts,
//! convergence of several offline clients, and a server killed in the middle of a push.

use reqwest::StatusCode;
use riskdesk_sync::change::DIRECTORY_ACCOUNT;
use riskdesk_sync::{PullResponse, PushRequest, PushResponse, PROTOCOL_VERSION};
use serde_json::{json, Value};

mod common;

use common::{admin, Backing, Client, Server, PASSWORD, USERS};

async fn health_version_and_every_endpoint_demands_a_valid_token(backing: &Backing) {
    backing.seed(USERS).await;
    let server = Server::start(backing);
    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("{}/health", server.base))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (health["status"].as_str(), health["protocol"].as_u64()),
        (Some("ok"), Some(PROTOCOL_VERSION as u64))
    );

    let endpoints = [
        ("GET", "/v1/me"),
        ("GET", "/v1/pull?protocol=1&since=0"),
        ("GET", "/v1/conflicts"),
        ("POST", "/v1/push"),
        ("DELETE", "/v1/sessions"),
    ];
    let ana = Client::sign_in(&server.base, "ana@acme.example", "ana-laptop").await;
    for token in [None, Some("not-a-token".to_string())] {
        for (method, path) in endpoints {
            let mut req = http.request(
                method.parse().expect("method"),
                format!("{}{path}", server.base),
            );
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            if method == "POST" {
                req = req.json(&json!({ "protocol": 1, "device_id": "x", "changes": [] }));
            }
            let r = req.send().await.expect("send");
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {token:?}"
            );
        }
    }
    // A token works until it is revoked by signing out.
    let me = http
        .get(format!("{}/v1/me", server.base))
        .bearer_auth(&ana.token)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);
    let out = http
        .delete(format!("{}/v1/sessions", server.base))
        .bearer_auth(&ana.token)
        .send()
        .await
        .expect("out");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let me = http
        .get(format!("{}/v1/me", server.base))
        .bearer_auth(&ana.token)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    // Wrong passwords, then the limit.
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = http
            .post(format!("{}/v1/sessions", server.base))
            .json(&json!({ "email": "ben@acme.example", "password": "wrong password!" }))
            .send()
            .await
            .expect("sign in");
        statuses.push(r.status());
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(statuses[6], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");

    // A client speaking another protocol version is told so.
    let cy = Client::sign_in(&server.base, "cy@acme.example", "cy-laptop").await;
    let r = http
        .get(format!("{}/v1/pull?protocol=99&since=0", server.base))
        .bearer_auth(&cy.token)
        .send()
        .await
        .expect("pull");
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r
        .text()
        .await
        .unwrap_or_default()
        .contains("protocol version 99"));
}

async fn scope_a_team_sees_its_accounts_leadership_sees_escalations(backing: &Backing) {
    backing.seed(USERS).await;
    let server = Server::start(backing);
    let mut ana = Client::sign_in(&server.base, "ana@acme.example", "ana").await;
    let mut ben = Client::sign_in(&server.base, "ben@acme.example", "ben").await;
    let mut cy = Client::sign_in(&server.base, "cy@acme.example", "cy").await;
    let mut mo = Client::sign_in(&server.base, "mo@acme.example", "mo").await;
    let mut vp = Client::sign_in(&server.base, "vp@acme.example", "vp").await;

    ana.edit(
        "account",
        "acc-e",
        "acc-e",
        "name",
        json!("Northwind"),
        1_000,
    );
    ana.edit(
        "cta",
        "cta-e1",
        "acc-e",
        "reason",
        json!("Usage down 40%"),
        1_001,
    );
    ana.edit(
        "escalation",
        "esc-1",
        "acc-e",
        "reason",
        json!("Sponsor left"),
        1_002,
    );
    ana.push().await;
    cy.edit(
        "account",
        "acc-m",
        "acc-m",
        "name",
        json!("Coho Winery"),
        1_000,
    );
    cy.push().await;

    assert_eq!(
        ben.pull().await,
        3,
        "a teammate gets everything on the team's accounts"
    );
    assert_eq!(cy.pull().await, 1, "another team's CSM gets only their own");
    assert!(!cy.replica.state()["account"].contains_key("acc-e"));
    // The Mid-Market manager sees the org's escalation work across teams (and their own
    // team's account); so does the VP.
    assert_eq!(mo.pull().await, 4);
    assert!(mo.replica.state()["escalation"].contains_key("esc-1"));
    assert_eq!(vp.pull().await, 4);

    // Writes outside scope are refused, whole.
    let outside = cy.edit("cta", "cta-9", "acc-e", "status", json!("closed"), 2_000);
    let r = cy.push_raw(&[outside]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r
        .text()
        .await
        .unwrap_or_default()
        .contains("outside your team"));
    // Leadership may record a decision on any escalation; the account's team sees it.
    assert_eq!(ana.pull().await, 3);
    mo.edit(
        "escalation_decision",
        "dec-1",
        "acc-e",
        "text",
        json!("Exec sponsor call"),
        3_000,
    );
    mo.push().await;
    assert_eq!(ana.pull().await, 1);
    assert_eq!(cy.pull().await, 0, "nothing of another team reaches a CSM");

    // A device is not sent its own changes back; its cursor still passes them.
    let page: PullResponse = ana
        .http
        .get(format!(
            "{}/v1/pull?protocol={PROTOCOL_VERSION}&since=0&device=ana",
            ana.base
        ))
        .bearer_auth(&ana.token)
        .send()
        .await
        .expect("pull")
        .json()
        .await
        .expect("page");
    let from: Vec<String> = page.changes().into_iter().map(|c| c.device_id).collect();
    assert_eq!(from, ["mo"], "only the manager's decision");
    assert!(!page.more);
    assert_eq!(page.cursor, page.head, "past its own changes too");

    // The people directory is the organisation's: a manager adds a person and everyone
    // gets them, so owner ids mean the same person on every device. A CSM may not.
    cy.outbox.clear();
    let by_csm = cy.edit(
        "person",
        "user-9",
        DIRECTORY_ACCOUNT,
        "name",
        json!("Dee Okafor"),
        4_000,
    );
    assert_eq!(cy.push_raw(&[by_csm]).await.status(), StatusCode::FORBIDDEN);
    cy.outbox.clear();
    mo.outbox.clear();
    mo.edit(
        "person",
        "user-9",
        DIRECTORY_ACCOUNT,
        "name",
        json!("Dee Okafor"),
        4_000,
    );
    mo.push().await;
    assert_eq!(ana.pull().await, 1);
    assert!(ana.replica.state()["person"].contains_key("user-9"));
    // Work cannot hide under the directory's name.
    let hidden = cy.edit(
        "cta",
        "cta-7",
        DIRECTORY_ACCOUNT,
        "status",
        json!("open"),
        4_001,
    );
    let r = cy.push_raw(&[hidden]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

async fn offline_clients_converge_and_the_loser_is_told(backing: &Backing) {
    backing.seed(USERS).await;
    let server = Server::start(backing);
    let mut ana = Client::sign_in(&server.base, "ana@acme.example", "ana").await;
    let mut ben = Client::sign_in(&server.base, "ben@acme.example", "ben").await;
    let mut ana_desktop = Client::sign_in(&server.base, "ana@acme.example", "ana-desktop").await;

    ana.edit(
        "cta",
        "cta-1",
        "acc-1",
        "reason",
        json!("Usage down 40%"),
        1_000,
    );
    ana.sync().await;
    ben.pull().await;
    ana_desktop.pull().await;

    // All three go offline and edit; ana's laptop edits the status first, ben later.
    ana.edit("cta", "cta-1", "acc-1", "status", json!("snoozed"), 5_000);
    ben.edit("cta", "cta-1", "acc-1", "status", json!("closed"), 9_000);
    ana_desktop.edit("cta", "cta-1", "acc-1", "priority", json!("high"), 7_000);
    ben.edit("cta", "cta-2", "acc-1", "_deleted", json!(true), 9_001);
    // Both give the CTA to the same person: no disagreement, nothing to tell.
    ana.edit("cta", "cta-1", "acc-1", "owner_id", json!("user-2"), 5_001);
    ben.edit("cta", "cta-1", "acc-1", "owner_id", json!("user-2"), 9_002);

    // Ben syncs first; ana's older status edit then loses and she is told.
    ben.sync().await;
    let pushed = ana.push().await;
    assert_eq!(pushed.conflicts.len(), 1);
    assert_eq!(pushed.conflicts[0].winner.value, json!("closed"));
    ana_desktop.sync().await;
    for c in [&mut ana, &mut ben, &mut ana_desktop] {
        c.pull().await;
    }
    let state = ana.replica.state();
    assert_eq!(state, ben.replica.state());
    assert_eq!(state, ana_desktop.replica.state());
    assert_eq!(state["cta"]["cta-1"]["status"], json!("closed"));
    assert_eq!(state["cta"]["cta-1"]["priority"], json!("high"));

    let listed: Vec<Value> = ana
        .http
        .get(format!("{}/v1/conflicts", server.base))
        .bearer_auth(&ana.token)
        .send()
        .await
        .expect("conflicts")
        .json()
        .await
        .expect("json");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["lost"]["value"], json!("snoozed"));

    // A retried push is harmless.
    let again = ben.push_raw(&[]).await;
    assert_eq!(again.status(), StatusCode::OK);
}

async fn a_push_cut_off_by_a_crash_is_retried_with_nothing_lost_or_doubled(backing: &Backing) {
    backing.seed(USERS).await;
    let mut server = Server::start(backing);
    let mut ana = Client::sign_in(&server.base, "ana@acme.example", "ana").await;
    for i in 0..8_000u64 {
        ana.edit(
            "cta_task",
            &format!("task-{i}"),
            &format!("acc-{}", i % 40),
            "title",
            json!(format!("Step {i}")),
            10_000 + i,
        );
    }
    let batch = ana.outbox.clone();
    // Send the push and kill the server while it is being handled.
    let http = ana.http.clone();
    let url = format!("{}/v1/push", server.base);
    let token = ana.token.clone();
    let body = PushRequest::new("ana", batch.clone());
    let send =
        tokio::spawn(async move { http.post(url).bearer_auth(token).json(&body).send().await });
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    server.kill();
    let first = send.await.expect("task");
    let first_ok = first
        .as_ref()
        .map(|r| r.status() == StatusCode::OK)
        .unwrap_or(false);

    let server = Server::start(backing);
    ana.base = server.base.clone();
    let retried: PushResponse = ana.push_raw(&batch).await.json().await.expect("retry");
    assert_eq!(retried.accepted + retried.duplicates, 8_000);
    if !first_ok {
        // The cut-off push left nothing half-written: all or none of it had landed.
        assert!(
            retried.duplicates == 0 || retried.duplicates == 8_000,
            "{retried:?}"
        );
    }
    let mut ben = Client::sign_in(&server.base, "ben@acme.example", "ben").await;
    assert_eq!(ben.pull().await, 8_000, "every change exactly once");
}

/// Last writer wins per field on one row of winners per record: an edit that lost to
/// another device but was overtaken by its own device's later edit in the same push tells
/// nobody anything; an edit of another field of the record keeps the first device's.
async fn an_edit_overtaken_by_its_own_later_edit_is_no_conflict(backing: &Backing) {
    backing.seed(USERS).await;
    let server = Server::start(backing);
    let mut ana = Client::sign_in(&server.base, "ana@acme.example", "ana").await;
    let mut ben = Client::sign_in(&server.base, "ben@acme.example", "ben").await;
    ana.edit(
        "cta",
        "cta-1",
        "acc-1",
        "reason",
        json!("Usage down"),
        1_000,
    );
    ana.sync().await;
    ben.pull().await;
    ben.edit("cta", "cta-1", "acc-1", "status", json!("closed"), 5_000);
    ben.sync().await;
    // Offline, ana set the status before ben did, then again after.
    ana.edit("cta", "cta-1", "acc-1", "status", json!("snoozed"), 4_000);
    ana.edit("cta", "cta-1", "acc-1", "status", json!("open"), 6_000);
    let pushed = ana.push().await;
    assert_eq!(pushed.accepted, 2);
    assert!(pushed.conflicts.is_empty(), "{:?}", pushed.conflicts);
    ben.pull().await;
    ana.pull().await;
    let state = ben.replica.state();
    assert_eq!(state["cta"]["cta-1"]["status"], json!("open"));
    assert_eq!(state["cta"]["cta-1"]["reason"], json!("Usage down"));
    assert_eq!(state, ana.replica.state());
}

on_both_backends!(
    an_edit_overtaken_by_its_own_later_edit_is_no_conflict,
    health_version_and_every_endpoint_demands_a_valid_token,
    scope_a_team_sees_its_accounts_leadership_sees_escalations,
    offline_clients_converge_and_the_loser_is_told,
    a_push_cut_off_by_a_crash_is_retried_with_nothing_lost_or_doubled,
);

async fn an_invited_user_chooses_a_password_once(backing: &Backing) {
    backing.seed(USERS).await;
    let printed = admin(
        backing,
        &[
            "user",
            "invite",
            "--email",
            "Dee@Acme.example",
            "--name",
            "Dee",
            "--role",
            "csm",
            "--team",
            "Enterprise",
        ],
    );
    let code = printed.lines().last().expect("the code").trim().to_string();
    assert_eq!(code.len(), 32, "{printed}");
    let server = Server::start(backing);
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{}{path}", server.base))
            .json(&body)
            .send()
    };
    // No password yet: nothing signs in.
    let r = post(
        "/v1/sessions",
        json!({ "email": "dee@acme.example", "password": "" }),
    )
    .await
    .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = post(
        "/v1/invites/accept",
        json!({ "code": code, "password": "short" }),
    )
    .await
    .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = post(
        "/v1/invites/accept",
        json!({ "code": "0".repeat(32), "password": "a long enough one" }),
    )
    .await
    .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = post(
        "/v1/invites/accept",
        json!({ "code": code, "password": "a long enough one" }),
    )
    .await
    .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let session: Value = r.json().await.expect("session");
    assert_eq!(session["user"]["email"], json!("dee@acme.example"));
    assert_eq!(session["user"]["role"], json!("csm"));
    let me = http
        .get(format!("{}/v1/me", server.base))
        .bearer_auth(session["token"].as_str().expect("token"))
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);
    // The code works once; the password chosen with it signs in (any letter case).
    let r = post(
        "/v1/invites/accept",
        json!({ "code": code, "password": "another long one" }),
    )
    .await
    .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = post(
        "/v1/sessions",
        json!({ "email": "DEE@acme.example", "password": "a long enough one" }),
    )
    .await
    .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    // Revoking signs her out everywhere.
    let printed = admin(backing, &["user", "revoke", "--email", "dee@acme.example"]);
    assert!(printed.contains("revoked 2"), "{printed}");
}

on_both_backends!(an_invited_user_chooses_a_password_once);

#[tokio::test]
async fn with_a_certificate_the_server_speaks_https_only() {
    let backing = Backing::sqlite();
    backing.seed(USERS).await;
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let dir = tempfile::tempdir().expect("dir");
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_file, cert.key_pair.serialize_pem()).expect("write key");
    let server = Server::start_with(
        &backing,
        &[
            "--tls-cert".into(),
            cert_file.into_os_string(),
            "--tls-key".into(),
            key_file.into_os_string(),
        ],
    );
    let port = server
        .base
        .strip_prefix("https://127.0.0.1:")
        .unwrap_or_else(|| panic!("not https: {}", server.base))
        .to_string();
    let trusting = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("pem"),
        )
        .build()
        .expect("client");
    let r = trusting
        .post(format!("https://localhost:{port}/v1/sessions"))
        .json(&json!({ "email": "ana@acme.example", "password": PASSWORD }))
        .send()
        .await
        .expect("sign in over https");
    assert_eq!(r.status(), StatusCode::OK);
    // A client that does not trust the certificate is refused, and so is plain HTTP.
    let untrusting = reqwest::Client::new();
    assert!(untrusting
        .get(format!("https://localhost:{port}/health"))
        .send()
        .await
        .is_err());
    let plain = untrusting
        .get(format!("http://localhost:{port}/health"))
        .send()
        .await;
    assert!(
        plain.map(|r| !r.status().is_success()).unwrap_or(true),
        "plain HTTP must not be served"
    );
    drop(server);
    backing.finish().await;
}
