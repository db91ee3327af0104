//! Chapter-end questionnaires. Every option of a question carries the reason it is right
//! or wrong, so a wrong answer is explained without naming the right one.
//!
//! ```
//! use cnn_course::exercises::ch5;
//! let check = ch5::QUIZ.check(&['A', 'A', 'A', 'A', 'A']);
//! assert!(!check.passed);
//! ```

use super::{verdict, Check};
use std::fmt;

/// One multiple-choice question: options A, B, C, … each with why it is right or wrong.
#[derive(Clone, Copy, Debug)]
pub struct Question {
    /// The question.
    pub ask: &'static str,
    /// (option, why it is right or wrong)
    pub options: &'static [(&'static str, &'static str)],
    /// The right option's letter.
    pub answer: char,
}

/// A chapter's questionnaire: show it with a cell that ends in `chN::QUIZ`, answer with
/// one letter per question, check with `chN::QUIZ.check(&answers)`.
#[derive(Clone, Copy, Debug)]
pub struct Quiz(pub &'static [Question]);

fn letter(i: usize) -> char {
    (b'A' + i as u8) as char
}

impl Quiz {
    /// Check the answers, one letter per question, in order.
    pub fn check(&self, answers: &[char]) -> Check {
        let questions = self.0;
        if answers.len() != questions.len() {
            return verdict(Err(format!(
                "{} answers for {} questions: give one letter per question, in order",
                answers.len(),
                questions.len()
            )));
        }
        let mut wrong = Vec::new();
        for (n, (question, &given)) in questions.iter().zip(answers).enumerate() {
            let given = given.to_ascii_uppercase();
            let last = letter(question.options.len() - 1);
            match (given as usize)
                .checked_sub('A' as usize)
                .and_then(|i| question.options.get(i))
            {
                None => wrong.push(format!(
                    "question {}: '{given}' is not an option; answer A to {last}",
                    n + 1
                )),
                Some((_, why)) if given != question.answer => {
                    wrong.push(format!("question {}: {given} — {why}", n + 1))
                }
                Some(_) => {}
            }
        }
        let reasons: Vec<String> = questions
            .iter()
            .enumerate()
            .map(|(n, q)| {
                let right = (q.answer as usize).saturating_sub('A' as usize);
                format!("{}: {}", n + 1, q.options.get(right).map(|o| o.1).unwrap_or_default())
            })
            .collect();
        verdict(match wrong.is_empty() {
            true => Ok(format!(
                "all {} answers are right.\n  {}",
                questions.len(),
                reasons.join("\n  ")
            )),
            false => Err(format!(
                "{} of {} right.\n  {}",
                questions.len() - wrong.len(),
                questions.len(),
                wrong.join("\n  ")
            )),
        })
    }

    /// The questions as HTML, for the notebook.
    pub fn to_html(&self) -> String {
        let mut html = String::from("<ol>");
        for question in self.0 {
            html.push_str(&format!("<li><p>{}</p><ol type=\"A\">", escape(question.ask)));
            for (option, _) in question.options {
                html.push_str(&format!("<li>{}</li>", escape(option)));
            }
            html.push_str("</ol></li>");
        }
        html + "</ol>"
    }

    /// Shown in a notebook as a numbered list.
    pub fn evcxr_display(&self) {
        println!("EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT", self.to_html());
    }
}

impl fmt::Display for Quiz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, question) in self.0.iter().enumerate() {
            writeln!(f, "{}. {}", n + 1, question.ask)?;
            for (i, (option, _)) in question.options.iter().enumerate() {
                writeln!(f, "   {}. {option}", letter(i))?;
            }
        }
        Ok(())
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
