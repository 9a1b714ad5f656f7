//! Crieur's wiring: configuration, the application a test or `main` can start,
//! and the command-line commands.

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod housekeeping;
pub mod telemetry;
pub mod worker;

pub use app::App;
pub use config::Config;
