//! `History`: the numbers `fit` logged, one entry per epoch.

use std::fmt;

/// What happened in each epoch of `fit`, as Keras' `history.history`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Epoch numbers, from 1.
    pub epoch: Vec<usize>,
    /// Mean training loss over the epoch's batches.
    pub loss: Vec<f64>,
    /// Training accuracy over the epoch.
    pub accuracy: Vec<f64>,
    /// Validation loss after each epoch (empty without validation data).
    pub val_loss: Vec<f64>,
    /// Validation accuracy after each epoch (empty without validation data).
    pub val_accuracy: Vec<f64>,
    /// Why training stopped before its last epoch, if it did.
    pub stopped_early: Option<String>,
}

impl History {
    /// Add one epoch's values.
    pub(crate) fn record(&mut self, epoch: usize, logs: &crate::callbacks::EpochLogs) {
        self.epoch.push(epoch);
        self.loss.push(logs.loss);
        self.accuracy.push(logs.accuracy);
        if let (Some(l), Some(a)) = (logs.val_loss, logs.val_accuracy) {
            self.val_loss.push(l);
            self.val_accuracy.push(a);
        }
    }

    /// The best epoch of a series (`loss` and `val_loss`: the lowest; accuracies: the
    /// highest), counted from 1, with its value.
    ///
    /// ```
    /// let history = cnn_course::History { val_loss: vec![0.9, 0.5, 0.7], ..Default::default() };
    /// assert_eq!(history.best("val_loss").unwrap(), (2, 0.5));
    /// ```
    pub fn best(&self, name: &str) -> crate::Result<(usize, f64)> {
        let Some(values) = self.get(name) else {
            crate::bail!(
                Usage,
                "History::best: there is no series {name:?}; hint: use loss, accuracy, val_loss or val_accuracy"
            );
        };
        let higher_is_better = name.contains("acc");
        let better = |a: &f64, b: &f64| if higher_is_better { a > b } else { a < b };
        let mut best: Option<(usize, f64)> = None;
        for (i, v) in values.iter().enumerate() {
            if best.is_none_or(|(_, b)| better(v, &b)) {
                best = Some((i + 1, *v));
            }
        }
        match best {
            Some(best) => Ok(best),
            None => crate::bail!(Usage, "History::best: {name} is empty; hint: validation values need validation data in fit (validation_split or validation_data)"),
        }
    }

    /// A series by its Keras name (`loss`, `accuracy`, `val_loss`, `val_accuracy`).
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        match name {
            "loss" => Some(&self.loss),
            "accuracy" | "acc" => Some(&self.accuracy),
            "val_loss" => Some(&self.val_loss),
            "val_accuracy" | "val_acc" => Some(&self.val_accuracy),
            _ => None,
        }
    }
}

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "epoch  loss     accuracy  val_loss  val_accuracy")?;
        for (i, epoch) in self.epoch.iter().enumerate() {
            let val = |v: &Vec<f64>| v.get(i).map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
            writeln!(
                f,
                "{epoch:<6} {:<8.4} {:<9.4} {:<9} {}",
                self.loss[i],
                self.accuracy[i],
                val(&self.val_loss),
                val(&self.val_accuracy)
            )?;
        }
        if let Some(reason) = &self.stopped_early {
            writeln!(f, "stopped early: {reason}")?;
        }
        Ok(())
    }
}
