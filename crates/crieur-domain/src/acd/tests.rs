use super::*;
use crate::Language::{De, En, Fr, Nl};

const S: Millis = 1000;

fn info(l: Language) -> QueueKey {
    QueueKey::new(Line::Information, l)
}

fn skills(native: &[Language]) -> Skills {
    Skills {
        native: native.to_vec(),
        ..Skills::default()
    }
}

fn config() -> AcdConfig {
    AcdConfig {
        wrap_up_ms: 10 * S,
        keep_place_ms: 60 * S,
        max_missed_offers: 2,
        offer_timeout_ms: 20 * S,
        warm_transfer_timeout_ms: 60 * S,
        expected_handle_ms: 120 * S,
        ..AcdConfig::default()
    }
}

fn offers(actions: &[Action]) -> Vec<(String, Vec<OperatorId>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Offer { call, operators } => Some((call.clone(), operators.clone())),
            _ => None,
        })
        .collect()
}

fn events(acd: &mut Acd) -> Vec<&'static str> {
    acd.drain_log().iter().map(|e| e.event.as_str()).collect()
}

#[test]
fn longest_idle_operator_gets_the_call() {
    let mut acd = Acd::new(config());
    acd.sign_in(1, skills(&[Fr]), 0).unwrap();
    acd.sign_in(2, skills(&[Fr]), 5 * S).unwrap();
    acd.sign_in(3, skills(&[Fr]), 2 * S).unwrap();
    acd.enqueue("a", "+32470000001", info(Fr), 0, 10 * S)
        .unwrap();
    acd.enqueue("b", "+32470000002", info(Fr), 0, 10 * S)
        .unwrap();
    let o = offers(&acd.tick(10 * S));
    assert_eq!(o, vec![("a".into(), vec![1]), ("b".into(), vec![3])]);
    assert_eq!(acd.presence(2), Some(Presence::Available));
}

#[test]
fn round_robin_continues_after_the_last_operator_offered() {
    let mut c = config();
    c.information.strategy = Strategy::RoundRobin;
    c.wrap_up_ms = 0;
    let mut acd = Acd::new(c);
    for id in [1, 2, 3] {
        acd.sign_in(id, skills(&[Nl]), 0).unwrap();
    }
    let mut got = Vec::new();
    for (i, call) in ["a", "b", "c", "d"].iter().enumerate() {
        let now = (i as u64 + 1) * 100 * S;
        acd.enqueue(call, "", info(Nl), 0, now).unwrap();
        let o = offers(&acd.tick(now));
        let op = o[0].1[0];
        got.push(op);
        acd.answered(call, op, now).unwrap();
        acd.complete(call, op, EndedBy::Caller, now + S).unwrap();
    }
    assert_eq!(got, vec![1, 2, 3, 1]);
}

#[test]
fn ring_all_offers_everyone_free_and_the_first_answer_wins() {
    let mut c = config();
    c.information.strategy = Strategy::RingAll;
    let mut acd = Acd::new(c);
    for id in [1, 2, 3] {
        acd.sign_in(id, skills(&[Fr]), 0).unwrap();
    }
    acd.enqueue("a", "", info(Fr), 0, S).unwrap();
    let o = offers(&acd.tick(S));
    assert_eq!(o, vec![("a".into(), vec![1, 2, 3])]);
    let actions = acd.answered("a", 2, 3 * S).unwrap();
    assert_eq!(
        actions,
        vec![
            Action::Withdraw {
                call: "a".into(),
                operator: 1
            },
            Action::Withdraw {
                call: "a".into(),
                operator: 3
            },
        ]
    );
    assert_eq!(acd.presence(1), Some(Presence::Available));
    assert_eq!(acd.presence(2), Some(Presence::OnCall));
    // The losers were not penalised.
    assert_eq!(acd.snapshot(&[Fr], 3 * S).operators[0].missed, 0);
    assert!(matches!(
        acd.answered("a", 3, 3 * S),
        Err(AcdError::UnknownCall(_))
    ));
}

#[test]
fn an_operator_never_gets_two_calls() {
    let mut acd = Acd::new(config());
    acd.sign_in(1, skills(&[Fr]), 0).unwrap();
    acd.enqueue("a", "", info(Fr), 0, S).unwrap();
    acd.enqueue("b", "", info(Fr), 0, S).unwrap();
    let o = offers(&acd.tick(S));
    assert_eq!(o.len(), 1, "one operator, one offer: {o:?}");
    acd.answered("a", 1, 2 * S).unwrap();
    assert!(offers(&acd.tick(3 * S)).is_empty());
    // Answering a call that was not offered to them is refused.
    assert!(matches!(
        acd.answered("b", 1, 3 * S),
        Err(AcdError::NotOffered { .. })
    ));
    acd.complete("a", 1, EndedBy::Operator, 4 * S).unwrap();
    assert_eq!(acd.presence(1), Some(Presence::WrapUp));
    assert!(offers(&acd.tick(13 * S)).is_empty(), "still in wrap-up");
    let o = offers(&acd.tick(14 * S));
    assert_eq!(o, vec![("b".into(), vec![1])]);
}

#[test]
fn skills_decide_and_overflow_widens_the_group_after_its_time() {
    let mut acd = Acd::new(config());
    // 1 speaks Dutch natively, 2 speaks it as a second language; neither is
    // trained for relatives.
    acd.sign_in(1, skills(&[Fr]), 0).unwrap();
    acd.sign_in(
        2,
        Skills {
            native: vec![Fr],
            spoken: vec![Nl],
            ..Skills::default()
        },
        0,
    )
    .unwrap();
    acd.enqueue("nl", "", info(Nl), 0, 0).unwrap();
    acd.enqueue("rel", "", QueueKey::new(Line::Relatives, Fr), 0, 0)
        .unwrap();
    assert!(offers(&acd.tick(59 * S)).is_empty());
    let o = offers(&acd.tick(60 * S));
    assert_eq!(
        o,
        vec![("nl".into(), vec![2])],
        "overflow to the second-language speaker"
    );
    // Relatives calls never overflow to untrained operators.
    assert!(offers(&acd.tick(600 * S)).iter().all(|(c, _)| c != "rel"));
    acd.sign_in(
        3,
        Skills {
            native: vec![Fr],
            relatives: true,
            ..Skills::default()
        },
        600 * S,
    )
    .unwrap();
    assert_eq!(offers(&acd.tick(600 * S)), vec![("rel".into(), vec![3])]);
}

#[test]
fn psychosocial_overflows_to_relatives_trained_staff() {
    let mut acd = Acd::new(config());
    acd.sign_in(
        7,
        Skills {
            native: vec![De],
            relatives: true,
            ..Skills::default()
        },
        0,
    )
    .unwrap();
    acd.enqueue("p", "", QueueKey::new(Line::Psychosocial, De), 0, 0)
        .unwrap();
    assert!(offers(&acd.tick(30 * S)).is_empty());
    assert_eq!(offers(&acd.tick(60 * S)), vec![("p".into(), vec![7])]);
}

#[test]
fn priority_goes_first_and_then_who_came_first() {
    let mut acd = Acd::new(config());
    acd.enqueue("late-urgent", "", info(Fr), 10, 50 * S)
        .unwrap();
    acd.enqueue("early", "", info(Fr), 0, 10 * S).unwrap();
    acd.enqueue("earliest", "", info(Fr), 0, 5 * S).unwrap();
    assert_eq!(acd.place("late-urgent", 50 * S).unwrap().position, 1);
    assert_eq!(acd.place("earliest", 50 * S).unwrap().position, 2);
    assert_eq!(acd.place("early", 50 * S).unwrap().position, 3);
    acd.sign_in(1, skills(&[Fr]), 60 * S).unwrap();
    assert_eq!(offers(&acd.tick(60 * S))[0].0, "late-urgent");
}

#[test]
fn relatives_line_outranks_information_for_an_operator_serving_both() {
    let mut acd = Acd::new(config());
    acd.enqueue(
        "i",
        "",
        info(Fr),
        AcdConfig::default().information.priority,
        0,
    )
    .unwrap();
    let rel = AcdConfig::default().relatives.priority;
    acd.enqueue("r", "", QueueKey::new(Line::Relatives, Fr), rel, 5 * S)
        .unwrap();
    acd.sign_in(
        1,
        Skills {
            native: vec![Fr],
            relatives: true,
            ..Skills::default()
        },
        6 * S,
    )
    .unwrap();
    assert_eq!(offers(&acd.tick(6 * S))[0].0, "r");
}

#[test]
fn position_and_estimated_wait_follow_the_queue_and_staffing() {
    let mut acd = Acd::new(config());
    for (i, c) in ["a", "b", "c", "d"].iter().enumerate() {
        acd.enqueue(c, "", info(Fr), 0, i as u64 * S).unwrap();
    }
    acd.enqueue("x", "", info(Nl), 0, 0).unwrap();
    // Nobody signed in: a position but no estimate.
    assert_eq!(
        acd.place("d", 5 * S),
        Some(Place {
            position: 4,
            estimated_wait_s: None
        })
    );
    assert_eq!(acd.place("x", 5 * S).unwrap().position, 1, "per queue");
    acd.sign_in(1, skills(&[De]), 5 * S).unwrap();
    acd.pause(1, "lunch", 5 * S).unwrap();
    acd.sign_in(2, skills(&[Fr]), 5 * S).unwrap();
    acd.sign_in(3, skills(&[Fr, Nl]), 5 * S).unwrap();
    // 4th with 2 operators at 120 s each: 4 × 120 / 2 = 240 s.
    assert_eq!(acd.place("d", 5 * S).unwrap().estimated_wait_s, Some(240));
    acd.tick(5 * S);
    // a and b offered; d is now 2nd of the still-waiting... offered calls keep
    // their place until answered.
    acd.answered("a", 2, 6 * S).unwrap();
    assert_eq!(acd.place("d", 6 * S).unwrap().position, 3);
}

#[test]
fn maximum_wait_is_signalled_once_and_the_caller_can_leave_for_a_callback() {
    let mut acd = Acd::new(config());
    acd.enqueue("a", "+32470000001", info(Fr), 0, 0).unwrap();
    assert!(acd.tick(299 * S).is_empty());
    assert_eq!(
        acd.tick(300 * S),
        vec![Action::MaxWait { call: "a".into() }]
    );
    assert!(acd.tick(301 * S).is_empty(), "signalled once");
    acd.leave_for_callback("a", "1", 310 * S).unwrap();
    assert_eq!(acd.counts(), (0, 0, 0));
    let log = acd.drain_log();
    let exit = log
        .iter()
        .find(|e| e.event == QueueEventKind::Exitwithkey)
        .unwrap();
    assert_eq!(exit.data, ["1".to_string(), "1".into(), "310".into()]);
}

#[test]
fn a_caller_who_calls_back_in_time_keeps_their_place() {
    let mut acd = Acd::new(config());
    acd.enqueue("a1", "+32470000001", info(Fr), 0, 0).unwrap();
    acd.enqueue("b", "+32470000002", info(Fr), 0, 10 * S)
        .unwrap();
    acd.hang_up("a1", 20 * S).unwrap();
    assert_eq!(acd.place("b", 20 * S).unwrap().position, 1);
    acd.enqueue("c", "+32470000003", info(Fr), 0, 25 * S)
        .unwrap();
    // Back within the minute, from the same number.
    let place = acd
        .enqueue("a2", "+32470000001", info(Fr), 0, 40 * S)
        .unwrap();
    assert_eq!(place.position, 1);
    assert_eq!(acd.place("b", 40 * S).unwrap().position, 2);
    let log = acd.drain_log();
    assert!(log.iter().all(|e| e.event != QueueEventKind::Abandon));
    assert_eq!(log.last().unwrap().data[2], "kept place");
}

#[test]
fn a_place_not_reclaimed_in_time_is_released_as_abandoned() {
    let mut acd = Acd::new(config());
    acd.enqueue("a1", "+32470000001", info(Fr), 0, 0).unwrap();
    acd.hang_up("a1", 20 * S).unwrap();
    assert!(acd.tick(79 * S).is_empty());
    assert_eq!(
        acd.tick(80 * S),
        vec![Action::PlaceReleased {
            call: "a1".into(),
            caller: "+32470000001".into()
        }]
    );
    let log = acd.drain_log();
    let abandon = log
        .iter()
        .find(|e| e.event == QueueEventKind::Abandon)
        .unwrap();
    assert_eq!(abandon.data, ["1".to_string(), "1".into(), "80".into()]);
    // Calling again now is a new place.
    acd.enqueue("b", "+32470000002", info(Fr), 0, 81 * S)
        .unwrap();
    acd.enqueue("a2", "+32470000001", info(Fr), 0, 82 * S)
        .unwrap();
    assert_eq!(acd.place("a2", 82 * S).unwrap().position, 2);
    assert_eq!(acd.counts(), (2, 0, 0));
}

#[test]
fn missed_offers_put_the_operator_on_break_and_the_caller_keeps_waiting() {
    let mut acd = Acd::new(config());
    acd.sign_in(1, skills(&[Fr]), 0).unwrap();
    acd.enqueue("a", "", info(Fr), 0, S).unwrap();
    assert_eq!(offers(&acd.tick(S)).len(), 1);
    assert!(acd.not_answered("a", 1, 16 * S).unwrap().is_empty());
    assert_eq!(acd.place("a", 16 * S).unwrap().position, 1);
    assert_eq!(offers(&acd.tick(16 * S)), vec![("a".into(), vec![1])]);
    // Second miss, by the offer timeout this time.
    let actions = acd.tick(36 * S);
    assert!(
        actions.contains(&Action::SetOnBreak {
            operator: 1,
            missed: 2
        }),
        "{actions:?}"
    );
    assert_eq!(acd.presence(1), Some(Presence::Break));
    assert!(offers(&acd.tick(40 * S)).is_empty());
    acd.ready(1, 50 * S).unwrap();
    assert_eq!(offers(&acd.tick(50 * S)), vec![("a".into(), vec![1])]);
    let log: Vec<_> = events(&mut acd);
    assert_eq!(log.iter().filter(|e| **e == "RINGNOANSWER").count(), 2);
    assert!(log.contains(&"PAUSE") && log.contains(&"UNPAUSE"));
}

#[test]
fn blind_transfer_frees_the_operator_and_queues_the_caller_ahead() {
    let mut acd = Acd::new(config());
    acd.sign_in(1, skills(&[Fr]), 0).unwrap();
    acd.enqueue("waiting", "", QueueKey::new(Line::Relatives, Fr), 10, 0)
        .unwrap();
    acd.enqueue("a", "+32470000001", info(Fr), 0, S).unwrap();
    acd.tick(S);
    acd.answered("a", 1, 2 * S).unwrap();
    let to = QueueKey::new(Line::Relatives, Fr);
    acd.transfer("a", 1, to, TransferKind::Blind, 30 * S)
        .unwrap();
    assert_eq!(acd.presence(1), Some(Presence::WrapUp));
    assert_eq!(acd.queue_of("a"), Some(to));
    assert_eq!(
        acd.place("a", 30 * S).unwrap().position,
        1,
        "ahead of earlier relatives callers"
    );
    acd.sign_in(
        2,
        Skills {
            native: vec![Fr],
            relatives: true,
            ..Skills::default()
        },
        31 * S,
    )
    .unwrap();
    assert_eq!(offers(&acd.tick(31 * S)), vec![("a".into(), vec![2])]);
    assert!(matches!(
        acd.transfer("waiting", 1, info(Fr), TransferKind::Blind, 31 * S),
        Err(AcdError::NotConnected { .. })
    ));
    let log = events(&mut acd);
    assert!(log.contains(&"TRANSFER"));
}

#[test]
fn warm_transfer_keeps_the_operator_until_taken_or_returns_the_caller() {
    let rel = QueueKey::new(Line::Relatives, Nl);
    let mut acd = Acd::new(config());
    acd.sign_in(1, skills(&[Nl]), 0).unwrap();
    acd.enqueue("a", "", info(Nl), 0, 0).unwrap();
    acd.tick(0);
    acd.answered("a", 1, S).unwrap();
    acd.transfer("a", 1, rel, TransferKind::Warm, 10 * S)
        .unwrap();
    assert_eq!(acd.presence(1), Some(Presence::OnCall));
    acd.enqueue("other", "", info(Nl), 0, 11 * S).unwrap();
    assert!(
        offers(&acd.tick(11 * S)).is_empty(),
        "operator 1 still holds the transfer"
    );
    assert!(matches!(
        acd.sign_out(1, 12 * S),
        Err(AcdError::Busy { .. })
    ));
    // Nobody on the relatives line: after the timeout the caller comes back.
    let actions = acd.tick(70 * S);
    assert!(
        actions.contains(&Action::TransferReturned {
            call: "a".into(),
            operator: 1
        }),
        "{actions:?}"
    );
    assert_eq!(acd.connected_to("a"), Some(1));
    // Second try, taken this time.
    acd.transfer("a", 1, rel, TransferKind::Warm, 80 * S)
        .unwrap();
    acd.sign_in(
        2,
        Skills {
            native: vec![Nl],
            relatives: true,
            ..Skills::default()
        },
        81 * S,
    )
    .unwrap();
    assert_eq!(offers(&acd.tick(81 * S)), vec![("a".into(), vec![2])]);
    acd.answered("a", 2, 85 * S).unwrap();
    assert_eq!(acd.presence(1), Some(Presence::WrapUp));
    assert_eq!(acd.connected_to("a"), Some(2));
}

/// Whatever step the caller hangs up at, nothing stays behind and every
/// operator is free again.
#[test]
fn hanging_up_at_any_step_leaves_no_stuck_state() {
    #[derive(Debug, Clone, Copy)]
    enum Step {
        Waiting,
        Offered,
        Connected,
        WarmTransfer,
        BlindTransfer,
        AfterMaxWait,
    }
    for step in [
        Step::Waiting,
        Step::Offered,
        Step::Connected,
        Step::WarmTransfer,
        Step::BlindTransfer,
        Step::AfterMaxWait,
    ] {
        let mut c = config();
        c.keep_place_ms = 0;
        let mut acd = Acd::new(c);
        let busy = matches!(step, Step::Waiting | Step::AfterMaxWait);
        if !busy {
            acd.sign_in(1, skills(&[Fr]), 0).unwrap();
        }
        acd.enqueue("a", "+32470000001", info(Fr), 0, 0).unwrap();
        acd.tick(0);
        match step {
            Step::Waiting | Step::Offered => {}
            Step::AfterMaxWait => {
                acd.tick(400 * S);
            }
            Step::Connected => {
                acd.answered("a", 1, S).unwrap();
            }
            Step::WarmTransfer | Step::BlindTransfer => {
                acd.answered("a", 1, S).unwrap();
                let kind = if matches!(step, Step::WarmTransfer) {
                    TransferKind::Warm
                } else {
                    TransferKind::Blind
                };
                acd.transfer("a", 1, QueueKey::new(Line::Relatives, Fr), kind, 2 * S)
                    .unwrap();
            }
        }
        acd.hang_up("a", 500 * S).unwrap();
        acd.tick(1000 * S);
        assert_eq!(acd.counts(), (0, 0, 0), "{step:?}");
        if !busy {
            assert_eq!(acd.presence(1), Some(Presence::Available), "{step:?}");
            acd.sign_out(1, 1001 * S).unwrap();
        }
        assert!(acd.next_deadline(2000 * S).is_none(), "{step:?}");
        let log = events(&mut acd);
        let exits = log
            .iter()
            .filter(|e| matches!(**e, "ABANDON" | "COMPLETECALLER"))
            .count();
        assert_eq!(exits, 1, "{step:?}: {log:?}");
    }
}

#[test]
fn operators_cannot_sign_in_twice_or_act_when_not_signed_in() {
    let mut acd = Acd::new(config());
    acd.sign_in(1, skills(&[En]), 0).unwrap();
    assert_eq!(
        acd.sign_in(1, skills(&[En]), 0),
        Err(AcdError::AlreadySignedIn(1))
    );
    assert_eq!(acd.pause(9, "x", 0), Err(AcdError::NotSignedIn(9)));
    assert!(acd.enqueue("a", "", info(En), 0, 0).is_ok());
    assert!(matches!(
        acd.enqueue("a", "", info(En), 0, 0),
        Err(AcdError::DuplicateCall(_))
    ));
    acd.tick(0);
    assert!(matches!(acd.pause(1, "x", 0), Err(AcdError::Busy { .. })));
    assert!(matches!(acd.sign_out(1, 0), Err(AcdError::Busy { .. })));
}

#[test]
fn closing_sends_every_waiting_caller_out_and_frees_ringing_operators() {
    let mut acd = Acd::new(config());
    acd.sign_in(1, skills(&[Fr]), 0).unwrap();
    acd.enqueue("a", "", info(Fr), 0, 0).unwrap();
    acd.enqueue("b", "", info(Fr), 0, 0).unwrap();
    acd.tick(0);
    let out = acd.close(10 * S);
    assert_eq!(out, vec!["a".to_string(), "b".into()]);
    assert_eq!(acd.presence(1), Some(Presence::Available));
    assert_eq!(
        events(&mut acd)
            .iter()
            .filter(|e| **e == "EXITWITHTIMEOUT")
            .count(),
        2
    );
}

#[test]
fn next_deadline_names_the_earliest_thing_to_do() {
    let mut acd = Acd::new(config());
    assert_eq!(acd.next_deadline(0), None);
    acd.enqueue("a", "", info(Fr), 0, 1000).unwrap();
    // Overflow at 60 s comes before the maximum wait at 300 s.
    assert_eq!(acd.next_deadline(1000), Some(61_000));
    assert_eq!(acd.next_deadline(61_000), Some(301_000));
}

#[test]
fn service_figures_come_from_the_log() {
    let mut acd = Acd::new(config());
    acd.sign_in(1, skills(&[Fr]), 0).unwrap();
    // Answered after 5 s, then after 40 s; one abandons after 10 s.
    acd.enqueue("a", "", info(Fr), 0, 0).unwrap();
    acd.tick(5 * S);
    acd.answered("a", 1, 5 * S).unwrap();
    acd.enqueue("b", "", info(Fr), 0, 20 * S).unwrap();
    acd.enqueue("c", "+32470000003", info(Fr), 0, 21 * S)
        .unwrap();
    acd.complete("a", 1, EndedBy::Caller, 50 * S).unwrap();
    acd.tick(60 * S);
    acd.answered("b", 1, 60 * S).unwrap();
    acd.hang_up("c", 31 * S).unwrap();
    acd.tick(200 * S);
    let log = acd.drain_log();
    let s = QueueStats::from_log(
        &log,
        StatsWindow {
            from: 0,
            to: 3_600 * S,
            answer_within_s: 20,
        },
        |_| true,
    );
    assert_eq!((s.offered, s.answered, s.abandoned), (3, 2, 1));
    assert_eq!(s.service_level, Some(1.0 / 3.0));
    assert_eq!(s.asa_s, Some(22.5));
    assert_eq!(s.talk_s, Some(45.0));
    assert_eq!(s.calls_per_hour, 3.0);
    let only_nl = QueueStats::from_log(
        &log,
        StatsWindow {
            from: 0,
            to: 3_600 * S,
            answer_within_s: 20,
        },
        |q| q.ends_with("-nl"),
    );
    assert_eq!(only_nl.offered, 0);
    assert_eq!(only_nl.service_level, None);
}
