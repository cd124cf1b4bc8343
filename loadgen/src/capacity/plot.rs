//! The capacity plot: `capacity.svg` (self-contained, no script, no fonts or
//! files fetched) and `capacity.html` (the same SVG inline, with the step
//! table and the money check), both readable offline.
//!
//! Three panels share one x axis, the offered rate:
//! - throughput: achieved rate (orders started/s) and goodput (orders answered
//!   succeeded or declined /s) against the offered diagonal, so the plateau
//!   past the knee shows;
//! - latency: corrected p50, p95, p99 on a log scale, with the p95/p99 SLO lines;
//! - errors: error rate with the `max_error_rate` line.
//!
//! The knee (highest rate that held) is a green line across all three; the
//! break a red dashed one, with the rates beyond it shaded. Steps whose time overlapped one of
//! the scenario's gateway windows (an outage, a brownout) are shaded orange and labelled with
//! it: the x axis is the offered rate, not time, so a window marks the steps it fell on.

use std::fmt::Write as _;

use crate::report::escape_markup;

use super::report::{CapacityReport, StepVerdict, rate};

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 840.0;
const LEFT: f64 = 80.0;
/// Room right of the panels for the legends.
const RIGHT: f64 = 200.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;

const OFFERED: &str = "#999999";
const ACHIEVED: &str = "#1f77b4";
const GOODPUT: &str = "#2ca02c";
const P50: &str = "#74a9cf";
const P95: &str = "#e6550d";
const P99: &str = "#756bb1";
const ERRORS: &str = "#d62728";
const SLO: &str = "#d62728";
const KNEE: &str = "#2ca02c";
const BROKE: &str = "#d62728";
/// Steps that ran while a gateway window was open.
const WINDOW: &str = "#e67e22";

/// One panel's place on the page.
#[derive(Clone, Copy)]
struct Panel {
    top: f64,
    height: f64,
}

impl Panel {
    fn bottom(&self) -> f64 {
        self.top + self.height
    }
}

/// A linear or log-10 mapping of values onto a pixel span.
#[derive(Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Scale {
    fn linear(lo: f64, hi: f64) -> Self {
        Scale { lo, hi, log: false }
    }

    fn log(lo: f64, hi: f64) -> Self {
        Scale { lo, hi, log: true }
    }

    /// Where `v` falls between 0 (lo) and 1 (hi); values outside are clamped
    /// to the edges so a wild point cannot draw outside its panel.
    fn fraction(&self, v: f64) -> f64 {
        // A figure that is not a number has no place: NaN makes `series` skip it.
        if !v.is_finite() {
            return f64::NAN;
        }
        let (v, lo, hi) = if self.log {
            (v.max(self.lo).log10(), self.lo.log10(), self.hi.log10())
        } else {
            (v, self.lo, self.hi)
        };
        if hi <= lo {
            return 0.0;
        }
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    }

    fn x(&self, v: f64) -> f64 {
        LEFT + self.fraction(v) * PLOT_W
    }

    fn y(&self, v: f64, panel: Panel) -> f64 {
        panel.bottom() - self.fraction(v) * panel.height
    }
}

/// About `target` round tick values covering `lo..=hi` (steps of 1, 2, 2.5, 5 x 10^k).
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() || hi <= lo || target == 0 {
        return if lo.is_finite() { vec![lo] } else { vec![] };
    }
    let raw = (hi - lo) / target as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .take(50)
        .map(|i| {
            let v = i as f64 * step;
            // Keep 0.30000000000000004 from reaching a label.
            (v / step).round() * step
        })
        .collect()
}

/// Ticks for a log scale: 1, 2, 5 per decade, or only powers of ten over many decades.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if lo.is_nan() || hi.is_nan() || lo <= 0.0 || hi <= lo {
        return vec![];
    }
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let multiples: &[f64] = if last - first > 3 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    let mut ticks = Vec::new();
    for k in first..=last.min(first + 12) {
        for m in multiples {
            let v = m * 10f64.powi(k);
            if v >= lo && v <= hi {
                ticks.push(v);
            }
        }
    }
    ticks
}

/// A number for an axis label: no trailing zeros.
fn label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 1.0 {
        1
    } else {
        3
    };
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

struct Svg {
    out: String,
}

impl Svg {
    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, style: &str) {
        let _ = writeln!(
            self.out,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {style}/>"#
        );
    }

    fn text(&mut self, x: f64, y: f64, attrs: &str, text: &str) {
        let _ = writeln!(
            self.out,
            r#"<text x="{x:.1}" y="{y:.1}" {attrs}>{}</text>"#,
            escape_markup(text)
        );
    }

    /// A polyline through the finite points, with a dot on each.
    fn series(&mut self, points: &[(f64, f64)], color: &str, width: f64, opacity: f64) {
        let finite: Vec<(f64, f64)> = points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        if finite.is_empty() {
            return;
        }
        let path: Vec<String> = finite
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            self.out,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="{width}" stroke-opacity="{opacity}"/>"#,
            path.join(" ")
        );
        let r = (width + 1.5).max(3.5);
        for (x, y) in finite {
            let _ = writeln!(
                self.out,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{color}" fill-opacity="{opacity}"/>"#
            );
        }
    }

    fn legend(&mut self, panel: Panel, entries: &[(&str, &str, bool)]) {
        let x = LEFT + PLOT_W + 18.0;
        for (i, (name, color, dashed)) in entries.iter().enumerate() {
            let y = panel.top + 14.0 + i as f64 * 20.0;
            let dash = if *dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            self.line(
                x,
                y - 4.0,
                x + 24.0,
                y - 4.0,
                &format!(r#"stroke="{color}" stroke-width="2"{dash}"#),
            );
            self.text(x + 30.0, y, r#"font-size="12""#, name);
        }
    }

    /// Frame, horizontal grid with labels, vertical grid at the x ticks, title.
    fn frame(
        &mut self,
        panel: Panel,
        x: Scale,
        x_ticks: &[f64],
        y: Scale,
        y_ticks: &[f64],
        title: &str,
    ) {
        let _ = writeln!(
            self.out,
            r##"<rect x="{LEFT}" y="{:.1}" width="{PLOT_W}" height="{:.1}" fill="#ffffff" stroke="#444444"/>"##,
            panel.top, panel.height
        );
        for &t in y_ticks {
            let py = y.y(t, panel);
            self.line(LEFT, py, LEFT + PLOT_W, py, r##"stroke="#e5e5e5""##);
            self.text(
                LEFT - 6.0,
                py + 4.0,
                r#"font-size="11" text-anchor="end""#,
                &label(t),
            );
        }
        for &t in x_ticks {
            let px = x.x(t);
            self.line(px, panel.top, px, panel.bottom(), r##"stroke="#f0f0f0""##);
            self.text(
                px,
                panel.bottom() + 14.0,
                r#"font-size="11" text-anchor="middle""#,
                &label(t),
            );
        }
        self.text(
            LEFT,
            panel.top - 8.0,
            r#"font-size="13" font-weight="bold""#,
            title,
        );
    }
}

/// The x range: the offered rates that ran (or the plan), padded.
fn x_scale(report: &CapacityReport) -> Scale {
    let mut rates: Vec<f64> = report.steps.iter().map(|s| s.offered_rate).collect();
    if rates.is_empty() {
        rates = vec![report.plan.start, report.plan.max_rate];
    }
    let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = rates.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = if hi > lo {
        (hi - lo) * 0.06
    } else {
        (hi.abs() * 0.1).max(1.0)
    };
    Scale::linear((lo - pad).max(0.0), hi + pad)
}

/// For each step, the labels of the gateway windows its time overlapped (from its schedule's
/// start to its end, on the climb's clock).
pub fn step_windows(report: &CapacityReport) -> Vec<Vec<&str>> {
    report
        .steps
        .iter()
        .map(|s| {
            report
                .gateway_windows
                .iter()
                .filter(|w| w.overlaps(s.started_s, s.started_s + s.wall_s))
                .map(|w| w.label.as_str())
                .collect()
        })
        .collect()
}

/// The stretch of the x axis (offered rate) step `i`'s band covers: halfway to each
/// neighbour's rate, or as far on the other side when it has none.
fn step_span(steps: &[super::StepResult], i: usize) -> (f64, f64) {
    let rate = |j: usize| steps.get(j).map(|s| s.offered_rate);
    let here = rate(i).unwrap_or(0.0);
    let before = i.checked_sub(1).and_then(rate);
    let after = rate(i + 1);
    let half_gap = match (before, after) {
        (Some(b), _) => (here - b) / 2.0,
        (None, Some(a)) => (a - here) / 2.0,
        (None, None) => (here * 0.05).max(0.5),
    };
    let lo = before.map_or(here - half_gap, |b| (b + here) / 2.0);
    let hi = after.map_or(here + half_gap, |a| (here + a) / 2.0);
    (lo, hi)
}

/// Shades, across every panel, the steps whose time overlapped a gateway window, and names
/// the windows along the top panel's foot.
fn shade_window_steps(svg: &mut Svg, report: &CapacityReport, x: Scale, panels: &[Panel]) {
    let Some(top) = panels.first() else {
        return;
    };
    for (i, labels) in step_windows(report).iter().enumerate() {
        if labels.is_empty() {
            continue;
        }
        let (lo, hi) = step_span(&report.steps, i);
        let (x0, x1) = (x.x(lo), x.x(hi));
        for p in panels {
            let _ = writeln!(
                svg.out,
                r#"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{WINDOW}" fill-opacity="0.12"/>"#,
                p.top,
                (x1 - x0).max(0.0),
                p.height
            );
        }
        svg.text(
            x0 + 3.0,
            top.bottom() - 6.0 - 14.0 * (i % 2) as f64,
            &format!(r#"font-size="10" fill="{WINDOW}""#),
            &labels.join(", "),
        );
    }
}

/// `capacity.svg`: see the module doc.
pub fn render_svg(report: &CapacityReport) -> String {
    let mut svg = Svg { out: String::new() };
    let _ = writeln!(
        svg.out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(
        svg.out,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fafafa"/>"##
    );
    let headline = match &report.knee {
        Some(k) => format!("{}: knee at {}/s", report.scenario, rate(k.rate)),
        None => format!("{}: no rate held the SLO", report.scenario),
    };
    svg.text(
        LEFT,
        28.0,
        r#"font-size="18" font-weight="bold""#,
        &headline,
    );
    svg.text(
        LEFT,
        48.0,
        r##"font-size="12" fill="#333333""##,
        &report.reason,
    );

    let x = x_scale(report);
    let x_ticks = nice_ticks(x.lo, x.hi, 8);
    let steps = &report.steps;

    // Throughput.
    let top = Panel {
        top: 82.0,
        height: 220.0,
    };
    let y_max = steps
        .iter()
        .flat_map(|s| [s.offered_rate, s.achieved_rate, s.goodput])
        .filter(|v| v.is_finite())
        .fold(x.hi, f64::max)
        * 1.05;
    let y = Scale::linear(0.0, y_max.max(1.0));
    svg.frame(
        top,
        x,
        &x_ticks,
        y,
        &nice_ticks(0.0, y.hi, 5),
        "Throughput (orders/s)",
    );
    // The offered diagonal: where achieved would lie if nothing fell behind.
    let lo = x.lo.max(0.0);
    let hi = x.hi.min(y.hi);
    if hi > lo {
        svg.line(
            x.x(lo),
            y.y(lo, top),
            x.x(hi),
            y.y(hi, top),
            &format!(r#"stroke="{OFFERED}" stroke-width="1.5" stroke-dasharray="6 4""#),
        );
    }
    let pts =
        |f: &dyn Fn(&super::StepResult) -> f64, scale: Scale, panel: Panel| -> Vec<(f64, f64)> {
            steps
                .iter()
                .map(|s| (x.x(s.offered_rate), scale.y(f(s), panel)))
                .collect()
        };
    // Achieved wide and pale underneath: below the knee goodput lies on it.
    svg.series(&pts(&|s| s.achieved_rate, y, top), ACHIEVED, 5.0, 0.45);
    svg.series(&pts(&|s| s.goodput, y, top), GOODPUT, 2.0, 1.0);
    svg.legend(
        top,
        &[
            ("offered (ideal)", OFFERED, true),
            ("achieved (started)", ACHIEVED, false),
            ("goodput (answered)", GOODPUT, false),
        ],
    );

    // Latency, log scale: a knee usually multiplies it.
    let mid = Panel {
        top: 350.0,
        height: 240.0,
    };
    let slo_lines: Vec<(String, f64)> = [
        ("p95 SLO", report.slo.p95_ms),
        ("p99 SLO", report.slo.p99_ms),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.map(|v| (format!("{name} {} ms", label(v)), v)))
    .collect();
    let values: Vec<f64> = steps
        .iter()
        .flat_map(|s| [s.latency.p50_ms, s.latency.p95_ms, s.latency.p99_ms])
        .chain(slo_lines.iter().map(|(_, v)| *v))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let (lat_lo, lat_hi) = if values.is_empty() {
        (0.1, 10.0)
    } else {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo / 1.6, hi * 1.6)
    };
    let lat = Scale::log(lat_lo, lat_hi);
    svg.frame(
        mid,
        x,
        &x_ticks,
        lat,
        &log_ticks(lat_lo, lat_hi),
        "Latency, corrected (ms, log scale)",
    );
    // SLO labels sit at the left end: the knee and the break are drawn at the right.
    for (name, v) in &slo_lines {
        let py = lat.y(*v, mid);
        svg.line(
            LEFT,
            py,
            LEFT + PLOT_W,
            py,
            &format!(r#"stroke="{SLO}" stroke-width="1.5" stroke-dasharray="3 3""#),
        );
        svg.text(
            LEFT + 6.0,
            py - 4.0,
            &format!(r#"font-size="11" fill="{SLO}""#),
            name,
        );
    }
    svg.series(&pts(&|s| s.latency.p50_ms, lat, mid), P50, 2.0, 1.0);
    svg.series(&pts(&|s| s.latency.p95_ms, lat, mid), P95, 2.0, 1.0);
    svg.series(&pts(&|s| s.latency.p99_ms, lat, mid), P99, 2.0, 1.0);
    let mut legend = vec![
        ("p50", P50, false),
        ("p95", P95, false),
        ("p99", P99, false),
    ];
    if !slo_lines.is_empty() {
        legend.push(("SLO", SLO, true));
    }
    svg.legend(mid, &legend);

    // Errors.
    let low = Panel {
        top: 640.0,
        height: 120.0,
    };
    let slo_errors = report.slo.max_error_rate.map(|v| v * 100.0);
    let err_max = steps
        .iter()
        .map(|s| s.error_rate * 100.0)
        .chain(slo_errors)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let err = Scale::linear(0.0, (err_max * 1.15).max(1.0));
    svg.frame(
        low,
        x,
        &x_ticks,
        err,
        &nice_ticks(0.0, err.hi, 4),
        "Error rate (%)",
    );
    if let Some(v) = slo_errors {
        let py = err.y(v, low);
        svg.line(
            LEFT,
            py,
            LEFT + PLOT_W,
            py,
            &format!(r#"stroke="{SLO}" stroke-width="1.5" stroke-dasharray="3 3""#),
        );
        svg.text(
            LEFT + 6.0,
            py - 4.0,
            &format!(r#"font-size="11" fill="{SLO}""#),
            &format!("max error rate {}%", label(v)),
        );
    }
    svg.series(&pts(&|s| s.error_rate * 100.0, err, low), ERRORS, 2.0, 1.0);
    let mut legend = vec![("errors", ERRORS, false)];
    if slo_errors.is_some() {
        legend.push(("SLO", SLO, true));
    }
    svg.legend(low, &legend);

    // The knee and the break, across every panel.
    let panels = [top, mid, low];
    shade_window_steps(&mut svg, report, x, &panels);
    if let Some(b) = &report.broke_at {
        let px = x.x(b.rate);
        for p in panels {
            let _ = writeln!(
                svg.out,
                r#"<rect x="{px:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{BROKE}" fill-opacity="0.07"/>"#,
                p.top,
                (LEFT + PLOT_W - px).max(0.0),
                p.height
            );
            svg.line(
                px,
                p.top,
                px,
                p.bottom(),
                &format!(r#"stroke="{BROKE}" stroke-width="2" stroke-dasharray="6 3""#),
            );
        }
        // Near the right edge the label goes left of the line, a row below the knee's.
        let (lx, ly, anchor) = if px + 110.0 > LEFT + PLOT_W {
            (px - 4.0, top.top + 32.0, "end")
        } else {
            (px + 4.0, top.top + 14.0, "start")
        };
        svg.text(
            lx,
            ly,
            &format!(r#"font-size="12" text-anchor="{anchor}" fill="{BROKE}""#),
            &format!("broke {}/s", rate(b.rate)),
        );
    }
    if let Some(k) = &report.knee {
        let px = x.x(k.rate);
        for p in panels {
            svg.line(
                px,
                p.top,
                px,
                p.bottom(),
                &format!(r#"stroke="{KNEE}" stroke-width="2.5""#),
            );
        }
        svg.text(
            px - 4.0,
            top.top + 14.0,
            &format!(r#"font-size="12" font-weight="bold" text-anchor="end" fill="{KNEE}""#),
            &format!("knee {}/s", rate(k.rate)),
        );
    }
    // Steps that broke get a red ring in every series, so the verdict reads off each point.
    for s in steps.iter().filter(|s| s.verdict == StepVerdict::Broke) {
        let px = x.x(s.offered_rate);
        for (v, scale, panel) in [
            (s.goodput, y, top),
            (s.latency.p99_ms, lat, mid),
            (s.error_rate * 100.0, err, low),
        ] {
            if v.is_finite() {
                let _ = writeln!(
                    svg.out,
                    r#"<circle cx="{px:.1}" cy="{:.1}" r="7" fill="none" stroke="{BROKE}" stroke-width="1.5"/>"#,
                    scale.y(v, panel)
                );
            }
        }
    }

    svg.text(
        LEFT + PLOT_W / 2.0,
        low.bottom() + 34.0,
        r#"font-size="13" text-anchor="middle""#,
        "offered rate (orders/s)",
    );
    let money = if report.money.checked {
        let c = &report.money.counts;
        format!(
            "money: {} orders over {} step(s) reconciled against the ledger: {} double, {} lost, {} orphan, {} amount mismatches{}",
            report.orders,
            steps.len(),
            c.double_charges,
            c.lost_charges,
            c.orphan_charges,
            c.amount_mismatches,
            if report.money_clean() {
                " (clean)"
            } else {
                " (FAILED)"
            }
        )
    } else {
        "money: the ledger could not be read, so money was not checked".to_string()
    };
    svg.text(
        LEFT,
        HEIGHT - 14.0,
        r##"font-size="12" fill="#333333""##,
        &money,
    );
    svg.out.push_str("</svg>\n");
    svg.out
}

/// `capacity.html`: the plot inline, the step table, the money check.
pub fn render_html(report: &CapacityReport) -> String {
    let e = escape_markup;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>capacity: {}</title>",
        e(&report.scenario)
    );
    out.push_str(
        "<style>\nbody{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222}\n\
table{border-collapse:collapse;margin:12px 0;font-size:13px}\n\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}\n\
th{background:#f0f0f0}\ntd.l,th.l{text-align:left}\n\
.held{color:#2ca02c}.broke{color:#d62728;font-weight:bold}.interrupted{color:#999}\n\
.pass{color:#2ca02c}.fail{color:#d62728;font-weight:bold}\n</style>\n</head>\n<body>\n",
    );
    let verdict = if report.passed { "PASSED" } else { "FAILED" };
    let _ = writeln!(
        out,
        "<h1>Capacity: {}</h1>\n<p><b class=\"{}\">{verdict}</b>: {}</p>",
        e(&report.scenario),
        if report.passed { "pass" } else { "fail" },
        e(&report.reason)
    );
    let _ = writeln!(
        out,
        "<p>{} mode against {}, {} users, seed {}; steps of {} s, the first {} s of each left out of its figures. SLO: {}.</p>",
        report.mode.as_str(),
        e(&report.target_url),
        report.users,
        report.seed,
        label(report.plan.step_duration_s),
        label(report.plan.warm_up_s),
        e(&report.slo.describe())
    );
    out.push_str(&render_svg(report));
    if !report.gateway_windows.is_empty() {
        let note = crate::report::clock_note(report.gateway_lead_ms);
        let _ = writeln!(
            out,
            "<p>{} Steps whose time overlapped one are shaded.</p>",
            e(&note)
        );
    }
    out.push_str("<h2>Steps</h2>\n<table>\n<tr><th>step</th><th>offered /s</th><th>achieved /s</th><th>goodput /s</th><th>orders</th><th>requests</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>errors</th><th>error rate</th><th class=\"l\">verdict</th><th class=\"l\">gateway window</th></tr>\n");
    let windows = step_windows(report);
    for (s, in_windows) in report.steps.iter().zip(&windows) {
        let verdict = match &s.reason {
            Some(reason) => format!("{}: {}", s.verdict.as_str(), reason),
            None => s.verdict.as_str().to_string(),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{:.2}%</td><td class=\"l {}\">{}</td><td class=\"l\">{}</td></tr>",
            s.step,
            rate(s.offered_rate),
            s.achieved_rate,
            s.goodput,
            s.orders,
            s.requests,
            s.latency.p50_ms,
            s.latency.p95_ms,
            s.latency.p99_ms,
            s.latency.p999_ms,
            s.latency.max_ms,
            s.errors,
            s.error_rate * 100.0,
            s.verdict.as_str(),
            e(&verdict),
            e(&in_windows.join(", "))
        );
    }
    out.push_str("</table>\n<h2>Money</h2>\n");
    if report.money.checked {
        let _ = writeln!(
            out,
            "<p>{} orders over every step, reconciled against {} ledger entries.</p>",
            report.orders, report.money.ledger_entries
        );
    }
    out.push_str("<table>\n<tr><th class=\"l\">check</th><th>observed</th><th>limit</th><th class=\"l\">result</th><th class=\"l\">detail</th></tr>\n");
    for c in &report.money_checks {
        let _ = writeln!(
            out,
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td class=\"l {}\">{}</td><td class=\"l\">{}</td></tr>",
            e(&c.name),
            label(c.observed),
            c.limit.map(label).unwrap_or_else(|| "none".into()),
            if c.passed { "pass" } else { "fail" },
            if c.passed { "pass" } else { "FAIL" },
            e(&c.detail)
        );
    }
    out.push_str("</table>\n");
    if !report.money.violations.is_empty() {
        out.push_str("<h3>Violations</h3>\n");
        out.push_str(&crate::report::kind_times_table(&report.money.by_kind));
        out.push_str("<table>\n<tr><th class=\"l\">kind</th><th class=\"l\">order</th><th class=\"l\">flow</th><th>amount</th><th>captured</th><th>captures</th><th>refunded</th><th class=\"l\">idempotency keys</th></tr>\n");
        for v in report.money.violations.iter().take(200) {
            let _ = writeln!(
                out,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
                v.kind.as_str(),
                e(&v.order_id),
                e(&v.flow),
                v.amount,
                v.captured,
                v.captures,
                v.refunded,
                e(&v.idempotency_keys.join(", "))
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::report::tests::{report, step};
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(
            nice_ticks(130.0, 470.0, 8),
            vec![150.0, 200.0, 250.0, 300.0, 350.0, 400.0, 450.0]
        );
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(nice_ticks(5.0, 5.0, 4), vec![5.0]);
        assert!(nice_ticks(f64::NAN, 1.0, 4).is_empty());
        assert_eq!(log_ticks(0.3, 40.0), vec![0.5, 1.0, 2.0, 5.0, 10.0, 20.0]);
        assert_eq!(log_ticks(0.05, 5000.0), vec![0.1, 1.0, 10.0, 100.0, 1000.0]);
    }

    #[test]
    fn the_svg_marks_the_knee_the_break_and_the_slo() {
        let r = report(
            vec![
                step(1, 150.0, StepVerdict::Held),
                step(2, 225.0, StepVerdict::Held),
                step(3, 300.0, StepVerdict::Held),
                step(4, 375.0, StepVerdict::Held),
                step(5, 450.0, StepVerdict::Broke),
            ],
            true,
        );
        let svg = render_svg(&r);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("knee 375/s"), "knee label");
        assert!(svg.contains("broke 450/s"), "break label");
        assert!(svg.contains("p95 SLO 50 ms"), "p95 SLO line");
        assert!(svg.contains("max error rate 1%"), "error SLO line");
        // Achieved, goodput, p50, p95, p99, errors.
        assert_eq!(svg.matches("<polyline").count(), 6);
        // The scenario name is escaped, not injected.
        assert!(svg.contains("cap&lt;&amp;&gt;"));
        assert!(!svg.contains("cap<&>"));
        // Nothing fetched from anywhere: the only URL is the SVG namespace.
        assert_eq!(svg.matches("http").count(), 1, "the namespace only");
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn odd_reports_still_draw() {
        // No steps at all, one step, and figures that are not numbers.
        for steps in [
            vec![],
            vec![step(1, 150.0, StepVerdict::Broke)],
            vec![{
                let mut s = step(1, 150.0, StepVerdict::Held);
                s.latency.p95_ms = f64::NAN;
                s.goodput = f64::INFINITY;
                s.error_rate = 0.0;
                s
            }],
        ] {
            let svg = render_svg(&report(steps, true));
            assert!(svg.trim_end().ends_with("</svg>"));
            assert!(!svg.contains("NaN"), "{svg}");
        }
    }

    fn brownout(from_s: f64, until_s: f64) -> crate::report::GatewayWindow {
        crate::report::GatewayWindow {
            kind: crate::report::WindowKind::Brownout,
            label: format!("brownout {from_s}s–{until_s}s"),
            from_s,
            until_s: Some(until_s),
        }
    }

    #[test]
    fn the_steps_a_window_fell_on_are_shaded_and_named() {
        let mut r = report(
            vec![
                step(1, 150.0, StepVerdict::Held),
                step(2, 225.0, StepVerdict::Held),
                step(3, 300.0, StepVerdict::Broke),
            ],
            true,
        );
        // Steps run 0–2.5 s, 2.5–5 s, 5–7.5 s: a window 3 s..6 s falls on the last two.
        r.gateway_windows = vec![brownout(3.0, 6.0)];
        assert_eq!(
            step_windows(&r),
            vec![vec![], vec!["brownout 3s–6s"], vec!["brownout 3s–6s"]]
        );
        // Each step's band reaches halfway to its neighbours.
        assert_eq!(step_span(&r.steps, 1), (187.5, 262.5));
        assert_eq!(step_span(&r.steps, 2), (262.5, 337.5));
        assert_eq!(step_span(&r.steps, 0), (112.5, 187.5));
        let svg = render_svg(&r);
        assert_eq!(
            svg.matches("fill=\"#e67e22\" fill-opacity=\"0.12\"")
                .count(),
            2 * 3
        );
        assert_eq!(svg.matches(">brownout 3s–6s</text>").count(), 2);
        let html = render_html(&r);
        assert!(
            html.contains("as if the gateway started with the run"),
            "embedded, but no lead measured"
        );
        assert!(html.contains("<td class=\"l\">brownout 3s–6s</td></tr>"));
        // A window that ended before the climb's steps ran shades nothing.
        r.gateway_windows = vec![brownout(-5.0, 0.0)];
        assert!(step_windows(&r).iter().all(|w| w.is_empty()));
        assert!(!render_svg(&r).contains("fill-opacity=\"0.12\""));
    }

    #[test]
    fn the_html_holds_the_plot_the_steps_and_the_money() {
        let r = report(
            vec![
                step(1, 150.0, StepVerdict::Held),
                step(2, 225.0, StepVerdict::Broke),
            ],
            false,
        );
        let html = render_html(&r);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<svg"));
        assert!(html.contains("FAILED"));
        assert!(html.contains("broke: error rate 6.60% &gt; 1%"));
        assert!(html.contains("double_charges"));
        assert!(!html.contains("<script"));
    }
}
