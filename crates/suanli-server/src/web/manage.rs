//! A centre's management forms on its page: partner status (the operator), the backend binding and the pools' prices (the operator or the centre's provider); each posts to one service, a status change, an unbinding and a price change are asked for again on a confirmation page first, and a refused form comes back with its error beside the field and what was typed kept.

use super::confirm;
use super::operate::{Kept, code_of, field_error};
use super::*;
use suanli_core::centre::{Centre, PartnerStatus, Pool};
use suanli_core::id::{CentreId, PoolId};
use suanli_core::money::Fen;
use suanli_core::tenant::Role;

/// Whether the page offers a centre's binding and prices to this caller (the services decide).
pub(super) fn may_manage(c: &Caller, ctr: &Centre) -> bool {
    c.role() == Role::Operator || (c.role() == Role::Provider && c.0.provider_id.as_ref() == Some(&ctr.provider_id))
}

/// The price cell of a pool's row: a form to change the price and the partner discount.
pub(super) fn price_form(lang: Lang, ctr: &Centre, p: &Pool, kept: &Kept) -> String {
    let form = format!("price-{}", p.id);
    let (price, discount) = if kept.is(&form) {
        (kept.value(&form, "price"), kept.value(&form, "discount"))
    } else {
        (esc(&p.price_per_hour.to_yuan_string()), p.partner_discount_pct.to_string())
    };
    let (pid, did) = (format!("price-{}", p.id), format!("discount-{}", p.id));
    format!(
        r#"<form method="post" action="/centres/{cid}/pools/{pool}/price"><label for="{pid}">{pl}</label><input id="{pid}" name="price" inputmode="decimal" required value="{price}"{pi}>{pe}<label for="{did}">{dl}</label><input id="{did}" name="discount" inputmode="numeric" required value="{discount}"{di}>{de}<button type="submit">{b}</button></form>"#,
        cid = esc(ctr.id.as_str()),
        pool = esc(p.id.as_str()),
        pl = lang.t("新价格（元/卡时）", "New price (¥ per accelerator-hour)"),
        dl = lang.t("伙伴折扣（%）", "Partner discount (%)"),
        b = lang.t("保存价格", "Save the price"),
        pi = kept.invalid(&form, "price", &pid),
        pe = kept.error(&form, "price"),
        di = kept.invalid(&form, "discount", &did),
        de = kept.error(&form, "discount"),
    )
}

/// The binding form: what the centre is bound to, a URL to bind, and unbinding.
pub(super) async fn backend_form(s: &AppState, lang: Lang, ctr: &Centre, kept: &Kept) -> String {
    let bound = s.store.backend_binding(&ctr.id).await.ok().flatten();
    let now = match &bound {
        Some(b) => format!(
            r#"<p id="binding">{}: <code class="user-text">{}</code> · {} {}</p>"#,
            lang.t("已绑定", "Bound to"),
            esc(&b.url),
            lang.t("绑定于", "since"),
            labels::when(Some(b.bound_ms))
        ),
        None => format!(r#"<p id="binding">{}</p>"#, lang.t("未绑定集群后端。", "Bound to no cluster backend.")),
    };
    let unbind = if bound.is_some() {
        format!(
            r#"<form method="post" action="/centres/{}/backend"><input type="hidden" name="action" value="unbind"><button type="submit" class="danger" id="unbind">{}</button>{}</form>"#,
            esc(ctr.id.as_str()),
            lang.t("解除绑定", "Unbind"),
            kept.error("backend", "unbind"),
        )
    } else {
        String::new()
    };
    format!(
        r#"<h2>{h}</h2>{now}<form method="post" action="/centres/{cid}/backend"><input type="hidden" name="action" value="bind"><label for="backend-url">{l}</label><input id="backend-url" name="url" required maxlength="500" placeholder="slurm+http://10.0.0.5:6820?partition=gpu" value="{v}"{inv}>{err}<p><button type="submit" id="bind">{b}</button></p></form>{unbind}"#,
        h = lang.t("集群后端", "Cluster backend"),
        cid = esc(ctr.id.as_str()),
        l = lang.t(
            "后端地址（Slurm 地址，或填 <code>agent</code> 表示由中心代理接入）",
            "Backend address (a Slurm URL, or <code>agent</code> for the centre's agent)"
        ),
        b = lang.t("绑定", "Bind"),
        v = kept.value("backend", "url"),
        inv = kept.invalid("backend", "url", "backend-url"),
        err = kept.error("backend", "url"),
    )
}

/// The operator's partner-status form.
pub(super) fn partner_form(lang: Lang, ctr: &Centre, kept: &Kept) -> String {
    let chosen = if kept.is("partner") { kept.value("partner", "status") } else { ctr.partner_status.as_str().to_string() };
    let mut options = String::new();
    for st in [PartnerStatus::Applicant, PartnerStatus::Partner, PartnerStatus::Suspended] {
        let sel = if st.as_str() == chosen { " selected" } else { "" };
        let _ = write!(options, r#"<option value="{}"{sel}>{}</option>"#, st.as_str(), labels::partner_status(lang, st));
    }
    format!(
        r#"<h2>{h}</h2><form method="post" action="/centres/{cid}/partner-status"><label for="partner-status">{l}</label><select id="partner-status" name="status"{si}>{options}</select>{se}<label for="partner-reason">{r}</label><input id="partner-reason" name="reason" maxlength="500" value="{rv}"{ri}>{re}<p><button type="submit" id="set-partner">{b}</button></p></form>"#,
        h = lang.t("合作伙伴资格", "Partner status"),
        cid = esc(ctr.id.as_str()),
        l = lang.t("资格", "Status"),
        r = lang.t("原因", "Reason"),
        b = lang.t("保存资格", "Save the status"),
        si = kept.invalid("partner", "status", "partner-status"),
        se = kept.error("partner", "status"),
        rv = kept.value("partner", "reason"),
        ri = kept.invalid("partner", "reason", "partner-reason"),
        re = kept.error("partner", "reason"),
    )
}

/// The centre's page again with a refused form's error beside its field; a role that may not use
/// the form gets the error at the top (403).
pub(super) async fn refused(s: &AppState, lang: Lang, c: &Caller, id: &str, e: &crate::error::ApiError, kept: Kept) -> Response {
    let (status, top, kept) = if code_of(e) == suanli_core::ErrorCode::Forbidden {
        (StatusCode::FORBIDDEN, error_notice(lang, e), Kept::default())
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, String::new(), kept)
    };
    let mut r = render_centre(s, lang, c, id, &top, &kept).await;
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

/// `POST /centres/{id}/partner-status` (form): the operator admits, suspends or reinstates a partner.
pub async fn set_partner(
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
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let centre = CentreId::parse(&id)?;
        let status = f
            .get("status")
            .and_then(|x| PartnerStatus::parse(x))
            .ok_or_else(|| crate::error::ApiError::new(suanli_core::ErrorCode::InvalidBody, "status is applicant, partner or suspended"))?;
        let reason = f.get("reason").map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
        if !confirm::confirmed(&body) {
            suanli_app::Partners::may_set_status(&caller)?;
            let ctr = centre_of(&s, &centre).await?;
            return Ok(Some(partner_confirmation(lang, &c, &ctr, status, reason.as_deref().unwrap_or("-"), &body)));
        }
        s.partners.set_status(&caller, &centre, status, reason).await?;
        s.engine.wake();
        Ok::<_, crate::error::ApiError>(None)
    }
    .await;
    match result {
        Ok(Some(ask)) => ask,
        Ok(None) => Redirect::to(&format!("/centres/{}?done=partner", esc(&id))).into_response(),
        Err(e) => refused(&s, lang, &c, &id, &e, Kept::new("partner", &body, "status", field_error(lang, &e, "partner-status"))).await,
    }
}

/// `POST /centres/{id}/backend` (form): binds a centre to a backend (`action=bind`, `url`) or unbinds it.
pub async fn set_backend(
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
    let unbind = f.get("action").is_some_and(|a| a == "unbind");
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let centre = CentreId::parse(&id)?;
        if unbind && !confirm::confirmed(&body) {
            let bound = s.backends.check_unbind(&caller, &centre).await?;
            let ctr = centre_of(&s, &centre).await?;
            return Ok(Some(unbind_confirmation(lang, &c, &ctr, &bound.url, &body)));
        }
        if unbind {
            s.backends.unbind(&caller, &centre).await?;
        } else {
            s.backends.bind(&caller, &centre, f.get("url").map_or("", String::as_str)).await?;
        }
        Ok::<_, crate::error::ApiError>(None)
    }
    .await;
    match result {
        Ok(Some(ask)) => ask,
        Ok(None) => Redirect::to(&format!("/centres/{}?done={}", esc(&id), if unbind { "unbound" } else { "bound" })).into_response(),
        Err(e) => {
            let kept = if unbind {
                Kept::new("backend", "", "unbind", field_error(lang, &e, "unbind"))
            } else {
                Kept::new("backend", &body, "url", field_error(lang, &e, "backend-url"))
            };
            refused(&s, lang, &c, &id, &e, kept).await
        }
    }
}

/// `POST /centres/{id}/pools/{pool}/price` (form): a new price and discount for a pool.
pub async fn set_price(
    State(s): State<AppState>,
    axum::extract::Path((id, pool)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = operate::fields(&body);
    let mut field = "price";
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let pool = PoolId::parse(&pool)?;
        let price = suanli_core::Fen::parse_positive("price", f.get("price").map_or("", String::as_str))?;
        field = "discount";
        let discount = match f.get("discount").map(|d| d.trim()).filter(|d| !d.is_empty()) {
            Some(d) => Some(d.parse::<u8>().map_err(|_| {
                crate::error::ApiError::new(
                    suanli_core::ErrorCode::InvalidAmount,
                    format!("partner discount '{d}' is not a whole percentage"),
                )
            })?),
            None => None,
        };
        field = "price";
        // The service's refusal names the field it is about.
        let at_fault = |e: suanli_store::StoreError, field: &mut &'static str| {
            let e = crate::error::ApiError::from(e);
            if matches!(&e, crate::error::ApiError::Domain(d) if d.message.contains("discount")) {
                *field = "discount";
            }
            e
        };
        if !confirm::confirmed(&body) {
            let (now, discount) =
                s.registry.check_pool_price(&caller, &pool, price, discount).await.map_err(|e| at_fault(e, &mut field))?;
            let ctr = centre_of(&s, &now.centre_id).await?;
            return Ok(Some(price_confirmation(&s, lang, &c, &ctr, &now, (price, discount), &body)));
        }
        s.registry.set_pool_price(&caller, &pool, price, discount).await.map_err(|e| at_fault(e, &mut field))?;
        s.engine.wake();
        Ok::<_, crate::error::ApiError>(None)
    }
    .await;
    match result {
        Ok(Some(ask)) => ask,
        Ok(None) => Redirect::to(&format!("/centres/{}?done=priced", esc(&id))).into_response(),
        Err(e) => {
            let input = format!("{field}-{pool}");
            refused(&s, lang, &c, &id, &e, Kept::new(format!("price-{pool}"), &body, field, field_error(lang, &e, &input))).await
        }
    }
}

/// A centre by its id, or `centre_not_found`.
async fn centre_of(s: &AppState, id: &CentreId) -> Result<Centre, crate::error::ApiError> {
    s.store.centre(id).await?.ok_or_else(|| crate::error::ApiError::new(suanli_core::ErrorCode::CentreNotFound, format!("no centre {id}")))
}

/// The centre's name as a confirmation shows it.
fn centre_fact(lang: Lang, ctr: &Centre) -> (&'static str, String) {
    (lang.t("算力中心", "Centre"), esc(lang.name(&ctr.name, &ctr.name_en)))
}

/// The question before changing a centre's partner status: from what, to what, and why.
fn partner_confirmation(lang: Lang, c: &Caller, ctr: &Centre, to: PartnerStatus, reason: &str, body: &str) -> Response {
    let facts = [
        centre_fact(lang, ctr),
        (lang.t("当前资格", "Status now"), labels::partner_status(lang, ctr.partner_status)),
        (lang.t("改为", "Changed to"), format!(r#"<strong id="confirm-status">{}</strong>"#, labels::partner_status(lang, to))),
        (lang.t("原因", "Reason"), format!(r#"<span class="user-text">{}</span>"#, esc(reason))),
    ];
    confirm::ask(
        lang,
        c,
        &confirm::Ask {
            title: lang.t("确认变更合作伙伴资格？", "Change this centre's partner status?"),
            facts: &facts,
            outcome: lang.t(
                "变更立即生效：调度、伙伴折扣和仅限伙伴中心使用的算力券按新资格执行，并记入该中心的资格历史。",
                "The change takes effect at once: scheduling, the partner discount and partner-only vouchers follow the new status, and it is recorded in the centre's status history.",
            ),
            action: &format!("/centres/{}/partner-status", ctr.id),
            body,
            go: lang.t("确认变更", "Yes, change it"),
            back: &format!("/centres/{}", ctr.id),
        },
    )
}

/// The question before unbinding a centre's backend: what it is bound to.
fn unbind_confirmation(lang: Lang, c: &Caller, ctr: &Centre, url: &str, body: &str) -> Response {
    let facts = [centre_fact(lang, ctr), (lang.t("当前后端", "Bound to"), format!(r#"<code class="user-text">{}</code>"#, esc(url)))];
    confirm::ask(
        lang,
        c,
        &confirm::Ask {
            title: lang.t("确认解除集群后端绑定？", "Unbind this centre's backend?"),
            facts: &facts,
            outcome: lang.t(
                "解除后该中心不再接收作业，直到重新绑定；原来的地址需要重新填写。",
                "The centre takes no more jobs until it is bound again, and its address must be entered again.",
            ),
            action: &format!("/centres/{}/backend", ctr.id),
            body,
            go: lang.t("确认解除绑定", "Yes, unbind it"),
            back: &format!("/centres/{}", ctr.id),
        },
    )
}

/// The question before changing a pool's price: the price and discount now and after.
fn price_confirmation(s: &AppState, lang: Lang, c: &Caller, ctr: &Centre, pool: &Pool, to: (Fen, u8), body: &str) -> Response {
    let per_hour = lang.t("元/卡时", "per accelerator-hour");
    let facts = [
        centre_fact(lang, ctr),
        (lang.t("资源池", "Pool"), labels::accelerator(s, &pool.accelerator)),
        (lang.t("当前价格", "Price now"), format!("{} {per_hour}", lang.fen(pool.price_per_hour))),
        (lang.t("新价格", "New price"), format!(r#"<strong id="confirm-price">{}</strong> {per_hour}"#, lang.fen(to.0))),
        (lang.t("伙伴折扣", "Partner discount"), format!("{}% → {}%", pool.partner_discount_pct, to.1)),
    ];
    confirm::ask(
        lang,
        c,
        &confirm::Ask {
            title: lang.t("确认修改价格？", "Change this pool's price?"),
            facts: &facts,
            outcome: lang.t(
                "新价格从下一轮调度起用于报价、调度和此后的账单；已出的账单保持原价。",
                "Quotes, placements from the next round and bills made from now on use the new price; a bill already made keeps its price.",
            ),
            action: &format!("/centres/{}/pools/{}/price", ctr.id, pool.id),
            body,
            go: lang.t("确认修改价格", "Yes, change the price"),
            back: &format!("/centres/{}", ctr.id),
        },
    )
}
