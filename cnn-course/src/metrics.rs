//! Accuracy: the fraction of samples whose highest score is the true class.

use crate::Result;
use candle_core::{Tensor, D};

/// How many rows of `scores` have their largest value where `one_hot` has its 1.
pub fn count_correct(scores: &Tensor, one_hot: &Tensor) -> Result<usize> {
    let predicted = scores.argmax(D::Minus1)?;
    let truth = one_hot.argmax(D::Minus1)?;
    let hits = predicted.eq(&truth)?.to_dtype(candle_core::DType::F32)?.sum_all()?;
    Ok(hits.to_scalar::<f32>()? as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn counts_rows_whose_best_score_is_the_label() {
        let scores = Tensor::new(&[[0.1f32, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]], &Device::Cpu).unwrap();
        let labels = Tensor::new(&[[0f32, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], &Device::Cpu).unwrap();
        assert_eq!(count_correct(&scores, &labels).unwrap(), 2);
    }
}
