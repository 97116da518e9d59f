//! Forward + backward time of the input-to-hidden map plus the LSTM
//! recurrence, BT-LSTM against the dense LSTM, at the paper's UCF11 shapes
//! (57,600 inputs, hidden 256), batch 16, 6 frames. Timings are medians of
//! `reps` repetitions after one warm-up, with torch on one thread.

use anyhow::{anyhow, Result};
use btrnn::model::{GateActivation, LstmClassifier};
use btrnn::{ucf11_modes, MapKind};
use searchkit::rng::Stream;
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};

/// Median seconds of one forward + backward pass of `kind` at UCF11 shapes.
pub fn time_model(kind: &MapKind, reps: usize, device: Device) -> Result<f64> {
    let vs = nn::VarStore::new(device);
    let model = LstmClassifier::new(
        &vs,
        ucf11_modes(),
        kind.clone(),
        0.05,
        11,
        GateActivation::HardSigmoid,
        &Stream::root("bench"),
    )
    .map_err(|e| anyhow!(e))?;
    let x = Tensor::rand([16, 6, 57_600], (Kind::Float, device));
    let y = Tensor::zeros([16], (Kind::Int64, device));
    let once = || {
        let t0 = Instant::now();
        let loss = model.forward(&x, None).cross_entropy_for_logits(&y);
        loss.backward();
        for v in vs.trainable_variables() {
            let mut g = v.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        if let Device::Cuda(_) = device {
            tch::Cuda::synchronize(0);
        }
        t0.elapsed().as_secs_f64()
    };
    once();
    let mut t: Vec<f64> = (0..reps.max(1)).map(|_| once()).collect();
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}

/// Prints the BT-LSTM / LSTM timings and their ratio.
pub fn run(reps: usize, device: Device) -> Result<()> {
    tch::set_num_threads(1);
    let dense = time_model(&MapKind::Dense, reps, device)?;
    println!("btrnn/ucf11 fwd+bwd, batch 16 x 6 frames, {device:?}, 1 thread (median of {reps}):");
    println!(
        "  {:28} {:9.2} ms",
        "LSTM (dense 57600 x 1024)",
        dense * 1e3
    );
    let tt = MapKind::TensorTrain {
        ranks: vec![1, 4, 4, 4, 1],
    };
    let t = time_model(&tt, reps, device)?;
    println!(
        "  {:28} {:9.2} ms   {:6.1}x faster than LSTM",
        "TT-LSTM ranks 4",
        t * 1e3,
        dense / t
    );
    for (r, n) in [(1, 1), (2, 2), (4, 1), (4, 2)] {
        let kind = MapKind::BlockTerm {
            ranks: vec![r; 4],
            blocks: n,
        };
        let t = time_model(&kind, reps, device)?;
        println!(
            "  {:28} {:9.2} ms   {:6.1}x faster than LSTM",
            format!("BT-LSTM R={r} N={n}"),
            t * 1e3,
            dense / t
        );
    }
    Ok(())
}
