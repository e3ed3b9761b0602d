//! `"workload": {"trace": {…}}` checked field by field into a [`TraceSpec`].

use std::path::Path;

use fulcrum_sim_core::dist::Dist;
use fulcrum_strategies::{NodeSpec, Resource, ResourceUnits};

use super::generic::{Column, Columns};
use super::{azure, google, BadLines, LoadScale, ReaderOptions, TraceFormat, TraceSpec};
use crate::raw::{RawColumn, RawMachines, RawNodeGroup, RawTrace};
use crate::validate::{Checker, MAX_DURATION_S, MAX_UNITS};

/// Largest `load_scale`.
pub const MAX_LOAD_SCALE: f64 = 1000.0;

/// The spec of `raw` (at field path `p`), or `None` with the problems pushed to `c`. Paths are
/// relative to `base_dir`; defaults that depend on the cluster (a normalised unit is the largest
/// node) come from `nodes`.
pub(crate) fn spec(
    c: &mut Checker,
    p: &str,
    raw: &RawTrace,
    base_dir: Option<&Path>,
    nodes: &[NodeSpec],
) -> Option<TraceSpec> {
    let before = c.problems.len();
    let format = TraceFormat::parse(&raw.format);
    if format.is_none() {
        c.push(
            format!("{p}.format"),
            format!("unknown trace format {:?}, expected one of {}", raw.format, TraceFormat::names()),
        );
    }
    let only = |c: &mut Checker, set: bool, field: &str, formats: &[TraceFormat]| {
        if set && format.is_some_and(|f| !formats.contains(&f)) {
            let names: Vec<String> = formats.iter().map(|f| format!("{:?}", f.name())).collect();
            c.push(format!("{p}.{field}"), format!("only applies to format {}", names.join(" or ")));
        }
    };
    only(c, raw.lookahead_s.is_some(), "lookahead_s", &[TraceFormat::Google2011]);
    only(c, raw.instances.is_some(), "instances", &[TraceFormat::Alibaba2017, TraceFormat::Alibaba2018]);
    for (set, field) in [
        (raw.per_request_s.is_some(), "per_request_s"),
        (raw.per_context_token_s.is_some(), "per_context_token_s"),
        (raw.per_generated_token_s.is_some(), "per_generated_token_s"),
    ] {
        only(c, set, field, &[TraceFormat::AzureLlm]);
    }
    only(c, raw.columns.is_some(), "columns", &[TraceFormat::Csv]);
    if format == Some(TraceFormat::Csv) && raw.columns.is_none() {
        c.push(
            format!("{p}.columns"),
            "a csv trace needs a column mapping, e.g. {\"time\": \"submit_s\", \"work\": \"run_s\"}",
        );
    }

    let time_scale = raw.time_scale.unwrap_or(1.0);
    c.positive(&format!("{p}.time_scale"), time_scale, 1e6);
    let load = match (raw.load_scale, raw.target_utilization) {
        (Some(_), Some(_)) => {
            c.push(format!("{p}.target_utilization"), "give load_scale or target_utilization, not both");
            LoadScale::Factor(1.0)
        }
        (Some(k), None) => {
            c.positive(&format!("{p}.load_scale"), k, MAX_LOAD_SCALE);
            LoadScale::Factor(k)
        }
        (None, Some(u)) => {
            c.positive(&format!("{p}.target_utilization"), u, 10.0);
            LoadScale::TargetUtilization(u)
        }
        (None, None) => LoadScale::Factor(1.0),
    };
    if let Some(s) = raw.start_s {
        c.range(&format!("{p}.start_s"), s, -1e12, false, 1e12);
    }
    if raw.limit == Some(0) {
        c.push(format!("{p}.limit"), "must be at least 1, got 0");
    }
    let bad_lines = match raw.on_bad_line.as_deref() {
        None => BadLines::Error,
        Some(s) => BadLines::parse(s).unwrap_or_else(|| {
            c.push(format!("{p}.on_bad_line"), format!("must be \"error\" or \"skip\", got {s:?}"));
            BadLines::Error
        }),
    };
    let expand_instances = match raw.instances.as_deref() {
        None | Some("expand") => true,
        Some("one") => false,
        Some(other) => {
            c.push(format!("{p}.instances"), format!("must be \"expand\" or \"one\", got {other:?}"));
            true
        }
    };
    let lookahead_s = raw.lookahead_s.unwrap_or(google::DEFAULT_LOOKAHEAD_S);
    c.positive(&format!("{p}.lookahead_s"), lookahead_s, MAX_DURATION_S);
    let default_cost = azure::TokenCost::default();
    let token_cost = azure::TokenCost {
        per_request_s: raw.per_request_s.unwrap_or(default_cost.per_request_s),
        per_context_token_s: raw.per_context_token_s.unwrap_or(default_cost.per_context_token_s),
        per_generated_token_s: raw.per_generated_token_s.unwrap_or(default_cost.per_generated_token_s),
    };
    for (v, field) in [
        (token_cost.per_request_s, "per_request_s"),
        (token_cost.per_context_token_s, "per_context_token_s"),
        (token_cost.per_generated_token_s, "per_generated_token_s"),
    ] {
        c.range(&format!("{p}.{field}"), v, 0.0, false, 1e6);
    }
    let columns = match &raw.columns {
        Some(rc) => columns(c, &format!("{p}.columns"), rc),
        None => Columns::default(),
    };

    let largest = |r: Resource| nodes.iter().map(|n| n.capacity.units(r)).fold(0.0, f64::max);
    let (cores, memory) = (largest(Resource::Cpu), largest(Resource::Memory));
    let (cpu_default, memory_default) = match format.unwrap_or(TraceFormat::Csv) {
        TraceFormat::Swf => (1.0, 1e-6),
        TraceFormat::Google2011 => (cores, memory),
        TraceFormat::Alibaba2017 => (0.01, memory),
        TraceFormat::Alibaba2018 => (0.01, memory / 100.0),
        TraceFormat::AzureLlm | TraceFormat::Csv => (1.0, 1.0),
    };
    let cpu_cores_per_unit = raw.cpu_cores_per_unit.unwrap_or(cpu_default);
    c.positive(&format!("{p}.cpu_cores_per_unit"), cpu_cores_per_unit, MAX_UNITS);
    // Without an explicit mapping, memory is simulated only if the cluster has some.
    let memory_gb_per_unit = raw.memory_gb_per_unit.unwrap_or(if memory > 0.0 { memory_default } else { 0.0 });
    c.range(&format!("{p}.memory_gb_per_unit"), memory_gb_per_unit, 0.0, false, MAX_UNITS);

    let default_work = match &raw.default_work_s {
        Some(d) => c.dist(&format!("{p}.default_work_s"), d, true),
        None => Dist::Exp { mean: 60.0 },
    };
    let default_demand = raw.default_demand.unwrap_or(ResourceUnits { cpu_cores: 1.0, ..ResourceUnits::default() });
    for (r, v) in Resource::ALL.iter().zip(default_demand.to_array()) {
        c.range(&format!("{p}.default_demand.{}", r.name()), v, 0.0, false, MAX_UNITS);
    }

    let path = match base_dir {
        Some(base) => Some(base.join(&raw.path)),
        None => {
            c.push(format!("{p}.path"), "a trace file needs a scenario read from disk (paths are relative to it)");
            None
        }
    };
    if let Some(path) = &path {
        if !path.is_file() {
            c.push(format!("{p}.path"), format!("no such file: {}", path.display()));
        }
    }
    let format = format?;
    let path = path?;
    if c.problems.len() > before {
        return None;
    }
    Some(TraceSpec {
        format,
        name: path.display().to_string(),
        path,
        reader: ReaderOptions { bad_lines, lookahead_s, expand_instances, token_cost, columns },
        time_scale,
        load,
        start_s: raw.start_s,
        limit: raw.limit,
        sort: raw.sort.unwrap_or(!format.sorted_as_shipped()),
        cpu_cores_per_unit,
        memory_gb_per_unit,
        default_work,
        default_demand,
        attribution: raw.attribution.clone(),
    })
}

fn column(c: &RawColumn) -> Column {
    match c {
        RawColumn::Index(i) => Column::Index(*i as usize),
        RawColumn::Name(n) => Column::Name(n.clone()),
    }
}

fn columns(c: &mut Checker, p: &str, raw: &crate::raw::RawColumns) -> Columns {
    let delimiter = match raw.delimiter.as_deref() {
        None => b',',
        Some(d) if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
        Some("\\t") => b'\t',
        Some(d) => {
            c.push(format!("{p}.delimiter"), format!("must be one ASCII character, got {d:?}"));
            b','
        }
    };
    let time_unit_s = match raw.time_unit.as_deref().unwrap_or("s") {
        "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        "ns" => 1e-9,
        other => {
            c.push(format!("{p}.time_unit"), format!("must be \"s\", \"ms\", \"us\" or \"ns\", got {other:?}"));
            1.0
        }
    };
    if raw.work.is_some() && raw.end.is_some() {
        c.push(format!("{p}.end"), "give work or end, not both");
    }
    Columns {
        time: column(&raw.time),
        work: raw.work.as_ref().map(column),
        end: raw.end.as_ref().map(column),
        cpu: raw.cpu.as_ref().map(column),
        memory: raw.memory.as_ref().map(column),
        priority: raw.priority.as_ref().map(column),
        header: raw.header.unwrap_or(true),
        delimiter,
        time_unit_s,
    }
}

/// A node group made from a trace's machines.
pub(crate) struct MachineNodes {
    pub(crate) name: String,
    pub(crate) count: u32,
    pub(crate) spec: NodeSpec,
}

/// The node groups of `cluster.machines` (at field path `p`), or none with the problems pushed.
pub(crate) fn machines(
    c: &mut Checker,
    p: &str,
    raw: &RawMachines,
    base_dir: Option<&Path>,
    declared: &[RawNodeGroup],
) -> Vec<MachineNodes> {
    let before = c.problems.len();
    if raw.format != "alibaba-2018" {
        c.push(
            format!("{p}.format"),
            format!("unknown machine table format {:?}, expected \"alibaba-2018\"", raw.format),
        );
    }
    let cpu_cores_per_unit = raw.cpu_cores_per_unit.unwrap_or(1.0);
    c.positive(&format!("{p}.cpu_cores_per_unit"), cpu_cores_per_unit, MAX_UNITS);
    // mem_size is normalised to 0–100: by default a machine of 100 has 100 GB.
    let memory_gb_per_unit = raw.memory_gb_per_unit.unwrap_or(1.0);
    c.range(&format!("{p}.memory_gb_per_unit"), memory_gb_per_unit, 0.0, false, MAX_UNITS);
    let speed = raw.speed.unwrap_or(1.0);
    c.positive(&format!("{p}.speed"), speed, 1e6);
    if raw.limit == Some(0) {
        c.push(format!("{p}.limit"), "must be at least 1, got 0");
    }
    let policy = match raw.on_bad_line.as_deref() {
        None => BadLines::Error,
        Some(s) => BadLines::parse(s).unwrap_or_else(|| {
            c.push(format!("{p}.on_bad_line"), format!("must be \"error\" or \"skip\", got {s:?}"));
            BadLines::Error
        }),
    };
    let Some(base) = base_dir else {
        c.push(format!("{p}.path"), "a machine table needs a scenario read from disk (paths are relative to it)");
        return Vec::new();
    };
    let path = base.join(&raw.path);
    if c.problems.len() > before {
        return Vec::new();
    }
    let name = path.display().to_string();
    let read = super::open_input(&path)
        .map_err(|e| format!("{name}: {e}"))
        .and_then(|input| super::machines::alibaba_2018(input, &name, policy, raw.limit).map_err(|e| e.to_string()));
    let groups = match read {
        Ok((groups, _)) if groups.is_empty() => {
            c.push(format!("{p}.path"), format!("{name}: no machine in the file"));
            return Vec::new();
        }
        Ok((groups, _)) => groups,
        Err(message) => {
            c.push(p, message);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for g in groups {
        let units = ResourceUnits {
            cpu_cores: g.cpu * cpu_cores_per_unit,
            memory_gb: g.memory * memory_gb_per_unit,
            ..ResourceUnits::default()
        };
        let group_name = format!("cpu{}-mem{}", g.cpu, g.memory);
        if declared.iter().any(|d| d.name == group_name) {
            c.push(p, format!("a machine group is named {group_name:?}, as a declared node group is"));
        }
        if units.cpu_cores * 1000.0 < 1.0 || units.cpu_cores > MAX_UNITS || units.memory_gb > MAX_UNITS {
            c.push(
                p,
                format!(
                    "{name}:{}: machines of {} cpu and {} memory map to {} cores and {} GB",
                    g.first_line, g.cpu, g.memory, units.cpu_cores, units.memory_gb
                ),
            );
            continue;
        }
        out.push(MachineNodes {
            name: group_name,
            count: u32::try_from(g.count).unwrap_or(u32::MAX),
            spec: NodeSpec { capacity: units.to_resources(), speed },
        });
    }
    out
}
