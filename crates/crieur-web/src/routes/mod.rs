pub(crate) mod addresses;
pub(crate) mod admin;
pub(crate) mod citizens;
pub(crate) mod console;
pub(crate) mod health;
pub(crate) mod pages;
pub(crate) mod signin;
pub(crate) mod territories;
