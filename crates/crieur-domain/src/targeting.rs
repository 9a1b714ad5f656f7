//! Who an alert reaches: the persons with a registered address in the target area,
//! found in an in-memory index of addresses that the web layer keeps current on
//! every registration change; and whether a target stays within the sender's
//! jurisdiction. Pure: no I/O, no clock.

mod area;
mod index;
mod jurisdiction;
mod prepared;
mod resolution;
mod zone;

pub use area::{Area, Circle, MAX_RADIUS_M, MIN_RADIUS_M, Target, TargetError, haversine_m};
pub use index::{
    AddressIndex, AddressPoint, IndexError, IndexMemory, MAX_ADDRESSES_PER_PERSON, PersonId,
};
pub use resolution::{Recipient, Resolution};
pub use zone::{MAX_AREA_KM2, MAX_VERTICES, Zone};

#[cfg(test)]
mod tests;
