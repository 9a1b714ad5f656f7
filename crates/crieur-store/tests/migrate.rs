//! `migrate-store`'s copy: a SQLite store filled through the store API reads
//! back identically through the store API on PostgreSQL, ids and audit chain
//! included; the copy goes on working (new ids follow the copied ones); a
//! non-empty destination is refused unless replaced; and a store written to
//! during the copy moves as one consistent snapshot. Skipped without PostgreSQL.

use crieur_domain::Language;
use crieur_domain::address::RegistryAddress;
use crieur_domain::audit::{AuditEntry, AuditRecord, Outcome, verify_chain};
use crieur_store::transfer::{TransferOptions, transfer};
use crieur_store::*;
use crieur_testkit::Backend;
use std::num::NonZeroU32;

const NOW: i64 = 1_750_000_000;

fn account(username: &str) -> NewAccount {
    NewAccount {
        username: username.into(),
        display_name: username.into(),
        role: crieur_domain::access::Role::Mayor,
        territory: "62063".parse().unwrap(),
        password_hash: "$argon2id$hash".into(),
        totp_secret: Some("JBSWY3DPEHPK3PXP".into()),
    }
}

/// Everything the store API reads back about what `fill` wrote.
#[derive(Debug, PartialEq)]
struct Snapshot {
    accounts: Vec<Account>,
    session: Option<Session>,
    audit: Vec<AuditEntry>,
    citizens: Vec<Citizen>,
    registrations: Vec<(crieur_domain::NisCode, u64, u64)>,
    boundaries: Vec<StoredBoundary>,
    sources: Vec<(String, bool, u64)>,
    geocoded: Option<RegistryAddress>,
    incidents: Vec<Incident>,
    alerts: Vec<StoredAlert>,
    report: Vec<DeliveryLine>,
    counts: Vec<DeliveryCounts>,
    hotlines: Vec<Hotline>,
    callouts: Vec<Callout>,
    calls: Vec<Call>,
    queue_log: Vec<QueueLogEntry>,
    answers: Vec<AnswerVersion>,
    history: Vec<AnswerVersion>,
    callbacks: Vec<Callback>,
    topics: Vec<TopicCount>,
    inquiries: Vec<crieur_store::Inquiry>,
    lists: Vec<crieur_store::PersonList>,
    entries: Vec<crieur_store::StoredEntry>,
    decisions: Vec<crieur_store::MatchDecision>,
}

struct Filled {
    alert: i64,
    hotline: i64,
    incident: i64,
    inquiry: i64,
}

async fn fill(s: &Store) -> Filled {
    let alice = s
        .accounts()
        .create_account(&account("alice"))
        .await
        .unwrap();
    let bob = s.accounts().create_account(&account("Bob")).await.unwrap();
    s.accounts().set_disabled(bob.id, true).await.unwrap();
    s.accounts()
        .record_sign_in_failure(alice.id, NOW, 5, 900)
        .await
        .unwrap();
    s.sessions()
        .create_session(&Session {
            token_digest: "d1".into(),
            account_id: Some(alice.id),
            citizen_id: None,
            stage: Stage::Authenticated,
            csrf_token: "csrf".into(),
            created_at: NOW,
            last_seen_at: NOW,
            address: Some("127.0.0.1".into()),
        })
        .await
        .unwrap();
    for i in 0..5 {
        s.audit()
            .append_audit(
                AuditRecord::new("alice", format!("test.{i}"), Outcome::Success)
                    .territory("62063")
                    .detail("détail"),
                format!("2025-06-15T15:06:0{i}Z"),
            )
            .await
            .unwrap();
    }
    s.boundaries()
        .save_boundaries(&[StoredBoundary {
            nis: "62063".parse().unwrap(),
            geometry_geojson: r#"{"type":"Point","coordinates":[5.57,50.63]}"#.into(),
            source: "test".into(),
        }])
        .await
        .unwrap();
    s.addresses()
        .import_addresses(
            "registry.csv",
            true,
            &[RegistryAddress {
                street_nl: None,
                street_fr: Some("Rue Léopold".into()),
                street_de: None,
                house_number: "12".into(),
                box_number: Some("b".into()),
                postcode: "4000".into(),
                municipality: "62063".parse().unwrap(),
                lon: 5.57,
                lat: 50.64,
            }],
        )
        .await
        .unwrap();
    let address = |m: &str| StoredAddress {
        label: "home".into(),
        street: "Rue Léopold".into(),
        house_number: "12".into(),
        postcode: "4000".into(),
        municipality: m.parse().unwrap(),
        lon: 5.57,
        lat: 50.64,
        placed: "registry".into(),
    };
    let mut phones = Vec::new();
    for i in 0..4 {
        let phone = format!("+3247000000{i}");
        let (id, contacts) = s
            .citizens()
            .register_citizen(&NewCitizen {
                language: "fr".into(),
                general_interest: i % 2 == 0,
                consent_version: "v1".into(),
                consent_at: "2025-06-15T15:00:00Z".into(),
                source: "web".into(),
                contacts: vec![NewContact {
                    kind: "phone".into(),
                    value: phone.clone(),
                    line: Some("mobile".into()),
                    sms: true,
                    voice: false,
                    verified_by: Some("import".into()),
                }],
                addresses: vec![address("62063"), address("21004")],
            })
            .await
            .unwrap();
        s.citizens()
            .set_verification_secret(contacts[0], "digest", NOW, NOW + 600)
            .await
            .unwrap();
        if i == 3 {
            s.citizens().delete_citizen(id).await.unwrap();
        } else {
            phones.push(phone);
        }
    }
    s.citizens()
        .hit_rates(&["ip:127.0.0.1".into()], NOW, 60)
        .await
        .unwrap();

    let incident = s
        .alerts()
        .open_incident("Fire in Liège", "62063".parse().unwrap(), alice.id)
        .await
        .unwrap()
        .id;
    let alert = s
        .alerts()
        .create_alert(&NewAlert {
            incident_id: incident,
            identifier: "urn:crieur:1".into(),
            territory: "62063".parse().unwrap(),
            status: "Actual".into(),
            msg_type: "Alert".into(),
            references_id: None,
            test_group: false,
            composition: r#"{"headline":"Fire"}"#.into(),
            area: "[]".into(),
            fingerprint: "fp".into(),
            author_id: alice.id,
        })
        .await
        .unwrap();
    s.alerts().submit_alert(alert).await.unwrap();
    s.alerts()
        .release_alert(
            alert,
            &Release {
                fingerprint: "fp".into(),
                from: AlertState::Pending,
                approver: Some((bob.id, "ok".into())),
                by: alice.id,
                now: NOW,
                sent: "2025-06-15T15:06:40+00:00".into(),
                recipients: "{}".into(),
                texts: vec![PlannedText {
                    channel: "sms".into(),
                    language: "fr".into(),
                    subject: String::new(),
                    body: "Fermez les fenêtres".into(),
                }],
                deliveries: phones
                    .iter()
                    .map(|p| PlannedDelivery {
                        channel: "sms".into(),
                        language: "fr".into(),
                        address: p.clone(),
                    })
                    .collect(),
                priority: Priority::Actual,
            },
        )
        .await
        .unwrap();
    let claimed = s
        .deliveries()
        .claim_deliveries("sms", 2, NOW)
        .await
        .unwrap();
    s.deliveries()
        .record_deliveries(
            vec![DeliveryOutcome {
                id: claimed[0].id,
                provider: "smsc".into(),
                result: OutcomeKind::Sent {
                    references: vec!["m1".into(), "m2".into()],
                    await_receipts: true,
                    reach: None,
                    confirmed: false,
                },
            }],
            vec![ReceiptRecord {
                provider: "smsc".into(),
                reference: "m1".into(),
                failure: None,
            }],
            NOW,
        )
        .await
        .unwrap();

    let h = s.hotline();
    let hotline = h
        .activate_hotline(&NewHotline {
            incident_id: incident,
            number: "1771".into(),
            languages: vec![Language::Fr, Language::Nl],
            config: "{}".into(),
            staffing_target: 4,
            activated_by: alice.id,
            activated_at: NOW,
        })
        .await
        .unwrap()
        .id;
    h.add_callouts(
        hotline,
        vec![NewCallout {
            account_id: bob.id,
            channel: CalloutChannel::Sms,
            address: "+32470000009".into(),
            token_hash: "a".repeat(64),
            sent_at: NOW,
        }],
    )
    .await
    .unwrap();
    h.respond_callout(&"a".repeat(64), CalloutResponse::Coming, Some(20), NOW + 5)
        .await
        .unwrap();
    h.upsert_call(&CallRecord {
        hotline_id: hotline,
        call_id: "c1@pbx".into(),
        caller: "+32470000001".into(),
        line: Some(HotlineLine::Information),
        language: Some(Language::Fr),
        ivr_path: "lang:fr>1".into(),
        entered_at: NOW,
        answered_at: Some(NOW + 30),
        ended_at: None,
        operator_id: Some(bob.id),
        ending: None,
    })
    .await
    .unwrap();
    h.save_call_form(
        hotline,
        "c1@pbx",
        &CallForm {
            topics: vec!["smoke".into(), "schools".into()],
            tags: vec![],
            question: "Écoles ?".into(),
            municipality: Some("62063".parse().unwrap()),
            worry: Worry::new(3),
            notes: String::new(),
            outcome: "informed".into(),
        },
        bob.id,
        NOW + 60,
    )
    .await
    .unwrap();
    h.append_queue_log(vec![NewQueueLogEntry {
        hotline_id: hotline,
        at: NOW * 1000,
        call_id: "c1@pbx".into(),
        queue: "info-fr".into(),
        agent: "NONE".into(),
        event: "ENTERQUEUE".into(),
        data1: String::new(),
        data2: "+32470000001".into(),
        data3: "1".into(),
    }])
    .await
    .unwrap();
    let answer = h
        .publish_answer(&NewAnswerVersion {
            incident_id: incident,
            answer_key: None,
            language: Language::Fr,
            title: "Écoles".into(),
            body: "Fermées demain".into(),
            topics: vec!["schools".into()],
            author: alice.id,
            at: NOW,
        })
        .await
        .unwrap();
    h.publish_answer(&NewAnswerVersion {
        answer_key: Some(answer.answer_key),
        body: "Fermées demain et après-demain".into(),
        ..NewAnswerVersion {
            incident_id: incident,
            answer_key: None,
            language: Language::Fr,
            title: "Écoles".into(),
            body: String::new(),
            topics: vec!["schools".into()],
            author: alice.id,
            at: NOW + 10,
        }
    })
    .await
    .unwrap();
    let callback = h
        .create_callback(&NewCallback {
            hotline_id: hotline,
            call_id: Some("c1@pbx".into()),
            number: "+32470000001".into(),
            language: Language::Fr,
            line: HotlineLine::Information,
            reason: "operator".into(),
            note: "rappeler".into(),
            at: NOW,
        })
        .await
        .unwrap();
    h.assign_callback(callback.id, hotline, bob.id, NOW + 1)
        .await
        .unwrap();
    // The relatives line: an inquiry, a hospital list, a confirmed match.
    let r = s.relatives();
    let inquiry = r
        .create_inquiry(&crieur_store::NewInquiry {
            incident_id: incident,
            hotline_id: Some(hotline),
            call_id: Some("c1@pbx".into()),
            sought: crieur_store::SoughtPerson {
                given_names: "Marie".into(),
                family_names: "Dupont".into(),
                birth: crieur_domain::matching::PartialDate::year_month(1962, 5),
                ..Default::default()
            },
            caller: crieur_store::Enquirer {
                name: "Paul".into(),
                relationship: crieur_domain::relatives::Relationship::Child,
                callback_numbers: vec!["+32470000001".into()],
                language: Language::Fr,
            },
            involvement: crieur_domain::relatives::Involvement::Possible,
            notes: "inquiet".into(),
            same_person_as: None,
            by: alice.id,
            at: NOW,
        })
        .await
        .unwrap()
        .id;
    r.add_list(
        &crieur_store::NewPersonList {
            incident_id: incident,
            kind: crieur_domain::matching::ListKind::HospitalAdmission,
            source: "CHR".into(),
            drawn_up_at: NOW,
            origin: crieur_store::ListOrigin::Csv,
            by: alice.id,
            at: NOW,
        },
        vec![
            crieur_domain::relatives::ListPerson {
                given_names: "Marie".into(),
                family_names: "Dupont".into(),
                place: Some("CHR".into()),
                ..Default::default()
            },
            crieur_domain::relatives::ListPerson {
                family_names: "Peeters".into(),
                ..Default::default()
            },
        ],
    )
    .await
    .unwrap();
    let entry = r.list_entries(incident).await.unwrap()[0].id;
    r.decide_match(&crieur_store::NewDecision {
        inquiry_id: inquiry,
        entry_id: entry,
        score: 0.93,
        reasons: vec!["family_name_exact".into()],
        decision: crieur_store::Decision::Confirmed,
        note: String::new(),
        callback: Some(NewCallback {
            hotline_id: hotline,
            call_id: None,
            number: "+32470000001".into(),
            language: Language::Fr,
            line: HotlineLine::Relatives,
            reason: "inquiry_match".into(),
            note: "wording".into(),
            at: NOW,
        }),
        by: bob.id,
        at: NOW + 2,
    })
    .await
    .unwrap();
    Filled {
        alert,
        hotline,
        incident,
        inquiry,
    }
}

async fn snapshot(s: &Store, f: &Filled) -> Snapshot {
    let h = s.hotline();
    let answers = h.answers(f.incident).await.unwrap();
    Snapshot {
        accounts: s.accounts().accounts().await.unwrap(),
        session: s.sessions().session("d1").await.unwrap(),
        audit: s.audit().audit_entries(0, 1_000).await.unwrap(),
        citizens: s.citizens().all_citizens().await.unwrap(),
        registrations: s.citizens().registration_counts().await.unwrap(),
        boundaries: s.boundaries().boundaries().await.unwrap(),
        sources: s
            .addresses()
            .registry_sources()
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.name, r.synthetic, r.rows))
            .collect(),
        geocoded: s
            .addresses()
            .geocode("4000", "rue leopold", "12")
            .await
            .unwrap(),
        incidents: s.alerts().incidents(10).await.unwrap(),
        alerts: s.alerts().alerts_of_incident(f.incident).await.unwrap(),
        report: s.deliveries().delivery_report(f.alert).await.unwrap(),
        counts: s.deliveries().delivery_counts(f.alert).await.unwrap(),
        hotlines: s.hotline().active_hotlines().await.unwrap(),
        callouts: h.callouts(f.hotline).await.unwrap(),
        calls: h.recent_calls(f.hotline, 10).await.unwrap(),
        queue_log: h.queue_log(f.hotline, 0, 100).await.unwrap(),
        history: h
            .answer_history(f.incident, answers[0].answer_key)
            .await
            .unwrap(),
        answers,
        callbacks: h.callbacks(f.hotline, false).await.unwrap(),
        topics: h
            .topic_counts(f.hotline, 0, NonZeroU32::new(3600).unwrap())
            .await
            .unwrap(),
        inquiries: s.relatives().inquiries(f.incident).await.unwrap(),
        lists: s.relatives().lists(f.incident).await.unwrap(),
        entries: s.relatives().list_entries(f.incident).await.unwrap(),
        decisions: s.relatives().decisions(f.inquiry).await.unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_store_reads_back_the_same_on_postgresql_and_goes_on() {
    let Some(pg) = crieur_testkit::database(Backend::Postgres) else {
        return;
    };
    let lite = crieur_testkit::database(Backend::Sqlite).unwrap();
    let source = Store::open(&lite.url).await.unwrap();
    let filled = fill(&source).await;
    let before = snapshot(&source, &filled).await;
    assert_eq!(before.citizens.len(), 3);
    assert_eq!(before.report.len(), 3);

    let mut seen = Vec::new();
    let report = transfer(&lite.url, &pg.url, &TransferOptions::default(), |t, n| {
        seen.push((t.to_owned(), n))
    })
    .await
    .unwrap();
    assert_eq!(report.audit_entries, 5);
    assert_eq!(report.tables, seen);
    let copied = |t: &str| report.tables.iter().find(|(n, _)| n == t).unwrap().1;
    assert_eq!(copied("accounts"), 2);
    assert_eq!(copied("citizen_contacts"), 3);
    assert_eq!(copied("verification_secrets"), 3);
    assert_eq!(copied("deliveries"), 3);
    assert_eq!(copied("list_entries"), 2);
    assert_eq!(copied("inquiry_matches"), 1);
    // Parents before children.
    let at = |t: &str| report.tables.iter().position(|(n, _)| n == t).unwrap();
    assert!(at("accounts") < at("incidents") && at("incidents") < at("alerts"));
    assert!(at("alerts") < at("deliveries") && at("hotline_calls") < at("hotline_callbacks"));

    let dest = Store::open(&pg.url).await.unwrap();
    assert_eq!(dest.kind(), "postgres");
    assert_eq!(snapshot(&dest, &filled).await, before);

    // The copy is a working store: ids follow the copied ones, the chain goes on.
    let carol = dest
        .accounts()
        .create_account(&account("carol"))
        .await
        .unwrap();
    assert_eq!(carol.id, 3);
    let e = dest
        .audit()
        .append_audit(
            AuditRecord::new("carol", "test.after", Outcome::Success),
            "2025-06-16T00:00:00Z".into(),
        )
        .await
        .unwrap();
    assert_eq!(e.seq, 6);
    assert_eq!(
        verify_chain(dest.audit().audit_entries(0, 100).await.unwrap()),
        Ok(6)
    );
    let claimed = dest
        .deliveries()
        .claim_deliveries("sms", 10, NOW)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "one of three was still queued");
    assert_eq!(claimed[0].body, "Fermez les fenêtres");

    // Not over a store in use, unless asked.
    let again = transfer(&lite.url, &pg.url, &TransferOptions::default(), |_, _| {}).await;
    assert!(
        matches!(&again, Err(StoreError::Conflict(m)) if m.contains("accounts (3)")),
        "{again:?}"
    );
    let replace = TransferOptions {
        replace: true,
        batch: 2,
    };
    transfer(&lite.url, &pg.url, &replace, |_, _| {})
        .await
        .unwrap();
    assert_eq!(snapshot(&dest, &filled).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_written_to_during_the_copy_moves_as_one_snapshot() {
    let Some(pg) = crieur_testkit::database(Backend::Postgres) else {
        return;
    };
    let lite = crieur_testkit::database(Backend::Sqlite).unwrap();
    let source = Store::open(&lite.url).await.unwrap();
    for i in 0..300 {
        source
            .accounts()
            .create_account(&account(&format!("a{i:04}")))
            .await
            .unwrap();
    }
    // The installation goes on working: accounts and audit entries keep coming.
    let writer = {
        let source = source.clone();
        tokio::spawn(async move {
            for i in 300..900 {
                source
                    .accounts()
                    .create_account(&account(&format!("a{i:04}")))
                    .await
                    .unwrap();
                source
                    .audit()
                    .append_audit(
                        AuditRecord::new(format!("a{i:04}"), "account.create", Outcome::Success),
                        "2025-06-16T00:00:00Z".into(),
                    )
                    .await
                    .unwrap();
            }
        })
    };
    let options = TransferOptions {
        replace: false,
        batch: 50,
    };
    let report = transfer(&lite.url, &pg.url, &options, |_, _| {})
        .await
        .unwrap();
    writer.await.unwrap();
    let dest = Store::open(&pg.url).await.unwrap();
    let moved = dest.accounts().accounts().await.unwrap();
    let n = moved.len();
    assert!(n >= 300, "{n}");
    // A consistent cut: exactly the first n accounts, and as many audit
    // entries as accounts created after the first 300 (each pair is written
    // by one task in order, so the cut may fall between the two).
    let all = source.accounts().accounts().await.unwrap();
    assert_eq!(moved, all[..n].to_vec());
    let entries = report.audit_entries as usize;
    assert!(
        entries == n - 300 || entries + 1 == n - 300,
        "{entries} {n}"
    );
}
