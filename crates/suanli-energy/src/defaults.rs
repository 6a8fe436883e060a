//! A compute centre's energy registration until its provider registers one: the default meters, rated power from its racks, cooling inferred from its declared PUE; and cooling types by name.

use crate::meter::{Category, Cooling, DataCentre, MAX_RATED_KW, Meter, MeterId, MeterKind, MeterUnit};
use suanli_core::centre::Centre;

/// Rated facility capacity assumed per standard rack, kW (high-density AI racks with cooling).
pub const RATED_KW_PER_RACK: f64 = 20.0;
/// The default facility-total meter of a centre.
pub const FACILITY_METER: &str = "facility";
/// The default IT meter of a centre (category 2, PDU output).
pub const IT_METER: &str = "it";

/// The default meters: facility total and IT (category 2), both cumulative kWh counters.
pub fn default_meters() -> Vec<Meter> {
    vec![
        Meter { id: meter_id(FACILITY_METER), kind: MeterKind::FacilityTotal, unit: MeterUnit::CumulativeKwh },
        Meter { id: meter_id(IT_METER), kind: MeterKind::It { category: Category::Category2 }, unit: MeterUnit::CumulativeKwh },
    ]
}

fn meter_id(s: &str) -> MeterId {
    MeterId::parse(s).unwrap_or_else(|_| unreachable!("the default meter ids are valid"))
}

/// The rated facility capacity of a centre with `racks` standard racks (at least one), kW,
/// within what a data centre may register.
pub fn rated_kw(racks: u32) -> f64 {
    (f64::from(racks.max(1)) * RATED_KW_PER_RACK).min(MAX_RATED_KW)
}

/// The cooling a declared PUE suggests: liquid below 1.20, free cooling below 1.35, chilled
/// water otherwise.
pub fn cooling_from_pue(declared_pue: f64) -> Cooling {
    if declared_pue < 1.20 {
        Cooling::Liquid
    } else if declared_pue < 1.35 {
        Cooling::FreeCooling
    } else {
        Cooling::ChilledWater
    }
}

/// The energy facts of a compute centre until registered: rated capacity from its racks,
/// cooling from its declared PUE, with the given meters.
pub fn data_centre(centre: &Centre, meters: Vec<Meter>) -> DataCentre {
    DataCentre::from_centre(centre, rated_kw(centre.racks), cooling_from_pue(centre.declared_pue), meters)
}

/// A cooling type by its snake_case name (`air`, `chilled_water`, `free_cooling`, `liquid`, `immersion`).
pub fn cooling_of(name: &str) -> Option<Cooling> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// The snake_case name of a cooling type.
pub fn cooling_name(c: Cooling) -> String {
    serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rated_power_is_twenty_kw_a_rack_at_least_one_rack_and_capped() {
        for (racks, kw) in [(0, 20.0), (1, 20.0), (250, 5_000.0), (u32::MAX, MAX_RATED_KW)] {
            assert_eq!(rated_kw(racks), kw, "{racks} racks");
        }
    }

    #[test]
    fn cooling_follows_the_declared_pue() {
        for (pue, cooling) in [
            (1.10, Cooling::Liquid),
            (1.1999, Cooling::Liquid),
            (1.20, Cooling::FreeCooling),
            (1.3499, Cooling::FreeCooling),
            (1.35, Cooling::ChilledWater),
            (1.8, Cooling::ChilledWater),
        ] {
            assert_eq!(cooling_from_pue(pue), cooling, "PUE {pue}");
        }
    }

    #[test]
    fn default_meters_measure_a_pue2() {
        let m = default_meters();
        let ids: Vec<&str> = m.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, [FACILITY_METER, IT_METER]);
        assert_eq!(m[0].kind, MeterKind::FacilityTotal);
        assert_eq!(m[1].kind, MeterKind::It { category: Category::Category2 });
        assert!(m.iter().all(|m| m.unit == MeterUnit::CumulativeKwh));
    }

    #[test]
    fn cooling_names_round_trip_and_unknown_names_are_none() {
        for c in [Cooling::Air, Cooling::ChilledWater, Cooling::FreeCooling, Cooling::Liquid, Cooling::Immersion] {
            assert_eq!(cooling_of(&cooling_name(c)), Some(c));
        }
        assert_eq!(cooling_name(Cooling::FreeCooling), "free_cooling");
        assert_eq!(cooling_of("ice"), None);
    }
}
