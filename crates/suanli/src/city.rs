//! The city's totals against the policy's targets, the reference lists (accelerators, regions), the audit trail, and whose a token is.

use crate::output::{self, Format, cell, table, time, to_value};
use crate::{list, show};
use serde_json::{Value, json};
use suanli_api::Client;

/// `suanli city`.
pub(crate) async fn city(c: Client, fmt: Format) -> anyhow::Result<()> {
    let v = to_value(&c.city_summary().await?);
    show_city(&v, fmt);
    Ok(())
}

/// `suanli accelerators`: the catalogue.
pub(crate) async fn accelerators(c: Client, fmt: Format) -> anyhow::Result<()> {
    let v = to_value(&c.accelerators().await?);
    list(
        &v,
        fmt,
        &[
            ("model", "model"),
            ("name", "name"),
            ("vendor", "vendor"),
            ("domestic", "domestic"),
            ("FP16 TFLOPS", "fp16_tflops"),
            ("memory GB", "memory_gb"),
            ("class", "class"),
        ],
    );
    Ok(())
}

/// `suanli regions`: the region tree, one row a region.
pub(crate) async fn regions(c: Client, fmt: Format) -> anyhow::Result<()> {
    let v = to_value(&c.regions().await?);
    list(
        &v,
        fmt,
        &[("id", "id"), ("名称", "name_zh"), ("name", "name_en"), ("kind", "kind"), ("parent", "parent"), ("code", "division_code")],
    );
    Ok(())
}

/// `suanli audit`: the latest `limit` audit records, of one subject or all.
pub(crate) async fn audit(c: Client, subject: Option<&str>, limit: u32, fmt: Format) -> anyhow::Result<()> {
    let v = to_value(&c.audit(subject, limit).await?);
    if fmt == Format::Json {
        output::json(&v);
    } else {
        let items = v["items"].as_array().cloned().unwrap_or_default();
        let rows: Vec<Value> = items.iter().map(|a| json!({"at": time(&a["at_ms"]), "actor": a["actor"], "action": a["action"], "subject": a["subject"], "detail": a["detail"].to_string()})).collect();
        table(&rows, &[("at (UTC)", "at"), ("actor", "actor"), ("action", "action"), ("subject", "subject"), ("detail", "detail")]);
    }
    Ok(())
}

/// `suanli me`: who the token belongs to.
pub(crate) async fn me(c: Client, fmt: Format) -> anyhow::Result<()> {
    let v = to_value(&c.me().await?);
    show(&v, fmt, &[("user", "user_id"), ("name", "name"), ("role", "role"), ("tenant", "tenant_id"), ("provider", "provider_id")]);
    Ok(())
}

fn show_city(v: &Value, fmt: Format) {
    if fmt == Format::Json {
        return output::json(v);
    }
    let pct = |x: &Value| x.as_f64().map_or("-".into(), |f| format!("{:.1}%", f * 100.0));
    let mut rows = vec![
        json!({"metric": "open compute FP16 (PFLOPS) 可开放算力", "now": format!("{:.1}", v["open_compute_pflops_fp16"].as_f64().unwrap_or(0.0)), "target": format!(">= {}", cell(&v["targets"]["open_compute_pflops_fp16"])), "progress": pct(&v["open_compute_progress"])}),
        json!({"metric": "high-performance share 高性能算力占比", "now": pct(&v["high_performance_share"]), "target": format!(">= {}", pct(&v["targets"]["high_performance_share"])), "progress": ""}),
        json!({"metric": "domestic share 国产算力占比", "now": pct(&v["domestic_share"]), "target": "", "progress": ""}),
        json!({"metric": "partner centres 算力伙伴", "now": format!("{} of {}", cell(&v["partner_centres"]), cell(&v["centres"])), "target": "", "progress": ""}),
        json!({"metric": "accelerators in use / in partner pools 加速卡使用中", "now": format!("{} / {}", cell(&v["accelerators_in_use"]), cell(&v["accelerators"])), "target": "", "progress": ""}),
        json!({"metric": "new DCs at/over PUE limit 新建数据中心PUE超标", "now": v["new_centres_over_pue_limit"].as_array().map_or(0, Vec::len), "target": format!("PUE < {}", cell(&v["targets"]["new_dc_pue_limit"])), "progress": ""}),
        json!({"metric": "tenants 企业用户", "now": cell(&v["tenants"]), "target": "", "progress": ""}),
        json!({"metric": "jobs pending / running / succeeded / failed", "now": format!("{} / {} / {} / {}", cell(&v["jobs"]["pending"]), cell(&v["jobs"]["running"]), cell(&v["jobs"]["succeeded"]), cell(&v["jobs"]["failed"])), "target": "", "progress": ""}),
    ];
    let vch = &v["vouchers"];
    if vch.is_object() {
        rows.push(json!({"metric": format!("vouchers {} spent 算力券已使用", cell(&vch["year"])), "now": format!("¥{}", cell(&vch["spent"])), "target": format!("<= ¥{} budget", cell(&vch["budget"])), "progress": pct(&vch["spent_share"])}));
        rows.push(json!({"metric": "vouchers issued / held / remaining 已发放/冻结/剩余", "now": format!("¥{} / ¥{} / ¥{}", cell(&vch["issued"]), cell(&vch["held"]), cell(&vch["remaining"])), "target": "", "progress": ""}));
        rows.push(json!({"metric": "enterprises with vouchers / applications pending", "now": format!("{} / {}", cell(&vch["enterprises"]), cell(&vch["pending_applications"])), "target": "", "progress": ""}));
    }
    table(&rows, &[("metric", "metric"), ("now", "now"), ("target", "target"), ("progress", "progress")]);
    let scopes: Vec<Value> = v["by_scope"].as_object().map_or_else(Vec::new, |m| {
        m.iter().map(|(k, s)| json!({"scope": k, "pflops": s["pflops_fp16"], "accelerators": s["accelerators"]})).collect()
    });
    table(&scopes, &[("scope 区域", "scope"), ("PFLOPS FP16", "pflops"), ("accelerators", "accelerators")]);
    let vendors: Vec<Value> = v["by_vendor"].as_object().map_or_else(Vec::new, |m| {
        m.iter().map(|(k, s)| json!({"vendor": k, "pflops": s["pflops_fp16"], "accelerators": s["accelerators"]})).collect()
    });
    table(&vendors, &[("vendor 厂商", "vendor"), ("PFLOPS FP16", "pflops"), ("accelerators", "accelerators")]);
}
