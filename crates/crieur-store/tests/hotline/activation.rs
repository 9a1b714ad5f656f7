//! Activation, closing and configuration; operators called out.

use crate::{T0, hotline, incident, new_hotline};
use crieur_domain::Language;
use crieur_store::{CalloutChannel, CalloutResponse, HotlineState, NewCallout, StoreError};

fn token(n: u32) -> String {
    format!("{n:064x}")
}

fn callout(account_id: i64, n: u32) -> NewCallout {
    NewCallout {
        account_id,
        channel: CalloutChannel::Sms,
        address: format!("+3247000000{n}"),
        token_hash: token(n),
        sent_at: T0 + 60,
    }
}

story! {
    async fn activation_is_stored_and_found_by_id_incident_and_state(f) {
        let mut new = new_hotline(f.incident, "1771", f.alice);
        new.languages = vec![Language::De, Language::En, Language::Fr];
        new.staffing_target = 6;
        let h = f.store.hotline().activate_hotline(&new).await.unwrap();
        let stored = f.store.hotline().hotline(h.id).await.unwrap().unwrap();
        assert_eq!(stored, h);
        assert_eq!(stored.incident_id, f.incident);
        assert_eq!(stored.number, "1771");
        assert_eq!(stored.languages, [Language::De, Language::En, Language::Fr]);
        assert_eq!(stored.config, r#"{"greeting":"Bonjour"}"#);
        assert_eq!(stored.staffing_target, 6);
        assert_eq!(stored.state, HotlineState::Active);
        assert_eq!((stored.activated_by, stored.activated_at), (f.alice, T0));
        assert_eq!(stored.closed_at, None);
        let of_incident = f.store.hotline().hotline_of_incident(f.incident).await;
        assert_eq!(of_incident.unwrap().map(|h| h.id), Some(h.id));
        let active = f.store.hotline().active_hotlines().await.unwrap();
        assert_eq!(active.iter().map(|h| h.id).collect::<Vec<_>>(), [h.id]);
        assert!(f.store.hotline().hotline(h.id + 1).await.unwrap().is_none());
        let other = incident(&f.store, f.alice).await;
        assert!(
            f.store
                .hotline()
                .hotline_of_incident(other)
                .await
                .unwrap()
                .is_none()
        );
    }
}

story! {
    async fn a_number_serves_one_active_hotline_at_a_time(f) {
        let first = hotline(&f, "+3217771771").await;
        let other = incident(&f.store, f.alice).await;
        let again = new_hotline(other, "+3217771771", f.bob);
        match f.store.hotline().activate_hotline(&again).await {
            Err(StoreError::Conflict(m)) => assert!(m.contains("+3217771771"), "{m}"),
            r => panic!("expected a conflict, got {r:?}"),
        }
        f.store
            .hotline()
            .close_hotline(first, f.alice, "Merci", T0 + 3600)
            .await
            .unwrap();
        let second = f.store.hotline().activate_hotline(&again).await.unwrap();
        assert_ne!(second.id, first);
        let active = f.store.hotline().active_hotlines().await.unwrap();
        assert_eq!(active.iter().map(|h| h.id).collect::<Vec<_>>(), [second.id]);
    }
}

story! {
    async fn an_incident_has_one_active_hotline_at_a_time(f) {
        let h = f.store.hotline();
        let first = h
            .activate_hotline(&new_hotline(f.incident, "1771", f.alice))
            .await
            .unwrap();
        let second = new_hotline(f.incident, "1772", f.alice);
        assert!(matches!(
            h.activate_hotline(&second).await,
            Err(StoreError::Conflict(_))
        ));
        h.close_hotline(first.id, f.bob, "", T0 + 10).await.unwrap();
        let second = h.activate_hotline(&second).await.unwrap();
        // The latest activation is the incident's hotline.
        let of_incident = h.hotline_of_incident(f.incident).await.unwrap().unwrap();
        assert_eq!(
            (of_incident.id, of_incident.number.as_str()),
            (second.id, "1772")
        );
    }
}

story! {
    async fn activation_needs_an_open_incident_and_a_known_account(f) {
        let h = f.store.hotline();
        let missing = new_hotline(f.incident + 100, "1771", f.alice);
        assert!(matches!(
            h.activate_hotline(&missing).await,
            Err(StoreError::NotFound)
        ));
        let nobody = new_hotline(f.incident, "1771", f.bob + 100);
        assert!(matches!(
            h.activate_hotline(&nobody).await,
            Err(StoreError::NotFound)
        ));
        f.store
            .alerts()
            .close_incident(f.incident, f.alice)
            .await
            .unwrap();
        let closed = new_hotline(f.incident, "1771", f.alice);
        assert!(matches!(
            h.activate_hotline(&closed).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(h.active_hotlines().await.unwrap().is_empty());
    }
}

story! {
    async fn closing_records_who_when_and_the_message_once(f) {
        let id = hotline(&f, "1771").await;
        let h = f.store.hotline();
        h.close_hotline(id, f.bob, "The line is closed; see crisis.be", T0 + 7200)
            .await
            .unwrap();
        let closed = h.hotline(id).await.unwrap().unwrap();
        assert_eq!(closed.state, HotlineState::Closed);
        assert_eq!(closed.closed_by, Some(f.bob));
        assert_eq!(closed.closed_at, Some(T0 + 7200));
        assert_eq!(
            closed.closing_message.as_deref(),
            Some("The line is closed; see crisis.be")
        );
        assert!(h.active_hotlines().await.unwrap().is_empty());
        assert!(matches!(
            h.close_hotline(id, f.alice, "again", T0 + 7300).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            h.close_hotline(id + 1, f.alice, "", T0).await,
            Err(StoreError::NotFound)
        ));
        // The second attempt changed nothing.
        assert_eq!(h.hotline(id).await.unwrap().unwrap(), closed);
    }
}

story! {
    async fn configuration_changes_only_on_an_active_hotline(f) {
        let id = hotline(&f, "1771").await;
        let h = f.store.hotline();
        h.update_hotline_config(id, r#"{"greeting":"Goeiedag"}"#, 12)
            .await
            .unwrap();
        let updated = h.hotline(id).await.unwrap().unwrap();
        assert_eq!(
            (updated.config.as_str(), updated.staffing_target),
            (r#"{"greeting":"Goeiedag"}"#, 12)
        );
        h.close_hotline(id, f.alice, "", T0 + 1).await.unwrap();
        assert!(matches!(
            h.update_hotline_config(id, "{}", 1).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            h.update_hotline_config(id + 1, "{}", 1).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(h.hotline(id).await.unwrap().unwrap().staffing_target, 12);
    }
}

story! {
    async fn callouts_are_answered_by_token_hash_and_can_be_changed(f) {
        let id = hotline(&f, "1771").await;
        let h = f.store.hotline();
        let mut email = callout(f.bob, 2);
        email.channel = CalloutChannel::Email;
        email.address = "bob@example.org".into();
        let added = h
            .add_callouts(id, vec![callout(f.alice, 1), email])
            .await
            .unwrap();
        assert_eq!(h.callouts(id).await.unwrap(), added);
        assert_eq!(added[1].channel, CalloutChannel::Email);
        assert!(added.iter().all(|c| c.response.is_none()));

        let answered = h
            .respond_callout(&token(2), CalloutResponse::Coming, Some(25), T0 + 120)
            .await
            .unwrap();
        assert_eq!(answered.id, added[1].id);
        assert_eq!(answered.response, Some(CalloutResponse::Coming));
        assert_eq!(answered.eta_minutes, Some(25));
        assert_eq!(answered.responded_at, Some(T0 + 120));
        // Answering again replaces the answer.
        h.respond_callout(&token(2), CalloutResponse::Unavailable, None, T0 + 300)
            .await
            .unwrap();
        let all = h.callouts(id).await.unwrap();
        assert_eq!(all[1].response, Some(CalloutResponse::Unavailable));
        assert_eq!(
            (all[1].eta_minutes, all[1].responded_at),
            (None, Some(T0 + 300))
        );
        assert_eq!(all[0], added[0]);
        // A link's token finds its call-out, and only that one.
        assert_eq!(
            h.callout_by_token(&token(2)).await.unwrap().as_ref(),
            Some(&all[1])
        );
        assert_eq!(h.callout_by_token(&token(9)).await.unwrap(), None);
        assert!(matches!(
            h.respond_callout(&token(9), CalloutResponse::Coming, None, T0)
                .await,
            Err(StoreError::NotFound)
        ));
    }
}

story! {
    async fn a_batch_of_callouts_is_stored_whole_or_not_at_all(f) {
        let id = hotline(&f, "1771").await;
        let other = hotline(&f, "1772").await;
        let h = f.store.hotline();
        h.add_callouts(id, vec![callout(f.alice, 1)]).await.unwrap();
        // The second message reuses a token: nothing of the batch stays.
        let batch = vec![callout(f.bob, 2), callout(f.bob, 1)];
        assert!(matches!(
            h.add_callouts(other, batch).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(h.callouts(other).await.unwrap().is_empty());
        assert_eq!(h.callouts(id).await.unwrap().len(), 1);
        // An unknown account refuses the batch too.
        assert!(matches!(
            h.add_callouts(other, vec![callout(f.bob, 3), callout(f.bob + 50, 4)])
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(h.callouts(other).await.unwrap().is_empty());
    }
}

story! {
    async fn callouts_need_an_active_hotline_and_stay_with_theirs(f) {
        let id = hotline(&f, "1771").await;
        let other = hotline(&f, "1772").await;
        let h = f.store.hotline();
        h.add_callouts(other, vec![callout(f.bob, 7)])
            .await
            .unwrap();
        assert!(h.callouts(id).await.unwrap().is_empty());
        h.close_hotline(id, f.alice, "", T0 + 1).await.unwrap();
        assert!(matches!(
            h.add_callouts(id, vec![callout(f.alice, 1)]).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            h.add_callouts(other + 10, vec![]).await,
            Err(StoreError::NotFound)
        ));
        assert!(h.callouts(id).await.unwrap().is_empty());
    }
}
