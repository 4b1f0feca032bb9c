//! The results as a picture: one SVG beside RESULTS.md, a panel per kind
//! of work, a bar per tool for its median with a whisker from p10 to p90,
//! box's rows highlighted and each panel's base (the floor, nsenter) drawn
//! as a dashed line through the whole panel. The time axis is logarithmic:
//! runc takes twenty times the floor, and on a log axis equal ratios are
//! equal distances, so "× floor" reads off the picture directly. The
//! panels of one kind (the start-up ones; those under the engines, a
//! hundred times slower) share an axis, so that they compare.

use std::fmt::Write;

/// One bar.
pub struct Bar {
    pub tool: String,
    pub median_ms: f64,
    pub p10_ms: f64,
    pub p90_ms: f64,
    /// The ratio to the base as the report gives it (from unrounded
    /// medians); when none, the chart divides the medians.
    pub ratio: Option<f64>,
}

/// One panel: its title and its bars, the first being the base.
pub struct Panel {
    pub title: String,
    pub bars: Vec<Bar>,
    /// Panels with the same scale share one time axis.
    pub scale: String,
}

/// The least width of the tool names' column; a longer name (`box run
/// (size-tuned build)`) widens it, and the picture with it.
const LABEL: f64 = 120.0;
/// About the width of a character of a bold 12-pixel sans-serif label.
const LABEL_CHAR: f64 = 7.0;
const VALUE: f64 = 150.0;
const PLOT: f64 = 550.0;
const ROW: f64 = 22.0;
const TITLE: f64 = 30.0;
const AXIS: f64 = 26.0;
const BOX_FILL: &str = "#d9480f";
const BASE_FILL: &str = "#495057";
const PEER_FILL: &str = "#adb5bd";

/// The chart of `panels` (panels without bars are left out), titled
/// `heading`.
pub fn render(heading: &str, panels: &[Panel]) -> String {
    let panels: Vec<&Panel> = panels.iter().filter(|p| !p.bars.is_empty()).collect();
    let longest = panels
        .iter()
        .flat_map(|p| p.bars.iter())
        .map(|b| b.tool.chars().count())
        .max()
        .unwrap_or(0);
    let label = LABEL.max(16.0 + LABEL_CHAR * longest as f64);
    let width = label + PLOT + VALUE;

    let height = 40.0
        + panels
            .iter()
            .map(|p| TITLE + ROW * p.bars.len() as f64 + AXIS)
            .sum::<f64>();
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(w, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        w,
        r#"<text x="10" y="24" font-size="15" font-weight="bold">{}</text>"#,
        escape(heading)
    );
    let mut top = 40.0;
    for panel in &panels {
        let same_scale: Vec<&Panel> = panels
            .iter()
            .copied()
            .filter(|p| p.scale == panel.scale)
            .collect();
        let (low, high) = axis_range(&same_scale);
        let ticks = ticks(low, high);
        let x = |ms: f64| label + PLOT * (ms.ln() - low.ln()) / (high.ln() - low.ln());
        let _ = writeln!(
            w,
            r#"<text x="10" y="{}" font-weight="bold">{}</text>"#,
            top + 18.0,
            escape(&panel.title)
        );
        top += TITLE;
        let bottom = top + ROW * panel.bars.len() as f64;
        for &tick in &ticks {
            let _ = writeln!(
                w,
                "<line x1=\"{0:.1}\" y1=\"{top}\" x2=\"{0:.1}\" y2=\"{bottom}\" stroke=\"#e9ecef\"/>",
                x(tick)
            );
            let _ = writeln!(
                w,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#868e96\" font-size=\"10\">{} ms</text>",
                x(tick),
                bottom + 14.0,
                tick_text(tick)
            );
        }
        let base = panel.bars[0].median_ms;
        for (i, bar) in panel.bars.iter().enumerate() {
            let y = top + ROW * i as f64;
            let fill = if i == 0 {
                BASE_FILL
            } else if bar.tool.starts_with("box") {
                BOX_FILL
            } else {
                PEER_FILL
            };
            let weight = if bar.tool.starts_with("box") {
                r#" font-weight="bold""#
            } else {
                ""
            };
            let _ = writeln!(
                w,
                r#"<text x="{}" y="{}" text-anchor="end"{weight}>{}</text>"#,
                label - 8.0,
                y + 15.0,
                escape(&bar.tool)
            );
            let _ = writeln!(
                w,
                r#"<rect x="{label}" y="{}" width="{:.1}" height="{}" fill="{fill}"/>"#,
                y + 4.0,
                (x(bar.median_ms) - label).max(1.0),
                ROW - 8.0
            );
            let _ = writeln!(
                w,
                r##"<line x1="{:.1}" y1="{2}" x2="{:.1}" y2="{2}" stroke="#212529"/>"##,
                x(bar.p10_ms),
                x(bar.p90_ms),
                y + ROW / 2.0
            );
            let ratio = if i == 0 {
                String::new()
            } else {
                format!("  {:.2}×", bar.ratio.unwrap_or(bar.median_ms / base))
            };
            let _ = writeln!(
                w,
                r#"<text x="{}" y="{}"{weight}>{:.2} ms{ratio}</text>"#,
                label + PLOT + 8.0,
                y + 15.0,
                bar.median_ms
            );
        }
        let _ = writeln!(
            w,
            "<line x1=\"{0:.1}\" y1=\"{1}\" x2=\"{0:.1}\" y2=\"{bottom}\" stroke=\"{BASE_FILL}\" stroke-dasharray=\"4 3\"/>",
            x(base),
            top - 4.0
        );
        top = bottom + AXIS;
    }
    let _ = writeln!(w, "</svg>");
    out
}

/// The chart of a RESULTS.md, read back from its text: the heading from
/// its first lines (date, machine, rounds), a panel for each table of
/// times (a `| tool | median | …` table, titled by the heading above it),
/// so that a run of one section (`--only engines`) redraws the whole chart
/// with the other sections' figures as they stand.
pub fn from_markdown(text: &str) -> (String, Vec<Panel>) {
    (heading_of(text), panels_of(text))
}

fn heading_of(text: &str) -> String {
    let date = text
        .lines()
        .find(|l| l.starts_with("Written by "))
        .and_then(|l| l.split_once("` on "))
        .map(|(_, rest)| {
            rest.chars()
                .take_while(|c| *c != ' ' && *c != '.')
                .collect::<String>()
        });
    let machine = text.lines().find_map(|l| l.strip_prefix("- Machine: "));
    let rounds = text.lines().find_map(|l| {
        let (number, rest) = l.strip_prefix("- ")?.split_once(' ')?;
        rest.starts_with("interleaved rounds")
            .then_some(number)
            .filter(|n| n.parse::<u64>().is_ok())
    });
    let mut facts = Vec::new();
    if let Some(rounds) = rounds {
        facts.push(format!("{rounds} rounds"));
    }
    facts.extend(machine.map(str::to_owned));
    facts.extend(date);
    let mut heading = "Start-up time, median and p10–p90".to_string();
    if !facts.is_empty() {
        heading.push_str(&format!(" ({})", facts.join(", ")));
    }
    heading
}

fn panels_of(text: &str) -> Vec<Panel> {
    let mut panels = Vec::new();
    let mut title = "";
    // The `## ` section a `### ` panel is in: its scale ("" for the
    // sections' own panels).
    let mut section = "";
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading.trim();
        }
        if line.starts_with('#') {
            title = line.trim_start_matches('#').trim();
            continue;
        }
        if !line.starts_with("| tool | median |") {
            continue;
        }
        let mut bars = Vec::new();
        let mut has_base = None;
        while let Some(row) = lines.next_if(|l| l.starts_with('|')) {
            if row.starts_with("|--") {
                continue;
            }
            let bar = bar_of(row);
            // Without its base (the first row), a panel has no line to be
            // read against: left out.
            if *has_base.get_or_insert(bar.is_some()) {
                bars.extend(bar);
            }
        }
        panels.push(Panel {
            scale: if title == section {
                String::new()
            } else {
                section.to_string()
            },
            title: title.to_string(),
            bars,
        });
    }
    panels
}

/// A measured row of a table: `| tool | 1.14 ms | 1.00 | 0.93 ms – 1.60 ms | … |`.
fn bar_of(row: &str) -> Option<Bar> {
    let cells: Vec<&str> = row
        .trim()
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect();
    let ms = |cell: &str| cell.strip_suffix(" ms")?.parse::<f64>().ok();
    let (p10, p90) = cells.get(3)?.split_once(" – ")?;
    Some(Bar {
        tool: cells.first()?.to_string(),
        median_ms: ms(cells.get(1)?)?,
        p10_ms: ms(p10)?,
        p90_ms: ms(p90)?,
        ratio: cells.get(2).and_then(|r| r.parse().ok()),
    })
}

/// The axis's ends, in ms: a power-of-ten-ish step below the fastest p10
/// and above the slowest p90 of every panel (one axis for all, so panels
/// compare).
fn axis_range(panels: &[&Panel]) -> (f64, f64) {
    let bars = || panels.iter().flat_map(|p| p.bars.iter());
    let low = bars()
        .map(|b| b.p10_ms.min(b.median_ms))
        .fold(f64::INFINITY, f64::min);
    let high = bars()
        .map(|b| b.p90_ms.max(b.median_ms))
        .fold(0.0, f64::max);
    if !(low.is_finite() && low > 0.0 && high > low) {
        return (0.1, 100.0);
    }
    (step_below(low), step_above(high))
}

/// The 1-2-5 steps of a log axis.
fn steps() -> impl Iterator<Item = f64> {
    (-3..=4).flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
}

fn step_below(v: f64) -> f64 {
    steps().filter(|&s| s <= v).last().unwrap_or(v)
}

fn step_above(v: f64) -> f64 {
    steps().find(|&s| s >= v).unwrap_or(v)
}

fn ticks(low: f64, high: f64) -> Vec<f64> {
    steps()
        .filter(|&s| s >= low * 0.999 && s <= high * 1.001)
        .collect()
}

fn tick_text(ms: f64) -> String {
    if ms >= 1.0 {
        format!("{ms:.0}")
    } else {
        format!("{ms}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(tool: &str, median_ms: f64) -> Bar {
        Bar {
            tool: tool.into(),
            median_ms,
            p10_ms: median_ms * 0.9,
            p90_ms: median_ms * 1.2,
            ratio: None,
        }
    }

    #[test]
    fn box_is_highlighted_and_the_floor_is_marked() {
        let svg = render(
            "start-up",
            &[
                Panel {
                    scale: String::new(),
                    title: "Start a container".into(),
                    bars: vec![bar("floor", 1.27), bar("box run", 3.2), bar("runc", 31.3)],
                },
                Panel {
                    scale: String::new(),
                    title: "nothing measured".into(),
                    bars: vec![],
                },
            ],
        );
        assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
        assert!(
            !svg.contains("nothing measured"),
            "empty panels are left out"
        );
        let box_label = svg.lines().find(|l| l.contains(">box run<")).unwrap();
        assert!(box_label.contains("bold"), "{box_label}");
        assert!(svg.contains(&format!("fill=\"{BOX_FILL}\"")));
        assert!(svg.contains("stroke-dasharray"), "the floor's line");
        assert!(svg.contains("3.20 ms  2.52×"), "box's ratio to the floor");
        // The axis spans the fastest p10 to the slowest p90 in 1-2-5 steps.
        assert!(svg.contains(">1 ms<") && svg.contains(">50 ms<"), "{svg}");
        assert!(!svg.contains(">100 ms<"));
    }

    #[test]
    fn a_long_name_widens_the_picture_and_box_stays_highlighted() {
        let panel = |bars| Panel {
            scale: String::new(),
            title: "Start a container".into(),
            bars,
        };
        let short = render("s", &[panel(vec![bar("floor", 1.0), bar("box run", 2.0)])]);
        assert!(short.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"820\""));
        let long = render(
            "s",
            &[panel(vec![
                bar("floor", 1.0),
                bar("box run", 2.0),
                bar("box run (size-tuned build)", 1.8),
            ])],
        );
        // 16 + 7 × 26 characters: the name's column, then the plot's 550
        // and the values' 150.
        assert!(long.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"898\""));
        let label = long
            .lines()
            .find(|l| l.contains(">box run (size-tuned build)<"))
            .unwrap();
        assert!(
            label.contains("bold") && label.contains("x=\"190\""),
            "{label}"
        );
        assert_eq!(long.matches(&format!("fill=\"{BOX_FILL}\"")).count(), 2);
    }

    #[test]
    fn the_chart_is_read_back_from_the_results() {
        let text = "\
# box

Written by `cargo xtask bench` on 2026-12-02 — run it again.

- Machine: AMD EPYC, 2 cores, 23.5 GiB
- 500 interleaved rounds: each round runs every command.

## Start a container

| tool | median | × floor | p10 – p90 | peak RSS |
|---|--:|--:|---|--:|
| floor | 1.14 ms | 1.00 | 0.93 ms – 1.60 ms | 48 KiB |
| bwrap | not installed | | | |
| box run | 3.04 ms | 2.66 | 2.51 ms – 4.06 ms | 1000 KiB |

## An init

| tool | median | × tini | p10 – p90 | peak RSS |
|---|--:|--:|---|--:|
| tini | not installed | | | |
| box-init | 1.09 ms | – | 0.90 ms – 1.52 ms | 700 KiB |

## Targets

| target | measured | |
|---|--:|---|
| box run ≤ 1.05× floor -H | 1.919× | MISS |

## Under an engine

Written by `cargo xtask bench --only engines` at commit abc on 2026-12-03.

### Under containerd 1.6.20: ctr run --rm, /bin/true (30 rounds)

| tool | median | × runc | p10 – p90 | peak RSS |
|---|--:|--:|---|--:|
| runc | 112.50 ms | 1.00 | 100.00 ms – 130.25 ms | 10.2 MiB |
| box-oci | 95.00 ms | 0.84 | 90.00 ms – 99.00 ms | 1000 KiB |
| crun | failed: cgroups in hybrid mode not supported \\| x | | | |
";
        let (heading, panels) = from_markdown(text);
        assert_eq!(
            heading,
            "Start-up time, median and p10–p90 (500 rounds, AMD EPYC, 2 cores, 23.5 GiB, 2026-12-02)"
        );
        let titles: Vec<&str> = panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Start a container",
                "An init",
                "Under containerd 1.6.20: ctr run --rm, /bin/true (30 rounds)"
            ]
        );
        let tools = |i: usize| {
            panels[i]
                .bars
                .iter()
                .map(|b| b.tool.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(tools(0), ["floor", "box run"]);
        assert!(tools(1).is_empty(), "no base: no bars");
        assert_eq!(tools(2), ["runc", "box-oci"]);
        let runc = &panels[2].bars[0];
        assert_eq!(
            (runc.median_ms, runc.p10_ms, runc.p90_ms),
            (112.5, 100.0, 130.25)
        );
        // The ratio as the table gives it, not from the rounded medians.
        assert_eq!(panels[0].bars[1].ratio, Some(2.66));
        assert_eq!(panels[0].scale, "");
        assert_eq!(panels[2].scale, "Under an engine");
        let svg = render(&heading, &panels);
        assert!(svg.contains("3.04 ms  2.66×"), "{svg}");
        // Each scale its own axis: the start-up panel's ends at 5 ms, the
        // engine panel's starts at 50.
        assert!(svg.contains(">5 ms<") && svg.contains(">50 ms<") && svg.contains(">200 ms<"));
        assert!(
            !svg.contains(">10 ms<") && !svg.contains(">20 ms<"),
            "{svg}"
        );
        assert!(
            svg.contains(">box-oci<") && svg.contains("95.00 ms  0.84×"),
            "{svg}"
        );
    }

    #[test]
    fn a_log_axis_in_1_2_5_steps() {
        assert_eq!(axis_range(&[]), (0.1, 100.0));
        assert_eq!(step_below(1.07), 1.0);
        assert_eq!(step_above(39.5), 50.0);
        assert_eq!(ticks(0.5, 5.0), vec![0.5, 1.0, 2.0, 5.0]);
        assert_eq!(tick_text(0.5), "0.5");
        assert_eq!(tick_text(20.0), "20");
    }
}
