//! `suanli simulate`: replay a real trace on the demo city or a synthetic one, under Suanli's policy and the baselines.

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;
use suanli_core::catalogue::Catalogue;
use suanli_core::region::Regions;
use suanli_sched::PolicyKind;
use suanli_sim::city::{DemoCity, SimCity};
use suanli_sim::engine::{SimOptions, Workload, prepare, run};
use suanli_sim::gavel::parse_gavel;
use suanli_sim::metrics::{PolicyResult, summarize};
use suanli_sim::report;
use suanli_sim::rng::hash_str;
use suanli_sim::trace::{ReadOptions, TraceFormat, read_trace};

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The trace file (CSV).
    #[arg(long)]
    pub trace: PathBuf,
    /// philly, alibaba-openb, or gavel (Gavel's tab-separated trace; needs --gavel-cluster and --throughputs).
    #[arg(long)]
    pub format: String,
    /// A city file in the demo city's format (default: the built-in demo city).
    #[arg(long)]
    pub city: Option<PathBuf>,
    /// Instead of a city file: a synthetic city of this many centres (3 pools each).
    #[arg(long)]
    pub synthetic_centres: Option<usize>,
    /// Multiply every pool's node count (e.g. 0.1 for a city a tenth the size).
    #[arg(long, default_value_t = 1.0)]
    pub capacity_scale: f64,
    /// Policies to compare: suanli, fifo-firstfit, cheapest-first, fair-agnostic, or all
    /// (with --format gavel: suanli, fifo-perf, fifo, fair-agnostic, or all).
    #[arg(long, default_value = "all")]
    pub policy: String,
    /// Only the first N jobs by arrival.
    #[arg(long)]
    pub jobs: Option<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip (and count) malformed rows and jobs no pool can hold, instead of stopping at the first.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Gavel's throughput matrix: measured per-job-type speeds override the TFLOPS ratio on V100, P100 and K80.
    #[arg(long)]
    pub throughputs: Option<PathBuf>,
    /// Value of an accelerator-hour of completion time in the objective, yuan (default: the scheduler's).
    #[arg(long)]
    pub time_value: Option<f64>,
    /// Carbon price in the objective, yuan per kg (default: the scheduler's).
    #[arg(long)]
    pub carbon_price: Option<f64>,
    /// Gavel's cluster, V100:P100:K80 GPU counts (e.g. 36:36:36); the city is only these servers.
    #[arg(long)]
    pub gavel_cluster: Option<String>,
    /// GPUs per server of each type in --gavel-cluster, V100:P100:K80.
    #[arg(long, default_value = "1:1:1")]
    pub gpus_per_server: String,
    /// With --format gavel: average JCT over jobs with ids from this one (Gavel's -s).
    #[arg(long, default_value_t = 0)]
    pub window_start: u64,
    /// With --format gavel: ... up to this id, exclusive (Gavel's -e); default the last job.
    #[arg(long)]
    pub window_end: Option<u64>,
    /// With --format gavel: length of a round's lease, seconds (Gavel's 360 s rounds).
    #[arg(long, default_value_t = 360.0)]
    pub lease_s: f64,
    /// With --format gavel: checkpoint-restore seconds a job loses when it resumes or moves.
    #[arg(long, default_value_t = 30.0)]
    pub restore_s: f64,
    /// With --format gavel: hours of waiting that double a job's claim in Suanli's policy.
    #[arg(long, default_value_t = 48.0)]
    pub aging_h: f64,
    /// With --format gavel: let waiting jobs take GPUs that fall idle mid-round (Gavel waits for the next round).
    #[arg(long)]
    pub fill_mid_round: bool,
    /// Where the report (report.md, report.json) and its charts (SVG) are written.
    #[arg(long, default_value = "suanli-report")]
    pub report_dir: PathBuf,
}

pub fn simulate(a: SimulateArgs, output: crate::output::Format) -> anyhow::Result<()> {
    use crate::output::Format;
    if a.format.trim() == "gavel" {
        return crate::simulate_gavel::simulate_gavel(a, output);
    }
    if a.gavel_cluster.is_some() {
        bail!("--gavel-cluster goes with --format gavel");
    }
    let format: TraceFormat = a.format.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let policies = policies_to_compare(&a.policy)?;
    let quiet = output == Format::Json;
    let text = std::fs::read_to_string(&a.trace).with_context(|| format!("reading {}", a.trace.display()))?;
    let started = Instant::now();
    let trace = read_trace(&text, format, &ReadOptions { skip_invalid: a.skip_invalid, max_jobs: a.jobs })
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.trace.display()))?;
    let (catalogue, regions) = (Catalogue::builtin(), Regions::builtin());
    let city = load_city(&a, &catalogue, &regions)?;
    let base = sim_options(&a, &catalogue)?;
    let mut work = prepare(&trace, &city, &catalogue, &regions, &base)
        .map_err(|r| anyhow::anyhow!("{}: line {}: {}", a.trace.display(), r.line, r.reason))?;
    assign_job_classes(&mut work, &base, a.seed);
    let capacity = gpu_class_capacity(&city, &catalogue, &base);
    if !quiet {
        eprintln!(
            "{} jobs from {} ({} rows skipped, {} jobs rejected) on {} centres / {} pools ({} GPU-class accelerators)",
            work.jobs.len(),
            a.trace.display(),
            trace.skipped.len(),
            work.rejected.len(),
            city.centres.len(),
            city.pools.len(),
            capacity
        );
    }
    let world = World { city: &city, work: &work, catalogue: &catalogue, regions: &regions, capacity };
    let (results, timings) = run_policies(&world, &base, policies, quiet);
    std::fs::create_dir_all(&a.report_dir).with_context(|| format!("creating {}", a.report_dir.display()))?;
    let mut json = report::json(&results);
    json["trace"] = serde_json::json!({"file": a.trace.file_name().map(|f| f.to_string_lossy().to_string()), "format": format.as_str(), "jobs": work.jobs.len(), "skipped_rows": trace.skipped.len(), "rejected_jobs": work.rejected.len()});
    json["city"] = serde_json::json!({"centres": city.centres.len(), "pools": city.pools.len(), "gpu_class_accelerators": capacity, "capacity_scale": a.capacity_scale});
    json["timings"] = serde_json::Value::Object(timings);
    json["wall_seconds"] = serde_json::json!(started.elapsed().as_secs_f64());
    write_report(&a, &world, &results, &json)?;
    print_results(&a, output, &results, &json)
}

/// Which policies the run compares: every one for "all", else the comma-separated names.
fn policies_to_compare(policy: &str) -> anyhow::Result<Vec<PolicyKind>> {
    if policy == "all" {
        return Ok(PolicyKind::ALL.to_vec());
    }
    policy
        .split(',')
        .map(|p| {
            PolicyKind::parse(p.trim())
                .with_context(|| format!("unknown policy '{p}' (suanli, fifo-firstfit, cheapest-first, fair-agnostic, all)"))
        })
        .collect()
}

/// The city to simulate: a city file, a synthetic city, or the built-in demo city, scaled.
fn load_city(a: &SimulateArgs, catalogue: &Catalogue, regions: &Regions) -> anyhow::Result<SimCity> {
    Ok(match (&a.city, a.synthetic_centres) {
        (Some(_), Some(_)) => bail!("give either --city or --synthetic-centres, not both"),
        (Some(path), None) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let demo = DemoCity::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            SimCity::from_demo(&demo, catalogue, regions, a.capacity_scale).map_err(|e| anyhow::anyhow!(e))?
        }
        (None, Some(n)) => {
            let mut c = SimCity::synthetic(n, 3, a.seed, catalogue, regions);
            for p in &mut c.pools {
                p.nodes = ((p.nodes as f64 * a.capacity_scale).round() as u32).max(1);
            }
            c
        }
        (None, None) => SimCity::from_demo(&DemoCity::builtin(), catalogue, regions, a.capacity_scale).map_err(|e| anyhow::anyhow!(e))?,
    })
}

/// The options every policy's run shares: the objective's prices and any measured speeds.
fn sim_options(a: &SimulateArgs, catalogue: &Catalogue) -> anyhow::Result<SimOptions> {
    let mut base = SimOptions::new(PolicyKind::Suanli, catalogue);
    base.skip_invalid = a.skip_invalid;
    if let Some(v) = a.time_value {
        base.sched.time_value_yuan_per_accel_hour = v;
    }
    if let Some(v) = a.carbon_price {
        base.sched.carbon_price_yuan_per_kg = v;
    }
    if let Some(path) = &a.throughputs {
        apply_throughputs(path, catalogue, &mut base)?;
    }
    Ok(base)
}

/// Sets each job type's speed on V100, P100 and K80 from Gavel's throughput matrix,
/// relative to the V100's speed in the catalogue.
fn apply_throughputs(path: &Path, catalogue: &Catalogue, base: &mut SimOptions) -> anyhow::Result<()> {
    let t = parse_gavel(&std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let v100 = catalogue.get("v100-32g").map_or(0.4, |acc| base.speeds.speed(None, acc));
    for job_type in t.job_types() {
        for (worker, models) in [("v100", &["v100-16g", "v100-32g"][..]), ("p100", &["p100"][..]), ("k80", &["k80"][..])] {
            if let Some(rel) = t.relative_speed(job_type, worker, "v100") {
                for m in models {
                    base.speeds.set_override(job_type, m, rel * v100);
                }
            }
        }
    }
    Ok(())
}

/// Gives each trace job a measured job type, when there are any, chosen by a stable hash of
/// its id and the seed.
fn assign_job_classes(work: &mut Workload, base: &SimOptions, seed: u64) {
    let classes: Vec<String> = base.speeds.job_classes().map(str::to_string).collect();
    if classes.is_empty() {
        return;
    }
    for j in &mut work.jobs {
        j.spec.job_class = Some(classes[(hash_str(j.id.as_str()) ^ seed) as usize % classes.len()].clone());
    }
}

/// How many GPU-class accelerators the city's partner centres hold.
fn gpu_class_capacity(city: &SimCity, catalogue: &Catalogue, base: &SimOptions) -> u64 {
    city.pools
        .iter()
        .filter(|p| catalogue.get(&p.accelerator).is_some_and(|acc| acc.fp16_tflops >= base.min_fp16_tflops))
        .filter(|p| city.centres.iter().any(|c| c.id == p.centre_id && c.partner_status == suanli_core::centre::PartnerStatus::Partner))
        .map(|p| p.capacity() as u64)
        .sum::<u64>()
}

/// What every policy's run is replayed on.
struct World<'a> {
    city: &'a SimCity,
    work: &'a Workload,
    catalogue: &'a Catalogue,
    regions: &'a Regions,
    /// GPU-class accelerators in partner centres.
    capacity: u64,
}

/// Runs the trace under each policy, with a progress bar unless quiet, and answers each
/// policy's summary and its timings.
fn run_policies(
    world: &World<'_>,
    base: &SimOptions,
    policies: Vec<PolicyKind>,
    quiet: bool,
) -> (Vec<PolicyResult>, serde_json::Map<String, serde_json::Value>) {
    let mut results: Vec<PolicyResult> = Vec::new();
    let mut timings = serde_json::Map::new();
    for policy in policies {
        let opts = SimOptions { policy, ..base.clone() };
        let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(world.work.jobs.len() as u64) };
        bar.set_style(
            ProgressStyle::with_template("{prefix:>15} [{bar:40}] {pos}/{len} jobs done ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(policy.as_str());
        let t0 = Instant::now();
        let out = run(world.city, world.work, world.catalogue, world.regions, &opts, &mut |done, _| bar.set_position(done as u64));
        bar.finish();
        let secs = t0.elapsed().as_secs_f64();
        timings.insert(
            policy.as_str().into(),
            serde_json::json!({"seconds": secs, "rounds": out.rounds, "estimates": out.evaluated, "preemptions": out.preemptions}),
        );
        results.push(summarize(policy.as_str(), &out.outcomes, world.capacity));
    }
    (results, timings)
}

/// Writes report.md, report.json and the charts into the report directory.
fn write_report(a: &SimulateArgs, world: &World<'_>, results: &[PolicyResult], json: &serde_json::Value) -> anyhow::Result<()> {
    let md = format!(
        "# Simulation: {} ({} jobs)\n\nCity: {} centres, {} pools, {} GPU-class accelerators (capacity scale {}).\n\n{}\n\n![JCT CDF](jct-cdf.svg)\n![Cost](cost.svg)\n![Carbon](carbon.svg)\n![Average JCT](avg-jct.svg)\n",
        a.trace.display(),
        world.work.jobs.len(),
        world.city.centres.len(),
        world.city.pools.len(),
        world.capacity,
        a.capacity_scale,
        report::markdown_table(results)
    );
    std::fs::write(a.report_dir.join("report.md"), &md)?;
    std::fs::write(a.report_dir.join("report.json"), serde_json::to_string_pretty(json)?)?;
    for (name, svg) in report::charts(results) {
        std::fs::write(a.report_dir.join(name), svg)?;
    }
    Ok(())
}

/// Prints the comparison in the asked format.
fn print_results(
    a: &SimulateArgs,
    output: crate::output::Format,
    results: &[PolicyResult],
    json: &serde_json::Value,
) -> anyhow::Result<()> {
    use crate::output::Format;
    match output {
        Format::Json => println!("{}", serde_json::to_string_pretty(json)?),
        Format::Markdown => println!("{}", report::markdown_table(results)),
        Format::Table | Format::Csv => {
            println!("{}", report::text_table(results));
            println!("report and charts: {}", a.report_dir.display());
        }
    }
    Ok(())
}
