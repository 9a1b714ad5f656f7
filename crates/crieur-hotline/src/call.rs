//! One call to the public number, from the first ring to the hang-up: greeting,
//! language and line menus, the queue with its announcements, the operator's
//! phone, transfers, the callback offer and the closing message.

use crate::music;
use crate::service::{Active, CallInfo, CallSlot, Command, HotlineEvent, Hotlines};
use crieur_domain::Language;
use crieur_domain::acd::{EndedBy, Line, OperatorId, QueueKey};
use crieur_domain::hotline::{self as ivr, HotlineConfig};
use crieur_store::NewCallback;
use crieur_telephony::calls::{
    AfterOperator, Announcements, BridgeEnd, BridgeOptions, CallsError, DigitRequest, InboundCall,
    Operator,
};
use crieur_telephony::tts::Prompt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Tells the distributor the call is gone, however the task ends (even by a
/// panic): no caller or operator stays stuck.
struct Leave {
    active: Arc<Active>,
    call_id: String,
    end: &'static str,
}

impl Drop for Leave {
    fn drop(&mut self) {
        // Unknown by now is fine: the call had already left (answered and
        // completed, or left for a callback).
        let _ = self.active.act(|acd, now| acd.hang_up(&self.call_id, now));
        self.active
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.call_id);
        self.active
            .records
            .ended(self.active.id, &self.call_id, self.end);
        self.active.changed();
    }
}

pub(crate) async fn run(hotlines: Hotlines, mut call: InboundCall) {
    let call_id = call.call_id().to_owned();
    let Some(active) = hotlines.for_number(call.dialed()) else {
        tracing::info!(%call_id, dialed = call.dialed(), "call to a number with no active hotline: refused");
        let _ = call.reject(404);
        return;
    };
    match serve(&hotlines, &active, &mut call).await {
        Ok(()) => {}
        Err(CallsError::CallEnded(reason)) => {
            tracing::debug!(%call_id, ?reason, "caller gone");
        }
        Err(e) => tracing::warn!(%call_id, error = %e, "hotline call failed"),
    }
    let _ = call.hangup().await;
}

async fn serve(
    hotlines: &Hotlines,
    active: &Arc<Active>,
    call: &mut InboundCall,
) -> Result<(), CallsError> {
    let config = active.config();
    let options = hotlines.options().clone();
    call.answer().await?;
    if active.is_closed() {
        let l = config.languages[0];
        return call.say(l.code(), text(&config.closing_message, l)).await;
    }
    // Greeting in every language offered, each in its own voice.
    for &l in &config.languages {
        call.say(l.code(), text(&config.greeting, l)).await?;
    }
    let mut path = Vec::new();
    let language = choose_language(hotlines, call, &config, &mut path).await?;
    let line = choose_line(hotlines, call, &config, language, &mut path).await?;
    let call_id = call.call_id().to_owned();
    let caller = call.caller().user.clone();
    let info = CallInfo {
        call_id: call_id.clone(),
        caller: caller.clone(),
        line,
        language,
        ivr_path: path.join(" > "),
        entered_at: jiff::Timestamp::now().as_millisecond(),
        transferred_from: None,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    active
        .calls
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(
            call_id.clone(),
            CallSlot {
                commands: tx,
                info: info.clone(),
            },
        );
    let mut leave = Leave {
        active: active.clone(),
        call_id: call_id.clone(),
        end: "abandoned",
    };
    active.records.entered(active.id, &info);
    if (active.signed_in() as u32) < config.holding_until {
        call.say(language.code(), text(&config.holding_message, language))
            .await?;
    }
    let priority = config.acd.policy(line).priority;
    let queue = QueueKey::new(line, language);
    if let Err(e) = active.act(|acd, now| acd.enqueue(&call_id, &caller, queue, priority, now)) {
        tracing::warn!(%call_id, error = %e, "could not queue the call");
        return Ok(());
    }
    let tts = hotlines.tts();
    let music = music::chime();
    let every = Duration::from_secs(config.announce_every_s.into());
    let mut reconnect: Option<OperatorId> = None;
    'queue: loop {
        let operator = match reconnect.take() {
            Some(op) => op,
            None => {
                // On hold until an operator is offered the call.
                let announcement = place_prompt(active, tts.as_ref(), &call_id, language).await;
                let hold = call.hold(
                    music.clone(),
                    Some(Announcements {
                        prompt: announcement,
                        first_after: Duration::ZERO,
                        every,
                    }),
                )?;
                let mut refresh = tokio::time::interval(every.max(Duration::from_secs(5)) / 2);
                refresh.tick().await;
                let command = loop {
                    tokio::select! {
                        reason = call.ended() => return Err(CallsError::CallEnded(reason)),
                        _ = refresh.tick() => {
                            if let Some(p) = place_prompt(active, tts.as_ref(), &call_id, language).await {
                                hold.set_announcement(Some(p));
                            }
                        }
                        command = rx.recv() => match command {
                            Some(c) => break c,
                            None => return Ok(()),
                        },
                    }
                };
                match command {
                    Command::Ring(op) | Command::Reconnect(op) => {
                        drop(hold);
                        op
                    }
                    Command::MaxWait => {
                        drop(hold);
                        if config.callbacks && offer_callback(call, language, &options).await? {
                            let actions =
                                active.act(|acd, now| acd.leave_for_callback(&call_id, "1", now));
                            if actions.is_ok() {
                                active.records.callback(NewCallback {
                                    hotline_id: active.id,
                                    call_id: Some(call_id.clone()),
                                    number: caller.clone(),
                                    language,
                                    line,
                                    reason: "max_wait".to_owned(),
                                    note: String::new(),
                                    at: jiff::Timestamp::now().as_second(),
                                });
                                leave.end = "callback";
                                call.say(language.code(), ivr::callback_confirmed(language))
                                    .await?;
                                return Ok(());
                            }
                        }
                        continue 'queue;
                    }
                    Command::Close => {
                        drop(hold);
                        leave.end = "closed";
                        call.say(language.code(), text(&config.closing_message, language))
                            .await?;
                        return Ok(());
                    }
                    Command::Withdraw(_) | Command::Transfer { .. } => continue 'queue,
                }
            }
        };
        // The operator's phone rings (the caller still hears the music).
        let Some(desk) = active.desk(operator) else {
            active
                .act(|acd, now| acd.not_answered(&call_id, operator, now))
                .ok();
            continue 'queue;
        };
        let bridge_options = BridgeOptions {
            ring_timeout: options.ring_timeout,
            display: Some(format!(
                "{} {}",
                line_of(active, &call_id).as_str(),
                language.code()
            )),
            present_caller: true,
            ringback: None,
            after_operator: AfterOperator::HangUp,
        };
        let already_connected = active.connected_to(&call_id) == Some(operator);
        let phone = if desk.extension.starts_with("sip:") {
            Operator::uri(desk.extension.clone())
        } else {
            Operator::registered(desk.extension.clone())
        };
        let reached = tokio::select! {
            r = call.bridge(&phone, &bridge_options) => r,
            _ = withdrawn(&mut rx, operator) => {
                tracing::debug!(%call_id, operator, "offer withdrawn while ringing");
                continue 'queue;
            }
        };
        match reached {
            Ok(()) => {}
            Err(CallsError::OperatorUnavailable { why, .. }) => {
                tracing::info!(%call_id, operator, ?why, "operator's phone not reached");
                if already_connected {
                    // A warm transfer came back and the first operator is gone:
                    // the call ends with them and waits again in its queue.
                    active
                        .act(|acd, now| acd.complete(&call_id, operator, EndedBy::Operator, now))
                        .ok();
                    active
                        .act(|acd, now| acd.enqueue(&call_id, &caller, queue, priority, now))
                        .ok();
                } else {
                    active
                        .act(|acd, now| acd.not_answered(&call_id, operator, now))
                        .ok();
                }
                continue 'queue;
            }
            Err(e) => return Err(e),
        }
        if !already_connected
            && active
                .act(|acd, now| acd.answered(&call_id, operator, now))
                .is_err()
        {
            // The offer went elsewhere meanwhile (withdrawn by the offer timeout).
            call.unbridge().await?;
            continue 'queue;
        }
        active.records.answered(active.id, &call_id, operator);
        leave.end = "answered";
        if let Some(info) = active.info(&call_id) {
            active.publish(HotlineEvent::Connected {
                hotline: active.id,
                operator,
                call: info,
            });
        }
        // Connected: until someone hangs up, or the operator transfers.
        loop {
            tokio::select! {
                report = call.bridge_ended() => {
                    let by = match report.map(|r| r.end) {
                        Ok(BridgeEnd::OperatorHungUp { .. }) => EndedBy::Operator,
                        _ => EndedBy::Caller,
                    };
                    active.act(|acd, now| acd.complete(&call_id, operator, by, now)).ok();
                    active.publish(HotlineEvent::Released { hotline: active.id, operator, call_id: call_id.clone() });
                    return Ok(());
                }
                command = rx.recv() => match command {
                    Some(Command::Transfer { to, kind }) => {
                        call.unbridge().await?;
                        let target = QueueKey::new(to, language);
                        if let Err(e) = active.act(|acd, now| acd.transfer(&call_id, operator, target, kind, now)) {
                            tracing::warn!(%call_id, error = %e, "transfer refused");
                            continue 'queue;
                        }
                        let from = line_of(active, &call_id);
                        active.set_info(&call_id, |i| {
                            i.transferred_from = Some(from);
                            i.line = to;
                        });
                        active.publish(HotlineEvent::Released { hotline: active.id, operator, call_id: call_id.clone() });
                        if let Some(info) = active.info(&call_id) {
                            active.records.entered(active.id, &info);
                        }
                        leave.end = "abandoned";
                        call.say(language.code(), ivr::transferring(language)).await?;
                        continue 'queue;
                    }
                    Some(_) => {}
                    None => return Ok(()),
                },
            }
        }
    }
}

/// Waits until the offer to `operator` is withdrawn; other commands meanwhile
/// are dropped (the call is about to be connected).
async fn withdrawn(rx: &mut mpsc::UnboundedReceiver<Command>, operator: OperatorId) {
    loop {
        match rx.recv().await {
            Some(Command::Withdraw(op)) if op == operator => return,
            Some(_) => {}
            None => std::future::pending::<()>().await,
        }
    }
}

fn line_of(active: &Active, call_id: &str) -> Line {
    active
        .info(call_id)
        .map(|i| i.line)
        .unwrap_or(Line::Information)
}

fn text(texts: &std::collections::BTreeMap<Language, String>, l: Language) -> &str {
    texts.get(&l).map(String::as_str).unwrap_or_default()
}

async fn place_prompt(
    active: &Active,
    tts: Option<&crieur_telephony::tts::Tts>,
    call_id: &str,
    language: Language,
) -> Option<Prompt> {
    let place = active.place(call_id)?;
    let tts = tts?;
    let mut prompts = Vec::new();
    // Pieces rendered once and cached: the same words for every caller.
    for part in ivr::place_announcement_parts(language, place.position, place.estimated_wait_s) {
        match tts.render(language.code(), &part).await {
            Ok(p) => prompts.push(p),
            Err(e) => {
                tracing::warn!(error = %e, "announcement not rendered");
                return None;
            }
        }
    }
    Some(crieur_telephony::tts::concat(&prompts))
}

fn menu_request(options: &crate::RuntimeOptions) -> DigitRequest {
    DigitRequest {
        max: 1,
        first_timeout: options.menu_timeout,
        inter_digit_timeout: options.menu_timeout,
        terminator: None,
    }
}

async fn render(hotlines: &Hotlines, language: Language, text: &str) -> Result<Prompt, CallsError> {
    match hotlines.tts() {
        Some(tts) => Ok(tts.render(language.code(), text).await?),
        None => Ok(crieur_telephony::tts::silence(200)),
    }
}

/// Each language offered in its own voice; the first key stops the prompt.
async fn choose_language(
    hotlines: &Hotlines,
    call: &mut InboundCall,
    config: &HotlineConfig,
    path: &mut Vec<String>,
) -> Result<Language, CallsError> {
    if config.languages.len() == 1 {
        return Ok(config.languages[0]);
    }
    let mut parts = Vec::new();
    for (i, &l) in config.languages.iter().enumerate() {
        let digit = char::from(b'1' + i as u8);
        parts.push(render(hotlines, l, &ivr::language_choice(l, digit)).await?);
    }
    let prompt = crieur_telephony::tts::concat(&parts);
    let options = hotlines.options();
    for _ in 0..options.menu_attempts.max(1) {
        let key = call.prompt_digits(&prompt, &menu_request(options)).await?;
        if let Some(l) = key
            .chars()
            .next()
            .and_then(|d| d.to_digit(10))
            .and_then(|d| config.languages.get((d as usize).wrapping_sub(1)))
        {
            path.push(format!("lang:{key}"));
            return Ok(*l);
        }
        path.push(format!("lang:{}", if key.is_empty() { "-" } else { &key }));
    }
    Ok(config.languages[0])
}

async fn choose_line(
    hotlines: &Hotlines,
    call: &mut InboundCall,
    config: &HotlineConfig,
    language: Language,
    path: &mut Vec<String>,
) -> Result<Line, CallsError> {
    let prompt = render(hotlines, language, &ivr::menu_prompt(config, language)).await?;
    let options = hotlines.options();
    for _ in 0..options.menu_attempts.max(1) {
        let key = call.prompt_digits(&prompt, &menu_request(options)).await?;
        if let Some(line) = key.chars().next().and_then(|d| config.line_for(d)) {
            path.push(format!("menu:{key}"));
            return Ok(line);
        }
        path.push(format!("menu:{}", if key.is_empty() { "-" } else { &key }));
    }
    Ok(Line::Information)
}

/// At the maximum wait: 1 for a callback, anything else keeps waiting.
async fn offer_callback(
    call: &mut InboundCall,
    language: Language,
    options: &crate::RuntimeOptions,
) -> Result<bool, CallsError> {
    call.clear_digits();
    call.say(language.code(), ivr::callback_offer(language))
        .await?;
    let key = call.collect_digits(&menu_request(options)).await?;
    Ok(key == "1")
}
