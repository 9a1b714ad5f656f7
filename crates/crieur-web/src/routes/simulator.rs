//! The device simulator's inbox: every message that would have reached a phone
//! or mailbox. Exists only when the simulator stands in for real channels, and
//! says so on the page.

use crate::AppState;
use crate::error::PageError;
use crate::i18n::Lang;
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use crieur_channels::Outbound;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/simulator", get(simulator))
}

pub(crate) struct SimulatedView {
    pub seq: u64,
    pub channel: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "simulator.html")]
struct SimulatorPage {
    layout: Layout,
    messages: Vec<SimulatedView>,
}

async fn simulator(
    State(state): State<AppState>,
    Lang(lang): Lang,
) -> Result<SimulatorPage, PageError> {
    let sim = state.simulator.as_ref().ok_or(PageError::NotFound)?;
    let messages = sim
        .messages(None)
        .into_iter()
        .take(200)
        .map(|m| {
            let (subject, text) = match &m.message {
                Outbound::Sms { text, .. } => (String::new(), text.clone()),
                Outbound::Voice {
                    script, language, ..
                } => (language.clone(), script.clone()),
                Outbound::Email { subject, body, .. } => (subject.clone(), body.clone()),
                Outbound::Operator { cap, .. } => ("CAP".to_owned(), cap.clone()),
            };
            SimulatedView {
                seq: m.seq,
                channel: m.message.channel(),
                to: m.message.recipient().to_owned(),
                subject,
                text,
            }
        })
        .collect();
    Ok(SimulatorPage {
        layout: Layout::new(lang, &state, "/simulator"),
        messages,
    })
}
