//! Training on the CPU without candle's automatic differentiation.
//!
//! candle records every operation of a forward pass in a graph and differentiates it
//! generically: the seed convnet's step becomes some seventy graph nodes, each with its own
//! buffers, zero-filled gradients and summations, and its convolutions' backward passes
//! are direct loops. Written out by hand for the layers a course model uses, the same step
//! is a few large matrix products (see [`im2col`]) plus a few passes over memory, in NHWC
//! layout, where one window row of an image is contiguous. The batch is cut into pieces
//! that run side by side on the cores ([`trainer`]). Measured on 2 cores: the seed convnet
//! trains at about 12,000 samples/s this way, 1,200 through candle's graph.
//!
//! The hand-written step is an optimization, not a second definition: `fit` uses it when
//! [`trainer::CpuTrainer::plan`] accepts the model and candle's path otherwise, and the
//! tests below check that both give the same loss and the same gradients.

pub(crate) mod im2col;
pub(crate) mod matmul;
pub(crate) mod max_pool;
pub(crate) mod simd;
pub(crate) mod trainer;
pub(crate) mod workspace;

pub(crate) use trainer::CpuTrainer;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::cross_entropy;
    use crate::prelude::*;
    use crate::testing::{assert_close, random_batch, seed_lock};
    use candle_core::{Device, Tensor};

    /// A loss and its gradients by weight name.
    type LossAndGrads = (f64, Vec<(String, Tensor)>);

    /// Loss and gradients of both paths for one batch, from the same generator state.
    fn both_paths(model: &Sequential, x: &Tensor, y: &Tensor) -> (LossAndGrads, LossAndGrads) {
        let trainer = CpuTrainer::plan(model).expect("the model is covered by the hand-written step");
        // A first step fills the trainer's reused buffers: the second must not read stale values.
        trainer.step(&x.affine(0.5, 0.25).unwrap(), y).unwrap();
        let state = model.generator.lock().unwrap().clone();
        let ours = crate::rng::using(&model.generator, || trainer.step(x, y).unwrap());
        *model.generator.lock().unwrap() = state;
        let theirs = crate::rng::using(&model.generator, || {
            let (z, activation) = model.graph_forward_to_logits(x, true).unwrap();
            let loss = cross_entropy(&z, activation, y).unwrap();
            let grads = loss.backward().unwrap();
            let named = model
                .trainable_vars()
                .into_iter()
                .filter_map(|(name, var)| grads.get(var.as_tensor()).map(|g| (name, g.clone())))
                .collect::<Vec<_>>();
            (loss.to_scalar::<f32>().unwrap() as f64, named)
        });
        ((ours.loss, ours.grads), theirs)
    }

    fn check_model(layers: Vec<crate::layers::LayerSpec>, input: &[usize], frozen: &[&str]) {
        let _guard = seed_lock();
        set_seed(5);
        let mut model = Sequential::new();
        for layer in layers {
            model.add(layer).unwrap();
        }
        for name in frozen {
            model.set_trainable(name, false).unwrap();
        }
        // More than one piece (see `trainer::PIECE`), the last one partial.
        let batch = 11;
        let x = random_batch(batch, input);
        let classes = model.output_shape()[0];
        let labels: Vec<u8> = (0..batch).map(|i| (i % classes) as u8).collect();
        let y = to_categorical(&labels, classes)
            .unwrap()
            .to_tensor_on(&Device::Cpu)
            .unwrap();
        let ((our_loss, mut ours), (their_loss, mut theirs)) = both_paths(&model, &x, &y);
        assert!((our_loss - their_loss).abs() < 1e-5, "loss {our_loss} vs {their_loss}");
        ours.sort_by(|a, b| a.0.cmp(&b.0));
        theirs.sort_by(|a, b| a.0.cmp(&b.0));
        let names = |g: &[(String, Tensor)]| g.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&ours), names(&theirs));
        for ((name, a), (_, b)) in ours.iter().zip(&theirs) {
            let scale = b
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
                .max(1e-3);
            let diff = (a - b)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(
                diff <= 1e-4 * scale,
                "{name}: largest difference {diff} (largest gradient {scale})"
            );
        }
        // Inference gives the same scores too.
        let trainer = CpuTrainer::plan(&model).unwrap();
        let (z, _) = model.graph_forward_to_logits(&x, false).unwrap();
        assert_close(&trainer.logits(&x).unwrap(), &z, 1e-4);
    }

    #[test]
    fn the_seed_convnet_gets_candles_gradients() {
        // 11×11 → 5×5 pooling leaves a pixel out, as in the real model.
        check_model(
            vec![
                Conv2D::new(4, 3).activation("relu").input_shape((14, 14, 2)),
                MaxPool2D::new(2).into(),
                Conv2D::new(5, 3).activation("relu").into(),
                MaxPool2D::new(2).into(),
                Flatten::new().into(),
                Dense::new(6).activation("relu").into(),
                Dense::new(3).activation("softmax").into(),
            ],
            &[14, 14, 2],
            &[],
        );
    }

    #[test]
    fn strides_padding_dilation_and_other_activations_get_candles_gradients() {
        check_model(
            vec![
                Conv2D::new(3, 2)
                    .padding("same")
                    .activation("tanh")
                    .input_shape((7, 8, 1)),
                Conv2D::new(2, 2)
                    .dilation_rate(2)
                    .activation("relu")
                    .padding("same")
                    .into(),
                Conv2D::new(4, 3)
                    .strides(2)
                    .padding("same")
                    .activation("sigmoid")
                    .into(),
                Conv2D::new(2, (2, 3)).strides((1, 2)).into(),
                MaxPool2D::new(2).strides(1).padding("same").into(),
                Flatten::new().into(),
                Dense::new(4).use_bias(false).into(),
            ],
            &[7, 8, 1],
            &[],
        );
    }

    #[test]
    fn dropout_drops_the_same_inputs_on_both_paths() {
        check_model(
            vec![
                Conv2D::new(4, 3).activation("relu").input_shape((8, 8, 3)),
                Dropout::new(0.3).into(),
                Flatten::new().into(),
                Dense::new(8).activation("relu").into(),
                Dropout::new(0.5).into(),
                Dense::new(3).activation("softmax").into(),
            ],
            &[8, 8, 3],
            &[],
        );
    }

    #[test]
    fn frozen_layers_get_no_gradients() {
        check_model(
            vec![
                Conv2D::new(4, 3).activation("relu").input_shape((8, 8, 1)),
                Conv2D::new(4, 3).activation("relu").into(),
                Flatten::new().into(),
                Dense::new(3).activation("softmax").into(),
            ],
            &[8, 8, 1],
            &["conv2d", "conv2d_1"],
        );
    }

    #[test]
    fn models_it_does_not_cover_go_to_candle() {
        let plan = |layers: Vec<crate::layers::LayerSpec>| {
            let mut model = Sequential::new();
            for layer in layers {
                model.add(layer).unwrap();
            }
            CpuTrainer::plan(&model).is_some()
        };
        let conv = || Conv2D::new(2, 3);
        let input = || Conv2D::new(2, 3).input_shape((6, 6, 1));
        let with_head = |mut layers: Vec<crate::layers::LayerSpec>| {
            layers.push(Flatten::new().into());
            layers.push(Dense::new(3).activation("softmax").into());
            layers
        };
        assert!(plan(with_head(vec![input()])));
        assert!(!plan(with_head(vec![input(), BatchNormalization::new().into()])));
        assert!(!plan(with_head(vec![input(), AvgPool2D::new(2).into()])));
        assert!(!plan(vec![
            input(),
            Flatten::new().into(),
            Dense::new(3).activation("sigmoid").into()
        ]));
        let softmax_inside = conv().activation("softmax").input_shape((6, 6, 1));
        assert!(!plan(with_head(vec![softmax_inside])));
    }
}
