//! Labels and scores as arrays: one-hot encoding, the predicted class of each row, and
//! counting correct answers — chapter 2's tools.
//!
//! One-hot encoding turns a label into a row with a single 1 in its category's column:
//! with categories `["t-shirt", "dress", "shoe"]`, `"dress"` becomes `[0, 1, 0]`.

use crate::device::too_many_for_host;
use crate::model::summary::thousands;
use crate::{bail, Result};
use ndarray::{Array1, Array2, ArrayBase, Data, Ix2};

/// One-hot rows for string labels, given the list of categories.
///
/// ```
/// use cnn_course::labels::one_hot;
/// let labels = ["shoe", "dress", "shoe", "t-shirt"];
/// let encoded = one_hot(&labels, &["t-shirt", "dress", "shoe"]).unwrap();
/// assert_eq!(encoded.row(1).to_vec(), vec![0.0, 1.0, 0.0]);
/// ```
pub fn one_hot<S: AsRef<str>, C: AsRef<str>>(labels: &[S], categories: &[C]) -> Result<Array2<f32>> {
    let mut encoded = Array2::zeros((labels.len(), categories.len()));
    for (row, label) in labels.iter().enumerate() {
        let label = label.as_ref();
        let Some(column) = categories.iter().position(|c| c.as_ref() == label) else {
            let known: Vec<&str> = categories.iter().map(|c| c.as_ref()).collect();
            bail!(Data, "one_hot: label '{label}' (row {row}) is not one of the categories {known:?}; hint: add it to the categories or fix the label");
        };
        encoded[[row, column]] = 1.0;
    }
    Ok(encoded)
}

/// A class number of any integer type (what label arrays hold).
pub trait ClassNumber {
    /// The class as an index; `None` for negative numbers.
    fn class(&self) -> Option<usize>;
}

macro_rules! class_number {
    ($($t:ty),*) => {$(
        impl ClassNumber for $t {
            fn class(&self) -> Option<usize> {
                usize::try_from(*self).ok()
            }
        }
    )*};
}
class_number!(u8, u16, u32, u64, usize, i32, i64);

impl<T: ClassNumber> ClassNumber for &T {
    fn class(&self) -> Option<usize> {
        (*self).class()
    }
}

/// One-hot rows for class numbers `0..num_classes`, as Keras' `to_categorical`. Takes any
/// collection of integers: a slice, a `Vec`, or a dataset's label array.
///
/// ```
/// use cnn_course::labels::to_categorical;
/// let y = to_categorical(&[2u8, 0], 3).unwrap();
/// assert_eq!(y.row(0).to_vec(), vec![0.0, 0.0, 1.0]);
/// ```
pub fn to_categorical<I>(classes: I, num_classes: usize) -> Result<Array2<f32>>
where
    I: IntoIterator,
    I::Item: ClassNumber,
{
    if num_classes == 0 {
        bail!(
            Setting,
            "to_categorical: num_classes must be at least 1, got 0; hint: num_classes is the number of categories, e.g. 3 for t-shirt, dress and shoe"
        );
    }
    let classes: Vec<Option<usize>> = classes.into_iter().map(|c| c.class()).collect();
    if let Some(available) = too_many_for_host(classes.len().checked_mul(num_classes)) {
        bail!(Setting,
            "to_categorical: {} labels × {} classes is more one-hot values than this machine can hold ({available}); hint: num_classes is the number of categories, e.g. 10 for digits",
            thousands(classes.len()),
            thousands(num_classes)
        );
    }
    let mut encoded = Array2::zeros((classes.len(), num_classes));
    for (row, class) in classes.into_iter().enumerate() {
        match class {
            Some(class) if class < num_classes => encoded[[row, class]] = 1.0,
            _ => bail!(Data,
                "to_categorical: the class in row {row} is not a number from 0 to {}; hint: num_classes is the number of categories",
                num_classes.saturating_sub(1)
            ),
        }
    }
    Ok(encoded)
}

/// The column of the largest value of each row: the predicted (or true) class. On a tie,
/// the first column.
pub fn argmax_rows<S: Data<Elem = f32>>(scores: &ArrayBase<S, Ix2>) -> Result<Array1<usize>> {
    if scores.ncols() == 0 {
        bail!(
            Shape,
            "argmax_rows: the rows have no columns (shape {:?}), so there is no largest value; hint: pass one row of scores per sample, one column per class",
            scores.shape()
        );
    }
    if let Some(((row, col), v)) = scores.indexed_iter().find(|(_, v)| v.is_nan()) {
        bail!(
            Data,
            "argmax_rows: row {row} holds {v} in column {col}, which is neither larger nor smaller than anything; hint: the scores came out of a model whose training diverged, or from data with NaN — check them first"
        );
    }
    Ok(scores
        .rows()
        .into_iter()
        .map(|row| crate::losses::argmax(&row.to_vec()))
        .collect())
}

/// Number of rows where one-hot `truth` and one-hot `prediction` agree:
/// `(truth * prediction).sum()`, the course's counting trick.
pub fn count_correct<S1: Data<Elem = f32>, S2: Data<Elem = f32>>(
    truth: &ArrayBase<S1, Ix2>,
    prediction: &ArrayBase<S2, Ix2>,
) -> Result<f32> {
    if truth.shape() != prediction.shape() {
        bail!(Shape,
            "count_correct: truth has shape {:?} but prediction has {:?}; hint: both must be one-hot rows for the same samples",
            truth.shape(),
            prediction.shape()
        );
    }
    Ok((truth * prediction).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATEGORIES: [&str; 3] = ["t-shirt", "dress", "shoe"];

    #[test]
    fn the_course_example_has_one_1_per_row() {
        let labels = ["shoe", "dress", "shoe", "t-shirt", "shoe", "t-shirt", "shoe", "dress"];
        let encoded = one_hot(&labels, &CATEGORIES).unwrap();
        assert_eq!(encoded.shape(), &[8, 3]);
        assert!(encoded.rows().into_iter().all(|r| r.sum() == 1.0));
        assert_eq!(argmax_rows(&encoded).unwrap().to_vec(), vec![2, 1, 2, 0, 2, 0, 2, 1]);
    }

    #[test]
    fn counting_correct_predictions_gives_6_of_8() {
        let test = one_hot(
            &["shoe", "dress", "shoe", "t-shirt", "shoe", "t-shirt", "shoe", "dress"],
            &CATEGORIES,
        )
        .unwrap();
        let prediction = one_hot(
            &["shoe", "dress", "dress", "t-shirt", "shoe", "shoe", "shoe", "dress"],
            &CATEGORIES,
        )
        .unwrap();
        assert_eq!(count_correct(&test, &prediction).unwrap(), 6.0);
        assert_eq!(count_correct(&test, &prediction).unwrap() / 8.0, 0.75);
    }

    #[test]
    fn unknown_labels_and_classes_are_refused() {
        assert_eq!(
            one_hot(&["sock"], &CATEGORIES).unwrap_err().to_string(),
            "one_hot: label 'sock' (row 0) is not one of the categories [\"t-shirt\", \"dress\", \"shoe\"]; hint: add it to the categories or fix the label"
        );
        assert_eq!(
            to_categorical([1u8, 3], 3).unwrap_err().to_string(),
            "to_categorical: the class in row 1 is not a number from 0 to 2; hint: num_classes is the number of categories"
        );
    }
}
