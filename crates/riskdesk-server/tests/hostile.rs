//! A signed-in but hostile (or careless) user against the real server process, on both
//! backends: every way one account could corrupt, read or stall another team's data, or
//! lock someone out, is refused.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use riskdesk_sync::change::DIRECTORY_ACCOUNT;
use riskdesk_sync::schema::ENTITIES;
use riskdesk_sync::{Change, Hlc, PullResponse};
use serde_json::{json, Value};

mod common;

use common::{admin, admin_fails, Backing, Client, Server, PASSWORD, USERS};

fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

async fn refused(r: reqwest::Response, status: StatusCode, says: &str) {
    let got = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(got, status, "{text}");
    assert!(text.contains(says), "expected '{says}' in: {text}");
}

/// Ana's Enterprise account with a CTA, as her teammate Ben and the manager hold it.
async fn enterprise_book(server: &Server) -> (Client, Client) {
    let mut ana = Client::sign_in(&server.base, "ana@acme.example", "ana").await;
    let t = now_ms() - 60_000;
    ana.edit("account", "acc-e", "acc-e", "name", json!("Northwind"), t);
    ana.edit(
        "account",
        "acc-e",
        "acc-e",
        "arr_minor",
        json!(120_000_00),
        t,
    );
    ana.edit(
        "cta",
        "cta-e",
        "acc-e",
        "reason",
        json!("Usage down"),
        t + 1,
    );
    ana.push().await;
    let mut ben = Client::sign_in(&server.base, "ben@acme.example", "ben").await;
    assert_eq!(ben.pull().await, 3);
    (ana, ben)
}

/// Finding 1: scope from the client's word. Finding 10: devices not bound to users.
/// Finding 11: unknown entities and fields.
async fn a_record_keeps_the_account_it_was_first_written_under(backing: &Backing) {
    backing.seed(USERS).await;
    let server = Server::start(backing);
    let (_ana, mut ben) = enterprise_book(&server).await;
    let mut cy = Client::sign_in(&server.base, "cy@acme.example", "cy").await;
    let t = now_ms();
    cy.edit("account", "acc-m", "acc-m", "name", json!("Coho"), t);
    cy.push().await;

    // Another team's account and CTA named under cy's own account: refused, whole.
    let own = cy.edit(
        "account",
        "acc-m",
        "acc-m",
        "name",
        json!("Coho Winery"),
        t + 1,
    );
    let hijack = cy.edit("cta", "cta-e", "acc-m", "reason", json!("rewritten"), t + 2);
    refused(
        cy.push_raw(&[own, hijack]).await,
        StatusCode::FORBIDDEN,
        "cta cta-e belongs to account acc-e",
    )
    .await;
    let renamed = cy.edit("account", "acc-e", "acc-m", "arr_minor", json!(1), t + 3);
    refused(
        cy.push_raw(&[renamed]).await,
        StatusCode::BAD_REQUEST,
        "must name the account itself",
    )
    .await;
    // With a deliberately old stamp, to read the winner back from the conflict: the same
    // refusal, nothing returned.
    let old = Change {
        hlc: Hlc {
            wall_ms: 1,
            counter: 0,
            device: "cy".into(),
        },
        ..cy.edit("cta", "cta-e", "acc-m", "reason", json!("x"), t + 4)
    };
    let r = cy.push_raw(&[old]).await;
    let text = r.text().await.unwrap_or_default();
    assert!(!text.contains("Usage down"), "{text}");
    cy.outbox.clear();
    // Nothing of it reached the Enterprise team.
    assert_eq!(ben.pull().await, 0);
    assert_eq!(
        ben.replica.state()["cta"]["cta-e"]["reason"],
        json!("Usage down")
    );

    // Another user's device id.
    let mut as_ana = Client::sign_in(&server.base, "cy@acme.example", "ana").await;
    let spoof = as_ana.edit("account", "acc-m", "acc-m", "name", json!("x"), t + 5);
    refused(
        as_ana.push_raw(&[spoof]).await,
        StatusCode::FORBIDDEN,
        "device ana belongs to another user",
    )
    .await;
    let r = as_ana
        .http
        .get(format!(
            "{}/v1/pull?protocol={}&since=0&device=ana",
            server.base,
            riskdesk_sync::PROTOCOL_VERSION
        ))
        .bearer_auth(&as_ana.token)
        .send()
        .await
        .expect("pull");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Unknown kinds of record and fields are named and refused.
    cy.outbox.clear();
    let unknown = cy.edit("no_such_entity", "x", "acc-m", "name", json!(1), t + 6);
    refused(
        cy.push_raw(&[unknown]).await,
        StatusCode::BAD_REQUEST,
        "'no_such_entity'",
    )
    .await;
    let field = cy.edit(
        "account",
        "acc-m",
        "acc-m",
        "password_hash",
        json!("x"),
        t + 7,
    );
    refused(
        cy.push_raw(&[field]).await,
        StatusCode::BAD_REQUEST,
        "field 'password_hash'",
    )
    .await;
}

/// Finding 2: one request stops every device. Only admins and managers keep the
/// directory; nobody deletes a person.
async fn the_directory_is_kept_by_admins_and_managers(backing: &Backing) {
    backing.seed(USERS).await;
    let server = Server::start(backing);
    let mut mo = Client::sign_in(&server.base, "mo@acme.example", "mo").await;
    let t = now_ms();
    for (id, email) in [("p-ana", "ana@acme.example"), ("p-cy", "cy@acme.example")] {
        mo.edit("person", id, DIRECTORY_ACCOUNT, "email", json!(email), t);
        mo.edit("person", id, DIRECTORY_ACCOUNT, "role", json!("csm"), t);
        mo.edit("person", id, DIRECTORY_ACCOUNT, "name", json!(email), t);
    }
    mo.push().await;

    let mut cy = Client::sign_in(&server.base, "cy@acme.example", "cy").await;
    let delete = cy.edit(
        "person",
        "p-ana",
        DIRECTORY_ACCOUNT,
        "_deleted",
        json!(true),
        t + 1,
    );
    refused(
        cy.push_raw(&[delete]).await,
        StatusCode::FORBIDDEN,
        "cannot be deleted",
    )
    .await;
    let promote = cy.edit(
        "person",
        "p-cy",
        DIRECTORY_ACCOUNT,
        "role",
        json!("admin"),
        t + 2,
    );
    refused(
        cy.push_raw(&[promote]).await,
        StatusCode::FORBIDDEN,
        "only admins and managers",
    )
    .await;
    let rename = cy.edit(
        "person",
        "p-ana",
        DIRECTORY_ACCOUNT,
        "name",
        json!("Mallory"),
        t + 3,
    );
    refused(
        cy.push_raw(&[rename]).await,
        StatusCode::FORBIDDEN,
        "only admins and managers",
    )
    .await;
    let team = cy.edit(
        "team",
        "t-x",
        DIRECTORY_ACCOUNT,
        "name",
        json!("Shadow"),
        t + 4,
    );
    refused(
        cy.push_raw(&[team]).await,
        StatusCode::FORBIDDEN,
        "only admins and managers",
    )
    .await;
    let playbook = cy.edit(
        "playbook",
        "pb-x",
        DIRECTORY_ACCOUNT,
        "name",
        json!("Mine"),
        t + 5,
    );
    refused(
        cy.push_raw(&[playbook]).await,
        StatusCode::FORBIDDEN,
        "only admins and managers",
    )
    .await;
    // Their own name and title are theirs.
    cy.outbox.clear();
    cy.edit(
        "person",
        "p-cy",
        DIRECTORY_ACCOUNT,
        "title",
        json!("Senior CSM"),
        t + 6,
    );
    cy.push().await;
    // A signed-in user's role is the server's, even for a manager.
    mo.outbox.clear();
    let promote = mo.edit(
        "person",
        "p-cy",
        DIRECTORY_ACCOUNT,
        "role",
        json!("admin"),
        t + 7,
    );
    refused(
        mo.push_raw(&[promote]).await,
        StatusCode::FORBIDDEN,
        "cy@acme.example signs in to this server as csm",
    )
    .await;
    mo.outbox.clear();
    let steal = mo.edit(
        "person",
        "p-cy",
        DIRECTORY_ACCOUNT,
        "email",
        json!("mo@acme.example"),
        t + 7,
    );
    refused(
        mo.push_raw(&[steal]).await,
        StatusCode::FORBIDDEN,
        "is set on the server",
    )
    .await;
    // Not even a manager deletes a person.
    mo.outbox.clear();
    let delete = mo.edit(
        "person",
        "p-ana",
        DIRECTORY_ACCOUNT,
        "_deleted",
        json!(true),
        t + 7,
    );
    refused(
        mo.push_raw(&[delete]).await,
        StatusCode::FORBIDDEN,
        "cannot be deleted",
    )
    .await;
    mo.outbox.clear();

    let mut ben = Client::sign_in(&server.base, "ben@acme.example", "ben").await;
    ben.pull().await;
    let people = &ben.replica.state()["person"];
    assert_eq!(people["p-ana"]["name"], json!("ana@acme.example"));
    assert_eq!(people["p-cy"]["role"], json!("csm"));
    assert_eq!(people["p-cy"]["title"], json!("Senior CSM"));
}

/// One email is one person: a manager (careless, or hostile) who gives a second person an
/// email the directory already holds, in any case or spacing, is refused with both named;
/// people who trade emails in one push are not.
async fn one_email_is_one_person(backing: &Backing) {
    backing.seed(USERS).await;
    let server = Server::start(backing);
    let mut mo = Client::sign_in(&server.base, "mo@acme.example", "mo").await;
    let t = now_ms();
    for (id, email, name) in [
        ("p-ana", "ana@acme.example", "Ana Ames"),
        ("p-dee", "dee@partner.example", "Dee Park"),
    ] {
        mo.edit("person", id, DIRECTORY_ACCOUNT, "email", json!(email), t);
        mo.edit("person", id, DIRECTORY_ACCOUNT, "name", json!(name), t);
    }
    mo.push().await;

    // A new person with Ana's email, as another directory export would spell it.
    let twin = mo.edit(
        "person",
        "p-twin",
        DIRECTORY_ACCOUNT,
        "email",
        json!(" ANA@acme.example "),
        t + 1,
    );
    refused(
        mo.push_raw(&[twin]).await,
        StatusCode::BAD_REQUEST,
        "gives person p-twin the email ana@acme.example, which person p-ana (Ana Ames, ana@acme.example) already has",
    )
    .await;
    mo.outbox.clear();
    // An existing person moved onto it.
    let onto = mo.edit(
        "person",
        "p-dee",
        DIRECTORY_ACCOUNT,
        "email",
        json!("ana@acme.example"),
        t + 2,
    );
    refused(
        mo.push_raw(&[onto]).await,
        StatusCode::BAD_REQUEST,
        "which person p-ana (Ana Ames, ana@acme.example) already has",
    )
    .await;
    mo.outbox.clear();
    // Two new people with one email in the same push.
    let first = mo.edit(
        "person",
        "p-eve",
        DIRECTORY_ACCOUNT,
        "email",
        json!("eve@partner.example"),
        t + 3,
    );
    let second = mo.edit(
        "person",
        "p-eve2",
        DIRECTORY_ACCOUNT,
        "email",
        json!("Eve@partner.example"),
        t + 3,
    );
    refused(
        mo.push_raw(&[first, second]).await,
        StatusCode::BAD_REQUEST,
        "the email eve@partner.example",
    )
    .await;
    mo.outbox.clear();
    // Nothing of the refused pushes landed.
    let mut ben = Client::sign_in(&server.base, "ben@acme.example", "ben").await;
    ben.pull().await;
    let people = ben.replica.state()["person"].clone();
    let ids: Vec<&String> = people.keys().collect();
    assert_eq!(ids, ["p-ana", "p-dee"]);
    assert_eq!(people["p-dee"]["email"], json!("dee@partner.example"));

    // Dee's email moves to a new person while Dee takes another, in one push: fine. The
    // same directory sent again (the same person, the same email) is fine too.
    mo.edit(
        "person",
        "p-dee",
        DIRECTORY_ACCOUNT,
        "email",
        json!("dee.old@partner.example"),
        t + 4,
    );
    mo.edit(
        "person",
        "p-new",
        DIRECTORY_ACCOUNT,
        "email",
        json!("dee@partner.example"),
        t + 4,
    );
    mo.edit(
        "person",
        "p-ana",
        DIRECTORY_ACCOUNT,
        "email",
        json!("ana@acme.example"),
        t + 4,
    );
    mo.push().await;
    ben.pull().await;
    let people = &ben.replica.state()["person"];
    assert_eq!(people["p-dee"]["email"], json!("dee.old@partner.example"));
    assert_eq!(people["p-new"]["email"], json!("dee@partner.example"));
}

/// Finding 7: an account's team is its owner's, not whoever pushes it first; a user with
/// no team names an owner; moving between teams is a manager's act.
async fn an_account_belongs_to_its_owners_team(backing: &Backing) {
    backing.seed(USERS).await;
    let server = Server::start(backing);
    let mut mo = Client::sign_in(&server.base, "mo@acme.example", "mo").await;
    let mut vp = Client::sign_in(&server.base, "vp@acme.example", "vp").await;
    let t = now_ms();
    mo.edit(
        "person",
        "p-ana",
        DIRECTORY_ACCOUNT,
        "email",
        json!("ana@acme.example"),
        t,
    );
    mo.edit(
        "person",
        "p-cy",
        DIRECTORY_ACCOUNT,
        "email",
        json!("cy@acme.example"),
        t,
    );
    mo.push().await;

    // The VP has no team: an account without an owner has nowhere to go.
    let orphan = vp.edit(
        "account",
        "acc-v",
        "acc-v",
        "name",
        json!("Fabrikam"),
        t + 1,
    );
    refused(
        vp.push_raw(&[orphan]).await,
        StatusCode::FORBIDDEN,
        "would belong to no team",
    )
    .await;
    vp.outbox.clear();
    vp.edit(
        "account",
        "acc-v",
        "acc-v",
        "name",
        json!("Fabrikam"),
        t + 2,
    );
    vp.edit(
        "account",
        "acc-v",
        "acc-v",
        "owner_id",
        json!("p-ana"),
        t + 2,
    );
    vp.push().await;
    // The Mid-Market manager creates an account owned by Ana: it is Enterprise's.
    mo.edit(
        "account",
        "acc-a",
        "acc-a",
        "name",
        json!("Tailspin"),
        t + 3,
    );
    mo.edit(
        "account",
        "acc-a",
        "acc-a",
        "owner_id",
        json!("p-ana"),
        t + 3,
    );
    mo.push().await;
    let mut ben = Client::sign_in(&server.base, "ben@acme.example", "ben").await;
    ben.pull().await;
    let accounts = &ben.replica.state()["account"];
    assert!(
        accounts.contains_key("acc-v") && accounts.contains_key("acc-a"),
        "{accounts:?}"
    );
    let mut cy = Client::sign_in(&server.base, "cy@acme.example", "cy").await;
    cy.pull().await;
    assert!(!cy.replica.state().contains_key("account"));

    // Ben may not hand Ana's account to Mid-Market; the manager may, and it moves.
    let handover = ben.edit(
        "account",
        "acc-a",
        "acc-a",
        "owner_id",
        json!("p-cy"),
        t + 4,
    );
    refused(
        ben.push_raw(&[handover]).await,
        StatusCode::FORBIDDEN,
        "manager's act",
    )
    .await;
    ben.outbox.clear();
    mo.edit(
        "account",
        "acc-a",
        "acc-a",
        "owner_id",
        json!("p-cy"),
        t + 5,
    );
    mo.push().await;
    cy.pull().await;
    assert!(cy.replica.state()["account"].contains_key("acc-a"));
    let now_theirs = ben.edit("account", "acc-a", "acc-a", "name", json!("x"), t + 6);
    refused(
        ben.push_raw(&[now_theirs]).await,
        StatusCode::FORBIDDEN,
        "outside your team",
    )
    .await;
}

/// Findings 5 and 6: sizes and clocks.
async fn values_pages_and_clocks_have_limits(backing: &Backing) {
    backing.seed(USERS).await;
    let server = Server::start(backing);
    let mut ana = Client::sign_in(&server.base, "ana@acme.example", "ana").await;
    let t = now_ms();
    let huge = ana.edit(
        "account",
        "acc-e",
        "acc-e",
        "name",
        json!("x".repeat(63 * 1024 * 1024)),
        t,
    );
    // The server answers 413 as soon as it reads the length, and may close the connection
    // while the client is still sending: either way nothing is stored.
    let sent = ana
        .http
        .post(format!("{}/v1/push", server.base))
        .bearer_auth(&ana.token)
        .json(&riskdesk_sync::PushRequest::new("ana", vec![huge]))
        .send()
        .await;
    match sent {
        Ok(r) => assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    ana.outbox.clear();
    let long = ana.edit(
        "account",
        "acc-e",
        "acc-e",
        "name",
        json!("x".repeat(5_000)),
        t,
    );
    refused(
        ana.push_raw(&[long]).await,
        StatusCode::BAD_REQUEST,
        "account.name to 5002 bytes; at most 2048",
    )
    .await;
    ana.outbox.clear();
    let evidence = ana.edit(
        "cta",
        "cta-1",
        "acc-e",
        "evidence",
        json!("x".repeat(40_000)),
        t,
    );
    refused(
        ana.push_raw(&[evidence]).await,
        StatusCode::BAD_REQUEST,
        "cta.evidence to 40002 bytes; at most 32768",
    )
    .await;
    ana.outbox.clear();

    // A far-future stamp is refused, naming the device's clock; a few seconds ahead is fine.
    let future = Change {
        hlc: Hlc {
            wall_ms: u64::MAX,
            counter: 0,
            device: "ana".into(),
        },
        ..ana.edit("account", "acc-e", "acc-e", "name", json!("Future"), t)
    };
    refused(
        ana.push_raw(&[future]).await,
        StatusCode::BAD_REQUEST,
        "the clock of device ana is wrong",
    )
    .await;
    ana.outbox.clear();
    let ten_minutes = ana.edit(
        "account",
        "acc-e",
        "acc-e",
        "name",
        json!("Later"),
        t + 600_000,
    );
    refused(
        ana.push_raw(&[ten_minutes]).await,
        StatusCode::BAD_REQUEST,
        "ahead of the server's clock",
    )
    .await;
    ana.outbox.clear();
    // The device's clock is set right again.
    ana.clock = riskdesk_sync::Clock::new("ana");
    ana.edit(
        "account",
        "acc-e",
        "acc-e",
        "name",
        json!("Northwind"),
        t + 5_000,
    );
    ana.push().await;

    // 200 weekly updates of 30 KB each: a teammate's pull comes in pages of about 2 MB.
    for i in 0..200 {
        ana.edit(
            "risk_update",
            &format!("u-{i}"),
            "acc-e",
            "background",
            json!("y".repeat(30_000)),
            t + 6_000 + i,
        );
    }
    ana.push().await;
    let ben = Client::sign_in(&server.base, "ben@acme.example", "ben").await;
    let r = ben
        .http
        .get(format!(
            "{}/v1/pull?protocol={}&since=0&limit=10000",
            server.base,
            riskdesk_sync::PROTOCOL_VERSION
        ))
        .bearer_auth(&ben.token)
        .send()
        .await
        .expect("pull");
    let bytes = r.bytes().await.expect("body");
    let page: PullResponse = serde_json::from_slice(&bytes).expect("page");
    assert!(
        page.more,
        "a page of {} bytes should have been cut",
        bytes.len()
    );
    assert!(bytes.len() < 3 * 1024 * 1024, "{} bytes", bytes.len());
    let mut ben = ben;
    assert_eq!(
        ben.pull().await,
        201,
        "every change still arrives, page by page"
    );
}

/// Findings 3, 8 and 9: revocation, disabling, resets, timing and rate limits.
async fn identity_means_what_it_says(backing: &Backing) {
    backing.seed(USERS).await;
    let server = Server::start(backing);
    let me = |c: &Client| {
        let (http, url, token) = (c.http.clone(), format!("{}/v1/me", c.base), c.token.clone());
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("me")
                .status()
        }
    };
    // Disable: the token dies at once and signing in is refused; enable lets them back.
    let ana = Client::sign_in(&server.base, "ana@acme.example", "ana").await;
    assert_eq!(me(&ana).await, StatusCode::OK);
    admin(backing, &["user", "disable", "--email", "ana@acme.example"]);
    assert_eq!(me(&ana).await, StatusCode::UNAUTHORIZED);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/sessions", server.base))
        .json(&json!({ "email": "ana@acme.example", "password": PASSWORD }))
        .send()
        .await
        .expect("sign in");
    refused(r, StatusCode::UNAUTHORIZED, "disabled").await;
    admin(backing, &["user", "enable", "--email", "ana@acme.example"]);
    let ana = Client::sign_in(&server.base, "ana@acme.example", "ana").await;
    assert!(admin_fails(
        backing,
        &["user", "disable", "--email", "nobody@acme.example"]
    )
    .contains("no user"));

    // A password reset ends every session.
    let ben = Client::sign_in(&server.base, "ben@acme.example", "ben").await;
    let reset = std::process::Command::new(env!("CARGO_BIN_EXE_riskdesk-server"))
        .args([
            "user",
            "add",
            "--email",
            "ben@acme.example",
            "--name",
            "Ben",
            "--role",
            "csm",
            "--team",
            "Enterprise",
        ])
        .args(backing.args())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b"a brand new password\n")?;
            child.wait()
        })
        .expect("reset");
    assert!(reset.success());
    assert_eq!(
        me(&ben).await,
        StatusCode::UNAUTHORIZED,
        "the old session ended"
    );
    assert_eq!(me(&ana).await, StatusCode::OK, "nobody else's did");

    // A stranger guessing Ana's password from another address locks only themselves out.
    let http_from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().ok())
            .build()
            .expect("client")
    };
    let stranger = http_from("127.0.0.2");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = stranger
            .post(format!("{}/v1/sessions", server.base))
            .json(&json!({ "email": "ana@acme.example", "password": "not her password" }))
            .send()
            .await
            .expect("guess");
        statuses.push(r.status());
    }
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    Client::sign_in_from(&server.base, "ana@acme.example", "ana-2", "127.0.0.3").await;
    // Guesses spread over many emails from one address meet the per-address limit.
    let sprayer = http_from("127.0.0.4");
    let mut limited = false;
    for i in 0..24 {
        let r = sprayer
            .post(format!("{}/v1/sessions", server.base))
            .json(&json!({ "email": format!("user{}@acme.example", i % 6), "password": "Winter2026!" }))
            .send()
            .await
            .expect("spray");
        limited |= r.status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "24 guesses from one address were never limited");
    // Garbage invite codes from one address do not block a real invite from another.
    for _ in 0..8 {
        stranger
            .post(format!("{}/v1/invites/accept", server.base))
            .json(&json!({ "code": "garbage", "password": "whatever password" }))
            .send()
            .await
            .expect("garbage");
    }
    let invited = admin(
        backing,
        &[
            "user",
            "invite",
            "--email",
            "dee@acme.example",
            "--name",
            "Dee",
            "--role",
            "csm",
            "--team",
            "Enterprise",
        ],
    );
    let code = invited.lines().last().expect("code").trim().to_string();
    let r = http_from("127.0.0.5")
        .post(format!("{}/v1/invites/accept", server.base))
        .json(&json!({ "code": code, "password": "dee's own password" }))
        .send()
        .await
        .expect("accept");
    assert_eq!(r.status(), StatusCode::OK);

    // An unknown email costs what a wrong password costs: nothing tells them apart.
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..20 {
        let http = http_from(&format!("127.0.1.{}", i + 10));
        for (email, times) in [
            ("cy@acme.example".to_string(), &mut known),
            (format!("ghost{i}@acme.example"), &mut unknown),
        ] {
            let started = Instant::now();
            let r = http
                .post(format!("{}/v1/sessions", server.base))
                .json(&json!({ "email": email, "password": "wrong password" }))
                .send()
                .await
                .expect("sign in");
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            times.push(started.elapsed().as_secs_f64());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (k, u) = (median(&mut known), median(&mut unknown));
    assert!(
        u > k * 0.5 && u < k * 2.0,
        "wrong password {k:.4}s, unknown email {u:.4}s"
    );
}

/// A malicious CSM's random pushes (any entity, record, account, field, stamp, value):
/// whatever the server accepts, nothing another team's devices hold ever changes.
async fn random_hostile_pushes_never_touch_another_team(backing: &Backing) {
    backing.seed(USERS).await;
    let server = Server::start(backing);
    let (mut ana, mut ben) = enterprise_book(&server).await;
    let mut mo = Client::sign_in(&server.base, "mo@acme.example", "mo").await;
    let t = now_ms() - 30_000;
    mo.edit(
        "person",
        "p-ana",
        DIRECTORY_ACCOUNT,
        "email",
        json!("ana@acme.example"),
        t,
    );
    mo.edit(
        "playbook",
        "pb-1",
        DIRECTORY_ACCOUNT,
        "name",
        json!("Risk save"),
        t,
    );
    mo.push().await;
    ben.pull().await;
    ana.pull().await;
    let before = ben.replica.state();

    let seed = std::env::var("RISKDESK_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7u64);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut cy = Client::sign_in(&server.base, "cy@acme.example", "cy").await;
    let ids = ["acc-e", "cta-e", "acc-m", "p-ana", "pb-1", "x-1"];
    let accounts = ["acc-e", "acc-m", "acc-x", DIRECTORY_ACCOUNT];
    let (mut accepted, mut pushes) = (0, 0);
    for round in 0..60 {
        let mut changes = Vec::new();
        for _ in 0..rng.gen_range(1..4) {
            let entity = ENTITIES[rng.gen_range(0..ENTITIES.len())];
            let field = match rng.gen_range(0..5) {
                0 => "_deleted".to_string(),
                1 => "bogus".to_string(),
                _ => entity.columns[rng.gen_range(0..entity.columns.len())].to_string(),
            };
            let value = match rng.gen_range(0..4) {
                0 => json!(true),
                1 => json!(rng.gen::<i32>()),
                2 => Value::Null,
                _ => json!(format!("evil {round}")),
            };
            let wall_ms = match rng.gen_range(0..4) {
                0 => 1,
                1 => u64::MAX,
                2 => now_ms() + rng.gen_range(0..120_000),
                _ => t - rng.gen_range(0..1_000_000),
            };
            cy.n += 1;
            changes.push(Change {
                change_id: format!("cy-evil-{}", cy.n),
                entity: entity.name.into(),
                entity_id: ids[rng.gen_range(0..ids.len())].into(),
                account_id: accounts[rng.gen_range(0..accounts.len())].into(),
                field,
                value,
                hlc: Hlc {
                    wall_ms,
                    counter: rng.gen(),
                    device: "cy".into(),
                },
                device_id: "cy".into(),
            });
        }
        pushes += 1;
        let r = cy.push_raw(&changes).await;
        assert!(
            r.status().is_success() || r.status().is_client_error(),
            "{}",
            r.status()
        );
        if r.status().is_success() {
            accepted += 1;
            let body: Value = r.json().await.expect("answer");
            // A conflict never hands back another team's value.
            assert!(
                !body.to_string().contains("Northwind") && !body.to_string().contains("Usage down"),
                "{body}"
            );
        }
    }
    ben.pull().await;
    assert_eq!(
        ben.replica.state(),
        before,
        "seed {seed}: {accepted} of {pushes} hostile pushes accepted"
    );
}

/// Protocol 3 pushes records: a record that sets no field, sets one field twice at one
/// moment, or is stamped by another device than the one pushing is refused whole, and a
/// record retried under its id is stored once.
async fn a_record_is_one_moment_of_one_device(backing: &Backing) {
    backing.seed(USERS).await;
    let server = Server::start(backing);
    let (ana, mut ben) = enterprise_book(&server).await;
    let t = now_ms() - 30_000;
    let push = |records: Value| {
        ana.http
            .post(format!("{}/v1/push", server.base))
            .bearer_auth(&ana.token)
            .json(&json!({
                "protocol": riskdesk_sync::PROTOCOL_VERSION,
                "device_id": "ana",
                "records": records,
            }))
            .send()
    };
    let record = |device: &str, fields: Value| {
        json!({
            "entity": "account",
            "entity_id": "acc-e",
            "account_id": "acc-e",
            "hlc": { "wall_ms": t, "counter": 0, "device": device },
            "fields": fields,
        })
    };
    let field = |id: &str, name: &str, value: Value| json!({ "change_id": id, "field": name, "value": value });
    refused(
        push(json!([record("ana", json!([]))])).await.expect("push"),
        StatusCode::BAD_REQUEST,
        "sets no field of account acc-e",
    )
    .await;
    refused(
        push(json!([record(
            "ana",
            json!([
                field("r1", "name", json!("A")),
                field("r2", "name", json!("B"))
            ])
        )]))
        .await
        .expect("push"),
        StatusCode::BAD_REQUEST,
        "sets account.name twice at one moment",
    )
    .await;
    refused(
        push(json!([
            record("ana", json!([field("r3", "name", json!("Fine"))])),
            record("ben", json!([field("r4", "name", json!("Ben's"))]))
        ]))
        .await
        .expect("push"),
        StatusCode::BAD_REQUEST,
        "comes from device ben, not the pushing device ana",
    )
    .await;
    // Nothing of the refused pushes landed, the good record in the last one included.
    assert_eq!(ben.pull().await, 0);
    // A retried record is stored once, however many times it is sent.
    let good = json!([record(
        "ana",
        json!([
            field("r5", "name", json!("Northwind Ltd")),
            field("r6", "arr_minor", json!(1))
        ])
    )]);
    for expect in [(2, 0), (0, 2)] {
        let r = push(good.clone()).await.expect("push");
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.expect("json");
        assert_eq!(
            (body["accepted"].as_u64(), body["duplicates"].as_u64()),
            (Some(expect.0), Some(expect.1))
        );
    }
    assert_eq!(ben.pull().await, 2);
    assert_eq!(
        ben.replica.state()["account"]["acc-e"]["name"],
        json!("Northwind Ltd")
    );
}

on_both_backends!(
    a_record_is_one_moment_of_one_device,
    a_record_keeps_the_account_it_was_first_written_under,
    the_directory_is_kept_by_admins_and_managers,
    one_email_is_one_person,
    an_account_belongs_to_its_owners_team,
    values_pages_and_clocks_have_limits,
    identity_means_what_it_says,
    random_hostile_pushes_never_touch_another_team,
);

/// Writes `sent` on a new connection to the server, then goes silent; returns what the
/// server sent back before it closed the connection and how long that took (None: it
/// was still open after `patience`).
async fn go_silent(
    base: &str,
    sent: &[u8],
    patience: std::time::Duration,
) -> Option<(String, std::time::Duration)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    conn.write_all(sent).await.expect("write");
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(patience, conn.read_to_end(&mut answer)).await;
    match read {
        Ok(_) => Some((
            String::from_utf8_lossy(&answer).to_string(),
            started.elapsed(),
        )),
        Err(_) => None,
    }
}

/// Finding: a client that opens connections and goes silent (no request, headers that
/// stop, a body that stops) held each of them, and a handler, for good. With a stall
/// limit of 1 s each is ended within a few seconds, and the server goes on serving.
#[tokio::test]
async fn a_client_that_goes_silent_mid_request_is_let_go() {
    let backing = Backing::sqlite();
    backing.seed(USERS).await;
    let server = Server::start_with(&backing, &["--stall-secs".into(), "1".into()]);
    let patience = std::time::Duration::from_secs(10);
    let ana = Client::sign_in(&server.base, "ana@acme.example", "ana").await;

    // Nothing at all, then headers that stop half-way.
    for sent in [
        &b""[..],
        &b"POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Ty"[..],
    ] {
        let (answer, took) = go_silent(&server.base, sent, patience)
            .await
            .unwrap_or_else(|| {
                panic!(
                    "still open after {patience:?} with {:?} sent",
                    String::from_utf8_lossy(sent)
                )
            });
        assert!(took < std::time::Duration::from_secs(5), "{took:?}");
        assert!(!answer.contains("200 OK"), "{answer}");
    }

    // A signed-in push whose body stops after 10 of its 1,000 bytes: refused, not held.
    let head = format!(
        "POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"protocol",
        ana.token
    );
    let (answer, took) = go_silent(&server.base, head.as_bytes(), patience)
        .await
        .expect("a stalled body was held");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");

    // Meanwhile and after, everyone else is served.
    let health = reqwest::get(format!("{}/health", server.base))
        .await
        .expect("health");
    assert_eq!(health.status(), StatusCode::OK);
    let mut ben = Client::sign_in(&server.base, "ben@acme.example", "ben").await;
    ben.pull().await;
    drop(server);
    backing.finish().await;
}
