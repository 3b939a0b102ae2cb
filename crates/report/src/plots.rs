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

const SIZE: (u32, u32) = (900, 540);

fn range(vals: impl Iterator<Item = f64>, log: bool) -> Option<(f64, f64)> {
    let v: Vec<f64> = vals.filter(|x| x.is_finite() && (!log || *x > 0.0)).collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return None;
    }
    if log {
        let (lo, hi) = if hi / lo < 1.5 { (lo / 1.5, hi * 1.5) } else { (lo / 1.1, hi * 1.1) };
        Some((lo, hi))
    } else {
        let pad = if hi > lo { (hi - lo) * 0.06 } else { lo.abs().max(1.0) * 0.1 };
        Some((lo - pad, hi + pad))
    }
}

/// Draws `chart` as an SVG document; `None` when there is no finite point to draw.
pub fn render(chart: &Chart) -> Result<Option<String>, ReportError> {
    let xs = chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (Some(xr), Some(yr)) = (range(xs, chart.log_x), range(ys, false)) else {
        return Ok(None);
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, chart, xr, yr)
            .map_err(|message| ReportError::Plot { plot: chart.title.clone(), message })?;
    }
    Ok(Some(svg))
}

fn draw(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &Chart,
    xr: (f64, f64),
    yr: (f64, f64),
) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(&chart.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80);
    let finite = |s: &Series, log: bool| -> Vec<(f64, f64)> {
        s.points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!log || *x > 0.0))
            .collect()
    };
    macro_rules! body {
        ($ctx:expr, $log:expr) => {{
            let mut ctx = $ctx;
            ctx.configure_mesh()
                .x_desc(chart.x_label.as_str())
                .y_desc(chart.y_label.as_str())
                .label_style(("sans-serif", 15))
                .axis_desc_style(("sans-serif", 17))
                .draw()
                .map_err(|x| e(&x))?;
            for (i, s) in chart.series.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                let pts = finite(s, $log);
                if s.line {
                    ctx.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                        .map_err(|x| e(&x))?;
                }
                ctx.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                    .map_err(|x| e(&x))?
                    .label(s.label.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                    });
            }
            ctx.configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 15))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(|x| e(&x))?;
        }};
    }
    if chart.log_x {
        let ctx =
            builder.build_cartesian_2d((xr.0..xr.1).log_scale(), yr.0..yr.1).map_err(|x| e(&x))?;
        body!(ctx, true);
    } else {
        let ctx = builder.build_cartesian_2d(xr.0..xr.1, yr.0..yr.1).map_err(|x| e(&x))?;
        body!(ctx, false);
    }
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
