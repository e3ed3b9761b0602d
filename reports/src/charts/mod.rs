//! Charts of a study, as SVG and PNG, drawn with `plotters`.
//!
//! Each chart kind has its own file with one function that turns a study's [`ReportData`] (and
//! its [`Summary`]) into a [`Chart`]: a plain description (title, legend, lines or bars) that this
//! module renders to either format with the same layout code. The text is set in DejaVu Sans,
//! embedded in the binary (`reports/fonts/`, Bitstream Vera licence), so rendering needs no system
//! font library. A strategy keeps its colour in every chart: the colour is picked from a fixed
//! palette by the label's position in the scenario.
//!
//! Layout: title on top, the legend in a column on the right (the canvas grows to fit it, so it
//! never covers data), the plot in between. Line charts show the mean over replications with a
//! shaded 95% confidence band; bar charts are horizontal, one row per label (so long labels
//! stay legible), one panel per measure, with 95% confidence whiskers. Rendering is a pure
//! function of those two, so the files are byte-identical from run to run, and `fulcrum report`
//! draws the same ones again from `summary.json` and `report-data.json`.

mod balance;
mod detection;
mod heatmap;
mod recovery;
mod response_bars;
mod response_cdf;
mod throughput;
mod utilisation;

pub use balance::balance_chart;
pub use detection::{detection_cdf_chart, detection_chart};
pub use heatmap::{heat_colour, heat_grid, heatmap_chart};
pub use recovery::recovery_chart;
pub use response_bars::response_bars_chart;
pub use response_cdf::response_cdf_chart;
pub use throughput::throughput_chart;
pub use utilisation::utilisation_chart;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::ranged1d::{AsRangedCoord, SegmentValue, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::data::Series;
use crate::sweep::Exact;
use crate::{stats, ReportData, Summary};

/// DejaVu Sans 2.37 (Bitstream Vera licence, `reports/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
/// The family name the font is registered under.
const FAMILY: &str = "sans-serif";

/// Registers the embedded font with plotters, once per process.
fn font_ready() -> io::Result<()> {
    static READY: OnceLock<bool> = OnceLock::new();
    let ok = *READY.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(io::Error::other("the embedded chart font cannot be read"))
    }
}

/// Strategy colours, indexed by label position (cycled past the end): Tableau's 10, then their
/// lighter partners.
const PALETTE: [RGBColor; 20] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(174, 199, 232),
    RGBColor(255, 187, 120),
    RGBColor(152, 223, 138),
    RGBColor(255, 152, 150),
    RGBColor(197, 176, 213),
    RGBColor(196, 156, 148),
    RGBColor(247, 182, 210),
    RGBColor(199, 199, 199),
    RGBColor(219, 219, 141),
    RGBColor(158, 218, 229),
];

/// The colour of the label at `index` in scenario order.
pub fn label_colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

const TITLE_SIZE: f64 = 22.0;
const TEXT_SIZE: f64 = 14.0;
const AXIS_SIZE: f64 = 15.0;
const LEGEND_ROW: u32 = 20;
const MIN_WIDTH: u32 = 1200;
/// Most lines whose confidence bands are drawn.
pub const MAX_BANDS: usize = 8;
const MIN_HEIGHT: u32 = 700;

/// A legend entry.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendEntry {
    /// Text.
    pub text: String,
    /// Colour of the swatch.
    pub colour: RGBColor,
    /// A thin line (a marker) rather than a filled swatch.
    pub thin: bool,
}

/// One line of a line chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Colour.
    pub colour: RGBColor,
    /// Points in drawing order.
    pub points: Vec<(f64, f64)>,
    /// A shaded polygon around the line (its confidence band), if any.
    pub band: Option<Vec<(f64, f64)>>,
}

/// A vertical marker line across the plot (e.g. a fault).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Marker {
    /// Where, on the x axis.
    pub x: f64,
    /// Colour.
    pub colour: RGBColor,
}

/// Lines over a shared x axis. Bands are drawn only when there are at most [`MAX_BANDS`] lines:
/// beyond that they hide the lines.
#[derive(Clone, Debug, PartialEq)]
pub struct LinePlot {
    /// X axis description, with its unit.
    pub x_desc: String,
    /// Y axis description, with its unit.
    pub y_desc: String,
    /// Logarithmic x axis (every x must then be positive).
    pub x_log: bool,
    /// The lines, drawn in order.
    pub lines: Vec<Line>,
    /// Vertical markers, drawn under the lines.
    pub markers: Vec<Marker>,
}

/// Mean with an optional 95% interval.
pub type Estimate = (f64, Option<(f64, f64)>);

/// One panel of a bar chart: a value per row.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// Panel title.
    pub title: String,
    /// X axis description, with its unit.
    pub x_desc: String,
    /// Per row, in row order; `None` (or a non-finite mean) draws no bar.
    pub values: Vec<Option<Estimate>>,
}

/// Horizontal bars: one row per label, one panel per measure. The row names are the legend.
#[derive(Clone, Debug, PartialEq)]
pub struct BarPlot {
    /// Row names, top to bottom.
    pub rows: Vec<String>,
    /// Row colours.
    pub colours: Vec<RGBColor>,
    /// Panels, left to right.
    pub panels: Vec<Panel>,
}

/// A grid of coloured cells: rows top to bottom (in named groups), columns along a time axis.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatPlot {
    /// X axis description, with its unit.
    pub x_desc: String,
    /// Y axis description.
    pub y_desc: String,
    /// Per column, its x range.
    pub columns: Vec<(f64, f64)>,
    /// `cells[row][column]`, each in [0, 1] (NaN: no data, left blank).
    pub cells: Vec<Vec<f64>>,
    /// `(name, first row, rows)` of each group, top to bottom.
    pub groups: Vec<(String, usize, usize)>,
}

/// What a chart shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Plot {
    /// Lines.
    Lines(LinePlot),
    /// Bars.
    Bars(BarPlot),
    /// A heatmap.
    Heat(HeatPlot),
}

/// A chart ready to render.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// File stem (`charts/<name>.svg`, `.png`).
    pub name: &'static str,
    /// Title.
    pub title: String,
    /// Legend, top to bottom.
    pub legend: Vec<LegendEntry>,
    /// The plot.
    pub plot: Plot,
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("cannot draw chart: {e}"))
}

fn text_width(text: &str, size: f64) -> u32 {
    (FAMILY, size).into_font().box_size(text).map_or(text.chars().count() as u32 * size as u32, |(w, _)| w)
}

/// Numbers for tick labels: short, without trailing zeros or float noise.
fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    let s = if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{:.*}", (2 - a.log10().floor() as i32).clamp(2, 9) as usize, v)
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

impl Chart {
    /// Canvas size in pixels: at least 1200 × 700, larger when the legend or the bar rows need it.
    pub fn size(&self) -> (u32, u32) {
        let legend_h = 80 + LEGEND_ROW * self.legend.len() as u32;
        let (plot_w, plot_h) = match &self.plot {
            Plot::Lines(_) => (850, 0),
            Plot::Heat(h) => {
                let names = h.groups.iter().map(|g| text_width(&g.0, TEXT_SIZE)).max().unwrap_or(0);
                (names + 1000, 0)
            }
            Plot::Bars(b) => {
                let names = b.rows.iter().map(|r| text_width(r, TEXT_SIZE)).max().unwrap_or(0);
                (names + 40 + 260 * b.panels.len() as u32, 160 + 24 * b.rows.len() as u32)
            }
        };
        let w = (plot_w + self.legend_width()).max(MIN_WIDTH);
        (w, legend_h.max(plot_h).max(MIN_HEIGHT))
    }

    fn legend_width(&self) -> u32 {
        if self.legend.is_empty() {
            return 0;
        }
        self.legend.iter().map(|e| text_width(&e.text, TEXT_SIZE)).max().unwrap_or(0) + 60
    }

    /// The chart as an SVG document.
    pub fn svg(&self) -> io::Result<String> {
        font_ready()?;
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, self.size()).into_drawing_area();
            self.draw(&root).map_err(draw_err)?;
            root.present().map_err(draw_err)?;
        }
        Ok(out)
    }

    /// The chart as a PNG image (RGB, 8 bits per channel).
    pub fn png(&self) -> io::Result<Vec<u8>> {
        font_ready()?;
        let (w, h) = self.size();
        let mut pixels = vec![0u8; w as usize * h as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
            self.draw(&root).map_err(draw_err)?;
            root.present().map_err(draw_err)?;
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Default);
        let mut writer = encoder.write_header().map_err(io::Error::other)?;
        writer.write_image_data(&pixels).map_err(io::Error::other)?;
        writer.finish().map_err(io::Error::other)?;
        Ok(out)
    }

    /// Writes `<dir>/<name>.svg` and `<dir>/<name>.png`, each atomically; returns their paths.
    pub fn write(&self, dir: &Path) -> io::Result<[PathBuf; 2]> {
        let svg_path = dir.join(format!("{}.svg", self.name));
        let svg = self.svg()?;
        crate::write_atomic(&svg_path, |w| w.write_all(svg.as_bytes()))?;
        let png_path = dir.join(format!("{}.png", self.name));
        let png = self.png()?;
        crate::write_atomic(&png_path, |w| w.write_all(&png))?;
        Ok([svg_path, png_path])
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, plotters::coord::Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let body = root.titled(&self.title, (FAMILY, TITLE_SIZE))?;
        let (w, _) = body.dim_in_pixel();
        let (plot_area, legend_area) = body.split_horizontally(w.saturating_sub(self.legend_width()));
        self.draw_legend(&legend_area)?;
        match &self.plot {
            Plot::Lines(p) => {
                let (x0, x1) = x_extent(p);
                if p.x_log {
                    draw_lines(&plot_area, p, (x0..x1).log_scale())
                } else {
                    draw_lines(&plot_area, p, x0..x1)
                }
            }
            Plot::Bars(b) => draw_bars(&plot_area, b),
            Plot::Heat(h) => draw_heat(&plot_area, h),
        }
    }

    fn draw_legend<DB: DrawingBackend>(&self, area: &DrawingArea<DB, plotters::coord::Shift>) -> DrawResult<DB> {
        let style = TextStyle::from((FAMILY, TEXT_SIZE).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        for (i, e) in self.legend.iter().enumerate() {
            let y = 30 + LEGEND_ROW as i32 * i as i32;
            if e.thin {
                area.draw(&PathElement::new(vec![(18, y - 7), (18, y + 7)], e.colour.stroke_width(2)))?;
            } else {
                area.draw(&Rectangle::new([(8, y - 3), (28, y + 3)], e.colour.filled()))?;
            }
            area.draw(&Text::new(e.text.clone(), (36, y), style.clone()))?;
        }
        Ok(())
    }
}

fn x_extent(p: &LinePlot) -> (f64, f64) {
    let xs = p.lines.iter().flat_map(|l| l.points.iter().map(|pt| pt.0)).filter(|x| x.is_finite());
    let xs = xs.filter(|&x| !p.x_log || x > 0.0);
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if !lo.is_finite() {
        return if p.x_log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if hi > lo {
        (lo, hi)
    } else if p.x_log {
        (lo / 2.0, hi * 2.0)
    } else {
        (lo - 0.5, hi + 0.5)
    }
}

fn bands_drawn(lines: usize) -> bool {
    lines <= MAX_BANDS
}

/// How a line chart's title describes its lines: the mean over replications, and its band when
/// one is drawn.
fn mean_note(data: &ReportData) -> String {
    if data.replications >= 2 && bands_drawn(data.labels.len()) {
        format!("mean of {} replications, 95% band", data.replications)
    } else {
        format!("mean of {} replications", data.replications)
    }
}

fn y_extent(p: &LinePlot) -> (f64, f64) {
    let ys = p
        .lines
        .iter()
        .flat_map(|l| {
            l.points.iter().chain(l.band.iter().flatten().filter(|_| bands_drawn(p.lines.len()))).map(|pt| pt.1)
        })
        .filter(|y| y.is_finite());
    let hi = ys.fold(0.0f64, f64::max);
    (0.0, if hi > 0.0 { hi * 1.05 } else { 1.0 })
}

fn draw_lines<DB, X>(area: &DrawingArea<DB, plotters::coord::Shift>, p: &LinePlot, x: X) -> DrawResult<DB>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let (y0, y1) = y_extent(p);
    let mut chart =
        ChartBuilder::on(area).margin(12).x_label_area_size(55).y_label_area_size(80).build_cartesian_2d(x, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(p.x_desc.as_str())
        .y_desc(p.y_desc.as_str())
        .x_labels(10)
        .y_labels(8)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .label_style((FAMILY, TEXT_SIZE))
        .axis_desc_style((FAMILY, AXIS_SIZE))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    for m in &p.markers {
        chart.draw_series(std::iter::once(PathElement::new(vec![(m.x, y0), (m.x, y1)], m.colour.stroke_width(1))))?;
    }
    for l in p.lines.iter().filter(|_| bands_drawn(p.lines.len())) {
        if let Some(band) = &l.band {
            chart.draw_series(std::iter::once(Polygon::new(band.clone(), l.colour.mix(0.18).filled())))?;
        }
    }
    for l in &p.lines {
        chart.draw_series(LineSeries::new(l.points.iter().copied(), l.colour.stroke_width(2)))?;
    }
    Ok(())
}

/// Quantisation of heatmap colours: neighbouring cells of one row whose values fall in the same
/// of these steps are drawn as one rectangle (a smaller SVG, the same picture).
const HEAT_LEVELS: f64 = crate::data::HeatGrid::LEVELS as f64;

fn draw_heat<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, h: &HeatPlot) -> DrawResult<DB> {
    let rows = h.cells.len().max(1) as f64;
    let x0 = h.columns.first().map_or(0.0, |c| c.0);
    let x1 = h.columns.last().map_or(1.0, |c| c.1).max(x0 + 1e-9);
    let names_w = h.groups.iter().map(|g| text_width(&g.0, TEXT_SIZE)).max().unwrap_or(0) + 24;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(55)
        .y_label_area_size(names_w.max(40))
        .build_cartesian_2d(x0..x1, 0.0..rows)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(h.x_desc.as_str())
        .y_desc(h.y_desc.as_str())
        .x_labels(10)
        .y_labels(0)
        .x_label_formatter(&|v| tick(*v))
        .label_style((FAMILY, TEXT_SIZE))
        .axis_desc_style((FAMILY, AXIS_SIZE))
        .draw()?;
    // Row r spans y in [rows - r - 1, rows - r]: the first row on top.
    let level = |v: f64| if v.is_finite() { (v.clamp(0.0, 1.0) * HEAT_LEVELS).round() as i64 } else { -1 };
    for (r, row) in h.cells.iter().enumerate() {
        let (y_lo, y_hi) = (rows - r as f64 - 1.0, rows - r as f64);
        let mut c = 0;
        while c < row.len() {
            let l = level(row[c]);
            let mut end = c + 1;
            while end < row.len() && level(row[end]) == l {
                end += 1;
            }
            if l >= 0 {
                let colour = heat_colour(l as f64 / HEAT_LEVELS);
                let rect = Rectangle::new([(h.columns[c].0, y_lo), (h.columns[end - 1].1, y_hi)], colour.filled());
                chart.draw_series(std::iter::once(rect))?;
            }
            c = end;
        }
    }
    // Group separators and names (names in the label area, centred on their rows).
    let style = TextStyle::from((FAMILY, TEXT_SIZE).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    let base = area.get_base_pixel();
    for (name, first, n) in &h.groups {
        if *first > 0 {
            let y = rows - *first as f64;
            chart.draw_series(std::iter::once(PathElement::new(vec![(x0, y), (x1, y)], WHITE.stroke_width(2))))?;
        }
        let (px, py) = chart.backend_coord(&(x0, rows - *first as f64 - *n as f64 / 2.0));
        area.draw(&Text::new(name.clone(), (px - base.0 - 8, py - base.1), style.clone()))?;
    }
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, b: &BarPlot) -> DrawResult<DB> {
    let n = b.rows.len();
    let k = b.panels.len().max(1);
    let names_w = b.rows.iter().map(|r| text_width(r, TEXT_SIZE)).max().unwrap_or(0) + 20;
    let (w, _) = area.dim_in_pixel();
    let panel_w = w.saturating_sub(names_w) / k as u32;
    let breaks: Vec<u32> = (1..k as u32).map(|i| names_w + panel_w * i).collect();
    let areas = area.split_by_breakpoints(breaks, [] as [u32; 0]);
    for (i, (panel, sub)) in b.panels.iter().zip(&areas).enumerate() {
        let hi = panel
            .values
            .iter()
            .flatten()
            .filter(|e| e.0.is_finite())
            .map(|e| e.1.map_or(e.0, |ci| ci.1.max(e.0)))
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        let x1 = if hi > 0.0 { hi * 1.08 } else { 1.0 };
        let row_of = |i: usize| n - 1 - i;
        let mut chart = ChartBuilder::on(sub)
            .margin(10)
            .caption(panel.title.as_str(), (FAMILY, AXIS_SIZE + 1.0))
            .x_label_area_size(55)
            .y_label_area_size(if i == 0 { names_w } else { 0 })
            .build_cartesian_2d(0.0..x1, (0..n.saturating_sub(1)).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(panel.x_desc.as_str())
            .x_labels(5)
            .y_labels(n + 1)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(r) if *r < n => b.rows[n - 1 - *r].clone(),
                _ => String::new(),
            })
            .label_style((FAMILY, TEXT_SIZE))
            .axis_desc_style((FAMILY, AXIS_SIZE))
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()?;
        for (row, value) in panel.values.iter().enumerate() {
            let Some((mean, ci)) = *value else { continue };
            if !mean.is_finite() {
                continue;
            }
            let r = row_of(row);
            let colour = b.colours[row];
            let mut bar = Rectangle::new(
                [(0.0, SegmentValue::Exact(r)), (mean.max(0.0), SegmentValue::Exact(r + 1))],
                colour.filled(),
            );
            bar.set_margin(3, 3, 0, 0);
            chart.draw_series(std::iter::once(bar))?;
            if let Some((lo, hi)) = ci.filter(|c| c.0.is_finite() && c.1.is_finite()) {
                chart.draw_series(std::iter::once(ErrorBar::new_horizontal(
                    SegmentValue::CenterOf(r),
                    lo.max(0.0),
                    mean,
                    hi,
                    BLACK.stroke_width(1),
                    8,
                )))?;
            }
        }
    }
    Ok(())
}

/// Legend entries for every label, in label order.
fn label_legend(data: &ReportData) -> Vec<LegendEntry> {
    data.labels
        .iter()
        .enumerate()
        .map(|(i, l)| LegendEntry { text: l.clone(), colour: label_colour(i), thin: false })
        .collect()
}

/// Per label, the mean over replications of a time-series value, with its 95% band (clamped at
/// zero) when there are two or more replications. Replications are cut to the shortest series.
fn mean_series(data: &ReportData, column: impl Fn(&Series) -> &[Exact]) -> Vec<Line> {
    data.runs
        .iter()
        .enumerate()
        .map(|(i, runs)| {
            let len = runs.iter().map(|r| r.series.len()).min().unwrap_or(0);
            let mut points = Vec::with_capacity(len);
            let mut lower = Vec::with_capacity(len);
            let mut upper = Vec::with_capacity(len);
            let mut values = Vec::with_capacity(runs.len());
            for k in 0..len {
                values.clear();
                values.extend(runs.iter().map(|r| column(&r.series)[k].0));
                let t = runs[0].series.t_ns[k] as f64 / 1e9;
                let (mean, ci) = stats::mean_ci95(&values);
                points.push((t, mean));
                if let Some((lo, hi)) = ci {
                    lower.push((t, lo.max(0.0)));
                    upper.push((t, hi));
                }
            }
            let band = (!upper.is_empty()).then(|| upper.into_iter().chain(lower.into_iter().rev()).collect());
            Line { colour: label_colour(i), points, band }
        })
        .collect()
}

/// Per label, a metric's mean and 95% interval from the summary (`None` where it is missing).
fn metric_estimates(summary: &Summary, metric: &str) -> Vec<Option<Estimate>> {
    summary.results.iter().map(|r| r.metrics.get(metric).map(|m| (m.mean, m.ci95.map(|[lo, hi]| (lo, hi))))).collect()
}

/// A panel of bars: a summary metric per label.
fn metric_panel(summary: &Summary, title: impl Into<String>, x_desc: impl Into<String>, metric: &str) -> Panel {
    Panel { title: title.into(), x_desc: x_desc.into(), values: metric_estimates(summary, metric) }
}

/// A bar chart over every label, one row each (the row names are the legend).
fn label_bars(data: &ReportData, name: &'static str, title: String, panels: Vec<Panel>) -> Chart {
    Chart {
        name,
        title,
        legend: vec![],
        plot: Plot::Bars(BarPlot {
            rows: data.labels.clone(),
            colours: (0..data.labels.len()).map(label_colour).collect(),
            panels,
        }),
    }
}

/// Every chart the data supports, in a fixed order.
///
/// `focus` is the index of the label whose nodes the heatmap shows (the report's baseline).
pub fn charts(data: &ReportData, summary: &Summary, focus: usize) -> Vec<Chart> {
    [
        balance_chart(data),
        throughput_chart(data),
        response_cdf_chart(data),
        response_bars_chart(data, summary),
        utilisation_chart(data, summary),
        recovery_chart(data, summary),
        detection_chart(data, summary),
        detection_cdf_chart(data),
        heatmap_chart(data, focus),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Study;
    use fulcrum_sim_core::metrics::{NodeSamples, RunOutput, SeriesPoint};
    use fulcrum_sim_core::SimTime;

    /// A study of `labels` labels × 2 replications with made-up series, CDFs and faults.
    pub(crate) fn study(labels: &[&str], with_faults: bool) -> Study {
        let run = |i: usize, rep: usize| {
            let s = (i + 1) as f64 + rep as f64 * 0.1;
            let mut metrics = vec![
                ("p50_response_s", s),
                ("p95_response_s", 2.0 * s),
                ("p99_response_s", 3.0 * s),
                ("utilization_mean", 0.5 + 0.01 * s),
                ("utilization_memory", 0.3),
            ];
            if with_faults {
                metrics.extend([
                    ("recovery_time_s", 4.0 * s),
                    ("recovery_time_p95_s", 5.0 * s),
                    ("detection_time_s", s),
                    ("detection_time_p95_s", 1.5 * s),
                    ("false_suspicions", rep as f64),
                ]);
            }
            RunOutput {
                metrics,
                series: (1..=50)
                    .map(|k| SeriesPoint {
                        t: SimTime(k * 10_000_000_000),
                        throughput_per_s: 10.0 + s,
                        load_cv: 0.1 * s,
                        utilization_mean: 0.5,
                        in_system: 3.0,
                    })
                    .collect(),
                node_utilization: vec![],
                tasks: None,
                events: None,
                decision_cost: None,
                batch_cost: None,
                decisions: None,
                node_samples: Some(NodeSamples {
                    nodes: 4,
                    cpu_utilization: (0..50 * 4).map(|k| ((k % 4) as f32 * 0.25 + s as f32 * 0.01).min(1.0)).collect(),
                    queued: (0..50 * 4).map(|k| (k % 3) as u32).collect(),
                    running: (0..50 * 4).map(|k| (k % 2) as u32).collect(),
                }),
                execs: None,
                alerts: vec![],
                detection_times: if with_faults { vec![0.5 * s, s, 2.0 * s] } else { vec![] },
                fault_times: if with_faults {
                    vec![(SimTime(100_000_000_000), "crash"), (SimTime(200_000_000_000), "partition")]
                } else {
                    vec![]
                },
                response_cdf: fulcrum_sim_core::metrics::RESPONSE_CDF_QUANTILES
                    .iter()
                    .map(|&q| (q, s * (0.01 + q)))
                    .collect(),
            }
        };
        Study {
            scenario_name: "test".into(),
            scenario_sha256: String::new(),
            seed: 1,
            replications: 2,
            class_names: vec!["t".into()],
            node_groups: vec![("n".into(), 0, 4)],
            labels: labels
                .iter()
                .map(|l| crate::LabelInfo {
                    label: l.to_string(),
                    balancer: l.to_string(),
                    detector: "none".into(),
                    failover: "none".into(),
                })
                .collect(),
            runs: (0..labels.len()).map(|i| (0..2).map(|rep| run(i, rep)).collect()).collect(),
            alert_rules: vec![],
        }
    }

    /// A study's chart inputs, against its first label.
    pub(crate) fn data(study: &Study) -> ReportData {
        ReportData::of(study, vec![], 0)
    }

    /// Renders a chart and checks both files: an SVG naming every expected series, and a PNG.
    pub(crate) fn check(chart: &Chart, expected: &[&str]) {
        let svg = chart.svg().unwrap();
        assert!(svg.starts_with("<svg"), "not an SVG: {}", &svg[..svg.len().min(80)]);
        assert!(svg.len() > 1000, "suspiciously small SVG ({} bytes)", svg.len());
        for name in expected {
            assert!(svg.contains(name), "{}: SVG lacks {name:?}", chart.name);
        }
        assert!(svg.contains(&chart.title), "{}: SVG lacks its title", chart.name);
        let png = chart.png().unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{}: not a PNG", chart.name);
        assert!(png.len() > 2000, "{}: suspiciously small PNG ({} bytes)", chart.name, png.len());
        assert_eq!(chart.svg().unwrap(), svg, "{}: SVG differs between renderings", chart.name);
        assert_eq!(chart.png().unwrap(), png, "{}: PNG differs between renderings", chart.name);
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(12000.0), "12000");
        assert_eq!(tick(0.0015), "0.0015");
        assert_eq!(tick(100.0), "100");
    }

    #[test]
    fn colours_follow_label_order() {
        assert_eq!(label_colour(0), PALETTE[0]);
        assert_eq!(label_colour(21), PALETTE[1]);
        let s = study(&["a", "b", "c"], false);
        let legend = label_legend(&data(&s));
        assert_eq!(legend.iter().map(|e| e.colour).collect::<Vec<_>>(), PALETTE[..3].to_vec());
    }

    #[test]
    fn every_chart_of_a_study_with_faults() {
        let s = study(&["alpha", "beta+phi+retry"], true);
        let summary = Summary::of(&s, "test");
        let names: Vec<&str> = charts(&data(&s), &summary, 0).iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "balance",
                "throughput",
                "response_cdf",
                "response_quantiles",
                "utilisation",
                "recovery",
                "detection",
                "detection_cdf",
                "heatmap"
            ]
        );
        let s = study(&["alpha"], false);
        let summary = Summary::of(&s, "test");
        assert_eq!(charts(&data(&s), &summary, 0).len(), 6, "no fault charts without failure detection");
    }

    #[test]
    fn the_legend_never_runs_off_the_canvas() {
        let labels: Vec<String> = (0..40).map(|i| format!("strategy-number-{i}")).collect();
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let s = study(&refs, false);
        let chart = balance_chart(&data(&s)).unwrap();
        let (_, h) = chart.size();
        assert!(h >= 80 + 40 * LEGEND_ROW, "height {h} cannot hold 40 legend rows");
        check(&chart, &["strategy-number-0", "strategy-number-39"]);
    }
}
