//! Building the notebooks from their sources: `notebooks/src/NN-name.md` becomes
//! `notebooks/NN-name.ipynb` (for learners) and `notebooks/solutions/NN-name.ipynb`.
//!
//! The source is Markdown with fenced cells:
//! - prose becomes Markdown cells (a new cell at each heading, or at a line `---`);
//! - ` ```rust ` is a code cell;
//! - ` ```rust exercise ` is an exercise cell: the lines before `// --- solution ---` are
//!   the learner's version (with an `exercise!("…")` blank), the lines after it the solution;
//! - ` ```rust check ` is a check cell, the same in both;
//! - ` ```hint ` is a hint the learner can reveal.
//!
//! Every exercise must have a hint (before the next exercise), and no blank may contain
//! its answer: a solution line's expression may not appear in the `exercise!("…")` text.
//!
//! `{{CRATE}}` becomes the crate's path relative to the notebook.

use std::path::Path;

#[derive(Debug)]
enum Cell {
    Markdown(String),
    Hint(String),
    Code {
        learner: String,
        solution: String,
        tags: Vec<&'static str>,
        line: usize,
    },
}

/// The text of each `exercise!("…")` blank in `code`, without spaces and `&`.
fn blanks(code: &str) -> Vec<String> {
    code.split("exercise!(\"")
        .skip(1)
        .map(|rest| normalized(rest.split("\")").next().unwrap_or_default()))
        .collect()
}

fn normalized(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && *c != '&').collect()
}

/// The expression of each line of `solution` that is not in `learner`: the part after
/// `let … =`, without its `;` and `?`.
fn answers(learner: &str, solution: &str) -> Vec<String> {
    solution
        .lines()
        .filter(|line| !learner.contains(line.trim()))
        .map(|line| {
            let line = line.trim().trim_end_matches(';').trim_end_matches('?');
            let expression = match line.starts_with("let ") {
                true => line.split_once('=').map(|(_, e)| e).unwrap_or(line),
                false => line,
            };
            normalized(expression)
        })
        .filter(|e| e.len() >= 8)
        .collect()
}

/// Every exercise has a hint before the next exercise, and no blank contains its answer.
fn check_exercises(cells: &[Cell]) -> Result<(), String> {
    let mut waiting: Option<usize> = None;
    for cell in cells {
        match cell {
            Cell::Hint(_) => waiting = None,
            Cell::Code {
                learner,
                solution,
                tags,
                line,
            } if tags.contains(&"exercise") => {
                if let Some(previous) = waiting {
                    return Err(format!("line {previous}: this exercise has no ```hint cell"));
                }
                waiting = Some(*line);
                for blank in blanks(learner) {
                    if let Some(answer) = answers(learner, solution)
                        .into_iter()
                        .find(|a| blank.contains(a.as_str()))
                    {
                        return Err(format!(
                            "line {line}: the exercise!(…) blank contains its answer `{answer}`"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    match waiting {
        Some(line) => Err(format!("line {line}: this exercise has no ```hint cell")),
        None => Ok(()),
    }
}

fn parse(source: &str) -> Result<Vec<Cell>, String> {
    let mut cells = Vec::new();
    let mut prose = String::new();
    let flush = |prose: &mut String, cells: &mut Vec<Cell>| {
        let text = prose.trim();
        if !text.is_empty() {
            cells.push(Cell::Markdown(text.to_string()));
        }
        prose.clear();
    };
    let mut lines = source.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            flush(&mut prose, &mut cells);
            let mut body = Vec::new();
            loop {
                match lines.next() {
                    Some((_, "```")) => break,
                    Some((_, l)) => body.push(l),
                    None => return Err(format!("line {}: unclosed ```{info}", number + 1)),
                }
            }
            let body = body.join("\n");
            cells.push(match info.trim() {
                "rust" => Cell::Code {
                    learner: body.clone(),
                    solution: body,
                    tags: vec![],
                    line: number + 1,
                },
                "rust check" => Cell::Code {
                    learner: body.clone(),
                    solution: body,
                    tags: vec!["check"],
                    line: number + 1,
                },
                "rust exercise" => {
                    let (learner, solution) = body.split_once("// --- solution ---\n").ok_or_else(|| {
                        format!(
                            "line {}: an exercise cell needs a `// --- solution ---` line",
                            number + 1
                        )
                    })?;
                    if !learner.contains("exercise!(") {
                        return Err(format!(
                            "line {}: the learner's version needs an exercise!(…) blank",
                            number + 1
                        ));
                    }
                    Cell::Code {
                        learner: learner.trim_end().to_string(),
                        solution: solution.to_string(),
                        tags: vec!["exercise"],
                        line: number + 1,
                    }
                }
                "hint" => Cell::Hint(body),
                other => return Err(format!("line {}: unknown cell kind ```{other}", number + 1)),
            });
        } else if line.trim() == "---" {
            flush(&mut prose, &mut cells);
        } else {
            if line.starts_with('#') {
                flush(&mut prose, &mut cells);
            }
            prose.push_str(line);
            prose.push('\n');
        }
    }
    flush(&mut prose, &mut cells);
    check_exercises(&cells)?;
    Ok(cells)
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A cell's source as Jupyter stores it: a list of lines, each but the last ending in `\n`.
fn source_lines(text: &str) -> String {
    let lines: Vec<String> = text.split_inclusive('\n').map(json_string).collect();
    format!("[{}]", lines.join(", "))
}

fn markdown(id: &str, text: &str) -> String {
    format!(
        "  {{\n   \"cell_type\": \"markdown\",\n   \"id\": \"{id}\",\n   \"metadata\": {{}},\n   \"source\": {}\n  }}",
        source_lines(text)
    )
}

fn render(cells: &[Cell], solution: bool, crate_path: &str) -> String {
    let mut out = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let id = format!("cell-{i:03}");
        out.push(match cell {
            Cell::Markdown(text) => markdown(&id, text),
            Cell::Hint(text) => markdown(&id, &format!("<details><summary>💡 Hint</summary>\n\n{text}\n\n</details>")),
            Cell::Code {
                learner,
                solution: solved,
                tags,
                ..
            } => {
                let text = if solution { solved } else { learner }.replace("{{CRATE}}", crate_path);
                let tags: Vec<String> = tags.iter().map(|t| json_string(t)).collect();
                format!(
                    "  {{\n   \"cell_type\": \"code\",\n   \"execution_count\": null,\n   \"id\": \"{id}\",\n   \"metadata\": {{\"tags\": [{}]}},\n   \"outputs\": [],\n   \"source\": {}\n  }}",
                    tags.join(", "),
                    source_lines(&text)
                )
            }
        });
    }
    format!(
        "{{\n \"cells\": [\n{}\n ],\n \"metadata\": {{\n  \"kernelspec\": {{\"display_name\": \"Rust\", \"language\": \"rust\", \"name\": \"rust\"}},\n  \"language_info\": {{\"codemirror_mode\": \"rust\", \"file_extension\": \".rs\", \"mimetype\": \"text/rust\", \"name\": \"Rust\", \"pygment_lexer\": \"rust\", \"version\": \"\"}}\n }},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}}\n",
        out.join(",\n")
    )
}

/// Every notebook the sources make: (path relative to `notebooks/`, contents).
pub fn build_all(notebooks: &Path) -> Result<Vec<(String, String)>, String> {
    let mut sources: Vec<_> = std::fs::read_dir(notebooks.join("src"))
        .map_err(|e| format!("notebooks/src: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    sources.sort();
    let mut built = Vec::new();
    for path in sources {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let cells = parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let exercises = cells
            .iter()
            .filter(|c| matches!(c, Cell::Code { tags, .. } if tags.contains(&"exercise")))
            .count();
        if exercises == 0 {
            return Err(format!("{}: no exercise cell", path.display()));
        }
        built.push((format!("{stem}.ipynb"), render(&cells, false, "../cnn-course")));
        built.push((
            format!("solutions/{stem}.ipynb"),
            render(&cells, true, "../../cnn-course"),
        ));
    }
    Ok(built)
}

/// Write the notebooks, reporting how many exercises each has.
pub fn write_all(notebooks: &Path) -> Result<(), String> {
    for (name, contents) in build_all(notebooks)? {
        let path = notebooks.join(&name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(contents.as_str()) {
            std::fs::write(&path, &contents).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote notebooks/{name}");
        }
    }
    Ok(())
}

/// Number of exercise cells per source, for the README's table.
pub fn count_exercises(notebooks: &Path) -> Result<Vec<(String, usize)>, String> {
    build_all(notebooks).map(|all| {
        all.into_iter()
            .filter(|(name, _)| !name.starts_with("solutions/"))
            .map(|(name, contents)| (name, contents.matches("\"tags\": [\"exercise\"]").count()))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exercise_cells_split_into_learner_and_solution() {
        let source = "# Title\nSome prose.\n\n```rust\n:dep x = { path = \"{{CRATE}}\" }\n```\n\n```rust exercise\nlet a = exercise!(\"one\");\n// --- solution ---\nlet a = 1;\n```\n```hint\nUse 1.\n```\n";
        let cells = parse(source).unwrap();
        assert_eq!(cells.len(), 4);
        let learner = render(&cells, false, "../c");
        let solution = render(&cells, true, "../../c");
        assert!(learner.contains("exercise!(\\\"one\\\")") && !learner.contains("let a = 1;"));
        assert!(solution.contains("let a = 1;") && !solution.contains("exercise!("));
        assert!(learner.contains("path = \\\"../c\\\"") && solution.contains("path = \\\"../../c\\\""));
        assert!(learner.contains("<details><summary>"));
        assert!(parse("```rust exercise\nlet a = 1;\n```\n")
            .unwrap_err()
            .contains("needs a `// --- solution ---` line"));
    }

    #[test]
    fn every_exercise_has_a_hint_and_no_blank_holds_its_answer() {
        let without_hint = "```rust exercise\nlet a = exercise!(\"one\");\n// --- solution ---\nlet a = 1;\n```\n";
        assert_eq!(
            parse(without_hint).unwrap_err(),
            "line 1: this exercise has no ```hint cell"
        );
        let twice = format!("{without_hint}{without_hint}```hint\nh\n```\n");
        assert_eq!(parse(&twice).unwrap_err(), "line 1: this exercise has no ```hint cell");
        let given = "```rust exercise\nlet c: f32 = exercise!(\"(test * prediction).sum()\");\n// --- solution ---\nlet c = (&test * &prediction).sum();\n```\n```hint\nh\n```\n";
        assert_eq!(
            parse(given).unwrap_err(),
            "line 1: the exercise!(…) blank contains its answer `(test*prediction).sum()`"
        );
        let fine = "```rust exercise\nlet c: f32 = exercise!(\"the number of agreements\");\n// --- solution ---\nlet c = (&test * &prediction).sum();\n```\n```hint\nh\n```\n";
        assert!(parse(fine).is_ok());
    }

    /// The committed notebooks are what `cargo xtask notebooks` makes from the sources.
    #[test]
    fn committed_notebooks_are_up_to_date() {
        let notebooks = crate::root().join("notebooks");
        for (name, contents) in build_all(&notebooks).unwrap() {
            let committed = std::fs::read_to_string(notebooks.join(&name)).unwrap_or_default();
            assert!(
                committed == contents,
                "notebooks/{name} is out of date: run `cargo xtask notebooks`"
            );
        }
    }
}
