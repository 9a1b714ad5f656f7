//! Who may do what, where: the one place that decides. Every privileged handler
//! asks [`authorize`] and nothing else.
//!
//! A mayor acts on their municipality, a governor on their province, the minister
//! and the federal crisis centre on the country; other roles are bound to the
//! territory their account names.

use crate::{Level, NisCode, Territories};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The Minister of the Interior or the federal crisis centre: the whole country.
    Minister,
    /// A provincial governor.
    Governor,
    /// A mayor (bourgmestre / burgemeester).
    Mayor,
    /// Drafts alerts for an authority; cannot release them.
    CommunicationOfficer,
    HotlineSupervisor,
    /// Answers the information line.
    HotlineOperator,
    /// Answers the line for victims' relatives; trained for it.
    RelativesOperator,
    Administrator,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Minister,
        Role::Governor,
        Role::Mayor,
        Role::CommunicationOfficer,
        Role::HotlineSupervisor,
        Role::HotlineOperator,
        Role::RelativesOperator,
        Role::Administrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Minister => "minister",
            Role::Governor => "governor",
            Role::Mayor => "mayor",
            Role::CommunicationOfficer => "communication_officer",
            Role::HotlineSupervisor => "hotline_supervisor",
            Role::HotlineOperator => "hotline_operator",
            Role::RelativesOperator => "relatives_operator",
            Role::Administrator => "administrator",
        }
    }

    /// The level of territory an account with this role must be bound to, when the
    /// role implies one.
    pub fn required_level(self) -> Option<Level> {
        match self {
            Role::Minister => Some(Level::Country),
            Role::Governor => Some(Level::Province),
            Role::Mayor => Some(Level::Municipality),
            _ => None,
        }
    }

    /// Roles that can release an alert, see inquiries or change accounts must sign
    /// in with a second factor.
    pub fn requires_second_factor(self) -> bool {
        [
            Action::ReleaseAlert,
            Action::ViewInquiries,
            Action::ManageAccounts,
        ]
        .iter()
        .any(|a| self.may(*a))
    }

    /// What the role allows, wherever it applies.
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Minister | Role::Governor | Role::Mayor => matches!(
                action,
                ViewConsole
                    | DraftAlert
                    | ApproveAlert
                    | ReleaseAlert
                    | CancelAlert
                    | ActivateHotline
                    | PublishAnswers
            ),
            Role::CommunicationOfficer => matches!(action, ViewConsole | DraftAlert),
            Role::HotlineSupervisor => matches!(
                action,
                ViewConsole | AnswerCalls | ViewInquiries | PublishAnswers | SuperviseHotline
            ),
            Role::HotlineOperator => matches!(action, ViewConsole | AnswerCalls),
            Role::RelativesOperator => matches!(action, ViewConsole | AnswerCalls | ViewInquiries),
            Role::Administrator => matches!(action, ViewConsole | ManageAccounts | ViewAudit),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?}: expected one of minister, governor, mayor, communication_officer, hotline_supervisor, hotline_operator, relatives_operator, administrator"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim().to_ascii_lowercase().replace('-', "_"))
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// A privileged act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Open the staff console for a territory.
    ViewConsole,
    DraftAlert,
    ApproveAlert,
    ReleaseAlert,
    CancelAlert,
    ActivateHotline,
    AnswerCalls,
    SuperviseHotline,
    ViewInquiries,
    PublishAnswers,
    ManageAccounts,
    ViewAudit,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ViewConsole => "view_console",
            Action::DraftAlert => "draft_alert",
            Action::ApproveAlert => "approve_alert",
            Action::ReleaseAlert => "release_alert",
            Action::CancelAlert => "cancel_alert",
            Action::ActivateHotline => "activate_hotline",
            Action::AnswerCalls => "answer_calls",
            Action::SuperviseHotline => "supervise_hotline",
            Action::ViewInquiries => "view_inquiries",
            Action::PublishAnswers => "publish_answers",
            Action::ManageAccounts => "manage_accounts",
            Action::ViewAudit => "view_audit",
        }
    }
}

/// The staff member making a request, as established at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: i64,
    pub username: String,
    pub role: Role,
    /// The territory the account is bound to: its jurisdiction.
    pub territory: NisCode,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("the role {role} may not {}", action.as_str())]
    Role { role: Role, action: Action },
    #[error("{target} is outside the jurisdiction {jurisdiction}")]
    OutsideJurisdiction {
        jurisdiction: NisCode,
        target: NisCode,
    },
    #[error("unknown territory {0}")]
    UnknownTerritory(NisCode),
}

/// May `who` perform `action` on `target`? The single decision point.
pub fn authorize(
    who: &Principal,
    action: Action,
    target: NisCode,
    territories: &Territories,
) -> Result<(), Denied> {
    if !who.role.may(action) {
        return Err(Denied::Role {
            role: who.role,
            action,
        });
    }
    if territories.get(target).is_none() {
        return Err(Denied::UnknownTerritory(target));
    }
    if !territories.contains(who.territory, target) {
        return Err(Denied::OutsideJurisdiction {
            jurisdiction: who.territory,
            target,
        });
    }
    Ok(())
}

/// Usernames: 3 to 64 lowercase ASCII letters, digits, `.`, `-` or `_`.
pub fn valid_username(u: &str) -> bool {
    (3..=64).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Why an account cannot be bound to a territory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    #[error("unknown territory {0}")]
    UnknownTerritory(NisCode),
    #[error("a {role} must be bound to a {expected}, and {territory} is a {found}")]
    WrongLevel {
        role: Role,
        territory: NisCode,
        expected: Level,
        found: Level,
    },
}

/// Checks that a role fits the territory an account would be bound to.
pub fn check_binding(
    role: Role,
    territory: NisCode,
    territories: &Territories,
) -> Result<(), BindingError> {
    let unit = territories
        .get(territory)
        .ok_or(BindingError::UnknownTerritory(territory))?;
    match role.required_level() {
        Some(expected) if expected != unit.level => Err(BindingError::WrongLevel {
            role,
            territory,
            expected,
            found: unit.level,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn t() -> &'static Territories {
        static T: OnceLock<Territories> = OnceLock::new();
        T.get_or_init(|| Territories::embedded().expect("embedded data"))
    }

    fn who(role: Role, territory: &str) -> Principal {
        Principal {
            account_id: 1,
            username: "x".into(),
            role,
            territory: territory.parse().expect("nis"),
        }
    }

    fn nis(s: &str) -> NisCode {
        s.parse().expect("nis")
    }

    #[test]
    fn authorities_act_only_within_their_territory() {
        let namur_mayor = who(Role::Mayor, "92094");
        assert_eq!(
            authorize(&namur_mayor, Action::ReleaseAlert, nis("92094"), t()),
            Ok(())
        );
        assert_eq!(
            authorize(&namur_mayor, Action::ReleaseAlert, nis("62063"), t()),
            Err(Denied::OutsideJurisdiction {
                jurisdiction: nis("92094"),
                target: nis("62063")
            })
        );
        assert!(
            authorize(&namur_mayor, Action::ReleaseAlert, nis("90000"), t()).is_err(),
            "not the province"
        );

        let governor = who(Role::Governor, "60000");
        assert!(authorize(&governor, Action::ReleaseAlert, nis("62063"), t()).is_ok());
        assert!(authorize(&governor, Action::ReleaseAlert, nis("60000"), t()).is_ok());
        assert!(authorize(&governor, Action::ReleaseAlert, nis("92094"), t()).is_err());

        let minister = who(Role::Minister, "01000");
        for target in ["01000", "04000", "62063", "92094", "21004"] {
            assert!(
                authorize(&minister, Action::ReleaseAlert, nis(target), t()).is_ok(),
                "{target}"
            );
        }
        assert_eq!(
            authorize(&minister, Action::ReleaseAlert, nis("99999"), t()),
            Err(Denied::UnknownTerritory(nis("99999")))
        );
    }

    #[test]
    fn roles_limit_actions_whatever_the_territory() {
        let officer = who(Role::CommunicationOfficer, "62063");
        assert!(authorize(&officer, Action::DraftAlert, nis("62063"), t()).is_ok());
        assert!(matches!(
            authorize(&officer, Action::ReleaseAlert, nis("62063"), t()),
            Err(Denied::Role { .. })
        ));
        let operator = who(Role::HotlineOperator, "01000");
        assert!(authorize(&operator, Action::ViewInquiries, nis("01000"), t()).is_err());
        let relatives = who(Role::RelativesOperator, "01000");
        assert!(authorize(&relatives, Action::ViewInquiries, nis("01000"), t()).is_ok());
        let admin = who(Role::Administrator, "01000");
        assert!(authorize(&admin, Action::ReleaseAlert, nis("01000"), t()).is_err());
        assert!(authorize(&admin, Action::ManageAccounts, nis("62063"), t()).is_ok());
    }

    #[test]
    fn second_factor_is_required_where_it_matters() {
        for role in [
            Role::Minister,
            Role::Governor,
            Role::Mayor,
            Role::RelativesOperator,
            Role::HotlineSupervisor,
            Role::Administrator,
        ] {
            assert!(role.requires_second_factor(), "{role}");
        }
        assert!(!Role::CommunicationOfficer.requires_second_factor());
        assert!(!Role::HotlineOperator.requires_second_factor());
    }

    #[test]
    fn bindings_match_the_role_level() {
        assert!(check_binding(Role::Mayor, nis("62063"), t()).is_ok());
        assert!(matches!(
            check_binding(Role::Mayor, nis("60000"), t()),
            Err(BindingError::WrongLevel { .. })
        ));
        assert!(
            check_binding(Role::Governor, nis("21000"), t()).is_ok(),
            "Brussels-Capital's governor"
        );
        assert!(check_binding(Role::Minister, nis("62063"), t()).is_err());
        assert!(check_binding(Role::HotlineOperator, nis("60000"), t()).is_ok());
        assert!(check_binding(Role::Administrator, nis("99999"), t()).is_err());
        assert_eq!(
            "relatives-operator".parse::<Role>(),
            Ok(Role::RelativesOperator)
        );
    }
}
