//! The relatives line over HTTP: who may see inquiries and lists (every refusal
//! answered 403, audited, and nothing stored), list uploads taken or refused
//! whole, candidates ranked on the inquiry page, a confirmation that creates a
//! callback task with the approved wording, the audited export, and the purge.

mod common;

use common::{Agent, TestApp, account, audit_entries, unix_now};
use crieur_domain::Language;
use crieur_domain::access::Role;
use crieur_domain::audit::Outcome;
use crieur_domain::matching::PartialDate;
use crieur_domain::relatives::{Involvement, Relationship};
use crieur_store::{
    DEFAULT_STAFFING_TARGET, Enquirer, InquiryState, NewHotline, NewInquiry, SoughtPerson,
};
use reqwest::StatusCode;

const HOSPITAL_CSV: &str = "Nom;Prénom;Date de naissance;Sexe;Hôpital;Service\n\
    Dupont;Marie;14/05/1962;F;CHR Citadelle;Urgences\n\
    Peeters;Jan;1980;M;CHR Citadelle;Brûlés\n\
    Dupond;Maria;02/03/1990;F;CHU Sart-Tilman;\n";

struct World {
    app: TestApp,
    incident: i64,
    hotline: i64,
    inquiry: i64,
}

/// An incident in Liège with an active hotline and one inquiry about Marie Dupont.
async fn world() -> World {
    let app = common::spawn().await;
    account(&app.store, "mayor", Role::Mayor, "62063", true).await;
    let mayor = app
        .store
        .accounts()
        .account_by_username("mayor")
        .await
        .unwrap()
        .unwrap()
        .id;
    let incident = app
        .store
        .alerts()
        .open_incident("Explosion", "62063".parse().unwrap(), mayor)
        .await
        .unwrap()
        .id;
    let hotline = app
        .store
        .hotline()
        .activate_hotline(&NewHotline {
            incident_id: incident,
            number: "1771".into(),
            languages: vec![Language::Fr],
            config: "{}".into(),
            staffing_target: DEFAULT_STAFFING_TARGET,
            activated_by: mayor,
            activated_at: unix_now() as i64,
        })
        .await
        .unwrap()
        .id;
    let inquiry = app
        .store
        .relatives()
        .create_inquiry(&NewInquiry {
            incident_id: incident,
            hotline_id: Some(hotline),
            call_id: None,
            sought: SoughtPerson {
                given_names: "Marie".into(),
                family_names: "Dupont".into(),
                birth: PartialDate::year(1962),
                last_place: Some("Gare des Guillemins".into()),
                ..SoughtPerson::default()
            },
            caller: Enquirer {
                name: "Paul Dupont".into(),
                relationship: Relationship::Child,
                callback_numbers: vec!["+32470222222".into()],
                language: Language::Fr,
            },
            involvement: Involvement::Likely,
            notes: String::new(),
            same_person_as: None,
            by: mayor,
            at: unix_now() as i64,
        })
        .await
        .unwrap()
        .id;
    World {
        app,
        incident,
        hotline,
        inquiry,
    }
}

async fn signed_in(app: &TestApp, username: &str, role: Role, territory: &str) -> Agent {
    let secret = account(
        &app.store,
        username,
        role,
        territory,
        role.requires_second_factor(),
    )
    .await;
    let mut agent = Agent::new(app);
    let r = agent
        .sign_in(username, secret.map(|s| s.code_at(unix_now())))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{username} signs in");
    agent
}

/// POSTs a list file as the page's script does.
async fn upload(
    agent: &Agent,
    csrf: &str,
    incident: i64,
    query: &str,
    body: &str,
    language: &str,
) -> (StatusCode, serde_json::Value) {
    let mut rb = agent
        .client
        .post(format!(
            "{}/api/incidents/{incident}/relatives/lists?{query}",
            agent.base
        ))
        .header("x-csrf-token", csrf)
        .header("accept-language", language)
        .body(body.to_owned());
    if let Some(c) = &agent.cookie {
        rb = rb.header("cookie", format!("crieur_session={c}"));
    }
    let r = rb.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or_default())
}

#[tokio::test]
async fn only_trained_staff_of_the_territory_reach_inquiries_and_every_refusal_is_audited() {
    let w = world().await;
    let (id, q) = (w.incident, w.inquiry);
    let refused = [
        ("info", Role::HotlineOperator, "62063"),
        ("mayor.2", Role::Mayor, "62063"),
        ("officer", Role::CommunicationOfficer, "62063"),
        ("admin", Role::Administrator, "01000"),
        ("rel.namur", Role::RelativesOperator, "92094"),
        ("sup.namur", Role::HotlineSupervisor, "92094"),
    ];
    for (username, role, territory) in refused {
        let mut agent = signed_in(&w.app, username, role, territory).await;
        let before = audit_entries(&w.app.store, "view_inquiries").await.len();
        for path in [
            format!("/console/incidents/{id}/relatives"),
            format!("/console/inquiries/{q}"),
            format!("/console/incidents/{id}/relatives/inquiries.csv"),
        ] {
            let r = agent.get(&path).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{username} GET {path}");
            assert!(
                !r.body.contains("Dupont"),
                "{username} sees nothing of {path}"
            );
        }
        // Forms need the token of a page they may see: take it from the profile.
        agent.get("/console").await;
        let csrf = agent.csrf();
        for (path, form) in [
            (
                format!("/console/inquiries/{q}/decide"),
                vec![("entry", "1"), ("decision", "rejected")],
            ),
            (format!("/console/inquiries/{q}/link"), vec![("other", "1")]),
            (
                format!("/console/inquiries/{q}/state"),
                vec![("state", "closed")],
            ),
            (
                format!("/console/incidents/{id}/relatives/entries"),
                vec![
                    ("kind", "evacuee"),
                    ("source", "x"),
                    ("family_names", "Intrus"),
                ],
            ),
        ] {
            let mut form = form;
            form.push(("csrf", csrf.as_str()));
            let r = agent.post(&path, &form).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{username} POST {path}");
        }
        let (status, _) = upload(
            &agent,
            &csrf,
            id,
            "kind=hospital_admission&source=CHR&format=csv",
            HOSPITAL_CSV,
            "fr",
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{username} uploads");
        let after = audit_entries(&w.app.store, "view_inquiries").await;
        assert_eq!(after.len() - before, 8, "{username}: every refusal audited");
        assert!(
            after[..8]
                .iter()
                .all(|e| e.outcome == Outcome::Denied.as_str() && e.actor == username)
        );
    }
    // Nothing was stored or changed by any of them.
    let relatives = w.app.store.relatives();
    assert!(relatives.lists(id).await.unwrap().is_empty());
    assert!(relatives.decisions(q).await.unwrap().is_empty());
    assert_eq!(
        relatives.inquiry(q).await.unwrap().unwrap().state,
        InquiryState::Open
    );
    assert!(
        audit_entries(&w.app.store, "relatives.view")
            .await
            .is_empty()
    );

    // Without a session: sent to sign in, and still nothing stored.
    let r = w.app.get(&format!("/console/inquiries/{q}")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let anonymous = Agent::new(&w.app);
    let (status, _) = upload(
        &anonymous,
        "x",
        id,
        "kind=hospital_admission&source=CHR&format=csv",
        HOSPITAL_CSV,
        "fr",
    )
    .await;
    assert!(!status.is_success(), "{status}");
    assert!(relatives.lists(id).await.unwrap().is_empty());

    // A trained operator without the CSRF token is refused too.
    let mut rel = signed_in(&w.app, "rel", Role::RelativesOperator, "62063").await;
    let (status, _) = upload(
        &rel,
        "forged",
        id,
        "kind=hospital_admission&source=CHR&format=csv",
        HOSPITAL_CSV,
        "fr",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(relatives.lists(id).await.unwrap().is_empty());

    // Recording an inquiry at the desk needs a relatives-line call on one's desk.
    rel.get("/console").await;
    let csrf = rel.csrf();
    let r = rel
        .client
        .post(format!(
            "{}/api/hotlines/{}/desk/calls/nope/inquiries",
            rel.base, w.hotline
        ))
        .header(
            "cookie",
            format!("crieur_session={}", rel.cookie.clone().unwrap()),
        )
        .header("x-csrf-token", csrf)
        .json(&serde_json::json!({"family_names": "X"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(relatives.inquiries(id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_trained_operator_uploads_a_list_and_confirms_a_match_that_creates_a_callback() {
    let w = world().await;
    let (id, q) = (w.incident, w.inquiry);
    let mut rel = signed_in(&w.app, "rel", Role::RelativesOperator, "62063").await;
    let page = rel.get(&format!("/console/incidents/{id}/relatives")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Marie Dupont"), "the inquiry is listed");
    let csrf = rel.csrf();

    // A file with a bad row is refused whole, in the reader's language.
    let bad = format!("{HOSPITAL_CSV}Janssens;An;31/02/1990;F;CHR;\n");
    let (status, body) = upload(
        &rel,
        &csrf,
        id,
        "kind=hospital_admission&source=CHR%20Citadelle&format=list.csv",
        &bad,
        "nl",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "relatives.list_error.bad_birth");
    assert_eq!(
        body["message"], "Rij 4: de geboortedatum is geen datum.",
        "{body}"
    );
    assert!(w.app.store.relatives().lists(id).await.unwrap().is_empty());
    let (status, _) = upload(
        &rel,
        &csrf,
        id,
        "kind=alien&source=CHR&format=csv",
        HOSPITAL_CSV,
        "fr",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = upload(
        &rel,
        &csrf,
        id,
        "kind=hospital_admission&source=CHR%20Citadelle&drawn_up=2026-11-29T08:30&format=list.csv",
        HOSPITAL_CSV,
        "fr",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["added"], 3);
    let lists = w.app.store.relatives().lists(id).await.unwrap();
    assert_eq!((lists.len(), lists[0].entries), (1, 3));
    assert_eq!(lists[0].source, "CHR Citadelle");

    // The inquiry page ranks Marie Dupont (born 14/05/1962) first, with reasons.
    let page = rel.get(&format!("/console/inquiries/{q}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let entries = w.app.store.relatives().list_entries(id).await.unwrap();
    let marie = entries
        .iter()
        .find(|e| e.person.family_names == "Dupont")
        .unwrap()
        .id;
    let first_row = page.body.find("data-entry=\"").expect("candidates");
    assert!(
        page.body[first_row..].starts_with(&format!("data-entry=\"{marie}\"")),
        "Marie Dupont ranks first"
    );
    assert!(page.body.contains("CHR Citadelle"));
    let csrf = rel.csrf();

    // Confirmed: one callback task, with the approved wording in French.
    let r = rel
        .post(
            &format!("/console/inquiries/{q}/decide"),
            &[
                ("csrf", &csrf),
                ("entry", &marie.to_string()),
                ("decision", "confirmed"),
                ("note", "birth date confirmed by the son"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let decisions = w.app.store.relatives().decisions(q).await.unwrap();
    assert_eq!(decisions.len(), 1);
    let callback = decisions[0].callback.clone().expect("a callback task");
    assert_eq!(callback.number, "+32470222222");
    assert_eq!(callback.hotline_id, w.hotline);
    assert_eq!(callback.reason, "inquiry_match");
    assert!(
        callback.note.contains("a été admise à CHR Citadelle"),
        "{}",
        callback.note
    );
    assert!(
        !callback.note.contains("Urgences"),
        "no ward details in the wording"
    );
    assert!(decisions[0].score > 0.9, "{}", decisions[0].score);
    assert_eq!(
        w.app
            .store
            .relatives()
            .inquiry(q)
            .await
            .unwrap()
            .unwrap()
            .state,
        InquiryState::Matched
    );
    // Twice: refused, still one callback.
    let again = rel
        .post(
            &format!("/console/inquiries/{q}/decide"),
            &[
                ("csrf", &csrf),
                ("entry", &marie.to_string()),
                ("decision", "confirmed"),
            ],
        )
        .await;
    assert_eq!(
        again.location.as_deref(),
        Some(format!("/console/inquiries/{q}?error=relatives.already_decided").as_str())
    );
    assert_eq!(
        w.app
            .store
            .hotline()
            .callbacks(w.hotline, true)
            .await
            .unwrap()
            .len(),
        1
    );
    // An entry of no list of this incident cannot be decided.
    let stray = rel
        .post(
            &format!("/console/inquiries/{q}/decide"),
            &[
                ("csrf", &csrf),
                ("entry", "999999"),
                ("decision", "rejected"),
            ],
        )
        .await;
    assert!(
        stray
            .location
            .unwrap()
            .contains("error=relatives.unknown_entry")
    );

    // The callback task shows on a relatives operator's desk, not an
    // information operator's.
    let callbacks = |agent: &Agent| {
        let rb = agent
            .client
            .get(format!(
                "{}/api/hotlines/{}/desk/callbacks",
                agent.base, w.hotline
            ))
            .header(
                "cookie",
                format!("crieur_session={}", agent.cookie.clone().unwrap()),
            );
        async move {
            rb.send()
                .await
                .unwrap()
                .json::<Vec<serde_json::Value>>()
                .await
                .unwrap()
        }
    };
    assert_eq!(callbacks(&rel).await.len(), 1);
    let info = signed_in(&w.app, "info", Role::HotlineOperator, "62063").await;
    assert!(callbacks(&info).await.is_empty());

    // The export is a CSV of the inquiries, and it is audited.
    let r = rel
        .client
        .get(format!(
            "{}/console/incidents/{id}/relatives/inquiries.csv",
            rel.base
        ))
        .header(
            "cookie",
            format!("crieur_session={}", rel.cookie.clone().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = r.text().await.unwrap();
    assert!(csv.lines().nth(1).unwrap().contains("Dupont"), "{csv}");
    assert_eq!(csv.lines().count(), 2);

    for action in [
        "relatives.view",
        "relatives.list_upload",
        "relatives.match_confirmed",
        "relatives.export",
    ] {
        let entries = audit_entries(&w.app.store, action).await;
        assert!(
            entries
                .iter()
                .any(|e| e.actor == "rel" && e.outcome == Outcome::Success.as_str()),
            "{action} audited"
        );
    }
    let refused_upload = audit_entries(&w.app.store, "relatives.list_upload").await;
    assert!(
        refused_upload
            .iter()
            .any(|e| e.outcome == Outcome::Failure.as_str()),
        "the refused file is audited too"
    );
}

#[tokio::test]
async fn the_purge_deletes_a_closed_incidents_records_only_after_the_retention() {
    let w = world().await;
    let store = &w.app.store;
    let by = store
        .accounts()
        .account_by_username("mayor")
        .await
        .unwrap()
        .unwrap()
        .id;
    // Still open: kept whatever the retention.
    let purged = crieur::housekeeping::purge_relatives(store, 0)
        .await
        .unwrap();
    assert_eq!(purged.inquiries, 0);
    store
        .hotline()
        .close_hotline(w.hotline, by, "", 0)
        .await
        .unwrap();
    store.alerts().close_incident(w.incident, by).await.unwrap();
    // Closed a moment ago: kept for 30 days.
    let purged = crieur::housekeeping::purge_relatives(store, 30)
        .await
        .unwrap();
    assert_eq!(purged.inquiries, 0);
    assert!(
        store
            .relatives()
            .inquiry(w.inquiry)
            .await
            .unwrap()
            .is_some()
    );
    assert!(audit_entries(store, "relatives.purge").await.is_empty());
    // With no retention: gone, and audited.
    let purged = crieur::housekeeping::purge_relatives(store, 0)
        .await
        .unwrap();
    assert_eq!((purged.incidents, purged.inquiries), (1, 1));
    assert!(
        store
            .relatives()
            .inquiry(w.inquiry)
            .await
            .unwrap()
            .is_none()
    );
    let audit = audit_entries(store, "relatives.purge").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor, "system");
}
