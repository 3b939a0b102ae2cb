//! SVG plots drawn with plotters (SPEC §5 figures): line charts over a linear or logarithmic x
//! axis. Every axis names its quantity and unit. Output is a string, so rendering stays pure and
//! deterministic (no fonts are read: plotters' SVG backend writes text elements).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::ReportError;

/// One named series of (x, y) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Draw a line through the points (else markers only).
    pub line: bool,
}

impl Series {
    /// A line with markers.
    pub fn line(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series { label: label.into(), points, line: true }
    }

    /// Markers only.
    pub fn points(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series { label: label.into(), points, line: false }
    }
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Caption.
    pub title: String,
    /// x-axis label with unit.
    pub x_label: String,
    /// y-axis label with unit.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Series.
    pub series: Vec<Series>,
}

/// A series ready to draw: label, line or markers only, points (x already log10 on a log axis).
type Prepared = (String, bool, Vec<(f64, f64)>);

const SIZE: (u32, u32) = (900, 540);

/// Approximate height of the plotting area and of one legend row, in pixels: the y range is padded
/// at the top so the legend (upper right) does not cover data.
const PLOT_HEIGHT_PX: f64 = 420.0;
const LEGEND_ROW_PX: f64 = 21.0;

/// Colour-blind-friendly, high-contrast colours (Tableau 10 without its pale yellow-green).
const COLORS: [(u8, u8, u8); 9] = [
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (255, 127, 14),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (23, 190, 207),
];

fn color(i: usize) -> RGBColor {
    let (r, g, b) = COLORS[i % COLORS.len()];
    RGBColor(r, g, b)
}

fn range(vals: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let v: Vec<f64> = vals.filter(|x| x.is_finite()).collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return None;
    }
    let pad = if hi > lo { (hi - lo) * 0.06 } else { lo.abs().max(1.0) * 0.1 };
    Some((lo - pad, hi + pad))
}

/// Draws `chart` as an SVG document; `None` when there is no finite point to draw.
///
/// A logarithmic x axis is drawn as log10(x) on a linear axis with tick labels printed as x
/// (plotters' own log axis prints no ticks when the data span less than a decade).
pub fn render(chart: &Chart) -> Result<Option<String>, ReportError> {
    let series: Vec<Prepared> = chart
        .series
        .iter()
        .map(|s| {
            let pts = s
                .points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite() && (!chart.log_x || *x > 0.0))
                .map(|&(x, y)| (if chart.log_x { x.log10() } else { x }, y))
                .collect();
            (s.label.clone(), s.line, pts)
        })
        .collect();
    let xs = series.iter().flat_map(|s| s.2.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.2.iter().map(|p| p.1));
    let (Some(xr), Some(mut yr)) = (range(xs), range(ys)) else {
        return Ok(None);
    };
    let legend_frac = ((series.len() as f64 * LEGEND_ROW_PX + 24.0) / PLOT_HEIGHT_PX).min(0.6);
    yr.1 += (yr.1 - yr.0) * legend_frac / (1.0 - legend_frac);
    let integer_x = !chart.log_x && series.iter().all(|s| s.2.iter().all(|p| p.0.fract() == 0.0));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, chart, &series, xr, yr, integer_x)
            .map_err(|message| ReportError::Plot { plot: chart.title.clone(), message })?;
    }
    Ok(Some(svg))
}

fn x_tick(v: f64, log: bool, integer: bool) -> String {
    if log {
        let x = 10f64.powf(v);
        if x >= 1e4 { format!("{x:.2e}") } else { format!("{x:.3}") }
    } else if integer {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn draw(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &Chart,
    series: &[Prepared],
    xr: (f64, f64),
    yr: (f64, f64),
    integer_x: bool,
) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
        .map_err(|x| e(&x))?;
    let log = chart.log_x;
    let fmt = move |v: &f64| x_tick(*v, log, integer_x);
    ctx.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_label_formatter(&fmt)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()
        .map_err(|x| e(&x))?;
    for (i, (label, line, pts)) in series.iter().enumerate() {
        let c = color(i);
        if *line {
            ctx.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2))).map_err(|x| e(&x))?;
        }
        ctx.draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled())))
            .map_err(|x| e(&x))?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
    }
    ctx.configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_labelled_axes_and_is_deterministic() {
        let chart = Chart {
            title: "t".into(),
            x_label: "budget (parameter·steps)".into(),
            y_label: "loss (nats/token)".into(),
            log_x: true,
            series: vec![Series::line("K=8", vec![(1e6, 7.0), (1e7, 6.5)])],
        };
        let a = render(&chart).expect("draw").expect("points");
        let b = render(&chart).expect("draw").expect("points");
        assert_eq!(a, b);
        assert!(a.starts_with("<svg"), "{}", &a[..40.min(a.len())]);
        assert!(a.contains("loss (nats/token)") && a.contains("K=8"));
    }

    #[test]
    fn nothing_finite_draws_nothing() {
        let chart = Chart {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            log_x: false,
            series: vec![Series::line("a", vec![(f64::NAN, 1.0)])],
        };
        assert_eq!(render(&chart).expect("no error"), None);
    }
}
