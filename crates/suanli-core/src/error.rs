//! The one error table: every user-facing error has a stable snake_case code, an HTTP status and a title in English and in Chinese.
//!
//! Edge crates turn an [`Error`] into an `application/problem+json` body (RFC 9457)
//! whose `code` member is [`ErrorCode::as_str`]. Codes are part of the public API:
//! never rename one, only add.

use std::fmt;

macro_rules! error_table {
    ($( $variant:ident => ($code:literal, $status:literal, $title:literal, $title_zh:literal), )*) => {
        /// A stable, machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum ErrorCode { $( $variant, )* }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The snake_case code clients match on.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )* }
            }

            /// The HTTP status this error is answered with.
            pub fn http_status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )* }
            }

            /// A short, human title (the problem's `title`).
            pub fn title(self) -> &'static str {
                match self { $( ErrorCode::$variant => $title, )* }
            }

            /// The title in Chinese, for the web UI's Chinese pages.
            pub fn title_zh(self) -> &'static str {
                match self { $( ErrorCode::$variant => $title_zh, )* }
            }
        }
    };
}

error_table! {
    // Request shape.
    MalformedJson => ("malformed_json", 400, "The request body is not valid JSON", "请求内容不是有效的 JSON"),
    UnknownField => ("unknown_field", 400, "The request body has a field this endpoint does not accept", "请求包含此接口不接受的字段"),
    InvalidBody => ("invalid_body", 422, "The request body does not match the expected schema", "请求内容不符合要求"),
    InvalidQuery => ("invalid_query", 400, "A query parameter is invalid", "查询参数无效"),
    UnsupportedMediaType => ("unsupported_media_type", 415, "The request body must be application/json", "请求内容类型不受支持"),
    AgentProtocolUnsupported => ("agent_protocol_unsupported", 400, "The agent speaks a protocol version this platform does not", "代理程序的协议版本不受本平台支持"),
    // Field validation.
    InvalidId => ("invalid_id", 400, "An identifier is malformed", "编号格式不正确"),
    InvalidAmount => ("invalid_amount", 422, "An amount of money is invalid", "金额无效"),
    InvalidCount => ("invalid_count", 422, "A count must be a positive whole number within limits", "数量须为范围内的正整数"),
    InvalidIdempotencyKey => ("invalid_idempotency_key", 400, "An Idempotency-Key must be 1 to 200 visible ASCII characters", "幂等键须为 1 至 200 个可见 ASCII 字符"),
    IdempotencyKeyReused => ("idempotency_key_reused", 422, "This Idempotency-Key was used for a different request", "该幂等键已用于另一个不同的请求"),
    InvalidName => ("invalid_name", 422, "A name is empty or too long", "名称为空或过长"),
    InvalidUscc => ("invalid_uscc", 422, "The unified social credit code is invalid", "统一社会信用代码无效"),
    InvalidRegion => ("invalid_region", 422, "The region is not known", "地区未知"),
    InvalidDate => ("invalid_date", 422, "A date is invalid", "日期无效"),
    InvalidPue => ("invalid_pue", 422, "A PUE value must be at least 1.0 and at most 4.0", "PUE 须在 1.0 到 4.0 之间"),
    InvalidDuration => ("invalid_duration", 422, "A duration must be positive and at most one year", "时长须为正且不超过一年"),
    InvalidPriority => ("invalid_priority", 422, "Priority must be between 0 and 9", "优先级须在 0 到 9 之间"),
    InvalidRequirement => ("invalid_requirement", 422, "The job's accelerator requirement is inconsistent", "加速卡要求前后矛盾"),
    UnknownAccelerator => ("unknown_accelerator", 422, "The accelerator model is not in the catalogue", "加速卡型号不在目录中"),
    UnknownProvider => ("unknown_provider", 422, "The provider is not known", "算力提供方未知"),
    DuplicateUscc => ("duplicate_uscc", 409, "A tenant with this unified social credit code already exists", "该统一社会信用代码的企业已存在"),
    // Jobs.
    JobUnsatisfiable => ("job_unsatisfiable", 422, "No pool in the city could ever run this job", "全市没有任何资源池能运行此作业"),
    UnfundedJobsLimit => ("unfunded_jobs_limit", 409, "The tenant has as many jobs waiting for funds as it may", "等待资金的作业已达上限"),
    BatchRefused => ("batch_refused", 422, "Some specs of an all-or-nothing batch were refused, so none was stored", "批量提交中有作业被拒，全部未保存"),
    IllegalTransition => ("illegal_transition", 409, "The job cannot move to that state from its current state", "作业当前状态不能进行此操作"),
    // Auth.
    Unauthenticated => ("unauthenticated", 401, "A valid bearer token is required", "需要有效的访问令牌"),
    Forbidden => ("forbidden", 403, "Your role may not do this", "您的角色无权进行此操作"),
    // Lookups.
    NotFound => ("not_found", 404, "No such resource", "资源不存在"),
    CentreNotFound => ("centre_not_found", 404, "No such compute centre", "算力中心不存在"),
    PoolNotFound => ("pool_not_found", 404, "No such resource pool", "资源池不存在"),
    TenantNotFound => ("tenant_not_found", 404, "No such tenant", "企业不存在"),
    JobNotFound => ("job_not_found", 404, "No such job", "作业不存在"),
    MethodNotAllowed => ("method_not_allowed", 405, "This method is not allowed on this path", "此地址不支持该请求方法"),
    // Ledger: accounts and transfers.
    InvalidAccountId => ("invalid_account_id", 400, "An account id must be 1 to 32 hex digits and not zero", "账户编号无效"),
    InvalidAccount => ("invalid_account", 422, "The account definition is invalid", "账户定义无效"),
    AccountExistsDiffers => ("account_exists_differs", 409, "An account with this id exists with a different definition", "同编号账户已存在且定义不同"),
    InvalidTransferId => ("invalid_transfer_id", 400, "A transfer id must be 1 to 32 hex digits, not zero, without the top bit", "转账编号无效"),
    DuplicateTransferDiffers => ("duplicate_transfer_differs", 409, "A transfer with this id exists with a different body", "同编号转账已存在且内容不同"),
    SameAccount => ("same_account", 422, "A transfer must debit and credit two different accounts", "转账的借方和贷方须为不同账户"),
    ZeroAmount => ("zero_amount", 422, "The amount must be positive, not zero", "金额须大于零"),
    NegativeAmount => ("negative_amount", 422, "The amount must be positive, not negative", "金额不能为负"),
    AmountOutOfRange => ("amount_out_of_range", 422, "The amount is beyond what the ledger holds (an i64 of fen)", "金额超出账本可记范围"),
    UnknownAccount => ("unknown_account", 422, "The transfer names an account that does not exist", "转账涉及的账户不存在"),
    CurrencyMismatch => ("currency_mismatch", 422, "The debit and credit accounts hold different currencies", "借贷账户币种不同"),
    InvalidTimeout => ("invalid_timeout", 422, "A pending transfer's timeout must be positive", "预留转账的时限须为正"),
    PendingNotFound => ("pending_not_found", 422, "The pending transfer to post or void does not exist", "要确认或撤销的预留转账不存在"),
    NotPending => ("not_pending", 409, "The transfer to post or void is not a pending transfer", "该转账不是预留转账"),
    PendingDiffers => ("pending_differs", 422, "A post or void must repeat its pending transfer's accounts and amount", "确认或撤销须与预留转账的账户和金额一致"),
    AlreadyPosted => ("already_posted", 409, "The pending transfer was already posted", "预留转账已确认"),
    AlreadyVoided => ("already_voided", 409, "The pending transfer was already voided", "预留转账已撤销"),
    PendingExpired => ("pending_expired", 409, "The pending transfer has expired", "预留转账已过期"),
    ExceedsPending => ("exceeds_pending", 422, "A post may not exceed its pending amount", "确认金额不能超过预留金额"),
    InsufficientFunds => ("insufficient_funds", 409, "The account does not hold enough to pay this", "账户余额不足"),
    CreditsExceedDebits => ("credits_exceed_debits", 409, "The account may not be credited beyond its debits", "账户贷方不能超过借方"),
    LinkedFailed => ("linked_failed", 409, "Another transfer in the linked batch failed, so none was applied", "关联批次中有转账失败，全部未执行"),
    // Vouchers, bills and settlement.
    ProgrammeNotFound => ("programme_not_found", 404, "No such voucher programme", "算力券计划不存在"),
    ProgrammeExists => ("programme_exists", 409, "A voucher programme for this year already exists", "该年度的算力券计划已存在"),
    ProgrammeClosed => ("programme_closed", 409, "The programme (vouchers or an incentive) is closed or outside its window", "该计划（算力券或奖补）已关闭或不在申报期内"),
    InvalidRatio => ("invalid_ratio", 422, "A subsidy ratio must be between 0% and 100%", "补贴比例须在 0% 到 100% 之间"),
    NotEligible => ("not_eligible", 422, "The enterprise is not eligible for this voucher programme", "该企业不符合本算力券计划的申请条件"),
    ApplicationNotFound => ("application_not_found", 404, "No such voucher application", "算力券申请不存在"),
    ApplicationDecided => ("application_decided", 409, "The voucher application was already decided", "该算力券申请已处理"),
    BudgetExceeded => ("budget_exceeded", 409, "The voucher programme's budget does not cover this amount", "算力券计划预算不足"),
    CapExceeded => ("cap_exceeded", 409, "The amount would take the applicant beyond the programme's cap", "金额将超过计划对申请主体的上限"),
    BillExists => ("bill_exists", 409, "This job already has a bill", "该作业已出账"),
    BillNotFound => ("bill_not_found", 404, "No such bill", "账单不存在"),
    ProviderNotFound => ("provider_not_found", 404, "No such compute provider", "算力提供方不存在"),
    NothingToSettle => ("nothing_to_settle", 409, "The provider has no unsettled bills in this period", "该期间没有待结算账单"),
    SettlementChanged => ("settlement_changed", 409, "What the settlement would pay changed since it was shown for confirmation", "结算金额已变化，请重新确认"),
    InvalidPeriod => ("invalid_period", 422, "The period must start before it ends", "期间的开始须早于结束"),
    LedgerViolation => ("ledger_violation", 500, "The ledger failed verification", "账本校验未通过"),
    // Backends of centres.
    InvalidBackend => ("invalid_backend", 422, "The backend URL is not one Suanli can reach a cluster through", "集群后端地址无效"),
    CentreBusy => ("centre_busy", 409, "The centre has jobs placed or running on its backend", "该中心仍有作业在运行"),
    UsageReportRefused => ("usage_report_refused", 422, "A centre's usage report contradicts itself or what the platform knows", "中心的用量报告自相矛盾，已拒绝"),
    // Models as a service.
    InvalidModel => ("invalid_model", 422, "The model, deployment or key definition is invalid", "模型、部署或密钥定义无效"),
    ModelNotFound => ("model_not_found", 404, "No such model, or the key may not see it", "模型不存在"),
    ModelExists => ("model_exists", 409, "A model with this name is already registered", "同名模型已登记"),
    ModelKeyNotFound => ("model_key_not_found", 404, "No such model key", "模型密钥不存在"),
    ModelKeyRevoked => ("model_key_revoked", 409, "The model key is already revoked", "该模型密钥已吊销"),
    RateLimited => ("rate_limited", 429, "The key's requests or tokens per minute are used up; retry after Retry-After", "已达到每分钟请求数或令牌数上限，请稍后重试"),
    InsufficientQuota => ("insufficient_quota", 429, "The key's budget or the tenant's balance does not cover this call", "密钥预算或账户余额不足以支付本次调用"),
    ContextLengthExceeded => ("context_length_exceeded", 400, "The prompt and max_tokens exceed the model's context", "提示与最大输出超出模型上下文长度"),
    NoDeployment => ("no_deployment", 503, "No deployment of the model can take the call now (down, busy or outside the key's regions)", "该模型暂无可用部署（故障、繁忙或不在允许地区）"),
    UpstreamError => ("upstream_error", 502, "The model's upstream failed or answered something that is not a valid response", "模型上游服务出错或返回无效响应"),
    UpstreamTimeout => ("upstream_timeout", 504, "The model's upstream did not answer in time", "模型上游服务超时"),
    // Data sharing.
    InvalidDataSet => ("invalid_data_set", 422, "The data set's definition is invalid", "数据集定义无效"),
    DataSetNotFound => ("data_set_not_found", 404, "No such data set", "数据集不存在"),
    DataSetExists => ("data_set_exists", 409, "A data set with this name is already registered", "同名数据集已登记"),
    SupplierNotAdmitted => ("supplier_not_admitted", 403, "The provider is not an admitted data-sharing supplier for this domain", "该机构不是本领域已遴选的数据开放共享供应商"),
    MalformedData => ("malformed_data", 422, "The data cannot be read: a row is malformed, binary or wrongly encoded (see the line numbers)", "数据无法读取：存在格式错误、二进制或编码错误的行（见行号）"),
    NotDeliverable => ("not_deliverable", 409, "The data set is not open, or its grade forbids this delivery", "该数据集不开放，或其分级不允许此交付"),
    InvalidDataPolicy => ("invalid_data_policy", 422, "The de-identification policy is invalid (it would keep a person's identifier, or does not fit its grade and opening)", "脱敏策略无效（会保留个人标识，或与分级和开放方式不符）"),
    InvalidDataRequest => ("invalid_data_request", 422, "The data request is invalid (fields, purpose or period)", "数据申请无效（字段、用途或期限）"),
    DataRequestNotFound => ("data_request_not_found", 404, "No such data request", "数据申请不存在"),
    DataRequestDecided => ("data_request_decided", 409, "The data request is not awaiting this decision", "该数据申请不在待此审批的状态"),
    DeliveryNotFound => ("delivery_not_found", 404, "No such delivery", "交付不存在"),
    LinkExpired => ("link_expired", 410, "The download link has expired or is unknown; make a new one", "下载链接已过期或无效，请重新生成"),
    // Incentive programmes.
    InvalidProgramme => ("invalid_programme", 422, "The incentive programme's definition is invalid", "奖补项目定义无效"),
    IncentiveProgrammeNotFound => ("incentive_programme_not_found", 404, "No such incentive programme", "奖补项目不存在"),
    MissingEvidence => ("missing_evidence", 422, "The application lacks evidence the programme requires", "申请缺少项目要求的证明材料"),
    DuplicateApplication => ("duplicate_application", 409, "This subject already has an application under this programme", "该主体已在本项目下提出申请"),
    ConflictOfInterest => ("conflict_of_interest", 409, "The expert may not score this application (own company, or scored already)", "专家与申请存在利益冲突或已评分"),
    AlreadyAssigned => ("already_assigned", 409, "The expert is already assigned to this application", "该专家已被分配评审此申请"),
    ExpertNotFound => ("expert_not_found", 404, "No such expert in the review pool", "专家库中没有该专家"),
    InvalidReview => ("invalid_review", 422, "The review's scores do not match the programme's criteria (0 to 100 each)", "评分与项目评审标准不符（每项 0 到 100）"),
    IncentiveApplicationNotFound => ("incentive_application_not_found", 404, "No such incentive application", "奖补申请不存在"),
    InvalidVolumeYear => ("invalid_volume_year", 422, "The year an application is judged on must be a completed calendar year: the last one, or the one before", "申报所依据的年度须为已结束的自然年度（上一年度或前一年度）"),
    WrongStage => ("wrong_stage", 409, "The application or programme is not at the stage this step needs", "申请或项目不在此步骤所需的阶段"),
    // Partner selection: what is declared of a centre.
    InvalidCriteria => ("invalid_criteria", 422, "The partner criteria are invalid: the weights must add up to 100 and each number be within its range", "算力伙伴评分标准无效：各项权重之和须为 100，各数值须在允许范围内"),
    InvalidCertification => ("invalid_certification", 422, "The certification is invalid (its kind, issuer or number)", "认证信息无效（类型、发证机构或证书编号）"),
    CertificationExpired => ("certification_expired", 422, "The certification's expiry date has passed", "认证已过有效期"),
    InvalidShare => ("invalid_share", 422, "A share must be between 0% and 100%", "占比须在 0% 到 100% 之间"),
    InvalidSha256 => ("invalid_sha256", 422, "A document's SHA-256 must be 64 hexadecimal digits", "文件的 SHA-256 须为 64 位十六进制数"),
    // Server side.
    PayloadTooLarge => ("payload_too_large", 413, "The request body is larger than this endpoint accepts", "请求内容过大"),
    IngestBusy => ("ingest_busy", 429, "The energy writer's queue is full; send the batch again after Retry-After", "能耗写入队列已满，请稍后重试"),
    Unavailable => ("unavailable", 503, "The service is temporarily unavailable", "服务暂时不可用"),
    NotLeader => ("not_leader", 503, "This replica is not the leader; send writes to the leader (see /healthz) or retry after Retry-After", "本副本不是主副本，请将写请求发往主副本（见 /healthz）或稍后重试"),
    Internal => ("internal", 500, "An internal error occurred", "内部错误"),
    // Energy telemetry.
    DataCentreNotFound => ("data_centre_not_found", 404, "No such data centre in the energy registry", "能耗登记中没有该数据中心"),
    MeterNotFound => ("meter_not_found", 404, "No such meter in the data centre", "该数据中心没有此电表"),
    InvalidDataCentre => ("invalid_data_centre", 422, "The data centre's energy registration is invalid", "数据中心能耗登记无效"),
    InvalidMeter => ("invalid_meter", 422, "The meter definition is invalid", "电表定义无效"),
    MeterExists => ("meter_exists", 409, "A meter with this id is already registered with a different kind", "同编号电表已存在且类型不同"),
    ReadingNotFinite => ("reading_not_finite", 422, "A meter reading must be a finite number", "读数须为有限数值"),
    ReadingNegative => ("reading_negative", 422, "A meter reading may not be negative", "读数不能为负"),
    ReadingUnitMismatch => ("reading_unit_mismatch", 422, "The reading's unit does not match the meter", "读数单位与电表不符"),
    ReadingTimeImplausible => ("reading_time_implausible", 422, "The reading's timestamp is before 2000 or in the future", "读数时间早于 2000 年或在未来"),
    PowerOverCapacity => ("power_over_capacity", 422, "The reading implies more power than the data centre's rated capacity", "读数推算的功率超过额定容量"),
    CounterDecrease => ("counter_decrease", 422, "A cumulative counter went down without a plausible reset", "累计读数在无合理重置时下降"),
    ReadingConflict => ("reading_conflict", 409, "A different reading for this meter and time was already accepted", "该时刻已有不同读数"),
    ReadingTooOld => ("reading_too_old", 409, "The reading is older than the meter's reorder window", "读数早于电表的乱序窗口"),
    InvalidWindow => ("invalid_window", 422, "The time window must start before it ends", "时间窗口的开始须早于结束"),
    MalformedPayload => ("malformed_payload", 400, "The request body cannot be decoded (e.g. not snappy-compressed protobuf)", "请求内容无法解码"),
    InvalidEnergyConfig => ("invalid_energy_config", 422, "The energy configuration is invalid", "能耗配置无效"),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A domain error: a code from the table and a message a person understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({code})")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }
}

/// Shorthand for results of domain operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case_with_error_statuses() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            let snake = s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            assert!(snake, "{s} is not snake_case");
            assert!((400..600).contains(&code.http_status()), "{s} has status {}", code.http_status());
            assert!(!code.title().is_empty());
            assert!(code.title_zh().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{s} has no Chinese title");
        }
    }
}
