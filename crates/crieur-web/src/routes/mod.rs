pub(crate) mod addresses;
pub(crate) mod health;
pub(crate) mod pages;
pub(crate) mod territories;
