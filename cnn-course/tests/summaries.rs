//! Golden tests: every model of the course (shared/COURSE.md) gives exactly the output
//! shapes and parameter counts the Keras course prints.

use cnn_course::prelude::*;

/// (output shape, params) per layer, then the total.
fn check(model: &Sequential, layers: &[(&[usize], usize)], total: usize) {
    let summary = model.summary();
    let got: Vec<(Vec<usize>, usize)> = summary
        .rows
        .iter()
        .map(|r| (r.output_shape.clone(), r.params))
        .collect();
    let want: Vec<(Vec<usize>, usize)> = layers.iter().map(|(s, p)| (s.to_vec(), *p)).collect();
    assert_eq!(got, want, "\n{summary}");
    assert_eq!(summary.total_params, total);
    assert_eq!(summary.trainable_params, total);
    assert_eq!(summary.non_trainable_params, 0);
}

#[test]
fn dense_784_10_10_3() -> Result<()> {
    let mut model = Sequential::new();
    model.add(Dense::new(10).activation("relu").input_shape(784))?;
    model.add(Dense::new(10).activation("relu"))?;
    model.add(Dense::new(3).activation("softmax"))?;
    check(&model, &[(&[10], 7850), (&[10], 110), (&[3], 33)], 7993);
    // The printed table, as a learner sees it.
    let text = model.summary().to_string();
    assert!(text.contains(" dense (Dense) "), "{text}");
    assert!(text.contains("(None, 10)"), "{text}");
    assert!(text.contains("7,850"), "{text}");
    assert!(text.contains("Total params: 7,993"), "{text}");
    assert!(text.contains("Trainable params: 7,993"), "{text}");
    assert!(text.contains("Non-trainable params: 0"), "{text}");
    Ok(())
}

#[test]
fn dense_784_5_15_3() -> Result<()> {
    let mut model = Sequential::new();
    model.add(Dense::new(5).activation("relu").input_shape(784))?;
    model.add(Dense::new(15).activation("relu"))?;
    model.add(Dense::new(3).activation("softmax"))?;
    check(&model, &[(&[5], 3925), (&[15], 90), (&[3], 48)], 4063);
    Ok(())
}

#[test]
fn two_same_convs_of_10() -> Result<()> {
    let mut model = Sequential::new();
    model.add(
        Conv2D::new(10, 3)
            .padding("same")
            .activation("relu")
            .input_shape((28, 28, 1)),
    )?;
    model.add(Conv2D::new(10, 3).padding("same").activation("relu"))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(3).activation("softmax"))?;
    check(
        &model,
        &[(&[28, 28, 10], 100), (&[28, 28, 10], 910), (&[7840], 0), (&[3], 23523)],
        24533,
    );
    Ok(())
}

#[test]
fn same_convs_of_5_and_15() -> Result<()> {
    let mut model = Sequential::new();
    model.add(
        Conv2D::new(5, 3)
            .padding("same")
            .activation("relu")
            .input_shape((28, 28, 1)),
    )?;
    model.add(Conv2D::new(15, 3).padding("same").activation("relu"))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(3).activation("softmax"))?;
    check(
        &model,
        &[(&[28, 28, 5], 50), (&[28, 28, 15], 690), (&[11760], 0), (&[3], 35283)],
        36023,
    );
    Ok(())
}

#[test]
fn two_valid_convs_with_kernel_2() -> Result<()> {
    let mut model = Sequential::new();
    model.add(Conv2D::new(10, 2).activation("relu").input_shape((28, 28, 1)))?;
    model.add(Conv2D::new(10, 2).activation("relu"))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(3).activation("softmax"))?;
    check(
        &model,
        &[(&[27, 27, 10], 50), (&[26, 26, 10], 410), (&[6760], 0), (&[3], 20283)],
        20743,
    );
    Ok(())
}

#[test]
fn convs_with_pooling() -> Result<()> {
    let mut model = Sequential::new();
    model.add(Conv2D::new(5, 3).activation("relu").input_shape((28, 28, 1)))?;
    model.add(MaxPool2D::new(2))?;
    model.add(Conv2D::new(15, 3).activation("relu"))?;
    model.add(MaxPool2D::new(2))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(3).activation("softmax"))?;
    check(
        &model,
        &[
            (&[26, 26, 5], 50),
            (&[13, 13, 5], 0),
            (&[11, 11, 15], 690),
            (&[5, 5, 15], 0),
            (&[375], 0),
            (&[3], 1128),
        ],
        1868,
    );
    Ok(())
}

#[test]
fn kernel_2_convs_with_one_pooling() -> Result<()> {
    let mut model = Sequential::new();
    model.add(Conv2D::new(15, 2).activation("relu").input_shape((28, 28, 1)))?;
    model.add(MaxPool2D::new(2))?;
    model.add(Conv2D::new(5, 2).activation("relu"))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(3).activation("softmax"))?;
    check(
        &model,
        &[
            (&[27, 27, 15], 75),
            (&[13, 13, 15], 0),
            (&[12, 12, 5], 305),
            (&[720], 0),
            (&[3], 2163),
        ],
        2543,
    );
    Ok(())
}

#[test]
fn chollet_mnist_convnet() -> Result<()> {
    let mut model = Sequential::new();
    model.add(Conv2D::new(32, 3).activation("relu").input_shape((28, 28, 1)))?;
    model.add(MaxPool2D::new(2))?;
    model.add(Conv2D::new(64, 3).activation("relu"))?;
    model.add(MaxPool2D::new(2))?;
    model.add(Conv2D::new(64, 3).activation("relu"))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(10).activation("softmax"))?;
    check(
        &model,
        &[
            (&[26, 26, 32], 320),
            (&[13, 13, 32], 0),
            (&[11, 11, 64], 18496),
            (&[5, 5, 64], 0),
            (&[3, 3, 64], 36928),
            (&[576], 0),
            (&[64], 36928),
            (&[10], 650),
        ],
        93322,
    );
    let conv_part: usize = model.layers()[..5].iter().map(|l| l.count_params()).sum();
    assert_eq!(conv_part, 55744);
    assert_eq!(model.layers()[2].name(), "conv2d_1");
    Ok(())
}

#[test]
fn classroom_mnist_cnn() -> Result<()> {
    let mut model = Sequential::new();
    model.add(Conv2D::new(32, 3).activation("relu").input_shape((28, 28, 1)))?;
    model.add(MaxPool2D::new(2))?;
    model.add(Conv2D::new(64, 3).activation("relu"))?;
    model.add(Dropout::new(0.3))?;
    model.add(Conv2D::new(32, 3).activation("relu"))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(32).activation("relu"))?;
    model.add(Dense::new(10).activation("softmax"))?;
    check(
        &model,
        &[
            (&[26, 26, 32], 320),
            (&[13, 13, 32], 0),
            (&[11, 11, 64], 18496),
            (&[11, 11, 64], 0),
            (&[9, 9, 32], 18464),
            (&[2592], 0),
            (&[32], 82976),
            (&[10], 330),
        ],
        120586,
    );
    Ok(())
}

#[test]
fn udacity_dimension_studies() -> Result<()> {
    // Conv2D(16, kernel 2, stride 2, 'valid') on 200×200×1 → 100×100×16, 80 parameters.
    let mut model = Sequential::new();
    model.add(Conv2D::new(16, 2).strides(2).input_shape((200, 200, 1)))?;
    check(&model, &[(&[100, 100, 16], 80)], 80);
    // 'same': ceil(H/S); 'valid': ceil((H − F + 1)/S).
    let mut model = Sequential::new();
    model.add(Conv2D::new(32, 3).strides(2).padding("same").input_shape((128, 128, 3)))?;
    model.add(Conv2D::new(8, 3).strides(2))?;
    assert_eq!(model.layers()[0].output_shape(), &[64, 64, 32]);
    assert_eq!(model.layers()[1].output_shape(), &[31, 31, 8]); // ceil((64 − 3 + 1)/2)
                                                                // Parameters = K·F·F·D_in + K.
    assert_eq!(model.layers()[0].count_params(), 32 * 3 * 3 * 3 + 32);
    // MaxPooling2D(2, 2) on 100×100×15 → 50×50×15.
    let mut model = Sequential::new();
    model.add(MaxPool2D::new(2).strides(2).input_shape((100, 100, 15)))?;
    check(&model, &[(&[50, 50, 15], 0)], 0);
    Ok(())
}

#[test]
fn cifar10_cnn_with_same_convs_and_pooling() -> Result<()> {
    let mut model = Sequential::new();
    model.add(
        Conv2D::new(16, 2)
            .padding("same")
            .activation("relu")
            .input_shape((32, 32, 3)),
    )?;
    model.add(MaxPool2D::new(2))?;
    model.add(Conv2D::new(32, 2).padding("same").activation("relu"))?;
    model.add(MaxPool2D::new(2))?;
    model.add(Conv2D::new(64, 2).padding("same").activation("relu"))?;
    model.add(MaxPool2D::new(2))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(500).activation("relu"))?;
    model.add(Dense::new(10).activation("softmax"))?;
    // Keras (Udacity's notebook) prints 208, 2,080, 8,256, 512,500, 5,010: total 528,054.
    check(
        &model,
        &[
            (&[32, 32, 16], 208),
            (&[16, 16, 16], 0),
            (&[16, 16, 32], 2080),
            (&[8, 8, 32], 0),
            (&[8, 8, 64], 8256),
            (&[4, 4, 64], 0),
            (&[1024], 0),
            (&[500], 512500),
            (&[10], 5010),
        ],
        528054,
    );
    Ok(())
}

#[test]
fn batch_norm_statistics_are_non_trainable() -> Result<()> {
    let mut model = Sequential::new();
    model.add(Conv2D::new(15, 2).activation("relu").input_shape((28, 28, 1)))?;
    model.add(BatchNormalization::new())?;
    model.add(Conv2D::new(5, 2).activation("relu"))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(3).activation("softmax"))?;
    let summary = model.summary();
    assert_eq!(summary.rows[1].params, 60); // γ, β, moving mean, moving variance × 15
    assert_eq!(summary.non_trainable_params, 30);
    assert_eq!(summary.total_params, 75 + 60 + 305 + (26 * 26 * 5 * 3 + 3));
    assert_eq!(summary.trainable_params, summary.total_params - 30);
    // Freezing a layer moves its weights to non-trainable.
    model.set_trainable("conv2d", false)?;
    assert_eq!(model.summary().non_trainable_params, 30 + 75);
    Ok(())
}

#[test]
fn settings_read_like_keras_as_names_or_as_typed_values() -> Result<()> {
    let by_name = |padding: &str, activation: &str| -> Result<Sequential> {
        let mut model = Sequential::new();
        model.add(
            Conv2D::new(4, 3)
                .padding(padding)
                .activation(activation)
                .input_shape((8, 8, 1)),
        )?;
        Ok(model)
    };
    let mut typed = Sequential::new();
    typed.add(
        Conv2D::new(4, 3)
            .padding(Padding::Same)
            .activation(Activation::Relu)
            .input_shape((8, 8, 1)),
    )?;
    typed.add(MaxPool2D::new(2).padding(Padding::Same))?;
    typed.add(Flatten::new())?;
    typed.add(Dense::new(3).activation(Activation::Softmax))?;
    typed.compile("adam", Loss::CategoricalCrossentropy, [Metric::Accuracy])?;
    assert_eq!(typed.loss_name(), Some("categorical_crossentropy"));
    assert_eq!(
        by_name("same", "relu")?.output_shape(),
        typed.layers()[0].output_shape()
    );
    assert_eq!(
        by_name("full", "relu").err().unwrap().to_string(),
        "conv2d: unknown padding 'full'; hint: use \"valid\" (no padding) or \"same\""
    );
    let _ = EarlyStopping::new().mode(Mode::Min).mode("max");
    let expected = if typed.device().is_cpu() { "CPU: " } else { "GPU: " };
    assert!(
        typed.device_description().starts_with(expected),
        "{}",
        typed.device_description()
    );
    Ok(())
}
