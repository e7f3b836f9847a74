//! The simulator's plots, drawn with `plotters` into SVG.
//!
//! Why plotters: it is the most used Rust plotting crate, maintained, pure Rust, and with
//! default features off and only its SVG backend and line series on it pulls in no font,
//! bitmap or system library (text goes into the SVG as `<text>`, which the viewer lays out),
//! so the tools still build offline from vendored sources on a bare laptop. It gives what the
//! hand-written SVG lacked: axes with ticks, gridlines, legends, and the same look across plots.
//!
//! Each function takes what to draw and returns the SVG text; nothing here decides what a
//! figure says, only how it is drawn: [`panels`] for line charts side by side (the `run`,
//! `chain` and `fanout` figures), [`coalition`] for the coalition run's figure.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::coalition::CoalitionReport;

/// Outage bands: light enough that the lines over them stay readable.
const OUTAGE: RGBColor = RGBColor(160, 160, 160);

/// Strong, clearly distinct hues (no pale ones: every line must show on white and on an
/// outage band), cycled when there are more series.
const COLOURS: [RGBColor; 12] = [
    RGBColor(31, 95, 168),
    RGBColor(192, 57, 43),
    RGBColor(39, 174, 96),
    RGBColor(142, 68, 173),
    RGBColor(211, 84, 0),
    RGBColor(44, 62, 80),
    RGBColor(22, 160, 133),
    RGBColor(183, 149, 11),
    RGBColor(233, 30, 99),
    RGBColor(121, 85, 72),
    RGBColor(0, 151, 167),
    RGBColor(96, 125, 139),
];

/// The colour of series `i`.
fn colour(i: usize) -> RGBColor {
    COLOURS.get(i % COLOURS.len()).copied().unwrap_or(BLACK)
}

/// Axis numbers without a fraction where none is meaningful (`5000`, not `5000.0`).
fn whole(v: &f64) -> String {
    format!("{v:.0}")
}

/// Gridlines between the labelled ones: faint, so the labelled grid and the data lead.
const MINOR_GRID: RGBColor = RGBColor(242, 242, 242);

/// Renders `draw` into an SVG of `size` pixels and returns its text. A drawing error (which
/// plotters reports for impossible layouts) becomes the error's text in the image's place.
fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), Box<dyn std::error::Error>>,
) -> String {
    let mut text = String::new();
    let failed = {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root));
        let failed = drawn.err().map(|e| e.to_string());
        let _ = root.present();
        failed
    };
    match failed {
        Some(e) => format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"40\"><text x=\"10\" y=\"20\">plot failed: {}</text></svg>\n",
            e.replace('<', "&lt;").replace('&', "&amp;")
        ),
        None => text,
    }
}

/// A named line of a [`Panel`].
#[derive(Clone, Debug)]
pub struct Line {
    /// Its legend entry (empty: not in the legend).
    pub name: String,
    /// Its points, in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// One line chart: axes from 0 to `xmax` and `ymax`, with ticks, gridlines and a legend.
#[derive(Clone, Debug)]
pub struct Panel {
    /// The x axis' label.
    pub x: String,
    /// The y axis' label.
    pub y: String,
    /// The x axis' end.
    pub xmax: f64,
    /// The y axis' end; points above it are drawn at it (the panel says so in its title).
    pub ymax: f64,
    /// The lines.
    pub lines: Vec<Line>,
}

/// `panels` side by side under `title`.
pub fn panels(title: &str, panels: &[Panel]) -> String {
    // Room for the title on one line even with a single panel.
    let width = (560 * panels.len().max(1) as u32).max(960);
    svg((width, 400), |root| {
        let root = root.titled(title, ("sans-serif", 15))?;
        for (area, panel) in root
            .split_evenly((1, panels.len().max(1)))
            .iter()
            .zip(panels)
        {
            draw_panel(area, panel)?;
        }
        Ok(())
    })
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    panel: &Panel,
) -> Result<(), Box<dyn std::error::Error>> {
    let (xmax, ymax) = (panel.xmax.max(1e-9), panel.ymax.max(1e-9));
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..xmax, 0.0..ymax)?;
    // Whole numbers on an axis that runs to 10 or more or that only counts (neighbours on a
    // channel: "2.0" neighbours reads wrong); tenths otherwise.
    let counts = |coordinate: fn(&(f64, f64)) -> f64| {
        panel
            .lines
            .iter()
            .flat_map(|l| &l.points)
            .all(|p| coordinate(p).fract() == 0.0)
    };
    let tick = |max: f64, counts: bool| {
        move |v: &f64| {
            if max >= 10.0 || counts {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        }
    };
    chart
        .configure_mesh()
        .x_desc(panel.x.as_str())
        .y_desc(panel.y.as_str())
        .x_label_formatter(&tick(xmax, counts(|p| p.0)))
        .y_label_formatter(&tick(ymax, counts(|p| p.1)))
        .light_line_style(MINOR_GRID)
        .draw()?;
    for (i, line) in panel.lines.iter().enumerate() {
        let style = colour(i).stroke_width(2);
        let points = line.points.iter().map(|&(x, y)| (x.min(xmax), y.min(ymax)));
        let drawn = chart.draw_series(LineSeries::new(points, style))?;
        if !line.name.is_empty() {
            drawn
                .label(line.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
        }
    }
    if panel.lines.iter().any(|l| !l.name.is_empty()) {
        legend(&mut chart)?;
    }
    Ok(())
}

/// The line chart type every figure here uses.
type LineChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The legend of `chart`'s labelled series, in its lower right corner.
fn legend<'a, 'b: 'a>(chart: &mut LineChart<'a, 'b>) -> Result<(), Box<dyn std::error::Error>> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()?;
    Ok(())
}

/// The steps of an empirical distribution (CDF) of sorted `times`, from 0.
pub fn cdf(times: &[f64]) -> Vec<(f64, f64)> {
    let n = times.len().max(1) as f64;
    let mut points = vec![(0.0, 0.0)];
    for (k, t) in times.iter().enumerate() {
        points.push((*t, k as f64 / n));
        points.push((*t, (k + 1) as f64 / n));
    }
    points
}

/// Artifacts of one domain and kind published during a run beyond which they are drawn as one
/// line: a hostile partner's 2,000 revocations are one story, and 2,000 lines would not render.
const GROUP_OVER: usize = 4;

/// Points one line may have: a group's step curve is thinned to this many.
const MAX_POINTS: usize = 600;

/// A line of the coalition figure: one artifact, or a group of the same domain and kind.
struct Holding {
    label: String,
    published_s: f64,
    /// Every admission by a station of a member, sorted.
    times: Vec<f64>,
    /// Station-artifact pairs the line counts to 100 %.
    pairs: f64,
}

/// The published artifacts as lines: each alone, except that a domain's kind with more than
/// [`GROUP_OVER`] of them becomes one line of the share of (station, artifact) pairs held.
fn holdings(report: &CoalitionReport) -> Vec<Holding> {
    let stations = report.stations.len().max(1) as f64;
    let published: Vec<_> = report
        .artifacts
        .iter()
        .filter(|a| a.published_s > 0.0)
        .collect();
    // "AUS revocation 17" and "AUS policy 1003 v1" group by their first two words.
    let group_of = |label: &str| label.split(' ').take(2).collect::<Vec<_>>().join(" ");
    let mut groups: Vec<(String, Vec<_>)> = Vec::new();
    for a in &published {
        let g = group_of(&a.label);
        match groups.iter_mut().find(|(k, _)| *k == g) {
            Some((_, members)) => members.push(*a),
            None => groups.push((g, vec![*a])),
        }
    }
    let mut lines = Vec::new();
    for (group, members) in groups {
        let single = members.len() <= GROUP_OVER;
        let chunks: Vec<Vec<_>> = if single {
            members.into_iter().map(|m| vec![m]).collect()
        } else {
            vec![members]
        };
        for chunk in chunks {
            let mut times: Vec<f64> = chunk
                .iter()
                .flat_map(|a| a.admitted_s.values().copied())
                .collect();
            times.sort_by(f64::total_cmp);
            let label = match chunk.as_slice() {
                [one] => one.label.clone(),
                many => format!("{group} x{} (share of station-artifact pairs)", many.len()),
            };
            lines.push(Holding {
                label,
                published_s: chunk.iter().map(|a| a.published_s).fold(f64::MAX, f64::min),
                times,
                pairs: stations * chunk.len() as f64,
            });
        }
    }
    lines
}

/// The coalition run: for every artifact published during the run (or group of many of one
/// domain and kind), the share of stations holding it over simulated time, with each
/// station's outage shaded; beside it, airtime by what the D_PDUs carried.
pub fn coalition(report: &CoalitionReport) -> String {
    let lines = holdings(report);
    let published = report
        .artifacts
        .iter()
        .filter(|a| a.published_s > 0.0)
        .count();
    // The legend goes under the chart, in columns, so it never covers a line: a hostile
    // partner's run has twenty entries, and any corner of the chart holds data somewhere.
    let legend_rows = (lines.len() + report.catch_ups.len()).div_ceil(LEGEND_COLUMNS);
    let legend_height = 16 + LEGEND_ROW * legend_rows as u32;
    svg((1200, 40 + CHART_HEIGHT + legend_height), |root| {
        let title = format!(
            "{} (seed {}): {} stations, {} artifacts ({} published during the run), converged: {}",
            report.scenario,
            report.seed,
            report.stations.len(),
            report.artifacts.len(),
            published,
            report.converged
        );
        let root = root.titled(&title, ("sans-serif", 16))?;
        let (top, bottom) = root.split_vertically(CHART_HEIGHT);
        let (left, right) = top.split_horizontally(800);
        let last_admission = lines
            .iter()
            .filter_map(|l| l.times.last().copied())
            .fold(0.0f64, f64::max);
        let last_outage = report.catch_ups.iter().map(|o| o.end_s).fold(0.0, f64::max);
        let xmax = last_admission.max(last_outage).max(1.0) * 1.05;
        let mut chart = ChartBuilder::on(&left)
            .caption(
                "share of stations holding each artifact",
                ("sans-serif", 14),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..xmax, 0.0..1.05)?;
        chart
            .configure_mesh()
            .x_desc("simulated time (s)")
            .y_desc("share of stations")
            .x_label_formatter(&whole)
            .y_label_formatter(&|v| format!("{:.0} %", v * 100.0))
            .light_line_style(MINOR_GRID)
            .draw()?;
        let mut entries = Vec::new();
        for outage in &report.catch_ups {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(outage.start_s, 0.0), (outage.end_s, 1.05)],
                OUTAGE.mix(0.25).filled(),
            )))?;
            entries.push((
                format!(
                    "{} off the air {:.0}-{:.0} s",
                    outage.station, outage.start_s, outage.end_s
                ),
                Key::Band,
            ));
        }
        for (i, line) in lines.iter().enumerate() {
            // A step up at each admission (every k-th for a large group); flat to the right
            // edge after the last.
            let every = line.times.len().div_ceil(MAX_POINTS).max(1);
            let mut points = vec![(line.published_s, 0.0)];
            let mut before = 0.0;
            for (k, t) in line.times.iter().enumerate() {
                if (k + 1) % every != 0 && k + 1 != line.times.len() {
                    continue;
                }
                let after = (k + 1) as f64 / line.pairs;
                points.push((*t, before));
                points.push((*t, after));
                before = after;
            }
            points.push((xmax, line.times.len() as f64 / line.pairs));
            chart.draw_series(LineSeries::new(points, colour(i).stroke_width(2)))?;
            entries.push((line.label.clone(), Key::Line(colour(i))));
        }
        legend_below(&bottom, &entries)?;
        airtime_bars(&right, report)
    })
}

/// Height in pixels of the coalition figure's charts (the legend below adds to it).
const CHART_HEIGHT: u32 = 480;

/// Columns and row height of the legend under the coalition figure.
const LEGEND_COLUMNS: usize = 3;
const LEGEND_ROW: u32 = 18;

/// What a legend entry's key looks like.
enum Key {
    /// A line of this colour.
    Line(RGBColor),
    /// A shaded outage band.
    Band,
}

/// `entries` in [`LEGEND_COLUMNS`] columns filling `area` row by row, each a key and its text.
fn legend_below(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    entries: &[(String, Key)],
) -> Result<(), Box<dyn std::error::Error>> {
    let (width, _) = area.dim_in_pixel();
    let column = (width as i32 - 60) / LEGEND_COLUMNS as i32;
    for (k, (text, key)) in entries.iter().enumerate() {
        let x = 60 + column * (k % LEGEND_COLUMNS) as i32;
        let y = 8 + LEGEND_ROW as i32 * (k / LEGEND_COLUMNS) as i32;
        match key {
            Key::Line(c) => area.draw(&PathElement::new(
                vec![(x, y + 6), (x + 20, y + 6)],
                c.stroke_width(2),
            ))?,
            Key::Band => area.draw(&Rectangle::new(
                [(x, y + 1), (x + 20, y + 11)],
                OUTAGE.mix(0.5).filled(),
            ))?,
        }
        area.draw(&Text::new(text.as_str(), (x + 26, y), ("sans-serif", 12)))?;
    }
    Ok(())
}

/// Horizontal bars: seconds of D_PDU airtime by what the D_PDUs carried.
fn airtime_bars(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    report: &CoalitionReport,
) -> Result<(), Box<dyn std::error::Error>> {
    let kinds: Vec<(&String, f64)> = report
        .airtime_s_by_kind
        .iter()
        .map(|(k, s)| (k, *s))
        .collect();
    let most = kinds.iter().map(|(_, s)| *s).fold(1e-9, f64::max);
    let caption = format!(
        "airtime by kind: {:.0} s of D_PDUs, + {:.0} s preamble and interleaver",
        kinds.iter().map(|(_, s)| s).sum::<f64>(),
        report.channel.overhead_s
    );
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 12))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        // A segmented axis of 0..n has a segment for n too: stop at the last kind's index.
        .build_cartesian_2d(
            0.0..most * 1.25,
            (0..kinds.len().saturating_sub(1)).into_segmented(),
        )?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("airtime (s)")
        // Few enough numbers that four- and five-digit seconds never run into each other.
        .x_labels(5)
        .x_label_formatter(&whole)
        .y_labels(kinds.len().max(1))
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => kinds.get(*i).map_or(String::new(), |(k, _)| (*k).clone()),
            _ => String::new(),
        })
        .light_line_style(MINOR_GRID)
        .draw()?;
    chart.draw_series(kinds.iter().enumerate().map(|(i, (_, s))| {
        Rectangle::new(
            [
                (0.0, SegmentValue::Exact(i)),
                (*s, SegmentValue::Exact(i + 1)),
            ],
            colour(0).mix(0.8).filled(),
        )
    }))?;
    // Each bar's value beside it, so a thin bar still reads.
    chart.draw_series(kinds.iter().enumerate().map(|(i, (_, s))| {
        Text::new(
            format!("{s:.1} s"),
            (*s + most * 0.02, SegmentValue::CenterOf(i)),
            ("sans-serif", 11),
        )
    }))?;
    Ok(())
}
