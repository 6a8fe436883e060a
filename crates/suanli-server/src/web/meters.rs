//! A centre's energy metering on its page: its cooling and rated capacity, its meters with what each has reported, and for the operator and the centre's provider the forms that register meters (rows of fields; the list replaces unused meters), set the facts, and import readings from a CSV file with a summary of what was accepted, duplicated and refused (each refusal by its line). Every rule is in `suanli_app::energy`.

use super::manage::refused;
use super::operate::{Kept, field_error};
use super::*;
use suanli_app::energy::CsvImport;
use suanli_core::centre::Centre;
use suanli_core::id::CentreId;
use suanli_energy::csv::CsvError;

/// Empty rows the meters form offers beyond the registered meters.
const BLANK_ROWS: usize = 2;
/// The most rows the meters form reads.
const MAX_ROWS: usize = 50;

/// The section of a centre's page: facts, meters, and (`manage`) the forms.
pub(super) async fn section(s: &AppState, lang: Lang, ctr: &Centre, manage: bool, kept: &Kept) -> String {
    if let Err(e) = s.energy.ensure_registered(&[&ctr.id]).await {
        tracing::warn!(error = %e, centre = %ctr.id, "could not register the centre's meters for its page");
    }
    let (dc, status) = {
        let book = s.energy.read().await;
        (book.data_centre(&ctr.id).cloned(), book.meters(&ctr.id).unwrap_or_default())
    };
    let mut out = format!(r#"<h2 id="energy">{}</h2>"#, lang.t("能耗计量", "Energy metering"));
    let Some(dc) = dc else {
        let _ = write!(out, "<p>{}</p>", lang.t("该中心尚未接入能耗监测。", "This centre is not in energy monitoring yet."));
        return out;
    };
    let cooling = suanli_energy::defaults::cooling_name(dc.cooling);
    let _ = write!(
        out,
        r#"<div class='scroll'><table class="facts" id="energy-facts-now"><tbody><tr><th scope="row">{}</th><td data-cooling="{cooling}">{}</td></tr><tr><th scope="row">{}</th><td>{} kW</td></tr></tbody></table></div>"#,
        lang.t("制冷方式", "Cooling"),
        labels::coded(lang, &labels::COOLINGS, &cooling),
        lang.t("额定容量", "Rated capacity"),
        figure(dc.rated_kw),
    );
    out.push_str(&thead_id(
        "meters",
        &[
            lang.t("电表编号", "Meter"),
            lang.t("计量内容", "Measures"),
            lang.t("计量点", "Metering point"),
            lang.t("单位", "Unit"),
            lang.t("首次读数", "First reading"),
            lang.t("最近读数", "Last reading"),
            lang.t("已接收", "Accepted"),
            lang.t("重复", "Duplicates"),
            lang.t("拒收", "Refused"),
        ],
    ));
    for m in &dc.meters {
        let (kind, point, unit) = labels::meter_codes(m);
        let st = status.iter().find(|x| x.meter == m.id);
        let _ = write!(
            out,
            r#"<tr data-meter="{id}"><td><code>{id}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            labels::coded(lang, &labels::METER_KINDS, kind),
            if point.is_empty() { "-".to_string() } else { labels::coded(lang, &labels::METER_POINTS, point) },
            labels::coded(lang, &labels::METER_UNITS, unit),
            labels::when(st.and_then(|x| x.first_ms)),
            labels::when(st.and_then(|x| x.last_ms)),
            st.map_or(0, |x| x.accepted),
            st.map_or(0, |x| x.duplicates),
            st.map_or(0, |x| x.rejected),
            id = esc(m.id.as_str()),
        );
    }
    out.push_str("</tbody></table></div>");
    if manage {
        out.push_str(&facts_form(lang, ctr, &cooling, dc.rated_kw, kept));
        out.push_str(&meters_form(lang, ctr, &dc.meters, kept));
        out.push_str(&import_form(lang, ctr, kept));
    }
    out
}

/// A figure without trailing zeros ("1200", "12.5").
fn figure(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The facts form: cooling and rated capacity.
fn facts_form(lang: Lang, ctr: &Centre, cooling: &str, rated_kw: f64, kept: &Kept) -> String {
    let (chosen, rated) = if kept.is("facts") {
        (kept.value("facts", "cooling"), kept.value("facts", "rated_kw"))
    } else {
        (cooling.to_string(), figure(rated_kw))
    };
    format!(
        r#"<h3>{h}</h3><form method="post" action="/centres/{cid}/energy-facts" id="facts-form"><label for="facts-cooling">{cl}</label><select id="facts-cooling" name="cooling"{ci}>{options}</select>{ce}<label for="facts-rated">{rl}</label><input id="facts-rated" name="rated_kw" inputmode="decimal" required value="{rated}"{ri}>{re}<p><button type="submit" id="save-facts">{b}</button></p></form>"#,
        h = lang.t("制冷方式与额定容量", "Cooling and rated capacity"),
        cid = esc(ctr.id.as_str()),
        cl = lang.t("制冷方式", "Cooling"),
        options = labels::options(lang, &labels::COOLINGS, &chosen, None),
        ci = kept.invalid("facts", "cooling", "facts-cooling"),
        ce = kept.error("facts", "cooling"),
        rl = lang.t("额定容量（kW）", "Rated capacity (kW)"),
        ri = kept.invalid("facts", "rated_kw", "facts-rated"),
        re = kept.error("facts", "rated_kw"),
        b = lang.t("保存", "Save"),
    )
}

/// The meters form: a row of fields per meter (the registered ones, then empty rows); a row
/// left without an id is not a meter.
fn meters_form(lang: Lang, ctr: &Centre, meters: &[suanli_energy::Meter], kept: &Kept) -> String {
    let typed = kept.rows("meters", "id");
    let n = if typed > 0 { typed } else { (meters.len() + BLANK_ROWS).min(MAX_ROWS) };
    let mut rows = String::new();
    for i in 0..n {
        let (id, kind, point, unit) = if typed > 0 {
            let v = |f: &str| kept.value("meters", &format!("{f}-{i}"));
            (v("id"), v("kind"), v("point"), v("unit"))
        } else {
            match meters.get(i) {
                Some(m) => {
                    let (k, p, u) = labels::meter_codes(m);
                    (esc(m.id.as_str()), k.to_string(), p.to_string(), u.to_string())
                }
                None => (String::new(), String::new(), String::new(), "cumulative_kwh".to_string()),
            }
        };
        let field = format!("id-{i}");
        let input = format!("meter-id-{i}");
        let _ = write!(
            rows,
            r#"<tr><td><label class="vh" for="{input}">{il} {no}</label><input id="{input}" name="id-{i}" maxlength="64" value="{id}"{inv}>{err}</td><td><label class="vh" for="meter-kind-{i}">{kl} {no}</label><select id="meter-kind-{i}" name="kind-{i}">{ko}</select></td><td><label class="vh" for="meter-point-{i}">{pl} {no}</label><select id="meter-point-{i}" name="point-{i}">{po}</select></td><td><label class="vh" for="meter-unit-{i}">{ul} {no}</label><select id="meter-unit-{i}" name="unit-{i}">{uo}</select></td></tr>"#,
            no = i + 1,
            il = lang.t("电表编号", "Meter id"),
            kl = lang.t("计量内容", "Measures"),
            pl = lang.t("计量点", "Metering point"),
            ul = lang.t("单位", "Unit"),
            ko = labels::options(lang, &labels::METER_KINDS, &kind, Some(lang.t("（请选择）", "(choose)"))),
            po = labels::options(lang, &labels::METER_POINTS, &point, Some(lang.t("不适用", "not applicable"))),
            uo = labels::options(lang, &labels::METER_UNITS, &unit, None),
            inv = kept.invalid("meters", &field, &input),
            err = kept.error("meters", &field),
        );
    }
    format!(
        r#"<h3>{h}</h3><p>{p}</p><form method="post" action="/centres/{cid}/meters" id="meters-form"><div class='scroll'><table id="meter-rows"><thead><tr><th scope="col">{c1}</th><th scope="col">{c2}</th><th scope="col">{c3}</th><th scope="col">{c4}</th></tr></thead><tbody>{rows}</tbody></table></div>{all}<p><button type="submit" id="save-meters">{b}</button></p></form>"#,
        h = lang.t("登记电表", "Register meters"),
        p = lang.t(
            "此列表替换该中心现有的电表：未列出且尚无读数的电表将被移除，已有读数的电表保留且不能改变计量内容或单位。计算 PUE 需要一块数据中心总耗电表和一块信息设备耗电表（信息设备耗电表须选计量点）。编号留空的行不登记。",
            "This list replaces the centre's meters: one not listed that has no readings is removed; one with readings is kept and cannot change what it measures or its unit. A PUE needs a facility-total meter and an IT-equipment meter (an IT meter names its metering point). A row without an id is left out."
        ),
        cid = esc(ctr.id.as_str()),
        c1 = lang.t("电表编号", "Meter id"),
        c2 = lang.t("计量内容", "Measures"),
        c3 = lang.t("计量点（仅信息设备）", "Metering point (IT only)"),
        c4 = lang.t("单位", "Unit"),
        all = kept.error("meters", "meters"),
        b = lang.t("登记电表", "Register the meters"),
    )
}

/// The import form: a CSV file of readings.
fn import_form(lang: Lang, ctr: &Centre, kept: &Kept) -> String {
    format!(
        r#"<h3>{h}</h3><p>{p}</p><div class='scroll'><pre translate="no">centre_id,meter,ts,kwh
{cid},facility,2026-05-01T08:00:00+08:00,120345.5</pre></div><form method="post" action="/centres/{cid}/readings" enctype="multipart/form-data" id="import-form"><label for="import-file">{l}</label><input id="import-file" name="file" type="file" accept=".csv,text/csv" required{fi}>{fe}<p><button type="submit" id="import">{b}</button></p></form>"#,
        h = lang.t("导入电表读数", "Import meter readings"),
        p = lang.t(
            "上传 CSV 文件：首行为表头，各列为 <code>centre_id</code>（算力中心编号）、<code>meter</code>（电表编号）、时间（<code>ts</code> 列写带时区的时间，<code>ts_ms</code> 列写毫秒时间戳）和读数（列名即单位：<code>kwh</code>、<code>kw</code> 或 <code>m3</code>）。重复发送的读数只记一次。",
            "Upload a CSV file: a header row, then the columns <code>centre_id</code>, <code>meter</code>, the time (<code>ts</code> for RFC 3339 with its offset, <code>ts_ms</code> for unix milliseconds) and the value (the column's name is its unit: <code>kwh</code>, <code>kw</code> or <code>m3</code>). A reading sent twice counts once."
        ),
        cid = esc(ctr.id.as_str()),
        l = lang.t("读数文件（CSV）", "Readings file (CSV)"),
        fi = kept.invalid("import", "file", "import-file"),
        fe = kept.error("import", "file"),
        b = lang.t("导入", "Import"),
    )
}

/// `POST /centres/{id}/meters` (form): registers the centre's meters, the rows with an id in order.
pub async fn set_meters(
    State(s): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = operate::fields(&body);
    let mut at = "meters".to_string();
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let centre = CentreId::parse(&id)?;
        let mut meters = Vec::new();
        for i in 0..MAX_ROWS {
            let get = |k: &str| f.get(&format!("{k}-{i}")).map(|v| v.trim()).filter(|v| !v.is_empty());
            let Some(meter) = get("id") else { continue };
            at = format!("id-{i}");
            meters.push(suanli_app::energy::meter_of(meter, get("kind").unwrap_or(""), get("point"), None, get("unit").unwrap_or(""))?);
        }
        at = "meters".to_string();
        s.energy.register_meters(&caller, &centre, meters).await?;
        Ok::<_, crate::error::ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/centres/{}?done=meters#energy", esc(&id))).into_response(),
        Err(e) => {
            let input = if at == "meters" { "save-meters".to_string() } else { format!("meter-{at}") };
            let error = field_error(lang, &e, &input);
            refused(&s, lang, &c, &id, &e, Kept::new("meters", &body, at, error)).await
        }
    }
}

/// `POST /centres/{id}/energy-facts` (form): the centre's cooling and rated capacity.
pub async fn set_facts(
    State(s): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = operate::fields(&body);
    let cooling = f.get("cooling").map_or("", |v| v.trim());
    let rated = f.get("rated_kw").map_or("", |v| v.trim());
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let centre = CentreId::parse(&id)?;
        let rated_kw = rated.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| {
            crate::error::ApiError::new(
                suanli_core::ErrorCode::InvalidDataCentre,
                format!("rated capacity '{rated}' is not a number of kW"),
            )
        })?;
        s.energy.set_facts(&caller, &centre, cooling, rated_kw).await?;
        Ok::<_, crate::error::ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/centres/{}?done=facts#energy", esc(&id))).into_response(),
        Err(e) => {
            let on_cooling = matches!(&e, crate::error::ApiError::Domain(d) if d.message.contains("cooling"));
            let (field, input) = if on_cooling { ("cooling", "facts-cooling") } else { ("rated_kw", "facts-rated") };
            refused(&s, lang, &c, &id, &e, Kept::new("facts", &body, field, field_error(lang, &e, input))).await
        }
    }
}

/// `POST /centres/{id}/readings` (a form with a file): imports the CSV's readings and shows what came of them.
pub async fn import_readings(
    State(s): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let parts = super::upload::boundary(&headers).and_then(|b| super::upload::parts(&body, &b)).unwrap_or_default();
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let file = super::upload::file(&parts, "file")
            .ok_or_else(|| crate::error::ApiError::new(suanli_core::ErrorCode::InvalidBody, "choose a CSV file of readings"))?;
        let text = std::str::from_utf8(&file.body)
            .map_err(|_| crate::error::ApiError::new(suanli_core::ErrorCode::MalformedData, "the file is not UTF-8 text"))?;
        Ok::<_, crate::error::ApiError>(s.energy.import_csv(&caller, text).await?)
    }
    .await;
    let kept = |error: String| Kept::new("import", "", "file", error);
    match result {
        Ok(Ok(done)) => render_centre(&s, lang, &c, &id, &summary(lang, &done), &Kept::default()).await,
        Ok(Err(bad)) => {
            let error = format!(
                r#"<p class="error" role="alert" id="import-file-error" data-line="{}">{}</p>"#,
                bad.line.unwrap_or(0),
                csv_words(lang, &bad)
            );
            let mut r = render_centre(&s, lang, &c, &id, "", &kept(error)).await;
            if r.status() == StatusCode::OK {
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            r
        }
        Err(e) => refused(&s, lang, &c, &id, &e, kept(field_error(lang, &e, "import-file"))).await,
    }
}

/// A file's fault in words, after the words that nothing was imported.
fn csv_words(lang: Lang, e: &CsvError) -> String {
    format!("{}{}", lang.t("文件无法读取，未导入任何读数：", "The file cannot be read; nothing was imported: "), labels::csv_error(lang, e))
}

/// What an import came to: the counts, and each refused reading with its line and reason.
fn summary(lang: Lang, r: &CsvImport) -> String {
    let mut out = format!(
        r#"<section id="import-result" role="status"><h2>{}</h2><div class='scroll'><table class="facts"><tbody>"#,
        lang.t("导入结果", "Import result")
    );
    for (k, v, id) in [
        (lang.t("文件中的读数", "Readings in the file"), r.readings as u64, "imported-readings"),
        (lang.t("已接收", "Accepted"), u64::from(r.accepted), "imported-accepted"),
        (lang.t("重复（已忽略）", "Duplicates (ignored)"), u64::from(r.duplicates), "imported-duplicates"),
        (lang.t("拒收", "Refused"), r.refused.len() as u64, "imported-refused"),
    ] {
        let _ = write!(out, r#"<tr><th scope="row">{}</th><td id="{id}">{v}</td></tr>"#, esc(k));
    }
    out.push_str("</tbody></table></div>");
    if !r.refused.is_empty() {
        out.push_str(&thead_id(
            "import-refused",
            &[lang.t("行", "Line"), lang.t("电表", "Meter"), lang.t("读数时间", "Reading time"), lang.t("拒收原因", "Why refused")],
        ));
        for (line, _, x) in &r.refused {
            let e = suanli_core::Error::from(x.error.clone());
            let why = match lang {
                Lang::Zh => e.code.title_zh().to_string(),
                Lang::En => e.message.clone(),
            };
            let _ = write!(
                out,
                r#"<tr data-code="{}"><td>{line}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>"#,
                e.code.as_str(),
                esc(x.meter.as_str()),
                labels::when(Some(x.ts_ms)),
                esc(&why),
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
    out
}
