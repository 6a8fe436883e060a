//! The overview's map: a tile map (grid cartogram) of Hangzhou's districts and the Zhejiang, Yangtze River Delta and East China regions the platform overflows to, one square per region coloured by accelerators in use or by the worst PUE (`?map=use|pue`), each labelled in the page's language and linked to its centres, and on each square its centres as points (area by PFLOPS, colour by their 30-day PUE, each linked to the centre's page), with legends; SVG, readable at phone width, placed by fixed rules (no randomness).

use super::charts::{Key, legend};
use super::{Lang, esc};
use crate::AppState;
use std::collections::BTreeMap;
use std::fmt::Write;
use suanli_app::figures::{CentrePoint, RegionFigures};
use suanli_core::city::ComputeSlice;

/// Where each region's square goes: (id, column, row). Hangzhou's districts roughly as they lie
/// (west to east, north to south) in columns 0-3; the rest of Zhejiang in columns 5-7; the wider
/// region in rows 5-6.
const LAYOUT: [(&str, u8, u8); 37] = [
    ("hz-linan", 0, 0),
    ("hz-yuhang", 1, 0),
    ("hz-gongshu", 2, 0),
    ("hz-linping", 3, 0),
    ("hz-fuyang", 0, 1),
    ("hz-xihu", 1, 1),
    ("hz-shangcheng", 2, 1),
    ("hz-qiantang", 3, 1),
    ("hz-tonglu", 0, 2),
    ("hz-binjiang", 1, 2),
    ("hz-xiaoshan", 2, 2),
    ("hz-chunan", 0, 3),
    ("hz-jiande", 1, 3),
    ("huzhou", 5, 0),
    ("jiaxing", 6, 0),
    ("shaoxing", 5, 1),
    ("ningbo", 6, 1),
    ("zhoushan", 7, 1),
    ("jinhua", 5, 2),
    ("taizhou", 6, 2),
    ("quzhou", 5, 3),
    ("lishui", 6, 3),
    ("wenzhou", 7, 3),
    ("shanghai", 7, 5),
    ("suzhou", 6, 5),
    ("jiangsu", 5, 5),
    ("nanjing", 4, 5),
    ("wuhu", 3, 5),
    ("hefei", 2, 5),
    ("anhui", 1, 5),
    ("shandong", 0, 5),
    ("jiangxi", 0, 6),
    ("fujian", 1, 6),
    ("east-china", 2, 6),
    ("yrd", 3, 6),
    ("zhejiang", 4, 6),
    ("hangzhou", 5, 6),
];

const W: f64 = 640.0;
const TILE: f64 = 72.0;
const PITCH: f64 = 76.0;
const ROW: f64 = 86.0;
/// Where a square's centres go: a strip at its foot, under its name and value.
const STRIP_TOP: f64 = 46.0;
const STRIP_H: f64 = 32.0;
/// The largest point's radius, and the least any point is drawn with.
const MAX_R: f64 = 10.0;
const MIN_R: f64 = 2.5;
const GREY: &str = "#eaecf0";
/// A centre with no PUE measured over the last 30 days: a hollow, dashed point.
const NO_PUE: &str = "#ffffff";
/// Accelerators in use: under 25%, 50%, 75%, and above.
const USE: [&str; 4] = ["#dbe7fb", "#9dbcf0", "#4f86e0", "#1d4fa8"];
/// PUE: under 1.20, under the 1.25 limit, under 1.50, and 1.50 or more.
const PUE: [&str; 4] = ["#067647", "#8fd0a8", "#f5b971", "#b42318"];

/// What the tiles are coloured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    Use,
    Pue,
}

/// A tile's colour and its value in words, or none when the region has nothing to show.
fn shade(metric: Metric, f: &RegionFigures, limit: f64) -> Option<(&'static str, String)> {
    match metric {
        Metric::Use if f.accelerators > 0 => {
            let share = f.accelerators_in_use as f64 / f.accelerators as f64;
            Some((USE[((share * 4.0) as usize).min(3)], format!("{:.0}%", share * 100.0)))
        }
        Metric::Pue => f.worst_pue_30d.map(|p| (pue_colour(p, limit), format!("{p:.2}"))),
        Metric::Use => None,
    }
}

/// A PUE's colour: under 1.20, under the limit, under 1.50, and 1.50 or more.
fn pue_colour(p: f64, limit: f64) -> &'static str {
    let band = if p < 1.20 {
        0
    } else if p < limit {
        1
    } else if p < 1.50 {
        2
    } else {
        3
    };
    PUE[band]
}

/// A short name for a square: English names lose "district" and "County".
fn short(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::Zh => zh.to_string(),
        Lang::En => en.trim_end_matches(" County").to_string(),
    }
}

/// The links choosing what colours the map, the chosen one marked.
fn picker(lang: Lang, metric: Metric) -> String {
    let mut out =
        format!(r#"<nav class="range" aria-label="{}"><span>{}</span>"#, lang.t("地图着色", "Map colour"), lang.t("着色：", "Colour by:"));
    for (m, key, label) in [
        (Metric::Use, "use", lang.t("加速卡使用率", "Accelerators in use")),
        (Metric::Pue, "pue", lang.t("PUE（近 30 天最差）", "PUE (worst, 30 days)")),
    ] {
        let href = super::table::relink(&[("map".to_string(), Some(key.to_string()))]);
        let mark = if m == metric { r#" aria-current="true""# } else { "" };
        let _ = write!(out, r##"<a href="{}#map" data-map="{key}"{mark}>{label}</a>"##, esc(&href));
    }
    out.push_str("</nav>");
    out
}

/// The map's SVG: a square per region of [`LAYOUT`] the registry knows, with group captions, and
/// over the squares their centres' points.
fn svg(s: &AppState, lang: Lang, metric: Metric, figures: &BTreeMap<String, RegionFigures>, points: &[CentrePoint], limit: f64) -> String {
    let top = 22.0;
    let h = top + 7.0 * ROW + 4.0;
    let title = lang.t("算力地图：杭州各区县与周边地区", "Compute map: Hangzhou's districts and the wider region");
    let mut out =
        format!(r#"<svg viewBox="0 0 {W} {h}" width="100%" role="img" aria-labelledby="t-map"><title id="t-map">{}</title>"#, esc(title));
    for (x, y, caption) in [
        (8.0, 14.0, lang.t("杭州市", "Hangzhou")),
        (8.0 + 5.0 * PITCH, 14.0, lang.t("浙江省其他城市", "Rest of Zhejiang")),
        (8.0, top + 5.0 * ROW - 8.0, lang.t("长三角及华东", "Yangtze River Delta and East China")),
    ] {
        let _ = write!(out, r#"<text x="{x}" y="{y}" font-weight="600">{}</text>"#, esc(caption));
    }
    let mut squares: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (id, col, row) in LAYOUT {
        let Some(region) = s.regions.get(id) else { continue };
        let f = figures.get(id).cloned().unwrap_or_default();
        if f.centres.is_empty() && matches!(id, "east-china" | "yrd" | "zhejiang" | "hangzhou") {
            continue; // a wider region's own square only when a centre is registered at that level
        }
        let (x, y) = (8.0 + f64::from(col) * PITCH, top + f64::from(row) * ROW);
        squares.insert(id, (x, y));
        let name = short(lang, &region.name_zh, &region.name_en);
        let (fill, value) = shade(metric, &f, limit).unwrap_or((GREY, "-".to_string()));
        let ink = if [USE[2], USE[3], PUE[0], PUE[3]].contains(&fill) { "#ffffff" } else { "#1a1a1a" };
        let count = f.centres.len();
        let hover = format!("{name}: {} {count} · {value}", lang.t("数据中心", "centres"));
        let tile = format!(
            r##"<rect x="{x}" y="{y}" width="{TILE}" height="{th}" rx="4" fill="{fill}" stroke="#98a2b3"><title>{t}</title></rect><text x="{cx}" y="{y1}" text-anchor="middle" style="fill:{ink}">{n}</text><text x="{cx}" y="{y2}" text-anchor="middle" style="fill:{ink}">{v}</text>"##,
            th = ROW - 6.0,
            t = esc(&hover),
            cx = x + TILE / 2.0,
            y1 = y + 20.0,
            y2 = y + 38.0,
            n = esc(&name),
            v = esc(&value),
        );
        if count > 0 {
            let _ = write!(out, r#"<a href="/centres?region={}" data-region="{}">{tile}</a>"#, esc(id), esc(id));
        } else {
            out.push_str(&tile);
        }
    }
    out.push_str(&centre_points(lang, points, &squares, limit));
    out.push_str("</svg>");
    out
}

/// Each centre as a circle in its region's square (drawn after the squares, so no link holds
/// another): its area in proportion to its PFLOPS (one scale for the whole map), its colour its
/// 30-day PUE, a hover title, a link to its page. A square's centres sit in a strip at its foot
/// in rows of up to six, largest first (then by id).
fn centre_points(lang: Lang, points: &[CentrePoint], squares: &BTreeMap<&str, (f64, f64)>, limit: f64) -> String {
    let mut by_square: BTreeMap<&str, Vec<&CentrePoint>> = BTreeMap::new();
    for p in points.iter().filter(|p| squares.contains_key(p.region.as_str())) {
        by_square.entry(p.region.as_str()).or_default().push(p);
    }
    let grid = |n: usize| {
        let rows = n.div_ceil(6).max(1);
        let cols = n.div_ceil(rows).max(1);
        (cols, rows, TILE / cols as f64, STRIP_H / rows as f64)
    };
    // One radius scale for the map: the largest point fits the most crowded square's cells.
    let cap = by_square.values().map(|v| grid(v.len())).fold(MAX_R, |r, (_, _, w, h)| r.min(w.min(h) / 2.0 - 0.5));
    let most = points.iter().map(|p| p.pflops_fp16).fold(0.0, f64::max);
    let mut out = String::from(r#"<g class="centres">"#);
    for (region, mut list) in by_square {
        list.sort_by(|a, b| b.pflops_fp16.total_cmp(&a.pflops_fp16).then_with(|| a.id.cmp(&b.id)));
        let (x, y) = squares[region];
        let (cols, _, w, h) = grid(list.len());
        for (i, p) in list.into_iter().enumerate() {
            let (cx, cy) = (x + w * ((i % cols) as f64 + 0.5), y + STRIP_TOP + h * ((i / cols) as f64 + 0.5));
            let r = (if most > 0.0 { cap * (p.pflops_fp16 / most).sqrt() } else { 0.0 }).max(MIN_R.min(cap));
            // A measured point is ringed in white outside its dark edge, so that it reads as a
            // filled dot even on a square of its own colour; only an unmeasured one is hollow.
            let (fill, dash, halo, pue) = match p.pue_30d {
                Some(v) => (
                    pue_colour(v, limit),
                    "",
                    format!(
                        r##"<circle class="halo" cx="{cx:.1}" cy="{cy:.1}" r="{:.1}" fill="none" stroke="#ffffff" stroke-width="1.5" pointer-events="none"/>"##,
                        r + 1.25
                    ),
                    format!("PUE {v:.2}"),
                ),
                None => (NO_PUE, r#" stroke-dasharray="2 1.5""#, String::new(), lang.t("PUE 暂无实测", "PUE not measured").to_string()),
            };
            let title = format!("{} · {:.1} PFLOPS · {pue}", lang.name(&p.name, &p.name_en), p.pflops_fp16);
            let _ = write!(
                out,
                r##"<a href="/centres/{id}" data-centre="{id}"><circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="{fill}" stroke="#1a1a1a" stroke-width="1"{dash}><title>{t}</title></circle>{halo}</a>"##,
                id = esc(p.id.as_str()),
                t = esc(&title),
            );
        }
    }
    out.push_str("</g>");
    out
}

/// The points' legend: their PUE colours (the squares' bands and limit), the hollow point of a
/// centre not measured, and what their size says.
fn points_legend(lang: Lang, points: &[CentrePoint], limit: f64) -> String {
    let most = points.iter().map(|p| p.pflops_fp16).fold(0.0, f64::max);
    let keys = [
        Key::Dot(PUE[0], format!("PUE {}", lang.t("低于 1.20", "below 1.20"))),
        Key::Dot(PUE[1], format!("PUE 1.20 – {limit:.2}")),
        Key::Dot(PUE[2], format!("PUE {limit:.2} – 1.50")),
        Key::Dot(PUE[3], format!("PUE {}", lang.t("1.50 及以上", "1.50 and above"))),
        Key::Dot(NO_PUE, lang.t("近 30 天没有实测 PUE", "no PUE measured in 30 days").to_string()),
    ];
    format!(
        r#"<p class="t" id="map-points">{} {most:.1} PFLOPS{}</p>{}"#,
        lang.t(
            "圆点是算力中心：面积与其 FP16 算力（PFLOPS）成正比，颜色为其近 30 天 PUE；点击进入该中心。最大的圆点为",
            "Each dot is a centre: its area in proportion to its FP16 compute (PFLOPS), its colour its PUE over the last 30 days; select it for the centre. The largest dot is"
        ),
        lang.t("。", "."),
        legend(&keys)
    )
}

/// The overview's map section, from the region table's figures (`open`: the summary's `by_region`).
pub async fn section(s: &AppState, lang: Lang, open: &BTreeMap<String, ComputeSlice>, registry: &suanli_app::figures::Registry) -> String {
    let metric = if super::table::param("map").as_deref() == Some("pue") { Metric::Pue } else { Metric::Use };
    let (centres, pools) = (&registry.centres, &registry.pools);
    let now = s.ids.now_ms();
    let limit = s.policy.new_dc_pue_limit;
    let points = suanli_app::figures::centre_points(centres, pools, &s.catalogue, &*s.energy.read().await, &s.regions, now);
    let figures = suanli_app::figures::by_region(open, &points);
    let keys: Vec<Key<'_>> = match metric {
        Metric::Use => vec![
            Key::Swatch(USE[0], lang.t("使用率低于 25%", "under 25% in use").to_string()),
            Key::Swatch(USE[1], "25%–50%".to_string()),
            Key::Swatch(USE[2], "50%–75%".to_string()),
            Key::Swatch(USE[3], lang.t("75% 及以上", "75% and more").to_string()),
            Key::Swatch(GREY, lang.t("没有开放算力", "no open compute").to_string()),
        ],
        Metric::Pue => vec![
            Key::Swatch(PUE[0], lang.t("低于 1.20", "below 1.20").to_string()),
            Key::Swatch(PUE[1], format!("1.20 – {limit:.2}")),
            Key::Swatch(PUE[2], format!("{limit:.2} – 1.50")),
            Key::Swatch(PUE[3], lang.t("1.50 及以上", "1.50 and above").to_string()),
            Key::Swatch(GREY, lang.t("没有实测数据", "no measurements").to_string()),
        ],
    };
    format!(
        r#"<section id="map" aria-labelledby="map-h"><h2 id="map-h">{}</h2>{}<div class="chart">{}</div>{}{}<p class="t">{}</p></section>"#,
        lang.t("算力地图", "Compute map"),
        picker(lang, metric),
        svg(s, lang, metric, &figures, &points, limit),
        legend(&keys),
        points_legend(lang, &points, limit),
        lang.t(
            "每个方块是一个区县或地区，点击查看其算力中心；使用率按合作中心的加速卡计，PUE 取该地区数据中心近 30 天的最差值。",
            "Each square is a district or region; select it for its centres. Use counts partner centres' accelerators; PUE is the worst of the region's data centres over the last 30 days."
        )
    )
}
