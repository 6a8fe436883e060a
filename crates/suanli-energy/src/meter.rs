//! Meters, their readings, and the facts about a data centre that readings are checked against.

use crate::error::EnergyError;
use serde::{Deserialize, Serialize};
use std::fmt;
use suanli_core::centre::{Centre, CentreKind};
use suanli_core::id::CentreId;
use suanli_core::time::{MS_PER_DAY, UnixMs};

/// GB 40879-2021 covers data centres with more than this many standard racks; smaller (edge)
/// sites are outside its scope.
pub const EDGE_MAX_RACKS: u32 = 100;

/// Largest rated capacity accepted at registration (10 GW): a typo guard, far above any site.
pub const MAX_RATED_KW: f64 = 10_000_000.0;

/// A meter's name within its data centre, e.g. `incomer-1`, `pdu-a3`, `pv-roof`.
///
/// 1 to 64 characters from ASCII letters, digits and `-_.:/`.
// Shared, not copied: every reading names its meter, and copying a reading allocates nothing.
// Two copies of one id compare without reading their text.
#[derive(Debug, Clone, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
#[serde(try_from = "String", into = "String")]
pub struct MeterId(std::sync::Arc<str>);

impl MeterId {
    pub fn parse(s: &str) -> Result<MeterId, EnergyError> {
        let ok = (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b));
        if !ok {
            return Err(EnergyError::InvalidMeter {
                meter: s.chars().take(64).collect(),
                reason: "a meter id is 1 to 64 characters from ASCII letters, digits and -_.:/".into(),
            });
        }
        Ok(MeterId(std::sync::Arc::from(s)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for MeterId {
    fn eq(&self, other: &MeterId) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl std::hash::Hash for MeterId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Ord for MeterId {
    fn cmp(&self, other: &MeterId) -> std::cmp::Ordering {
        if std::sync::Arc::ptr_eq(&self.0, &other.0) { std::cmp::Ordering::Equal } else { self.0.cmp(&other.0) }
    }
}

impl PartialOrd for MeterId {
    fn partial_cmp(&self, other: &MeterId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for MeterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MeterId {
    type Error = EnergyError;
    fn try_from(s: String) -> Result<MeterId, EnergyError> {
        MeterId::parse(&s)
    }
}

impl From<MeterId> for String {
    fn from(id: MeterId) -> String {
        id.0.to_string()
    }
}

/// ISO/IEC 30134-2 measurement category, fixed by where IT energy is metered: category 1 at
/// the UPS output, 2 at the PDU output, 3 at the IT equipment input. Higher categories meter
/// closer to the IT load and so give a more faithful (usually higher) PUE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Category {
    Category1,
    Category2,
    Category3,
}

/// On the wire a category is its number, 1 to 3.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Category {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(3))
            .description(Some("ISO/IEC 30134-2 measurement category: 1 UPS output, 2 PDU output, 3 IT equipment input"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Category {}

impl Category {
    /// 1, 2 or 3.
    pub fn number(self) -> u8 {
        match self {
            Category::Category1 => 1,
            Category::Category2 => 2,
            Category::Category3 => 3,
        }
    }

    /// Where IT energy is metered for this category.
    pub fn metering_point(self) -> &'static str {
        match self {
            Category::Category1 => "UPS output",
            Category::Category2 => "PDU output",
            Category::Category3 => "IT equipment input",
        }
    }
}

impl TryFrom<u8> for Category {
    type Error = String;
    fn try_from(n: u8) -> Result<Category, String> {
        match n {
            1 => Ok(Category::Category1),
            2 => Ok(Category::Category2),
            3 => Ok(Category::Category3),
            _ => Err(format!("measurement category is 1, 2 or 3, not {n}")),
        }
    }
}

impl From<Category> for u8 {
    fn from(c: Category) -> u8 {
        c.number()
    }
}

/// What a meter measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MeterKind {
    /// E_DC: all energy into the data centre, whatever its source (grid and on-site generation).
    FacilityTotal,
    /// E_IT at the category's metering point.
    It { category: Category },
    /// Energy of the cooling plant (informational: it is already inside E_DC).
    Cooling,
    /// On-site renewable generation consumed by the data centre (PV, wind).
    Renewable,
    /// Site water use, in cubic metres (not energy).
    Water,
}

impl MeterKind {
    pub fn channel(self) -> Channel {
        match self {
            MeterKind::FacilityTotal => Channel::Facility,
            MeterKind::It { .. } => Channel::It,
            MeterKind::Cooling => Channel::Cooling,
            MeterKind::Renewable => Channel::Renewable,
            MeterKind::Water => Channel::Water,
        }
    }
}

impl fmt::Display for MeterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeterKind::FacilityTotal => f.write_str("facility total"),
            MeterKind::It { category } => write!(f, "IT (category {}, {})", category.number(), category.metering_point()),
            MeterKind::Cooling => f.write_str("cooling"),
            MeterKind::Renewable => f.write_str("on-site renewable"),
            MeterKind::Water => f.write_str("water"),
        }
    }
}

/// The quantities a data centre's meters add up into: one rollup series each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Facility,
    It,
    Cooling,
    Renewable,
    Water,
}

impl Channel {
    pub const ALL: [Channel; 5] = [Channel::Facility, Channel::It, Channel::Cooling, Channel::Renewable, Channel::Water];

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// How a meter reports: a cumulative register or instantaneous power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MeterUnit {
    /// An energy register in kWh that only goes up (until it is reset).
    CumulativeKwh,
    /// Instantaneous active power in kW.
    InstantKw,
    /// A water register in m³.
    CumulativeM3,
}

impl MeterUnit {
    pub fn is_cumulative(self) -> bool {
        matches!(self, MeterUnit::CumulativeKwh | MeterUnit::CumulativeM3)
    }
}

impl fmt::Display for MeterUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MeterUnit::CumulativeKwh => "cumulative kWh",
            MeterUnit::InstantKw => "instantaneous kW",
            MeterUnit::CumulativeM3 => "cumulative m³",
        })
    }
}

/// A registered meter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Meter {
    pub id: MeterId,
    pub kind: MeterKind,
    pub unit: MeterUnit,
}

impl Meter {
    pub fn new(id: &str, kind: MeterKind, unit: MeterUnit) -> Result<Meter, EnergyError> {
        let m = Meter { id: MeterId::parse(id)?, kind, unit };
        m.validate()?;
        Ok(m)
    }

    /// Water meters count m³; every other kind counts energy (kWh register or kW).
    pub fn validate(&self) -> Result<(), EnergyError> {
        let water = self.kind == MeterKind::Water;
        if water != (self.unit == MeterUnit::CumulativeM3) {
            return Err(EnergyError::InvalidMeter {
                meter: self.id.to_string(),
                reason: format!("a {} meter cannot report {}: water is cumulative m³, energy is kWh or kW", self.kind, self.unit),
            });
        }
        Ok(())
    }
}

/// One sample as a meter sends it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingValue {
    CumulativeKwh(f64),
    InstantKw(f64),
    CumulativeM3(f64),
}

impl ReadingValue {
    pub fn unit(self) -> MeterUnit {
        match self {
            ReadingValue::CumulativeKwh(_) => MeterUnit::CumulativeKwh,
            ReadingValue::InstantKw(_) => MeterUnit::InstantKw,
            ReadingValue::CumulativeM3(_) => MeterUnit::CumulativeM3,
        }
    }

    pub fn value(self) -> f64 {
        match self {
            ReadingValue::CumulativeKwh(v) | ReadingValue::InstantKw(v) | ReadingValue::CumulativeM3(v) => v,
        }
    }
}

/// A reading of one meter at a moment (unix milliseconds, UTC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub meter: MeterId,
    pub ts_ms: UnixMs,
    pub value: ReadingValue,
}

impl Reading {
    pub fn new(meter: &MeterId, ts_ms: UnixMs, value: ReadingValue) -> Reading {
        Reading { meter: meter.clone(), ts_ms, value }
    }
}

/// How the data hall is cooled: informs retrofit advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Cooling {
    /// Direct-expansion or CRAC air cooling.
    Air,
    /// Chilled water to CRAH units.
    ChilledWater,
    /// Air- or water-side economisers (free cooling) for most of the year.
    FreeCooling,
    /// Cold-plate liquid cooling.
    Liquid,
    /// Immersion cooling.
    Immersion,
}

impl Cooling {
    pub fn as_str(self) -> &'static str {
        match self {
            Cooling::Air => "air",
            Cooling::ChilledWater => "chilled water",
            Cooling::FreeCooling => "free cooling",
            Cooling::Liquid => "liquid",
            Cooling::Immersion => "immersion",
        }
    }
}

/// What the energy registry knows of a data centre: the facts readings are validated against
/// and that grading and lifecycle evaluation need, and its meters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataCentre {
    pub id: CentreId,
    /// Rated facility capacity (maximum facility draw) in kW: bounds plausible power readings.
    pub rated_kw: f64,
    /// Standard racks.
    pub racks: u32,
    /// Commissioning date as unix ms of UTC midnight (`suanli_core::time::parse_date`).
    pub commissioned_ms: UnixMs,
    pub cooling: Cooling,
    /// Registered as an edge site (a centre of kind `edge`).
    pub edge: bool,
    pub meters: Vec<Meter>,
}

impl DataCentre {
    /// The energy facts of a registered compute centre (its id, racks, commissioning date and
    /// kind), with what only the energy registry records.
    pub fn from_centre(centre: &Centre, rated_kw: f64, cooling: Cooling, meters: Vec<Meter>) -> DataCentre {
        DataCentre {
            id: centre.id.clone(),
            rated_kw,
            racks: centre.racks,
            commissioned_ms: centre.commissioned_ms,
            cooling,
            edge: centre.kind == CentreKind::Edge,
            meters,
        }
    }

    /// GB 40879-2021 does not cover edge data centres: sites registered as edge, or with at most
    /// [`EDGE_MAX_RACKS`] standard racks.
    pub fn in_gb40879_scope(&self) -> bool {
        !self.edge && self.racks > EDGE_MAX_RACKS
    }

    /// The measurement category of the IT meters (all IT meters of a data centre share one).
    pub fn it_category(&self) -> Option<Category> {
        self.meters.iter().find_map(|m| match m.kind {
            MeterKind::It { category } => Some(category),
            _ => None,
        })
    }

    pub fn meter(&self, id: &MeterId) -> Option<&Meter> {
        self.meters.iter().find(|m| &m.id == id)
    }

    /// Meters feeding one channel.
    pub fn meters_of(&self, channel: Channel) -> impl Iterator<Item = &Meter> {
        self.meters.iter().filter(move |m| m.kind.channel() == channel)
    }

    /// Age in years (of 365.25 days) at `now_ms`; 0 before commissioning.
    pub fn age_years(&self, now_ms: UnixMs) -> f64 {
        ((now_ms - self.commissioned_ms).max(0) as f64) / (365.25 * MS_PER_DAY as f64)
    }

    /// Rated capacity must be positive (at most 10 GW), racks at least 1, meter ids unique,
    /// each meter's unit fit its kind, and all IT meters share one measurement category (a PUE
    /// has one category).
    pub fn validate(&self) -> Result<(), EnergyError> {
        let bad = |reason: String| Err(EnergyError::InvalidDataCentre { dc: self.id.clone(), reason });
        if !(self.rated_kw.is_finite() && self.rated_kw > 0.0 && self.rated_kw <= MAX_RATED_KW) {
            return bad(format!("rated capacity must be above 0 and at most {MAX_RATED_KW} kW, not {}", self.rated_kw));
        }
        if self.racks == 0 {
            return bad("a data centre has at least one rack".into());
        }
        for (i, m) in self.meters.iter().enumerate() {
            m.validate()?;
            if self.meters[..i].iter().any(|o| o.id == m.id) {
                return bad(format!("meter id '{}' is listed twice", m.id));
            }
        }
        let mut categories = self.meters.iter().filter_map(|m| match m.kind {
            MeterKind::It { category } => Some(category),
            _ => None,
        });
        if let Some(first) = categories.next()
            && let Some(other) = categories.find(|c| *c != first)
        {
            return bad(format!("IT meters mix measurement categories {} and {}: a PUE has one category", first.number(), other.number()));
        }
        Ok(())
    }
}
