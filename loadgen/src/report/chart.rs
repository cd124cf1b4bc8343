//! The line chart report.html draws its plots with: inline SVG, a linear y axis from 0, a
//! legend, and shaded, labelled bands along the x axis (the gateway's outage and brownout
//! windows on the over-time charts).
//!
//! Apart from `html.rs` because it is drawing, not the page: the page says what to plot, this
//! says how a chart looks.

use std::fmt::Write as _;

use super::escape_markup as esc;

/// One line of a chart.
pub(super) struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

/// A shaded, labelled stretch of the x axis: a gateway window on an over-time chart.
pub(super) struct Band<'a> {
    pub from: f64,
    /// `f64::INFINITY`: to the chart's right edge.
    pub until: f64,
    pub label: &'a str,
    pub color: &'a str,
}

const W: f64 = 760.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 40.0;

/// A line chart with a linear y axis from 0; `x_ticks` are (x, label) pairs; `bands` are
/// shaded under everything else.
pub(super) fn line_chart(
    title: &str,
    y_label: &str,
    x_range: (f64, f64),
    x_ticks: &[(f64, String)],
    series: &[Series],
    bands: &[Band],
) -> String {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    // Headroom, so a flat line at the maximum does not run along the frame under the legend.
    let y_max = nice_ceiling(
        1.15 * series
            .iter()
            .flat_map(|s| s.points.iter().filter(finite))
            .map(|p| p.1)
            .fold(0.0, f64::max),
    );
    let (x0, x1) = x_range;
    let x_span = if x1 > x0 { x1 - x0 } else { 1.0 };
    let px = |x: f64| LEFT + (x - x0) / x_span * (W - LEFT - RIGHT);
    let py = |y: f64| H - BOTTOM - y / y_max * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-size=\"11\" font-family=\"sans-serif\">\
         <text x=\"{LEFT}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        esc(title)
    );
    draw_bands(&mut s, x_range, bands);
    for i in 0..=4 {
        let y = y_max * f64::from(i) / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            py(y),
            py(y),
            LEFT - 4.0,
            py(y) + 4.0,
            fmt_tick(y)
        );
    }
    for (x, label) in x_ticks {
        let _ = write!(
            s,
            "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"#f2f2f2\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            px(*x),
            px(*x),
            H - BOTTOM,
            px(*x),
            H - BOTTOM + 14.0,
            esc(label)
        );
    }
    let _ = write!(
        s,
        "<text x=\"12\" y=\"{:.1}\" transform=\"rotate(-90 12 {:.1})\" text-anchor=\"middle\">{}</text>\
         <line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"#888\"/><line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#888\"/>",
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0,
        esc(y_label),
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    for (i, serie) in series.iter().enumerate() {
        let points: Vec<String> = serie
            .points
            .iter()
            .filter(finite)
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let dash = if serie.dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        if !points.is_empty() {
            let _ = write!(
                s,
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"{dash} points=\"{}\"/>",
                serie.color,
                points.join(" ")
            );
        }
        let lx = W - RIGHT - 180.0;
        let ly = TOP + 4.0 + 14.0 * i as f64;
        let _ = write!(
            s,
            "<line x1=\"{lx:.1}\" x2=\"{:.1}\" y1=\"{ly:.1}\" y2=\"{ly:.1}\" stroke=\"{}\" stroke-width=\"2\"{dash}/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            lx + 20.0,
            serie.color,
            lx + 24.0,
            ly + 4.0,
            esc(serie.name)
        );
    }
    if !bands.is_empty() {
        let lx = W - RIGHT - 180.0;
        let ly = TOP + 4.0 + 14.0 * series.len() as f64;
        let _ = write!(
            s,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"20\" height=\"10\" fill=\"#888\" fill-opacity=\"0.25\"/><text x=\"{:.1}\" y=\"{:.1}\">gateway windows</text>",
            ly - 5.0,
            lx + 24.0,
            ly + 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Where a band from `from` to `until` (x units) lies on a chart over `x_range`: its left edge
/// and width in pixels, clipped to the plot; `None` when none of it is inside.
pub(super) fn band_px(x_range: (f64, f64), from: f64, until: f64) -> Option<(f64, f64)> {
    let (x0, x1) = x_range;
    let (lo, hi) = (from.max(x0), until.min(x1));
    if x1 <= x0 || lo.is_nan() || hi.is_nan() || hi <= lo {
        return None;
    }
    let px = |x: f64| LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    Some((px(lo), px(hi) - px(lo)))
}

/// The bands as translucent rectangles the height of the plot, each labelled along the
/// bottom (staggered over three rows, so neighbouring windows' labels do not overprint).
fn draw_bands(s: &mut String, x_range: (f64, f64), bands: &[Band]) {
    for (i, band) in bands.iter().enumerate() {
        let Some((x, width)) = band_px(x_range, band.from, band.until) else {
            continue;
        };
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{TOP}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"{}\" fill-opacity=\"0.13\"><title>{}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"{}\" font-size=\"10\">{}</text>",
            H - TOP - BOTTOM,
            band.color,
            esc(band.label),
            x + 3.0,
            H - BOTTOM - 6.0 - 12.0 * (i % 3) as f64,
            band.color,
            esc(band.label)
        );
    }
}

/// The smallest 1, 2 or 5 × 10^k at or above `v` (1 for nothing to show).
pub(super) fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * magnitude)
}

fn fmt_tick(v: f64) -> String {
    if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plot's pixel span: x = 0 at LEFT, x = 100 at W - RIGHT.
    const PLOT: f64 = W - LEFT - RIGHT;

    #[test]
    fn a_band_is_placed_on_the_x_axis_and_clipped_to_the_plot() {
        let range = (0.0, 100.0);
        let (x, width) = band_px(range, 10.0, 25.0).expect("inside");
        assert!((x - (LEFT + 0.10 * PLOT)).abs() < 1e-9, "{x}");
        assert!((width - 0.15 * PLOT).abs() < 1e-9, "{width}");
        // Begun before the run: from the left edge. Open-ended: to the right edge.
        let (x, width) = band_px(range, -6.0, f64::INFINITY).expect("covers it all");
        assert_eq!((x, width), (LEFT, PLOT));
        // Outside the run, or empty: nothing drawn.
        assert_eq!(band_px(range, 100.0, 120.0), None);
        assert_eq!(band_px(range, -20.0, 0.0), None);
        assert_eq!(band_px(range, 30.0, 30.0), None);
        assert_eq!(band_px((5.0, 5.0), 0.0, 10.0), None);
    }

    #[test]
    fn bands_are_drawn_under_the_lines_and_labelled() {
        let svg = line_chart(
            "t",
            "ms",
            (0.0, 40.0),
            &[],
            &[Series {
                name: "p95",
                color: "#000",
                dashed: false,
                points: vec![(0.5, 1.0), (39.5, 2.0)],
            }],
            &[
                Band {
                    from: 10.0,
                    until: 25.0,
                    label: "brownout 10s–25s",
                    color: "#e67e22",
                },
                Band {
                    from: 50.0,
                    until: 60.0,
                    label: "outage 50s–60s",
                    color: "#c0392b",
                },
            ],
        );
        assert_eq!(
            svg.matches("<rect").count(),
            2,
            "one band in range, one swatch"
        );
        assert!(svg.contains(">brownout 10s–25s</text>"));
        assert!(!svg.contains("outage 50s"), "outside the run");
        assert!(svg.find("<rect").unwrap_or(usize::MAX) < svg.find("<polyline").unwrap_or(0));
        assert!(svg.contains("gateway windows"));
        let plain = line_chart("t", "ms", (0.0, 40.0), &[], &[], &[]);
        assert!(!plain.contains("<rect") && !plain.contains("gateway windows"));
    }
}
