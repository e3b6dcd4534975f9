//! Charts drawn on the server as inline SVG: no script, no network, the same picture in
//! every browser and in print. A chart is a pure function of labelled points; the page
//! puts it next to a data table with the same figures, for screen readers and for anyone
//! who wants the numbers.
//!
//! The SVG is accessible on its own too: `role="img"` with a `<title>` and `<desc>` the
//! caller writes in the page's language, referenced by `aria-labelledby`. Every piece of
//! text that goes into the markup (title, description, labels) is escaped here, so the
//! result can be inserted into a template as is.

use std::fmt::Write;

/// The drawing's coordinate system: the chart scales to its container by CSS, so the
/// numbers below are the same for every chart.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 48.0;

/// One point of a series: its label on the x axis and its value, if there is one (a
/// missing value breaks the line, it is not drawn as zero).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub value: Option<f64>,
}

/// A line chart of `points` (in order, evenly spaced) on a y axis from `min` to `max`.
#[derive(Clone, Copy)]
pub struct LineChart<'a> {
    /// Unique on the page: the ids of the title and description derive from it.
    pub id: &'a str,
    pub title: &'a str,
    /// What the chart shows, in words (the figures are in the table beside it).
    pub description: &'a str,
    pub points: &'a [Point],
    pub min: f64,
    pub max: f64,
    /// How a y-axis value is written (`|v| format!("{v:.0}")`).
    pub format: &'a dyn Fn(f64) -> String,
}

/// Text for SVG content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An id safe in an attribute and a CSS selector: letters, digits, `-` and `_` only.
fn safe_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The x of point `i` of `n` (a lone point sits in the middle).
fn x_of(i: usize, n: usize) -> f64 {
    let span = WIDTH - LEFT - RIGHT;
    if n <= 1 {
        LEFT + span / 2.0
    } else {
        LEFT + span * i as f64 / (n - 1) as f64
    }
}

/// The y of `v` on `min..=max` (clamped into it).
fn y_of(v: f64, min: f64, max: f64) -> f64 {
    let span = HEIGHT - TOP - BOTTOM;
    let range = if max > min { max - min } else { 1.0 };
    let share = ((v - min) / range).clamp(0.0, 1.0);
    TOP + span * (1.0 - share)
}

/// Two decimals at most, no trailing zeros: stable markup for tests and diffs.
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// The opening `<svg>` with its title and description, and the y axis: gridlines at the
/// bottom, middle and top with their values.
fn frame(
    id: &str,
    title: &str,
    description: &str,
    min: f64,
    max: f64,
    format: &dyn Fn(f64) -> String,
) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        s,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" \
         role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" preserveAspectRatio=\"xMidYMid meet\">\
         <title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">{desc}</desc>",
        w = num(WIDTH),
        h = num(HEIGHT),
        title = escape(title),
        desc = escape(description),
    );
    s.push_str("<g class=\"chart-grid\" aria-hidden=\"true\">");
    for v in [min, (min + max) / 2.0, max] {
        let y = num(y_of(v, min, max));
        let _ = write!(
            s,
            "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\"/>\
             <text x=\"{tx}\" y=\"{y}\" text-anchor=\"end\" dominant-baseline=\"middle\">{label}</text>",
            x1 = num(LEFT),
            x2 = num(WIDTH - RIGHT),
            tx = num(LEFT - 8.0),
            label = escape(&format(v)),
        );
    }
    s.push_str("</g>");
    s
}

/// The x axis labels, each under its point.
fn x_labels(s: &mut String, points: &[Point], x: impl Fn(usize) -> f64) {
    s.push_str("<g class=\"chart-labels\" aria-hidden=\"true\">");
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"middle\">{label}</text>",
            x = num(x(i)),
            y = num(HEIGHT - BOTTOM + 24.0),
            label = escape(&p.label),
        );
    }
    s.push_str("</g>");
}

/// The chart as an `<svg>` element.
pub fn line_chart(chart: &LineChart<'_>) -> String {
    let id = safe_id(chart.id);
    let (min, max) = (chart.min, chart.max.max(chart.min));
    let n = chart.points.len();
    let mut s = frame(&id, chart.title, chart.description, min, max, chart.format);
    x_labels(&mut s, chart.points, |i| x_of(i, n));
    // The line, broken where a value is missing, and a dot on every value.
    s.push_str("<g class=\"chart-series\" aria-hidden=\"true\">");
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, s: &mut String| {
        if run.len() > 1 {
            let _ = write!(s, "<polyline fill=\"none\" points=\"{}\"/>", run.join(" "));
        }
        run.clear();
    };
    for (i, p) in chart.points.iter().enumerate() {
        match p.value {
            Some(v) => run.push(format!("{},{}", num(x_of(i, n)), num(y_of(v, min, max)))),
            None => flush(&mut run, &mut s),
        }
    }
    flush(&mut run, &mut s);
    for (i, p) in chart.points.iter().enumerate() {
        if let Some(v) = p.value {
            let _ = write!(
                s,
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"4\"/>",
                x = num(x_of(i, n)),
                y = num(y_of(v, min, max)),
            );
        }
    }
    s.push_str("</g></svg>");
    s
}

/// A bar chart: one bar per point from 0 (a missing value has none), with the same
/// accessible frame as [`line_chart`]. `min` and `points` order are the caller's.
pub fn bar_chart(chart: &LineChart<'_>) -> String {
    let id = safe_id(chart.id);
    let (min, max) = (chart.min, chart.max.max(chart.min));
    let n = chart.points.len().max(1);
    let slot = (WIDTH - LEFT - RIGHT) / n as f64;
    let center = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let mut s = frame(&id, chart.title, chart.description, min, max, chart.format);
    x_labels(&mut s, chart.points, center);
    s.push_str("<g class=\"chart-bars\" aria-hidden=\"true\">");
    let width = (slot * 0.6).min(48.0);
    let base = y_of(min.max(0.0).min(max), min, max);
    for (i, p) in chart.points.iter().enumerate() {
        if let Some(v) = p.value {
            let top = y_of(v, min, max);
            let _ = write!(
                s,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\"/>",
                x = num(center(i) - width / 2.0),
                y = num(top.min(base)),
                w = num(width),
                h = num((base - top).abs()),
            );
        }
    }
    s.push_str("</g></svg>");
    s
}

/// Two series side by side per slot (sold against staffed, say): the first bar in the
/// plain colour, the second in the alternate one, with a legend naming both under the
/// axis. Long series label only every `label_every`-th slot (1: every one) so the labels
/// stay readable; the table beside the chart has them all.
pub struct PairedBarChart<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    /// Slot labels and the two values of each slot.
    pub slots: &'a [(String, f64, f64)],
    /// The two series' names, in the page's language.
    pub legend: [&'a str; 2],
    pub max: f64,
    pub label_every: usize,
    pub format: &'a dyn Fn(f64) -> String,
}

/// The paired chart as an `<svg>` element, on a y axis from 0 to `max`.
pub fn paired_bar_chart(chart: &PairedBarChart<'_>) -> String {
    let id = safe_id(chart.id);
    let max = chart.max.max(0.0);
    let n = chart.slots.len().max(1);
    let slot = (WIDTH - LEFT - RIGHT) / n as f64;
    let center = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let mut s = frame(&id, chart.title, chart.description, 0.0, max, chart.format);
    let every = chart.label_every.max(1);
    let labels: Vec<Point> = chart
        .slots
        .iter()
        .enumerate()
        .map(|(i, (label, _, _))| Point {
            label: if i % every == 0 {
                label.clone()
            } else {
                String::new()
            },
            value: None,
        })
        .collect();
    x_labels(&mut s, &labels, center);
    let width = (slot * 0.4).min(24.0);
    let base = y_of(0.0, 0.0, max);
    for (series, class) in [(0, "chart-bars"), (1, "chart-bars chart-bars-alt")] {
        let _ = write!(s, "<g class=\"{class}\" aria-hidden=\"true\">");
        for (i, (_, first, second)) in chart.slots.iter().enumerate() {
            let v = if series == 0 { *first } else { *second };
            let top = y_of(v, 0.0, max);
            let x = if series == 0 {
                center(i) - width
            } else {
                center(i)
            };
            let _ = write!(
                s,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\"/>",
                x = num(x),
                y = num(top.min(base)),
                w = num(width),
                h = num((base - top).abs()),
            );
        }
        s.push_str("</g>");
    }
    // The legend, under the labels: a swatch and the series' name each.
    s.push_str("<g class=\"chart-legend\" aria-hidden=\"true\">");
    let y = HEIGHT - 6.0;
    for (i, (name, class)) in chart
        .legend
        .iter()
        .zip(["chart-bars", "chart-bars chart-bars-alt"])
        .enumerate()
    {
        let x = LEFT + 200.0 * i as f64;
        let _ = write!(
            s,
            "<g class=\"{class}\"><rect x=\"{rx}\" y=\"{ry}\" width=\"12\" height=\"12\"/></g>\
             <text x=\"{tx}\" y=\"{y}\">{name}</text>",
            rx = num(x),
            ry = num(y - 11.0),
            tx = num(x + 18.0),
            y = num(y),
            name = escape(name),
        );
    }
    s.push_str("</g></svg>");
    s
}

/// One band of a strip: from `start` to `end` as shares (0 to 1) of the row, drawn in the
/// style `class` names (a CSS class, e.g. `strip-away`).
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub start: f64,
    pub end: f64,
    pub class: &'static str,
}

/// One row of a strip chart: its label (left) and its bands.
#[derive(Debug, Clone, PartialEq)]
pub struct StripRow {
    pub label: String,
    pub bands: Vec<Band>,
    /// A thinner band drawn under the row (e.g. time on shift), in the same shares.
    pub under: Vec<(f64, f64)>,
}

/// A strip chart: a row per item (a day), each a bar across the full width with coloured
/// bands, and `ticks` labelled along the top (e.g. hours of the day at their shares).
pub struct StripChart<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub rows: &'a [StripRow],
    pub ticks: &'a [(f64, String)],
}

const STRIP_ROW: f64 = 28.0;
const STRIP_BAR: f64 = 16.0;
const STRIP_LEFT: f64 = 96.0;

/// The strip chart as an `<svg>` element, with the same accessible frame as the others.
pub fn strip_chart(chart: &StripChart<'_>) -> String {
    let id = safe_id(chart.id);
    let height = TOP + 16.0 + STRIP_ROW * chart.rows.len() as f64 + 8.0;
    let span = WIDTH - STRIP_LEFT - RIGHT;
    let x = |share: f64| STRIP_LEFT + span * share.clamp(0.0, 1.0);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart strip\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" \
         role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" preserveAspectRatio=\"xMidYMid meet\">\
         <title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">{desc}</desc>",
        w = num(WIDTH),
        h = num(height),
        title = escape(chart.title),
        desc = escape(chart.description),
    );
    s.push_str("<g class=\"chart-grid\" aria-hidden=\"true\">");
    for (share, label) in chart.ticks {
        // A label at the right edge ends there: centred, it would overhang the picture and
        // be cut off (the left edge has the row labels' margin).
        let anchor = if *share >= 1.0 { "end" } else { "middle" };
        let _ = write!(
            s,
            "<line x1=\"{x}\" y1=\"{y1}\" x2=\"{x}\" y2=\"{y2}\"/>\
             <text x=\"{x}\" y=\"{ty}\" text-anchor=\"{anchor}\">{label}</text>",
            x = num(x(*share)),
            y1 = num(TOP + 4.0),
            y2 = num(height - 8.0),
            ty = num(TOP),
            label = escape(label),
        );
    }
    s.push_str("</g><g class=\"chart-strips\" aria-hidden=\"true\">");
    for (i, row) in chart.rows.iter().enumerate() {
        let top = TOP + 16.0 + STRIP_ROW * i as f64;
        let _ = write!(
            s,
            "<text x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\" dominant-baseline=\"middle\">{label}</text>",
            tx = num(STRIP_LEFT - 8.0),
            ty = num(top + STRIP_BAR / 2.0),
            label = escape(&row.label),
        );
        for b in &row.bands {
            let _ = write!(
                s,
                "<rect class=\"{class}\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\"/>",
                class = escape(b.class),
                x = num(x(b.start)),
                y = num(top),
                w = num((x(b.end) - x(b.start)).max(0.0)),
                h = num(STRIP_BAR),
            );
        }
        for (a, b) in &row.under {
            let _ = write!(
                s,
                "<rect class=\"strip-under\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"4\"/>",
                x = num(x(*a)),
                y = num(top + STRIP_BAR + 2.0),
                w = num((x(*b) - x(*a)).max(0.0)),
            );
        }
    }
    s.push_str("</g></svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[Option<f64>]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                label: format!("P{i}"),
                value: *v,
            })
            .collect()
    }

    fn chart(points: &[Point]) -> String {
        line_chart(&LineChart {
            id: "trend",
            title: "Quality",
            description: "Six periods",
            points,
            min: 0.0,
            max: 100.0,
            format: &|v| format!("{v:.0}"),
        })
    }

    #[test]
    fn the_drawing_is_an_accessible_image_with_a_fixed_view_box() {
        let svg = chart(&points(&[Some(50.0), Some(75.0)]));
        assert!(svg.starts_with("<svg class=\"chart\""), "{svg}");
        assert!(svg.contains("viewBox=\"0 0 640 260\""), "{svg}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"trend-title trend-desc\""));
        assert!(svg.contains("<title id=\"trend-title\">Quality</title>"));
        assert!(svg.contains("<desc id=\"trend-desc\">Six periods</desc>"));
        assert!(svg.ends_with("</svg>"));
        // The axis values as formatted.
        for v in [">0<", ">50<", ">100<"] {
            assert!(svg.contains(v), "{v} in {svg}");
        }
    }

    #[test]
    fn points_are_evenly_spaced_and_scaled_to_the_axis() {
        let svg = chart(&points(&[Some(0.0), Some(50.0), Some(100.0)]));
        // x: 56 to 624; y: 212 (bottom, 0) to 16 (top, 100).
        assert!(
            svg.contains("<polyline fill=\"none\" points=\"56,212 340,114 624,16\"/>"),
            "{svg}"
        );
        assert_eq!(svg.matches("<circle").count(), 3);
    }

    #[test]
    fn a_missing_value_breaks_the_line_instead_of_dropping_to_zero() {
        let svg = chart(&points(&[
            Some(10.0),
            Some(20.0),
            None,
            Some(30.0),
            Some(40.0),
        ]));
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 4);
        // Every label is there, the gap's too.
        assert!(svg.contains(">P2</text>"));
    }

    #[test]
    fn a_lone_value_is_a_dot_and_values_off_the_axis_are_clamped() {
        let svg = chart(&points(&[None, Some(150.0), None]));
        assert_eq!(svg.matches("<polyline").count(), 0);
        assert!(
            svg.contains("<circle cx=\"340\" cy=\"16\" r=\"4\"/>"),
            "{svg}"
        );
        let one = chart(&points(&[Some(-5.0)]));
        assert!(
            one.contains("<circle cx=\"340\" cy=\"212\" r=\"4\"/>"),
            "{one}"
        );
        let none = chart(&[]);
        assert!(!none.contains("<circle") && none.ends_with("</svg>"));
    }

    #[test]
    fn bars_stand_on_zero_in_evenly_spaced_slots() {
        let svg = bar_chart(&LineChart {
            id: "exits",
            title: "Exits",
            description: "By reason",
            points: &points(&[Some(2.0), None, Some(4.0), Some(0.0)]),
            min: 0.0,
            max: 4.0,
            format: &|v| format!("{v:.0}"),
        });
        assert!(svg.contains("aria-labelledby=\"exits-title exits-desc\""));
        // Four slots of 142 from x = 56; bars 48 wide on their centres (127, 411, 553).
        assert!(
            svg.contains("<rect x=\"103\" y=\"114\" width=\"48\" height=\"98\"/>"),
            "{svg}"
        );
        assert!(
            svg.contains("<rect x=\"387\" y=\"16\" width=\"48\" height=\"196\"/>"),
            "{svg}"
        );
        assert!(svg.contains("<rect x=\"529\" y=\"212\" width=\"48\" height=\"0\"/>"));
        assert_eq!(
            svg.matches("<rect").count(),
            3,
            "no bar for a missing value"
        );
        assert!(svg.contains(">P1</text>"));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn paired_bars_sit_side_by_side_with_a_legend_and_thinned_labels() {
        let slots: Vec<(String, f64, f64)> = (0..4)
            .map(|i| (format!("{:02}:00", 8 + i), f64::from(i), 2.0))
            .collect();
        let svg = paired_bar_chart(&PairedBarChart {
            id: "sold-staffed",
            title: "Sold & staffed",
            description: "Per hour",
            slots: &slots,
            legend: ["Sold", "Staffed <agents>"],
            max: 4.0,
            label_every: 2,
            format: &|v| format!("{v:.0}"),
        });
        assert!(svg.contains("aria-labelledby=\"sold-staffed-title sold-staffed-desc\""));
        assert!(svg.contains("<title id=\"sold-staffed-title\">Sold &amp; staffed</title>"));
        // Four slots of 142 from x = 56, bars 24 wide left and right of each centre (127):
        // the first series' 3 of 4 stands 147 high from 212.
        assert!(
            svg.contains("<rect x=\"103\" y=\"212\" width=\"24\" height=\"0\"/>"),
            "{svg}"
        );
        assert!(
            svg.contains("<rect x=\"127\" y=\"114\" width=\"24\" height=\"98\"/>"),
            "{svg}"
        );
        assert!(
            svg.contains("<rect x=\"529\" y=\"65\" width=\"24\" height=\"147\"/>"),
            "{svg}"
        );
        // 8 bars and 2 legend swatches.
        assert_eq!(svg.matches("<rect").count(), 10);
        assert!(svg.contains(">08:00</text>") && svg.contains(">10:00</text>"));
        assert!(!svg.contains(">09:00</text>") && !svg.contains(">11:00</text>"));
        assert!(svg.contains(">Staffed &lt;agents&gt;</text>"));
        assert!(svg.contains("class=\"chart-bars chart-bars-alt\""));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn every_text_is_escaped() {
        let pts = vec![Point {
            label: "<b>&\"x'</b>".into(),
            value: Some(1.0),
        }];
        let svg = line_chart(&LineChart {
            id: "a b\"><script>",
            title: "</title><script>alert(1)</script>",
            description: "1 < 2 & 3",
            points: &pts,
            min: 0.0,
            max: 10.0,
            format: &|v| format!("<{v}>"),
        });
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(
            svg.contains("&lt;b&gt;&amp;&quot;x&#39;&lt;/b&gt;"),
            "{svg}"
        );
        assert!(svg.contains("1 &lt; 2 &amp; 3"));
        assert!(svg.contains("&lt;10&gt;"));
        assert!(svg.contains("id=\"a-b---script--title\""), "{svg}");
    }

    #[test]
    fn strips_are_rows_of_bands_at_their_shares() {
        let rows = vec![
            StripRow {
                label: "12-01".into(),
                bands: vec![
                    Band {
                        start: 0.0,
                        end: 0.5,
                        class: "strip-offline",
                    },
                    Band {
                        start: 0.5,
                        end: 1.0,
                        class: "strip-online",
                    },
                ],
                under: vec![(0.25, 0.75)],
            },
            StripRow {
                label: "<12-02>".into(),
                bands: vec![],
                under: vec![],
            },
        ];
        let ticks = vec![
            (0.0, "0".to_owned()),
            (0.5, "12".to_owned()),
            (1.0, "24".to_owned()),
        ];
        let svg = strip_chart(&StripChart {
            id: "days",
            title: "Activity",
            description: "Two days",
            rows: &rows,
            ticks: &ticks,
        });
        assert!(svg.starts_with("<svg class=\"chart strip\""), "{svg}");
        assert!(svg.contains("aria-labelledby=\"days-title days-desc\""));
        // Bands from x = 96 over 528: halves at 96 and 360; rows 28 apart from y = 32.
        assert!(
            svg.contains(
                "<rect class=\"strip-offline\" x=\"96\" y=\"32\" width=\"264\" height=\"16\"/>"
            ),
            "{svg}"
        );
        assert!(svg.contains("<rect class=\"strip-online\" x=\"360\" y=\"32\" width=\"264\""));
        assert!(
            svg.contains(
                "<rect class=\"strip-under\" x=\"228\" y=\"50\" width=\"264\" height=\"4\"/>"
            ),
            "{svg}"
        );
        assert!(svg.contains("viewBox=\"0 0 640 96\""), "{svg}");
        assert!(svg.contains("&lt;12-02&gt;"));
        assert!(svg.contains("text-anchor=\"middle\">12</text>"));
        // The last label ends at the right edge instead of overhanging it.
        assert!(
            svg.contains("<text x=\"624\" y=\"16\" text-anchor=\"end\">24</text>"),
            "{svg}"
        );
        assert!(svg.ends_with("</svg>"));
    }
}
