//! Jurisdiction: whether a target stays within the territory an authority may
//! alert, and the part of it that does. Territory codes are compared by the
//! territorial hierarchy; polygons and circles by geometry against the unit's shape.

use super::area::{Area, Circle, Target, TargetError};
use super::zone::{Zone, area_m2};
use crate::{NisCode, Territories, Territory};
use geo::{BooleanOps, BoundingRect, Intersects, MultiPolygon};

/// Sides of the polygon standing for a circle in geometry operations (drawn around
/// the circle: it reaches 0.03% of the radius beyond it).
const CIRCLE_SIDES: usize = 128;
/// Boolean operations along a shared border leave slivers of rounding; smaller than
/// this, in square metres, they are not territory.
const SLIVER_M2: f64 = 1.0;

impl Target {
    /// The areas of the target that reach outside `allowed`; empty when the whole
    /// target lies within it.
    pub fn outside(
        &self,
        allowed: NisCode,
        territories: &Territories,
    ) -> Result<Vec<&Area>, TargetError> {
        let unit = territories
            .get(allowed)
            .ok_or(TargetError::UnknownTerritory(allowed))?;
        Ok(self
            .areas()
            .iter()
            .filter(|a| !within(a, unit, territories))
            .collect())
    }

    pub fn is_within(
        &self,
        allowed: NisCode,
        territories: &Territories,
    ) -> Result<bool, TargetError> {
        Ok(self.outside(allowed, territories)?.is_empty())
    }

    /// The part of the target inside `allowed`: areas within it kept as they are,
    /// territories around it narrowed to it, polygons and circles cut along its
    /// boundary, the rest dropped. `None` when nothing is left.
    pub fn clip(
        &self,
        allowed: NisCode,
        territories: &Territories,
    ) -> Result<Option<Target>, TargetError> {
        let unit = territories
            .get(allowed)
            .ok_or(TargetError::UnknownTerritory(allowed))?;
        let areas = self
            .areas()
            .iter()
            .filter_map(|a| clip_area(a, unit, territories))
            .collect();
        Ok(Target::from_checked(areas))
    }
}

fn circle_shape(circle: &Circle) -> MultiPolygon<f64> {
    MultiPolygon(vec![circle.to_polygon(CIRCLE_SIDES)])
}

/// The area of `shape` outside the unit, in square metres.
fn sticking_out_m2(shape: &MultiPolygon<f64>, unit: &Territory) -> f64 {
    let apart = match (shape.bounding_rect(), unit.bbox) {
        (Some(a), Some(b)) => !a.intersects(&b),
        _ => true,
    };
    if apart {
        return area_m2(shape);
    }
    area_m2(&shape.difference(&unit.geometry))
}

fn within(area: &Area, unit: &Territory, territories: &Territories) -> bool {
    match area {
        Area::Territory(nis) => territories.contains(unit.nis, *nis),
        Area::Zone(zone) => sticking_out_m2(zone.geometry(), unit) <= SLIVER_M2,
        Area::Circle(circle) => sticking_out_m2(&circle_shape(circle), unit) <= SLIVER_M2,
    }
}

fn cut(shape: &MultiPolygon<f64>, unit: &Territory) -> Option<Area> {
    let inside = shape.intersection(&unit.geometry);
    (area_m2(&inside) > SLIVER_M2).then(|| Area::Zone(Zone::trusted(inside)))
}

fn clip_area(area: &Area, unit: &Territory, territories: &Territories) -> Option<Area> {
    if within(area, unit, territories) {
        return Some(area.clone());
    }
    match area {
        Area::Territory(nis) => territories
            .contains(*nis, unit.nis)
            .then_some(Area::Territory(unit.nis)),
        Area::Zone(zone) => cut(zone.geometry(), unit),
        Area::Circle(circle) => cut(&circle_shape(circle), unit),
    }
}
